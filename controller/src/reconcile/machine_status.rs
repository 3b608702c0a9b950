//! Build the ProtectedMachine status from a decision (pure), keeping what must survive across reconciles.

use crate::conditions::{self, Desired as DesiredCondition};
use crate::crd::{CheckStatus, JobStatus, Phase, ProtectedMachine, ProtectedMachineStatus, condition_types};
use crate::machine::Decision;
use crate::preflight::{CheckResult, PreflightReason, summarize};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

pub fn checks(results: &[CheckResult]) -> Vec<CheckStatus> {
    results
        .iter()
        .map(|r| CheckStatus {
            id: r.id.to_string(),
            severity: r.severity.as_str().into(),
            status: r.status.as_str().into(),
            message: r.message.clone(),
            remedy: r.remedy.to_string(),
        })
        .collect()
}

pub fn preflight_condition(results: &[CheckResult]) -> DesiredCondition {
    let summary = summarize(results);
    let reason = match summary.reason {
        PreflightReason::PreflightPassed => "PreflightPassed",
        PreflightReason::PreflightFailed => "PreflightFailed",
        PreflightReason::PreflightIncomplete => "PreflightIncomplete",
    };
    DesiredCondition::new(condition_types::PREFLIGHT_PASSED, summary.passed, reason, summary.message)
}

/// Everything the status writer needs besides the decision.
pub struct StatusInputs<'a> {
    pub pm: &'a ProtectedMachine,
    pub decision: &'a Decision,
    pub results: &'a [CheckResult],
    pub master_target: &'a str,
    pub item_id: Option<String>,
    pub job: Option<JobStatus>,
    pub recorded_datastores: Option<Vec<String>>,
    pub now: Timestamp,
}

/// The full new status (server-side apply replaces what this manager owns).
pub fn build(input: StatusInputs<'_>) -> ProtectedMachineStatus {
    let old = input.pm.status.clone().unwrap_or_default();
    let mut desired = input.decision.conditions.clone();
    if !input.results.is_empty() {
        desired.push(preflight_condition(input.results));
    }
    let protected_at = match (input.decision.phase, old.protected_at.clone()) {
        (Phase::Protected, Some(at)) => Some(at),
        (Phase::Protected, None) => Some(Time(input.now)),
        _ => None,
    };
    let requeue = jiff::SignedDuration::try_from(input.decision.requeue_after).unwrap_or_default();
    ProtectedMachineStatus {
        observed_generation: input.pm.metadata.generation,
        phase: input.decision.phase,
        conditions: conditions::merge(&old.conditions, &desired, input.pm.metadata.generation, input.now),
        master_target: Some(input.master_target.to_string()),
        protected_item_id: input.item_id.or(old.protected_item_id),
        checks: if input.results.is_empty() { old.checks } else { checks(input.results) },
        job: if input.decision.clear_job { None } else { input.job.or(old.job) },
        agent_window_deadline: input.decision.agent_window_deadline.map(Time),
        next_check_at: Some(Time(input.now + requeue)),
        planned_actions: input.decision.planned_actions.clone(),
        recorded_master_target_datastores: input.recorded_datastores.unwrap_or(old.recorded_master_target_datastores),
        protected_at,
    }
}

/// Status for a machine that cannot be evaluated (missing policy or master target, unusable connection).
pub fn stalled(pm: &ProtectedMachine, reason: &str, message: String, now: Timestamp) -> ProtectedMachineStatus {
    let old = pm.status.clone().unwrap_or_default();
    let desired = vec![
        DesiredCondition::new(condition_types::READY, false, reason, message.clone()),
        DesiredCondition::new(condition_types::RECONCILING, false, "Idle", ""),
        DesiredCondition::new(condition_types::STALLED, true, reason, message),
    ];
    ProtectedMachineStatus {
        observed_generation: pm.metadata.generation,
        phase: if old.phase == Phase::Protected { Phase::Protected } else { Phase::Blocked },
        conditions: conditions::merge(&old.conditions, &desired, pm.metadata.generation, now),
        ..old
    }
}
