//! Building an `ArmClient` from its configuration, and what it reports about the requests it made.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use reprotect_facts::*;

use super::{ArmClient, key};
use crate::{
    accepted::RecentJobs,
    auth::TokenSource,
    budget::Budgets,
    cache::{TtlCache, WriteStamps},
    config::ArmClientConfig,
    http::{Http, RequestStats},
};

impl ArmClient {
    pub fn new(config: ArmClientConfig) -> Result<Self, SiteRecoveryError> {
        let budgets = Arc::new(Budgets::new(config.limits));
        Self::with_budgets(config, budgets)
    }

    /// A client drawing on request budgets shared with other clients.
    pub fn with_budgets(config: ArmClientConfig, budgets: Arc<Budgets>) -> Result<Self, SiteRecoveryError> {
        let client = crate::pool::http_client(&config)?;
        Self::with_shared(config, budgets, client)
    }

    /// A client drawing on request budgets and sending through an HTTP client (its connection pool) shared with
    /// other clients of the same TLS settings ([`http_client`](crate::pool::http_client)).
    pub fn with_shared(config: ArmClientConfig, budgets: Arc<Budgets>, client: reqwest::Client) -> Result<Self, SiteRecoveryError> {
        let tokens = TokenSource::new(&config.auth, &config.cloud, client.clone(), config.token_retries, config.token_backoff)?;
        let (ttl, keep) = (config.fabric_cache_ttl, config.settled_max_age);
        // A stamp matters while a value fetched before it may still be cached: the longest keep, twice over for
        // the fetch's own duration (a value's age counts from its fetch's start, the cache's from its end).
        let stamp_horizon = keep.max(config.settled_items_max_age).max(config.jobs_cache_ttl).saturating_mul(2);
        Ok(Self {
            http: Http {
                client,
                max_body: config.max_response_bytes,
                tokens,
                retry: config.retry,
                stats: Arc::default(),
                observer: config.observer,
            },
            cloud: config.cloud,
            budgets,
            identity: config.auth.identity(),
            fabrics: TtlCache::keeping(ttl, keep),
            items: TtlCache::keeping(ttl, keep.max(config.settled_items_max_age)),
            policies: TtlCache::keeping(ttl, keep),
            vcenters: TtlCache::keeping(ttl, keep),
            // Kept as long as the other lists: a list of many pages is reused for a TTL per page (`jobs_for`).
            jobs: TtlCache::keeping(config.jobs_cache_ttl, keep),
            writes: WriteStamps::forgetting_after(stamp_horizon),
            target_writes: WriteStamps::forgetting_after(stamp_horizon),
            write_refresh_min_age: config.write_refresh_min_age,
            item_lists: Mutex::default(),
            job_list_pages: Mutex::default(),
            containers: Mutex::default(),
            recent_jobs: RecentJobs::new(config.job_visibility_grace),
        })
    }

    /// Requests sent, by (operation, HTTP status); status 0 = no response.
    pub fn stats(&self) -> BTreeMap<(String, u16), u64> {
        self.http.stats.snapshot()
    }

    /// All HTTP attempts made by this client (retries included).
    pub fn total_requests(&self) -> u64 {
        self.http.stats.total()
    }

    pub fn request_stats(&self) -> Arc<RequestStats> {
        self.http.stats.clone()
    }

    /// Drop the cached fabric so the next `get_fabric` reads it again.
    pub async fn invalidate_fabric(&self, vault: &VaultRef) {
        self.fabrics.invalidate(&key(vault)).await;
    }
}
