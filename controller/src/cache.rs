//! A small time-to-live cache with single flight: concurrent callers for one key share one fetch.
//!
//! Thousands of machines in one vault must cost one protected-item list per interval, not one
//! request each; the Azure client has its own fabric cache, this one holds item lists.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

struct Entry<V> {
    cell: Arc<OnceCell<(Instant, V)>>,
}

/// TTL cache keyed by `K`.
pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, Entry<V>>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        TtlCache { ttl, entries: Mutex::new(HashMap::new()) }
    }

    /// The cached value and when it was fetched, or the result of `fetch` (run once for all concurrent callers).
    pub async fn get_or_fetch<E, F, Fut>(&self, key: &K, fetch: F) -> Result<(Instant, V), E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let cell = {
            let mut entries = self.entries.lock().expect("cache lock");
            let fresh = entries.get(key).is_some_and(|e| e.cell.get().is_none_or(|(at, _)| at.elapsed() < self.ttl));
            if !fresh {
                entries.insert(key.clone(), Entry { cell: Arc::new(OnceCell::new()) });
            }
            entries.get(key).expect("just inserted").cell.clone()
        };
        let (at, v) = cell.get_or_try_init(|| async { fetch().await.map(|v| (Instant::now(), v)) }).await?;
        Ok((*at, v.clone()))
    }

    /// Drop a key so the next caller fetches fresh data (after we changed something remotely).
    pub fn invalidate(&self, key: &K) {
        self.entries.lock().expect("cache lock").remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch_and_invalidation_forces_a_new_one() {
        let cache = Arc::new(TtlCache::<&str, u32>::new(Duration::from_secs(60)));
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (cache, calls) = (cache.clone(), calls.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_fetch(&"vault", || async {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            Ok::<_, ()>(7)
                        })
                        .await
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap().1, 7);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        cache.invalidate(&"vault");
        cache
            .get_or_fetch(&"vault", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ()>(8)
            })
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_fetch_is_not_cached() {
        let cache = TtlCache::<u8, u8>::new(Duration::from_secs(60));
        assert!(cache.get_or_fetch(&1, || async { Err::<u8, &str>("boom") }).await.is_err());
        assert_eq!(cache.get_or_fetch(&1, || async { Ok::<u8, &str>(3) }).await.unwrap().1, 3);
    }
}
