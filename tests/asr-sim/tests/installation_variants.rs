//! Shapes real installations show and a kind simulator would not: a generic service code in front of ASR's own
//! code, job states outside the documented set, and an item that fails over again after it was protected.

use asr_sim::Scenario;
use asr_sim::json_items::job;
use asr_sim::state::{JobState, World, mt_id};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

fn small() -> Scenario {
    Scenario::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/small.yaml")).unwrap()
}

fn t0() -> Timestamp {
    "2030-01-01T12:00:00Z".parse().unwrap()
}

fn body(w: &World) -> Value {
    let f = &w.vaults[0].fabrics[0];
    let mt = mt_id(&f.name, f.master_targets.iter().find(|m| m.name == "mt-win-01").unwrap());
    json!({"properties": {"failoverDirection": "RecoveryToPrimary", "providerSpecificDetails": {
        "instanceType": "InMage", "masterTargetId": mt, "processServerId": asr_sim::json::ps_id(f, &f.process_servers[0]),
        "retentionDrive": "R:", "datastoreName": "ds-vmfs-01", "runAsAccountId": "1",
        "profileId": "/Subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-dr/providers/Microsoft.RecoveryServices/vaults/vault-dr/replicationPolicies/failback-policy"}}})
}

#[test]
fn a_job_error_can_carry_a_generic_service_code_with_asr_s_code_only_in_the_provider_details() {
    let mut sc = small();
    sc.defaults.job_service_code = Some("539".into());
    let mut w = World::new(&sc, t0());
    let b = body(&w);
    // web-legacy failed over 5 minutes ago: its agent has not registered, the job fails with 95226.
    let j = w.reprotect(0, "cs-fabric-01", "cs-container-01", "web-legacy", &b, t0()).unwrap();
    let later = t0() + SignedDuration::from_mins(1);
    w.advance(later);
    let v = &w.vaults[0];
    let doc = job(v, v.job(&j.name).unwrap(), later);
    let e = &doc["properties"]["errors"][0];
    assert_eq!(e["serviceErrorDetails"]["code"], "539");
    assert_eq!(e["providerErrorDetails"]["errorCode"], 95226);
}

#[test]
fn a_running_job_of_an_item_scripted_so_reports_a_state_outside_the_documented_set() {
    let mut sc = small();
    sc.vaults[0].items[0].job_state = Some("Suspended".into());
    let mut w = World::new(&sc, t0());
    let b = body(&w);
    let j = w.reprotect(0, "cs-fabric-01", "cs-container-01", "app-01", &b, t0()).unwrap();
    let v = &w.vaults[0];
    assert_eq!(job(v, v.job(&j.name).unwrap(), t0())["properties"]["state"], "Suspended");
    // Once finished, the documented state again.
    let done = t0() + SignedDuration::from_mins(5);
    w.advance(done);
    let v = &w.vaults[0];
    assert_eq!(v.job(&j.name).unwrap().state, JobState::Succeeded);
    assert_eq!(job(v, v.job(&j.name).unwrap(), done)["properties"]["state"], "Succeeded");
}

#[test]
fn an_item_protected_before_fails_over_again_with_a_new_failover_time_and_reverse_replicate_allowed() {
    let mut w = World::new(&small(), t0());
    let b = body(&w);
    w.reprotect(0, "cs-fabric-01", "cs-container-01", "app-01", &b, t0()).unwrap();
    let protected_at = t0() + SignedDuration::from_mins(5);
    w.advance(protected_at);
    assert_eq!(w.vaults[0].items[0].provider, "InMage");
    let months_later = t0() + SignedDuration::from_hours(24 * 90);
    assert!(w.fail_over_again("APP-01", months_later), "found case-insensitively");
    let it = &w.vaults[0].items[0];
    assert_eq!((it.provider.as_str(), it.active_location.as_str()), ("InMageAzureV2", "Recovery"));
    assert_eq!(it.failover_time, Some(months_later));
    assert!(it.allowed_operations.iter().any(|o| o == "ReverseReplicate"));
    assert!(!it.agent_registered(months_later), "the agent registers again only after the delay");
    assert!(!w.fail_over_again("nope", months_later));
    // A new reprotect is accepted.
    w.reprotect(0, "cs-fabric-01", "cs-container-01", "app-01", &b, months_later + SignedDuration::from_mins(20)).unwrap();
}

#[test]
fn an_item_fails_over_again_in_the_one_vault_named_and_its_namesake_in_another_vault_stays_protected() {
    let vault = |name: &str| {
        format!(
            "  - {{ subscription: 00000000-0000-0000-0000-000000000001, resource_group: rg-dr, name: {name}, generate: {{ count: 2, prefix: vm-, linux_every: 0, group_size: 0 }} }}\n"
        )
    };
    let yaml =
        format!("defaults: {{ agent_registration_delay: 0s, failed_over_ago: 1m }}\nvaults:\n{}{}", vault("vault-a"), vault("vault-b"));
    let mut w = World::new(&Scenario::from_yaml(&yaml).unwrap(), t0());
    let failed_over_at = |w: &World, v: usize| w.vaults[v].items.iter().find(|i| i.name == "vm-0001").and_then(|i| i.failover_time);
    let jobs = |w: &World, v: usize| w.vaults[v].jobs.len();
    let (before, jobs_before) = (failed_over_at(&w, 1), jobs(&w, 1));
    let later = t0() + SignedDuration::from_hours(1);

    assert!(w.fail_over_again_in(Some("VAULT-A"), "vm-0001", later), "the vault is found whatever the case");
    assert_eq!(failed_over_at(&w, 0), Some(later));
    assert_eq!(jobs(&w, 0), jobs_before + 1, "with its finished failover job");
    assert_eq!(failed_over_at(&w, 1), before, "the other vault's vm-0001 is untouched");
    assert_eq!(jobs(&w, 1), jobs_before, "and has no new job");
    assert!(!w.fail_over_again_in(Some("vault-c"), "vm-0001", later));
}
