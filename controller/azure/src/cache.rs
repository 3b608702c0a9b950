//! The ARM client's read cache: per-key, single-flight, time-limited (moka), errors never cached.
//!
//! Concurrent callers for one key share one fetch (`try_get_with`); a value lives for the TTL.
//! Keys carry a generation (see [`Generations`]) so that a write through this client retires every
//! value read before it without a lock around the write.

use std::{
    collections::HashMap,
    future::Future,
    hash::Hash,
    sync::Arc,
    time::{Duration, Instant},
};

use reprotect_facts::SiteRecoveryError;

/// Entries kept at most (per cache): far above any realistic number of vaults.
const MAX_ENTRIES: u64 = 10_000;

/// A single-flight TTL cache; a zero TTL fetches every time.
pub struct TtlCache<K, V> {
    ttl: Duration,
    inner: moka::future::Cache<K, (Instant, V)>,
}

impl<K, V> std::fmt::Debug for TtlCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtlCache").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl<K, V> TtlCache<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub fn new(ttl: Duration) -> Self {
        let ttl_or_min = ttl.max(Duration::from_millis(1));
        Self { ttl, inner: moka::future::Cache::builder().max_capacity(MAX_ENTRIES).time_to_live(ttl_or_min).build() }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The cached value, or the result of `fetch` (run by exactly one of the concurrent callers;
    /// the others receive its value, or a copy of its error).
    pub async fn get_or_fetch<Fut>(&self, key: K, fetch: impl FnOnce() -> Fut) -> Result<V, SiteRecoveryError>
    where
        Fut: Future<Output = Result<V, SiteRecoveryError>>,
    {
        self.get_or_fetch_stamped(key, fetch).await.map(|(_, v)| v)
    }

    /// Like [`TtlCache::get_or_fetch`], also saying when the value was fetched.
    pub async fn get_or_fetch_stamped<Fut>(&self, key: K, fetch: impl FnOnce() -> Fut) -> Result<(Instant, V), SiteRecoveryError>
    where
        Fut: Future<Output = Result<V, SiteRecoveryError>>,
    {
        if self.ttl.is_zero() {
            return fetch().await.map(|v| (Instant::now(), v));
        }
        let stamped = async { fetch().await.map(|v| (Instant::now(), v)) };
        self.inner.try_get_with(key, stamped).await.map_err(unshare)
    }

    /// Forget a key.
    pub async fn invalidate(&self, key: &K) {
        self.inner.invalidate(key).await;
    }

    /// Forget everything.
    pub fn clear(&self) {
        self.inner.invalidate_all();
    }
}

/// The error of a shared fetch, for one of the callers that shared it.
fn unshare(e: Arc<SiteRecoveryError>) -> SiteRecoveryError {
    Arc::try_unwrap(e).unwrap_or_else(|shared| match &*shared {
        SiteRecoveryError::Auth(m) => SiteRecoveryError::Auth(m.clone()),
        SiteRecoveryError::Service(s) => SiteRecoveryError::Service(s.clone()),
        SiteRecoveryError::Transport { operation, message } => {
            SiteRecoveryError::Transport { operation: operation.clone(), message: message.clone() }
        }
        SiteRecoveryError::Decode { operation, message } => {
            SiteRecoveryError::Decode { operation: operation.clone(), message: message.clone() }
        }
        SiteRecoveryError::Invalid(m) => SiteRecoveryError::Invalid(m.clone()),
    })
}

/// Write generations per key: a write bumps its key's generation before and after it is sent, so
/// a read that started before the write finished is cached under a generation nobody asks for again.
#[derive(Debug, Default)]
pub struct Generations<K> {
    by_key: std::sync::Mutex<HashMap<K, u64>>,
}

impl<K: Eq + Hash + Clone> Generations<K> {
    pub fn current(&self, key: &K) -> u64 {
        self.by_key.lock().unwrap_or_else(|e| e.into_inner()).get(key).copied().unwrap_or(0)
    }

    pub fn bump(&self, key: &K) {
        *self.by_key.lock().unwrap_or_else(|e| e.into_inner()).entry(key.clone()).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn boom() -> SiteRecoveryError {
        SiteRecoveryError::Invalid("boom".into())
    }

    #[tokio::test]
    async fn concurrent_callers_cause_one_fetch() {
        let cache = Arc::new(TtlCache::<String, u32>::new(Duration::from_secs(30)));
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (cache, calls) = (cache.clone(), calls.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_fetch("k".to_string(), || async {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            Ok(7)
                        })
                        .await
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), 7);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn errors_are_not_cached_and_expired_values_are_refetched() {
        let cache = TtlCache::<u8, u32>::new(Duration::from_millis(100));
        assert!(matches!(cache.get_or_fetch(1, || async { Err(boom()) }).await, Err(SiteRecoveryError::Invalid(_))));
        assert_eq!(cache.get_or_fetch(1, || async { Ok(1) }).await.unwrap(), 1);
        assert_eq!(cache.get_or_fetch(1, || async { Ok(2) }).await.unwrap(), 1);
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(cache.get_or_fetch(1, || async { Ok(3) }).await.unwrap(), 3);
    }

    #[tokio::test]
    async fn a_zero_ttl_fetches_every_time_and_invalidation_forces_a_fetch() {
        let off = TtlCache::<u8, u32>::new(Duration::ZERO);
        assert_eq!(off.get_or_fetch(1, || async { Ok(1) }).await.unwrap(), 1);
        assert_eq!(off.get_or_fetch(1, || async { Ok(2) }).await.unwrap(), 2);
        let cache = TtlCache::<u8, u32>::new(Duration::from_secs(60));
        assert_eq!(cache.get_or_fetch(1, || async { Ok(1) }).await.unwrap(), 1);
        cache.invalidate(&1).await;
        assert_eq!(cache.get_or_fetch(1, || async { Ok(2) }).await.unwrap(), 2);
    }

    #[test]
    fn a_bump_moves_only_its_own_key_to_a_new_generation() {
        let g = Generations::<&str>::default();
        g.bump(&"a");
        g.bump(&"a");
        assert_eq!((g.current(&"a"), g.current(&"b")), (2, 0));
    }
}
