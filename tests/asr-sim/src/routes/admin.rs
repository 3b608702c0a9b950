//! `/_admin/`: request log, counts, faults, state inspection and pokes (no auth).

use super::json_response;
use crate::faults::FaultRule;
use crate::server::Shared;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

pub fn routes() -> axum::Router<Arc<Shared>> {
    axum::Router::new()
        .route("/_admin/health", get(|| async { json_response(200, json!({"status": "ok"})) }))
        .route("/_admin/requests", get(requests).delete(clear_requests))
        .route("/_admin/counts", get(counts))
        .route("/_admin/faults", get(faults).post(add_fault).delete(clear_faults))
        .route("/_admin/state", get(state))
        .route("/_admin/items/{item}/agent", post(agent))
        .route("/_admin/items/{item}/fail-next", post(fail_next))
        .route("/_admin/items/{item}/failover", post(failover))
        .route("/_admin/time/advance", post(advance))
        .route("/_admin/token", post(token))
}

async fn requests(State(sh): State<Arc<Shared>>) -> Response {
    json_response(200, serde_json::to_value(&*sh.log.lock().unwrap()).unwrap_or_default())
}

async fn clear_requests(State(sh): State<Arc<Shared>>) -> Response {
    sh.log.lock().unwrap().clear();
    json_response(200, json!({}))
}

/// `{"GET /Subscriptions/...": n, ...}` plus `total`.
async fn counts(State(sh): State<Arc<Shared>>) -> Response {
    let log = sh.log.lock().unwrap();
    let mut m: BTreeMap<String, usize> = BTreeMap::new();
    for r in log.iter() {
        *m.entry(format!("{} {}", r.method, r.path)).or_default() += 1;
    }
    json_response(200, json!({"total": log.len(), "by_route": m}))
}

async fn faults(State(sh): State<Arc<Shared>>) -> Response {
    json_response(200, serde_json::to_value(sh.faults.list()).unwrap_or_default())
}

async fn add_fault(State(sh): State<Arc<Shared>>, Json(rule): Json<FaultRule>) -> Response {
    sh.faults.add(rule);
    json_response(201, serde_json::to_value(sh.faults.list()).unwrap_or_default())
}

async fn clear_faults(State(sh): State<Arc<Shared>>) -> Response {
    sh.faults.clear();
    json_response(200, json!([]))
}

async fn state(State(sh): State<Arc<Shared>>) -> Response {
    let now = sh.clock.now();
    let body = sh.with_world(|w| {
        let vaults: Vec<Value> = w.vaults.iter().map(|v| json!({
            "subscription": v.subscription, "resourceGroup": v.resource_group, "name": v.name,
            "fabrics": v.fabrics.iter().map(|f| &f.name).collect::<Vec<_>>(),
            "items": v.items.iter().map(|i| json!({
                "name": i.name, "fabric": i.fabric, "container": i.container, "os": i.os, "group": i.group,
                "protectionState": i.protection_state, "provider": i.provider, "allowedOperations": i.allowed_operations,
                "agentRegistered": i.agent_registered(now), "agentOverride": i.agent_override,
                "activeLocation": i.active_location, "azureVmPresent": i.azure_vm_present, "recoveryPointType": i.last_recovery_point_type,
                "currentJob": i.current_job.as_ref().map(|j| &j.0),
            })).collect::<Vec<_>>(),
            "plans": v.plans.iter().map(|p| json!({"name": p.name, "items": p.items, "currentJob": p.current_job.as_ref().map(|j| &j.0)})).collect::<Vec<_>>(),
            "jobs": v.jobs.iter().map(|j| json!({"name": j.name, "item": j.item, "scenario": j.kind.scenario(), "plan": j.plan, "state": j.state.as_str(), "start": crate::json::ts(j.start), "end": j.end.map(crate::json::ts), "error": j.error.as_ref().map(|e| &e.inner_code)})).collect::<Vec<_>>(),
        })).collect();
        json!({"now": crate::json::ts(now), "vaults": vaults})
    });
    json_response(200, body)
}

/// Body `{"registered": true|false|null}` (null: back to time-based).
async fn agent(State(sh): State<Arc<Shared>>, Path(item): Path<String>, Json(b): Json<Value>) -> Response {
    let reg = b.get("registered").and_then(Value::as_bool);
    if sh.with_world(|w| w.set_agent_registered(&item, reg)) {
        json_response(200, json!({"item": item, "registered": reg}))
    } else {
        json_response(404, crate::json::arm_error("NotFound", &format!("no item {item}")))
    }
}

/// Body `{"scenario": "UnplannedFailover", "code": "8038"}`: the next such job on the item fails with that code.
async fn fail_next(State(sh): State<Arc<Shared>>, Path(item): Path<String>, Json(b): Json<Value>) -> Response {
    let scenario = b.get("scenario").and_then(Value::as_str).unwrap_or_default().to_string();
    let code = b.get("code").and_then(Value::as_str).unwrap_or_default().to_string();
    if scenario.is_empty() || code.is_empty() {
        return json_response(400, crate::json::arm_error("BadRequest", "scenario and code are required"));
    }
    if sh.with_world(|w| w.fail_next_job(&item, &scenario, &code)) {
        json_response(200, json!({"item": item, "scenario": scenario, "code": code}))
    } else {
        json_response(404, crate::json::arm_error("NotFound", &format!("no item {item}")))
    }
}

/// A second disaster: the item fails over to Azure again now.
async fn failover(State(sh): State<Arc<Shared>>, Path(item): Path<String>) -> Response {
    let now = sh.clock.now();
    if sh.with_world(|w| w.fail_over_again(&item, now)) {
        json_response(200, json!({"item": item, "failedOverAt": crate::json::ts(now)}))
    } else {
        json_response(404, crate::json::arm_error("NotFound", &format!("no item {item}")))
    }
}

/// Body `{"seconds": n}`: jump simulated time forward.
async fn advance(State(sh): State<Arc<Shared>>, Json(b): Json<Value>) -> Response {
    let s = b.get("seconds").and_then(Value::as_f64).unwrap_or(0.0).max(0.0);
    sh.clock.advance(std::time::Duration::from_secs_f64(s));
    json_response(200, json!({"now": crate::json::ts(sh.clock.now())}))
}

async fn token(State(sh): State<Arc<Shared>>) -> Response {
    json_response(200, json!({"access_token": sh.issue_token(), "token_type": "Bearer"}))
}
