//! The records the simulated world is made of: items (VMs), jobs (with their tasks) and vaults.

use crate::scenario::{FabricSpec, JobFailureSpec, PolicySpec};
use crate::validate::{AsrError, ReprotectInput};
use jiff::{SignedDuration, Timestamp};

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
