//! In-memory fakes of the `SiteRecovery` and `Vcenter` traits for whole-pass reconciler tests (the e2e tests use the real simulator and vcsim).

use jiff::Timestamp;
use reprotect_facts::*;
use std::collections::BTreeMap;
use std::sync::Mutex;

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
    /// The next POST creates its job but its answer is lost with this error.
    pub lose_next_post_answer: Option<SiteRecoveryError>,
    /// The next POST is refused with this error and creates nothing.
    pub reject_next_post: Option<SiteRecoveryError>,
    pub now: Option<Timestamp>,
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
            let target = job.target_object_id.clone().unwrap_or_default();
            for item in v.items.iter_mut().filter(|i| same_arm_id(&i.id, &target)) {
                item.current_scenario = None;
                if error_code.is_none() {
                    item.provider = Some("InMage".into());
                    item.protection_state = Some("Protected".into());
                    item.allowed_operations = vec!["UnplannedFailover".into()];
                } else {
                    item.allowed_operations = vec!["ReverseReplicate".into()];
                }
            }
        });
    }
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
            item.allowed_operations.clear();
            item.current_scenario = Some(CurrentScenarioFacts {
                scenario_name: Some("Reprotect".into()),
                job_id: Some(format!("/jobs/{name}")),
                start_time: v.now,
            });
            let job = JobFacts {
                id: format!("/jobs/{name}"),
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
        self.with(|v| v.jobs.get(job_name).cloned()).ok_or_else(|| not_found("getJob", job_name))
    }
    async fn list_jobs_for(&self, _vault: &VaultRef, target_object_id: &str) -> Result<Vec<JobFacts>, SiteRecoveryError> {
        Ok(self.with(|v| {
            v.jobs.values().filter(|j| j.target_object_id.as_deref().is_some_and(|t| same_arm_id(t, target_object_id))).cloned().collect()
        }))
    }
    async fn list_policies(&self, _vault: &VaultRef) -> Result<Vec<PolicyFacts>, SiteRecoveryError> {
        Ok(self.with(|v| v.policies.clone()))
    }
    async fn list_vcenters(&self, _vault: &VaultRef) -> Result<Vec<DiscoveredVcenterFacts>, SiteRecoveryError> {
        Ok(self.with(|v| v.vcenters.clone()))
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
