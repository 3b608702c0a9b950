//! What ASR reports about a job: its state, task progress and errors.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{ArmId, SharedText};

/// An error entry of a job.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobErrorFacts {
    /// ASR error code, e.g. `95226`: the service code, else the provider's.
    pub code: Option<String>,
    /// `providerErrorDetails.errorCode`, which may be specific (`95226`) behind a generic service code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_code: Option<String>,
    pub message: Option<String>,
    pub possible_causes: Option<String>,
    pub recommended_action: Option<String>,
}

/// How far a job's tasks are: how many of them `Succeeded`, of how many. Only these counts are read (a status's
/// `job.progress`); a vault's job list is cached for minutes, so each job keeps them, not its tasks (issue 13).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskProgress {
    pub succeeded: u32,
    pub total: u32,
}

impl TaskProgress {
    /// The counts of tasks in these states.
    pub fn of<'a>(states: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        states.into_iter().fold(Self::default(), |p, state| Self {
            succeeded: p.succeeded + u32::from(state.is_some_and(|s| s.eq_ignore_ascii_case("Succeeded"))),
            total: p.total + 1,
        })
    }
}

/// An ASR job.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobFacts {
    pub id: ArmId,
    pub name: String,
    pub scenario_name: Option<SharedText>,
    /// `state`: free string (`NotStarted`, `InProgress`, `Succeeded`, `Failed`, `Cancelled`, ...).
    pub state: Option<SharedText>,
    pub state_description: Option<SharedText>,
    pub target_object_id: Option<ArmId>,
    pub target_object_name: Option<String>,
    /// `targetInstanceType`: `ProtectionEntity` (an item) or `RecoveryPlan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_instance_type: Option<SharedText>,
    pub start_time: Option<Timestamp>,
    pub end_time: Option<Timestamp>,
    pub tasks: TaskProgress,
    pub errors: Vec<JobErrorFacts>,
}

/// Whether a job state (a free string in ASR) is one a job ends in.
pub fn job_state_finished(state: Option<&str>) -> bool {
    matches!(state, Some(s) if ["succeeded", "failed", "cancelled", "completedwithinformation", "skipped"].contains(&s.to_ascii_lowercase().as_str()))
}

impl JobFacts {
    pub fn is_finished(&self) -> bool {
        job_state_finished(self.state.as_deref())
    }
    pub fn succeeded(&self) -> bool {
        matches!(self.state.as_deref(), Some(s) if s.eq_ignore_ascii_case("Succeeded") || s.eq_ignore_ascii_case("CompletedWithInformation"))
    }
    /// Finished tasks / all tasks.
    pub fn progress(&self) -> (usize, usize) {
        (self.tasks.succeeded as usize, self.tasks.total as usize)
    }
}
