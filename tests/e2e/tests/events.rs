//! The controller's events against a real API server: a repeat is counted into the series of the first
//! event (`kubectl describe` shows `x2`), a different event is its own, and a series the API server dropped
//! starts again.

use k8s_openapi::api::core::v1::{ConfigMap, ObjectReference};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::{Resource, ResourceExt};
use reprotect_controller::event_recorder::EventRecorder;
use reprotect_controller::reconcile::Note;
use reprotect_test_support::{client, test_namespace};

fn note(reason: &str, message: &str) -> Note {
    Note { warning: false, reason: reason.into(), action: "reprotect".into(), message: message.into() }
}

async fn events_on(api: &Api<Event>, name: &str) -> anyhow::Result<Vec<Event>> {
    let mut list = api.list(&ListParams::default()).await?.items;
    list.retain(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name));
    list.sort_by_key(|e| e.metadata.creation_timestamp.clone().map(|t| t.0));
    Ok(list)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_event_is_one_series_a_different_one_is_its_own_and_a_dropped_series_starts_again() -> anyhow::Result<()> {
    let ns = test_namespace().await;
    let client = client().await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some("vm-01".into());
    let cm = config_maps.create(&PostParams::default(), &cm).await?;
    let regarding: ObjectReference = cm.object_ref(&());
    let events: Api<Event> = Api::namespaced(client.clone(), ns.name());
    let recorder = EventRecorder::new(client, "reprotect-controller", Some("replica-a".into()));

    recorder.publish(&regarding, &note("ReprotectStarted", "job j1")).await?;
    recorder.publish(&regarding, &note("ReprotectStarted", "job j1")).await?;
    let list = events_on(&events, "vm-01").await?;
    assert_eq!(list.len(), 1, "{list:#?}");
    let first = &list[0];
    assert_eq!(first.series.as_ref().map(|s| s.count), Some(2), "{first:#?}");
    assert_eq!(first.reporting_controller.as_deref(), Some("reprotect-controller"));
    assert_eq!(first.reporting_instance.as_deref(), Some("replica-a"));
    assert_eq!(first.note.as_deref(), Some("job j1"));

    recorder.publish(&regarding, &note("ReprotectSucceeded", "job j1 done")).await?;
    let list = events_on(&events, "vm-01").await?;
    assert_eq!(list.len(), 2, "{list:#?}");
    assert!(list.iter().any(|e| e.reason.as_deref() == Some("ReprotectSucceeded") && e.series.is_none()), "{list:#?}");

    events.delete(&first.name_any(), &DeleteParams::default()).await?;
    recorder.publish(&regarding, &note("ReprotectStarted", "job j1")).await?;
    let list = events_on(&events, "vm-01").await?;
    let started: Vec<&Event> = list.iter().filter(|e| e.reason.as_deref() == Some("ReprotectStarted")).collect();
    assert_eq!(started.len(), 1, "{list:#?}");
    assert_ne!(started[0].name_any(), first.name_any(), "a new event, not the deleted one");
    assert!(started[0].series.is_none(), "{:#?}", started[0]);
    Ok(())
}
