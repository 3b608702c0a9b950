//! A short-lived, single-flight cache: concurrent callers for one key cause one fetch per TTL.

use std::{
    collections::HashMap,
    future::Future,
    hash::Hash,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

type Slot<V> = Arc<tokio::sync::Mutex<Option<(Instant, V)>>>;

/// Values live for `ttl`; while one caller fetches a key the others wait for its result.
/// Errors are not cached.
#[derive(Debug)]
pub struct TtlCache<K, V> {
    ttl: Duration,
    slots: Mutex<HashMap<K, Slot<V>>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, slots: Mutex::default() }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The cached value, or the result of `fetch` (run by exactly one of the concurrent callers).
    pub async fn get_or_fetch<E, F, Fut>(&self, key: K, fetch: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        self.get_or_fetch_stamped(key, fetch).await.map(|(_, v)| v)
    }

    /// Like [`TtlCache::get_or_fetch`], also saying when the value was fetched (callers that
    /// wrote something remotely since then know the value may predate their write).
    pub async fn get_or_fetch_stamped<E, F, Fut>(&self, key: K, fetch: F) -> Result<(Instant, V), E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        if self.ttl.is_zero() {
            return fetch().await.map(|v| (Instant::now(), v));
        }
        let slot = self.slots.lock().expect("cache lock").entry(key).or_default().clone();
        let mut guard = slot.lock().await;
        if let Some((at, v)) = guard.as_ref()
            && at.elapsed() < self.ttl
        {
            return Ok((*at, v.clone()));
        }
        let v = fetch().await?;
        let at = Instant::now();
        *guard = Some((at, v.clone()));
        Ok((at, v))
    }

    /// Forget everything.
    pub fn clear(&self) {
        self.slots.lock().expect("cache lock").clear();
    }

    /// Forget a key (e.g. after a reprotect changed what the fabric reports).
    pub fn invalidate(&self, key: &K) {
        self.slots.lock().expect("cache lock").remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

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
                            Ok::<_, ()>(7)
                        })
                        .await
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(7));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn errors_are_not_cached_and_expired_values_are_refetched() {
        let cache = TtlCache::<u8, u32>::new(Duration::from_millis(30));
        assert_eq!(cache.get_or_fetch(1, || async { Err::<u32, _>("boom") }).await, Err("boom"));
        assert_eq!(cache.get_or_fetch(1, || async { Ok::<_, ()>(1) }).await, Ok(1));
        assert_eq!(cache.get_or_fetch(1, || async { Ok::<_, ()>(2) }).await, Ok(1));
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(cache.get_or_fetch(1, || async { Ok::<_, ()>(3) }).await, Ok(3));
    }

    #[tokio::test]
    async fn invalidation_forces_a_new_fetch_and_the_stamp_is_the_fetch_time() {
        let cache = TtlCache::<&str, u32>::new(Duration::from_secs(60));
        let (first, v) = cache.get_or_fetch_stamped("vault", || async { Ok::<_, ()>(7) }).await.unwrap();
        assert_eq!(v, 7);
        let (again, v) = cache.get_or_fetch_stamped("vault", || async { Ok::<_, ()>(8) }).await.unwrap();
        assert_eq!((again, v), (first, 7));
        cache.invalidate(&"vault");
        let (after, v) = cache.get_or_fetch_stamped("vault", || async { Ok::<_, ()>(8) }).await.unwrap();
        assert_eq!(v, 8);
        assert!(after >= first);
    }
}
