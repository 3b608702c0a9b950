//! Following a way-home step's job: running, succeeded but not yet shown by the item, or failed (and whether it may be retried).

use super::failback::{BLOCKED_RECHECK, Decision, JOB_POLL, WAIT_POLL, decision, running_phase, step_word};
use super::failback_input::{Input, StepJob};
use crate::crd::{FailbackStep, Phase};
use crate::reasons;
use reprotect_facts::{AsrErrorClass, FailbackStage, classify_job_errors};

/// Follow the step's job; `None` when the stage decides (the job succeeded and the item shows it, or a failed
/// job may be retried).
pub(super) fn follow_job(input: &Input<'_>, stage: FailbackStage, job: &StepJob<'_>) -> Option<Decision> {
    let word = step_word(job.step);
    let phase = running_phase(job.step);
    let Some(facts) = job.observed else {
        return Some(decision(
            phase,
            reasons::JOB_SUBMITTED,
            format!("{word} job {} submitted; waiting for it to appear", job.name),
            JOB_POLL,
        ));
    };
    let state = facts.state.as_deref().unwrap_or("Unknown");
    if !facts.is_finished() {
        let (done, total) = facts.progress();
        return Some(decision(phase, reasons::JOB_RUNNING, format!("{word} job {} is {state} ({done}/{total} tasks)", job.name), JOB_POLL));
    }
    if facts.succeeded() {
        // The item list may lag behind the job: never act on a stage the job already left.
        let left = match job.step {
            FailbackStep::FailBack => stage != FailbackStage::ReadyToFailBack,
            FailbackStep::Commit => stage != FailbackStage::CommitPending,
            FailbackStep::ForwardReprotect => stage != FailbackStage::ReadyForForwardReprotect,
        };
        return (!left).then(|| {
            decision(phase, reasons::JOB_RUNNING, format!("{word} job {} succeeded; waiting for the item to show it", job.name), JOB_POLL)
        });
    }
    let first = facts.errors.first().cloned().unwrap_or_default();
    let asr = format!(
        "ASR error {}: {} Possible causes: {} Recommended action: {}",
        first.code.as_deref().unwrap_or("unknown"),
        first.message.as_deref().unwrap_or(""),
        first.possible_causes.as_deref().unwrap_or("not given"),
        first.recommended_action.as_deref().unwrap_or("not given"),
    );
    if job.step == FailbackStep::ForwardReprotect && classify_job_errors(&facts.errors) == AsrErrorClass::AgentNotRegistered {
        if job.attempt >= input.max_attempts.max(1) {
            return Some(decision(
                Phase::Blocked,
                reasons::RETRIES_EXHAUSTED,
                format!(
                    "forward reprotect failed {} time(s) because the on-premises mobility agent was not registered (last: job {}, {asr}); set a new failback.approval to try again",
                    job.attempt, job.name
                ),
                BLOCKED_RECHECK,
            ));
        }
        let failed_at = facts.end_time.or(job.submitted_at);
        let registered_since = matches!((input.item.agent_last_heartbeat, failed_at), (Some(hb), Some(at)) if hb > at);
        if registered_since || input.retry_approved {
            return None;
        }
        return Some(decision(
            Phase::WaitingForForwardAgent,
            reasons::AGENT_NOT_REGISTERED,
            format!(
                "forward reprotect job {} failed because the on-premises mobility agent has not registered yet; retrying once it does ({asr})",
                job.name
            ),
            WAIT_POLL,
        ));
    }
    if input.retry_approved {
        return None;
    }
    Some(decision(
        Phase::Blocked,
        reasons::FAILBACK_STEP_FAILED,
        format!("{word} job {} failed with {asr}; fix the cause and set a new failback.approval to retry", job.name),
        BLOCKED_RECHECK,
    ))
}
