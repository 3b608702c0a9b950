//! Kubernetes events (`events.k8s.io/v1`) on the reconciled objects, repeats counted into a series.
//!
//! kube-runtime's `Recorder` does the same, but it keeps every event of the last six minutes (the whole
//! `Event` and an `ObjectReference` per entry) in one map and scans the whole map on every publish. With
//! three events per machine that was the largest heap consumer of the 1,000-machine bench and O(N²) work
//! during a burst. This recorder keeps what a repeat needs (the event's name and count) for at most
//! [`RECENT_CAPACITY`] series, client-go's bound, in a moka cache that expires them after [`SERIES_TTL`].

use std::hash::{Hash, Hasher};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};

use crate::reconcile::Note;

/// How many recent series are remembered (client-go's event correlator keeps 4,096).
pub const RECENT_CAPACITY: u64 = 4096;
/// A repeat within this time of the last one joins its series (kube-runtime's and client-go's six minutes).
pub const SERIES_TTL: Duration = Duration::from_secs(6 * 60);

/// Publishes events as one reporting controller (and instance).
#[derive(Clone)]
pub struct EventRecorder {
    client: Client,
    controller: String,
    instance: String,
    recent: moka::future::Cache<u64, Recent>,
}

/// What a repeat needs of the last event of its series.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Recent {
    name: String,
    count: i32,
}

impl EventRecorder {
    /// `instance` defaults to the controller's name (as kube-runtime's `Reporter` does).
    pub fn new(client: Client, controller: &str, instance: Option<String>) -> Self {
        EventRecorder {
            client,
            controller: controller.to_string(),
            instance: instance.unwrap_or_else(|| controller.to_string()),
            recent: moka::future::Cache::builder().max_capacity(RECENT_CAPACITY).time_to_live(SERIES_TTL).build(),
        }
    }

    /// Create the event, or count it into the series of the same event on the same object (same type, reason,
    /// action and note) when that was published within [`SERIES_TTL`].
    pub async fn publish(&self, regarding: &ObjectReference, note: &Note) -> Result<(), kube::Error> {
        let namespace = regarding.namespace.clone().unwrap_or_else(|| "default".into());
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        let key = series_key(regarding, note);
        let now = Timestamp::now();
        if let Some(last) = self.recent.get(&key).await {
            let count = last.count + 1;
            let patch = serde_json::json!({"series": {"count": count, "lastObservedTime": MicroTime(now)}});
            match api.patch(&last.name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => {
                    self.recent.insert(key, Recent { name: last.name, count }).await;
                    return Ok(());
                }
                // The API server dropped it (its own event TTL): start a new series.
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        let event = self.event(regarding, note, now);
        let name = event.metadata.name.clone().unwrap_or_default();
        api.create(&PostParams::default(), &event).await?;
        self.recent.insert(key, Recent { name, count: 1 }).await;
        Ok(())
    }

    fn event(&self, regarding: &ObjectReference, note: &Note, now: Timestamp) -> Event {
        let object = regarding.name.as_deref().unwrap_or(&self.controller);
        Event {
            metadata: ObjectMeta {
                name: Some(format!("{object}.{:x}", now.as_nanosecond())),
                namespace: regarding.namespace.clone(),
                ..ObjectMeta::default()
            },
            action: Some(note.action.clone()),
            reason: Some(note.reason.clone()),
            note: Some(note.message.clone()),
            type_: Some(if note.warning { "Warning" } else { "Normal" }.into()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            ..Event::default()
        }
    }

    /// How many series are remembered now (after moka's pending evictions).
    #[cfg(test)]
    async fn remembered(&self) -> u64 {
        self.recent.run_pending_tasks().await;
        self.recent.entry_count()
    }
}

/// One series: the object (by uid, else kind/namespace/name) and the event's type, reason, action and note.
/// A 64-bit hash keeps an entry small; two series would have to collide among at most 4,096 to share a count.
fn series_key(regarding: &ObjectReference, note: &Note) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&regarding.api_version, &regarding.kind, &regarding.namespace, &regarding.name, &regarding.uid).hash(&mut h);
    (note.warning, &note.reason, &note.action, &note.message).hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(name: &str) -> ObjectReference {
        ObjectReference {
            api_version: Some("reprotect.io/v1alpha1".into()),
            kind: Some("ProtectedMachine".into()),
            namespace: Some("dr".into()),
            name: Some(name.into()),
            uid: Some(format!("uid-{name}")),
            ..ObjectReference::default()
        }
    }

    fn note(reason: &str, message: &str) -> Note {
        Note { warning: false, reason: reason.into(), action: "reprotect".into(), message: message.into() }
    }

    #[test]
    fn the_same_event_on_the_same_object_is_one_series_and_anything_different_is_another() {
        let key = series_key(&object("vm-01"), &note("ReprotectStarted", "job j1"));
        assert_eq!(key, series_key(&object("vm-01"), &note("ReprotectStarted", "job j1")));
        assert_ne!(key, series_key(&object("vm-02"), &note("ReprotectStarted", "job j1")));
        assert_ne!(key, series_key(&object("vm-01"), &note("ReprotectSucceeded", "job j1")));
        assert_ne!(key, series_key(&object("vm-01"), &note("ReprotectStarted", "job j2")));
        let mut warning = note("ReprotectStarted", "job j1");
        warning.warning = true;
        assert_ne!(key, series_key(&object("vm-01"), &warning));
    }

    #[tokio::test]
    async fn at_most_client_gos_number_of_series_is_remembered_however_many_objects_have_events() {
        // No request is made: the client only has to exist.
        let client = Client::try_from(kube::Config::new("http://127.0.0.1:9".parse().unwrap())).unwrap();
        let recorder = EventRecorder::new(client, "reprotect-controller", None);
        for i in 0..(RECENT_CAPACITY + 2000) {
            recorder.recent.insert(i, Recent { name: format!("vm-{i}.1"), count: 1 }).await;
        }
        assert!(recorder.remembered().await <= RECENT_CAPACITY, "{} remembered", recorder.remembered().await);
    }
}
