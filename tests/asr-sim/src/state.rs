//! The pure simulated world: items, jobs, agent registration and reprotect validation.
//!
//! Nothing here reads a clock: every time-dependent call takes an explicit simulated `now`.

use crate::scenario::{Credentials, Defaults, FabricSpec, JobFailureSpec, MasterTargetSpec, PolicySpec, Scenario, VaultSpec};
use jiff::{SignedDuration, Timestamp};

pub use crate::validate::{AsrError, ReprotectInput};

/// Reprotect job scenario name and friendly name as ASR reports them.
pub const REPROTECT_SCENARIO: &str = "ReverseReplicate";
pub const REPROTECT_FRIENDLY: &str = "Reprotect";
/// Tasks of a reprotect job (name, friendly name); the first is the prerequisites check.
pub const REPROTECT_TASKS: [(&str, &str); 4] = [
    ("ReprotectPrerequisitesCheckTask", "Prerequisites check for reprotect"),
    ("PrepareOnPremisesTargetTask", "Preparing the master target and on-premises virtual machine"),
    ("StartReverseReplicationTask", "Starting reverse replication"),
    ("UpdateReplicationProviderTask", "Updating the replication provider"),
];

/// A replicated item (one VM).
#[derive(Clone, Debug)]
pub struct Item {
    pub name: String,
    pub friendly_name: String,
    pub os: String,
    pub os_name: String,
    pub group: Option<String>,
    pub fabric: String,
    pub container: String,
    pub protection_state: String,
    pub active_location: String,
    pub provider: String,
    pub allowed_operations: Vec<String>,
    pub failover_time: Option<Timestamp>,
    pub registration_delay: SignedDuration,
    /// Forced agent registration (test poke); `None`: time-based.
    pub agent_override: Option<bool>,
    pub vm_id: Option<String>,
    pub ip_address: String,
    pub policy: String,
    pub current_job: Option<(String, Timestamp)>,
    /// Reverse replication settings once reprotect was accepted.
    pub reprotect: Option<ReprotectInput>,
    /// Forward replication settings once a forward reprotect was accepted.
    pub forward: Option<crate::validate_failback::ForwardReprotectInput>,
    /// Agent registration delay after a failback commit (anchored at the commit's end).
    pub forward_registration_delay: SignedDuration,
    /// The failed-over Azure VM still exists (a failback commit removes it).
    pub azure_vm_present: bool,
    /// Jobs that fail once each (first matching scenario consumed).
    pub fail_jobs: Vec<JobFailureSpec>,
    /// Recovery point type of the last failback (`LatestTime` / `LatestTag`).
    pub last_recovery_point_type: Option<String>,
    /// Reported instead of `InProgress` for this item's running jobs.
    pub job_state: Option<String>,
}

impl Item {
    /// Has the mobility agent registered back with the configuration server at `now`?
    pub fn agent_registered(&self, now: Timestamp) -> bool {
        if let Some(o) = self.agent_override {
            return o;
        }
        match self.failover_time {
            Some(f) => now >= f + self.registration_delay,
            None => true,
        }
    }

    /// The agent's last heartbeat: older than the failover until it registers, then `now`.
    pub fn agent_last_heartbeat(&self, now: Timestamp) -> Timestamp {
        match self.failover_time {
            Some(f) if !self.agent_registered(now) => f - SignedDuration::from_mins(10),
            _ => now,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobState {
    InProgress,
    Succeeded,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::InProgress => "InProgress",
            JobState::Succeeded => "Succeeded",
            JobState::Failed => "Failed",
        }
    }
}

/// A job: reprotect, failback (unplanned failover), commit or forward reprotect; of one item or of a recovery plan.
#[derive(Clone, Debug)]
pub struct Job {
    pub kind: crate::failback::JobKind,
    /// The recovery plan when the job is a plan's (then `members` lists its items).
    pub plan: Option<String>,
    /// Items the job moves (one for item-level jobs).
    pub members: Vec<String>,
    pub name: String,
    pub operation_id: String,
    pub activity_id: String,
    pub item: String,
    pub item_friendly: String,
    pub fabric: String,
    pub container: String,
    pub start: Timestamp,
    pub duration: SignedDuration,
    pub state: JobState,
    pub end: Option<Timestamp>,
    /// Set when the job failed: (code, message, possible causes, recommended action).
    pub error: Option<AsrError>,
    /// Allowed operations to restore on failure, per member item name.
    pub prev_allowed: Vec<(String, Vec<String>)>,
    /// Fails at the end of its first task with this error (decided when accepted).
    pub planned_error: Option<AsrError>,
}

impl Job {
    /// (name, friendly name) of this job's tasks.
    pub fn tasks(&self) -> &'static [(&'static str, &'static str)] {
        self.kind.tasks()
    }

    pub fn task_span(&self, i: usize) -> (Timestamp, Timestamp) {
        let n = self.tasks().len().max(1) as i32;
        let piece = self.duration / n;
        (self.start + piece * i as i32, if i as i32 == n - 1 { self.start + self.duration } else { self.start + piece * (i as i32 + 1) })
    }

    /// State of task `i` at `now`.
    pub fn task_state(&self, i: usize, now: Timestamp) -> &'static str {
        let (s, e) = self.task_span(i);
        match self.state {
            JobState::Failed if i == 0 => "Failed",
            JobState::Failed => "Skipped",
            JobState::Succeeded => "Succeeded",
            JobState::InProgress if now >= e => "Succeeded",
            JobState::InProgress if now >= s => "InProgress",
            JobState::InProgress => "NotStarted",
        }
    }
}

/// One vault with its fabrics, policies, items and jobs.
#[derive(Clone, Debug)]
pub struct Vault {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub fabrics: Vec<FabricSpec>,
    pub policies: Vec<PolicySpec>,
    pub items: Vec<Item>,
    pub jobs: Vec<Job>,
    pub plans: Vec<crate::plans::Plan>,
    /// `defaults.job_service_code`: the service-level code of job errors, when it differs from ASR's code.
    pub job_service_code: Option<String>,
}

impl Vault {
    pub fn fabric(&self, name: &str) -> Option<&FabricSpec> {
        self.fabrics.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }
    pub fn item_index(&self, name: &str) -> Option<usize> {
        self.items.iter().position(|i| i.name.eq_ignore_ascii_case(name))
    }
    pub fn job(&self, name: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.name.eq_ignore_ascii_case(name) || j.operation_id.eq_ignore_ascii_case(name))
    }
    /// Jobs that ASR lets clients read at `now` (a new job can stay invisible for a while).
    pub fn visible_jobs(&self, now: Timestamp, delay: SignedDuration) -> impl DoubleEndedIterator<Item = &Job> {
        self.jobs.iter().filter(move |j| now >= j.start + delay)
    }
    pub fn policy(&self, name: &str) -> Option<&PolicySpec> {
        self.policies.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }
}

/// A stable GUID-shaped id derived from a name (FNV-1a).
pub fn stable_id(seed: &str) -> String {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in seed.bytes() {
        h ^= b as u128;
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    let s = format!("{h:032x}");
    format!("{}-{}-{}-{}-{}", &s[0..8], &s[8..12], &s[12..16], &s[16..20], &s[20..32])
}

/// A random GUID.
pub fn new_guid() -> String {
    let v: u128 = rand::random();
    let s = format!("{v:032x}");
    format!("{}-{}-4{}-a{}-{}", &s[0..8], &s[8..12], &s[13..16], &s[17..20], &s[20..32])
}

pub fn mt_id(fabric: &str, mt: &MasterTargetSpec) -> String {
    mt.id.clone().unwrap_or_else(|| stable_id(&format!("mt/{fabric}/{}", mt.name)))
}

/// A job in progress: its vault's and its own index, and whether its prerequisites check has passed.
#[derive(Clone, Copy, Debug)]
struct Running {
    vault: usize,
    job: usize,
    checked: bool,
}

/// The whole simulated world.
#[derive(Clone, Debug)]
pub struct World {
    pub vaults: Vec<Vault>,
    pub defaults: Defaults,
    pub credentials: Credentials,
    pub api_versions: Vec<String>,
    /// Jobs still in progress.
    running: Vec<Running>,
    /// Reprotects accepted so far (picks the 202's headers when they rotate).
    pub accepted: u64,
}

fn vault_from_spec(v: VaultSpec, d: &Defaults, start: Timestamp) -> Vault {
    let policies = v.policies.clone().unwrap_or_else(|| {
        vec![
            PolicySpec::default(),
            PolicySpec {
                name: "forward-policy".into(),
                provider: "InMageAzureV2".into(),
                rpo_threshold_minutes: 15,
                recovery_point_history_minutes: 4320,
                app_consistent_frequency_minutes: 60,
            },
        ]
    });
    let fwd = policies.iter().find(|p| p.provider != "InMage").or(policies.first()).map(|p| p.name.clone()).unwrap_or_default();
    let first_fabric = v.fabrics.first().cloned().unwrap_or_default();
    let items: Vec<Item> = v
        .items
        .iter()
        .enumerate()
        .map(|(n, s)| {
            let fabric =
                s.fabric.as_deref().and_then(|f| v.fabrics.iter().find(|x| x.name.eq_ignore_ascii_case(f))).unwrap_or(&first_fabric);
            let failed_over = s.protection_state != "Protected" || s.active_location == "Recovery";
            let linux = s.os.eq_ignore_ascii_case("Linux");
            Item {
                name: s.name.clone(),
                friendly_name: s.friendly_name.clone().unwrap_or_else(|| s.name.clone()),
                os: s.os.clone(),
                os_name: s
                    .os_name
                    .clone()
                    .unwrap_or_else(|| if linux { "Ubuntu 22.04 LTS".into() } else { "Windows Server 2019 Datacenter".into() }),
                group: s.group.clone(),
                fabric: s.fabric.clone().unwrap_or_else(|| fabric.name.clone()),
                container: fabric.container.clone(),
                protection_state: s.protection_state.clone(),
                active_location: s.active_location.clone(),
                provider: s.provider.clone(),
                allowed_operations: s.allowed_operations.clone(),
                failover_time: failed_over.then(|| start - s.failed_over_ago.unwrap_or(d.failed_over_ago)),
                registration_delay: s.agent_registration_delay.unwrap_or(d.agent_registration_delay),
                agent_override: None,
                vm_id: Some(s.vm_id.clone().unwrap_or_else(|| stable_id(&format!("vm/{}/{}", v.name, s.name)))),
                ip_address: s.ip_address.clone().unwrap_or_else(|| format!("10.1.{}.{}", n / 200, n % 200 + 10)),
                policy: s.policy.clone().unwrap_or_else(|| fwd.clone()),
                current_job: None,
                reprotect: None,
                forward: None,
                forward_registration_delay: s.forward_agent_registration_delay.unwrap_or(d.forward_agent_registration_delay),
                azure_vm_present: true,
                fail_jobs: s.fail_jobs.clone(),
                last_recovery_point_type: None,
                job_state: s.job_state.clone(),
            }
        })
        .collect();
    let plans = crate::plans::plans_from_spec(v.recovery_plans.as_deref(), &items);
    Vault {
        subscription: v.subscription,
        resource_group: v.resource_group,
        name: v.name,
        location: v.location,
        fabrics: v.fabrics,
        policies,
        items,
        jobs: vec![],
        plans,
        job_service_code: d.job_service_code.clone(),
    }
}

impl World {
    /// Build the world; `start` is the simulated time the simulator starts at.
    pub fn new(sc: &Scenario, start: Timestamp) -> World {
        let vaults = sc.expanded_vaults().into_iter().map(|v| vault_from_spec(v, &sc.defaults, start)).collect();
        World {
            vaults,
            defaults: sc.defaults.clone(),
            credentials: sc.credentials.clone(),
            api_versions: sc.api_versions.clone(),
            running: vec![],
            accepted: 0,
        }
    }

    /// Find a vault (subscription and resource group compared case-insensitively).
    pub fn vault_index(&self, sub: &str, rg: &str, name: &str) -> Option<usize> {
        self.vaults.iter().position(|v| {
            v.subscription.eq_ignore_ascii_case(sub) && v.resource_group.eq_ignore_ascii_case(rg) && v.name.eq_ignore_ascii_case(name)
        })
    }

    /// Validate and accept a reprotect: creates the job and marks the item.
    pub fn reprotect(
        &mut self,
        vi: usize,
        fabric: &str,
        container: &str,
        item: &str,
        body: &serde_json::Value,
        now: Timestamp,
    ) -> Result<Job, AsrError> {
        self.advance(now);
        let inmage_item = self.vaults[vi]
            .item_index(item)
            .and_then(|i| self.vaults[vi].items.get(i))
            .is_some_and(|i| i.provider.eq_ignore_ascii_case("InMage"));
        if inmage_item && crate::validate_failback::is_forward_reprotect(body) {
            return self.forward_reprotect(vi, fabric, container, item, body, now);
        }
        let v = &self.vaults[vi];
        let input = crate::validate::check_reprotect(v, fabric, container, item, body, self.defaults.missing_fabric)?;
        let ii = v.item_index(item).expect("validated");
        let duration = self.defaults.job_duration;
        let v = &mut self.vaults[vi];
        let it = &mut v.items[ii];
        let name = new_guid();
        let planned_error = crate::failback::take_failure(it, crate::failback::JobKind::Reprotect);
        let job = Job {
            kind: crate::failback::JobKind::Reprotect,
            plan: None,
            members: vec![it.name.clone()],
            name: name.clone(),
            operation_id: match self.defaults.async_operation_id {
                crate::scenario::AsyncOperationId::JobName => name.clone(),
                crate::scenario::AsyncOperationId::Distinct => new_guid(),
            },
            activity_id: format!("{} ActivityId: {}", new_guid(), new_guid()),
            item: it.name.clone(),
            item_friendly: it.friendly_name.clone(),
            fabric: it.fabric.clone(),
            container: it.container.clone(),
            start: now,
            duration,
            state: JobState::InProgress,
            end: None,
            error: None,
            prev_allowed: vec![(it.name.clone(), it.allowed_operations.clone())],
            planned_error,
        };
        it.allowed_operations.retain(|o| !o.eq_ignore_ascii_case("ReverseReplicate"));
        it.current_job = Some((job.name.clone(), now));
        it.reprotect = Some(input);
        v.jobs.push(job.clone());
        let ji = v.jobs.len() - 1;
        self.push_running(vi, ji);
        Ok(job)
    }

    /// Move jobs forward to `now`: the end of the first task (the prerequisites check) decides on
    /// agent registration and planned failures, the end of the last task applies the job's effect.
    pub fn advance(&mut self, now: Timestamp) {
        if self.running.is_empty() {
            return;
        }
        let running = std::mem::take(&mut self.running);
        let variants = self.defaults.state_variants;
        for mut r in running {
            let (vi, ji) = (r.vault, r.job);
            let v = &mut self.vaults[vi];
            let Some(job) = v.jobs.get(ji) else { continue };
            let check_at = job.task_span(0).1;
            let end_at = job.start + job.duration;
            // The check decides once, as of its end: a job past it is not checked again on every request (with
            // hundreds of jobs running, re-checking each against its vault's items was most of a 10,000-machine
            // bench's simulator CPU, taken from the controller it measures).
            if now >= check_at && !r.checked {
                if let Some(err) = crate::failback::check_failure(v, ji, check_at) {
                    crate::failback::fail_job(v, ji, err, check_at);
                    continue;
                }
                r.checked = true;
            }
            if now >= end_at {
                crate::failback::succeed_job(v, ji, end_at, variants);
            } else {
                self.running.push(r);
            }
        }
    }

    /// Register a newly accepted job as running.
    pub(crate) fn push_running(&mut self, vi: usize, ji: usize) {
        self.running.push(Running { vault: vi, job: ji, checked: false });
    }

    /// Are any jobs still in progress (so `advance` may change something)?
    pub fn has_running(&self) -> bool {
        !self.running.is_empty()
    }

    /// A new disaster: the item fails over to Azure again at `now` (months after it was protected), as an
    /// unplanned failover to Azure would leave it, its finished `UnplannedFailover` job included. Returns whether
    /// the item was found.
    pub fn fail_over_again(&mut self, item: &str, now: Timestamp) -> bool {
        self.fail_over_again_in(None, item, now)
    }

    /// [`World::fail_over_again`] in the vault named `vault` only (`None`: in every vault that has the item).
    pub fn fail_over_again_in(&mut self, vault: Option<&str>, item: &str, now: Timestamp) -> bool {
        self.advance(now);
        let mut found = false;
        for v in self.vaults.iter_mut().filter(|v| vault.is_none_or(|n| v.name.eq_ignore_ascii_case(n))) {
            let failed_over: Vec<Job> = v
                .items
                .iter()
                .filter(|i| i.name.eq_ignore_ascii_case(item))
                .map(|i| crate::failback::finished_failover_job(i, now))
                .collect();
            v.jobs.extend(failed_over);
            for it in v.items.iter_mut().filter(|i| i.name.eq_ignore_ascii_case(item)) {
                it.provider = "InMageAzureV2".into();
                it.protection_state = "UnplannedFailoverCommitted".into();
                it.active_location = "Recovery".into();
                it.allowed_operations = vec!["ReverseReplicate".into(), "DisableProtection".into()];
                it.failover_time = Some(now);
                it.agent_override = None;
                it.current_job = None;
                it.reprotect = None;
                it.forward = None;
                it.azure_vm_present = true;
                found = true;
            }
        }
        found
    }

    /// Script the next job of `scenario` on `item` (any vault) to fail with `code`. Returns whether it was found.
    pub fn fail_next_job(&mut self, item: &str, scenario: &str, code: &str) -> bool {
        let mut found = false;
        for it in self.vaults.iter_mut().flat_map(|v| v.items.iter_mut()).filter(|i| i.name.eq_ignore_ascii_case(item)) {
            it.fail_jobs.push(JobFailureSpec { scenario: scenario.into(), code: code.into(), message: None });
            found = true;
        }
        found
    }

    /// Force the agent of `item` (in any vault) registered or not. Returns whether it was found.
    pub fn set_agent_registered(&mut self, item: &str, registered: Option<bool>) -> bool {
        let mut found = false;
        for v in &mut self.vaults {
            for it in v.items.iter_mut().filter(|i| i.name.eq_ignore_ascii_case(item)) {
                it.agent_override = registered;
                found = true;
            }
        }
        found
    }
}
