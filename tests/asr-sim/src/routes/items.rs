//! Replication protected items: list (container and vault level, paged), get, reProtect, and the
//! `operationresults` location of the reprotect long-running operation.

use super::{Ctx, asr_error_response, json_response};
use crate::json_items;
use crate::state::JobState;
use crate::validate::AsrError;
use axum::http::header;
use axum::response::Response;
use serde_json::Value;

pub fn list_by_container(c: &Ctx<'_>, vi: usize, fabric: &str, container: &str) -> Response {
    let now = c.sh.clock.now();
    let r = c.sh.read_world(|w| {
        let v = &w.vaults[vi];
        let f = super::fabric_or_err(c, v, fabric, w.defaults.missing_fabric)?;
        if !f.container.eq_ignore_ascii_case(container) {
            return Err(asr_error_response(&AsrError::not_found("ProtectionContainer", container), c.headers));
        }
        let vals: Vec<Value> =
            v.items.iter().filter(|i| i.fabric.eq_ignore_ascii_case(fabric)).map(|i| json_items::item(v, i, now)).collect();
        Ok((vals, w.defaults.page_size))
    });
    match r {
        Ok((vals, ps)) => c.paged(vals, ps),
        Err(r) => r,
    }
}

pub fn list_vault(c: &Ctx<'_>, vi: usize) -> Response {
    let now = c.sh.clock.now();
    let (vals, ps) = c.sh.read_world(|w| {
        let v = &w.vaults[vi];
        (v.items.iter().map(|i| json_items::item(v, i, now)).collect(), w.defaults.page_size)
    });
    c.paged(vals, ps)
}

pub fn get(c: &Ctx<'_>, vi: usize, fabric: &str, container: &str, item: &str) -> Response {
    let now = c.sh.clock.now();
    c.sh.read_world(|w| {
        let v = &w.vaults[vi];
        let f = match super::fabric_or_err(c, v, fabric, w.defaults.missing_fabric) {
            Ok(f) => f,
            Err(r) => return r,
        };
        if !f.container.eq_ignore_ascii_case(container) {
            return asr_error_response(&AsrError::not_found("ProtectionContainer", container), c.headers);
        }
        match v.item_index(item).map(|i| &v.items[i]).filter(|i| i.fabric.eq_ignore_ascii_case(fabric)) {
            Some(it) => json_response(200, json_items::item(v, it, now)),
            None => asr_error_response(&AsrError::not_found("ReplicationProtectedItem", item), c.headers),
        }
    })
}

pub fn reprotect(c: &Ctx<'_>, vi: usize, fabric: &str, container: &str, item: &str) -> Response {
    let body: Value = match serde_json::from_slice(&c.body) {
        Ok(v) => v,
        Err(e) => {
            let err = AsrError::new(
                400,
                "InvalidRequestContent",
                "InvalidRequestContent",
                format!("The request content was invalid and could not be deserialized: '{e}'."),
                "The body is not JSON.",
                "Send a ReverseReplicationInput JSON body.",
            );
            return asr_error_response(&err, c.headers);
        }
    };
    let now = c.sh.clock.now();
    let r = {
        let mut w = c.sh.world.write().unwrap();
        let retry = w.defaults.retry_after_s;
        w.reprotect(vi, fabric, container, item, &body, now).map(|job| {
            let v = &w.vaults[vi];
            (crate::json::item_id(v, &job.fabric, &job.container, &job.item), crate::json::vault_id(v), job, retry)
        })
    };
    match r {
        Err(e) => asr_error_response(&e, c.headers),
        Ok((item_id, vault_id, job, retry)) => accepted(c, &item_id, &vault_id, &job, retry),
    }
}

/// The 202 that accepts a long-running POST on `target_id` (an item or a recovery plan), headers as the
/// scenario's `lro_headers` say.
pub fn accepted(c: &Ctx<'_>, target_id: &str, vault_id: &str, job: &crate::state::Job, retry: u64) -> Response {
    let base = c.sh.base_url.as_str().trim_end_matches('/');
    // Which headers this answer carries: the scenario's choice, or the next in the rotation.
    let (with_location, with_aao) = {
        let mut w = c.sh.world.write().unwrap();
        let n = w.accepted;
        w.accepted += 1;
        w.defaults.lro_headers.pick(n)
    };
    let mut resp = Response::builder().status(202);
    if with_location {
        resp = resp.header(header::LOCATION, format!("{base}{target_id}/operationresults/{}?api-version={}", job.name, c.api_version));
    }
    if with_aao {
        let aao = format!("{base}{vault_id}/replicationOperationStatus/{}?api-version={}", job.operation_id, c.api_version);
        resp = resp.header("Azure-AsyncOperation", aao);
    }
    resp = resp
        .header(header::RETRY_AFTER, c.sh.clock.scaled_secs(retry).to_string())
        .header("x-ms-request-id", crate::state::new_guid())
        .header(header::CONTENT_LENGTH, "0");
    if let Some(id) = c.headers.get("x-ms-client-request-id") {
        resp = resp.header("x-ms-client-request-id", id);
    }
    resp.body(axum::body::Body::empty()).unwrap()
}

/// `GET .../operationresults/{jobName}`: 202 while the job runs, 200 + item when it succeeded,
/// the job's ASR error when it failed.
pub fn operation_result(c: &Ctx<'_>, vi: usize, job_name: &str) -> Response {
    let now = c.sh.clock.now();
    c.sh.read_world(|w| {
        let retry = w.defaults.retry_after_s;
        let v = &w.vaults[vi];
        let Some(job) = v.job(job_name).filter(|j| now >= j.start + w.defaults.job_visible_after) else {
            return asr_error_response(&AsrError::not_found("Job", job_name), c.headers);
        };
        match job.state {
            JobState::InProgress => {
                let loc = c.sh.base_url.join(c.uri.path().trim_start_matches('/')).map(|mut u| {
                    u.set_query(c.uri.query());
                    u.to_string()
                });
                let mut r = Response::builder()
                    .status(202)
                    .header(header::RETRY_AFTER, c.sh.clock.scaled_secs(retry).to_string())
                    .header(header::CONTENT_LENGTH, "0");
                if let Ok(l) = loc {
                    r = r.header(header::LOCATION, l);
                }
                r.body(axum::body::Body::empty()).unwrap()
            }
            JobState::Succeeded => match (&job.plan, v.item_index(&job.item)) {
                (Some(p), _) => match v.plan(p) {
                    Some(p) => json_response(200, crate::plans::plan_json(v, p)),
                    None => json_response(204, Value::Null),
                },
                (None, Some(i)) => json_response(200, json_items::item(v, &v.items[i], now)),
                (None, None) => json_response(204, Value::Null),
            },
            JobState::Failed => asr_error_response(job.error.as_ref().expect("failed job has error"), c.headers),
        }
    })
}
