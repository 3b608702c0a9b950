//! Failback, commit and forward reprotect of items: job kinds, what each job does to its items when it
//! ends, and the states (with per-item spelling variants where real ASR's names are only inferred).

use crate::state::{AsrError, Item, Job, JobState, Vault, World, new_guid};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// Azure -> on-premises reprotect (`InMage`).
    Reprotect,
    /// Unplanned failover of a reprotected item or plan: the failback.
    Failback,
    /// Commit of a failover (removes the Azure VM).
    Commit,
    /// On-premises -> Azure reprotect (`InMageAzureV2`) after a failback commit.
    ForwardReprotect,
}

const FAILBACK_TASKS: &[(&str, &str)] = &[
    ("VmUfoPrerequisitesCheck", "Prerequisites check for failover"),
    ("VmShutdownVmOnPrimary", "Shut down the virtual machine"),
    ("VmPrepareForUnPlannedFailover", "Synchronizing the latest changes"),
    ("VmFailover", "Start failover"),
    ("VmFoStartVmOnSecondary", "Start the replica virtual machine"),
];
const COMMIT_TASKS: &[(&str, &str)] = &[("VmCommitPrerequisitesCheck", "Prerequisite check"), ("VmCommit", "Commit")];
const FORWARD_TASKS: &[(&str, &str)] = &[
    ("SwitchReplicationGroupProtectionPreflightTask", "Prerequisite check"),
    ("VmCommitFailover", "Committing failover"),
    ("DiscoverReplicaTask", "Discovering replica virtual machine"),
    ("GetSwitchProtectionRequirementsTask", "Getting reprotection requirements"),
    ("ProtectReplicaTask", "Reprotecting virtual machine (1)"),
];

impl JobKind {
    /// `scenarioName` of the job (as recorded from real ASR).
    pub fn scenario(self) -> &'static str {
        match self {
            JobKind::Reprotect => crate::state::REPROTECT_SCENARIO,
            JobKind::Failback => "UnplannedFailover",
            JobKind::Commit => "CommitFailover",
            JobKind::ForwardReprotect => "SwitchReplicationGroupProtection",
        }
    }
    pub fn friendly(self) -> &'static str {
        match self {
            JobKind::Reprotect | JobKind::ForwardReprotect => crate::state::REPROTECT_FRIENDLY,
            JobKind::Failback => "Failover",
            JobKind::Commit => "Commit",
        }
    }
    /// `customDetails.instanceType` of the job.
    pub fn details_type(self) -> &'static str {
        match self {
            JobKind::Reprotect | JobKind::Commit => "AsrJobDetails",
            JobKind::Failback => "FailoverJobDetails",
            JobKind::ForwardReprotect => "SwitchProtectionJobDetails",
        }
    }
    pub fn tasks(self) -> &'static [(&'static str, &'static str)] {
        match self {
            JobKind::Reprotect => &crate::state::REPROTECT_TASKS,
            JobKind::Failback => FAILBACK_TASKS,
            JobKind::Commit => COMMIT_TASKS,
            JobKind::ForwardReprotect => FORWARD_TASKS,
        }
    }
}

/// Take (consume) the item's first scripted failure for this job kind.
pub fn take_failure(it: &mut Item, kind: JobKind) -> Option<AsrError> {
    let i = it.fail_jobs.iter().position(|f| f.scenario.eq_ignore_ascii_case(kind.scenario()))?;
    let f = it.fail_jobs.remove(i);
    let message = f.message.unwrap_or_else(|| {
        format!("The {} job failed for the virtual machine '{}' (error {}).", kind.friendly(), it.friendly_name, f.code)
    });
    Some(AsrError::new(400, &f.code, &f.code, message, "Scripted by the simulator scenario.", "Fix the cause and retry the operation."))
}

/// Does job `ji` fail at its prerequisites check (ending at `check_at`)?
pub fn check_failure(v: &Vault, ji: usize, check_at: Timestamp) -> Option<AsrError> {
    let job = v.jobs.get(ji)?;
    if let Some(e) = &job.planned_error {
        return Some(e.clone());
    }
    let at = check_at.max(job.start);
    let unregistered = job.members.iter().filter_map(|m| v.item_index(m).and_then(|i| v.items.get(i))).find(|it| !it.agent_registered(at));
    match (job.kind, unregistered) {
        (JobKind::Reprotect, Some(it)) => Some(AsrError::agent_not_registered(&it.friendly_name, &it.ip_address)),
        (JobKind::ForwardReprotect, Some(it)) => Some(AsrError::forward_agent_not_registered(&it.friendly_name, &it.ip_address)),
        _ => None,
    }
}

fn members_mut<'v>(v: &'v mut Vault, job: &Job) -> impl Iterator<Item = &'v mut Item> {
    let names = job.members.clone();
    v.items.iter_mut().filter(move |it| names.iter().any(|n| n.eq_ignore_ascii_case(&it.name)))
}

/// Fail job `ji` at `at`: every member gets its allowed operations back.
pub fn fail_job(v: &mut Vault, ji: usize, err: AsrError, at: Timestamp) {
    let Some(job) = v.jobs.get_mut(ji) else { return };
    job.state = JobState::Failed;
    job.end = Some(at);
    job.error = Some(err);
    let job = job.clone();
    for it in members_mut(v, &job) {
        if let Some((_, prev)) = job.prev_allowed.iter().find(|(n, _)| n.eq_ignore_ascii_case(&it.name)) {
            it.allowed_operations = prev.clone();
        }
        it.current_job = None;
        match job.kind {
            JobKind::Reprotect => it.reprotect = None,
            JobKind::ForwardReprotect => it.forward = None,
            JobKind::Failback | JobKind::Commit => {}
        }
    }
    if let Some(p) = job.plan.as_deref().and_then(|p| v.plans.iter_mut().find(|x| x.name.eq_ignore_ascii_case(p))) {
        p.current_job = None;
    }
}

/// A stable pick among spellings for this item (the first when variants are off).
fn pick<'a>(item: &str, variants: bool, options: &[&'a str]) -> &'a str {
    let i = if variants { item.bytes().map(usize::from).sum::<usize>() % options.len().max(1) } else { 0 };
    options.get(i).or(options.first()).copied().unwrap_or_default()
}

fn ops(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Finish job `ji` successfully at `end`: apply its effect to every member.
pub fn succeed_job(v: &mut Vault, ji: usize, end: Timestamp, variants: bool) {
    let Some(job) = v.jobs.get_mut(ji) else { return };
    job.state = JobState::Succeeded;
    job.end = Some(end);
    let job = job.clone();
    let forward_policy = v.policies.iter().find(|p| p.provider == "InMageAzureV2").map(|p| p.name.clone());
    for it in members_mut(v, &job) {
        it.current_job = None;
        match job.kind {
            JobKind::Reprotect => {
                // Observed (REC-FB): InMage, Protected, activeLocation Primary, activeSiteType Azure.
                it.provider = "InMage".into();
                it.protection_state = "Protected".into();
                it.active_location = "Primary".into();
                it.allowed_operations = ops(&["UnplannedFailover", "DisableProtection"]);
            }
            JobKind::Failback => {
                // Not recorded for InMage: the HyperVReplicaAzure example's names, and variants.
                it.protection_state = pick(
                    &it.name,
                    variants,
                    &["UnplannedFailoverCommitPendingStatesBegin", "FailoverCompleted", "UnplannedFailoverCompleted"],
                )
                .into();
                it.active_location = "Recovery".into();
                it.allowed_operations = match pick(&it.name, variants, &["a", "b", "c"]) {
                    "a" => ops(&["CompleteMigration", "Commit", "DisableProtection", "ChangePit"]),
                    "b" => ops(&["Commit", "ChangePit", "DisableProtection"]),
                    _ => ops(&["commit", "changePit", "completeMigration", "disableProtection"]),
                };
                it.failover_time = Some(end);
            }
            JobKind::Commit => {
                // Observed (REC-RP): UnplannedFailoverCommitted, Recovery, SwitchProtection offered.
                it.protection_state =
                    pick(&it.name, variants, &["UnplannedFailoverCommitted", "FailoverCommitted", "unplannedFailoverCommitted"]).into();
                it.active_location = "Recovery".into();
                it.allowed_operations = ops(&["CompleteMigration", "DisableProtection", "SwitchProtection"]);
                it.azure_vm_present = false;
                it.failover_time = Some(end);
                it.registration_delay = it.forward_registration_delay;
                it.agent_override = None;
            }
            JobKind::ForwardReprotect => {
                it.provider = "InMageAzureV2".into();
                it.protection_state = pick(&it.name, variants, &["Protected", "ProtectedStatesBegin", "protected"]).into();
                it.active_location = "Primary".into();
                it.allowed_operations = ops(&["PlannedFailover", "UnplannedFailover", "DisableProtection", "TestFailover"]);
                if let Some(p) = &forward_policy {
                    it.policy = p.clone();
                }
                it.reprotect = None;
            }
        }
    }
    if let Some(p) = job.plan.as_deref().and_then(|p| v.plans.iter_mut().find(|x| x.name.eq_ignore_ascii_case(p))) {
        p.current_job = None;
        if job.kind == JobKind::Failback {
            p.last_unplanned_failover = Some(job.start);
        }
    }
}

/// Create a running job of `kind` over `members` (item names; validated to exist) and mark them busy.
pub(crate) fn start_job(w: &mut World, vi: usize, kind: JobKind, plan: Option<String>, members: &[String], now: Timestamp) -> Job {
    let duration = w.defaults.job_duration;
    let v = &mut w.vaults[vi];
    let name = new_guid();
    let mut prev_allowed = vec![];
    let mut planned_error = None;
    let (mut fabric, mut container, mut friendly) = (String::new(), String::new(), String::new());
    for it in v.items.iter_mut().filter(|it| members.iter().any(|m| m.eq_ignore_ascii_case(&it.name))) {
        prev_allowed.push((it.name.clone(), it.allowed_operations.clone()));
        planned_error = planned_error.or_else(|| take_failure(it, kind));
        it.allowed_operations.clear();
        it.current_job = Some((name.clone(), now));
        (fabric, container, friendly) = (it.fabric.clone(), it.container.clone(), it.friendly_name.clone());
    }
    let (item, item_friendly) = match &plan {
        Some(p) => (p.clone(), p.clone()),
        None => (members.first().cloned().unwrap_or_default(), friendly),
    };
    let job = Job {
        kind,
        plan: plan.clone(),
        members: members.to_vec(),
        name: name.clone(),
        operation_id: match w.defaults.async_operation_id {
            crate::scenario::AsyncOperationId::JobName => name.clone(),
            crate::scenario::AsyncOperationId::Distinct => new_guid(),
        },
        activity_id: format!("{} ActivityId: {}", new_guid(), new_guid()),
        item,
        item_friendly,
        fabric,
        container,
        start: now,
        duration,
        state: JobState::InProgress,
        end: None,
        error: None,
        prev_allowed,
        planned_error,
    };
    if let Some(p) = plan.as_deref().and_then(|p| v.plans.iter_mut().find(|x| x.name.eq_ignore_ascii_case(p))) {
        p.current_job = Some((name, now));
    }
    v.jobs.push(job.clone());
    let ji = v.jobs.len() - 1;
    w.push_running(vi, ji);
    job
}

/// The finished job an unplanned failover to Azure leaves in the vault's list (`UnplannedFailover`, as recorded): it
/// started before the item's failover time (so a later failback does not take it for its own) and ended at `now`.
pub(crate) fn finished_failover_job(it: &Item, now: Timestamp) -> Job {
    let duration = SignedDuration::from_mins(3);
    let name = new_guid();
    Job {
        kind: JobKind::Failback,
        plan: None,
        members: vec![it.name.clone()],
        operation_id: name.clone(),
        name,
        activity_id: format!("{} ActivityId: {}", new_guid(), new_guid()),
        item: it.name.clone(),
        item_friendly: it.friendly_name.clone(),
        fabric: it.fabric.clone(),
        container: it.container.clone(),
        start: now - duration,
        duration,
        state: JobState::Succeeded,
        end: Some(now),
        error: None,
        prev_allowed: vec![],
        planned_error: None,
    }
}

impl World {
    /// Item-level `unplannedFailover`: the failback of a reprotected (`InMage`) item.
    pub fn unplanned_failover(
        &mut self,
        vi: usize,
        fabric: &str,
        container: &str,
        item: &str,
        body: &Value,
        now: Timestamp,
    ) -> Result<Job, AsrError> {
        self.advance(now);
        let v = &self.vaults[vi];
        let it = crate::validate_failback::item_for_action(v, fabric, container, item, self.defaults.missing_fabric)?;
        let rp = crate::validate_failback::check_item_failback(it, body)?;
        let name = it.name.clone();
        let job = start_job(self, vi, JobKind::Failback, None, std::slice::from_ref(&name), now);
        if let Some(i) = self.vaults[vi].item_index(&name) {
            self.vaults[vi].items[i].last_recovery_point_type = Some(rp);
        }
        Ok(job)
    }

    /// Item-level `failoverCommit` (no body).
    pub fn failover_commit(&mut self, vi: usize, fabric: &str, container: &str, item: &str, now: Timestamp) -> Result<Job, AsrError> {
        self.advance(now);
        let v = &self.vaults[vi];
        let it = crate::validate_failback::item_for_action(v, fabric, container, item, self.defaults.missing_fabric)?;
        crate::validate_failback::check_item_commit(it)?;
        let name = it.name.clone();
        Ok(start_job(self, vi, JobKind::Commit, None, std::slice::from_ref(&name), now))
    }

    /// `reProtect` with `InMageAzureV2` input on a committed failback: protect to Azure again.
    pub fn forward_reprotect(
        &mut self,
        vi: usize,
        fabric: &str,
        container: &str,
        item: &str,
        body: &Value,
        now: Timestamp,
    ) -> Result<Job, AsrError> {
        let v = &self.vaults[vi];
        let it = crate::validate_failback::item_for_action(v, fabric, container, item, self.defaults.missing_fabric)?;
        let input = crate::validate_failback::check_forward_reprotect(v, it, body)?;
        let name = it.name.clone();
        let job = start_job(self, vi, JobKind::ForwardReprotect, None, std::slice::from_ref(&name), now);
        if let Some(i) = self.vaults[vi].item_index(&name) {
            self.vaults[vi].items[i].forward = Some(input);
        }
        Ok(job)
    }
}
