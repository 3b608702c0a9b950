//! What a store keeps, what wakes a controller and what it queues, how a wake waits for its store.

use super::*;
use crate::crd::{ProtectedMachine, ProtectedMachineStatus, ReprotectPolicy, queue_ref};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use kube::Resource;

fn policy_at(version: &str) -> ReprotectPolicy {
    let mut p: ReprotectPolicy = crate::testing::example(include_str!("../../examples/01-policy.yaml"), "dr-failback");
    p.meta_mut().namespace = Some("ns".into());
    p.meta_mut().resource_version = Some(version.into());
    p
}

#[tokio::test]
async fn a_wake_waits_until_the_store_holds_the_version_that_caused_it() {
    let (reader, mut writer) = reflector::store::<ReprotectPolicy>();
    writer.apply_watcher_event(&watcher::Event::Apply(policy_at("1")));
    let newer = policy_at("2");
    let started = tokio::time::Instant::now();
    let late = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        writer.apply_watcher_event(&watcher::Event::Apply(policy_at("2")));
    };
    let (woke, ()) = tokio::join!(until_stored(reader.clone(), newer, std::time::Duration::from_secs(5)), late);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300), "woke before the store had version 2");
    assert_eq!(woke.meta().resource_version.as_deref(), Some("2"));
    assert_eq!(reader.get(&ObjectRef::from_obj(&woke)).and_then(|p| p.meta().resource_version.clone()).as_deref(), Some("2"));

    // Already stored: no wait. Never stored: the limit bounds the wait.
    let started = tokio::time::Instant::now();
    until_stored(reader.clone(), policy_at("2"), std::time::Duration::from_secs(5)).await;
    assert!(started.elapsed() < std::time::Duration::from_millis(200));
    let started = tokio::time::Instant::now();
    until_stored(reader, policy_at("3"), std::time::Duration::from_millis(100)).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[tokio::test]
async fn the_trigger_queues_a_machine_by_name_and_namespace_while_its_store_keeps_uid_and_version() {
    let mut pm: ProtectedMachine = crate::testing::example(include_str!("../../examples/03-machines.yaml"), "app-01");
    pm.meta_mut().namespace = Some("dr".into());
    pm.meta_mut().uid = Some("5377227d-e924-eebc-fb4d-0123456789ab".into());
    pm.meta_mut().resource_version = Some("41".into());
    pm.meta_mut().generation = Some(1);
    let (reader, writer) = reflector::store::<ProtectedMachine>();
    let events = futures::stream::iter([Ok(watcher::Event::Apply(pm.clone()))]);

    let triggered: Vec<ProtectedMachine> = trigger_from(events, writer, |_| ()).try_collect().await.unwrap();

    let [queued] = triggered.as_slice() else { panic!("one trigger for one new machine: {triggered:?}") };
    assert_eq!((queued.meta().uid.as_deref(), queued.meta().resource_version.as_deref()), (None, None));
    let queued_ref = ObjectRef::from_obj(queued);
    assert_eq!((queued_ref.extra.uid, queued_ref.extra.resource_version), (None, None), "the controller queues a bare reference");
    let queued_ref = queue_ref(queued);
    let stored = reader.get(&queued_ref).expect("the bare reference finds the stored machine");
    assert_eq!(stored.meta().uid, pm.meta().uid);
    assert_eq!(stored.meta().resource_version.as_deref(), Some("41"));
}

#[test]
fn a_stored_machine_keeps_spec_status_and_annotations_but_not_managed_fields_or_kubectls_copy() {
    let mut pm: ProtectedMachine = crate::testing::example(include_str!("../../examples/03-machines.yaml"), "app-01");
    pm.meta_mut().managed_fields = Some(vec![ManagedFieldsEntry { manager: Some("kubectl".into()), ..Default::default() }]);
    let annotations = pm.meta_mut().annotations.get_or_insert_with(Default::default);
    annotations.insert(LAST_APPLIED.into(), "{\"spec\":{}}".into());
    annotations.insert(crate::crd::common::PAUSED_ANNOTATION.into(), "true".into());
    pm.status = Some(ProtectedMachineStatus { checks_passed: Some("34/37".into()), ..Default::default() });
    let spec_before = serde_json::to_value(&pm.spec).unwrap();

    slim_for_store(&mut pm);

    assert_eq!(pm.meta().managed_fields, None);
    let annotations = pm.meta().annotations.clone().unwrap_or_default();
    assert!(!annotations.contains_key(LAST_APPLIED), "{annotations:?}");
    assert!(crate::crd::common::paused_by_annotation(pm.meta()), "the pause annotation is kept");
    assert_eq!(pm.status.and_then(|s| s.checks_passed).as_deref(), Some("34/37"));
    assert_eq!(serde_json::to_value(&pm.spec).unwrap(), spec_before);
}

#[test]
fn a_stored_machine_holds_its_status_lists_without_spare_places() {
    let mut pm: ProtectedMachine = serde_json::from_str(include_str!("../benches/fixtures/protected-machine.json")).unwrap();
    let before = pm.status.clone().unwrap_or_default();

    slim_for_store(&mut pm);

    let Some(status) = pm.status.as_ref() else { panic!("the fixture has a status") };
    assert_eq!(status, &before, "nothing but capacity changes");
    assert_eq!(status.passed_check_ids.len(), 46);
    assert_eq!(status.conditions.capacity(), status.conditions.len());
}

fn machine(version: &str, generation: i64) -> ProtectedMachine {
    let mut pm: ProtectedMachine = crate::testing::example(include_str!("../../examples/03-machines.yaml"), "app-01");
    pm.meta_mut().namespace = Some("dr".into());
    pm.meta_mut().uid = Some("5377227d-e924-eebc-fb4d-0123456789ab".into());
    pm.meta_mut().resource_version = Some(version.into());
    pm.meta_mut().generation = Some(generation);
    pm
}

/// The versions `events` wake the controller for, and the version the store holds after them.
async fn woken_by(events: Vec<watcher::Event<ProtectedMachine>>) -> (Vec<String>, Option<String>) {
    let (reader, writer) = reflector::store::<ProtectedMachine>();
    let events = futures::stream::iter(events.into_iter().map(Ok));
    let woken: Vec<ProtectedMachine> = trigger_from(events, writer, |_| ()).try_collect().await.unwrap();
    // The trigger drops the version it queues: the tests tell versions apart by the status they carry.
    let versions =
        woken.iter().map(|m| m.status.as_ref().and_then(|s| s.checks_passed.as_deref().map(String::from)).unwrap_or_default()).collect();
    let stored = reader.get(&queue_ref(&machine("0", 1))).and_then(|m| m.meta().resource_version.clone());
    (versions, stored)
}

fn with_status(mut pm: ProtectedMachine, tag: &str) -> ProtectedMachine {
    pm.status = Some(ProtectedMachineStatus { checks_passed: Some(tag.into()), ..Default::default() });
    pm
}

#[tokio::test]
async fn a_status_write_wakes_nothing_while_the_store_takes_the_new_version() {
    let (woken, stored) = woken_by(vec![
        watcher::Event::Apply(with_status(machine("1", 1), "first")),
        watcher::Event::Apply(with_status(machine("2", 1), "status only")),
        watcher::Event::Apply(with_status(machine("3", 1), "status again")),
    ])
    .await;
    assert_eq!(woken, ["first"]);
    assert_eq!(stored.as_deref(), Some("3"));
}

#[tokio::test]
async fn a_new_generation_an_annotation_or_a_recreated_object_wakes_the_controller() {
    let mut annotated = with_status(machine("3", 2), "annotated");
    annotated
        .meta_mut()
        .annotations
        .get_or_insert_with(Default::default)
        .insert(crate::crd::common::PAUSED_ANNOTATION.into(), "true".into());
    let mut recreated = with_status(machine("4", 2), "recreated");
    recreated.meta_mut().uid = Some("0b7c7a11-0000-4000-8000-000000000000".into());
    recreated.meta_mut().annotations = annotated.meta().annotations.clone();
    let (woken, _) = woken_by(vec![
        watcher::Event::Apply(with_status(machine("1", 1), "first")),
        watcher::Event::Apply(with_status(machine("2", 2), "new spec")),
        watcher::Event::Apply(annotated),
        watcher::Event::Apply(recreated),
    ])
    .await;
    assert_eq!(woken, ["first", "new spec", "annotated", "recreated"]);
}

#[tokio::test]
async fn a_relist_that_finds_the_object_unchanged_wakes_nothing_and_a_deletion_of_the_stored_version_neither() {
    let (woken, stored) = woken_by(vec![
        watcher::Event::Apply(with_status(machine("1", 1), "first")),
        watcher::Event::Init,
        watcher::Event::InitApply(with_status(machine("5", 1), "relisted")),
        watcher::Event::InitDone,
    ])
    .await;
    assert_eq!(woken, ["first"]);
    assert_eq!(stored.as_deref(), Some("5"), "the relist replaced the store");

    let (woken, stored) = woken_by(vec![
        watcher::Event::Apply(with_status(machine("1", 1), "first")),
        watcher::Event::Delete(with_status(machine("1", 1), "deleted")),
        watcher::Event::Init,
        watcher::Event::InitApply(with_status(machine("7", 1), "back after the relist")),
        watcher::Event::InitDone,
    ])
    .await;
    assert_eq!(woken, ["first", "back after the relist"], "gone from the store, so new again");
    assert_eq!(stored.as_deref(), Some("7"));
}

#[tokio::test]
async fn the_machines_store_keeps_no_resource_version_and_still_wakes_each_new_machine_once() {
    let (reader, writer) = reflector::store::<ProtectedMachine>();
    let wakes = MachineWakes::for_concurrency(1);
    let events = [watcher::Event::Apply(machine("41", 1)), watcher::Event::Apply(with_status(machine("42", 1), "status only"))];

    machine_feed(futures::stream::iter(events.map(Ok)), writer, |_| (), wakes.clone()).await;

    let stored = reader.get(&queue_ref(&machine("0", 1))).expect("the machine is stored");
    assert_eq!(stored.meta().resource_version, None);
    assert_eq!(stored.meta().uid, machine("0", 1).meta().uid, "the uid stays: events and the recreate check need it");
    assert_eq!(stored.status.as_ref().and_then(|s| s.checks_passed.as_deref()), Some("status only"));
    assert_eq!(wakes.counts().0, 1, "one wake for the new machine, none for its status write: {:?}", wakes.counts());
}
