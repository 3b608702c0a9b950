//! Rendering results: an aligned text table for the CLI and logs, and the summary behind the `PreflightPassed` condition.

use super::{CheckResult, Severity, Status, blocks_reprotect};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Reason of the `PreflightPassed` condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum PreflightReason {
    /// No blocking check failed or is unknown.
    PreflightPassed,
    /// At least one blocking check failed.
    PreflightFailed,
    /// Nothing blocking failed, but at least one blocking check could not be verified.
    PreflightIncomplete,
}

impl PreflightReason {
    pub fn as_str(self) -> &'static str {
        match self {
            PreflightReason::PreflightPassed => "PreflightPassed",
            PreflightReason::PreflightFailed => "PreflightFailed",
            PreflightReason::PreflightIncomplete => "PreflightIncomplete",
        }
    }
}

impl fmt::Display for PreflightReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the `PreflightPassed` condition should say.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Condition status: no blocking result.
    pub passed: bool,
    pub reason: PreflightReason,
    /// `failing: a, b; unknown: c; first remedy: ...` or, when passed, the count and the warnings.
    pub message: String,
}

/// Summarise results for the `PreflightPassed` condition.
pub fn summarize(results: &[CheckResult]) -> Summary {
    let ids = |pred: &dyn Fn(&CheckResult) -> bool| results.iter().filter(|r| pred(r)).map(|r| r.id.as_ref()).collect::<Vec<_>>();
    let failing = ids(&|r| r.severity == Severity::Blocking && r.status == Status::Fail);
    let unknown = ids(&|r| r.severity == Severity::Blocking && r.status == Status::Unknown);
    if blocks_reprotect(results) {
        let reason = if failing.is_empty() { PreflightReason::PreflightIncomplete } else { PreflightReason::PreflightFailed };
        let mut parts = Vec::new();
        if !failing.is_empty() {
            parts.push(format!("failing: {}", failing.join(", ")));
        }
        if !unknown.is_empty() {
            parts.push(format!("unknown: {}", unknown.join(", ")));
        }
        // The first failure is the most useful to fix first (results are in dependency order); else the first unknown.
        let first =
            results.iter().find(|r| r.is_blocking() && r.status == Status::Fail).or_else(|| results.iter().find(|r| r.is_blocking()));
        if let Some(r) = first {
            parts.push(format!("{}: {}", r.id, r.message));
            if !r.remedy.is_empty() {
                parts.push(format!("remedy: {}", r.remedy));
            }
        }
        return Summary { passed: false, reason, message: parts.join("; ") };
    }
    let warnings = ids(&|r| r.severity == Severity::Warning && r.status != Status::Pass);
    let passed = results.iter().filter(|r| r.status == Status::Pass).count();
    let mut message = format!("{passed} of {} checks passed, none blocking", results.len());
    if !warnings.is_empty() {
        message.push_str(&format!("; warnings: {}", warnings.join(", ")));
    }
    Summary { passed: true, reason: PreflightReason::PreflightPassed, message }
}

/// An aligned text table `STATUS  SEVERITY  CHECK  MESSAGE`, with the remedy indented under each result that is not `Pass`.
pub fn render_table(results: &[CheckResult]) -> String {
    let id_w = results.iter().map(|r| r.id.len()).max().unwrap_or(0).max("CHECK".len());
    let (st_w, sev_w) = ("UNKNOWN".len(), "SEVERITY".len());
    let mut out = format!("{:<st_w$}  {:<sev_w$}  {:<id_w$}  MESSAGE\n", "STATUS", "SEVERITY", "CHECK");
    for r in results {
        let status = r.status.as_str().to_ascii_uppercase();
        out.push_str(&format!("{status:<st_w$}  {:<sev_w$}  {:<id_w$}  {}\n", r.severity.as_str(), r.id, r.message));
        if r.status != Status::Pass && !r.remedy.is_empty() {
            let indent = st_w + sev_w + id_w + 6;
            out.push_str(&format!("{:indent$}remedy: {}\n", "", r.remedy));
        }
    }
    out
}
