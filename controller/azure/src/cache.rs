//! The ARM client's read cache: per-key, single-flight, time-limited (moka), errors never cached.
//!
//! Concurrent callers for one key share one fetch (`try_get_with`); a value lives for the TTL and
//! is stamped with the moment its fetch started. [`WriteStamps`] remember when this client last
//! wrote to a vault and to each item, so a reader can tell whether a value predates a write.

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

/// A single-flight TTL cache; a zero TTL fetches every time. Values are kept for `keep` (at least
/// the TTL) for callers that accept older answers ([`TtlCache::get_within`]).
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
        Self::keeping(ttl, ttl)
    }

    /// Answers at most `ttl` old by default, kept for `keep` for the callers that accept more.
    pub fn keeping(ttl: Duration, keep: Duration) -> Self {
        let keep = keep.max(ttl).max(Duration::from_millis(1));
        Self { ttl, inner: moka::future::Cache::builder().max_capacity(MAX_ENTRIES).time_to_live(keep).build() }
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
        self.get_within(key, self.ttl, None, Duration::ZERO, fetch).await
    }

    /// Like [`TtlCache::get_or_fetch`], also saying when the value was fetched.
    pub async fn get_or_fetch_stamped<Fut>(&self, key: K, fetch: impl FnOnce() -> Fut) -> Result<(Instant, V), SiteRecoveryError>
    where
        Fut: Future<Output = Result<V, SiteRecoveryError>>,
    {
        if self.ttl.is_zero() {
            return fetch().await.map(|v| (Instant::now(), v));
        }
        // Stamped when the fetch starts: a write that ended before then is reflected in the value.
        let started = Instant::now();
        let stamped = async move { fetch().await.map(|v| (started, v)) };
        self.inner.try_get_with(key, stamped).await.map_err(unshare)
    }

    /// The cached value if it is at most `max_age` old (the TTL is the usual answer) and was not
    /// fetched before `stale_before`, else a fresh one. A value fetched before `stale_before` that is
    /// younger than `min_age` is still served, so a burst of writes costs one fetch per `min_age`.
    pub async fn get_within<Fut>(
        &self,
        key: K,
        max_age: Duration,
        stale_before: Option<Instant>,
        min_age: Duration,
        fetch: impl FnOnce() -> Fut,
    ) -> Result<V, SiteRecoveryError>
    where
        Fut: Future<Output = Result<V, SiteRecoveryError>>,
    {
        if self.ttl.is_zero() {
            return fetch().await;
        }
        if let Some((fetched, _)) = self.inner.get(&key).await {
            let age = fetched.elapsed();
            let written_since = stale_before.is_some_and(|write| fetched <= write) && age >= min_age;
            if age > max_age || written_since {
                self.inner.invalidate(&key).await;
            }
        }
        self.get_or_fetch_stamped(key, fetch).await.map(|(_, v)| v)
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

/// When this client last wrote (a reprotect, failback, commit): per vault and per (vault, target).
/// A write is stamped when its answer arrived (or it failed), so a fetch that started later saw it.
/// A stamp is forgotten once it is older than `horizon` (at least what the caches keep a value for): every value
/// still cached was fetched after it, so it can no longer make one stale. Without that, a client that wrote to
/// 10,000 items kept 10,000 stamps for good (issue 13).
#[derive(Debug)]
pub struct WriteStamps<K> {
    horizon: Duration,
    last: std::sync::Mutex<Stamps<K>>,
}

#[derive(Debug)]
struct Stamps<K> {
    at: HashMap<K, Instant>,
    pruned: Instant,
}

impl<K: Eq + Hash + Clone> WriteStamps<K> {
    /// Stamps forgotten once older than `horizon`.
    pub fn forgetting_after(horizon: Duration) -> Self {
        Self { horizon, last: std::sync::Mutex::new(Stamps { at: HashMap::new(), pruned: Instant::now() }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Stamps<K>> {
        self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The latest write under `key`, if any (and not yet forgotten).
    pub fn last(&self, key: &K) -> Option<Instant> {
        self.lock().at.get(key).copied().filter(|at| at.elapsed() < self.horizon)
    }

    /// Record a write under `key` that has just ended; forget the stamps older than the horizon (a pass over the
    /// map at most four times per horizon).
    pub fn record(&self, key: K) {
        let now = Instant::now();
        let mut stamps = self.lock();
        stamps.at.insert(key, now);
        if now.duration_since(stamps.pruned) >= self.horizon / 4 {
            stamps.at.retain(|_, at| now.duration_since(*at) < self.horizon);
            stamps.at.shrink_to_fit();
            stamps.pruned = now;
        }
    }

    /// How many stamps are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().at.len()
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
    fn a_write_is_remembered_under_its_own_key_only() {
        let w = WriteStamps::<&str>::forgetting_after(Duration::from_secs(60));
        let before = Instant::now();
        w.record("a");
        assert!(w.last(&"a").is_some_and(|t| t >= before));
        assert_eq!(w.last(&"b"), None);
    }

    #[test]
    fn a_write_older_than_the_horizon_is_forgotten_and_its_stamp_dropped_at_a_later_write() {
        let w = WriteStamps::<u32>::forgetting_after(Duration::from_millis(40));
        for target in 0..1_000 {
            w.record(target);
        }
        assert!(w.last(&7).is_some());
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(w.last(&7), None, "older than every cached value: it can make none stale");
        w.record(5_000);
        assert_eq!(w.len(), 1, "the old stamps are dropped, not kept for good");
        assert!(w.last(&5_000).is_some());
    }

    #[tokio::test]
    async fn a_value_older_than_a_write_is_refetched_once_it_is_old_enough_and_never_before() {
        let cache = TtlCache::<u8, u32>::new(Duration::from_secs(60));
        assert_eq!(cache.get_or_fetch(1, || async { Ok(1) }).await.unwrap(), 1);
        let write = Instant::now();
        let ttl = Duration::from_secs(60);
        // Younger than the minimum age: the burst of writes does not cost a fetch each.
        assert_eq!(cache.get_within(1, ttl, Some(write), Duration::from_secs(5), || async { Ok(2) }).await.unwrap(), 1);
        assert_eq!(cache.get_within(1, ttl, Some(write), Duration::ZERO, || async { Ok(3) }).await.unwrap(), 3);
        // The new value was fetched after the write: it stays.
        assert_eq!(cache.get_within(1, ttl, Some(write), Duration::ZERO, || async { Ok(4) }).await.unwrap(), 3);
        assert_eq!(cache.get_within(1, ttl, None, Duration::ZERO, || async { Ok(5) }).await.unwrap(), 3);
    }

    #[tokio::test]
    async fn a_caller_accepting_older_answers_gets_a_value_past_the_ttl_and_max_age_zero_reads_afresh() {
        let cache = TtlCache::<u8, u32>::keeping(Duration::from_millis(50), Duration::from_secs(60));
        assert_eq!(cache.get_or_fetch(1, || async { Ok(1) }).await.unwrap(), 1);
        tokio::time::sleep(Duration::from_millis(80)).await;
        let patient = Duration::from_secs(30);
        assert_eq!(cache.get_within(1, patient, None, Duration::ZERO, || async { Ok(2) }).await.unwrap(), 1, "kept past the TTL");
        assert_eq!(cache.get_or_fetch(1, || async { Ok(3) }).await.unwrap(), 3, "the usual caller wants at most the TTL");
        assert_eq!(cache.get_within(1, Duration::ZERO, None, Duration::ZERO, || async { Ok(4) }).await.unwrap(), 4);
    }
}
