//! `decide`: a pure function of observed facts, recorded status and `now` that returns the next phase, conditions and at most one action.

use crate::conditions::{ConditionSpec, KState, kstatus};
use crate::crd::condition_types as ct;
use crate::crd::{Mode, Phase};
use crate::reasons;
use jiff::{SignedDuration, Timestamp};
use reprotect_facts::{
    AsrErrorClass, JobErrorFacts, JobFacts, JobRef, ProtectedItemFacts, ReprotectRequest, VmSelector, classify_job_error,
    classify_job_errors,
};
use std::time::Duration;

/// A blocking prerequisite that failed (or could not be verified).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gate {
    pub id: String,
    pub message: String,
    pub remedy: String,
}

impl Gate {
    /// The gate a failed (or unverified) check makes.
    pub fn of(r: &crate::preflight::CheckResult) -> Gate {
        Gate { id: r.id.to_string(), message: r.message.clone(), remedy: r.remedy.to_string() }
    }
}

/// Whether the replication group lets this member go ahead.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum GroupGate {
    /// Not in a group, or every member is ready.
    #[default]
    Open,
    /// Members that are not ready yet.
    WaitingFor(Vec<String>),
}

/// Things a watchdog looks at once the machine is protected.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Watchdog {
    /// The on-premises VM is powered on while protected.
    pub on_premises_vm_powered_on: bool,
    /// Master target problems that will make failback fail (snapshots, moved disks).
    pub master_target_risks: Vec<String>,
}

/// Everything `decide` looks at.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    pub now: Timestamp,
    pub generation: Option<i64>,
    pub mode: Mode,
    pub paused: bool,
    pub power_off_on_premises_vm: bool,
    pub agent_registration_window: SignedDuration,
    /// How often a protected machine is looked at again (on-premises VM, master target, health).
    pub watchdog_interval: Duration,
    /// The protected item; `None` when the vault has no such item.
    pub item: Option<&'a ProtectedItemFacts>,
    /// The reprotect job known from status or adopted from Azure, with its latest observation.
    pub job: Option<TrackedJob<'a>>,
    /// Blocking preflight results other than agent registration and failover state.
    pub gates: Vec<Gate>,
    /// Failing checks that the controller may remediate itself (only `mt-disk-enable-uuid`): the master target VM.
    pub remediate_disk_uuid: Option<VmTarget>,
    /// The existing on-premises VM when it is powered on.
    pub powered_on_vm: Option<VmTarget>,
    pub group: GroupGate,
    pub watchdog: Watchdog,
    /// The reprotect input, when every value could be resolved.
    pub reprotect: Option<ReprotectRequest>,
    /// Likely causes to cite when the agent does not register.
    pub agent_causes: String,
    /// Human description of the reprotect, for plan mode ("reprotect app-01 with master target ...").
    pub reprotect_description: String,
    /// Automatic retries after an agent-not-registered failure stop after this many attempts.
    pub max_attempts: u32,
    /// An older ProtectedMachine (`namespace/name`) that owns the same protected item: this one does nothing.
    pub owned_by: Option<String>,
}

/// A job and what we know of it.
#[derive(Clone, Debug, Default)]
pub struct TrackedJob<'a> {
    pub name: &'a str,
    /// Spec generation the job was submitted for.
    pub generation: Option<i64>,
    pub observed: Option<&'a JobFacts>,
    /// Reprotect submissions for the current failover, this one included.
    pub attempt: u32,
    pub submitted_at: Option<Timestamp>,
}

/// The single action the reconciler should take now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    EnableDiskUuid(VmSelector),
    PowerOff(VmSelector),
    Reprotect(ReprotectRequest),
}

impl Action {
    /// Metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::EnableDiskUuid(_) => "enable-disk-uuid",
            Action::PowerOff(_) => "power-off",
            Action::Reprotect(_) => "reprotect",
        }
    }
}

/// What `decide` concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub phase: Phase,
    pub conditions: Vec<ConditionSpec>,
    pub action: Option<Action>,
    pub requeue_after: Duration,
    pub planned_actions: Vec<String>,
    pub agent_window_deadline: Option<Timestamp>,
}

const SLOW: Duration = Duration::from_secs(300);
const BLOCKED_RECHECK: Duration = Duration::from_secs(120);
const AGENT_POLL_CAP: Duration = Duration::from_secs(30);
const JOB_POLL: Duration = Duration::from_secs(15);
const SOON: Duration = Duration::from_secs(2);

/// The kstatus state of a phase (reprotect and the way home alike).
pub fn kstate(phase: Phase) -> KState {
    match phase {
        Phase::Protected | Phase::ProtectedToAzure => KState::Ready,
        Phase::Blocked => KState::Stalled,
        Phase::Paused => KState::Idle,
        _ => KState::Reconciling,
    }
}

fn decision(phase: Phase, reason: &str, message: impl Into<String>, requeue_after: Duration) -> Decision {
    let message = message.into();
    Decision {
        phase,
        conditions: kstatus(kstate(phase), reason, &message),
        action: None,
        requeue_after,
        planned_actions: Vec::new(),
        agent_window_deadline: None,
    }
}

/// Decide the next step for one machine.
pub fn decide(input: &Input<'_>) -> Decision {
    // Checked: the window comes from a user's spec, and an overflow must not panic the process
    // (no deadline is representable, so the agent is simply waited for until the item changes).
    let deadline =
        input.item.and_then(|i| i.last_successful_failover_time).and_then(|t| t.checked_add(input.agent_registration_window).ok());
    let mut d = decide_phase(input, deadline);
    d.agent_window_deadline = deadline;
    d
}

fn decide_phase(input: &Input<'_>, deadline: Option<Timestamp>) -> Decision {
    if input.paused {
        return decision(
            Phase::Paused,
            reasons::PAUSED,
            "paused by spec.paused or the reprotect.io/paused annotation; no actions are taken",
            SLOW,
        );
    }
    // Before anything else: a duplicate neither acts nor follows the owner's job (its status would claim
    // progress that belongs to the other object).
    if let Some(owner) = &input.owned_by {
        return decision(
            Phase::Blocked,
            reasons::DUPLICATE_ITEM,
            format!(
                "blocked by item-owner: ProtectedMachine {owner} names the same protected item and owns it; this one takes no action. Remedy: delete this ProtectedMachine, or point spec.item at the item it was meant for"
            ),
            BLOCKED_RECHECK,
        );
    }
    let Some(item) = input.item else {
        // A friendly name shared by several items selects none: say so, not "not found".
        let ambiguous: Vec<Gate> = input.gates.iter().filter(|g| g.id == "item-unique").cloned().collect();
        if !ambiguous.is_empty() {
            return blocked_by_gates(&ambiguous);
        }
        return decision(
            Phase::Blocked,
            reasons::PROTECTED_ITEM_NOT_FOUND,
            "the replicated item was not found in the vault; check spec.item. You cannot fail back after completing migration, moving the Azure VM to another resource group, or deleting it",
            BLOCKED_RECHECK,
        );
    };
    if item.is_protected_in_reverse() {
        return protected(input, item);
    }
    // A job that failed and may be retried stays recorded until the next submission replaces it,
    // so the guard before the POST knows it and never mistakes it for a new one.
    if let Some(job) = &input.job
        && let Some(d) = follow_job(input, item, job, deadline)
    {
        return d;
    }
    decide_ready_item(input, item, deadline)
}

/// A failed job is retried only once the user changed the spec (new generation).
fn job_superseded_by_spec_change(input: &Input<'_>, job: &TrackedJob<'_>) -> bool {
    matches!((job.generation, input.generation), (Some(submitted), Some(current)) if current > submitted)
}

fn decide_ready_item(input: &Input<'_>, item: &ProtectedItemFacts, deadline: Option<Timestamp>) -> Decision {
    if !item.can_reverse_replicate() {
        let state = item.protection_state.as_deref().unwrap_or("unknown");
        return decision(
            Phase::WaitingForFailover,
            reasons::NOT_FAILED_OVER,
            format!(
                "item {} is in state {state} (active location {}); reprotect becomes possible after failover to Azure is committed",
                item.display_name(),
                item.active_location.as_deref().unwrap_or("unknown")
            ),
            SLOW,
        );
    }
    if !input.gates.is_empty() {
        return blocked_by_gates(&input.gates);
    }
    if let Some(d) = wait_for_agent(input, item, deadline) {
        return d;
    }
    if let GroupGate::WaitingFor(members) = &input.group {
        return decision(
            Phase::Validating,
            reasons::WAITING_FOR_GROUP,
            format!("replication group members not ready yet: {}", members.join(", ")),
            AGENT_POLL_CAP,
        );
    }
    act(input)
}

fn protected(input: &Input<'_>, item: &ProtectedItemFacts) -> Decision {
    let mut d = decision(
        Phase::Protected,
        reasons::PROTECTED,
        format!("{} is replicating from Azure to on-premises", item.display_name()),
        input.watchdog_interval,
    );
    let mut risks = input.watchdog.master_target_risks.clone();
    if input.watchdog.on_premises_vm_powered_on {
        risks.push("the on-premises VM is powered on while protected; it must stay off until failback".into());
        if input.power_off_on_premises_vm && input.mode == Mode::Apply {
            d.action = input.powered_on_vm.as_ref().map(|vm| Action::PowerOff(vm.selector()));
        }
    }
    d.conditions.push(if risks.is_empty() {
        ConditionSpec::new(ct::FAILBACK_AT_RISK, false, reasons::NO_RISK_FOUND, "")
    } else {
        ConditionSpec::new(ct::FAILBACK_AT_RISK, true, reasons::FAILBACK_AT_RISK, risks.join("; "))
    });
    let critical = item.replication_health.as_deref().is_some_and(|h| h.eq_ignore_ascii_case("Critical"));
    d.conditions.push(if critical {
        ConditionSpec::new(ct::DEGRADED, true, reasons::REPLICATION_HEALTH_CRITICAL, health_message(item))
    } else {
        ConditionSpec::new(ct::DEGRADED, false, reasons::REPLICATION_HEALTHY, "")
    });
    d
}

fn health_message(item: &ProtectedItemFacts) -> String {
    let errors: Vec<String> = item
        .health_errors
        .iter()
        .map(|e| format!("{}: {}", e.code.as_deref().unwrap_or("?"), e.message.as_deref().unwrap_or("")))
        .collect();
    format!("replication health is Critical: {}", errors.join("; "))
}

/// How long a job may stay in a state ASR does not document before a person is asked to look.
const UNKNOWN_JOB_STATE_TIMEOUT: SignedDuration = SignedDuration::from_hours(1);
const KNOWN_RUNNING_STATES: &[&str] = &["notstarted", "inprogress", "queued", "cancelling", "restarted", "suspending", "submitted"];

fn follow_job(input: &Input<'_>, item: &ProtectedItemFacts, job: &TrackedJob<'_>, deadline: Option<Timestamp>) -> Option<Decision> {
    let Some(facts) = job.observed else {
        return Some(decision(
            Phase::Reprotecting,
            reasons::JOB_SUBMITTED,
            format!("reprotect job {} submitted; waiting for it to appear", job.name),
            JOB_POLL,
        ));
    };
    let state = facts.state.as_deref().unwrap_or("Unknown");
    if facts.succeeded() || (!facts.is_finished() && KNOWN_RUNNING_STATES.contains(&state.to_ascii_lowercase().as_str())) {
        let (done, total) = facts.progress();
        return Some(decision(
            Phase::Reprotecting,
            reasons::JOB_RUNNING,
            format!("reprotect job {} is {state} ({done}/{total} tasks)", job.name),
            JOB_POLL,
        ));
    }
    if !facts.is_finished() {
        let stuck = job.submitted_at.is_some_and(|at| input.now.duration_since(at) > UNKNOWN_JOB_STATE_TIMEOUT);
        let (phase, recheck) = if stuck { (Phase::Blocked, BLOCKED_RECHECK) } else { (Phase::Reprotecting, JOB_POLL) };
        return Some(decision(
            phase,
            reasons::JOB_STATE_UNKNOWN,
            format!(
                "reprotect job {} is in state {state}, which the controller does not know{}; check the job in the Azure portal",
                job.name,
                if stuck { " and it has not changed for over an hour" } else { "" }
            ),
            recheck,
        ));
    }
    // The job failed. A retry is allowed after the user changed the spec, or when the agent was the
    // cause and it has registered since (bounded); anything else needs a person.
    if job_superseded_by_spec_change(input, job) {
        return None;
    }
    let first = facts.errors.iter().find(|e| classify_job_error(e) == AsrErrorClass::AgentNotRegistered).or(facts.errors.first());
    let first = first.cloned().unwrap_or_default();
    let class = classify_job_errors(&facts.errors);
    let asr = format!(
        "ASR error {}: {} Possible causes: {} Recommended action: {}",
        first.code.as_deref().unwrap_or("unknown"),
        first.message.as_deref().unwrap_or(""),
        first.possible_causes.as_deref().unwrap_or("not given"),
        first.recommended_action.as_deref().unwrap_or("not given"),
    );
    if class != AsrErrorClass::AgentNotRegistered {
        return Some(decision(
            Phase::Blocked,
            reasons::REPROTECT_JOB_FAILED,
            format!("reprotect job {} failed with {asr}; change the spec to retry", job.name),
            BLOCKED_RECHECK,
        ));
    }
    let failed_at = facts.end_time.or(job.submitted_at);
    let registered_since = matches!((item.agent_last_heartbeat, failed_at), (Some(hb), Some(at)) if hb > at);
    if job.attempt >= input.max_attempts.max(1) {
        return Some(decision(
            Phase::Blocked,
            reasons::RETRIES_EXHAUSTED,
            format!(
                "reprotect failed {} time(s) because the mobility agent was not registered (last: job {}, {asr}); change the spec to try again",
                job.attempt, job.name
            ),
            BLOCKED_RECHECK,
        ));
    }
    if registered_since {
        return None;
    }
    if deadline.is_some_and(|d| input.now < d) {
        return Some(decision(
            Phase::WaitingForAgent,
            reasons::AGENT_NOT_REGISTERED,
            format!("reprotect job {} failed because the mobility agent has not registered yet; retrying once it does ({asr})", job.name),
            AGENT_POLL_CAP,
        ));
    }
    Some(decision(
        Phase::Blocked,
        reasons::AGENT_NOT_REGISTERED,
        format!(
            "reprotect job {} failed because the mobility agent has not registered, and the registration window has closed; it is retried automatically once the agent registers ({asr}). Likely causes: {}",
            job.name, input.agent_causes
        ),
        BLOCKED_RECHECK,
    ))
}

fn blocked_by_gates(gates: &[Gate]) -> Decision {
    let ids: Vec<&str> = gates.iter().map(|g| g.id.as_str()).collect();
    let details: Vec<String> = gates.iter().map(|g| format!("[{}] {} Remedy: {}", g.id, g.message, g.remedy)).collect();
    let reason = reasons::for_blocking_checks(ids.iter().copied());
    decision(Phase::Blocked, reason, format!("blocked by {}: {}", ids.join(", "), details.join(" | ")), BLOCKED_RECHECK)
}

/// A heartbeat this recent means the agent is registered when the item has no failover time.
const FRESH_AGENT_HEARTBEAT: SignedDuration = SignedDuration::from_mins(15);

fn wait_for_agent(input: &Input<'_>, item: &ProtectedItemFacts, deadline: Option<Timestamp>) -> Option<Decision> {
    let registered = item
        .agent_registered_after_failover()
        .unwrap_or_else(|| item.agent_last_heartbeat.is_some_and(|hb| input.now.duration_since(hb) <= FRESH_AGENT_HEARTBEAT));
    if registered {
        return None;
    }
    match deadline {
        Some(deadline) if input.now < deadline => {
            let left = input.now.duration_until(deadline).unsigned_abs();
            Some(decision(
                Phase::WaitingForAgent,
                reasons::WAITING_FOR_AGENT,
                format!(
                    "the mobility agent of {} has not registered with the configuration server yet; waiting until {deadline}",
                    item.display_name()
                ),
                left.min(AGENT_POLL_CAP).max(SOON),
            ))
        }
        _ => Some(decision(
            Phase::Blocked,
            reasons::AGENT_NOT_REGISTERED,
            format!(
                "the mobility agent of {} did not register within the registration window. Likely causes: {}",
                item.name, input.agent_causes
            ),
            BLOCKED_RECHECK,
        )),
    }
}

fn act(input: &Input<'_>) -> Decision {
    let mut steps: Vec<(Action, String)> = Vec::new();
    if let Some(vm) = &input.remediate_disk_uuid {
        steps.push((Action::EnableDiskUuid(vm.selector()), format!("set disk.EnableUUID=TRUE on master target VM {vm}")));
    }
    if input.power_off_on_premises_vm
        && let Some(vm) = &input.powered_on_vm
    {
        steps.push((Action::PowerOff(vm.selector()), format!("power off on-premises VM {vm}")));
    }
    let Some(request) = &input.reprotect else {
        return decision(
            Phase::Blocked,
            reasons::INPUT_INCOMPLETE,
            "the reprotect input could not be resolved (master target, process server, datastore or failback policy)",
            BLOCKED_RECHECK,
        );
    };
    steps.push((Action::Reprotect(request.clone()), input.reprotect_description.clone()));
    if input.mode == Mode::Plan {
        // Plan mode has nothing to do until a person switches to Apply: not Reconciling, not
        // Stalled, so GitOps health checks do not wait on it forever.
        let mut d = decision(Phase::Validating, reasons::PLANNED, "plan mode: all checks pass; see status.plannedActions", SLOW);
        d.conditions = kstatus(KState::Idle, reasons::PLANNED, "plan mode: all checks pass; see status.plannedActions");
        d.planned_actions = steps.into_iter().map(|(_, s)| s).collect();
        return d;
    }
    let (action, description) = steps.remove(0);
    let phase = if matches!(action, Action::Reprotect(_)) { Phase::Reprotecting } else { Phase::Validating };
    let mut d = decision(phase, reasons::ACTING, description, SOON);
    d.action = Some(action);
    d
}

/// A VM the controller may write to: the identity observed in vCenter (its moref, which cannot collide as a
/// name can) and its name for messages. Actions select it by moref, so a write lands on the VM that was judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmTarget {
    pub moref: String,
    pub name: String,
}

impl VmTarget {
    pub fn new(moref: impl Into<String>, name: impl Into<String>) -> VmTarget {
        VmTarget { moref: moref.into(), name: name.into() }
    }

    /// How the action selects it in vCenter.
    pub fn selector(&self) -> VmSelector {
        VmSelector::MoRef(self.moref.clone())
    }
}

impl std::fmt::Display for VmTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.moref)
    }
}

/// What the reconciler's action turned out to be. The action re-reads Azure right before a POST
/// (never a second reprotect for an item), so it may find a job instead of creating one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acted {
    /// No action, or a vCenter action that finished.
    Done,
    /// A reprotect was submitted; ASR tracks it with this job.
    Submitted { job: JobRef, at: Timestamp },
    /// A reprotect was already running (or finished) for the item: follow it instead.
    Adopted(JobFacts),
    /// Azure already shows the item protected in reverse (a previous instance's reprotect finished).
    AlreadyProtected,
    /// ASR refused the POST itself (not transient): remembered like a failed job of the same class.
    Rejected(JobErrorFacts),
}

/// Fold what the action found into the decision (pure): an adopted job means the machine is
/// reprotecting, an item already protected is looked at again at once.
pub fn after_act(decision: Decision, acted: &Acted) -> Decision {
    match acted {
        Acted::Done => decision,
        Acted::Submitted { job, .. } => Decision { requeue_after: after_submission(job.retry_after_seconds), ..decision },
        Acted::Adopted(job) => {
            let state = job.state.as_deref().unwrap_or("Unknown");
            let message = format!(
                "adopted reprotect job {} ({state}) that an earlier attempt submitted for the item, instead of submitting another",
                job.name
            );
            Decision {
                conditions: kstatus(KState::Reconciling, reasons::JOB_ADOPTED, &message),
                ..decision_with(Phase::Reprotecting, JOB_POLL, decision)
            }
        }
        Acted::Rejected(error) => {
            let message = format!(
                "ASR rejected the reprotect: {} {}",
                error.code.as_deref().unwrap_or("unknown"),
                error.message.as_deref().unwrap_or("")
            );
            Decision {
                conditions: kstatus(KState::Reconciling, reasons::REPROTECT_REJECTED, &message),
                ..decision_with(Phase::Validating, SOON, decision)
            }
        }
        Acted::AlreadyProtected => {
            let message = "Azure already reports the item protected in reverse; confirming";
            Decision {
                conditions: kstatus(KState::Reconciling, reasons::ALREADY_PROTECTED, message),
                ..decision_with(Phase::Reprotecting, SOON, decision)
            }
        }
    }
}

/// When to look at a reprotect just submitted: when Azure's `Retry-After` on the 202 says, else one
/// job poll interval; never sooner than 5 s, because the Site Recovery client refreshes a vault's
/// item list at most every 5 s during a burst of POSTs and a list read after the POST shows the job
/// running (a pass before that would read the job itself, one ARM request per machine).
pub fn after_submission(retry_after_seconds: Option<u64>) -> Duration {
    retry_after_seconds.map_or(JOB_POLL, Duration::from_secs).clamp(SUBMITTED_MIN, JOB_POLL)
}

const SUBMITTED_MIN: Duration = Duration::from_secs(5);

fn decision_with(phase: Phase, requeue_after: Duration, d: Decision) -> Decision {
    Decision { phase, requeue_after, action: None, ..d }
}
