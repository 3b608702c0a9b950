//! Act step of the ProtectedMachine pipeline: carry out the one action `decide` chose, with the re-read that keeps a reprotect from ever being sent twice.

use super::observe::{is_history, is_reprotect_scenario};
use crate::context::SubmittedJobs;
use crate::crd::JobStatus;
use crate::error::Error;
use crate::lifecycle::{Acted, Action};
use crate::metrics::Metrics;
use crate::reconcile::{Connection, Note};
use jiff::Timestamp;
use reprotect_facts::{AsrErrorClass, JobErrorFacts, JobFacts, ProtectedItemFacts, ReprotectRequest, SiteRecoveryError, arm_name};

/// What acting needs besides the action.
pub struct ActContext<'a> {
    pub conn: &'a Connection,
    pub submitted: &'a SubmittedJobs,
    pub metrics: &'a Metrics,
    /// The item `decide` judged (a reprotect is only chosen for an observed item).
    pub item: Option<&'a ProtectedItemFacts>,
    /// Checked right before each write: only a replica whose lease is known valid acts.
    pub leader: &'a crate::leader::LeaderGuard,
    /// The job the machine already knows (a failed one being retried): never adopted again.
    pub known: Option<&'a JobStatus>,
}

/// Carry out `action` (if any) and say what happened, with the event to publish.
pub async fn act(cx: &ActContext<'_>, action: Option<Action>, now: Timestamp) -> (Result<Acted, Error>, Option<Note>) {
    let Some(action) = action else { return (Ok(Acted::Done), None) };
    let kind = action.kind();
    if cx.leader.ensure_valid().is_err() {
        tracing::warn!(action = kind, "lease not known valid; action not sent");
        return (Err(Error::NotLeader), None);
    }
    let vc = &cx.conn.vcenter;
    let outcome = match action {
        Action::EnableDiskUuid(vm) => vc.enable_disk_uuid(&vm).await.map(|_| Acted::Done).map_err(Error::from),
        Action::PowerOff(vm) => vc.power_off(&vm).await.map(|_| Acted::Done).map_err(Error::from),
        Action::Reprotect(request) => reprotect(cx, request, now).await,
    };
    cx.metrics.action(kind, outcome.is_ok());
    let (reason, message) = match &outcome {
        Ok(Acted::Adopted(j)) => ("ReprotectAdopted", format!("adopted existing reprotect job {} instead of submitting another", j.name)),
        Ok(Acted::Submitted { job, .. }) => ("ReprotectStarted", format!("submitted reprotect; ASR job {}", job.job_name)),
        Ok(Acted::AlreadyProtected) => {
            ("AlreadyProtected", "Azure already reports the item protected in reverse; nothing submitted".into())
        }
        Ok(Acted::Rejected(e)) => (
            "ReprotectRejected",
            format!("ASR rejected the reprotect: {} {}", e.code.as_deref().unwrap_or("unknown"), e.message.as_deref().unwrap_or("")),
        ),
        Ok(Acted::Done) => (done_reason(kind), format!("{kind} done")),
        Err(e) => ("ActionFailed", format!("{kind} failed: {e}")),
    };
    let warning = matches!(outcome, Err(_) | Ok(Acted::Rejected(_)));
    let note = Note { warning, reason: reason.into(), action: kind.into(), message };
    (outcome, Some(note))
}

fn done_reason(kind: &str) -> &'static str {
    match kind {
        "power-off" => "PoweredOff",
        "enable-disk-uuid" => "DiskUuidEnabled",
        _ => "ActionDone",
    }
}

/// Before posting, look at Azure directly (not the shared cache) for a job this or a previous
/// instance already started: never a second reprotect for an item.
async fn reprotect(cx: &ActContext<'_>, request: ReprotectRequest, now: Timestamp) -> Result<Acted, Error> {
    let Some(item) = cx.item else {
        return Err(Error::InvalidSpec("reprotect chosen without an observed item".into()));
    };
    let (sr, vault) = (&cx.conn.site_recovery, &cx.conn.vault);
    let fresh = sr.get_protected_item(vault, &item.name).await?;
    if fresh.is_protected_in_reverse() {
        return Ok(Acted::AlreadyProtected);
    }
    if let Some(scenario) = fresh.current_scenario.as_ref().filter(|s| is_reprotect_scenario(s.scenario_name.as_deref()))
        && let Some(job_id) = &scenario.job_id
    {
        let job = match sr.get_job(vault, arm_name(job_id)).await {
            Ok(job) => job,
            // ASR lists a job a few seconds after the item names it (a POST whose answer was lost, read at
            // once): the item's word that a reprotect runs is enough to follow it, never to send another.
            // Stamped now, so the passes that follow give it the usual grace to appear (`JOB_APPEAR_GRACE`).
            Err(e) if e.class() == AsrErrorClass::NotFound => JobFacts {
                name: arm_name(job_id).to_string(),
                state: Some("InProgress".into()),
                start_time: Some(now),
                ..Default::default()
            },
            Err(e) => return Err(e.into()),
        };
        if !failed(&job) {
            return Ok(Acted::Adopted(job));
        }
    }
    // Every reprotect job since the latest failover, failed ones included: a POST whose answer was
    // lost still created a job, and that job (whatever its outcome) is this machine's attempt.
    let jobs = sr.list_jobs_for(vault, &fresh.id.text()).await?;
    let known_since = cx.known.and_then(|k| k.submitted_at.as_ref().map(|t| t.0));
    let is_known = |j: &JobFacts| cx.known.is_some_and(|k| k.name.eq_ignore_ascii_case(&j.name));
    let latest = jobs
        .into_iter()
        .filter(|j| is_reprotect_scenario(j.scenario_name.as_deref()) && !is_history(j.start_time, Some(&fresh)))
        .filter(|j| !(is_known(j) || (failed(j) && j.start_time.zip(known_since).is_some_and(|(start, since)| start <= since))))
        .max_by_key(|j| j.start_time);
    if let Some(job) = latest {
        return Ok(Acted::Adopted(job));
    }
    match sr.reprotect(vault, &request).await {
        Ok(job) => {
            cx.submitted.insert(&item.id, job.clone(), now);
            tracing::info!(item = %item.name, job = %job.job_name, "reprotect submitted");
            Ok(Acted::Submitted { job, at: now })
        }
        // A refusal that is not transient is remembered like a failed job of the same class, so
        // it is retried only when that class allows (never every few minutes).
        Err(SiteRecoveryError::Service(e))
            if matches!(SiteRecoveryError::Service(e.clone()).class(), AsrErrorClass::Blocking | AsrErrorClass::AgentNotRegistered) =>
        {
            Ok(Acted::Rejected(JobErrorFacts {
                code: Some(e.code.clone()),
                provider_code: e.inner_code.clone(),
                message: Some(e.message.clone()),
                possible_causes: e.possible_causes.clone(),
                recommended_action: e.recommended_action.clone(),
            }))
        }
        Err(e) => Err(e.into()),
    }
}

/// A failed or cancelled job may be retried; only running and succeeded jobs are adopted.
fn failed(job: &JobFacts) -> bool {
    job.is_finished() && !job.succeeded()
}
