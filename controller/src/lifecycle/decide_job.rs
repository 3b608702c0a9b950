//! Following the reprotect job: running, stuck in a state ASR does not document, or failed (and whether it may be retried).

use super::decide::{AGENT_POLL_CAP, BLOCKED_RECHECK, Decision, JOB_POLL, decision};
use super::decide_input::{Input, TrackedJob};
use crate::crd::Phase;
use crate::reasons;
use jiff::{SignedDuration, Timestamp};
use reprotect_facts::{AsrErrorClass, ProtectedItemFacts, classify_job_error, classify_job_errors};

/// A failed job is retried only once the user changed the spec (new generation).
fn job_superseded_by_spec_change(input: &Input<'_>, job: &TrackedJob<'_>) -> bool {
    matches!((job.generation, input.generation), (Some(submitted), Some(current)) if current > submitted)
}

/// How long a job may stay in a state ASR does not document before a person is asked to look.
const UNKNOWN_JOB_STATE_TIMEOUT: SignedDuration = SignedDuration::from_hours(1);
const KNOWN_RUNNING_STATES: &[&str] = &["notstarted", "inprogress", "queued", "cancelling", "restarted", "suspending", "submitted"];

pub(super) fn follow_job(
    input: &Input<'_>,
    item: &ProtectedItemFacts,
    job: &TrackedJob<'_>,
    deadline: Option<Timestamp>,
) -> Option<Decision> {
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
