//! In-memory fakes of the `SiteRecovery` and `Vcenter` traits for whole-pass reconciler tests (the e2e tests use the real simulator and vcsim).

use jiff::Timestamp;
use reprotect_facts::*;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// One document of an `examples/` file by `metadata.name`, as the CRD types read it.
pub fn example<K: serde::de::DeserializeOwned>(text: &str, name: &str) -> K {
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(text).expect("examples parse");
    let doc = docs.into_iter().find(|d| d["metadata"]["name"] == name).expect("example present");
    serde_json::from_value(doc).expect("example matches the CRD types")
}

/// A vault with one fabric, its items and jobs; a reprotect POST behaves like ASR's: it creates a
/// running job and puts it in the item's current scenario.
#[derive(Default)]
pub struct FakeSiteRecovery {
    pub state: Mutex<FakeVault>,
}

/// What the fake vault holds.
#[derive(Default)]
pub struct FakeVault {
    pub fabric: FabricFacts,
    pub items: Vec<ProtectedItemFacts>,
    pub policies: Vec<PolicyFacts>,
    pub vcenters: Vec<DiscoveredVcenterFacts>,
    pub jobs: BTreeMap<String, JobFacts>,
    /// Every reprotect POST received.
    pub posts: Vec<ReprotectRequest>,
    /// Every failback, commit and forward reprotect POST received, as `kind:target` (`fail-back:app-01`).
    pub failback_posts: Vec<String>,
    /// Recovery plans (their allowed operations and current scenario are derived from the members).
    pub plans: Vec<RecoveryPlanFacts>,
    /// The next POST creates its job but its answer is lost with this error.
    pub lose_next_post_answer: Option<SiteRecoveryError>,
    /// The next POST is refused with this error and creates nothing.
    pub reject_next_post: Option<SiteRecoveryError>,
    pub now: Option<Timestamp>,
    /// ARM ids of the failed-over Azure VMs that exist (lower case); a successful commit removes its items' VMs.
    pub azure_vms: std::collections::BTreeSet<String>,
    /// What `item_list_predates_write` answers (a caching client whose list is older than its last POST).
    pub item_list_predates_write: bool,
    /// Jobs read one by one (`get_job`).
    pub job_reads: usize,
}

impl FakeSiteRecovery {
    pub fn new(vault: FakeVault) -> Self {
        FakeSiteRecovery { state: Mutex::new(vault) }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut FakeVault) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn posts(&self) -> usize {
        self.with(|v| v.posts.len())
    }

    /// Finish a job: success makes the item protected in reverse; failure gives it back its
    /// ReverseReplicate operation and records the ASR error code.
    pub fn finish_job(&self, name: &str, error_code: Option<&str>) {
        self.with(|v| {
            let Some(job) = v.jobs.get_mut(name) else { return };
            job.state = Some(if error_code.is_some() { "Failed" } else { "Succeeded" }.into());
            job.errors = error_code
                .map(|c| JobErrorFacts { code: Some(c.into()), message: Some("fake failure".into()), ..Default::default() })
                .into_iter()
                .collect();
            let target = job.target_object_id.as_ref().map(|t| t.text().into_owned()).unwrap_or_default();
            let scenario = job.scenario_name.clone().unwrap_or_default();
            let end = v.now;
            job.end_time = end;
            let members: Vec<String> = match v.plans.iter().find(|p| same_arm_id(&p.id, &target)) {
                Some(plan) => plan.members.iter().map(|m| m.id.clone()).collect(),
                None => vec![target.clone()],
            };
            if scenario != "Reprotect" {
                for item in v.items.iter_mut().filter(|i| members.iter().any(|m| i.id.same_as(m))) {
                    item.current_scenario = None;
                    match (scenario.as_str(), error_code) {
                        (_, Some(_)) => {
                            item.allowed_operations = item
                                .protection_state_description
                                .take()
                                .map(|o| o.split(',').map(SharedText::from).collect())
                                .unwrap_or_default()
                        }
                        ("UnplannedFailover", None) => {
                            item.protection_state = Some("UnplannedFailoverCommitPendingStatesBegin".into());
                            item.active_location = Some("Recovery".into());
                            item.allowed_operations = vec!["CompleteMigration", "Commit", "DisableProtection"].into();
                            item.last_successful_failover_time = end;
                        }
                        ("CommitFailover", None) => {
                            let suffix = format!("/virtualmachines/{}", item.display_name().to_ascii_lowercase());
                            v.azure_vms.retain(|id| !id.ends_with(&suffix));
                            item.protection_state = Some("UnplannedFailoverCommitted".into());
                            item.allowed_operations = vec!["CompleteMigration", "DisableProtection", "SwitchProtection"].into();
                            item.last_successful_failover_time = end;
                        }
                        (_, None) => {
                            item.provider = Some("InMageAzureV2".into());
                            item.protection_state = Some("Protected".into());
                            item.active_location = Some("Primary".into());
                            item.allowed_operations = vec!["PlannedFailover", "UnplannedFailover", "TestFailover"].into();
                        }
                    }
                }
                return;
            }
            for item in v.items.iter_mut().filter(|i| i.id.same_as(&target)) {
                item.current_scenario = None;
                if error_code.is_none() {
                    item.provider = Some("InMage".into());
                    item.protection_state = Some("Protected".into());
                    item.allowed_operations = vec!["UnplannedFailover"].into();
                    // `InMage` details carry no `targetVmId`: the controller has to remember it.
                    item.target_vm_id = None;
                } else {
                    item.allowed_operations = vec!["ReverseReplicate"].into();
                }
            }
        });
    }
}

impl FakeVault {
    /// Start a failback-side job over `members` (item names) targeting `target` (an item or plan id); the
    /// members' allowed operations are kept (in `protection_state_description`) to be given back on failure.
    fn start(&mut self, kind: &str, scenario: &str, target: &str, members: &[String]) -> Result<JobRef, SiteRecoveryError> {
        self.failback_posts.push(format!("{kind}:{}", arm_name(target)));
        if let Some(e) = self.reject_next_post.take() {
            return Err(e);
        }
        let name = format!("fb-job-{}", self.failback_posts.len());
        for item in self.items.iter_mut().filter(|i| members.iter().any(|m| m.eq_ignore_ascii_case(&i.name))) {
            item.protection_state_description =
                Some(item.allowed_operations.iter().map(|o| o.as_str()).collect::<Vec<_>>().join(",").into());
            item.allowed_operations = Default::default();
            item.current_scenario = Some(CurrentScenarioFacts {
                scenario_name: Some(scenario.into()),
                job_id: Some(format!("/jobs/{name}")),
                start_time: self.now,
            });
        }
        let job = JobFacts {
            id: format!("/jobs/{name}").into(),
            name: name.clone(),
            scenario_name: Some(scenario.into()),
            state: Some("InProgress".into()),
            target_object_id: Some(target.into()),
            start_time: self.now,
            ..Default::default()
        };
        self.jobs.insert(name.clone(), job);
        match self.lose_next_post_answer.take() {
            Some(e) => Err(e),
            None => Ok(JobRef { job_name: name, retry_after_seconds: None }),
        }
    }

    fn item_step(&mut self, kind: &str, scenario: &str, item_name: &str, allowed: &str) -> Result<JobRef, SiteRecoveryError> {
        let item = self.items.iter().find(|i| i.name.eq_ignore_ascii_case(item_name)).ok_or_else(|| not_found(kind, item_name))?;
        if !item.allows(allowed) {
            self.failback_posts.push(format!("{kind}:{item_name}"));
            return Err(refused(kind, "OperationNotAllowedInCurrentState"));
        }
        let id = item.id.text().into_owned();
        self.start(kind, scenario, &id, &[item_name.to_string()])
    }

    fn plan_step(&mut self, kind: &str, scenario: &str, plan_name: &str, allowed: &str) -> Result<JobRef, SiteRecoveryError> {
        let plan = self.plan(plan_name).ok_or_else(|| not_found(kind, plan_name))?;
        if !plan.allows(allowed) {
            self.failback_posts.push(format!("{kind}:{plan_name}"));
            return Err(refused(kind, "RecoveryPlanOperationNotAllowed"));
        }
        let members: Vec<String> = plan.members.iter().map(|m| m.name.clone()).collect();
        let job = self.start(kind, scenario, &plan.id, &members);
        if let Some(p) = self.plans.iter_mut().find(|p| p.name.eq_ignore_ascii_case(plan_name)) {
            let name = self.failback_posts.len();
            p.current_scenario = Some(CurrentScenarioFacts {
                scenario_name: Some(scenario.into()),
                job_id: Some(format!("/jobs/fb-job-{name}")),
                start_time: self.now,
            });
        }
        job
    }

    /// A plan as ASR reports it: the operations every member allows, none while a plan job runs.
    fn plan(&self, name: &str) -> Option<RecoveryPlanFacts> {
        let mut plan = self.plans.iter().find(|p| p.name.eq_ignore_ascii_case(name))?.clone();
        if let Some(job) = plan.current_scenario.as_ref().and_then(|s| s.job_id.as_deref()).and_then(|id| self.jobs.get(arm_name(id)))
            && job.is_finished()
        {
            plan.current_scenario = None;
        }
        let members: Vec<&ProtectedItemFacts> =
            plan.members.iter().filter_map(|m| self.items.iter().find(|i| i.id.same_as(&m.id))).collect();
        plan.allowed_operations = if plan.is_busy() {
            Vec::new()
        } else {
            ["UnplannedFailover", "Commit", "SwitchProtection", "DisableProtection"]
                .into_iter()
                .filter(|op| !members.is_empty() && members.iter().all(|i| i.allows(op)))
                .map(String::from)
                .collect()
        };
        Some(plan)
    }
}

fn refused(operation: &str, code: &str) -> SiteRecoveryError {
    SiteRecoveryError::Service(AsrServiceError {
        operation: operation.into(),
        status: 400,
        code: code.into(),
        inner_code: None,
        message: format!("{code} (fake)"),
        possible_causes: None,
        recommended_action: None,
    })
}

fn not_found(operation: &str, what: &str) -> SiteRecoveryError {
    SiteRecoveryError::Service(AsrServiceError {
        operation: operation.into(),
        status: 404,
        code: "NotFound".into(),
        inner_code: None,
        message: format!("{what} not found"),
        possible_causes: None,
        recommended_action: None,
    })
}

#[async_trait::async_trait]
impl SiteRecovery for FakeSiteRecovery {
    async fn get_fabric(&self, _vault: &VaultRef) -> Result<FabricFacts, SiteRecoveryError> {
        Ok(self.with(|v| v.fabric.clone()))
    }
    async fn list_protected_items(&self, _vault: &VaultRef) -> Result<Vec<ProtectedItemFacts>, SiteRecoveryError> {
        Ok(self.with(|v| v.items.clone()))
    }
    async fn get_protected_item(&self, _vault: &VaultRef, item_name: &str) -> Result<ProtectedItemFacts, SiteRecoveryError> {
        self.with(|v| v.items.iter().find(|i| i.name.eq_ignore_ascii_case(item_name)).cloned())
            .ok_or_else(|| not_found("getItem", item_name))
    }
    async fn reprotect(&self, _vault: &VaultRef, request: &ReprotectRequest) -> Result<JobRef, SiteRecoveryError> {
        self.with(|v| {
            v.posts.push(request.clone());
            if let Some(e) = v.reject_next_post.take() {
                return Err(e);
            }
            let name = format!("job-{}", v.posts.len());
            let item = v
                .items
                .iter_mut()
                .find(|i| i.name.eq_ignore_ascii_case(&request.item_name))
                .ok_or_else(|| not_found("reProtect", &request.item_name))?;
            item.allowed_operations = Default::default();
            item.current_scenario = Some(CurrentScenarioFacts {
                scenario_name: Some("Reprotect".into()),
                job_id: Some(format!("/jobs/{name}")),
                start_time: v.now,
            });
            let job = JobFacts {
                id: format!("/jobs/{name}").into(),
                name: name.clone(),
                scenario_name: Some("Reprotect".into()),
                state: Some("InProgress".into()),
                target_object_id: Some(item.id.clone()),
                start_time: v.now,
                ..Default::default()
            };
            v.jobs.insert(name.clone(), job);
            match v.lose_next_post_answer.take() {
                Some(e) => Err(e),
                None => Ok(JobRef { job_name: name, retry_after_seconds: None }),
            }
        })
    }
    async fn get_job(&self, _vault: &VaultRef, job_name: &str) -> Result<JobFacts, SiteRecoveryError> {
        self.with(|v| {
            v.job_reads += 1;
            v.jobs.get(job_name).cloned()
        })
        .ok_or_else(|| not_found("getJob", job_name))
    }
    async fn item_list_predates_write(&self, _vault: &VaultRef, _item_name: &str) -> bool {
        self.with(|v| v.item_list_predates_write)
    }
    async fn list_jobs_for(&self, _vault: &VaultRef, target_object_id: &str) -> Result<Vec<JobFacts>, SiteRecoveryError> {
        Ok(self.with(|v| {
            v.jobs.values().filter(|j| j.target_object_id.as_ref().is_some_and(|t| t.same_as(target_object_id))).cloned().collect()
        }))
    }
    async fn list_jobs_started_since(&self, _vault: &VaultRef, since: jiff::Timestamp) -> Result<Vec<JobFacts>, SiteRecoveryError> {
        Ok(self.with(|v| v.jobs.values().filter(|j| j.start_time.is_some_and(|t| t >= since)).cloned().collect()))
    }
    async fn list_policies(&self, _vault: &VaultRef) -> Result<Vec<PolicyFacts>, SiteRecoveryError> {
        Ok(self.with(|v| v.policies.clone()))
    }
    async fn list_vcenters(&self, _vault: &VaultRef) -> Result<Vec<DiscoveredVcenterFacts>, SiteRecoveryError> {
        Ok(self.with(|v| v.vcenters.clone()))
    }
    async fn fail_back(&self, _vault: &VaultRef, request: &FailbackRequest) -> Result<JobRef, SiteRecoveryError> {
        self.with(|v| v.item_step("fail-back", "UnplannedFailover", &request.item_name, "UnplannedFailover"))
    }
    async fn commit_failover(&self, _vault: &VaultRef, item_name: &str) -> Result<JobRef, SiteRecoveryError> {
        self.with(|v| v.item_step("commit", "CommitFailover", item_name, "Commit"))
    }
    async fn forward_reprotect(&self, _vault: &VaultRef, request: &ForwardReprotectRequest) -> Result<JobRef, SiteRecoveryError> {
        self.with(|v| v.item_step("forward-reprotect", "SwitchReplicationGroupProtection", &request.item_name, "SwitchProtection"))
    }
    async fn list_recovery_plans(&self, _vault: &VaultRef) -> Result<Vec<RecoveryPlanFacts>, SiteRecoveryError> {
        Ok(self.with(|v| v.plans.iter().filter_map(|p| v.plan(&p.name)).collect()))
    }
    async fn get_recovery_plan(&self, _vault: &VaultRef, plan_name: &str) -> Result<RecoveryPlanFacts, SiteRecoveryError> {
        self.with(|v| v.plan(plan_name)).ok_or_else(|| not_found("getRecoveryPlan", plan_name))
    }
    async fn fail_back_plan(&self, _vault: &VaultRef, request: &PlanFailbackRequest) -> Result<JobRef, SiteRecoveryError> {
        self.with(|v| v.plan_step("fail-back-plan", "UnplannedFailover", &request.plan_name, "UnplannedFailover"))
    }
    async fn commit_plan_failover(&self, _vault: &VaultRef, plan_name: &str) -> Result<JobRef, SiteRecoveryError> {
        self.with(|v| v.plan_step("commit-plan", "CommitFailover", plan_name, "Commit"))
    }
    async fn azure_vm_exists(&self, _vault: &VaultRef, vm_id: &str) -> Result<bool, SiteRecoveryError> {
        Ok(self.with(|v| v.azure_vms.contains(&vm_id.to_ascii_lowercase())))
    }
}

/// A vCenter that answers every observation with the same facts and records what it was asked to do.
#[derive(Default)]
pub struct FakeVcenter {
    pub facts: Mutex<VcenterFacts>,
    pub powered_off: Mutex<Vec<VmSelector>>,
    pub disk_uuid_enabled: Mutex<Vec<VmSelector>>,
}

impl FakeVcenter {
    pub fn new(facts: VcenterFacts) -> Self {
        FakeVcenter { facts: Mutex::new(facts), ..Default::default() }
    }
    pub fn with<R>(&self, f: impl FnOnce(&mut VcenterFacts) -> R) -> R {
        f(&mut self.facts.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[async_trait::async_trait]
impl Vcenter for FakeVcenter {
    async fn observe(&self, _request: &ObserveRequest) -> Result<VcenterFacts, VcenterError> {
        Ok(self.with(|f| f.clone()))
    }
    async fn power_off(&self, vm: &VmSelector) -> Result<(), VcenterError> {
        self.powered_off.lock().unwrap_or_else(|p| p.into_inner()).push(vm.clone());
        // Like vCenter: the VM is off whichever selector observes it next.
        self.with(|f| {
            for facts in f.on_premises_vms.values_mut().flatten() {
                if matches!(vm, VmSelector::MoRef(m) if *m == facts.moref) || matches!(vm, VmSelector::Name(n) if *n == facts.name) {
                    facts.power_state = Some(PowerState::PoweredOff);
                }
            }
        });
        Ok(())
    }
    async fn enable_disk_uuid(&self, vm: &VmSelector) -> Result<(), VcenterError> {
        self.disk_uuid_enabled.lock().unwrap_or_else(|p| p.into_inner()).push(vm.clone());
        self.with(|f| {
            if let Some(mt) = f.master_target.as_mut() {
                mt.disk_enable_uuid = Some(true);
            }
        });
        Ok(())
    }
}
