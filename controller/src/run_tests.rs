//! The wiring's pure parts: what a store keeps, what a trigger queues, how a wake waits for its store.

use super::*;
use crate::crd::ProtectedMachineStatus;
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
    assert_eq!(status.recorded_master_target_datastores.capacity(), status.recorded_master_target_datastores.len());
}
