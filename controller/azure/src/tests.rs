//! Unit tests: spec examples parse, mapping, reprotect body, error bodies, LRO and Retry-After headers.

use std::path::{Path, PathBuf};

use reprotect_facts::*;
use serde_json::{Value, json};

use crate::{
    client::{VaultKey, container_of, target_key},
    mapping::*,
    models::*,
};

fn specs_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/specs/asr"))
}

fn example_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for version in std::fs::read_dir(dir).expect("tests/reference/specs/asr") {
        let ex = version.unwrap().path().join("examples");
        if ex.is_dir() {
            out.extend(std::fs::read_dir(ex).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "json")));
        }
    }
    out.sort();
    out
}

/// Parse one example response body with the model its operation returns and map it to facts.
fn parse_example(op: &str, body: Value) -> Result<usize, String> {
    fn one<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }
    /// A list page read as the client reads it (`get_pages`: each element mapped while parsed).
    fn page<T: serde::de::DeserializeOwned, U>(v: Value, map: fn(T) -> U) -> Result<usize, String> {
        use serde::de::DeserializeSeed;
        crate::mapped_page::PageSeed::new(&map).deserialize(v).map(|page| page.value.len()).map_err(|e| e.to_string())
    }
    let (kind, list) = op.split_once('_').ok_or("operation id")?;
    let is_list = list.starts_with("List");
    Ok(match (kind, is_list) {
        ("ReplicationFabrics", false) => usize::from(!fabric_facts(one(body)?).name.is_empty()),
        ("ReplicationFabrics", true) => page::<Fabric, _>(body, fabric_facts)?,
        ("ReplicationProtectedItems", false) => usize::from(!protected_item_facts(one(body)?).name.is_empty()),
        ("ReplicationProtectedItems", true) => page::<ProtectedItem, _>(body, protected_item_facts)?,
        ("ReplicationJobs", false) => usize::from(!job_facts(one(body)?).name.is_empty()),
        ("ReplicationJobs", true) => page::<Job, _>(body, job_facts)?,
        ("ReplicationPolicies", false) => usize::from(!policy_facts(one(body)?).name.is_empty()),
        ("ReplicationPolicies", true) => page::<Policy, _>(body, policy_facts)?,
        ("ReplicationvCenters", false) => usize::from(!vcenter_facts(one(body)?).name.is_empty()),
        ("ReplicationvCenters", true) => page::<VCenter, _>(body, vcenter_facts)?,
        // Not read by the client: the generic resource shape must still parse.
        _ => usize::from(one::<Resource<Value>>(body)?.id.is_some()),
    })
}

#[test]
fn every_spec_example_response_parses_into_facts() {
    let files = example_files(&specs_dir());
    assert!(files.len() >= 16, "expected the 16 shared examples, found {}", files.len());
    let mut bodies = 0;
    for f in &files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let op = f.file_stem().unwrap().to_str().unwrap();
        for (status, rsp) in doc["responses"].as_object().unwrap() {
            let Some(body) = rsp.get("body") else { continue };
            let n = parse_example(op, body.clone()).unwrap_or_else(|e| panic!("{}: {status}: {e}", f.display()));
            assert!(n > 0, "{}: {status}: nothing mapped", f.display());
            bodies += 1;
        }
    }
    assert!(bodies >= 16, "{bodies} bodies");
}

#[test]
fn the_example_protected_item_maps_its_state_and_case_insensitive_ids() {
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(specs_dir().join("2026-11-01/examples/ReplicationProtectedItems_Get.json")).unwrap())
            .unwrap();
    let item = protected_item_facts(serde_json::from_value(doc["responses"]["200"]["body"].clone()).unwrap());
    assert_eq!(item.friendly_name.as_deref(), Some("vm1"));
    assert_eq!(item.provider.as_deref(), Some("HyperVReplicaAzure"));
    assert!(item.id.text().starts_with("/Subscriptions/"));
    assert!(item.id.same_as(&item.id.text().replacen("/Subscriptions/", "/subscriptions/", 1).to_ascii_uppercase()));
    // "1753-01-01T01:01:01Z" is ASR's "never".
    assert_eq!(item.current_scenario.unwrap().start_time, None);
}

fn vmware_fabric() -> Value {
    json!({
        "id": "/Subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/replicationFabrics/cs-fabric-01",
        "name": "cs-fabric-01",
        "properties": { "friendlyName": "cs01", "healthErrorDetails": [{"errorCode": 1234, "errorMessage": "disk", "errorLevel": "Warning"}],
            "customDetails": { "instanceType": "VMware", "hostName": "cs01.corp", "ipAddress": "10.0.0.5",
                "lastHeartbeat": "2026-11-20T10:00:00.1234567Z", "agentVersion": "9.60", "somethingNew": {"x": 1},
                "processServers": [{"id": "ps-guid", "friendlyName": "ps-01", "health": "SomeFutureHealth", "lastHeartbeat": "2026-11-20T10:00:00"}],
                "masterTargetServers": [{"id": "mt-guid", "name": "mt-lin-01", "osType": "Linux", "lastHeartbeat": "0001-01-01T00:00:00",
                    "retentionVolumes": [{"volumeName": "/mnt/retention", "capacityInBytes": 1000, "freeSpaceInBytes": "400", "thresholdPercentage": 80}],
                    "dataStores": [{"symbolicName": "ds-01", "capacity": 2048, "freeSpace": "1024", "type": "vsan"}],
                    "validationErrors": [{"errorCode": "E1", "summaryMessage": "summary only"}]}],
                "runAsAccounts": [{"accountId": "1", "accountName": "vcenter-admin"}] } }
    })
}

#[test]
fn a_vmware_fabric_maps_servers_volumes_datastores_and_accounts() {
    let f = fabric_facts(serde_json::from_value(vmware_fabric()).unwrap());
    assert_eq!(f.host_name.as_deref(), Some("cs01.corp"));
    assert_eq!(f.last_heartbeat.unwrap().to_string(), "2026-11-20T10:00:00.1234567Z");
    assert_eq!(f.health_errors[0].code.as_deref(), Some("1234"));
    let ps = f.process_server("PS-01").unwrap();
    assert_eq!(ps.health.as_deref(), Some("SomeFutureHealth"));
    assert_eq!(ps.last_heartbeat.unwrap().to_string(), "2026-11-20T10:00:00Z");
    let mt = f.master_target("mt-guid").unwrap();
    assert_eq!(mt.last_heartbeat, None);
    assert_eq!(mt.retention_volumes[0].free_space_bytes, Some(400));
    assert_eq!(mt.datastores[0].capacity.as_deref(), Some("2048"));
    assert_eq!(mt.datastores[0].datastore_type.as_deref(), Some("vsan"));
    assert_eq!(mt.validation_errors[0].message.as_deref(), Some("summary only"));
    assert_eq!(f.run_as_accounts[0].account_name, "vcenter-admin");
}

#[test]
fn inmage_policies_map_to_minutes_and_other_providers_do_not() {
    let p = |t: &str| {
        policy_facts(
            serde_json::from_value(json!({"name": "p", "properties": {"providerSpecificDetails": {
        "instanceType": t, "recoveryPointThresholdInMinutes": 15, "recoveryPointHistory": 4320, "appConsistentFrequencyInMinutes": 60}}}))
            .unwrap(),
        )
    };
    let inmage = p("InMage");
    assert_eq!(
        (inmage.rpo_threshold_minutes, inmage.recovery_point_history_minutes, inmage.app_consistent_frequency_minutes),
        (Some(15), Some(4320), Some(60))
    );
    assert_eq!(p("InMageAzureV2").rpo_threshold_minutes, Some(15));
    assert_eq!(p("HyperVReplicaAzure").rpo_threshold_minutes, None);
}

#[test]
fn the_reprotect_body_follows_the_spec() {
    let req = ReprotectRequest {
        item_name: "app-01".into(),
        master_target_id: "mt-guid".into(),
        process_server_id: "ps-guid".into(),
        retention_drive: "/mnt/retention".into(),
        profile_id: "/subscriptions/s/.../replicationPolicies/failback".into(),
        run_as_account_id: None,
        datastore_name: "ds-01".into(),
    };
    let body = serde_json::to_value(reprotect_body(&req)).unwrap();
    assert_eq!(
        body,
        json!({"properties": {"failoverDirection": "RecoveryToPrimary", "providerSpecificDetails": {
        "instanceType": "InMage", "masterTargetId": "mt-guid", "processServerId": "ps-guid", "retentionDrive": "/mnt/retention",
        "datastoreName": "ds-01", "profileId": "/subscriptions/s/.../replicationPolicies/failback"}}})
    );
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(specs_dir().join("2026-11-01/service.extract.json")).unwrap()).unwrap();
    let def = &spec["definitions"]["InMageReprotectInput"];
    let details = &body["properties"]["providerSpecificDetails"];
    for r in def["required"].as_array().unwrap() {
        assert!(details.get(r.as_str().unwrap()).is_some(), "required {r} missing");
    }
    for k in details.as_object().unwrap().keys() {
        assert!(k == "instanceType" || def["properties"].get(k).is_some(), "{k} not in InMageReprotectInput");
    }
    assert_eq!(def["x-ms-discriminator-value"], "InMage");
    let with_account = reprotect_body(&ReprotectRequest { run_as_account_id: Some("2".into()), ..req });
    assert_eq!(serde_json::to_value(with_account).unwrap()["properties"]["providerSpecificDetails"]["runAsAccountId"], "2");
}

#[test]
fn arm_error_bodies_keep_the_asr_codes() {
    let body = br#"{"error":{"code":"BadRequest","message":"Operation failed.","details":[{"code":"95226","message":"Agent cannot register",
        "possibleCauses":"The VM cannot reach the configuration server","recommendedAction":"Open port 443","clientRequestId":"x","activityId":"y"}]}}"#;
    let e = service_error("reprotect", 400, body);
    assert_eq!((e.code.as_str(), e.inner_code.as_deref()), ("BadRequest", Some("95226")));
    assert_eq!(e.possible_causes.as_deref(), Some("The VM cannot reach the configuration server"));
    assert_eq!(e.recommended_action.as_deref(), Some("Open port 443"));
    assert_eq!(SiteRecoveryError::from(e).class(), AsrErrorClass::AgentNotRegistered);

    let top_level = service_error("get_job", 409, br#"{"code":"Conflict","message":"busy"}"#);
    assert_eq!((top_level.code.as_str(), top_level.message.as_str()), ("Conflict", "busy"));
    let html = service_error("get_fabric", 502, b"<html>Bad Gateway</html>");
    assert_eq!(html.code, "Http502");
    assert!(html.message.contains("Bad Gateway"));
    assert_eq!(SiteRecoveryError::from(html).class(), AsrErrorClass::Transient);
}

#[test]
fn a_missing_fabric_is_not_found_whether_asr_answers_400_or_404() {
    let e400 = service_error(
        "get_fabric",
        400,
        br#"{"error":{"code":"BadRequest","message":"m","details":[{"code":"SubscriptionIdNotRegisteredWithSrs","message":"m"}]}}"#,
    );
    let e404 = service_error("get_fabric", 404, br#"{"error":{"code":"FabricArmEntityMissing","message":"Fabric not found"}}"#);
    assert_eq!(SiteRecoveryError::from(e400).class(), AsrErrorClass::NotFound);
    assert_eq!(SiteRecoveryError::from(e404).class(), AsrErrorClass::NotFound);
    let unauthorized = service_error("get_fabric", 403, br#"{"error":{"code":"AuthorizationFailed","message":"no"}}"#);
    assert_eq!(SiteRecoveryError::from(unauthorized).class(), AsrErrorClass::Credentials);
}

#[test]
fn the_job_name_comes_from_the_location_header() {
    let loc = "https://management.azure.com/Subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/replicationFabrics/f/replicationProtectionContainers/c/replicationProtectedItems/i/operationresults/5a2b3c4d-job?api-version=2026-11-01";
    assert_eq!(job_name_from_location(loc).as_deref(), Some("5a2b3c4d-job"));
    assert_eq!(job_name_from_location("https://x/a/OperationResults/j1/").as_deref(), Some("j1"));
    assert_eq!(job_name_from_location("https://x/vaults/v/replicationJobs/j2").as_deref(), Some("j2"));
    assert_eq!(job_name_from_location("https://x/replicationOperationStatus/abc"), None);
}

#[test]
fn the_job_name_comes_from_an_azure_asyncoperation_header_too() {
    // Azure's own reProtect example: only this header.
    let aao = "https://management.azure.com/Subscriptions/c183865e/resourceGroups/resourceGroupPS1/providers/Microsoft.RecoveryServices/vaults/vault1/replicationOperationStatus/a93f3cd5-9035-4b1e-a2c9-b16df6d5d34b?api-version=2026-07-01";
    assert_eq!(job_name_from_async_operation(aao).as_deref(), Some("a93f3cd5-9035-4b1e-a2c9-b16df6d5d34b"));
    assert_eq!(job_name_from_async_operation("https://x/ReplicationOperationStatus/op1/").as_deref(), Some("op1"));
    assert_eq!(job_name_from_async_operation("https://x/vaults/v/replicationJobs/j2?a=b").as_deref(), Some("j2"));
    assert_eq!(job_name_from_async_operation("https://x/replicationOperationStatus/"), None);
    assert_eq!(job_name_from_async_operation("not a url"), None);
}

#[test]
fn ids_match_case_insensitively_and_by_name() {
    let job = JobFacts {
        target_object_id: Some("/Subscriptions/S/resourceGroups/RG/providers/x/replicationProtectedItems/App-01".into()),
        ..Default::default()
    };
    assert!(job_targets(&job, "/subscriptions/s/resourcegroups/rg/providers/x/replicationprotecteditems/app-01"));
    assert!(job_targets(&job, "app-01"));
    assert!(!job_targets(&job, "app-02"));
    let bare = JobFacts { target_object_id: Some("APP-01".into()), ..Default::default() };
    assert!(job_targets(&bare, "/subscriptions/s/x/replicationProtectedItems/app-01"));
    let id = "/Subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/replicationFabrics/CS-Fabric-01/replicationProtectionContainers/cs-container-01/replicationProtectedItems/a";
    assert_eq!(container_of(id, "cs-fabric-01").as_deref(), Some("cs-container-01"));
    assert_eq!(container_of(id, "other"), None);
}

#[test]
fn retry_after_accepts_seconds_and_http_dates() {
    assert_eq!(parse_retry_after("30"), Some(30));
    assert_eq!(parse_retry_after(" 7 "), Some(7));
    assert_eq!(parse_retry_after("1.2"), Some(2));
    assert_eq!(parse_retry_after("soon"), None);
    let future = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(120);
    let date = jiff::fmt::rfc2822::to_string(&future.to_zoned(jiff::tz::TimeZone::UTC)).unwrap();
    let secs = parse_retry_after(&date).unwrap();
    assert!((115..=120).contains(&secs), "{date} -> {secs}");
    assert_eq!(parse_retry_after("Mon, 01 Jan 2001 00:00:00 GMT"), Some(0));
}

#[test]
fn odd_values_never_fail_to_parse() {
    let item: ProtectedItem = serde_json::from_value(json!({"name": "x", "properties": {"protectionState": "SomeNewState",
        "allowedOperations": null, "providerSpecificDetails": {"instanceType": "InMage", "lastHeartbeat": "not a date", "agentDetails": {"agentVersion": "9.6"}},
        "healthErrors": [{"errorCode": 95226}]}})).unwrap();
    let f = protected_item_facts(item);
    assert_eq!(f.protection_state.as_deref(), Some("SomeNewState"));
    assert_eq!(f.agent_last_heartbeat, None);
    assert_eq!(f.health_errors[0].code.as_deref(), Some("95226"));
    let job = job_facts(
        serde_json::from_value(json!({"name": "j", "properties": {"state": "Failed", "errors": [
        {"providerErrorDetails": {"errorCode": 95226, "errorMessage": "agent"}}],
        "tasks": [{"state": "Failed", "errors": [{"serviceErrorDetails": {"code": "78093", "message": "not running"}}]}]}}))
        .unwrap(),
    );
    assert_eq!(job.errors.iter().map(|e| e.code.clone().unwrap()).collect::<Vec<_>>(), ["95226", "78093"]);
    assert_eq!(classify_job_error(&job.errors[0]), AsrErrorClass::AgentNotRegistered);
}

#[test]
fn every_auth_kind_builds_a_client_without_network() {
    use crate::{ArmClient, ArmClientConfig, AzureAuth, CloudConfig, auth::UserAssigned};
    // azure_identity reads the federated token file when the credential is built.
    let token_file = std::env::temp_dir().join(format!("azure-identity-token-{}", std::process::id()));
    std::fs::write(&token_file, "eyJ.e30.c2ln").unwrap();
    for auth in [
        AzureAuth::ClientSecret {
            tenant_id: "00000000-0000-0000-0000-0000000000aa".into(),
            client_id: "c".into(),
            client_secret: "s".into(),
        },
        AzureAuth::WorkloadIdentity { tenant_id: Some("t".into()), client_id: Some("c".into()), token_file: Some(token_file.clone()) },
        AzureAuth::ManagedIdentity { user_assigned: None },
        AzureAuth::ManagedIdentity { user_assigned: Some(UserAssigned::ClientId("c".into())) },
        AzureAuth::StaticToken("t".into()),
    ] {
        ArmClient::new(ArmClientConfig::new(CloudConfig::azure_china(), auth.clone())).unwrap_or_else(|e| panic!("{auth:?}: {e}"));
    }
    let mut bad_ca = ArmClientConfig::new(CloudConfig::default(), AzureAuth::StaticToken("t".into()));
    bad_ca.extra_ca_pem = Some("not a pem".into());
    assert!(ArmClient::new(bad_ca).is_err());
}

#[test]
fn a_discovered_vcenter_keeps_its_port_whether_azure_sends_it_as_a_string_or_a_number() {
    let vc = |port: Value| -> VCenter {
        serde_json::from_value(json!({"id": "/x/replicationvCenters/vc1", "name": "vc1",
            "properties": {"friendlyName": "vcsim.corp.local", "ipAddress": "127.0.0.1", "port": port}}))
        .unwrap()
    };
    assert_eq!(vcenter_facts(vc(json!("8443"))).port, Some(8443));
    assert_eq!(vcenter_facts(vc(json!(443))).port, Some(443));
    assert_eq!(vcenter_facts(vc(json!("not a port"))).port, None);
    let wanted = ServerAddress::parse("https://127.0.0.1:8443/sdk").unwrap();
    assert!(vcenter_facts(vc(json!("8443"))).is_server(&wanted), "found by IP on the port Azure reports");
    assert!(!vcenter_facts(vc(json!("443"))).is_server(&wanted), "another port is another vCenter");
}

#[test]
fn two_items_and_two_jobs_of_a_vault_hold_their_repeated_texts_once() {
    let item = |name: &str| -> ProtectedItem {
        serde_json::from_value(json!({"id": format!("/x/replicationProtectedItems/{name}"), "name": name,
            "properties": {"friendlyName": name, "protectionState": "Protected", "policyId": "/x/replicationPolicies/24-hour",
                "allowedOperations": ["ReverseReplicate"], "providerSpecificDetails": {"instanceType": "InMageAzureV2",
                "processServerId": "ps-guid-01", "vmId": format!("vm-guid-{name}")}}}))
        .unwrap()
    };
    let (a, b) = (protected_item_facts(item("vm-0001")), protected_item_facts(item("vm-0002")));
    let same = |x: &Option<SharedText>, y: &Option<SharedText>| std::ptr::eq(x.as_deref().unwrap(), y.as_deref().unwrap());
    assert!(same(&a.protection_state, &b.protection_state) && same(&a.policy_id, &b.policy_id) && same(&a.provider, &b.provider));
    assert!(same(&a.process_server_id, &b.process_server_id));
    // The list itself, not only its texts: one copy for the items in the same state.
    assert!(std::ptr::eq(&*a.allowed_operations, &*b.allowed_operations) && a.allowed_operations[0] == "ReverseReplicate");
    assert_eq!((a.vm_id.as_deref(), b.vm_id.as_deref()), (Some("vm-guid-vm-0001"), Some("vm-guid-vm-0002")));
    let job = |name: &str| {
        job_facts(
            serde_json::from_value(json!({"name": name, "properties": {"scenarioName": "Reprotect", "state": "Succeeded",
                "tasks": [{"name": "PreflightChecks", "friendlyName": "Prerequisites check", "state": "Succeeded"},
                    {"name": "ReverseReplication", "state": "inProgress"}, {"name": "Finish"}]}}))
            .unwrap(),
        )
    };
    let (j, k) = (job("job-1"), job("job-2"));
    assert!(same(&j.scenario_name, &k.scenario_name) && same(&j.state, &k.state));
    assert_eq!(j.progress(), (1, 3), "a job keeps how many of its tasks succeeded, of how many, not the tasks");
}

#[test]
fn a_write_is_stamped_under_its_vault_and_target_whatever_the_casing_or_form_of_the_target() {
    let vault: VaultKey = ("sub".into(), "rg".into(), "vault-dr-01".into());
    let other: VaultKey = ("sub".into(), "rg".into(), "vault-dr-02".into());
    let id = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/vault-dr-01/replicationFabrics/f/replicationProtectionContainers/c/replicationProtectedItems/VM-0001";
    assert_eq!(target_key(&vault, "vm-0001"), target_key(&vault, id));
    assert_ne!(target_key(&vault, "vm-0001"), target_key(&vault, "vm-0002"));
    assert_ne!(target_key(&vault, "vm-0001"), target_key(&other, "vm-0001"));
}
