//! `ArmClientPool`: one client per (cloud, identity, credentials version), sharing read and write budgets per subscription and
//! identity, and one HTTP client (connection pool) per TLS settings.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use reprotect_facts::{SiteRecovery, SiteRecoveryError};

use crate::{
    budget::{ArmLimits, Budgets},
    client::ArmClient,
    cloud::CloudConfig,
    config::ArmClientConfig,
    http::error_chain,
};

/// Idle connections the HTTP client keeps per host. Each idle connection holds its read buffer, which grows to hyper's
/// 408 KiB with the pages of a vault's item list and stays that size while the connection lives; a burst of
/// concurrent reads otherwise leaves all its connections (and buffers) idle in the pool (issue 13: 64 MiB).
pub const IDLE_CONNECTIONS_PER_HOST: usize = 4;

/// The HTTP client for a configuration: what it takes from the configuration (extra CA, timeouts) is all that differs
/// between the HTTP clients of two ARM clients, so the [`ArmClientPool`] shares one per
/// [`HttpKey`] among its clients, whatever their identities.
pub(crate) fn http_client(config: &ArmClientConfig) -> Result<reqwest::Client, SiteRecoveryError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        .pool_max_idle_per_host(IDLE_CONNECTIONS_PER_HOST)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("reprotect-controller/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = &config.extra_ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|e| SiteRecoveryError::Invalid(format!("extra CA bundle: {}", error_chain(&e))))?;
        if certs.is_empty() {
            return Err(SiteRecoveryError::Invalid("extra CA bundle holds no certificate".into()));
        }
        for c in certs {
            builder = builder.add_root_certificate(c);
        }
    }
    builder.build().map_err(|e| SiteRecoveryError::Invalid(format!("HTTP client: {}", error_chain(&e))))
}

/// What of an [`ArmClientConfig`] its HTTP client is built from ([`http_client`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct HttpKey {
    extra_ca_pem: Option<String>,
    connect_timeout: Duration,
    request_timeout: Duration,
}

impl HttpKey {
    fn of(config: &ArmClientConfig) -> Self {
        Self { extra_ca_pem: config.extra_ca_pem.clone(), connect_timeout: config.connect_timeout, request_timeout: config.request_timeout }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct PoolKey {
    cloud: CloudConfig,
    identity: String,
    ca: Option<String>,
}

/// Caches clients so token caches, connection pools and fabric caches are reused across reconciles.
/// A new credentials version (e.g. the Secret's resourceVersion) replaces the cached client.
pub struct ArmClientPool {
    budgets: Arc<Budgets>,
    clients: Mutex<HashMap<PoolKey, (String, Arc<ArmClient>)>>,
    /// One HTTP client per TLS settings: one policy per identity would otherwise mean a connection pool per policy,
    /// each keeping its idle connections' read buffers (5.9 MB of 33 at 3,000 machines in 10 vaults, heaptrack).
    http: Mutex<HashMap<HttpKey, reqwest::Client>>,
}

impl ArmClientPool {
    /// `limits` (Azure's: [`ArmLimits::azure`]) apply per subscription and identity across every
    /// client of the pool. A single [`BudgetConfig`](crate::BudgetConfig) still converts: reads
    /// get it as given, writes never more than Azure's.
    pub fn new(limits: impl Into<ArmLimits>) -> Self {
        Self { budgets: Arc::new(Budgets::new(limits)), clients: Mutex::default(), http: Mutex::default() }
    }

    /// The client for this configuration, created on first use or when `credentials_version` changed.
    pub fn client(&self, config: ArmClientConfig, credentials_version: &str) -> Result<Arc<ArmClient>, SiteRecoveryError> {
        let key = PoolKey { cloud: config.cloud.clone(), identity: config.auth.identity(), ca: config.extra_ca_pem.clone() };
        let mut clients = self.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((version, client)) = clients.get(&key)
            && version == credentials_version
        {
            return Ok(client.clone());
        }
        let http = self.http_client(&config)?;
        let client = Arc::new(ArmClient::with_shared(config, self.budgets.clone(), http)?);
        clients.insert(key, (credentials_version.to_string(), client.clone()));
        Ok(client)
    }

    /// The shared HTTP client for `config`'s TLS settings, built on first use.
    fn http_client(&self, config: &ArmClientConfig) -> Result<reqwest::Client, SiteRecoveryError> {
        let mut shared = self.http.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = HttpKey::of(config);
        if let Some(client) = shared.get(&key) {
            return Ok(client.clone());
        }
        let client = http_client(config)?;
        shared.insert(key, client.clone());
        Ok(client)
    }

    /// Same as [`client`](Self::client), as the trait object the controller uses.
    pub fn get(&self, config: ArmClientConfig, credentials_version: &str) -> Result<Arc<dyn SiteRecovery>, SiteRecoveryError> {
        Ok(self.client(config, credentials_version)?)
    }

    pub fn len(&self) -> usize {
        self.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Request counters summed over all pooled clients, by (operation, status).
    pub fn stats(&self) -> BTreeMap<(String, u16), u64> {
        let clients: Vec<_> =
            self.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner).values().map(|(_, c)| c.clone()).collect();
        let mut out = BTreeMap::new();
        for c in clients {
            for (k, v) in c.stats() {
                *out.entry(k).or_default() += v;
            }
        }
        out
    }
}

impl Default for ArmClientPool {
    fn default() -> Self {
        Self::new(ArmLimits::azure())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        auth::AzureAuth,
        test_server::{serve_json, sim_cloud, vault},
    };

    fn config(secret: &str) -> ArmClientConfig {
        let auth = AzureAuth::ClientSecret { tenant_id: "tenant-1".into(), client_id: "app".into(), client_secret: secret.into() };
        ArmClientConfig::new(CloudConfig::azure_public(), auth)
    }

    #[test]
    fn the_pool_reuses_a_client_until_the_credentials_version_changes() {
        let pool = ArmClientPool::default();
        let a = pool.client(config("one"), "v1").unwrap();
        let b = pool.client(config("one"), "v1").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let c = pool.client(config("two"), "v2").unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(pool.len(), 1);
        let _gov = pool.client(ArmClientConfig { cloud: CloudConfig::azure_us_government(), ..config("two") }, "v2").unwrap();
        assert_eq!(pool.len(), 2);
    }

    #[tokio::test]
    async fn clients_of_two_clouds_or_identities_with_the_same_http_settings_send_over_one_connection_and_other_settings_get_their_own() {
        let server = serve_json(Duration::ZERO, |_| r#"{"value":[]}"#.to_string()).await;
        let sim = |api_version: &str| CloudConfig { api_version: api_version.into(), ..sim_cloud(&server) };
        let token = |cloud| ArmClientConfig::new(cloud, AzureAuth::StaticToken("t".into()));
        let pool = ArmClientPool::default();
        let first = pool.client(token(sim("2026-11-01")), "v1").unwrap();
        let second = pool.client(token(sim("2025-08-01")), "v1").unwrap();
        assert!(!Arc::ptr_eq(&first, &second), "two clients");
        first.list_policies(&vault()).await.unwrap();
        second.list_policies(&vault()).await.unwrap();
        assert_eq!(server.accepted(), 1, "the second client reused the first one's idle connection");

        let other = ArmClientConfig { connect_timeout: Duration::from_secs(3), ..token(sim("2024-10-01")) };
        pool.client(other, "v1").unwrap().list_policies(&vault()).await.unwrap();
        assert_eq!(server.accepted(), 2, "other settings, another HTTP client");
    }

    #[tokio::test]
    async fn after_a_burst_of_concurrent_reads_at_most_four_connections_stay_open() {
        let server = serve_json(Duration::from_millis(200), |_| r#"{"value":[]}"#.to_string()).await;
        let config = ArmClientConfig {
            fabric_cache_ttl: Duration::ZERO,
            ..ArmClientConfig::new(sim_cloud(&server), AzureAuth::StaticToken("t".into()))
        };
        let client = ArmClientPool::default().client(config, "v1").unwrap();
        let vaults: Vec<_> = (0..12).map(|i| reprotect_facts::VaultRef { vault_name: format!("vault-{i}"), ..vault() }).collect();
        let reads = futures::future::join_all(vaults.iter().map(|v| client.list_policies(v))).await;
        assert!(reads.iter().all(Result::is_ok));
        assert!(server.accepted() > IDLE_CONNECTIONS_PER_HOST, "the burst ran on {} connections", server.accepted());
        assert_eq!(server.open_once_at_most(IDLE_CONNECTIONS_PER_HOST).await, IDLE_CONNECTIONS_PER_HOST);
    }
}
