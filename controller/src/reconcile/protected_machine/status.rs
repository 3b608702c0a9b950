//! Status step of the ProtectedMachine pipeline (pure): the new status from the decision, keeping what must survive across passes.

use crate::conditions::{self, ConditionSpec, KState};
use crate::crd::{
    CheckEntry, CheckIdList, CheckStatus, JobStatus, Phase, ProtectedMachine, ProtectedMachineStatus, SharedText, condition_types,
};
use crate::lifecycle::{Acted, Decision};
use crate::preflight::{CheckResult, PreflightReason, Status as CheckOutcome, summarize};
use crate::reasons;
use crate::reconcile::problem_conditions;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use reprotect_facts::{ArmId, job_state_finished};

use super::observe::TrackedJob;

/// The checks as status records them: those that did not pass with their evidence and remedy, the ids of those that
/// passed, and `passed/total` (e.g. `42/46`; `None` before any check ran).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordedChecks {
    pub checks: Vec<CheckStatus>,
    pub passed_check_ids: CheckIdList,
    pub checks_passed: Option<SharedText>,
}

impl RecordedChecks {
    /// This pass's results, or (when no check ran) what the status recorded before.
    pub fn of(results: &[CheckResult], old: &ProtectedMachineStatus) -> Self {
        if results.is_empty() {
            return RecordedChecks {
                checks: old.checks.clone(),
                passed_check_ids: old.passed_check_ids.clone(),
                checks_passed: old.checks_passed.clone(),
            };
        }
        let passed = |r: &&CheckResult| r.status == CheckOutcome::Pass;
        let passed_check_ids: CheckIdList = results.iter().filter(passed).map(|r| SharedText::from(r.id.as_ref())).collect();
        let checks = results.iter().filter(|r| !passed(r)).map(check_status).collect();
        let checks_passed = Some(SharedText::from(format!("{}/{}", passed_check_ids.len(), results.len())));
        RecordedChecks { checks, passed_check_ids, checks_passed }
    }
}

/// Every result with its evidence (a MasterTarget's status lists all of its few checks).
pub fn checks(results: &[CheckResult]) -> Vec<CheckStatus> {
    results.iter().map(check_status).collect()
}

fn check_status(r: &CheckResult) -> CheckStatus {
    CheckStatus::from(CheckEntry {
        id: r.id.to_string().into(),
        severity: r.severity.as_str().into(),
        status: r.status.as_str().into(),
        message: r.message.clone().into(),
        remedy: r.remedy.to_string().into(),
    })
}

pub fn preflight_condition(results: &[CheckResult]) -> ConditionSpec {
    let summary = summarize(results);
    let reason = match summary.reason {
        PreflightReason::PreflightPassed => reasons::PREFLIGHT_PASSED,
        PreflightReason::PreflightFailed => reasons::PREFLIGHT_FAILED,
        PreflightReason::PreflightIncomplete => reasons::PREFLIGHT_INCOMPLETE,
    };
    ConditionSpec::new(condition_types::PREFLIGHT_PASSED, summary.passed, reason, summary.message)
}

/// Everything the status builder needs besides the decision.
pub struct StatusInputs<'a> {
    pub pm: &'a ProtectedMachine,
    pub decision: &'a Decision,
    pub results: &'a [CheckResult],
    pub master_target: &'a str,
    pub item_id: Option<ArmId>,
    /// The failed-over Azure VM's ARM id, when the item reports it (`InMageAzureV2` only).
    pub azure_vm_id: Option<ArmId>,
    /// The job followed during this pass (before the action).
    pub tracked: Option<&'a TrackedJob>,
    pub acted: &'a Acted,
    /// The master target's datastores now, recorded when a reprotect starts (submitted or adopted).
    pub master_target_datastores: Option<Vec<String>>,
    pub now: Timestamp,
}

/// The job to record: what the action started or adopted, else the followed job with its
/// latest state and progress (so `status.job.state` never stays `Submitted`).
fn job(input: &StatusInputs<'_>) -> Option<JobStatus> {
    let generation = input.pm.metadata.generation;
    let attempt = input.tracked.map_or(0, |t| t.status.attempt).saturating_add(1);
    let submitted = |name: String, state: Option<SharedText>, at: Option<Time>, adopted: bool| JobStatus {
        name,
        state,
        progress: None,
        submitted_at: at,
        adopted,
        generation,
        attempt,
        error_code: None,
        error: None,
    };
    match input.acted {
        Acted::Submitted { job, at } => return Some(submitted(job.job_name.clone(), Some("Submitted".into()), Some(Time(*at)), false)),
        Acted::Adopted(j) => {
            let mut status = submitted(j.name.clone(), j.state.clone(), j.start_time.map(Time), true);
            status.progress = progress(j);
            (status.error_code, status.error) = first_error(j);
            return Some(status);
        }
        Acted::Rejected(e) => {
            let mut status = submitted(REJECTED_JOB.into(), Some(REJECTED_STATE.into()), Some(Time(input.now)), false);
            (status.error_code, status.error) = error_texts(e);
            return Some(status);
        }
        Acted::Done | Acted::AlreadyProtected => {}
    }
    let tracked = input.tracked?;
    let mut status = tracked.status.clone();
    if let Some(facts) = tracked.facts.as_ref().filter(|_| status.name != REJECTED_JOB) {
        status.state = facts.state.clone().or(status.state);
        status.progress = progress(facts).or(status.progress);
        if facts.is_finished() && !facts.succeeded() {
            (status.error_code, status.error) = first_error(facts);
        }
    } else if input.decision.phase == Phase::Protected && status.name != REJECTED_JOB {
        // The item shows the job's effect, so the job itself is not read again (one GET less per machine):
        // record the outcome the item shows, or a job that ended between two passes stays `Submitted`.
        if !job_state_finished(status.state.as_deref()) {
            status.state = Some("Succeeded".into());
            status.progress = None;
        }
    }
    Some(status)
}

/// Name and state recorded for a submission ASR refused outright (there is no job to read).
pub const REJECTED_JOB: &str = "reprotect-rejected";
pub const REJECTED_STATE: &str = "Rejected";

/// The code and message of a job's first error (of a failed job) as `status.job` records them.
pub(super) fn first_error(job: &reprotect_facts::JobFacts) -> (Option<SharedText>, Option<SharedText>) {
    job.errors.first().map(error_texts).unwrap_or_default()
}

/// An ASR error's code and message as `status.job` records them: interned, as the machines whose jobs failed alike
/// repeat them.
pub(super) fn error_texts(e: &reprotect_facts::JobErrorFacts) -> (Option<SharedText>, Option<SharedText>) {
    (e.code.as_deref().map(Into::into), e.message.as_deref().map(Into::into))
}

/// `3/5`: the same few texts for all machines, interned like the job's state.
pub(super) fn progress(job: &reprotect_facts::JobFacts) -> Option<SharedText> {
    let (done, total) = job.progress();
    (total > 0).then(|| format!("{done}/{total}").into())
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
    let started = matches!(input.acted, Acted::Submitted { .. } | Acted::Adopted(_));
    let recorded = match (started, input.master_target_datastores.clone()) {
        (true, Some(datastores)) => datastores.into(),
        _ => old.recorded_master_target_datastores.clone(),
    };
    let requeue = jiff::SignedDuration::try_from(input.decision.requeue_after).unwrap_or_default();
    let job = job(&input);
    let RecordedChecks { checks, passed_check_ids, checks_passed } = RecordedChecks::of(input.results, &old);
    let mut status = ProtectedMachineStatus {
        observed_generation: input.pm.metadata.generation,
        phase: input.decision.phase,
        conditions: conditions::merge(&old.conditions, &desired, input.pm.metadata.generation, input.now),
        master_target: Some(SharedText::from(input.master_target)),
        protected_item_id: input.item_id.or(old.protected_item_id.clone()),
        checks,
        passed_check_ids,
        checks_passed,
        job,
        agent_window_deadline: input.decision.agent_window_deadline.map(Time),
        next_check_at: old.next_check_at.clone(),
        planned_actions: input.decision.planned_actions.clone(),
        recorded_master_target_datastores: recorded,
        protected_at,
        azure_vm_id: input.azure_vm_id.clone().or(old.azure_vm_id.clone()),
        // The way home's record survives the reprotect lifecycle (its completed approval above all); `status.job`
        // is the reprotect's job here, so no failback step is attached to it.
        failback: old
            .failback
            .clone()
            .map(|f| Box::new(crate::crd::FailbackStatus { step: None, ready_approval: None, ready_for: None, ..*f })),
    };
    // `nextCheckAt` moves on every pass; it is refreshed only when something else changed, so an
    // unchanged machine costs no status write.
    if !crate::reconcile::same_on_the_wire(&status, &old) {
        status.next_check_at = input.now.checked_add(requeue).ok().map(Time);
    }
    status
}

/// Status for a machine that cannot be evaluated (missing policy or master target, unusable connection).
pub fn stalled(pm: &ProtectedMachine, reason: &str, message: &str, now: Timestamp) -> ProtectedMachineStatus {
    with_problem(pm, KState::Stalled, reason, message, now)
}

/// Status for a machine that cannot be evaluated now: Stalled (blocked until something changes), or Reconciling
/// while a transient failure persists (its phase stays what it was).
pub fn with_problem(pm: &ProtectedMachine, state: KState, reason: &str, message: &str, now: Timestamp) -> ProtectedMachineStatus {
    let old = pm.status.clone().unwrap_or_default();
    let phase = match state {
        // A protected machine stays protected (in either direction) while it cannot be looked at.
        KState::Stalled if !matches!(old.phase, Phase::Protected | Phase::ProtectedToAzure) => Phase::Blocked,
        _ => old.phase,
    };
    ProtectedMachineStatus {
        observed_generation: pm.metadata.generation,
        phase,
        conditions: conditions::merge(&old.conditions, &problem_conditions(state, reason, message), pm.metadata.generation, now),
        ..old
    }
}
