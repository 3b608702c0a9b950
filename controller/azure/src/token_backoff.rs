//! Backoff for failing token requests: after a failure Entra ID is not asked again for this
//! credential until a capped, jittered exponential delay (backon) has passed; callers meanwhile get
//! the same error at once. Entra throttles and flags clients that loop on a failing request.

use std::{sync::Mutex, time::Duration};

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use reprotect_facts::SiteRecoveryError;
use tokio::time::Instant;

/// How long to wait after a failed token request before the next one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenBackoffConfig {
    /// Wait after the first failure (each further failure doubles it, plus up to 100 % jitter).
    pub min_delay: Duration,
    /// Cap of the doubled wait (before jitter).
    pub max_delay: Duration,
}

impl Default for TokenBackoffConfig {
    /// At most about three token requests a minute while failing, then one every 5 to 10 minutes.
    fn default() -> Self {
        Self { min_delay: Duration::from_secs(15), max_delay: Duration::from_secs(300) }
    }
}

/// The last failure, kept to answer callers while the backoff runs.
#[derive(Clone, Debug)]
struct Failure {
    transient: bool,
    message: String,
    retry_at: Instant,
}

impl Failure {
    /// The same error as the request that failed (same text: no status churn in the controller).
    fn error(&self) -> SiteRecoveryError {
        if self.transient {
            SiteRecoveryError::Transport { operation: "acquire token".into(), message: self.message.clone() }
        } else {
            SiteRecoveryError::Auth(self.message.clone())
        }
    }
}

struct State {
    delays: ExponentialBackoff,
    failure: Option<Failure>,
}

/// Per credential: is a token request allowed now, and what did the last one say?
pub(crate) struct TokenBackoff {
    config: TokenBackoffConfig,
    state: Mutex<State>,
}

impl TokenBackoff {
    pub(crate) fn new(config: TokenBackoffConfig) -> Self {
        Self { config, state: Mutex::new(State { delays: Self::delays(config), failure: None }) }
    }

    fn delays(c: TokenBackoffConfig) -> ExponentialBackoff {
        ExponentialBuilder::default().with_min_delay(c.min_delay).with_max_delay(c.max_delay).with_jitter().without_max_times().build()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Err` with the last failure while its backoff runs; `Ok` when a token request may go out.
    pub(crate) fn check(&self) -> Result<(), SiteRecoveryError> {
        match &self.lock().failure {
            Some(f) if Instant::now() < f.retry_at => Err(f.error()),
            _ => Ok(()),
        }
    }

    /// A token request succeeded: the next failure starts from the first delay again.
    pub(crate) fn succeeded(&self) {
        let mut s = self.lock();
        s.failure = None;
        s.delays = Self::delays(self.config);
    }

    /// A token request failed with `err`: wait before the next one. Returns the wait.
    pub(crate) fn failed(&self, err: &SiteRecoveryError) -> Duration {
        let mut s = self.lock();
        let wait = s.delays.next().unwrap_or(self.config.max_delay);
        let (transient, message) = match err {
            SiteRecoveryError::Transport { message, .. } => (true, message.clone()),
            SiteRecoveryError::Auth(m) => (false, m.clone()),
            other => (false, other.to_string()),
        };
        s.failure = Some(Failure { transient, message, retry_at: Instant::now() + wait });
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reprotect_facts::AsrErrorClass;

    fn cfg() -> TokenBackoffConfig {
        TokenBackoffConfig { min_delay: Duration::from_secs(10), max_delay: Duration::from_secs(40) }
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_failure_no_request_is_allowed_until_the_delay_has_passed_and_the_same_error_is_returned() {
        let b = TokenBackoff::new(cfg());
        assert!(b.check().is_ok());
        let wait = b.failed(&SiteRecoveryError::Auth("AADSTS7000222: expired".into()));
        assert!((Duration::from_secs(10)..=Duration::from_secs(20)).contains(&wait), "{wait:?}");
        let err = b.check().unwrap_err();
        assert_eq!((err.class(), err.to_string().contains("AADSTS7000222")), (AsrErrorClass::Credentials, true));
        tokio::time::advance(wait - Duration::from_millis(1)).await;
        assert!(b.check().is_err());
        tokio::time::advance(Duration::from_millis(2)).await;
        assert!(b.check().is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn waits_double_up_to_the_cap_keep_the_error_class_and_reset_after_a_success() {
        let b = TokenBackoff::new(cfg());
        let transient = SiteRecoveryError::Transport { operation: "acquire token".into(), message: "503".into() };
        let waits: Vec<Duration> = (0..5).map(|_| b.failed(&transient)).collect();
        let floors = [10, 20, 40, 40, 40];
        for (w, f) in waits.iter().zip(floors) {
            assert!((Duration::from_secs(f)..=Duration::from_secs(2 * f)).contains(w), "{waits:?}");
        }
        assert_eq!(b.check().unwrap_err().class(), AsrErrorClass::Transient);
        b.succeeded();
        assert!(b.check().is_ok());
        assert!(b.failed(&transient) <= Duration::from_secs(20), "back to the first delay");
    }
}
