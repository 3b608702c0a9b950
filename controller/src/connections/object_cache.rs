//! The Secrets and CA ConfigMaps a policy names, shared by every machine of the policy instead of read once per
//! reconcile: kept current by a watch on each named object when the operator allows it
//! ([`super::watched_objects`]), else read from the API server once per TTL.
//!
//! Why a TTL remains: a watch (even on one named object) needs `list` and `watch` on Secrets in the watched
//! namespaces, which an operator may withhold (`secrets.watch: false`: get only, so Secrets cannot be enumerated).
//! Without a watch a rotated Secret is picked up within the TTL (`--secret-cache-ttl`, default 60 s), and at once
//! by the policy's own reconcile, which then reads fresh and refreshes the cache.

use super::watched_objects::WatchedObjects;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// One namespaced object: (namespace, name).
type Key = (String, String);

/// Cached Secrets and ConfigMaps of one controller set. Errors (missing, forbidden) are never cached: a fix is
/// seen at the next read.
#[derive(Clone)]
pub struct ObjectCache {
    secrets: moka::future::Cache<Key, Secret>,
    config_maps: moka::future::Cache<Key, Option<ConfigMap>>,
    /// Watches of the named objects, when the operator turned them on.
    watched: Option<Arc<(WatchedObjects<Secret>, WatchedObjects<ConfigMap>)>>,
}

impl ObjectCache {
    pub fn new(ttl: Duration) -> Self {
        ObjectCache {
            secrets: moka::future::Cache::builder().time_to_live(ttl).max_capacity(10_000).build(),
            config_maps: moka::future::Cache::builder().time_to_live(ttl).max_capacity(10_000).build(),
            watched: None,
        }
    }

    /// Also keep each named object current by a watch (needs `list` and `watch`); the TTL reads remain the fallback
    /// for what a watch cannot say.
    pub fn watching(ttl: Duration, client: kube::Client) -> Self {
        ObjectCache { watched: Some(Arc::new((WatchedObjects::new(client.clone()), WatchedObjects::new(client)))), ..Self::new(ttl) }
    }

    /// The Secret as its watch last saw it (`None`: not watched, or the watch cannot say).
    pub async fn watched_secret(&self, ns: &str, name: &str) -> Option<Arc<Secret>> {
        self.watched.as_ref()?.0.current(ns, name).await
    }

    /// The ConfigMap as its watch last saw it (`None`: not watched, or the watch cannot say).
    pub async fn watched_config_map(&self, ns: &str, name: &str) -> Option<Arc<ConfigMap>> {
        self.watched.as_ref()?.1.current(ns, name).await
    }

    /// The cached Secret, or `read` it (and cache it on success).
    pub async fn secret<E, F>(&self, ns: &str, name: &str, read: F) -> Result<Secret, E>
    where
        F: Future<Output = Result<Secret, E>>,
    {
        cached(&self.secrets, ns, name, read).await
    }

    /// The cached ConfigMap (`None`: it does not exist), or `read` it.
    pub async fn config_map<E, F>(&self, ns: &str, name: &str, read: F) -> Result<Option<ConfigMap>, E>
    where
        F: Future<Output = Result<Option<ConfigMap>, E>>,
    {
        cached(&self.config_maps, ns, name, read).await
    }

    /// Replace a Secret read elsewhere (the policy's fresh read).
    pub async fn refresh_secret(&self, ns: &str, name: &str, secret: Secret) {
        self.secrets.insert((ns.to_string(), name.to_string()), secret).await;
    }
}

async fn cached<V: Clone + Send + Sync + 'static, E>(
    cache: &moka::future::Cache<Key, V>,
    ns: &str,
    name: &str,
    read: impl Future<Output = Result<V, E>>,
) -> Result<V, E> {
    let key = (ns.to_string(), name.to_string());
    if let Some(v) = cache.get(&key).await {
        return Ok(v);
    }
    let v = read.await?;
    cache.insert(key, v.clone()).await;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn secret(rv: &str) -> Secret {
        Secret { metadata: kube::api::ObjectMeta { resource_version: Some(rv.into()), ..Default::default() }, ..Default::default() }
    }

    #[tokio::test]
    async fn a_secret_is_read_once_per_ttl_however_many_machines_ask() {
        let cache = ObjectCache::new(Duration::from_millis(200));
        let reads = AtomicUsize::new(0);
        let read = || async {
            reads.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(secret("1"))
        };
        for _ in 0..100 {
            assert_eq!(cache.secret("dr", "azure", read()).await.unwrap().metadata.resource_version.as_deref(), Some("1"));
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1, "one read for 100 passes");
        cache.secret("other-ns", "azure", read()).await.unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 2, "namespaces do not share entries");
        tokio::time::sleep(Duration::from_millis(300)).await;
        cache.secret("dr", "azure", read()).await.unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 3, "read again after the TTL (a rotated Secret is seen)");
    }

    #[tokio::test]
    async fn a_failed_read_is_not_cached_and_a_fresh_read_replaces_the_entry() {
        let cache = ObjectCache::new(Duration::from_secs(60));
        assert!(cache.secret("dr", "vc", async { Err::<Secret, &str>("forbidden") }).await.is_err());
        let got = cache.secret("dr", "vc", async { Ok::<_, &str>(secret("2")) }).await.unwrap();
        assert_eq!(got.metadata.resource_version.as_deref(), Some("2"), "the error was not remembered");
        cache.refresh_secret("dr", "vc", secret("3")).await;
        let got = cache.secret("dr", "vc", async { Ok::<_, &str>(secret("never read")) }).await.unwrap();
        assert_eq!(got.metadata.resource_version.as_deref(), Some("3"));
    }
}
