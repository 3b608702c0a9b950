//! The vault watch's pure parts: what counts as a change, and which machines wake.

use super::*;

use crate::testing::example;

fn machines() -> Vec<ProtectedMachine> {
    let text = include_str!("../../../examples/03-machines.yaml");
    ["app-01", "app-02", "db-01"].iter().map(|name| example(text, name)).collect()
}

fn policy() -> ReprotectPolicy {
    example(include_str!("../../../examples/01-policy.yaml"), "dr-failback")
}

fn item(name: &str, state: &str) -> ProtectedItemFacts {
    ProtectedItemFacts { name: name.into(), protection_state: Some(state.into()), rpo_seconds: Some(30), ..Default::default() }
}

#[test]
fn an_item_whose_state_changes_wakes_its_machine_and_a_new_rpo_figure_wakes_nobody() {
    let before = vec![item("app-01", "Protected"), item("app-02", "Protected"), item("db-01", "Protected")];
    let (seen, changed) = changed_items(None, &before);
    assert!(changed.is_empty(), "the first read of a vault wakes nobody");

    let mut after = before.clone();
    after[1].rpo_seconds = Some(900);
    after[2].agent_last_heartbeat = Some(jiff::Timestamp::UNIX_EPOCH);
    let (seen, changed) = changed_items(Some(&seen), &after);
    assert!(changed.is_empty(), "RPO and heartbeat figures are the machines' own timed passes' business");

    after[0].protection_state = Some("FailedOver".into());
    let (_, changed) = changed_items(Some(&seen), &after);
    let names: Vec<&str> = changed.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["app-01"]);
    let woken: Vec<String> = machines_to_wake(&machines(), &policy(), &changed).into_iter().map(|r| r.name).collect();
    assert_eq!(woken, ["app-01"]);
}

#[test]
fn a_new_job_on_an_item_is_a_change_and_machines_of_another_policy_stay_asleep() {
    let before = vec![item("app-02", "Protected")];
    let (seen, _) = changed_items(None, &before);
    let mut after = before.clone();
    after[0].current_scenario = Some(reprotect_facts::CurrentScenarioFacts {
        scenario_name: Some("UnplannedFailover".into()),
        job_id: Some("job-1".into()),
        ..Default::default()
    });
    let (_, changed) = changed_items(Some(&seen), &after);
    assert_eq!(changed.len(), 1);
    let mut other = policy();
    other.metadata.name = Some("another-policy".into());
    assert!(machines_to_wake(&machines(), &other, &changed).is_empty());
    assert_eq!(machines_to_wake(&machines(), &policy(), &changed).len(), 1);
}

#[test]
fn only_a_settled_machine_whose_spec_was_seen_accepts_the_watchs_list() {
    use crate::context::Settings;
    use crate::crd::{Phase, ProtectedMachineStatus};
    use crate::reconcile::protected_machine::observe::settled_vault_age;
    let settings = Settings::default();
    let mut pm = machines().remove(0);
    pm.metadata.generation = Some(2);
    assert_eq!(settled_vault_age(&pm, &settings), None, "never looked at");
    pm.status = Some(ProtectedMachineStatus { phase: Phase::Protected, observed_generation: Some(2), ..Default::default() });
    assert_eq!(settled_vault_age(&pm, &settings), Some(settings.vault_watch_interval + Duration::from_secs(60)));
    pm.metadata.generation = Some(3);
    assert_eq!(settled_vault_age(&pm, &settings), None, "a spec change is evaluated on fresh answers");
    pm.status = Some(ProtectedMachineStatus { phase: Phase::Reprotecting, observed_generation: Some(3), ..Default::default() });
    assert_eq!(settled_vault_age(&pm, &settings), None, "a job in flight reads at the usual interval");
    let off = Settings { vault_watch_interval: Duration::ZERO, ..Settings::default() };
    pm.status = Some(ProtectedMachineStatus { phase: Phase::ProtectedToAzure, observed_generation: Some(3), ..Default::default() });
    assert_eq!(settled_vault_age(&pm, &off), None, "without the watch nothing is relaxed");
    assert!(settled_vault_age(&pm, &settings).is_some());
}
