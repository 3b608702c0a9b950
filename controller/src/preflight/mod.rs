//! Preflight: pure prerequisite rules for an ASR reprotect (Azure to on-premises VMware).
//!
//! [`evaluate`] takes the desired spec ([`Desired`]), a possibly partial observation
//! ([`Observed`]) and `now`, and returns one [`CheckResult`] per rule, always in catalog order.
//! Nothing here does I/O or reads a clock: the reconciler observes, converts its CRD into
//! [`Desired`] and feeds the results into status and the `PreflightPassed` condition.
//!
//! A rule whose data is missing reports [`Status::Unknown`] (saying what is missing), never
//! `Pass`; a `Blocking` result that is not `Pass` prevents reprotect ([`blocks_reprotect`]).

mod catalog;
mod context;
mod coverage;
mod ids;
mod input;
mod render;
mod request;
mod rules;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

pub use catalog::{catalog, catalog_json, catalog_table, troubleshooting_markdown};
pub use coverage::SOURCE_COVERAGE;
pub use ids::{RuleId, RuleInfo, Subject};
pub use input::{
    Desired, DesiredFailback, DesiredMasterTarget, FailbackPolicyExpectation, GroupItem, GroupMember, NetworkKind, Observed,
    OnPremisesTarget, OsType, ProcessServerLocation, effective_retention_volume,
};
pub use render::{PreflightReason, Summary, render_table, summarize};
pub use reprotect_facts::{AmbiguousItem, match_item};
pub use request::{UnknownRunAsAccount, chosen_failback_policy, datastore_as_listed, retention_drive_as_listed, run_as_account_id};

/// How much a failing check matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub enum Severity {
    /// Reprotect must not start while this is not `Pass`.
    Blocking,
    /// Worth a look; reprotect may go ahead.
    Warning,
    /// Advice or a note about what reprotect/failback will do.
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Blocking => "Blocking",
            Severity::Warning => "Warning",
            Severity::Info => "Info",
        }
    }
}

/// Outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub enum Status {
    Pass,
    Fail,
    /// The observation lacked what the check needs; the message says what.
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "Pass",
            Status::Fail => "Fail",
            Status::Unknown => "Unknown",
        }
    }
}

/// One evaluated rule, ready for CRD status.
///
/// `id`, `remedy` and `source` are `Cow<'static, str>`: borrowed from the catalog when produced
/// by [`evaluate`] (no allocation), owned after a round trip through the API server, which is
/// why this type is `DeserializeOwned` while still carrying the catalog's static strings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    /// Stable kebab-case rule id, e.g. `mt-no-snapshots`.
    pub id: Cow<'static, str>,
    pub severity: Severity,
    pub status: Status,
    /// One line naming the object and the observed value.
    pub message: String,
    /// What a person can do about it; empty when the check passed.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub remedy: Cow<'static, str>,
    /// Section of the source document the rule comes from.
    pub source: Cow<'static, str>,
    /// The controller can fix this itself (today only `mt-disk-enable-uuid` when allowed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remediable: bool,
}

impl CheckResult {
    /// The typed id (`None` for an id this build does not know, e.g. read back from an older status).
    pub fn rule_id(&self) -> Option<RuleId> {
        RuleId::parse(&self.id)
    }

    /// Whether this is the result of `rule`.
    pub fn is(&self, rule: RuleId) -> bool {
        self.id == rule
    }

    /// What the rule is about (`None` for an unknown id).
    pub fn subject(&self) -> Option<Subject> {
        self.rule_id().map(RuleId::subject)
    }

    /// A `Blocking` result that is not `Pass` (failed or could not be verified).
    pub fn is_blocking(&self) -> bool {
        self.severity == Severity::Blocking && self.status != Status::Pass
    }
}

/// Evaluate every rule, in catalog order. Same input, same output.
pub fn evaluate(desired: &Desired, observed: &Observed, now: Timestamp) -> Vec<CheckResult> {
    let ctx = context::Ctx::new(desired, observed, now);
    rules::ALL.iter().map(|rule| rule.run(&ctx)).collect()
}

/// Whether any result prevents reprotect.
pub fn blocks_reprotect(results: &[CheckResult]) -> bool {
    results.iter().any(CheckResult::is_blocking)
}

/// The results that prevent reprotect, in order.
pub fn blocking(results: &[CheckResult]) -> impl Iterator<Item = &CheckResult> {
    results.iter().filter(|r| r.is_blocking())
}
