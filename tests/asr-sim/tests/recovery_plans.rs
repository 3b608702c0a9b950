//! Recovery plans over HTTP: a replication group fails back and commits through its plan, all members together,
//! with one job per plan; plan-level refusals; the `Azure-AsyncOperation`-only header variant.

mod common;

use asr_sim::Scenario;
use asr_sim::conformance::validate_strict;
use asr_sim::scenario::LroHeaders;
use common::Harness;
use serde_json::{Value, json};
use std::time::Duration;

async fn start(lro: LroHeaders) -> Harness {
    let mut sc = Scenario::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/failback.yaml")).unwrap();
    sc.defaults.lro_headers = lro;
    common::start(sc, 1.0).await
}

fn body(dir: &str, rp: &str) -> Value {
    json!({"properties": {"failoverDirection": dir, "sourceSiteOperations": "NotRequired",
        "providerSpecificDetails": [{"instanceType": "InMage", "recoveryPointType": rp}]}})
}

fn plan_url(h: &Harness, plan: &str) -> String {
    format!("{}/replicationRecoveryPlans/{plan}", h.vault_url("vault-dr"))
}

async fn post_empty(h: &Harness, url: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = h.http.post(format!("{url}?api-version=2026-11-01")).bearer_auth(&h.token).send().await.unwrap();
    let (s, hd) = (r.status().as_u16(), r.headers().clone());
    (s, hd, serde_json::from_slice(&r.bytes().await.unwrap()).unwrap_or(Value::Null))
}

fn last_segment(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    let v = headers.get(name)?.to_str().ok()?;
    v.split('?').next()?.rsplit('/').next().map(str::to_string)
}

async fn plan(h: &Harness, name: &str) -> Value {
    let (s, _, p) = h.get(&plan_url(h, name)).await;
    assert_eq!(s, 200, "{p}");
    validate_strict("RecoveryPlan", &p).unwrap_or_else(|e| panic!("plan {name}: {e:#?}"));
    p
}

fn members(p: &Value) -> Vec<String> {
    p["properties"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["replicationProtectedItems"].as_array().unwrap().iter())
        .map(|i| i["id"].as_str().unwrap().rsplit('/').next().unwrap().to_string())
        .collect()
}

async fn item_state(h: &Harness, name: &str) -> (String, Vec<String>) {
    let (_, _, it) = h.get(&h.item_url(name)).await;
    let ops = it["properties"]["allowedOperations"].as_array().unwrap().iter().map(|o| o.as_str().unwrap().to_ascii_lowercase()).collect();
    (it["properties"]["protectionState"].as_str().unwrap().to_string(), ops)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replication_group_fails_back_and_commits_through_its_plan_all_members_together() {
    let h = start(LroHeaders::Both).await;
    let (s, _, list) = h.get(&format!("{}/replicationRecoveryPlans", h.vault_url("vault-dr"))).await;
    assert_eq!(s, 200);
    for p in list["value"].as_array().unwrap() {
        validate_strict("RecoveryPlan", p).unwrap();
    }
    let p = plan(&h, "web-group").await;
    assert_eq!(members(&p), ["web-01", "web-02", "web-03"]);
    assert!(p["properties"]["allowedOperations"].as_array().unwrap().contains(&json!("UnplannedFailover")));
    assert_eq!(p["properties"]["replicationProviders"], json!(["InMage"]));

    let (s, hd, b) = h.post(&format!("{}/unplannedFailover", plan_url(&h, "web-group")), &body("RecoveryToPrimary", "LatestTime")).await;
    assert_eq!(s, 202, "{b}");
    let job = last_segment(&hd, "location").unwrap();
    assert!(hd.get("location").unwrap().to_str().unwrap().contains("/replicationRecoveryPlans/web-group/operationresults/"));
    let running = plan(&h, "web-group").await;
    assert_eq!(running["properties"]["currentScenario"]["scenarioName"], "UnplannedFailover");
    for m in ["web-01", "web-02", "web-03"] {
        assert!(item_state(&h, m).await.1.is_empty(), "{m} is busy with the plan's job");
    }
    h.sim.advance_time(Duration::from_secs(11));
    let (_, _, j) = h.get(&format!("{}/replicationJobs/{job}", h.vault_url("vault-dr"))).await;
    validate_strict("Job", &j).unwrap();
    assert_eq!(
        (j["properties"]["state"].as_str(), j["properties"]["targetInstanceType"].as_str()),
        (Some("Succeeded"), Some("RecoveryPlan"))
    );
    for m in ["web-01", "web-02", "web-03"] {
        assert!(item_state(&h, m).await.1.contains(&"commit".to_string()), "{m} failed back");
    }
    assert_eq!(h.sim.with_world(|w| w.vaults[0].jobs.len()), 1, "one job for the whole plan");

    let (s, hd, _) = post_empty(&h, &format!("{}/failoverCommit", plan_url(&h, "web-group"))).await;
    assert_eq!(s, 202);
    let (s, _, done) = h.get(hd.get("location").unwrap().to_str().unwrap()).await;
    assert_eq!(s, 202, "the commit is still running: {done}");
    h.sim.advance_time(Duration::from_secs(11));
    let (s, _, done) = h.get(hd.get("location").unwrap().to_str().unwrap()).await;
    assert_eq!(s, 200);
    validate_strict("RecoveryPlan", &done).unwrap();
    for m in ["web-01", "web-02", "web-03"] {
        let (state, ops) = item_state(&h, m).await;
        assert!(state.to_ascii_lowercase().contains("committed"), "{m}: {state}");
        assert!(ops.contains(&"switchprotection".to_string()));
        assert_eq!(h.sim.azure_vm_exists(m), Some(false));
    }
    assert!(plan(&h, "web-group").await["properties"]["allowedOperations"].as_array().unwrap().contains(&json!("SwitchProtection")));
    h.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_refuses_the_wrong_direction_a_missing_inmage_input_planned_failover_and_early_commit() {
    let h = start(LroHeaders::Both).await;
    let url = |a: &str| format!("{}/{a}", plan_url(&h, "web-group"));
    let no_inmage = json!({"properties": {"failoverDirection": "RecoveryToPrimary", "sourceSiteOperations": "NotRequired"}});
    let no_source = json!({"properties": {"failoverDirection": "RecoveryToPrimary", "providerSpecificDetails": [{"instanceType": "InMage", "recoveryPointType": "LatestTime"}]}});
    let planned = json!({"properties": {"failoverDirection": "RecoveryToPrimary", "providerSpecificDetails": [{"instanceType": "InMage", "recoveryPointType": "LatestTime"}]}});
    for (u, b, status, code) in [
        (url("unplannedFailover"), body("PrimaryToRecovery", "LatestTime"), 400, "InvalidFailoverDirection"),
        (url("unplannedFailover"), body("RecoveryToPrimary", "Newest"), 400, "InvalidRecoveryPointType"),
        (url("unplannedFailover"), no_inmage, 400, "InvalidProviderSpecificInput"),
        (url("unplannedFailover"), no_source, 400, "InvalidRequestContent"),
        (url("plannedFailover"), planned, 400, "UnsupportedReplicationProviderForPlannedFailover"),
        (format!("{}/unplannedFailover", plan_url(&h, "nope")), body("RecoveryToPrimary", "LatestTime"), 404, "RecoveryPlanNotFound"),
    ] {
        let (s, _, e) = h.post(&u, &b).await;
        assert_eq!((s, e["error"]["details"][0]["code"].as_str().unwrap_or_default()), (status, code), "{u}: {e}");
    }
    let (s, _, e) = post_empty(&h, &url("failoverCommit")).await;
    assert_eq!((s, e["error"]["details"][0]["code"].as_str().unwrap()), (400, "RecoveryPlanOperationNotAllowed"), "commit before failover");
    h.sim.set_agent_registered("web-02", true);
    h.sim.fail_next_job("web-02", "UnplannedFailover", "8038");
    let (s, hd, _) = h.post(&url("unplannedFailover"), &body("RecoveryToPrimary", "LatestTag")).await;
    assert_eq!(s, 202);
    h.sim.advance_time(Duration::from_secs(11));
    let job = last_segment(&hd, "location").unwrap();
    let (_, _, j) = h.get(&format!("{}/replicationJobs/{job}", h.vault_url("vault-dr"))).await;
    assert_eq!(j["properties"]["state"], "Failed", "one member's failure fails the plan's job");
    for m in ["web-01", "web-02", "web-03"] {
        assert_eq!(item_state(&h, m).await.0, "Protected", "{m} stays where it was");
    }
    h.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_async_operation_only_headers_the_operation_id_is_the_job_name() {
    let h = start(LroHeaders::AsyncOperation).await;
    let (s, hd, _) = h.post(&format!("{}/unplannedFailover", plan_url(&h, "web-group")), &body("RecoveryToPrimary", "LatestTime")).await;
    assert_eq!(s, 202);
    assert!(hd.get("location").is_none());
    let op = last_segment(&hd, "azure-asyncoperation").unwrap();
    let (s, _, j) = h.get(&format!("{}/replicationJobs/{op}", h.vault_url("vault-dr"))).await;
    assert_eq!((s, j["properties"]["scenarioName"].as_str()), (200, Some("UnplannedFailover")));
    h.sim.shutdown().await;
}
