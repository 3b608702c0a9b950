//! The shared context of all reconcilers: Kubernetes client, stores, connectors, caches, metrics and backoff state.

use crate::connections::Connector;
use crate::crd::{MasterTarget, ProtectedMachine, ReprotectPolicy};
use crate::metrics::Metrics;
use backon::BackoffBuilder;
use jiff::Timestamp;
use kube::Client;
use kube::runtime::reflector::{ObjectRef, Store};
use reprotect_facts::{ArmId, JobRef, ProtectedItemFacts};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Field manager of every status write (server-side apply).
pub const FIELD_MANAGER: &str = "reprotect-controller";

/// Tunables from the command line.
#[derive(Clone, Debug)]
pub struct Settings {
    pub watchdog_interval: Duration,
    /// Backoff bounds for objects whose policy is unknown (a policy's `spec.retry` overrides them).
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// How long a Secret or CA ConfigMap read is shared by the passes of one namespace (`--secret-cache-ttl`).
    pub secret_cache_ttl: Duration,
    /// Keep each named Secret and CA ConfigMap current by a watch, read once per change (`--watch-referenced-objects`).
    pub watch_referenced_objects: bool,
    /// How often the vault watch reads each policy's recent jobs, and its item list when a job moved, and
    /// wakes the machines whose item changed (`--vault-watch-interval`); zero turns the watch off.
    pub vault_watch_interval: Duration,
    /// How often the vault watch reads each item list even when no job moved (`--vault-sweep-interval`);
    /// not more than the watch interval means every look lists the items.
    pub vault_sweep_interval: Duration,
}

/// How much older than one watch interval a settled machine's answers may be: a pass just before the
/// watch's next read still uses the previous one instead of listing the vault itself.
const SETTLED_MARGIN: Duration = Duration::from_secs(60);

impl Settings {
    /// How old a per-vault answer a machine with nothing in flight accepts: the vault watch reads the item
    /// list every interval and wakes the machines whose item changed, so their own passes need not list it.
    /// Without the watch, the usual cache TTL (`Duration::ZERO` here means "no relaxation").
    pub fn settled_max_age(&self) -> Duration {
        if self.vault_watch_interval.is_zero() { Duration::ZERO } else { self.vault_watch_interval + SETTLED_MARGIN }
    }

    /// How old an item list a machine with nothing in flight accepts: the watch lists the items at least every
    /// sweep interval, and at once when a job moved in the vault.
    pub fn settled_item_list_age(&self) -> Duration {
        if self.vault_watch_interval.is_zero() { Duration::ZERO } else { self.vault_sweep_every() + SETTLED_MARGIN }
    }

    /// How often the vault watch lists every item: each look when the sweep interval is not longer.
    pub fn vault_sweep_every(&self) -> Duration {
        self.vault_sweep_interval.max(self.vault_watch_interval)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            watchdog_interval: Duration::from_secs(300),
            initial_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(300),
            secret_cache_ttl: Duration::from_secs(60),
            watch_referenced_objects: false,
            vault_watch_interval: Duration::from_secs(240),
            vault_sweep_interval: Duration::from_secs(900),
        }
    }
}

/// Stores of the three kinds, filled by the controllers' reflectors.
#[derive(Clone)]
pub struct Stores {
    pub policies: Store<ReprotectPolicy>,
    pub master_targets: Store<MasterTarget>,
    pub machines: Store<ProtectedMachine>,
    /// Which of the machines name which item, kept from the same watch as `machines`.
    pub claims: crate::claim_index::ClaimIndex,
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
    pub recorder: crate::event_recorder::EventRecorder,
    pub stores: Stores,
    pub settings: Settings,
    /// The namespace this controller set watches (`None`: all), for per-scope metrics.
    pub scope: Option<String>,
    /// Whether this replica may write to Azure and vCenter right now (checked before every action).
    pub leader: crate::leader::LeaderGuard,
    /// Reprotects submitted by this process, so a failed status write can never lead to a second POST.
    pub submitted: Arc<SubmittedJobs>,
    /// The stores of every watched scope (this one included), for checks that span namespaces.
    pub scopes: AllScopes,
    /// The Secrets and CA ConfigMaps policies name, shared by the passes of this controller set.
    pub objects: crate::connections::ObjectCache,
    /// The machines' own queue of wakes and timed rechecks, when their controller takes machines from it
    /// (`run`); without one a pass asks kube-runtime to requeue it.
    pub machine_wakes: Option<crate::machine_wakes::MachineWakes>,
    /// Consecutive transient failures per object, for backoff.
    failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    pub fn new(client: Client, connector: Arc<dyn Connector>, metrics: Arc<Metrics>, stores: Stores, settings: Settings) -> Self {
        Context {
            recorder: crate::event_recorder::EventRecorder::new(client.clone(), FIELD_MANAGER, std::env::var("POD_NAME").ok()),
            objects: if settings.watch_referenced_objects {
                crate::connections::ObjectCache::watching(settings.secret_cache_ttl, client.clone())
            } else {
                crate::connections::ObjectCache::new(settings.secret_cache_ttl)
            },
            client,
            connector,
            metrics,
            stores: stores.clone(),
            settings,
            scope: None,
            leader: crate::leader::LeaderGuard::unconditional(),
            submitted: Arc::default(),
            scopes: AllScopes::of(&stores),
            machine_wakes: None,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The same context, its machine passes rechecked through `wakes`.
    pub fn with_machine_wakes(mut self, wakes: crate::machine_wakes::MachineWakes) -> Self {
        self.machine_wakes = Some(wakes);
        self
    }

    /// The same context, for the controller set of one namespace (`None`: all namespaces).
    pub fn with_scope(mut self, scope: Option<String>) -> Self {
        self.scope = scope;
        self
    }

    /// The same context, acting only while `guard` says this replica leads.
    /// Share what spans scopes with the other scopes of this process: the item owners' stores and the submitted
    /// jobs (an item named in two namespaces is still POSTed once).
    pub fn with_shared(mut self, shared: &Shared) -> Self {
        shared.scopes.add(self.stores.clone());
        self.scopes = shared.scopes.clone();
        self.submitted = shared.submitted.clone();
        self
    }

    pub fn with_leader(mut self, guard: crate::leader::LeaderGuard) -> Self {
        self.leader = guard;
        self
    }

    /// Next backoff delay for an object after a transient failure (capped exponential with jitter,
    /// via backon), within `bounds` (the policy's `spec.retry`) or the controller's defaults.
    pub fn next_backoff<K: kube::Resource>(&self, obj: &ObjectRef<K>, bounds: Option<(Duration, Duration)>) -> Duration
    where
        K::DynamicType: Eq + std::hash::Hash + Clone,
    {
        let (initial, max) = bounds.unwrap_or((self.settings.initial_backoff, self.settings.max_backoff));
        let n = {
            // A poisoned lock only means another reconcile panicked while counting: the counts are still usable.
            let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
            let n = failures.entry(obj.to_string()).or_insert(0);
            *n = n.saturating_add(1);
            *n
        };
        backon::ExponentialBuilder::default()
            .with_min_delay(initial)
            .with_max_delay(max)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build()
            .nth((n - 1).min(30) as usize)
            .unwrap_or(max)
    }

    /// Forget the failure count after a successful reconcile.
    /// Consecutive failures recorded for this object by [`Context::next_backoff`].
    pub fn failures<K: kube::Resource>(&self, obj: &ObjectRef<K>) -> u32
    where
        K::DynamicType: Eq + std::hash::Hash + Clone,
    {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).get(&obj.to_string()).copied().unwrap_or(0)
    }

    pub fn reset_backoff<K: kube::Resource>(&self, obj: &ObjectRef<K>)
    where
        K::DynamicType: Eq + std::hash::Hash + Clone,
    {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(&obj.to_string());
    }
}

/// What the contexts of all watched scopes share.
#[derive(Clone, Default)]
pub struct Shared {
    pub scopes: AllScopes,
    pub submitted: Arc<SubmittedJobs>,
}

/// The stores of every watched scope of this process.
#[derive(Clone, Default)]
pub struct AllScopes(Arc<std::sync::RwLock<Vec<Stores>>>);

impl AllScopes {
    fn of(stores: &Stores) -> AllScopes {
        let all = AllScopes::default();
        all.add(stores.clone());
        all
    }

    fn add(&self, stores: Stores) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).push(stores);
    }

    /// Every policy of every scope (a few).
    pub fn policies(&self) -> Vec<Arc<ReprotectPolicy>> {
        let scopes = self.0.read().unwrap_or_else(|p| p.into_inner());
        scopes.iter().flat_map(|s| s.policies.state()).collect()
    }

    /// The machines of every scope, `me` excepted, that may claim `item` (by each scope's claim index, then read from
    /// its store: the caller decides with `lifecycle::owner::may_claim`). Each once, though a scope be registered
    /// twice (tests do).
    pub fn machines_naming(&self, item: &ProtectedItemFacts, me: &ObjectRef<ProtectedMachine>) -> Vec<Arc<ProtectedMachine>> {
        let scopes = self.0.read().unwrap_or_else(|p| p.into_inner());
        let mut seen = Vec::new();
        let mut machines = Vec::new();
        for s in scopes.iter() {
            for key in s.claims.naming(item) {
                if &key == me || seen.contains(&key) {
                    continue;
                }
                machines.extend(s.machines.get(&key));
                seen.push(key);
            }
        }
        machines
    }
}

/// The policy of `machine` among `policies`: the one of its namespace named by its `spec.policyRef`.
pub fn policy_of(policies: &[Arc<ReprotectPolicy>], machine: &ProtectedMachine) -> Option<Arc<ReprotectPolicy>> {
    policies
        .iter()
        .find(|p| {
            p.metadata.name.as_deref() == Some(machine.spec.policy_ref.as_str()) && p.metadata.namespace == machine.metadata.namespace
        })
        .cloned()
}

/// Reprotects this process submitted, by protected item id (ARM ids differ in case between
/// answers, so keys are compared case-insensitively here and nowhere else).
#[derive(Debug, Default)]
pub struct SubmittedJobs(Mutex<HashMap<String, (JobRef, Timestamp)>>);

impl SubmittedJobs {
    /// One allocation, the lower-case text, without assembling the id first (every pass looks its item up).
    fn key(item_id: &ArmId) -> String {
        item_id.bytes().map(|b| char::from(b.to_ascii_lowercase())).collect()
    }
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, (JobRef, Timestamp)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub fn insert(&self, item_id: &ArmId, job: JobRef, at: Timestamp) {
        self.map().insert(Self::key(item_id), (job, at));
    }
    pub fn get(&self, item_id: &ArmId) -> Option<(JobRef, Timestamp)> {
        self.map().get(&Self::key(item_id)).cloned()
    }
    pub fn remove(&self, item_id: &ArmId) {
        self.map().remove(&Self::key(item_id));
    }
    /// Forget the record of `item_id` once the stored machine's status names its job: the record only bridges a
    /// status write that may be lost, and kept forever it held an ARM id and a job per machine (issue 13). Only the
    /// store's copy counts (a status just written may not be there yet), and a record of another job stays.
    pub fn forget_recorded(&self, item_id: &ArmId, job_name: &str) {
        let key = Self::key(item_id);
        let mut map = self.map();
        if map.get(&key).is_some_and(|(job, _)| job.job_name.eq_ignore_ascii_case(job_name)) {
            map.remove(&key);
        }
    }
    #[cfg(test)]
    pub fn recorded(&self) -> usize {
        self.map().len()
    }
}

#[cfg(test)]
#[path = "context_tests.rs"]
mod tests;
