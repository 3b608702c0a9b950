//! ARM request throttling: token buckets per (subscription, client) for reads and writes.
//!
//! Azure Resource Manager's limits (since 2024, "Request limits and throttling"): per subscription
//! and security principal, reads fill a bucket of 250 at 25/s and writes a bucket of 200 at 10/s.
//! Each bucket is a governor GCRA limiter keyed by (subscription, client); a request that finds its
//! bucket empty is refused with 429 and `Retry-After` (refused requests take no token), and every
//! answer carries `x-ms-ratelimit-remaining-subscription-reads` or `-writes` for its own kind, as
//! ARM does. Throttling runs on real time, not the simulated clock: ARM limits are wall-clock.

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use serde::Deserialize;
use std::num::NonZeroU32;
use std::time::Duration;

/// One bucket: how many requests may go at once, and how fast the bucket refills.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BucketSpec {
    pub bucket: u32,
    pub refill_per_second: f64,
}

impl BucketSpec {
    /// ARM's read bucket.
    pub const AZURE_READS: BucketSpec = BucketSpec { bucket: 250, refill_per_second: 25.0 };
    /// ARM's write bucket.
    pub const AZURE_WRITES: BucketSpec = BucketSpec { bucket: 200, refill_per_second: 10.0 };

    fn quota(self) -> Quota {
        let burst = NonZeroU32::new(self.bucket).unwrap_or(NonZeroU32::MIN);
        let period = Duration::from_secs_f64(1.0 / self.refill_per_second.max(1e-3));
        Quota::with_period(period).unwrap_or(Quota::per_second(NonZeroU32::MIN)).allow_burst(burst)
    }
}

/// A bucket as written in the scenario: figures left out keep Azure's for that kind.
#[derive(Default, Deserialize)]
#[serde(default)]
struct RawBucket {
    bucket: Option<u32>,
    refill_per_second: Option<f64>,
}

impl RawBucket {
    fn or(self, azure: BucketSpec) -> BucketSpec {
        BucketSpec {
            bucket: self.bucket.unwrap_or(azure.bucket),
            refill_per_second: self.refill_per_second.unwrap_or(azure.refill_per_second),
        }
    }
}

#[derive(Deserialize)]
#[serde(default)]
struct RawThrottling {
    enabled: bool,
    reads: RawBucket,
    writes: RawBucket,
}

impl Default for RawThrottling {
    fn default() -> Self {
        RawThrottling { enabled: true, reads: RawBucket::default(), writes: RawBucket::default() }
    }
}

impl From<RawThrottling> for ThrottlingSpec {
    fn from(r: RawThrottling) -> Self {
        ThrottlingSpec { enabled: r.enabled, reads: r.reads.or(BucketSpec::AZURE_READS), writes: r.writes.or(BucketSpec::AZURE_WRITES) }
    }
}

/// The scenario's `throttling:` block. YAML: `throttling: { enabled: false }` (only where a test
/// says so) or `throttling: { writes: { bucket: 20, refill_per_second: 1 } }`; figures left out
/// are Azure's.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(from = "RawThrottling")]
pub struct ThrottlingSpec {
    pub enabled: bool,
    pub reads: BucketSpec,
    pub writes: BucketSpec,
}

impl Default for ThrottlingSpec {
    fn default() -> Self {
        ThrottlingSpec { enabled: true, reads: BucketSpec::AZURE_READS, writes: BucketSpec::AZURE_WRITES }
    }
}

impl ThrottlingSpec {
    /// No throttling at all (no 429, no `x-ms-ratelimit-*` headers).
    pub fn off() -> Self {
        ThrottlingSpec { enabled: false, ..Self::default() }
    }
}

/// Which bucket a request draws on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Read,
    Write,
}

impl Kind {
    /// GET and HEAD read; everything else writes.
    pub fn of(method: &axum::http::Method) -> Kind {
        if method == axum::http::Method::GET || method == axum::http::Method::HEAD { Kind::Read } else { Kind::Write }
    }
    /// The header ARM answers with for this kind.
    pub fn header(self) -> &'static str {
        match self {
            Kind::Read => "x-ms-ratelimit-remaining-subscription-reads",
            Kind::Write => "x-ms-ratelimit-remaining-subscription-writes",
        }
    }
    fn word(self) -> &'static str {
        match self {
            Kind::Read => "read",
            Kind::Write => "write",
        }
    }
}

/// What the throttle decided for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Served; `remaining` requests of this kind are left in the bucket.
    Allowed { remaining: u32 },
    /// Refused; try again after `retry_after_s` seconds.
    Throttled { retry_after_s: u64, message: String },
}

type Key = (String, String);
type Limiter = RateLimiter<Key, DefaultKeyedStateStore<Key>, DefaultClock, StateInformationMiddleware>;

/// The buckets of a running simulator (`None` when throttling is off).
pub struct Throttle {
    spec: ThrottlingSpec,
    buckets: Option<(Limiter, Limiter)>,
}

impl Throttle {
    pub fn new(spec: ThrottlingSpec) -> Self {
        let buckets = spec.enabled.then(|| {
            (
                RateLimiter::keyed(spec.reads.quota()).with_middleware::<StateInformationMiddleware>(),
                RateLimiter::keyed(spec.writes.quota()).with_middleware::<StateInformationMiddleware>(),
            )
        });
        Throttle { spec, buckets }
    }

    pub fn spec(&self) -> ThrottlingSpec {
        self.spec
    }

    /// Take one token of `kind` for (subscription, client), or say how long to wait.
    /// `None` when throttling is off.
    pub fn check(&self, subscription: &str, client: &str, kind: Kind) -> Option<Decision> {
        let (reads, writes) = self.buckets.as_ref()?;
        let limiter = if kind == Kind::Read { reads } else { writes };
        let key = (subscription.to_ascii_lowercase(), client.to_ascii_lowercase());
        Some(match limiter.check_key(&key) {
            Ok(snapshot) => Decision::Allowed { remaining: snapshot.remaining_burst_capacity() },
            Err(not_until) => {
                let wait = not_until.wait_time_from(limiter.clock().now());
                let retry_after_s = wait.as_secs_f64().ceil().max(1.0) as u64;
                Decision::Throttled {
                    retry_after_s,
                    message: format!(
                        "Number of '{}' requests for subscription '{subscription}' actor '{client}' exceeded. Please try again after '{retry_after_s}' seconds.",
                        kind.word()
                    ),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_of_three_serves_three_then_refuses_with_a_whole_second_retry_after() {
        let t = Throttle::new(ThrottlingSpec {
            enabled: true,
            reads: BucketSpec { bucket: 3, refill_per_second: 0.5 },
            writes: BucketSpec::AZURE_WRITES,
        });
        let seen: Vec<_> = (0..4).map(|_| t.check("SUB", "app", Kind::Read)).collect();
        assert_eq!(seen[0], Some(Decision::Allowed { remaining: 2 }));
        assert_eq!(seen[2], Some(Decision::Allowed { remaining: 0 }));
        assert!(matches!(&seen[3], Some(Decision::Throttled { retry_after_s: 2, .. })), "{:?}", seen[3]);
        assert_eq!(t.check("sub", "app", Kind::Write), Some(Decision::Allowed { remaining: 199 }));
    }

    #[test]
    fn throttling_off_decides_nothing() {
        assert_eq!(Throttle::new(ThrottlingSpec::off()).check("sub", "app", Kind::Read), None);
    }
}
