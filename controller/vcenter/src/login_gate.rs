//! Login backoff per vCenter identity: after an `InvalidLogin` no further login is sent until the backoff ends.
//!
//! vSphere locks an account after a few failed logins (5 in 180 s by default) and the account is often shared
//! with the configuration server, so every caller of one (server, user, credentials version, TLS) identity
//! shares one gate: the first rejection blocks the others instead of each of them trying its own login.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reprotect_facts::vcenter::VcenterError;

#[derive(Default)]
struct GateState {
    /// Consecutive rejected logins.
    failures: u32,
    /// No login is sent before this instant.
    retry_at: Option<Instant>,
}

/// Shared by every session of one connection identity.
pub(crate) struct LoginGate {
    state: Mutex<GateState>,
    initial: Duration,
    max: Duration,
    /// Login requests sent (shared with the pool, for tests and metrics).
    attempts: Arc<AtomicU64>,
}

impl LoginGate {
    pub(crate) fn new(initial: Duration, max: Duration, attempts: Arc<AtomicU64>) -> LoginGate {
        LoginGate { state: Mutex::new(GateState::default()), initial, max, attempts }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, GateState> {
        // The state stays consistent even if a holder panicked: every update is a single assignment.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `Err(InvalidLogin)` without contacting the server while the last rejection's backoff runs.
    pub(crate) fn check(&self, server: &str) -> Result<(), VcenterError> {
        match self.state().retry_at {
            Some(at) if Instant::now() < at => Err(VcenterError::InvalidLogin { server: server.to_string() }),
            _ => Ok(()),
        }
    }

    /// Record that a login request is about to be sent.
    pub(crate) fn attempt(&self) {
        self.attempts.fetch_add(1, Ordering::AcqRel);
    }

    /// The server rejected the credentials: block logins for `initial * 2^(failures-1)`, at most `max`.
    pub(crate) fn rejected(&self) {
        let mut s = self.state();
        s.failures = s.failures.saturating_add(1);
        let delay = backoff(self.initial, self.max, s.failures);
        s.retry_at = Instant::now().checked_add(delay);
    }

    /// A login succeeded: forget earlier rejections.
    pub(crate) fn accepted(&self) {
        *self.state() = GateState::default();
    }
}

/// `initial` doubled for every failure after the first, capped at `max` (saturating, never overflows).
fn backoff(initial: Duration, max: Duration, failures: u32) -> Duration {
    let factor = 2u32.checked_pow(failures.saturating_sub(1)).unwrap_or(u32::MAX);
    initial.checked_mul(factor).unwrap_or(max).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_thirty_seconds_to_five_minutes_and_never_overflows() {
        let (i, m) = (Duration::from_secs(30), Duration::from_secs(300));
        let got: Vec<u64> = [1, 2, 3, 4, 5, 40, u32::MAX].iter().map(|&n| backoff(i, m, n).as_secs()).collect();
        assert_eq!(got, vec![30, 60, 120, 240, 300, 300, 300]);
    }

    #[test]
    fn with_the_default_options_no_180_second_window_holds_more_than_two_rejected_logins() {
        // vSphere's default lockout: 5 failed logins within 180 s.
        let o = crate::connect::PoolOptions::default();
        let mut at = Duration::ZERO;
        let mut logins = Vec::new();
        for failures in 1..=8 {
            logins.push(at);
            at += backoff(o.login_backoff_initial, o.login_backoff_max, failures);
        }
        for (i, start) in logins.iter().enumerate() {
            let in_window = logins.iter().skip(i).filter(|t| **t < *start + Duration::from_secs(180)).count();
            assert!(in_window <= 2, "{in_window} logins in the 180 s from {start:?}: {logins:?}");
        }
    }

    #[test]
    fn a_rejection_blocks_logins_until_the_backoff_ends_and_success_resets_it() {
        let gate = LoginGate::new(Duration::from_millis(50), Duration::from_secs(1), Arc::default());
        gate.check("vc").expect("open at first");
        gate.rejected();
        assert!(matches!(gate.check("vc"), Err(VcenterError::InvalidLogin { .. })));
        std::thread::sleep(Duration::from_millis(60));
        gate.check("vc").expect("open after the backoff");
        gate.rejected();
        std::thread::sleep(Duration::from_millis(60));
        assert!(gate.check("vc").is_err(), "the second rejection doubles the backoff");
        gate.accepted();
        gate.check("vc").expect("open after a successful login");
    }
}
