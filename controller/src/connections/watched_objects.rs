//! The Secrets and CA ConfigMaps policies name, kept current by one watch per named object (a field selector on
//! its name), so each is read from the API server once per change instead of once per TTL.
//!
//! Opt-in by the operator (`--watch-referenced-objects`, chart `secrets.watch`): a watch needs `list` and `watch`
//! on Secrets in the watched namespaces, which the get-only default does not grant. Anything the watch cannot
//! say (not yet listed, absent, forbidden) leaves the caller to its usual read, so a missing grant costs reads,
//! never a wrong answer.

use futures::StreamExt;
use k8s_openapi::NamespaceResourceScope;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long a first reader waits for the watch's initial list before reading on its own.
const FIRST_LIST_WAIT: Duration = Duration::from_secs(5);
/// A watch nobody asked about for this long ends (its policy was deleted or renamed the object).
const IDLE: Duration = Duration::from_secs(15 * 60);
/// Objects watched at most: far above the Secrets of any realistic number of policies.
const MAX_WATCHES: u64 = 1_000;

/// What a watch has seen of its one object.
#[derive(Clone, Debug)]
enum Seen<K> {
    /// The initial list has not answered yet.
    Starting,
    Present(Arc<K>),
    Absent,
    /// The API server refused the watch (no `list`/`watch` grant): the caller reads as without a watch.
    Refused,
}

/// One object's watch; dropping it (idle eviction) ends the watch.
struct Watching<K> {
    seen: watch::Receiver<Seen<K>>,
    task: tokio::task::JoinHandle<()>,
}

impl<K> Drop for Watching<K> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One watch per (namespace, name) asked about.
pub struct WatchedObjects<K> {
    client: Client,
    watches: moka::future::Cache<(String, String), Arc<Watching<K>>>,
}

impl<K> WatchedObjects<K>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    pub fn new(client: Client) -> Self {
        WatchedObjects { client, watches: moka::future::Cache::builder().max_capacity(MAX_WATCHES).time_to_idle(IDLE).build() }
    }

    /// The object as its watch last saw it; `None` when the watch cannot say (starting, absent, refused).
    pub async fn current(&self, ns: &str, name: &str) -> Option<Arc<K>> {
        let key = (ns.to_string(), name.to_string());
        let watching = self.watches.get_with(key, async { Arc::new(self.start(ns, name)) }).await;
        let mut seen = watching.seen.clone();
        let settled = tokio::time::timeout(FIRST_LIST_WAIT, seen.wait_for(|s| !matches!(s, Seen::Starting))).await;
        match settled.ok()?.ok()?.clone() {
            Seen::Present(k) => Some(k),
            Seen::Starting | Seen::Absent | Seen::Refused => None,
        }
    }

    fn start(&self, ns: &str, name: &str) -> Watching<K> {
        let (tx, seen) = watch::channel(Seen::Starting);
        let api = Api::<K>::namespaced(self.client.clone(), ns);
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let (ns, name) = (ns.to_string(), name.to_string());
        let task = tokio::spawn(async move {
            let mut events = std::pin::pin!(watcher(api, config).default_backoff());
            let mut listed = None;
            while let Some(event) = events.next().await {
                match event {
                    Ok(watcher::Event::Init) => listed = None,
                    Ok(watcher::Event::InitApply(k)) => listed = Some(k),
                    Ok(watcher::Event::InitDone) => {
                        tx.send_replace(listed.take().map_or(Seen::Absent, |k| Seen::Present(Arc::new(k))));
                    }
                    Ok(watcher::Event::Apply(k)) => {
                        tx.send_replace(Seen::Present(Arc::new(k)));
                    }
                    Ok(watcher::Event::Delete(_)) => {
                        tx.send_replace(Seen::Absent);
                    }
                    Err(e) if refused(&e) => {
                        tracing::warn!(namespace = %ns, name = %name, kind = %K::kind(&()), "cannot watch a referenced object (grant list and watch, or turn --watch-referenced-objects off); reading it per TTL");
                        tx.send_replace(Seen::Refused);
                        return;
                    }
                    // The watcher retries with backoff; what it saw last stands meanwhile.
                    Err(e) => tracing::debug!(namespace = %ns, name = %name, error = %e, "watch of a referenced object interrupted"),
                }
            }
        });
        Watching { seen, task }
    }
}

/// A 401 or 403 from the list or watch: retrying will not help until the operator changes the grant.
fn refused(e: &watcher::Error) -> bool {
    let code = match e {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => s.code,
        watcher::Error::WatchError(s) => s.code,
        _ => return false,
    };
    matches!(code, 401 | 403)
}
