//! `ArmClientPool`: one client per (cloud, identity, credentials version), sharing read and write budgets per subscription and identity.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
};

use reprotect_facts::{SiteRecovery, SiteRecoveryError};

use crate::{
    budget::{ArmLimits, Budgets},
    client::ArmClient,
    cloud::CloudConfig,
    config::ArmClientConfig,
};

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
}

impl ArmClientPool {
    /// `limits` (Azure's: [`ArmLimits::azure`]) apply per subscription and identity across every
    /// client of the pool. A single [`BudgetConfig`](crate::BudgetConfig) still converts: reads
    /// get it as given, writes never more than Azure's.
    pub fn new(limits: impl Into<ArmLimits>) -> Self {
        Self { budgets: Arc::new(Budgets::new(limits)), clients: Mutex::default() }
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
        let client = Arc::new(ArmClient::with_budgets(config, self.budgets.clone())?);
        clients.insert(key, (credentials_version.to_string(), client.clone()));
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
    use crate::auth::AzureAuth;

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
}
