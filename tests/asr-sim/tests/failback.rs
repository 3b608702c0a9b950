//! Failback over HTTP: item-level unplanned failover (InMage), commit, forward reprotect (InMageAzureV2),
//! recovery plans for replication groups; refusals in ASR's error shape; every answer checked against the spec.

mod common;

use asr_sim::Scenario;
use asr_sim::conformance::{validate_failback_strict, validate_strict};
use common::{Harness, SUB};
use serde_json::{Value, json};
use std::time::Duration;

fn scenario() -> Scenario {
    Scenario::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/failback.yaml")).unwrap()
}

async fn start(variants: bool) -> Harness {
    let mut sc = scenario();
    sc.defaults.state_variants = variants;
    common::start(sc, 1.0).await
}

fn failback_body(rp: &str) -> Value {
    json!({"properties": {"failoverDirection": "PrimaryToRecovery", "sourceSiteOperations": "NotRequired",
        "providerSpecificDetails": {"instanceType": "InMage", "recoveryPointType": rp}}})
}

fn plan_failback_body(dir: &str, rp: &str) -> Value {
    json!({"properties": {"failoverDirection": dir, "sourceSiteOperations": "NotRequired",
        "providerSpecificDetails": [{"instanceType": "InMage", "recoveryPointType": rp}]}})
}

fn forward_body(ps: &str, policy: &str) -> Value {
    json!({"properties": {"failoverDirection": "RecoveryToPrimary", "providerSpecificDetails": {
        "instanceType": "InMageAzureV2", "masterTargetId": ps, "processServerId": ps, "runAsAccountId": "1",
        "policyId": format!("/Subscriptions/{SUB}/resourceGroups/rg-dr/providers/Microsoft.RecoveryServices/vaults/vault-dr/replicationPolicies/{policy}")}}})
}

async fn post_empty(h: &Harness, url: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = h.http.post(format!("{url}?api-version=2026-11-01")).bearer_auth(&h.token).send().await.unwrap();
    let (s, hd) = (r.status().as_u16(), r.headers().clone());
    (s, hd, serde_json::from_slice(&r.bytes().await.unwrap()).unwrap_or(Value::Null))
}

/// The job name from an accepted POST: `Location` ends in `/operationresults/{job}`; an answer without it (the
/// headers rotate) names the job in `Azure-AsyncOperation` (`/replicationOperationStatus/{job}`, the default id).
fn job_of(headers: &reqwest::header::HeaderMap) -> String {
    let url = headers.get("location").or_else(|| headers.get("azure-asyncoperation")).unwrap().to_str().unwrap();
    url.split('?').next().unwrap().rsplit('/').next().unwrap().to_string()
}

async fn job(h: &Harness, name: &str) -> Value {
    let (s, _, j) = h.get(&format!("{}/replicationJobs/{name}", h.vault_url("vault-dr"))).await;
    assert_eq!(s, 200);
    validate_strict("Job", &j).unwrap_or_else(|e| panic!("job {name}: {e:#?}"));
    j
}

async fn item(h: &Harness, name: &str) -> Value {
    let (s, _, it) = h.get(&h.item_url(name)).await;
    assert_eq!(s, 200, "{it}");
    validate_strict("ReplicationProtectedItem", &it).unwrap_or_else(|e| panic!("item {name}: {e:#?}"));
    it
}

fn ops(it: &Value) -> Vec<String> {
    it["properties"]["allowedOperations"].as_array().unwrap().iter().map(|o| o.as_str().unwrap().to_ascii_lowercase()).collect()
}

/// Jump past the job duration and read the job.
async fn finish(h: &Harness, name: &str) -> Value {
    h.sim.advance_time(Duration::from_secs(11));
    job(h, name).await
}

fn inner_code(body: &Value) -> &str {
    body["error"]["details"][0]["code"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reprotected_item_fails_back_commits_and_is_protected_to_azure_again() {
    let h = start(false).await;
    let (_, _, ps) = h.ids().await;
    let before = item(&h, "app-01").await;
    assert_eq!(before["properties"]["activeLocation"], "Primary");
    assert_eq!(before["properties"]["providerSpecificDetails"]["activeSiteType"], "Azure");
    assert_eq!(ops(&before), ["unplannedfailover", "disableprotection"]);

    let (s, hd, _) = h.post(&format!("{}/unplannedFailover", h.item_url("app-01")), &failback_body("LatestTime")).await;
    assert_eq!(s, 202);
    let fo = job_of(&hd);
    let running = job(&h, &fo).await;
    assert_eq!(
        (running["properties"]["scenarioName"].as_str(), running["properties"]["state"].as_str()),
        (Some("UnplannedFailover"), Some("InProgress"))
    );
    let busy = item(&h, "app-01").await;
    assert_eq!(busy["properties"]["currentScenario"]["scenarioName"], "UnplannedFailover");
    assert!(ops(&busy).is_empty());
    assert_eq!(finish(&h, &fo).await["properties"]["state"], "Succeeded");
    let failed_back = item(&h, "app-01").await;
    assert_eq!(failed_back["properties"]["protectionState"], "UnplannedFailoverCommitPendingStatesBegin");
    assert_eq!(failed_back["properties"]["activeLocation"], "Recovery");
    assert_eq!(failed_back["properties"]["providerSpecificDetails"]["activeSiteType"], "OnPrem");
    assert!(ops(&failed_back).contains(&"commit".to_string()));
    assert_eq!(h.sim.azure_vm_exists("app-01"), Some(true));

    let (s, hd, _) = post_empty(&h, &format!("{}/failoverCommit", h.item_url("app-01"))).await;
    assert_eq!(s, 202);
    let commit = job_of(&hd);
    assert_eq!(job(&h, &commit).await["properties"]["scenarioName"], "CommitFailover");
    assert_eq!(finish(&h, &commit).await["properties"]["state"], "Succeeded");
    let committed = item(&h, "app-01").await;
    assert_eq!(committed["properties"]["protectionState"], "UnplannedFailoverCommitted");
    assert_eq!(committed["properties"]["protectionStateDescription"], "Failover committed");
    assert_eq!(ops(&committed), ["completemigration", "disableprotection", "switchprotection"]);
    assert_eq!(h.sim.azure_vm_exists("app-01"), Some(false), "commit removes the Azure VM");

    h.sim.advance_time(Duration::from_secs(61)); // the on-premises agent registers
    let (s, hd, body) = h.post(&format!("{}/reProtect", h.item_url("app-01")), &forward_body(&ps, "forward-policy")).await;
    assert_eq!(s, 202, "{body}");
    let fwd = job_of(&hd);
    assert_eq!(job(&h, &fwd).await["properties"]["scenarioName"], "SwitchReplicationGroupProtection");
    assert_eq!(finish(&h, &fwd).await["properties"]["state"], "Succeeded");
    let protected = item(&h, "app-01").await;
    assert_eq!(protected["properties"]["providerSpecificDetails"]["instanceType"], "InMageAzureV2");
    assert_eq!(protected["properties"]["protectionState"], "Protected");
    assert_eq!(protected["properties"]["activeLocation"], "Primary");
    assert_eq!(protected["properties"]["policyFriendlyName"], "forward-policy");
    assert!(protected["properties"]["providerSpecificDetails"].get("targetVmId").is_none());
    h.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forward_reprotect_before_the_agent_registers_fails_with_78093_and_a_retry_after_it_succeeds() {
    let h = start(true).await;
    let (_, _, ps) = h.ids().await;
    let (_, hd, _) = h.post(&format!("{}/unplannedFailover", h.item_url("app-02")), &failback_body("LatestTag")).await;
    finish(&h, &job_of(&hd)).await;
    let (_, hd, _) = post_empty(&h, &format!("{}/failoverCommit", h.item_url("app-02"))).await;
    finish(&h, &job_of(&hd)).await;
    let (s, hd, _) = h.post(&format!("{}/reProtect", h.item_url("app-02")), &forward_body(&ps, "forward-policy")).await;
    assert_eq!(s, 202, "the POST is accepted; the job's prerequisites check fails");
    let failed = finish(&h, &job_of(&hd)).await;
    assert_eq!(failed["properties"]["state"], "Failed");
    let err = &failed["properties"]["errors"][0]["serviceErrorDetails"];
    assert_eq!(err["code"], "78093");
    assert!(err["message"].as_str().unwrap().contains("agent is not installed"));
    assert!(ops(&item(&h, "app-02").await).contains(&"switchprotection".to_string()), "the retry is allowed again");
    h.sim.advance_time(Duration::from_secs(60));
    let (s, hd, _) = h.post(&format!("{}/reProtect", h.item_url("app-02")), &forward_body(&ps, "forward-policy")).await;
    assert_eq!(s, 202);
    assert_eq!(finish(&h, &job_of(&hd)).await["properties"]["state"], "Succeeded");
    h.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_real_asr_refuses_is_refused_in_its_error_shape() {
    let h = start(true).await;
    let (_, _, ps) = h.ids().await;
    let url = |what: &str| format!("{}/{what}", h.item_url("app-01"));
    let planned = json!({"properties": {"failoverDirection": "PrimaryToRecovery", "providerSpecificDetails": {"instanceType": "InMage"}}});
    let cases: Vec<(String, Value, u16, &str)> = vec![
        (url("plannedFailover"), planned, 400, "UnsupportedReplicationProviderForPlannedFailover"),
        (
            url("unplannedFailover"),
            plan_failback_body("RecoveryToPrimary", "LatestTime")["properties"].clone(),
            400,
            "InvalidRequestContent",
        ),
        (
            url("unplannedFailover"),
            {
                let mut b = failback_body("LatestTime");
                b["properties"]["failoverDirection"] = json!("RecoveryToPrimary");
                b
            },
            400,
            "InvalidFailoverDirection",
        ),
        (url("unplannedFailover"), failback_body("Newest"), 400, "InvalidRecoveryPointType"),
        (url("unplannedFailover"), failback_body("Custom"), 400, "RecoveryPointNotFound"),
        (
            url("unplannedFailover"),
            json!({"properties": {"failoverDirection": "PrimaryToRecovery", "providerSpecificDetails": {"instanceType": "InMage"}}}),
            400,
            "MissingRequiredParameter",
        ),
        (
            url("unplannedFailover"),
            json!({"properties": {"failoverDirection": "PrimaryToRecovery", "providerSpecificDetails": {"instanceType": "InMageAzureV2"}}}),
            400,
            "InvalidProviderSpecificInput",
        ),
        (
            url("unplannedFailover"),
            {
                let mut b = failback_body("LatestTime");
                b["properties"]["providerSpecificDetails"]["recoveryPoint"] = json!("x");
                b
            },
            400,
            "InvalidRequestContent",
        ),
        (url("reProtect"), forward_body(&ps, "forward-policy"), 400, "OperationNotAllowedInCurrentState"),
        (format!("{}/unplannedFailover", h.item_url("db-01")), failback_body("LatestTime"), 400, "OperationNotAllowedInCurrentState"),
        (format!("{}/unplannedFailover", h.item_url("web-01")), failback_body("LatestTime"), 400, "OperationNotAllowedForReplicationGroup"),
        (format!("{}/unplannedFailover", h.item_url("ghost")), failback_body("LatestTime"), 404, "ReplicationProtectedItemNotFound"),
    ];
    for (u, body, status, code) in cases {
        let (s, _, b) = h.post(&u, &body).await;
        assert_eq!((s, inner_code(&b)), (status, code), "{u} {body}: {b}");
        assert!(b["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{b}");
        assert!(b["error"]["details"][0]["recommendedAction"].is_string(), "{b}");
    }
    let (s, _, b) = post_empty(&h, &url("failoverCommit")).await;
    assert_eq!((s, inner_code(&b)), (400, "OperationNotAllowedInCurrentState"), "commit before failover: {b}");
    let (s, _, b) = post_empty(&h, &format!("{}/failoverCommit", h.item_url("web-02"))).await;
    assert_eq!((s, inner_code(&b)), (400, "OperationNotAllowedForReplicationGroup"), "{b}");
    assert_eq!(h.sim.count("POST", "/replicationJobs"), 0);
    assert!(h.sim.with_world(|w| w.vaults[0].jobs.is_empty()), "no refused request created a job");
    h.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_failback_while_one_runs_conflicts_and_a_commit_waits_for_the_failover_to_end() {
    let h = start(true).await;
    let (s, _, _) = h.post(&format!("{}/unplannedFailover", h.item_url("app-01")), &failback_body("LatestTime")).await;
    assert_eq!(s, 202);
    let (s, _, b) = h.post(&format!("{}/unplannedFailover", h.item_url("app-01")), &failback_body("LatestTime")).await;
    assert_eq!((s, inner_code(&b)), (409, "ProtectionOperationInProgress"));
    let (s, _, b) = post_empty(&h, &format!("{}/failoverCommit", h.item_url("app-01"))).await;
    assert_eq!((s, inner_code(&b)), (409, "ProtectionOperationInProgress"));
    h.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_failure_fails_the_failback_job_and_leaves_the_item_ready_to_retry() {
    let h = start(true).await;
    assert!(h.sim.fail_next_job("app-01", "UnplannedFailover", "8038"));
    let (_, hd, _) = h.post(&format!("{}/unplannedFailover", h.item_url("app-01")), &failback_body("LatestTime")).await;
    let failed = finish(&h, &job_of(&hd)).await;
    assert_eq!(failed["properties"]["state"], "Failed");
    assert_eq!(failed["properties"]["errors"][0]["providerErrorDetails"]["errorCode"], 8038);
    let it = item(&h, "app-01").await;
    assert_eq!(it["properties"]["protectionState"], "Protected");
    assert_eq!(ops(&it), ["unplannedfailover", "disableprotection"]);
    let (_, hd, _) = h.post(&format!("{}/unplannedFailover", h.item_url("app-01")), &failback_body("LatestTime")).await;
    assert_eq!(finish(&h, &job_of(&hd)).await["properties"]["state"], "Succeeded", "the failure was consumed");
    h.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_names_vary_between_items_where_real_asr_is_unrecorded_but_the_allowed_operations_still_say_commit() {
    let h = start(true).await;
    let mut states = std::collections::BTreeSet::new();
    for name in ["app-01", "app-02"] {
        let (_, hd, _) = h.post(&format!("{}/unplannedFailover", h.item_url(name)), &failback_body("LatestTime")).await;
        finish(&h, &job_of(&hd)).await;
        let it = item(&h, name).await;
        assert!(ops(&it).contains(&"commit".to_string()), "{it}");
        states.insert(format!("{} {:?}", it["properties"]["protectionState"], it["properties"]["allowedOperations"]));
    }
    assert_eq!(states.len(), 2, "two items, two spellings: {states:?}");
    h.sim.shutdown().await;
}

#[test]
fn the_request_bodies_powershell_sends_validate_against_the_failback_extract() {
    validate_failback_strict("UnplannedFailoverInput", &failback_body("LatestTime")).unwrap();
    validate_failback_strict("RecoveryPlanUnplannedFailoverInput", &plan_failback_body("RecoveryToPrimary", "LatestTag")).unwrap();
    validate_failback_strict("ReverseReplicationInput", &forward_body("ps", "forward-policy")).unwrap();
    let mut no_dir = plan_failback_body("RecoveryToPrimary", "LatestTime");
    no_dir["properties"].as_object_mut().unwrap().remove("failoverDirection");
    assert!(validate_failback_strict("RecoveryPlanUnplannedFailoverInput", &no_dir).is_err(), "failoverDirection is required for plans");
    let mut typo = forward_body("ps", "p");
    typo["properties"]["providerSpecificDetails"]["processServer"] = json!("x");
    assert!(validate_failback_strict("ReverseReplicationInput", &typo).is_err());
}
