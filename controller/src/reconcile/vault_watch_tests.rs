//! The vault watch's pure parts: what counts as a change, and which machines wake.

use super::*;

use crate::testing::example;
use jiff::{SignedDuration, Timestamp};
use reprotect_facts::JobFacts;

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

    after[2].name = "DB-01".into();
    let (seen, changed) = changed_items(Some(&seen), &after);
    assert!(changed.is_empty(), "an item's name in another case is the same item");

    after[0].protection_state = Some("FailedOver".into());
    let (_, changed) = changed_items(Some(&seen), &after);
    let names: Vec<&str> = changed.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["app-01"]);
    let woken: Vec<String> = machines_to_wake(&machines(), &policy(), &changed).into_iter().map(|r| r.name).collect();
    assert_eq!(woken, ["app-01"]);
}

#[test]
fn a_woken_machine_is_queued_by_name_and_namespace_only() {
    let mut stored = machines();
    for m in &mut stored {
        m.metadata.uid = Some(format!("uid-of-{}", m.name_any()));
        m.metadata.resource_version = Some("7".into());
    }
    let woken = machines_to_wake(&stored, &policy(), &[item("app-01", "FailedOver")]);
    let [app] = woken.as_slice() else { panic!("{woken:?}") };
    assert_eq!(app.name, "app-01");
    assert_eq!((app.extra.uid.as_deref(), app.extra.resource_version.as_deref()), (None, None));
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
    let ages = settled_vault_age(&pm, &settings).expect("settled");
    assert_eq!(ages.vault, settings.vault_watch_interval + Duration::from_secs(60), "fabric, policies, vCenters");
    assert_eq!(ages.items, settings.vault_sweep_interval + Duration::from_secs(60), "the item list: the watch's latest listing");
    pm.metadata.generation = Some(3);
    assert_eq!(settled_vault_age(&pm, &settings), None, "a spec change is evaluated on fresh answers");
    pm.status = Some(ProtectedMachineStatus { phase: Phase::Reprotecting, observed_generation: Some(3), ..Default::default() });
    assert_eq!(settled_vault_age(&pm, &settings), None, "a job in flight reads at the usual interval");
    let off = Settings { vault_watch_interval: Duration::ZERO, ..Settings::default() };
    pm.status = Some(ProtectedMachineStatus { phase: Phase::ProtectedToAzure, observed_generation: Some(3), ..Default::default() });
    assert_eq!(settled_vault_age(&pm, &off), None, "without the watch nothing is relaxed");
    assert!(settled_vault_age(&pm, &settings).is_some());
}

fn job(name: &str, state: &str, start: Timestamp) -> JobFacts {
    JobFacts { name: name.into(), state: Some(state.into()), start_time: Some(start), ..Default::default() }
}

fn at(minute: i64) -> Timestamp {
    Timestamp::UNIX_EPOCH + SignedDuration::from_hours(24 * 365 * 56) + SignedDuration::from_mins(minute)
}

#[test]
fn the_feed_reads_from_five_minutes_before_azures_time_at_the_last_read_or_from_an_unfinished_jobs_start() {
    let mut state = VaultWatchState::default();
    assert_eq!(feed_since(&state, at(100)), at(95), "nothing seen yet: five minutes before our now");
    // Azure's clock runs twenty minutes ahead of ours here: the anchor is the newest job's start, not our now.
    note_jobs(&mut state, &[job("a", "Succeeded", at(120)), job("b", "Succeeded", at(118))], at(95), at(100));
    assert_eq!(feed_since(&state, at(100)), at(115));
    assert_eq!(feed_since(&state, at(110)), at(115), "ten quiet minutes later: still five minutes before the last read");
    note_jobs(&mut state, &[], at(115), at(110));
    assert_eq!(feed_since(&state, at(114)), at(125), "a read moves the bound on: five minutes before it");
    note_jobs(&mut state, &[job("c", "InProgress", at(117)), job("e", "Succeeded", at(130))], at(115), at(100));
    assert_eq!(feed_since(&state, at(100)), at(117), "the unfinished job's end is a change the feed must see");
    note_jobs(&mut state, &[job("d", "InProgress", at(-1000))], at(-2000), at(100));
    assert_eq!(feed_since(&state, at(100)), at(130 - 360), "never more than six hours back");
}

#[test]
fn a_job_that_started_before_the_last_read_and_shows_only_at_the_next_is_read() {
    let mut state = VaultWatchState::default();
    note_jobs(&mut state, &[job("reprotect", "Succeeded", at(100))], at(95), at(100));
    // A failover that started at minute 98 shows (finished) after the read at 100; the next read is at 104.
    let since = feed_since(&state, at(104));
    assert!(since <= at(98), "the read at 104 starts at {since}, after the failover's start");
    assert!(note_jobs(&mut state, &[job("failover", "Succeeded", at(98))], since, at(104)), "a new job: the items are listed");
}

#[test]
fn a_job_seen_again_in_the_same_state_is_no_news_and_a_new_or_moved_job_is() {
    let mut state = VaultWatchState::default();
    let now = at(20);
    assert!(note_jobs(&mut state, &[job("a", "InProgress", at(10))], at(5), now), "a new job");
    assert!(!note_jobs(&mut state, &[job("A", "InProgress", at(10))], at(5), now), "the same job, the same state");
    assert!(!note_jobs(&mut state, &[job("a", "inProgress", at(10))], at(5), now), "the same state, spelled in another case");
    assert!(note_jobs(&mut state, &[job("a", "Succeeded", at(10))], at(5), now), "it finished");
    assert!(!note_jobs(&mut state, &[], at(5), now), "nothing");
    note_jobs(&mut state, &[], at(11), now);
    assert!(state.jobs.is_empty(), "jobs older than the read's bound are forgotten");
}

#[test]
fn the_items_are_listed_first_then_every_sweep_interval_and_at_once_when_a_job_moved_or_the_feed_failed() {
    let every = Duration::from_secs(15 * 60);
    let mut state = VaultWatchState::default();
    assert!(listing_due(&state, at(0), every, Some(false)), "never listed");
    state.listed_at = Some(at(0));
    assert!(!listing_due(&state, at(4), every, Some(false)), "nothing moved: the jobs page was all this look read");
    assert!(listing_due(&state, at(4), every, Some(true)), "a job moved");
    assert!(listing_due(&state, at(4), every, None), "the feed could not be read");
    assert!(listing_due(&state, at(15), every, Some(false)), "the sweep interval passed");
}
