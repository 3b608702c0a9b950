//! Item-level failback routes (`unplannedFailover`, `failoverCommit`, `plannedFailover`) and the recovery-plan
//! routes (list, get, `unplannedFailover`, `failoverCommit`, `plannedFailover`).

use super::items::accepted;
use super::{Ctx, asr_error_response, json_response};
use crate::state::{AsrError, Job, World};
use axum::response::Response;
use jiff::Timestamp;
use serde_json::Value;

/// The JSON body, or ASR's `InvalidRequestContent`.
pub fn parse_body(c: &Ctx<'_>, def: &str) -> Result<Value, Response> {
    serde_json::from_slice(&c.body).map_err(|e| {
        let err = AsrError::new(
            400,
            "InvalidRequestContent",
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: '{e}'."),
            "The body is not JSON.",
            format!("Send a {def} JSON body."),
        );
        asr_error_response(&err, c.headers)
    })
}

/// Run a world action that accepts a job; answer 202 (or the ASR error).
fn submit(c: &Ctx<'_>, vi: usize, plan: Option<&str>, act: impl FnOnce(&mut World, Timestamp) -> Result<Job, AsrError>) -> Response {
    let now = c.sh.clock.now();
    let r = {
        let mut w = c.sh.world.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let retry = w.defaults.retry_after_s;
        act(&mut w, now).map(|job| {
            let v = &w.vaults[vi];
            let target = match plan {
                Some(p) => crate::plans::plan_id(v, p),
                None => crate::json::item_id(v, &job.fabric, &job.container, &job.item),
            };
            (target, crate::json::vault_id(v), job, retry)
        })
    };
    match r {
        Err(e) => asr_error_response(&e, c.headers),
        Ok((target, vault_id, job, retry)) => accepted(c, &target, &vault_id, &job, retry),
    }
}

pub fn unplanned_failover(c: &Ctx<'_>, vi: usize, fabric: &str, container: &str, item: &str) -> Response {
    match parse_body(c, "UnplannedFailoverInput") {
        Ok(body) => submit(c, vi, None, |w, now| w.unplanned_failover(vi, fabric, container, item, &body, now)),
        Err(r) => r,
    }
}

pub fn failover_commit(c: &Ctx<'_>, vi: usize, fabric: &str, container: &str, item: &str) -> Response {
    submit(c, vi, None, |w, now| w.failover_commit(vi, fabric, container, item, now))
}

/// Item-level planned failover: refused for the classic VMware providers (after the usual checks).
pub fn planned_failover(c: &Ctx<'_>, vi: usize, fabric: &str, container: &str, item: &str) -> Response {
    let body = match parse_body(c, "PlannedFailoverInput") {
        Ok(b) => b,
        Err(r) => return r,
    };
    let err = c.sh.read_world(|w| {
        let v = &w.vaults[vi];
        let it = match crate::validate_failback::item_for_action(v, fabric, container, item, w.defaults.missing_fabric) {
            Ok(it) => it,
            Err(e) => return e,
        };
        if let Err(e) = crate::validate_failback::spec_check("PlannedFailoverInput", &body) {
            return e;
        }
        crate::validate_failback::planned_failover_refused(&it.provider)
    });
    asr_error_response(&err, c.headers)
}

pub fn list_plans(c: &Ctx<'_>, vi: usize) -> Response {
    let (vals, ps) = c.sh.read_world(|w| {
        let v = &w.vaults[vi];
        (v.plans.iter().map(|p| crate::plans::plan_json(v, p)).collect(), w.defaults.page_size)
    });
    c.paged(vals, ps)
}

pub fn get_plan(c: &Ctx<'_>, vi: usize, plan: &str) -> Response {
    c.sh.read_world(|w| {
        let v = &w.vaults[vi];
        match v.plan(plan) {
            Some(p) => json_response(200, crate::plans::plan_json(v, p)),
            None => asr_error_response(&AsrError::not_found("RecoveryPlan", plan), c.headers),
        }
    })
}

pub fn plan_unplanned_failover(c: &Ctx<'_>, vi: usize, plan: &str) -> Response {
    match parse_body(c, "RecoveryPlanUnplannedFailoverInput") {
        Ok(body) => submit(c, vi, Some(plan), |w, now| w.plan_unplanned_failover(vi, plan, &body, now)),
        Err(r) => r,
    }
}

pub fn plan_failover_commit(c: &Ctx<'_>, vi: usize, plan: &str) -> Response {
    submit(c, vi, Some(plan), |w, now| w.plan_failover_commit(vi, plan, now))
}

pub fn plan_planned_failover(c: &Ctx<'_>, vi: usize, plan: &str) -> Response {
    match parse_body(c, "RecoveryPlanPlannedFailoverInput") {
        Ok(body) => submit(c, vi, Some(plan), |w, _| w.plan_planned_failover(vi, plan, &body)),
        Err(r) => r,
    }
}
