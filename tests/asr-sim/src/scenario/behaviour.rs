//! Scenario settings that shape how the simulator answers: timings, and which of the answers seen in the wild it gives.

use super::{d_fo_ago, d_job, d_page, d_reg, d_retry, de_duration};
use jiff::SignedDuration;
use serde::Deserialize;

/// How a reprotect against a missing fabric answers (both seen in the wild).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingFabricMode {
    /// 400 `BadRequest` with inner `SubscriptionIdNotRegisteredWithSrs`.
    #[default]
    BadRequest,
    /// 404 `FabricArmEntityMissing`.
    NotFound,
}

/// Timing and behaviour defaults applied to every vault/item unless overridden.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Defaults {
    #[serde(deserialize_with = "de_duration")]
    pub agent_registration_delay: SignedDuration,
    #[serde(deserialize_with = "de_duration")]
    pub job_duration: SignedDuration,
    #[serde(deserialize_with = "de_duration")]
    pub failed_over_ago: SignedDuration,
    pub page_size: usize,
    /// `Retry-After` seconds on the 202 of reProtect (before time scaling).
    pub retry_after_s: u64,
    pub missing_fabric: MissingFabricMode,
    /// Which long-running-operation headers the reProtect 202 carries.
    pub lro_headers: LroHeaders,
    /// What the `Azure-AsyncOperation` URL names.
    pub async_operation_id: AsyncOperationId,
    /// A new job answers 404 (GET and list) for this long after it was created.
    #[serde(deserialize_with = "de_duration")]
    pub job_visible_after: SignedDuration,
    /// After a failback commit, how long the on-premises VM's mobility agent takes to register with the
    /// configuration server again (a forward reprotect before that fails with the agent-not-registered error).
    #[serde(deserialize_with = "de_duration")]
    pub forward_agent_registration_delay: SignedDuration,
    /// Where real ASR's state names are unknown ("inferred" in the spec README), answer with one of
    /// several plausible spellings per item (stable per item name). `false`: always the documented one.
    pub state_variants: bool,
    /// Job errors carry this code in `serviceErrorDetails.code` and the ASR code (e.g. 95226) only in
    /// `providerErrorDetails.errorCode`, as real ASR does for provider failures. `None`: the same code in both.
    pub job_service_code: Option<String>,
}

/// The headers of the reProtect 202. Real traffic carries both (REC-FB, REC-RP); Azure's own
/// example only `Azure-AsyncOperation`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LroHeaders {
    /// `Location` and `Azure-AsyncOperation`.
    Both,
    /// `Location` only.
    Location,
    /// `Azure-AsyncOperation` only (as in Azure's own examples).
    #[serde(alias = "async_operation_only")]
    AsyncOperation,
    /// Both, then `Azure-AsyncOperation` only, then `Location` only, round robin over the
    /// simulator's accepted reProtects (the first answer carries both).
    #[default]
    Rotate,
}

impl LroHeaders {
    /// (with `Location`, with `Azure-AsyncOperation`) for the `n`-th accepted POST (from 0).
    pub fn pick(self, n: u64) -> (bool, bool) {
        match self {
            LroHeaders::Both => (true, true),
            LroHeaders::Location => (true, false),
            LroHeaders::AsyncOperation => (false, true),
            LroHeaders::Rotate => [(true, true), (false, true), (true, false)].get((n % 3) as usize).copied().unwrap_or((true, true)),
        }
    }
}

/// The id at the end of the `Azure-AsyncOperation` URL (`.../replicationOperationStatus/{id}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AsyncOperationId {
    /// The job name, as recorded real traffic shows (REC-FB, REC-RP).
    #[default]
    JobName,
    /// A separate GUID, as in Azure's examples.
    Distinct,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            agent_registration_delay: d_reg(),
            job_duration: d_job(),
            failed_over_ago: d_fo_ago(),
            page_size: d_page(),
            retry_after_s: d_retry(),
            missing_fabric: MissingFabricMode::default(),
            lro_headers: LroHeaders::default(),
            async_operation_id: AsyncOperationId::default(),
            job_visible_after: SignedDuration::ZERO,
            forward_agent_registration_delay: d_reg(),
            state_variants: true,
            job_service_code: None,
        }
    }
}
