//! Everything the simulator answers validates against `service.extract.json`; the validator itself
//! accepts every upstream example; output field names match the Azure examples.

mod common;

use asr_sim::conformance::{self, validate, validate_strict};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

const SPECS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../reference/specs/asr");

fn spec_doc() -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{SPECS}/2026-11-01/service.extract.json")).unwrap()).unwrap()
}

fn examples() -> Vec<(String, Value)> {
    let mut out = vec![];
    for dir in std::fs::read_dir(SPECS).unwrap().flatten() {
        let ex = dir.path().join("examples");
        for f in std::fs::read_dir(&ex).into_iter().flatten().flatten() {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(f.path()).unwrap()).unwrap();
            out.push((f.path().display().to_string(), v));
        }
    }
    assert!(out.len() >= 16, "examples found: {}", out.len());
    out
}

fn failback_doc() -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{SPECS}/2026-11-01/failback.extract.json")).unwrap()).unwrap()
}

/// operationId -> (status -> definition name), from the service extract or the failback extract.
fn response_defs(op: &str) -> Vec<(String, String)> {
    for doc in [spec_doc(), failback_doc()] {
        if let Some(found) = response_defs_in(&doc, op) {
            return found;
        }
    }
    panic!("no operation {op}");
}

fn response_defs_in(doc: &Value, op: &str) -> Option<Vec<(String, String)>> {
    for item in doc["paths"].as_object().unwrap().values() {
        for o in item.as_object().unwrap().values() {
            if o["operationId"] == op {
                return Some(
                    o["responses"]
                        .as_object()
                        .unwrap()
                        .iter()
                        .filter_map(|(code, r)| {
                            r["schema"]["$ref"].as_str().map(|s| (code.clone(), s.trim_start_matches("#/definitions/").to_string()))
                        })
                        .collect(),
                );
            }
        }
    }
    None
}

#[test]
fn every_upstream_example_response_validates_with_the_validator() {
    for (path, ex) in examples() {
        let op = ex["operationId"].as_str().unwrap();
        for (code, def) in response_defs(op) {
            if let Some(body) = ex["responses"].get(&code).and_then(|r| r.get("body")) {
                validate(&def, body).unwrap_or_else(|e| panic!("{path} {code} as {def}: {e:?}"));
            }
        }
        if let Some(input) = ex["parameters"].get("reprotectInput") {
            validate("ReverseReplicationInput", input).unwrap_or_else(|e| panic!("{path} input: {e:?}"));
        }
        let failback = conformance::failback_spec().unwrap();
        let input_def = match op {
            "ReplicationProtectedItems_UnplannedFailover" => Some("UnplannedFailoverInput"),
            "ReplicationProtectedItems_PlannedFailover" => Some("PlannedFailoverInput"),
            "ReplicationRecoveryPlans_UnplannedFailover" => Some("RecoveryPlanUnplannedFailoverInput"),
            "ReplicationRecoveryPlans_PlannedFailover" => Some("RecoveryPlanPlannedFailoverInput"),
            _ => None,
        };
        if let (Some(def), Some(input)) = (input_def, ex["parameters"].get("failoverInput").or(ex["parameters"].get("input"))) {
            failback.validate(def, input).unwrap_or_else(|e| panic!("{path} input as {def}: {e:?}"));
        }
    }
}

#[test]
fn the_validator_rejects_wrong_types_and_missing_required_fields() {
    assert!(validate("JobCollection", &json!({"nextLink": "https://x/"})).is_err(), "value is required");
    assert!(validate("Job", &json!({"properties": {"state": 3}})).is_err());
    assert!(validate("Job", &json!({"properties": {"startTime": "yesterday"}})).is_err(), "date-time format");
    let bad_mt = json!({"instanceType": "VMware", "masterTargetServers": [{"retentionVolumes": [{"capacityInBytes": "big"}]}]});
    assert!(validate("FabricSpecificDetails", &bad_mt).is_err(), "discriminated child is applied");
    assert!(
        validate("FabricSpecificDetails", &json!({"instanceType": "SomethingNew", "x": 1})).is_ok(),
        "unknown discriminator values fall back to the base"
    );
    assert!(validate("NoSuchDefinition", &json!({})).is_err());
    let s = conformance::spec().unwrap();
    assert_eq!(
        s.unknown_fields(
            "Fabric",
            &json!({"id": "x", "properties": {"friendlyName": "a", "customDetails": {"instanceType": "VMware", "hostname": "typo"}}})
        ),
        vec!["/properties/customDetails/hostname".to_string()]
    );
}

#[test]
fn inmage_reprotect_request_bodies_validate_and_incomplete_ones_do_not() {
    let good = json!({"properties": {"failoverDirection": "RecoveryToPrimary", "providerSpecificDetails": {"instanceType": "InMage", "masterTargetId": "m", "processServerId": "p", "retentionDrive": "R:", "profileId": "x", "datastoreName": "ds"}}});
    validate_strict("ReverseReplicationInput", &good).unwrap();
    let mut missing = good.clone();
    missing["properties"]["providerSpecificDetails"].as_object_mut().unwrap().remove("masterTargetId");
    assert!(validate("ReverseReplicationInput", &missing).is_err());
    let mut typo = good.clone();
    typo["properties"]["providerSpecificDetails"]["retentionVolume"] = json!("R:");
    assert!(validate_strict("ReverseReplicationInput", &typo).is_err());
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

/// Example fields the simulator deliberately leaves out.
const NOT_SIMULATED: &[&str] = &["lastSuccessfulTestFailoverTime", "failoverRecoveryPointId", "location"];

fn same_shape(what: &str, ours: &Value, example: &Value) {
    let missing: Vec<_> = keys(example).difference(&keys(ours)).filter(|k| !NOT_SIMULATED.contains(&k.as_str())).cloned().collect();
    assert!(missing.is_empty(), "{what}: top-level fields missing vs example: {missing:?}");
    let missing: Vec<_> = keys(&example["properties"])
        .difference(&keys(&ours["properties"]))
        .filter(|k| !NOT_SIMULATED.contains(&k.as_str()))
        .cloned()
        .collect();
    assert!(missing.is_empty(), "{what}: properties missing vs example: {missing:?}");
}

fn example_body(rel: &str) -> Value {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(format!("{SPECS}/{rel}")).unwrap()).unwrap();
    v["responses"]["200"]["body"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_simulator_response_validates_strictly_against_the_spec() {
    let mut sc = common::small();
    sc.defaults.job_duration = jiff::SignedDuration::from_millis(800);
    let h = common::start(sc, 1.0).await;
    let v = h.vault_url("vault-dr");
    let (win, _, ps) = h.ids().await;
    // One succeeding and one failing (agent not registered) reprotect, observed mid-way and after.
    let (s, _, _) = h.post(&format!("{}/reProtect", h.item_url("app-01")), &h.reprotect_body(&win, &ps, "R:", "ds-vmfs-01")).await;
    assert_eq!(s, 202);
    let (s, _, _) = h.post(&format!("{}/reProtect", h.item_url("web-legacy")), &h.reprotect_body(&win, &ps, "R:", "ds-vmfs-01")).await;
    assert_eq!(s, 202);
    let mut checks: Vec<(String, &str)> = vec![
        (format!("{v}/replicationFabrics"), "FabricCollection"),
        (format!("{v}/replicationFabrics/cs-fabric-01"), "Fabric"),
        (h.container_url(), "ProtectionContainer"),
        (format!("{v}/replicationFabrics/cs-fabric-01/replicationProtectionContainers"), "ProtectionContainerCollection"),
        (format!("{}/replicationProtectedItems", h.container_url()), "ReplicationProtectedItemCollection"),
        (format!("{v}/replicationProtectedItems"), "ReplicationProtectedItemCollection"),
        (h.item_url("app-01"), "ReplicationProtectedItem"),
        (h.item_url("db-01"), "ReplicationProtectedItem"),
        (format!("{v}/replicationJobs"), "JobCollection"),
        (format!("{v}/replicationPolicies"), "PolicyCollection"),
        (format!("{v}/replicationPolicies/failback-policy"), "Policy"),
        (format!("{v}/replicationPolicies/forward-policy"), "Policy"),
        (format!("{v}/replicationFabrics/cs-fabric-01/replicationvCenters"), "VCenterCollection"),
        (format!("{v}/replicationFabrics/cs-fabric-01/replicationvCenters/vc-01"), "VCenter"),
        (format!("{v}/replicationvCenters"), "VCenterCollection"),
    ];
    let mut seen = 0;
    for round in 0..2 {
        if round == 1 {
            tokio::time::sleep(Duration::from_millis(1000)).await;
            checks.push((h.item_url("app-01"), "ReplicationProtectedItem")); // now InMage
        }
        let (_, _, jobs) = h.get(&format!("{v}/replicationJobs")).await;
        for j in jobs["value"].as_array().unwrap() {
            checks.push((format!("{v}/replicationJobs/{}", j["name"].as_str().unwrap()), "Job"));
        }
        for (url, def) in &checks {
            let (s, _, body) = h.get(url).await;
            assert_eq!(s, 200, "{url}");
            validate_strict(def, &body).unwrap_or_else(|e| panic!("{url} as {def}: {e:#?}"));
            seen += 1;
        }
    }
    assert!(seen > 30);
    let (_, _, item) = h.get(&h.item_url("app-01")).await;
    assert_eq!(item["properties"]["providerSpecificDetails"]["instanceType"], "InMage");
    h.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulator_output_has_the_field_names_of_the_azure_examples() {
    let mut sc = common::small();
    sc.defaults.job_duration = jiff::SignedDuration::from_millis(200);
    let h = common::start(sc, 1.0).await;
    let v = h.vault_url("vault-dr");
    let (win, _, ps) = h.ids().await;
    h.post(&format!("{}/reProtect", h.item_url("app-02")), &h.reprotect_body(&win, &ps, "R:", "ds-vmfs-01")).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (_, _, jobs) = h.get(&format!("{v}/replicationJobs")).await;
    let job = &jobs["value"][0];
    same_shape("job", job, &example_body("2026-07-01/examples/ReplicationJobs_Get.json"));
    let ex_task = &example_body("2026-07-01/examples/ReplicationJobs_Get.json")["properties"]["tasks"][0];
    let missing: Vec<_> =
        keys(ex_task).difference(&keys(&job["properties"]["tasks"][0])).filter(|k| *k != "customDetails").cloned().collect();
    assert!(missing.is_empty(), "task fields missing: {missing:?}");
    same_shape("item", &h.get(&h.item_url("app-01")).await.2, &example_body("2026-11-01/examples/ReplicationProtectedItems_Get.json"));
    same_shape(
        "fabric",
        &h.get(&format!("{v}/replicationFabrics/cs-fabric-01")).await.2,
        &example_body("2026-11-01/examples/ReplicationFabrics_Get.json"),
    );
    same_shape(
        "container",
        &h.get(&h.container_url()).await.2,
        &example_body("2026-10-01/examples/ReplicationProtectionContainers_Get.json"),
    );
    same_shape(
        "policy",
        &h.get(&format!("{v}/replicationPolicies/failback-policy")).await.2,
        &example_body("2026-11-01/examples/ReplicationPolicies_Get.json"),
    );
    let vc = h.get(&format!("{v}/replicationFabrics/cs-fabric-01/replicationvCenters/vc-01")).await.2;
    same_shape("vcenter", &vc, &example_body("2026-11-01/examples/ReplicationvCenters_Get.json"));
    // Ids come back with `/Subscriptions/` like Azure's examples.
    assert!(vc["id"].as_str().unwrap().starts_with("/Subscriptions/"));
    h.sim.shutdown().await;
}
