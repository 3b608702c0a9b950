//! Status step of the way home (pure): `status.job` is the current step's job, `status.failback` the approval
//! carried out, the step, the group's plan and what was confirmed (on-premises VM running, Azure VM removed).

use super::status::{REJECTED_JOB, REJECTED_STATE, RecordedChecks, error_texts, first_error, preflight_condition, progress};
use crate::conditions;
use crate::crd::{FailbackStatus, FailbackStep, JobStatus, Phase, ProtectedMachine, ProtectedMachineStatus, SharedText};
use crate::lifecycle::failback::{Acted, Decision, OnPremisesVm};
use crate::preflight::CheckResult;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use reprotect_facts::{ArmId, FailbackStage, JobFacts};

/// Everything the status builder needs besides the decision.
pub struct Inputs<'a> {
    pub pm: &'a ProtectedMachine,
    pub decision: &'a Decision,
    pub acted: &'a Acted,
    pub results: &'a [CheckResult],
    pub master_target: &'a str,
    pub item_id: ArmId,
    pub stage: FailbackStage,
    pub approval: &'a str,
    /// The step's job followed during this pass.
    pub tracked: Option<&'a (JobStatus, FailbackStep, Option<JobFacts>)>,
    pub plan: Option<String>,
    pub on_premises_vm: &'a OnPremisesVm,
    pub now: Timestamp,
}

/// The step's job to record, and its step.
fn job(input: &Inputs<'_>) -> Option<(JobStatus, FailbackStep)> {
    let generation = input.pm.metadata.generation;
    let previous = input.tracked.map(|(s, step, _)| (s.attempt, *step));
    let attempt = |step: FailbackStep| match previous {
        Some((n, s)) if s == step => n.saturating_add(1),
        _ => 1,
    };
    let new = |step: FailbackStep, name: String, state: Option<SharedText>, at: Option<Time>, adopted: bool| JobStatus {
        name,
        state,
        submitted_at: at,
        adopted,
        generation,
        attempt: attempt(step),
        ..Default::default()
    };
    match input.acted {
        Acted::Submitted { step, job, at } => {
            return Some((new(*step, job.job_name.clone(), Some("Submitted".into()), Some(Time(*at)), false), *step));
        }
        Acted::Adopted { step, job } => {
            let mut s = new(*step, job.name.clone(), job.state.clone(), job.start_time.map(Time), true);
            s.progress = progress(job);
            (s.error_code, s.error) = first_error(job);
            return Some((s, *step));
        }
        Acted::Rejected { step, error } => {
            let mut s = new(*step, REJECTED_JOB.into(), Some(REJECTED_STATE.into()), Some(Time(input.now)), false);
            (s.error_code, s.error) = error_texts(error);
            return Some((s, *step));
        }
        Acted::Done | Acted::Moved => {}
    }
    let (tracked, step, facts) = input.tracked?;
    let mut s = tracked.clone();
    if let Some(facts) = facts.as_ref().filter(|_| s.name != REJECTED_JOB) {
        s.state = facts.state.clone().or(s.state);
        s.progress = progress(facts).or(s.progress);
        if facts.is_finished() && !facts.succeeded() {
            (s.error_code, s.error) = first_error(facts);
        }
    }
    Some((s, *step))
}

/// The full new status on the way home.
pub fn build(input: Inputs<'_>) -> ProtectedMachineStatus {
    let old = input.pm.status.clone().unwrap_or_default();
    let old_fb = old.failback.clone().unwrap_or_default();
    let d = input.decision;
    let mut desired = d.conditions.clone();
    if !input.results.is_empty() {
        desired.push(preflight_condition(input.results));
    }
    let job = job(&input);
    let started = matches!(input.acted, Acted::Submitted { .. } | Acted::Adopted { .. } | Acted::Rejected { .. });
    let new_round = old_fb.approval.as_deref() != Some(input.approval);
    let after_failback =
        matches!(input.stage, FailbackStage::CommitPending | FailbackStage::ReadyForForwardReprotect | FailbackStage::ProtectedToAzure);
    let powered_on = match input.on_premises_vm {
        _ if !after_failback => (!new_round).then_some(old_fb.on_premises_vm_powered_on).flatten(),
        OnPremisesVm::PoweredOn => Some(true),
        OnPremisesVm::NotYet(_) => Some(false),
        OnPremisesVm::NotApplicable => None,
    };
    let record = started || d.completed || !new_round;
    let failback = FailbackStatus {
        approval: if record { Some(input.approval.to_string()) } else { old_fb.approval.clone() },
        completed_approval: if d.completed { Some(input.approval.to_string()) } else { old_fb.completed_approval.clone() },
        ready_approval: d.ready.then(|| input.approval.to_string()),
        ready_for: if d.ready {
            match input.stage {
                FailbackStage::ReadyToFailBack => Some(FailbackStep::FailBack),
                FailbackStage::CommitPending => Some(FailbackStep::Commit),
                _ => None,
            }
        } else {
            None
        },
        step: job.as_ref().map(|(_, step)| *step),
        recovery_plan: input.plan.clone().or(old_fb.recovery_plan.clone()),
        recovery_point_type: Some(input.pm.spec.failback.as_ref().map(|f| f.recovery_point_type).unwrap_or_default()),
        on_premises_vm_powered_on: powered_on,
        azure_vm_removed: d.azure_vm_removed.or(old_fb.azure_vm_removed.filter(|_| !new_round)),
        started_at: match (started && new_round, old_fb.started_at.clone()) {
            (true, _) | (_, None) if started => Some(Time(input.now)),
            (_, at) => at,
        },
        completed_at: match (d.completed, old_fb.completed_at.clone()) {
            (true, Some(at)) if !new_round => Some(at),
            (true, _) => Some(Time(input.now)),
            (false, at) => at,
        },
    };
    let requeue = jiff::SignedDuration::try_from(d.requeue_after).unwrap_or_default();
    let RecordedChecks { checks, passed_check_ids, checks_passed } = RecordedChecks::of(input.results, &old);
    let mut status = ProtectedMachineStatus {
        observed_generation: input.pm.metadata.generation,
        phase: d.phase,
        conditions: conditions::merge(&old.conditions, &desired, input.pm.metadata.generation, input.now),
        master_target: Some(SharedText::from(input.master_target)),
        protected_item_id: Some(input.item_id.clone()),
        checks,
        passed_check_ids,
        checks_passed,
        job: job.map(|(j, _)| j).or(old.job.clone()),
        agent_window_deadline: None,
        next_check_at: old.next_check_at.clone(),
        planned_actions: d.planned_actions.clone(),
        recorded_master_target_datastores: old.recorded_master_target_datastores.clone(),
        protected_at: old.protected_at.clone().filter(|_| d.phase == Phase::Protected),
        azure_vm_id: old.azure_vm_id.clone(),
        failback: Some(Box::new(failback)),
    };
    if !crate::reconcile::same_on_the_wire(&status, &old) {
        status.next_check_at = input.now.checked_add(requeue).ok().map(Time);
    }
    status
}
