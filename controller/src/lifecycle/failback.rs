//! The way home (pure): from a machine reprotected to on-premises to one running on-premises and protected to
//! Azure again: failback (unplanned failover) → commit → forward reprotect. `decide` looks at the item's
//! `FailbackStage`, the step's tracked job, the failback gates and the group's recovery plan, and returns the
//! next phase and at most one action; `after_act` folds in what the guarded POST found.
//!
//! Its inputs are in `failback_input`, following a step's job in `failback_job`, each stage in `failback_steps`, and folding in
//! what the POST found in `failback_after_act`.

use super::decide::kstate;
use super::failback_job::follow_job;
use super::failback_steps::{after_commit, commit_pending, forward, ready_to_fail_back};
use crate::conditions::{ConditionSpec, KState, kstatus};
use crate::crd::{FailbackStep, Mode, Phase};
use crate::reasons;
use reprotect_facts::{FailbackRequest, FailbackStage, ForwardReprotectRequest, PlanFailbackRequest};
use std::time::Duration;

pub use super::failback_after_act::{Acted, after_act};
pub use super::failback_input::{AzureVm, Descriptions, Input, OnPremisesVm, PlanRole, StepJob};

/// The one action to take now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    FailBack(FailbackRequest),
    FailBackPlan(PlanFailbackRequest),
    Commit { item_name: String },
    CommitPlan { plan_name: String },
    ForwardReprotect(ForwardReprotectRequest),
}

impl Action {
    pub fn step(&self) -> FailbackStep {
        match self {
            Action::FailBack(_) | Action::FailBackPlan(_) => FailbackStep::FailBack,
            Action::Commit { .. } | Action::CommitPlan { .. } => FailbackStep::Commit,
            Action::ForwardReprotect(_) => FailbackStep::ForwardReprotect,
        }
    }
    /// Metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::FailBack(_) => "fail-back",
            Action::FailBackPlan(_) => "fail-back-plan",
            Action::Commit { .. } => "commit",
            Action::CommitPlan { .. } => "commit-plan",
            Action::ForwardReprotect(_) => "forward-reprotect",
        }
    }
    /// The recovery plan a plan action targets.
    pub fn plan(&self) -> Option<&str> {
        match self {
            Action::FailBackPlan(r) => Some(&r.plan_name),
            Action::CommitPlan { plan_name } => Some(plan_name),
            _ => None,
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
    /// The approval has been carried out to the end.
    pub completed: bool,
    /// Group member whose failback checks pass for the approval (its peers may go ahead).
    pub ready: bool,
    /// After the commit: `Some(true)` once Azure Compute says the VM is gone, `Some(false)` while it exists.
    pub azure_vm_removed: Option<bool>,
}

const SLOW: Duration = Duration::from_secs(300);
pub(super) const BLOCKED_RECHECK: Duration = Duration::from_secs(120);
pub(super) const WAIT_POLL: Duration = Duration::from_secs(10);
pub(super) const JOB_POLL: Duration = Duration::from_secs(15);
pub(super) const SOON: Duration = Duration::from_secs(2);

pub(super) fn decision(phase: Phase, reason: &str, message: impl Into<String>, requeue_after: Duration) -> Decision {
    let message = message.into();
    Decision {
        phase,
        conditions: kstatus(kstate(phase), reason, &message),
        action: None,
        requeue_after,
        planned_actions: Vec::new(),
        completed: false,
        ready: false,
        azure_vm_removed: None,
    }
}

/// The phase of a running step.
pub fn running_phase(step: FailbackStep) -> Phase {
    match step {
        FailbackStep::FailBack => Phase::FailingBack,
        FailbackStep::Commit => Phase::Committing,
        FailbackStep::ForwardReprotect => Phase::ReprotectingToAzure,
    }
}

pub(super) fn step_word(step: FailbackStep) -> &'static str {
    match step {
        FailbackStep::FailBack => "failback",
        FailbackStep::Commit => "commit",
        FailbackStep::ForwardReprotect => "forward reprotect",
    }
}

/// Decide the next step of the way home for one machine.
pub fn decide(input: &Input<'_>) -> Decision {
    if input.paused {
        return decision(Phase::Paused, reasons::PAUSED, "paused by the policy or an annotation", SLOW);
    }
    let stage = input.item.failback_stage();
    if stage == FailbackStage::ProtectedToAzure {
        let mut d = decision(
            Phase::ProtectedToAzure,
            reasons::PROTECTED_TO_AZURE,
            format!("{} runs on-premises and replicates to Azure (approval {} carried out)", input.item.name, input.approval),
            SLOW,
        );
        d.completed = true;
        return after_commit(d, input);
    }
    if let Some(job) = &input.job
        && let Some(d) = follow_job(input, stage, job)
    {
        return d;
    }
    let mut d = match stage {
        FailbackStage::ReadyToFailBack => ready_to_fail_back(input),
        FailbackStage::CommitPending => commit_pending(input),
        FailbackStage::ReadyForForwardReprotect => after_commit(forward(input), input),
        FailbackStage::Busy => {
            let scenario = input.item.current_scenario.as_ref().and_then(|s| s.scenario_name.clone()).unwrap_or_default();
            decision(
                Phase::Validating,
                reasons::ITEM_BUSY,
                format!("operation {scenario} runs on {}; waiting for it", input.item.display_name()),
                JOB_POLL,
            )
        }
        FailbackStage::FailedOverToAzure | FailbackStage::Other => decision(
            Phase::Blocked,
            reasons::NOT_READY_TO_FAIL_BACK,
            format!(
                "item {} is in state {} (provider {}); it must be reprotected to on-premises and Protected before it can fail back",
                input.item.name,
                input.item.protection_state.as_deref().unwrap_or("unknown"),
                input.item.provider.as_deref().unwrap_or("unknown")
            ),
            BLOCKED_RECHECK,
        ),
        FailbackStage::ProtectedToAzure => decision(Phase::ProtectedToAzure, reasons::PROTECTED_TO_AZURE, "", SLOW),
    };
    if input.mode == Mode::Plan && d.action.is_some() {
        let ready = d.ready;
        d = planned(input, stage);
        d.ready = ready;
    }
    d
}

/// Plan mode: the rest of the way home, from this stage on; nothing is sent.
fn planned(input: &Input<'_>, stage: FailbackStage) -> Decision {
    let ds = &input.descriptions;
    let steps: Vec<String> = match stage {
        FailbackStage::ReadyToFailBack => vec![ds.fail_back.clone(), ds.commit.clone(), ds.forward.clone()],
        FailbackStage::CommitPending => vec![ds.commit.clone(), ds.forward.clone()],
        _ => vec![ds.forward.clone()],
    };
    let message = "plan mode: the failback checks pass; see status.plannedActions for the way home";
    let mut d = decision(Phase::Validating, reasons::PLANNED, message, SLOW);
    d.conditions = kstatus(KState::Idle, reasons::PLANNED, message);
    d.planned_actions = steps;
    d
}
