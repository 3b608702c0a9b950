//! Folding what the way home's guarded POST found (submitted, adopted, already moved on, refused) into the decision.

use super::decide::kstate;
use super::failback::{Decision, SOON, running_phase, step_word};
use crate::conditions::kstatus;
use crate::crd::{FailbackStep, Phase};
use crate::reasons;
use jiff::Timestamp;
use reprotect_facts::{JobErrorFacts, JobFacts, JobRef};
use std::time::Duration;

/// What the guarded POST turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acted {
    /// No action.
    Done,
    /// The step was submitted; ASR tracks it with this job.
    Submitted { step: FailbackStep, job: JobRef, at: Timestamp },
    /// A job of this step already ran or runs for the item (or plan): followed instead.
    Adopted { step: FailbackStep, job: JobFacts },
    /// The fresh read shows the item (or plan) past this step: nothing sent, look again.
    Moved,
    /// ASR refused the POST (not transient): remembered like a failed job of the step.
    Rejected { step: FailbackStep, error: JobErrorFacts },
}

/// Fold what the action found into the decision (pure).
pub fn after_act(d: Decision, acted: &Acted) -> Decision {
    let with = |phase: Phase, reason: &str, message: String, requeue_after: Duration, d: Decision| Decision {
        phase,
        conditions: kstatus(kstate(phase), reason, &message),
        action: None,
        requeue_after,
        ..d
    };
    match acted {
        Acted::Done | Acted::Submitted { .. } => d,
        Acted::Adopted { step, job } => {
            let state = job.state.as_deref().unwrap_or("Unknown");
            let message = format!("adopted {} job {} ({state}) instead of submitting another", step_word(*step), job.name);
            with(running_phase(*step), reasons::JOB_ADOPTED, message, SOON, d)
        }
        Acted::Moved => with(d.phase, reasons::JOB_ADOPTED, "Azure shows the step already done; looking again".into(), SOON, d),
        Acted::Rejected { step, error } => {
            let message = format!(
                "ASR rejected the {}: {} {}",
                step_word(*step),
                error.code.as_deref().unwrap_or("unknown"),
                error.message.as_deref().unwrap_or("")
            );
            with(Phase::Validating, reasons::FAILBACK_REJECTED, message, SOON, d)
        }
    }
}
