//! Look-up step of the ProtectedMachine pipeline: the policy, master target and replication-group peers a machine refers to.

use crate::context::{AllScopes, Context};
use crate::crd::{MasterTarget, ProtectedMachine, ReprotectPolicy};
use crate::error::Error;
use crate::lifecycle::owner::{Claimant, may_claim};
use crate::reasons;
use crate::reconcile::{find_master_target, find_policy, master_target_name};
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use reprotect_facts::ProtectedItemFacts;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The objects a machine refers to.
#[derive(Clone, Debug)]
pub struct Lookup {
    pub policy: Arc<ReprotectPolicy>,
    pub master_target: Arc<MasterTarget>,
    /// The other members of the machine's replication group (same namespace), from the store.
    pub peers: Vec<Arc<ProtectedMachine>>,
    /// `spec.asrName` of the MasterTargets of the namespace, by Kubernetes name (group checks compare ASR names).
    pub master_target_asr_names: BTreeMap<String, String>,
    /// The other ProtectedMachines of every watched scope, as possible owners of the same item: asked for those
    /// that name the machine's item once observe knows it ([`others_claiming`]).
    pub others: OtherMachines,
    /// Every policy of every watched scope: the vault of each of those few claimants.
    pub policies_in_scope: Vec<Arc<ReprotectPolicy>>,
}

/// The other ProtectedMachines of every watched scope.
#[derive(Clone)]
pub enum OtherMachines {
    /// Those the scopes' claim indexes name, read from their stores (a running controller): a pass reads only the
    /// few machines that name its item.
    Indexed { scopes: AllScopes, me: ObjectRef<ProtectedMachine> },
    /// Given: none for the one-shot `check` (the reconciler checks `item-owner`), all of them in whole-pass tests.
    Listed(Vec<Arc<ProtectedMachine>>),
}

impl OtherMachines {
    /// Those that may name `item` (a superset of its claimants).
    fn naming(&self, item: &ProtectedItemFacts) -> Vec<Arc<ProtectedMachine>> {
        match self {
            OtherMachines::Indexed { scopes, me } => scopes.machines_naming(item, me),
            OtherMachines::Listed(all) => all.clone(),
        }
    }
}

impl std::fmt::Debug for OtherMachines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OtherMachines::Indexed { me, .. } => write!(f, "Indexed(all but {me})"),
            OtherMachines::Listed(all) => write!(f, "Listed({} machines)", all.len()),
        }
    }
}

/// The claimants among `others` of `item`: those whose recorded item id or declared item names match it, each with
/// the vault of its policy (looked up for them alone).
pub fn others_claiming(others: &OtherMachines, policies: &[Arc<ReprotectPolicy>], item: &ProtectedItemFacts) -> Vec<Claimant> {
    others
        .naming(item)
        .iter()
        .filter(|m| {
            let recorded = m.status.as_ref().and_then(|s| s.protected_item_id.as_ref());
            may_claim(recorded, m.spec.item.name.as_deref(), m.spec.item.friendly_name.as_deref(), item)
        })
        .map(|m| claimant(m, crate::context::policy_of(policies, m).as_deref()))
        .collect()
}

/// How a machine claims its item (see [`crate::lifecycle::owner`]).
pub fn claimant(pm: &ProtectedMachine, policy: Option<&ReprotectPolicy>) -> Claimant {
    Claimant {
        key: format!("{}/{}", pm.namespace().unwrap_or_default(), pm.name_any()),
        created: pm.metadata.creation_timestamp.as_ref().map(|t| t.0),
        vault: policy.map(crate::reconcile::vault_ref),
        item_name: pm.spec.item.name.clone(),
        friendly_name: pm.spec.item.friendly_name.clone(),
        status_item_id: pm.status.as_ref().and_then(|s| s.protected_item_id.clone()),
    }
}

/// A reference that does not resolve: only a person (or a new object) can fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unresolved {
    pub reason: &'static str,
    pub message: String,
}

/// Resolve the machine's references; `Ok(Err(_))` when one is missing.
pub async fn lookup(ctx: &Context, pm: &ProtectedMachine) -> Result<Result<Lookup, Unresolved>, Error> {
    let ns = pm.namespace().unwrap_or_default();
    let Some(policy) = find_policy(ctx, &ns, &pm.spec.policy_ref).await? else {
        return Ok(Err(Unresolved {
            reason: reasons::POLICY_NOT_FOUND,
            message: format!("ReprotectPolicy {} not found in namespace {ns}; create it or fix spec.policyRef", pm.spec.policy_ref),
        }));
    };
    let Some(mt_name) = master_target_name(pm, &policy) else {
        return Ok(Err(Unresolved {
            reason: reasons::MASTER_TARGET_NOT_SET,
            message: "no master target: set spec.masterTargetRef or the policy's spec.defaults.masterTargetRef".into(),
        }));
    };
    let Some(master_target) = find_master_target(ctx, &ns, &mt_name).await? else {
        return Ok(Err(Unresolved {
            reason: reasons::MASTER_TARGET_NOT_FOUND,
            message: format!("MasterTarget {mt_name} not found in namespace {ns}"),
        }));
    };
    // Only a group member has peers: no copy of the store for the others.
    let peers = if pm.spec.replication_group.is_some() { peers(ctx.stores.machines.state(), pm) } else { Vec::new() };
    let master_target_asr_names = if pm.spec.replication_group.is_some() {
        ctx.stores
            .master_targets
            .state()
            .iter()
            .filter(|m| m.namespace().as_deref() == Some(ns.as_str()))
            .map(|m| (m.name_any(), m.spec.asr_name.clone()))
            .chain([(master_target.name_any(), master_target.spec.asr_name.clone())])
            .collect()
    } else {
        BTreeMap::new()
    };
    let others = OtherMachines::Indexed { scopes: ctx.scopes.clone(), me: ObjectRef::from_obj(pm) };
    let policies_in_scope = ctx.scopes.policies();
    Ok(Ok(Lookup { policy, master_target, peers, master_target_asr_names, others, policies_in_scope }))
}

/// The other members of `pm`'s replication group among `machines`.
pub fn peers(machines: Vec<Arc<ProtectedMachine>>, pm: &ProtectedMachine) -> Vec<Arc<ProtectedMachine>> {
    let Some(group) = &pm.spec.replication_group else { return Vec::new() };
    let (ns, name) = (pm.namespace(), pm.name_any());
    machines
        .into_iter()
        .filter(|m| m.namespace() == ns && m.spec.replication_group.as_ref() == Some(group) && m.name_any() != name)
        .collect()
}
