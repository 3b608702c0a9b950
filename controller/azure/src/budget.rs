//! Request pacing to ARM's real limits: read and write token buckets (governor) per subscription
//! and identity, tightened by what ARM reports (`x-ms-ratelimit-remaining-*`, `Retry-After`).
//!
//! Azure Resource Manager throttles per subscription and security principal with separate buckets
//! for reads (250, refilling 25/s) and writes (200, refilling 10/s). The client keeps the same
//! buckets locally so it never needs a 429 to learn the pace, and because reads and writes draw on
//! different buckets, polling reads can never starve a reprotect POST. Other callers sharing the
//! identity (another replica, a script) spend ARM's buckets without our knowledge: when ARM says
//! few requests remain, or answers 429, that lane pauses until ARM's bucket has refilled a little.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Duration,
};

use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    state::{InMemoryState, NotKeyed},
};
use tokio::time::Instant;

/// Rate and burst of one token bucket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BudgetConfig {
    /// Sustained requests per second.
    pub rate_per_second: f64,
    /// Requests that may go out at once after a quiet period (the bucket size).
    pub burst: u32,
}

impl BudgetConfig {
    /// ARM's read bucket per subscription and principal.
    pub const AZURE_READS: BudgetConfig = BudgetConfig { rate_per_second: 25.0, burst: 250 };
    /// ARM's write bucket per subscription and principal.
    pub const AZURE_WRITES: BudgetConfig = BudgetConfig { rate_per_second: 10.0, burst: 200 };

    fn quota(self) -> Quota {
        let burst = NonZeroU32::new(self.burst).unwrap_or(NonZeroU32::MIN);
        let period = Duration::from_secs_f64(1.0 / self.rate_per_second.max(1e-3));
        Quota::with_period(period).unwrap_or(Quota::per_second(NonZeroU32::MIN)).allow_burst(burst)
    }
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self::AZURE_READS
    }
}

/// The read and write budgets of one (subscription, identity); defaults are Azure's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ArmLimits {
    pub reads: BudgetConfig,
    pub writes: BudgetConfig,
}

impl ArmLimits {
    /// Azure Resource Manager's published limits.
    pub const fn azure() -> Self {
        ArmLimits { reads: BudgetConfig::AZURE_READS, writes: BudgetConfig::AZURE_WRITES }
    }
}

impl Default for ArmLimits {
    fn default() -> Self {
        Self::azure()
    }
}

/// A single budget from older configuration: reads get it as given, writes never more than Azure's.
impl From<BudgetConfig> for ArmLimits {
    fn from(b: BudgetConfig) -> Self {
        let w = BudgetConfig::AZURE_WRITES;
        ArmLimits {
            reads: b,
            writes: BudgetConfig { rate_per_second: b.rate_per_second.min(w.rate_per_second), burst: b.burst.min(w.burst) },
        }
    }
}

/// Which bucket a request draws on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Read,
    Write,
}

impl Kind {
    /// The header in which ARM reports what is left of this bucket.
    pub fn remaining_header(self) -> &'static str {
        match self {
            Kind::Read => "x-ms-ratelimit-remaining-subscription-reads",
            Kind::Write => "x-ms-ratelimit-remaining-subscription-writes",
        }
    }
}

type Direct = RateLimiter<NotKeyed, InMemoryState, DefaultClock>;

/// One bucket of one (subscription, identity).
pub struct Lane {
    kind: Kind,
    config: BudgetConfig,
    limiter: Direct,
    /// Waiters queue here (tokio's mutex is fair), so the first to ask is the first served.
    queue: tokio::sync::Mutex<()>,
    paused_until: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lane").field("config", &self.config).finish_non_exhaustive()
    }
}

/// Below this many remaining requests (a tenth of the bucket) the lane lets ARM's bucket refill.
fn low_water(config: BudgetConfig) -> u32 {
    (config.burst / 10).max(1)
}

/// Tokens of the bucket the lane never spends at once (a twentieth): ARM starts refilling when our
/// first request arrives, not when we sent it, and requests on fresh TLS connections arrive later
/// than those on warm ones, so a client using every last token draws the odd 429 after a burst.
fn headroom(config: BudgetConfig) -> u32 {
    config.burst / 20
}

impl Lane {
    fn new(config: BudgetConfig, kind: Kind) -> Self {
        let usable = BudgetConfig { burst: config.burst - headroom(config), ..config };
        Lane {
            kind,
            config,
            limiter: RateLimiter::direct(usable.quota()),
            queue: tokio::sync::Mutex::new(()),
            paused_until: Mutex::new(None),
        }
    }

    pub fn config(&self) -> BudgetConfig {
        self.config
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    fn pause_until(&self, until: Instant) {
        let mut p = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        if p.is_none_or(|cur| cur < until) {
            *p = Some(until);
        }
    }

    fn paused_until(&self) -> Option<Instant> {
        *self.paused_until.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wait for one request's worth of budget, in arrival order.
    pub async fn acquire(&self) {
        let _turn = self.queue.lock().await;
        loop {
            if let Some(until) = self.paused_until()
                && until > Instant::now()
            {
                tokio::time::sleep_until(until).await;
                continue;
            }
            match self.limiter.check() {
                Ok(()) => return,
                Err(not_until) => tokio::time::sleep(not_until.wait_time_from(self.limiter.clock().now())).await,
            }
        }
    }

    /// Take in what ARM said: how many requests of this kind remain, and a 429's `Retry-After`.
    pub fn learn(&self, status: u16, remaining: Option<u32>, retry_after: Option<Duration>) {
        let now = Instant::now();
        if status == 429 {
            self.pause_until(now + retry_after.unwrap_or(Duration::from_secs(1)).min(Duration::from_secs(300)));
            return;
        }
        let low = low_water(self.config);
        if let Some(r) = remaining.filter(|r| *r < low) {
            self.pause_until(now + Duration::from_secs_f64(f64::from(low - r) / self.config.rate_per_second.max(1e-3)));
        }
    }
}

/// Lanes keyed by (subscription id (case-insensitive), identity, kind), shared across clients.
#[derive(Debug, Default)]
pub struct Budgets {
    limits: ArmLimits,
    lanes: Mutex<HashMap<(String, String, Kind), Arc<Lane>>>,
}

impl Budgets {
    pub fn new(limits: impl Into<ArmLimits>) -> Self {
        Self { limits: limits.into(), lanes: Mutex::default() }
    }

    pub fn limits(&self) -> ArmLimits {
        self.limits
    }

    /// The bucket for this subscription, identity and kind of request.
    pub fn lane(&self, subscription_id: &str, identity: &str, kind: Kind) -> Arc<Lane> {
        let config = match kind {
            Kind::Read => self.limits.reads,
            Kind::Write => self.limits.writes,
        };
        let mut map = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        map.entry((subscription_id.to_ascii_lowercase(), identity.to_string(), kind))
            .or_insert_with(|| Arc::new(Lane::new(config, kind)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant as StdInstant;

    #[tokio::test]
    async fn a_lane_lets_its_burst_through_then_paces_at_the_rate() {
        let lane = Lane::new(BudgetConfig { rate_per_second: 20.0, burst: 5 }, Kind::Read);
        let start = StdInstant::now();
        for _ in 0..5 {
            lane.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_millis(40), "{:?}", start.elapsed());
        for _ in 0..10 {
            lane.acquire().await;
        }
        assert!(start.elapsed() >= Duration::from_millis(450), "{:?}", start.elapsed());
    }

    #[tokio::test]
    async fn a_429_pauses_the_lane_for_its_retry_after_and_a_low_remaining_count_slows_it() {
        let lane = Lane::new(BudgetConfig { rate_per_second: 10.0, burst: 100 }, Kind::Write);
        lane.learn(429, None, Some(Duration::from_millis(300)));
        let start = StdInstant::now();
        lane.acquire().await;
        assert!(start.elapsed() >= Duration::from_millis(280), "{:?}", start.elapsed());
        // ARM says 5 left of 100: wait until it has 10 (5 more at 10/s = 0.5 s).
        lane.learn(202, Some(5), None);
        let start = StdInstant::now();
        lane.acquire().await;
        assert!(start.elapsed() >= Duration::from_millis(450), "{:?}", start.elapsed());
        lane.learn(200, Some(50), None);
        let start = StdInstant::now();
        lane.acquire().await;
        assert!(start.elapsed() < Duration::from_millis(40), "{:?}", start.elapsed());
    }

    #[test]
    fn reads_and_writes_of_one_subscription_and_identity_are_separate_lanes_regardless_of_case() {
        let budgets = Budgets::new(ArmLimits::azure());
        let r = budgets.lane("ABC", "app", Kind::Read);
        assert!(Arc::ptr_eq(&r, &budgets.lane("abc", "app", Kind::Read)));
        assert!(!Arc::ptr_eq(&r, &budgets.lane("abc", "app", Kind::Write)));
        assert!(!Arc::ptr_eq(&r, &budgets.lane("abc", "other-app", Kind::Read)));
        assert_eq!(budgets.lane("abc", "app", Kind::Write).config(), BudgetConfig::AZURE_WRITES);
    }

    #[test]
    fn an_old_single_budget_never_grants_more_writes_than_azure() {
        let l = ArmLimits::from(BudgetConfig { rate_per_second: 200.0, burst: 400 });
        assert_eq!(l.reads, BudgetConfig { rate_per_second: 200.0, burst: 400 });
        assert_eq!(l.writes, BudgetConfig::AZURE_WRITES);
    }
}
