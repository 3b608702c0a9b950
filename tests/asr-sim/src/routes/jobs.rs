//! Jobs (list with a tolerant `$filter`, get) and the Azure-AsyncOperation status resource.
//!
//! The filter is what Azure PowerShell sends (`Utilities.ToQueryString` of a `JobQueryParameter`):
//! `StartTime eq '2026-11-29T17:00:00.0000000Z' and ( JobStatus eq 'InProgress' or … )`. `StartTime` and
//! `EndTime` are bounds on the job's start, whatever the `eq` says (`Get-AzRecoveryServicesAsrJob`: "gets all
//! jobs that started after / before the specified time"); a time that is not one is refused with 400.

use super::{Ctx, asr_error_response, json_response};
use crate::json_items;
use crate::state::{Job, JobState, Vault};
use crate::validate::AsrError;
use axum::response::Response;
use serde_json::json;

/// Parse `a eq 'x' and b eq 'y'` into pairs; other clauses are ignored (tolerated).
pub fn parse_filter(f: &str) -> Vec<(String, String)> {
    let lower = f.to_ascii_lowercase();
    let mut out = vec![];
    let mut start = 0;
    let mut parts = vec![];
    while let Some(p) = lower[start..].find(" and ") {
        parts.push(&f[start..start + p]);
        start += p + 5;
    }
    parts.push(&f[start..]);
    for p in parts {
        let pl = p.to_ascii_lowercase();
        if let Some(i) = pl.find(" eq ") {
            let k = p[..i].trim().trim_matches(|c| c == '(' || c == ')').to_string();
            let v = p[i + 4..].trim().trim_matches(|c| c == '(' || c == ')').trim().trim_matches('\'').to_string();
            out.push((k, v));
        }
    }
    out
}

/// The filter's `StartTime` / `EndTime` bounds, or the refusal of one that is no time.
fn start_bounds(filter: &[(String, String)]) -> Result<(Option<jiff::Timestamp>, Option<jiff::Timestamp>), AsrError> {
    let mut bounds = (None, None);
    for (k, val) in filter {
        let slot = match k.to_ascii_lowercase().as_str() {
            "starttime" => &mut bounds.0,
            "endtime" => &mut bounds.1,
            _ => continue,
        };
        *slot = Some(val.parse::<jiff::Timestamp>().map_err(|_| {
            AsrError::bad(
                "InvalidJobQueryParameter",
                format!("The value '{val}' of the job query parameter '{k}' is not a valid time."),
                "The time is not in ISO 8601 format.",
                "Give the time in UTC, in ISO 8601 format, and retry.",
            )
        })?);
    }
    Ok(bounds)
}

/// Does the job satisfy the filter clauses it understands?
pub fn job_matches(v: &Vault, j: &Job, filter: &[(String, String)]) -> bool {
    filter.iter().all(|(k, val)| match k.to_ascii_lowercase().as_str() {
        // Bounds on the start, applied by `list` (`start_bounds`).
        "starttime" | "endtime" => true,
        "targetobjectid" => {
            j.item.eq_ignore_ascii_case(val)
                || match &j.plan {
                    Some(p) => crate::plans::plan_id(v, p).eq_ignore_ascii_case(val),
                    None => crate::json::item_id(v, &j.fabric, &j.container, &j.item).eq_ignore_ascii_case(val),
                }
        }
        "targetobjectname" => j.item_friendly.eq_ignore_ascii_case(val),
        "scenarioname" | "operation" => j.kind.scenario().eq_ignore_ascii_case(val) || j.kind.friendly().eq_ignore_ascii_case(val),
        "state" | "jobstatus" | "status" => j.state.as_str().eq_ignore_ascii_case(val),
        _ => true,
    })
}

pub fn list(c: &Ctx<'_>, vi: usize) -> Response {
    let now = c.sh.clock.now();
    let filter = c.query("$filter").map(|f| parse_filter(&f)).unwrap_or_default();
    let (after, before) = match start_bounds(&filter) {
        Ok(bounds) => bounds,
        Err(e) => return asr_error_response(&e, c.headers),
    };
    let (vals, ps) = c.sh.read_world(|w| {
        let v = &w.vaults[vi];
        // Newest first, as ASR lists jobs.
        (
            v.visible_jobs(now, w.defaults.job_visible_after)
                .rev()
                .filter(|j| after.is_none_or(|t| j.start >= t) && before.is_none_or(|t| j.start <= t))
                .filter(|j| job_matches(v, j, &filter))
                .map(|j| json_items::job(v, j, now))
                .collect(),
            w.defaults.page_size,
        )
    });
    c.paged(vals, ps)
}

pub fn get(c: &Ctx<'_>, vi: usize, name: &str) -> Response {
    let now = c.sh.clock.now();
    c.sh.read_world(|w| {
        let v = &w.vaults[vi];
        match v.visible_jobs(now, w.defaults.job_visible_after).find(|j| j.name.eq_ignore_ascii_case(name)) {
            Some(j) => json_response(200, json_items::job(v, j, now)),
            None => asr_error_response(&AsrError::not_found("Job", name), c.headers),
        }
    })
}

/// `replicationOperationStatus/{id}`: the Azure-AsyncOperation resource.
pub fn operation_status(c: &Ctx<'_>, vi: usize, op: &str) -> Response {
    let now = c.sh.clock.now();
    c.sh.read_world(|w| {
        let v = &w.vaults[vi];
        let Some(j) = v.visible_jobs(now, w.defaults.job_visible_after).find(|j| j.operation_id.eq_ignore_ascii_case(op)) else {
            return asr_error_response(&AsrError::not_found("Operation", op), c.headers);
        };
        let status = match j.state {
            JobState::InProgress => "InProgress",
            JobState::Succeeded => "Succeeded",
            JobState::Failed => "Failed",
        };
        let mut b = json!({
            "id": format!("{}/replicationOperationStatus/{}", crate::json::vault_id(v), j.operation_id), "name": j.operation_id,
            "status": status, "startTime": crate::json::ts(j.start), "endTime": j.end.map(crate::json::ts),
        });
        if let Some(e) = &j.error {
            b["error"] = json!({"code": e.inner_code, "message": e.message});
        }
        json_response(200, b)
    })
}
