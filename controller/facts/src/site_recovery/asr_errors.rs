//! Errors of a Site Recovery client and how the controller classifies them (retry, wait for the agent, give up).

use serde::{Deserialize, Serialize};

use super::job_facts::JobErrorFacts;

/// How the controller should react to an ASR error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AsrErrorClass {
    /// Throttling, 5xx, connection faults: retry with backoff.
    Transient,
    /// The mobility agent has not registered yet (95226, 78093, "agent not installed").
    AgentNotRegistered,
    /// Authentication or authorisation: the user must fix credentials.
    Credentials,
    /// A prerequisite is missing or an input is invalid: wait for a fix.
    Blocking,
    /// The resource does not exist.
    NotFound,
}

/// An ASR/ARM error with what the service said.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("{operation}: HTTP {status} {code}{}: {message}", inner_code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
pub struct AsrServiceError {
    pub operation: String,
    pub status: u16,
    pub code: String,
    pub inner_code: Option<String>,
    pub message: String,
    pub possible_causes: Option<String>,
    pub recommended_action: Option<String>,
}

/// Errors from the Site Recovery client.
#[derive(Debug, thiserror::Error)]
pub enum SiteRecoveryError {
    #[error("Azure authentication failed: {0}")]
    Auth(String),
    #[error(transparent)]
    Service(#[from] AsrServiceError),
    #[error("cannot reach Azure Resource Manager ({operation}): {message}")]
    Transport { operation: String, message: String },
    #[error("unexpected response from {operation}: {message}")]
    Decode { operation: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// ASR error codes that mean "the mobility agent has not registered back yet".
pub const AGENT_NOT_REGISTERED_CODES: &[&str] = &["95226", "78093"];

impl SiteRecoveryError {
    /// Stable label for metrics and events.
    pub fn category(&self) -> &'static str {
        match self.class() {
            AsrErrorClass::Transient => "asr-transient",
            AsrErrorClass::AgentNotRegistered => "asr-agent-not-registered",
            AsrErrorClass::Credentials => "asr-credentials",
            AsrErrorClass::Blocking => "asr-blocking",
            AsrErrorClass::NotFound => "asr-not-found",
        }
    }

    pub fn class(&self) -> AsrErrorClass {
        match self {
            SiteRecoveryError::Auth(_) => AsrErrorClass::Credentials,
            SiteRecoveryError::Transport { .. } | SiteRecoveryError::Decode { .. } => AsrErrorClass::Transient,
            SiteRecoveryError::Invalid(_) => AsrErrorClass::Blocking,
            SiteRecoveryError::Service(e) => classify_service_error(e),
        }
    }
}

fn classify_service_error(e: &AsrServiceError) -> AsrErrorClass {
    let codes = [Some(e.code.as_str()), e.inner_code.as_deref()];
    if codes.iter().flatten().any(|c| AGENT_NOT_REGISTERED_CODES.contains(c)) {
        return AsrErrorClass::AgentNotRegistered;
    }
    match e.status {
        401 | 403 => AsrErrorClass::Credentials,
        404 => AsrErrorClass::NotFound,
        408 | 429 | 500..=599 => AsrErrorClass::Transient,
        400 if codes.iter().flatten().any(|c| *c == "FabricArmEntityMissing" || *c == "SubscriptionIdNotRegisteredWithSrs") => {
            AsrErrorClass::NotFound
        }
        _ => AsrErrorClass::Blocking,
    }
}

/// Classify one job error from every code it carries (service and provider) and its message.
pub fn classify_job_error(err: &JobErrorFacts) -> AsrErrorClass {
    let codes = [err.code.as_deref(), err.provider_code.as_deref()];
    let msg = err.message.as_deref().unwrap_or_default().to_ascii_lowercase();
    if codes.into_iter().flatten().any(|c| AGENT_NOT_REGISTERED_CODES.contains(&c.trim()))
        || msg.contains("agent is not installed")
        || msg.contains("agent not installed")
    {
        AsrErrorClass::AgentNotRegistered
    } else {
        AsrErrorClass::Blocking
    }
}

/// Classify a failed job from all its errors: agent-not-registered when any error says so (a retry after the agent
/// registers may then succeed), else blocking.
pub fn classify_job_errors(errors: &[JobErrorFacts]) -> AsrErrorClass {
    if errors.iter().any(|e| classify_job_error(e) == AsrErrorClass::AgentNotRegistered) {
        AsrErrorClass::AgentNotRegistered
    } else {
        AsrErrorClass::Blocking
    }
}
