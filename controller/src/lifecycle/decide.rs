//! `decide`: a pure function of observed facts, recorded status and `now` that returns the next phase, conditions and at most one action.
//!
//! Its inputs are in `decide_input`, following a reprotect job in `decide_job`, the Protected phase in `decide_protected`, and
//! folding in what the action found in `decide_after_act`.

use super::decide_job::follow_job;
use super::decide_protected::protected;
use crate::conditions::{ConditionSpec, KState, kstatus};
use crate::crd::{Mode, Phase};
use crate::reasons;
use jiff::{SignedDuration, Timestamp};
use reprotect_facts::{ProtectedItemFacts, ReprotectRequest, VmSelector};
use std::time::Duration;

pub use super::decide_after_act::{Acted, after_act, after_submission};
pub use super::decide_input::{Gate, GroupGate, Input, TrackedJob, VmTarget, Watchdog};

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
pub(super) const BLOCKED_RECHECK: Duration = Duration::from_secs(120);
pub(super) const AGENT_POLL_CAP: Duration = Duration::from_secs(30);
pub(super) const JOB_POLL: Duration = Duration::from_secs(15);
pub(super) const SOON: Duration = Duration::from_secs(2);

/// The kstatus state of a phase (reprotect and the way home alike).
pub fn kstate(phase: Phase) -> KState {
    match phase {
        Phase::Protected | Phase::ProtectedToAzure => KState::Ready,
        Phase::Blocked => KState::Stalled,
        Phase::Paused => KState::Idle,
        _ => KState::Reconciling,
    }
}

pub(super) fn decision(phase: Phase, reason: &str, message: impl Into<String>, requeue_after: Duration) -> Decision {
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
