//! The shared context of all reconcilers: Kubernetes client, stores, connectors, caches, metrics and backoff state.

use crate::connections::Connector;
use crate::crd::{MasterTarget, ProtectedMachine, ReprotectPolicy};
use crate::metrics::Metrics;
use backon::BackoffBuilder;
use kube::Client;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{ObjectRef, Store};
use reprotect_azure::cache::TtlCache;
use reprotect_facts::{DiscoveredVcenterFacts, JobRef, PolicyFacts, ProtectedItemFacts, VaultRef};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Field manager of every status write (server-side apply).
pub const FIELD_MANAGER: &str = "reprotect-controller";

/// Tunables from the command line.
#[derive(Clone, Debug)]
pub struct Settings {
    pub watchdog_interval: Duration,
    pub item_cache_ttl: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            watchdog_interval: Duration::from_secs(300),
            item_cache_ttl: Duration::from_secs(10),
            initial_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(300),
        }
    }
}

/// Stores of the three kinds, filled by the controllers' reflectors.
#[derive(Clone)]
pub struct Stores {
    pub policies: Store<ReprotectPolicy>,
    pub master_targets: Store<MasterTarget>,
    pub machines: Store<ProtectedMachine>,
}

impl Stores {
    /// Resolves once every store has its initial list (readiness). Reconcilers must not wait on
    /// it: a reconcile holding a concurrency slot can stop the controller polling its own watch.
    pub async fn synced(&self) {
        let _ = tokio::join!(self.policies.wait_until_ready(), self.master_targets.wait_until_ready(), self.machines.wait_until_ready());
    }
}

/// Shared state of the reconcilers.
pub struct Context {
    pub client: Client,
    pub connector: Arc<dyn Connector>,
    pub metrics: Arc<Metrics>,
    pub recorder: Recorder,
    pub stores: Stores,
    pub settings: Settings,
    /// Protected items per vault, shared by every machine of the vault.
    pub items: TtlCache<VaultRef, Arc<Vec<ProtectedItemFacts>>>,
    /// Replication policies per vault (the failback policy rarely changes).
    pub policies: TtlCache<VaultRef, Vec<PolicyFacts>>,
    /// vCenters discovered by the configuration server, per vault.
    pub vcenters: TtlCache<VaultRef, Vec<DiscoveredVcenterFacts>>,
    /// Reprotects submitted by this process, by item id, so a failed status write can never lead to a second POST.
    pub submitted: Mutex<HashMap<String, JobRef>>,
    /// Consecutive transient failures per object, for backoff.
    failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    pub fn new(client: Client, connector: Arc<dyn Connector>, metrics: Arc<Metrics>, stores: Stores, settings: Settings) -> Self {
        let reporter = Reporter { controller: FIELD_MANAGER.into(), instance: std::env::var("POD_NAME").ok() };
        Context {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            connector,
            metrics,
            stores,
            items: TtlCache::new(settings.item_cache_ttl),
            policies: TtlCache::new(settings.item_cache_ttl),
            vcenters: TtlCache::new(settings.item_cache_ttl),
            settings,
            submitted: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Next backoff delay for an object after a transient failure (capped exponential with jitter, via backon).
    pub fn next_backoff<K: kube::Resource>(&self, obj: &ObjectRef<K>) -> Duration
    where
        K::DynamicType: Eq + std::hash::Hash + Clone,
    {
        let mut failures = self.failures.lock().expect("backoff lock");
        let n = failures.entry(obj.to_string()).or_insert(0);
        *n = n.saturating_add(1);
        backon::ExponentialBuilder::default()
            .with_min_delay(self.settings.initial_backoff)
            .with_max_delay(self.settings.max_backoff)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build()
            .nth((*n - 1).min(30) as usize)
            .unwrap_or(self.settings.max_backoff)
    }

    /// Forget the failure count after a successful reconcile.
    pub fn reset_backoff<K: kube::Resource>(&self, obj: &ObjectRef<K>)
    where
        K::DynamicType: Eq + std::hash::Hash + Clone,
    {
        self.failures.lock().expect("backoff lock").remove(&obj.to_string());
    }
}
