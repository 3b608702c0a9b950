//! `ArmClientConfig`: cloud, credentials, CA, retries, budget, cache TTL and timeouts of an `ArmClient`.

use std::{sync::Arc, time::Duration};

use crate::{
    auth::AzureAuth,
    budget::ArmLimits,
    cloud::CloudConfig,
    http::{RequestObserver, RetryConfig},
    token_backoff::TokenBackoffConfig,
};

/// Everything an [`ArmClient`](crate::ArmClient) needs. `Debug` never shows secrets.
#[derive(Clone)]
pub struct ArmClientConfig {
    pub cloud: CloudConfig,
    pub auth: AzureAuth,
    /// Extra CA certificates (PEM bundle) trusted in addition to the built-in roots, for ARM and Entra ID.
    pub extra_ca_pem: Option<String>,
    pub retry: RetryConfig,
    /// Read and write budgets per subscription and identity, Azure's by default (ignored when
    /// budgets are shared via [`ArmClient::with_budgets`](crate::ArmClient::with_budgets)).
    pub limits: ArmLimits,
    /// How long the fabric and a vault's item, policy and vCenter lists are reused (0 disables
    /// the cache). A reprotect through this client discards its vault's item list.
    pub fabric_cache_ttl: Duration,
    /// How long a vault's job list is reused by `list_jobs_for` per page its last listing took (one listing
    /// serves every item adopting after a restart). A write through this client discards it for the item
    /// written. 0 disables.
    pub jobs_cache_ttl: Duration,
    /// How long the per-vault answers are kept for callers that accept more than `fabric_cache_ttl`
    /// (a machine with nothing in flight; see `SiteRecovery::list_protected_items_within`).
    pub settled_max_age: Duration,
    /// The same for item lists, which a watch of the vault's jobs keeps current between its listings.
    pub settled_items_max_age: Duration,
    /// A vault's item list read before this client's latest write to the vault is listed again
    /// once it is this old (at most one listing per interval during a burst of reprotects).
    pub write_refresh_min_age: Duration,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Quick retries azure_identity makes for a token request (its default of 8 over a minute is too slow).
    pub token_retries: u32,
    /// After a failed token request, how long until Entra ID is asked again (calls fail fast meanwhile).
    pub token_backoff: TokenBackoffConfig,
    /// Cap of one ARM response body; a larger one is a decode error, not read to the end.
    pub max_response_bytes: usize,
    /// For this long after this client's reProtect was accepted, a 404 on its job means "not
    /// readable yet": `get_job` waits and asks again, then answers a transient error.
    pub job_visibility_grace: Duration,
    pub observer: Option<Arc<dyn RequestObserver>>,
}

impl std::fmt::Debug for ArmClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClientConfig")
            .field("cloud", &self.cloud)
            .field("auth", &self.auth)
            .field("extra_ca_pem", &self.extra_ca_pem.as_ref().map(|_| "<pem>"))
            .field("retry", &self.retry)
            .field("limits", &self.limits)
            .field("fabric_cache_ttl", &self.fabric_cache_ttl)
            .field("token_backoff", &self.token_backoff)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

impl ArmClientConfig {
    pub fn new(cloud: CloudConfig, auth: AzureAuth) -> Self {
        Self {
            cloud,
            auth,
            extra_ca_pem: None,
            retry: RetryConfig::default(),
            limits: ArmLimits::azure(),
            fabric_cache_ttl: Duration::from_secs(30),
            jobs_cache_ttl: Duration::from_secs(10),
            write_refresh_min_age: Duration::from_secs(5),
            settled_max_age: Duration::from_secs(300),
            settled_items_max_age: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            token_retries: 1,
            token_backoff: TokenBackoffConfig::default(),
            max_response_bytes: 8 * 1024 * 1024,
            job_visibility_grace: Duration::from_secs(120),
            observer: None,
        }
    }
}
