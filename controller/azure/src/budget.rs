//! Per-subscription request budget: a small tokio token bucket shared by every caller of a subscription.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Rate and burst of a request budget.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BudgetConfig {
    /// Sustained requests per second (per subscription).
    pub rate_per_second: f64,
    /// Requests that may go out at once after a quiet period.
    pub burst: u32,
}

impl Default for BudgetConfig {
    /// ARM allows far more; stay well below it so thousands of machines never trip 429.
    fn default() -> Self {
        Self { rate_per_second: 10.0, burst: 40 }
    }
}

/// A token bucket. `acquire` reserves a token (the balance may go negative) and sleeps until
/// that reservation is covered, so waiters are served in arrival order.
#[derive(Debug)]
pub struct TokenBucket {
    config: BudgetConfig,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    pub fn new(config: BudgetConfig) -> Self {
        let config = BudgetConfig { rate_per_second: config.rate_per_second.max(0.001), burst: config.burst.max(1) };
        Self { config, state: Mutex::new((f64::from(config.burst), Instant::now())) }
    }

    /// Time the caller would have to wait (and reserve the token).
    fn reserve(&self) -> Duration {
        let mut st = self.state.lock().expect("bucket lock");
        let now = Instant::now();
        let refill = now.duration_since(st.1).as_secs_f64() * self.config.rate_per_second;
        st.0 = (st.0 + refill).min(f64::from(self.config.burst));
        st.1 = now;
        st.0 -= 1.0;
        if st.0 >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-st.0 / self.config.rate_per_second) }
    }

    /// Wait for one request's worth of budget.
    pub async fn acquire(&self) {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    pub fn config(&self) -> BudgetConfig {
        self.config
    }
}

/// Buckets keyed by subscription id (case-insensitive), shared across clients.
#[derive(Debug, Default)]
pub struct Budgets {
    config: BudgetConfig,
    buckets: Mutex<HashMap<String, Arc<TokenBucket>>>,
}

impl Budgets {
    pub fn new(config: BudgetConfig) -> Self {
        Self { config, buckets: Mutex::default() }
    }

    pub fn for_subscription(&self, subscription_id: &str) -> Arc<TokenBucket> {
        let mut map = self.buckets.lock().expect("budgets lock");
        map.entry(subscription_id.to_ascii_lowercase()).or_insert_with(|| Arc::new(TokenBucket::new(self.config))).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_bucket_lets_a_burst_through_then_paces_at_the_rate() {
        let b = TokenBucket::new(BudgetConfig { rate_per_second: 10.0, burst: 5 });
        let start = tokio::time::Instant::now();
        for _ in 0..5 {
            b.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_millis(5));
        for _ in 0..10 {
            b.acquire().await;
        }
        assert!(start.elapsed() >= Duration::from_millis(900), "{:?}", start.elapsed());
    }

    #[test]
    fn subscriptions_share_one_bucket_regardless_of_case() {
        let budgets = Budgets::new(BudgetConfig::default());
        assert!(Arc::ptr_eq(&budgets.for_subscription("ABC"), &budgets.for_subscription("abc")));
        assert!(!Arc::ptr_eq(&budgets.for_subscription("abc"), &budgets.for_subscription("def")));
    }
}
