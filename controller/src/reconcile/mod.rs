//! One reconciler per kind, plus what they share: the reconcile wrapper (timing, backoff, metrics,
//! Stalled on permanent errors, contained panics), lookups, connections, status writes and events.

pub mod master_target;
pub mod policy;
pub mod protected_machine;
pub mod vault_watch;

use crate::conditions::{ConditionSpec, KState, kstatus};
use crate::connections;
use crate::context::{Context, FIELD_MANAGER, Stores};
use crate::crd::{MasterTarget, ProtectedMachine, ReprotectPolicy, RetryBounds};
use crate::error::Error;
use futures::FutureExt;
use jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Client, Resource, ResourceExt};
use reprotect_facts::{SiteRecovery, VaultRef, Vcenter};
use serde::Serialize;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Recheck interval for problems only a person can fix (they are also picked up on any change).
pub const STALLED_RECHECK: Duration = Duration::from_secs(300);
/// Consecutive transient failures after which the object's status shows the failure (Reconciling, with the cause).
pub const PERSISTENT_FAILURES: u32 = 3;

/// What the shared wrapper needs to know about a kind.
pub trait Reconciled:
    Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
    + Clone
    + serde::de::DeserializeOwned
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    type Status: Serialize + Send + Sync;
    /// Status for an object that cannot be evaluated: `state` (Stalled, or Reconciling while transient failures
    /// persist) with this reason and message, the rest kept.
    fn problem_status(&self, state: KState, reason: &str, message: &str, now: Timestamp) -> Self::Status;
    /// The requeue backoff bounds (`spec.retry`) of the policy that governs this object.
    fn retry_bounds(&self, stores: &Stores) -> Option<RetryBounds>;
}

/// Run one reconcile pass of any kind: time it, contain a panic (reported on the object, counted,
/// the other objects go on), reset the backoff on success, and turn a permanent error into a
/// Stalled status with a slow recheck instead of a hot retry. Transient errors go to [`error_policy`].
pub async fn reconcile_with<K, F, Fut>(obj: Arc<K>, ctx: Arc<Context>, pass: F) -> Result<Action, Error>
where
    K: Reconciled,
    F: FnOnce(Arc<K>, Arc<Context>) -> Fut,
    Fut: Future<Output = Result<Action, Error>>,
{
    let kind = K::kind(&());
    let obj_ref = ObjectRef::from_obj(obj.as_ref());
    let started = Instant::now();
    // A panic is counted like any permanent error (category `internal-error`).
    let result = AssertUnwindSafe(pass(obj.clone(), ctx.clone()))
        .catch_unwind()
        .await
        .unwrap_or_else(|payload| Err(Error::Panicked(panic_message(payload.as_ref()))));
    ctx.metrics.reconciled(&kind, started.elapsed().as_secs_f64());
    match result {
        Ok(action) => {
            ctx.reset_backoff(&obj_ref);
            Ok(action)
        }
        Err(e) if e.is_transient() => {
            // Retried with backoff by `error_policy`; once it persists, say so on the object instead of retrying
            // silently forever (e.g. a wrong CA for Azure, an unreachable vCenter).
            let failures = ctx.failures(&obj_ref).saturating_add(1);
            if failures >= PERSISTENT_FAILURES {
                let message = format!("{failures} attempts in a row failed, retrying with backoff: {e}");
                let status = obj.problem_status(KState::Reconciling, &e.reason(), &message, Timestamp::now());
                if let Err(write) = apply_status(&ctx.client, obj.as_ref(), &status).await {
                    tracing::debug!(object = %obj_ref, error = %write, "could not report the persisting failure");
                }
            }
            Err(e)
        }
        Err(e) => {
            ctx.metrics.failed(&kind, e.category());
            ctx.reset_backoff(&obj_ref);
            tracing::warn!(object = %obj_ref, category = e.category(), error = %e, "needs a change; reported as Stalled");
            let status = obj.problem_status(KState::Stalled, &e.reason(), &e.to_string(), Timestamp::now());
            apply_status(&ctx.client, obj.as_ref(), &status).await?;
            Ok(Action::requeue(STALLED_RECHECK))
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Error policy shared by all kinds (only transient errors reach it): back off within the
/// policy's `spec.retry` bounds (the controller's defaults when the policy is not known).
pub fn error_policy<K: Reconciled>(obj: Arc<K>, error: &Error, ctx: Arc<Context>) -> Action {
    let kind = K::kind(&());
    ctx.metrics.failed(&kind, error.category());
    let obj_ref = ObjectRef::from_obj(obj.as_ref());
    let bounds = obj.retry_bounds(&ctx.stores).and_then(|b| b.parse());
    let delay = ctx.next_backoff(&obj_ref, bounds);
    tracing::warn!(object = %obj_ref, category = error.category(), error = %error, ?delay, "transient failure; retrying with backoff");
    Action::requeue(delay)
}

/// Write `status` through server-side apply with the controller's single field manager.
pub async fn apply_status<K>(client: &Client, obj: &K, status: &impl Serialize) -> Result<(), Error>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), &obj.namespace().unwrap_or_default());
    let patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(&obj.name_any(), &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&patch)).await?;
    Ok(())
}

/// Write `status` only when it differs from what the object carries (no write per pass).
pub async fn apply_status_if_changed<K, S>(client: &Client, obj: &K, old: Option<&S>, status: &S) -> Result<bool, Error>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    S: Serialize,
{
    if old.is_some_and(|old| same_on_the_wire(old, status)) {
        return Ok(false);
    }
    apply_status(client, obj, status).await?;
    Ok(true)
}

/// Whether two statuses are the same as the API server stores them. Azure reports times to the microsecond and
/// a `Time` keeps them, but the API server keeps whole seconds: compared in memory, a status built from such a
/// time never equals the one read back, and every pass would write it again.
pub fn same_on_the_wire<S: Serialize>(a: &S, b: &S) -> bool {
    match (serde_json::to_value(a), serde_json::to_value(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Publish an event on an object; failures to publish are logged, never fatal.
pub async fn publish<K: Resource<DynamicType = ()>>(ctx: &Context, obj: &K, note: &Note) {
    if let Err(e) = ctx.recorder.publish(&obj.object_ref(&()), note).await {
        tracing::warn!(error = %e, "could not publish event");
    }
}

/// An event to publish on the reconciled object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub warning: bool,
    /// CamelCase reason, e.g. `ReprotectStarted`.
    pub reason: String,
    /// What was done, e.g. `reprotect`.
    pub action: String,
    pub message: String,
}

/// The policy a namespaced object refers to, from the reflector store.
pub async fn find_policy(ctx: &Context, ns: &str, name: &str) -> Result<Option<Arc<ReprotectPolicy>>, Error> {
    find_in_store_or_api(&ctx.client, &ctx.stores.policies, ns, name).await
}

/// A master target by name, from the reflector store (or the API while the store is catching up).
pub async fn find_master_target(ctx: &Context, ns: &str, name: &str) -> Result<Option<Arc<MasterTarget>>, Error> {
    find_in_store_or_api(&ctx.client, &ctx.stores.master_targets, ns, name).await
}

/// The store answers almost always; a miss is confirmed with one GET because the watches of the
/// three kinds sync independently, and a machine seen before its policy must not be reported as
/// "policy not found" (a false Stalled flash at every start).
async fn find_in_store_or_api<K>(
    client: &Client,
    store: &kube::runtime::reflector::Store<K>,
    ns: &str,
    name: &str,
) -> Result<Option<Arc<K>>, Error>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    if let Some(found) = store.get(&ObjectRef::new(name).within(ns)) {
        return Ok(Some(found));
    }
    let api: kube::Api<K> = kube::Api::namespaced(client.clone(), ns);
    Ok(api.get_opt(name).await.map_err(Error::Kube)?.map(Arc::new))
}

/// The master target a machine uses: its own override, else the policy default.
pub fn master_target_name(pm: &ProtectedMachine, policy: &ReprotectPolicy) -> Option<String> {
    pm.spec.master_target_ref.as_deref().map(str::to_string).or_else(|| policy.spec.defaults.master_target_ref.clone())
}

/// The policy of a machine, looked up in the stores (for watch mappers).
pub fn find_policy_in(stores: &Stores, pm: &ProtectedMachine) -> Option<Arc<ReprotectPolicy>> {
    stores.policies.get(&ObjectRef::new(&pm.spec.policy_ref).within(&pm.namespace().unwrap_or_default()))
}

/// The vault coordinates of a policy.
pub fn vault_ref(policy: &ReprotectPolicy) -> VaultRef {
    let sr = &policy.spec.site_recovery;
    VaultRef {
        subscription_id: sr.subscription_id.clone(),
        resource_group: sr.resource_group.clone(),
        vault_name: sr.vault_name.clone(),
        fabric_name: sr.fabric_name.clone(),
        container_name: sr.protection_container.clone(),
    }
}

/// A policy's vault and its two clients.
#[derive(Clone)]
pub struct Connection {
    pub vault: VaultRef,
    pub site_recovery: Arc<dyn SiteRecovery>,
    pub vcenter: Arc<dyn Vcenter>,
}

/// The fabric for a periodic recheck (master target, policy). An object already `Ready` for its spec
/// (`settled`) accepts an answer up to `Settings::settled_max_age` old, so its one-minute recheck reuses what
/// the vault's other readers fetched instead of reading the fabric every minute per vault; the machines
/// about to act read it with the client's usual TTL for their own checks. Anything else reads as usual.
pub async fn recheck_fabric(
    sr: &dyn SiteRecovery,
    vault: &VaultRef,
    settled: bool,
    settings: &crate::context::Settings,
) -> Result<reprotect_facts::FabricFacts, reprotect_facts::SiteRecoveryError> {
    match settled_age(settled, settings) {
        Some(age) => sr.get_fabric_within(vault, age).await,
        None => sr.get_fabric(vault).await,
    }
}

/// How old an answer a settled object's recheck accepts (`None`: the client's usual TTL).
pub fn settled_age(settled: bool, settings: &crate::context::Settings) -> Option<Duration> {
    let age = settings.settled_max_age();
    (settled && !age.is_zero()).then_some(age)
}

/// Resolve a policy's connection settings (Secrets, CA bundles) and get its pooled clients.
pub async fn connect(
    reads: connections::Reads<'_>,
    connector: &dyn connections::Connector,
    policy: &ReprotectPolicy,
) -> Result<Connection, Error> {
    let site_recovery = connector.site_recovery(&connections::azure_settings(&reads, policy).await?).await?;
    let vcenter = connector.vcenter(&connections::vcenter_settings(&reads, policy).await?).await?;
    Ok(Connection { vault: vault_ref(policy), site_recovery, vcenter })
}

/// The kstatus triple of an object that cannot be evaluated.
pub fn stalled_conditions(reason: &str, message: &str) -> Vec<ConditionSpec> {
    kstatus(KState::Stalled, reason, message)
}

/// The kstatus conditions of an object that cannot be evaluated now: Stalled, or Reconciling while it retries.
pub fn problem_conditions(state: KState, reason: &str, message: &str) -> Vec<ConditionSpec> {
    kstatus(state, reason, message)
}

impl From<crate::crd::OsType> for crate::preflight::OsType {
    fn from(os: crate::crd::OsType) -> Self {
        match os {
            crate::crd::OsType::Windows => crate::preflight::OsType::Windows,
            crate::crd::OsType::Linux => crate::preflight::OsType::Linux,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Settings;

    #[test]
    fn a_settled_recheck_accepts_answers_one_watch_interval_and_a_minute_old_and_nothing_else_relaxes() {
        let settings = Settings { vault_watch_interval: Duration::from_secs(240), ..Settings::default() };
        assert_eq!(settled_age(true, &settings), Some(Duration::from_secs(300)));
        assert_eq!(settled_age(false, &settings), None, "not yet Ready for its spec: the usual TTL");
        let unwatched = Settings { vault_watch_interval: Duration::ZERO, ..Settings::default() };
        assert_eq!(settled_age(true, &unwatched), None, "without the vault watch nothing may be older than the TTL");
    }
}
