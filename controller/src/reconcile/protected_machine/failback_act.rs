//! Act step of the way home: carry out the one failback, commit or forward reprotect `decide` chose, with the same
//! guard as reprotect: the lease checked, the item (or plan) re-read right before the POST, and a job of the step
//! that already runs or ran (a lost answer, a crash after the POST) adopted from `list_jobs_for` instead.

use super::failback::step_of_scenario;
use crate::crd::{FailbackStep, JobStatus};
use crate::error::Error;
use crate::lifecycle::failback::{Acted, Action};
use crate::metrics::Metrics;
use crate::reconcile::{Connection, Note};
use jiff::Timestamp;
use reprotect_facts::{
    AsrErrorClass, CurrentScenarioFacts, FailbackStage, JobErrorFacts, JobFacts, JobRef, ProtectedItemFacts, SiteRecoveryError, arm_name,
};

/// What acting needs besides the action.
pub struct ActContext<'a> {
    pub conn: &'a Connection,
    pub metrics: &'a Metrics,
    pub item: &'a ProtectedItemFacts,
    pub leader: &'a crate::leader::LeaderGuard,
    /// The step's job the machine already knows (a failed one being retried): never adopted again.
    pub known: Option<(&'a JobStatus, FailbackStep)>,
}

/// Carry out `action` (if any) and say what happened, with the event to publish.
pub async fn act(cx: &ActContext<'_>, action: Option<Action>, now: Timestamp) -> (Result<Acted, Error>, Option<Note>) {
    let Some(action) = action else { return (Ok(Acted::Done), None) };
    let kind = action.kind();
    if cx.leader.ensure_valid().is_err() {
        tracing::warn!(action = kind, "lease not known valid; action not sent");
        return (Err(Error::NotLeader), None);
    }
    let outcome = guarded(cx, &action, now).await;
    cx.metrics.action(kind, outcome.is_ok());
    let (reason, message) = match &outcome {
        Ok(Acted::Submitted { job, .. }) => ("FailbackStepStarted", format!("submitted {kind}; ASR job {}", job.job_name)),
        Ok(Acted::Adopted { job, .. }) => {
            ("FailbackStepAdopted", format!("adopted existing {kind} job {} instead of submitting another", job.name))
        }
        Ok(Acted::Moved) => ("FailbackStepAlreadyDone", format!("Azure shows {kind} already done; nothing submitted")),
        Ok(Acted::Rejected { error, .. }) => (
            "FailbackStepRejected",
            format!("ASR rejected {kind}: {} {}", error.code.as_deref().unwrap_or("unknown"), error.message.as_deref().unwrap_or("")),
        ),
        Ok(Acted::Done) => ("ActionDone", format!("{kind} done")),
        Err(e) => ("ActionFailed", format!("{kind} failed: {e}")),
    };
    let warning = matches!(outcome, Err(_) | Ok(Acted::Rejected { .. }));
    (outcome, Some(Note { warning, reason: reason.into(), action: kind.into(), message }))
}

/// The stage an item must still be in for the step to be sent.
fn stage_for(step: FailbackStep) -> FailbackStage {
    match step {
        FailbackStep::FailBack => FailbackStage::ReadyToFailBack,
        FailbackStep::Commit => FailbackStage::CommitPending,
        FailbackStep::ForwardReprotect => FailbackStage::ReadyForForwardReprotect,
    }
}

fn failed(job: &JobFacts) -> bool {
    job.is_finished() && !job.succeeded()
}

/// A job of `step` that runs (current scenario) or ran since `horizon` on `target` and is not the known one.
async fn existing_job(
    cx: &ActContext<'_>,
    step: FailbackStep,
    current: Option<&CurrentScenarioFacts>,
    target: &str,
    horizon: Option<Timestamp>,
) -> Result<Option<JobFacts>, Error> {
    let (sr, vault) = (&cx.conn.site_recovery, &cx.conn.vault);
    if let Some(s) = current.filter(|s| step_of_scenario(s.scenario_name.as_deref()) == Some(step))
        && let Some(job_id) = &s.job_id
    {
        let job = sr.get_job(vault, arm_name(job_id)).await?;
        if !failed(&job) {
            return Ok(Some(job));
        }
    }
    let known = cx.known.filter(|(_, s)| *s == step).map(|(k, _)| k);
    let known_since = known.and_then(|k| k.submitted_at.as_ref().map(|t| t.0));
    let is_known = |j: &JobFacts| known.is_some_and(|k| k.name.eq_ignore_ascii_case(&j.name));
    let jobs = sr.list_jobs_for(vault, target).await?;
    Ok(jobs
        .into_iter()
        .filter(|j| step_of_scenario(j.scenario_name.as_deref()) == Some(step))
        .filter(|j| !matches!((j.start_time, horizon), (Some(at), Some(h)) if at < h))
        .filter(|j| !(is_known(j) || (failed(j) && j.start_time.zip(known_since).is_some_and(|(start, since)| start <= since))))
        .max_by_key(|j| j.start_time))
}

async fn guarded(cx: &ActContext<'_>, action: &Action, now: Timestamp) -> Result<Acted, Error> {
    let (sr, vault) = (&cx.conn.site_recovery, &cx.conn.vault);
    let step = action.step();
    let fresh = sr.get_protected_item(vault, &cx.item.name).await?;
    // Jobs of an earlier round trip started before the item's latest failover: history.
    let horizon = fresh.last_successful_failover_time;
    let adopted = |job: JobFacts| Ok(Acted::Adopted { step, job });
    match action.plan() {
        Some(plan_name) => {
            let plan = sr.get_recovery_plan(vault, plan_name).await?;
            if let Some(job) = existing_job(cx, step, plan.current_scenario.as_ref(), &plan.id, horizon).await? {
                return adopted(job);
            }
            let op = if step == FailbackStep::FailBack { "UnplannedFailover" } else { "Commit" };
            if plan.is_busy() || !plan.allows(op) {
                return Ok(Acted::Moved);
            }
        }
        None => {
            if let Some(job) = existing_job(cx, step, fresh.current_scenario.as_ref(), &fresh.id.text(), horizon).await? {
                return adopted(job);
            }
            if fresh.failback_stage() != stage_for(step) {
                return Ok(Acted::Moved);
            }
        }
    }
    let posted: Result<JobRef, SiteRecoveryError> = match action {
        Action::FailBack(r) => sr.fail_back(vault, r).await,
        Action::FailBackPlan(r) => sr.fail_back_plan(vault, r).await,
        Action::Commit { item_name } => sr.commit_failover(vault, item_name).await,
        Action::CommitPlan { plan_name } => sr.commit_plan_failover(vault, plan_name).await,
        Action::ForwardReprotect(r) => sr.forward_reprotect(vault, r).await,
    };
    match posted {
        Ok(job) => {
            tracing::info!(item = %cx.item.name, job = %job.job_name, action = action.kind(), "failback step submitted");
            Ok(Acted::Submitted { step, job, at: now })
        }
        Err(SiteRecoveryError::Service(e))
            if matches!(SiteRecoveryError::Service(e.clone()).class(), AsrErrorClass::Blocking | AsrErrorClass::AgentNotRegistered) =>
        {
            Ok(Acted::Rejected {
                step,
                error: JobErrorFacts {
                    code: Some(e.code.clone()),
                    provider_code: e.inner_code.clone(),
                    message: Some(e.message.clone()),
                    possible_causes: e.possible_causes.clone(),
                    recommended_action: e.recommended_action.clone(),
                },
            })
        }
        Err(e) => Err(e.into()),
    }
}
