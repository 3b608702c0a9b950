//! Folding what the reconciler's action found (submitted, adopted, refused, already protected) into the decision.

use super::decide::{Decision, JOB_POLL, SOON};
use crate::conditions::{KState, kstatus};
use crate::crd::Phase;
use crate::reasons;
use jiff::Timestamp;
use reprotect_facts::{JobErrorFacts, JobFacts, JobRef};
use std::time::Duration;

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
