//! From a kind's watch to its controller: each event slimmed and applied to the kind's store, and the objects whose
//! spec or annotations changed since the stored version queued by name and namespace.

use crate::crd::{ProtectedMachine, ShrinkToFit, queue_ref, without_version};
use crate::machine_wakes::MachineWakes;
use futures::{StreamExt, TryStreamExt};
use kube::runtime::controller::Controller;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource};

/// A controller that reconciles on spec (generation) and annotation changes only. Our own status
/// writes must not trigger a reconcile: status carries `nextCheckAt` and similar fields that change
/// on every pass, so reacting to them would loop. Timed requeues cover what status changes would.
/// `follow` sees every watch event the store applies (an index kept beside the store).
pub fn controller_for<K>(api: Api<K>, wc: watcher::Config, follow: impl Fn(&watcher::Event<K>) + Send + 'static) -> Controller<K>
where
    K: Resource<DynamicType = ()> + ShrinkToFit + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let trigger = trigger_from(watcher(api, wc).default_backoff(), writer, follow);
    Controller::for_stream(trigger, reader)
}

/// The machines' controller, which takes them from `wakes` (see [`crate::machine_wakes`]), and the future that
/// feeds its store from the watch, as [`controller_for`] does, and wakes the machines that [`wakes_the_controller`].
/// The future must run beside the controller (it is what fills the store the controller waits for).
pub fn machine_controller(
    api: Api<ProtectedMachine>,
    wc: watcher::Config,
    follow: impl Fn(&watcher::Event<ProtectedMachine>) + Send + 'static,
    wakes: MachineWakes,
) -> (Controller<ProtectedMachine>, impl std::future::Future<Output = ()> + Send + 'static) {
    let (reader, writer) = reflector::store();
    let feed = machine_feed(watcher(api, wc).default_backoff(), writer, follow, wakes.clone());
    // kube-runtime's own trigger is never used: every machine comes through `wakes`.
    let trigger = futures::stream::pending::<Result<ProtectedMachine, watcher::Error>>();
    (Controller::for_stream(trigger, reader).reconcile_on(wakes.stream()), feed)
}

/// The machines' watch events, without their resource versions (see [`forget_version`]), into their store, and the
/// machines that [`wakes_the_controller`] into `wakes`.
pub(crate) fn machine_feed(
    events: impl futures::Stream<Item = Result<watcher::Event<ProtectedMachine>, watcher::Error>> + Send,
    writer: reflector::store::Writer<ProtectedMachine>,
    follow: impl Fn(&watcher::Event<ProtectedMachine>) + Send + 'static,
    wakes: MachineWakes,
) -> impl std::future::Future<Output = ()> + Send {
    trigger_from(events.modify(forget_version), writer, follow).for_each(move |machine| {
        match machine {
            Ok(machine) => wakes.wake(&queue_ref(&machine)),
            // The watcher retries with its backoff; the error is the watch's, not a machine's.
            Err(e) => tracing::debug!(error = %e, "machine watch"),
        }
        std::future::ready(())
    })
}

/// A stored machine needs no resource version: nothing reads it (the policies' and master targets' stores keep
/// theirs, for [`until_stored`]), and kube's store copies it once more into the machine's key: two texts per
/// machine, ~1 MB at 10,000 (issue 13). Dropped after the watcher, which resumes from the versions it saw.
fn forget_version(pm: &mut ProtectedMachine) {
    pm.metadata.resource_version = None;
}

/// What `controller_for` feeds its controller from a watch: every event slimmed and stored (and shown to
/// `follow`), then the objects that [`wakes_the_controller`] against the version stored before, without the uid and
/// resource version the controller's queue would otherwise copy (see [`without_version`]).
pub(crate) fn trigger_from<K>(
    events: impl futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send,
    mut writer: reflector::store::Writer<K>,
    follow: impl Fn(&watcher::Event<K>) + Send + 'static,
) -> impl futures::Stream<Item = Result<K, watcher::Error>> + Send
where
    K: Resource<DynamicType = ()> + ShrinkToFit + Clone + Send + Sync + 'static,
{
    let store = writer.as_reader();
    events
        .modify(slim_for_store)
        .inspect_ok(follow)
        .map_ok(move |event| {
            let woken = match &event {
                watcher::Event::Apply(obj) | watcher::Event::InitApply(obj) | watcher::Event::Delete(obj) => {
                    wakes_the_controller(&store, obj).then(|| without_version(obj.clone()))
                }
                watcher::Event::Init | watcher::Event::InitDone => None,
            };
            // After the comparison: the store still holds the version before this event. (During a relist the
            // store keeps the previous list until `InitDone`, so an object the relist finds unchanged wakes nothing.)
            writer.apply_watcher_event(&event);
            woken
        })
        .try_filter_map(|woken| futures::future::ready(Ok(woken)))
}

/// Whether `obj` differs from the version `store` holds in what the controller reconciles on: an object the store
/// does not hold (new, or recreated under the same name with another uid), another generation (its spec) or other
/// annotations (the pause and approval annotations). Compared with the store itself, not a second per-object record
/// beside it: kube-runtime's predicate filter kept each object's name, namespace, uid and hash again, ~200 bytes per
/// machine (issue 13). A deletion wakes nothing unless it differs too, as with the predicate filter.
pub fn wakes_the_controller<K: Resource<DynamicType = ()> + Clone>(store: &Store<K>, obj: &K) -> bool {
    let Some(stored) = store.get(&ObjectRef::from_obj(obj)) else { return true };
    let (before, now) = (stored.meta(), obj.meta());
    before.uid != now.uid || before.generation != now.generation || before.annotations != now.annotations
}

/// How long a wake waits for the store to catch up with the watch event that caused it (the two watches of one
/// object normally deliver within milliseconds of each other).
pub const STORE_CATCH_UP: std::time::Duration = std::time::Duration::from_secs(5);

/// `obj` once `store` holds this version of it (or a deleted object is gone), or after `limit`, whichever is first.
pub async fn until_stored<K>(store: Store<K>, obj: K, limit: std::time::Duration) -> K
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    let key = ObjectRef::from_obj(&obj);
    let deleted = obj.meta().deletion_timestamp.is_some();
    let caught_up = || match store.get(&key) {
        Some(stored) => stored.meta().resource_version == obj.meta().resource_version,
        None => deleted,
    };
    let deadline = tokio::time::Instant::now() + limit;
    while !caught_up() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    obj
}

/// Drops what the controller never reads before an object enters a store: `managedFields` (for a
/// machine whose status lists its ~40 checks this is most of the object's memory, as untyped JSON)
/// and kubectl's `last-applied-configuration` copy of the spec; and the spare places of its lists. At 10,000
/// machines the stores are most of the heap (issue 13).
pub fn slim_for_store<K: Resource + ShrinkToFit>(obj: &mut K) {
    obj.meta_mut().managed_fields = None;
    if let Some(annotations) = obj.meta_mut().annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
    obj.shrink_to_fit();
}

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

#[cfg(test)]
#[path = "store_feed_tests.rs"]
mod tests;
