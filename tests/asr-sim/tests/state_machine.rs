//! The pure world: agent registration delay, job progress, and reprotect validation with explicit `now`.

use asr_sim::state::{JobState, World, mt_id};
use asr_sim::{Scenario, json};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

fn small() -> Scenario {
    Scenario::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/small.yaml")).unwrap()
}

fn t0() -> Timestamp {
    "2030-01-01T12:00:00Z".parse().unwrap()
}

fn ids(w: &World) -> (String, String, String) {
    let f = &w.vaults[0].fabrics[0];
    let mt = |n: &str| mt_id(&f.name, f.master_targets.iter().find(|m| m.name == n).unwrap());
    (mt("mt-win-01"), mt("mt-lin-01"), json::ps_id(f, &f.process_servers[0]))
}

fn body(mt: &str, ps: &str, retention: &str, ds: &str) -> Value {
    json!({"properties": {"failoverDirection": "RecoveryToPrimary", "providerSpecificDetails": {
        "instanceType": "InMage", "masterTargetId": mt, "processServerId": ps, "retentionDrive": retention,
        "datastoreName": ds, "profileId": "/Subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-dr/providers/Microsoft.RecoveryServices/vaults/vault-dr/replicationPolicies/failback-policy",
        "runAsAccountId": "1"}}})
}

// The simulator returns its ARM error body by value (see the crate-level allow in lib.rs).
#[allow(clippy::result_large_err)]
fn reprotect(w: &mut World, item: &str, b: &Value, now: Timestamp) -> Result<asr_sim::state::Job, asr_sim::validate::AsrError> {
    w.reprotect(0, "cs-fabric-01", "cs-container-01", item, b, now)
}

#[test]
fn the_agent_registers_only_after_the_registration_delay_since_failover() {
    let w = World::new(&small(), t0());
    let it = &w.vaults[0].items[4]; // web-legacy: failed over 5 min ago, 15 min delay
    assert_eq!(it.name, "web-legacy");
    assert!(!it.agent_registered(t0()));
    assert!(it.agent_last_heartbeat(t0()) < it.failover_time.unwrap());
    let later = t0() + SignedDuration::from_mins(10);
    assert!(it.agent_registered(later));
    assert_eq!(it.agent_last_heartbeat(later), later);
}

#[test]
fn a_forced_registration_overrides_the_clock() {
    let mut w = World::new(&small(), t0());
    assert!(w.set_agent_registered("app-01", Some(false)));
    assert!(!w.vaults[0].items[0].agent_registered(t0() + SignedDuration::from_hours(5)));
    assert!(!w.set_agent_registered("nope", Some(true)));
}

#[test]
fn a_reprotect_job_progresses_through_its_tasks_and_protects_the_item() {
    let mut w = World::new(&small(), t0());
    let (win, _, ps) = ids(&w);
    let job = reprotect(&mut w, "app-01", &body(&win, &ps, "R:", "ds-vmfs-01"), t0()).unwrap();
    let it = &w.vaults[0].items[0];
    assert_eq!(it.current_job.as_ref().unwrap().0, job.name);
    assert!(!it.allowed_operations.iter().any(|o| o == "ReverseReplicate"));
    let half = t0() + SignedDuration::from_secs(61);
    w.advance(half);
    let j = w.vaults[0].job(&job.name).unwrap();
    assert_eq!(j.state, JobState::InProgress);
    assert_eq!((j.task_state(0, half), j.task_state(1, half), j.task_state(2, half)), ("Succeeded", "Succeeded", "InProgress"));
    w.advance(t0() + SignedDuration::from_secs(120));
    let j = w.vaults[0].job(&job.name).unwrap();
    assert_eq!(j.state, JobState::Succeeded);
    assert_eq!(j.end, Some(t0() + SignedDuration::from_secs(120)));
    let it = &w.vaults[0].items[0];
    // As recorded (REC-FB): after Azure->on-premises reprotect the item reports Azure as its primary.
    assert_eq!((it.provider.as_str(), it.protection_state.as_str(), it.active_location.as_str()), ("InMage", "Protected", "Primary"));
    assert!(it.current_job.is_none());
    assert!(it.allowed_operations.contains(&"UnplannedFailover".to_string()));
}

#[test]
fn a_reprotect_whose_prerequisites_check_passed_is_not_failed_by_the_agent_going_away_later() {
    let mut w = World::new(&small(), t0());
    let (win, _, ps) = ids(&w);
    let job = reprotect(&mut w, "app-01", &body(&win, &ps, "R:", "ds-vmfs-01"), t0()).unwrap();
    w.advance(t0() + SignedDuration::from_secs(61));
    assert_eq!(w.vaults[0].job(&job.name).unwrap().state, JobState::InProgress);
    // The check (the first task) is over; the agent stopping reporting now does not reopen it.
    assert!(w.set_agent_registered("app-01", Some(false)));
    w.advance(t0() + SignedDuration::from_secs(120));
    assert_eq!(w.vaults[0].job(&job.name).unwrap().state, JobState::Succeeded);
}

#[test]
fn a_reprotect_fails_with_95226_while_the_agent_has_not_registered() {
    let mut w = World::new(&small(), t0());
    let (win, _, ps) = ids(&w);
    let job = reprotect(&mut w, "web-legacy", &body(&win, &ps, "R:", "ds-vmfs-01"), t0()).unwrap();
    w.advance(t0() + SignedDuration::from_secs(31));
    let j = w.vaults[0].job(&job.name).unwrap();
    assert_eq!(j.state, JobState::Failed);
    let e = j.error.as_ref().unwrap();
    assert_eq!(e.inner_code, "95226");
    assert!(e.message.contains("agent is not installed"));
    let it = &w.vaults[0].items[4];
    assert_eq!(it.provider, "InMageAzureV2");
    assert!(it.allowed_operations.iter().any(|o| o == "ReverseReplicate"), "retry is allowed again");
    // After the delay, a retry succeeds.
    let later = t0() + SignedDuration::from_mins(11);
    let job2 = reprotect(&mut w, "web-legacy", &body(&win, &ps, "R:", "ds-vmfs-01"), later).unwrap();
    w.advance(later + SignedDuration::from_mins(3));
    assert_eq!(w.vaults[0].job(&job2.name).unwrap().state, JobState::Succeeded);
}

#[test]
fn the_job_duration_comes_from_the_scenario() {
    let mut sc = small();
    sc.defaults.job_duration = SignedDuration::from_secs(4);
    let mut w = World::new(&sc, t0());
    let (win, _, ps) = ids(&w);
    let job = reprotect(&mut w, "app-02", &body(&win, &ps, "R:", "ds-vmfs-01"), t0()).unwrap();
    w.advance(t0() + SignedDuration::from_secs(3));
    assert_eq!(w.vaults[0].job(&job.name).unwrap().state, JobState::InProgress);
    w.advance(t0() + SignedDuration::from_secs(4));
    assert_eq!(w.vaults[0].job(&job.name).unwrap().state, JobState::Succeeded);
}

fn inner(w: &mut World, item: &str, b: Value) -> (u16, String) {
    let e = reprotect(w, item, &b, t0()).unwrap_err();
    (e.status, e.inner_code)
}

#[test]
fn invalid_reprotect_inputs_are_refused_with_asr_codes() {
    let mut w = World::new(&small(), t0());
    let (win, lin, ps) = ids(&w);
    let ok = body(&win, &ps, "R:", "ds-vmfs-01");
    assert_eq!(inner(&mut w, "app-01", body("nope", &ps, "R:", "ds-vmfs-01")), (400, "MasterTargetServerNotFound".into()));
    assert_eq!(inner(&mut w, "app-01", body(&win, "nope", "R:", "ds-vmfs-01")), (400, "ProcessServerNotFound".into()));
    assert_eq!(inner(&mut w, "app-01", body(&win, &ps, "S:", "ds-vmfs-01")), (400, "RetentionVolumeNotFound".into()));
    assert_eq!(inner(&mut w, "app-01", body(&win, &ps, "R:", "ds-other")), (400, "DatastoreNotFound".into()));
    assert_eq!(inner(&mut w, "app-01", body(&win, &ps, "R:", "ds-nfs-01")), (400, "DatastoreTypeNotSupported".into()));
    assert_eq!(inner(&mut w, "app-01", body(&lin, &ps, "/mnt/retention", "ds-vmfs-01")), (400, "MasterTargetOsTypeMismatch".into()));
    assert_eq!(inner(&mut w, "db-01", body(&win, &ps, "R:", "ds-vmfs-01")), (400, "MasterTargetOsTypeMismatch".into()));
    let mut b = ok.clone();
    b["properties"]["providerSpecificDetails"]["instanceType"] = json!("InMageAzureV2");
    assert_eq!(inner(&mut w, "app-01", b), (400, "InvalidProviderSpecificInput".into()));
    let mut b = ok.clone();
    b["properties"]["failoverDirection"] = json!("PrimaryToRecovery");
    assert_eq!(inner(&mut w, "app-01", b), (400, "InvalidFailoverDirection".into()));
    let mut b = ok.clone();
    b["properties"]["providerSpecificDetails"]["profileId"] = json!("forward-policy");
    assert_eq!(inner(&mut w, "app-01", b), (400, "InvalidPolicyId".into()));
    let mut b = ok.clone();
    b["properties"]["providerSpecificDetails"].as_object_mut().unwrap().remove("retentionDrive");
    assert_eq!(inner(&mut w, "app-01", b), (400, "MissingRequiredParameter".into()));
    assert_eq!(inner(&mut w, "app-01", json!({})), (400, "InvalidRequestContent".into()));
    assert_eq!(inner(&mut w, "ghost", ok.clone()), (404, "ReplicationProtectedItemNotFound".into()));
}

#[test]
fn a_second_reprotect_while_one_runs_conflicts_and_a_protected_item_is_not_reprotectable() {
    let mut w = World::new(&small(), t0());
    let (win, _, ps) = ids(&w);
    let ok = body(&win, &ps, "R:", "ds-vmfs-01");
    reprotect(&mut w, "app-03", &ok, t0()).unwrap();
    assert_eq!(inner(&mut w, "app-03", ok.clone()), (409, "ProtectionOperationInProgress".into()));
    w.advance(t0() + SignedDuration::from_mins(5));
    let e = reprotect(&mut w, "app-03", &ok, t0() + SignedDuration::from_mins(5)).unwrap_err();
    assert_eq!(e.inner_code, "OperationNotAllowedInCurrentState");
}

#[test]
fn a_missing_fabric_answers_400_or_404_as_the_scenario_says() {
    let mut sc = small();
    let mut w = World::new(&sc, t0());
    let e = w.reprotect(0, "cs-gone", "cs-container-01", "app-01", &json!({}), t0()).unwrap_err();
    assert_eq!((e.status, e.code.as_str(), e.inner_code.as_str()), (400, "BadRequest", "SubscriptionIdNotRegisteredWithSrs"));
    sc.defaults.missing_fabric = asr_sim::scenario::MissingFabricMode::NotFound;
    let mut w = World::new(&sc, t0());
    let e = w.reprotect(0, "cs-gone", "cs-container-01", "app-01", &json!({}), t0()).unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (404, "FabricArmEntityMissing"));
}

#[test]
fn scenario_files_parse_and_generate_sections_expand() {
    let large = Scenario::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/large.yaml")).unwrap();
    let w = World::new(&large, t0());
    assert_eq!(w.vaults.len(), 10);
    assert!(w.vaults.iter().all(|v| v.items.len() == 100));
    assert_eq!(w.vaults[0].name, "vault-dr-01");
    assert_eq!(w.vaults[0].items[3].os, "Linux");
    let demo = Scenario::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/demo.yaml")).unwrap();
    let w = World::new(&demo, t0());
    assert_eq!(w.vaults.len(), 3);
    assert_eq!(w.vaults[1].items.len(), 12);
    let minimal = Scenario::from_yaml("vaults: [{items: [{name: x, unknown_field: 1}]}]\nsomething_else: true\n").unwrap();
    let w = World::new(&minimal, t0());
    assert_eq!((w.vaults[0].name.as_str(), w.vaults[0].items[0].fabric.as_str()), ("vault-dr", "cs-fabric-01"));
}

#[test]
fn durations_accept_seconds_and_friendly_strings() {
    let sc = Scenario::from_yaml("defaults: {agent_registration_delay: 2.5, job_duration: 15m, failed_over_ago: PT1H}").unwrap();
    assert_eq!(sc.defaults.agent_registration_delay, SignedDuration::from_millis(2500));
    assert_eq!(sc.defaults.job_duration, SignedDuration::from_mins(15));
    assert_eq!(sc.defaults.failed_over_ago, SignedDuration::from_hours(1));
}
