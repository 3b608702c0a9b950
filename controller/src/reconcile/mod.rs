//! One reconciler per kind, plus the plumbing they share (status writes, events, error policy, lookups).

pub mod machine;
mod machine_inputs;
mod machine_observe;
mod machine_status;
pub mod master_target;
pub mod policy;

use crate::context::{Context, FIELD_MANAGER};
use crate::crd::{MasterTarget, ProtectedMachine, ReprotectPolicy};
use crate::error::Error;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use reprotect_facts::VaultRef;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// Recheck interval for problems only a person can fix (they are also picked up on any change).
pub const STALLED_RECHECK: Duration = Duration::from_secs(300);

/// Write `status` through server-side apply with the controller's single field manager.
pub async fn apply_status<K>(ctx: &Context, obj: &K, status: &impl Serialize) -> Result<(), Error>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(&obj.name_any(), &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&patch)).await?;
    Ok(())
}

/// Publish an event on an object; failures to publish are logged, never fatal.
pub async fn publish<K: Resource<DynamicType = ()>>(ctx: &Context, obj: &K, warning: bool, reason: &str, action: &str, note: String) {
    let event = Event {
        type_: if warning { EventType::Warning } else { EventType::Normal },
        reason: reason.into(),
        note: Some(note),
        action: action.into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &obj.object_ref(&())).await {
        tracing::warn!(error = %e, "could not publish event");
    }
}

/// The policy a namespaced object refers to, from the reflector store.
pub async fn find_policy(ctx: &Context, ns: &str, name: &str) -> Result<Option<Arc<ReprotectPolicy>>, Error> {
    find_in_store_or_api(ctx, &ctx.stores.policies, ns, name).await
}

/// A master target by name, from the reflector store (or the API while the store is catching up).
pub async fn find_master_target(ctx: &Context, ns: &str, name: &str) -> Result<Option<Arc<MasterTarget>>, Error> {
    find_in_store_or_api(ctx, &ctx.stores.master_targets, ns, name).await
}

/// The store answers almost always; a miss is confirmed with one GET because the watches of the
/// three kinds sync independently, and a machine seen before its policy must not be reported as
/// "policy not found" (a false Stalled flash at every start).
async fn find_in_store_or_api<K>(
    ctx: &Context,
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
    let api: kube::Api<K> = kube::Api::namespaced(ctx.client.clone(), ns);
    Ok(api.get_opt(name).await.map_err(Error::Kube)?.map(Arc::new))
}

/// The master target a machine uses: its own override, else the policy default.
pub fn master_target_name(pm: &ProtectedMachine, policy: &ReprotectPolicy) -> Option<String> {
    pm.spec.master_target_ref.clone().or_else(|| policy.spec.defaults.master_target_ref.clone())
}

impl From<crate::crd::OsType> for crate::preflight::OsType {
    fn from(os: crate::crd::OsType) -> Self {
        match os {
            crate::crd::OsType::Windows => crate::preflight::OsType::Windows,
            crate::crd::OsType::Linux => crate::preflight::OsType::Linux,
        }
    }
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

/// Error policy shared by all kinds: transient faults back off; anything else waits for a change
/// (watches bring it back) with a slow safety recheck, so a bad spec never causes a requeue storm.
pub fn error_policy<K>(obj: Arc<K>, error: &Error, ctx: Arc<Context>) -> Action
where
    K: Resource<DynamicType = ()>,
{
    let kind = K::kind(&());
    ctx.metrics.failed(&kind, error.category());
    let obj_ref = ObjectRef::from_obj(obj.as_ref());
    if error.is_transient() {
        let delay = ctx.next_backoff(&obj_ref);
        tracing::warn!(object = %obj_ref, category = error.category(), error = %error, ?delay, "transient failure; retrying with backoff");
        Action::requeue(delay)
    } else {
        tracing::warn!(object = %obj_ref, category = error.category(), error = %error, "needs a change to the spec or its Secrets; rechecking slowly");
        Action::requeue(STALLED_RECHECK)
    }
}

/// Kubernetes-style reason from an error category (`asr-credentials` → `AsrCredentials`).
pub fn reason_from_category(category: &str) -> String {
    category
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

/// Predicate value of a group member's readiness as its peers see it (phase and gate result);
/// `None` for machines outside any group. A change wakes the waiting peers.
pub fn group_readiness(pm: &ProtectedMachine) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    pm.spec.replication_group.as_ref()?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    machine_inputs::member_ready(pm).hash(&mut hasher);
    pm.status.as_ref().map(|s| format!("{:?}", s.phase)).hash(&mut hasher);
    Some(hasher.finish())
}

/// The policy of a machine, looked up in the stores (for watch mappers).
pub fn find_policy_in(stores: &crate::context::Stores, pm: &ProtectedMachine) -> Option<Arc<ReprotectPolicy>> {
    stores.policies.get(&ObjectRef::new(&pm.spec.policy_ref).within(&pm.namespace().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use crate::crd::{Phase, ProtectedMachine, ProtectedMachineStatus};

    fn member(group: Option<&str>, phase: Option<Phase>) -> ProtectedMachine {
        let mut pm: ProtectedMachine = serde_json::from_value(serde_json::json!({
            "apiVersion": "reprotect.io/v1alpha1", "kind": "ProtectedMachine",
            "metadata": {"name": "app-01", "namespace": "dr", "generation": 1},
            "spec": {"policyRef": "dr", "item": {"name": "app-01"}, "replicationGroup": group},
        }))
        .unwrap();
        pm.status = phase.map(|phase| ProtectedMachineStatus { phase, ..Default::default() });
        pm
    }

    #[test]
    fn group_readiness_ignores_machines_outside_a_group_and_changes_when_a_member_starts() {
        assert_eq!(super::group_readiness(&member(None, Some(Phase::Reprotecting))), None);
        let waiting = super::group_readiness(&member(Some("app"), Some(Phase::Validating)));
        let started = super::group_readiness(&member(Some("app"), Some(Phase::Reprotecting)));
        assert!(waiting.is_some() && started.is_some());
        assert_ne!(waiting, started, "a member starting its reprotect must wake its peers");
    }

    #[test]
    fn error_categories_become_condition_reasons() {
        assert_eq!(super::reason_from_category("asr-credentials"), "AsrCredentials");
        assert_eq!(super::reason_from_category("invalid-spec"), "InvalidSpec");
    }
}
