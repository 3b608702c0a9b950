//! Pure look-ups that both a check and the request builder make, so that what passed the check is what is sent:
//! the protected item by name, the failback policy, the run-as account, and ASR's own spelling of listed values.

use crate::names::{ServerAddress, same_volume};
use crate::site_recovery::{
    AsrDatastoreFacts, DiscoveredVcenterFacts, FabricFacts, MasterTargetServerFacts, PolicyFacts, ProtectedItemFacts, RetentionVolumeFacts,
    RunAsAccountFacts,
};
use crate::{arm_name, same_arm_id};

/// Several protected items carry the friendly name the spec uses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("friendly name {friendly_name} matches {} protected items: {}", candidates.len(), candidates.join(", "))]
pub struct AmbiguousItem {
    pub friendly_name: String,
    /// Item names (unique in the container) of every match.
    pub candidates: Vec<String>,
}

/// The protected item the spec names: by item name when given (case-insensitive), else by friendly name, which must
/// then be unique. `Ok(None)`: no such item.
pub fn match_item<'a>(
    name: Option<&str>,
    friendly_name: Option<&str>,
    items: &'a [ProtectedItemFacts],
) -> Result<Option<&'a ProtectedItemFacts>, AmbiguousItem> {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    let friendly = friendly_name.map(str::trim).filter(|n| !n.is_empty());
    match (name, friendly) {
        (Some(n), _) => Ok(items.iter().find(|i| i.name.eq_ignore_ascii_case(n))),
        (None, Some(f)) => {
            let found: Vec<&ProtectedItemFacts> =
                items.iter().filter(|i| i.friendly_name.as_deref().is_some_and(|x| x.trim().eq_ignore_ascii_case(f))).collect();
            match found.as_slice() {
                [] => Ok(None),
                [one] => Ok(Some(one)),
                many => Err(AmbiguousItem { friendly_name: f.to_owned(), candidates: many.iter().map(|i| i.name.clone()).collect() }),
            }
        }
        (None, None) => Ok(None),
    }
}

/// Why a failback policy was chosen (named in the check's message).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailbackPolicyBasis {
    /// The item already replicates with this `InMage` policy.
    ItemPolicy,
    /// The `InMage` policy created with the item's forward policy (`<forward>-failback`).
    CreatedWithForwardPolicy,
    /// The vault's only `InMage` policy.
    OnlyFailbackPolicy,
}

impl FailbackPolicyBasis {
    pub fn describe(self) -> &'static str {
        match self {
            FailbackPolicyBasis::ItemPolicy => "the item's current policy",
            FailbackPolicyBasis::CreatedWithForwardPolicy => "created with the item's forward policy",
            FailbackPolicyBasis::OnlyFailbackPolicy => "the vault's only InMage policy",
        }
    }
}

/// The failback policy to validate and to send as `policyId`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChosenFailbackPolicy<'a> {
    pub policy: &'a PolicyFacts,
    pub basis: FailbackPolicyBasis,
}

/// No single failback policy could be chosen.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FailbackPolicyError {
    #[error("no InMage failback policy among {0} policies")]
    None(usize),
    #[error("{} InMage policies ({}) and none belongs to the item's forward policy {}", candidates.len(), candidates.join(", "), forward.as_deref().unwrap_or("(unknown)"))]
    Ambiguous { candidates: Vec<String>, forward: Option<String> },
}

fn is_inmage(p: &PolicyFacts) -> bool {
    p.provider.as_deref().is_some_and(|k| k.eq_ignore_ascii_case("InMage"))
}

/// Whether `p` is the policy an item names by ARM id (any casing) or by name.
pub fn policy_is(p: &PolicyFacts, id_or_name: &str) -> bool {
    same_arm_id(&p.id, id_or_name) || p.name.eq_ignore_ascii_case(arm_name(id_or_name))
}

/// The failback policy of the configuration server's container for this item. ASR creates it with the forward
/// policy and associates it with the configuration server's container (`<forward>-failback`); container mappings
/// are not observed, so the association is recognised by the item's policy: the item's own `InMage` policy, else
/// the `InMage` policy named after the item's forward policy, else the vault's only `InMage` policy.
pub fn failback_policy<'a>(
    policies: &'a [PolicyFacts],
    item_policy_id: Option<&str>,
) -> Result<ChosenFailbackPolicy<'a>, FailbackPolicyError> {
    let inmage: Vec<&PolicyFacts> = policies.iter().filter(|p| is_inmage(p)).collect();
    let item_policy = item_policy_id.and_then(|id| policies.iter().find(|p| policy_is(p, id)));
    let chosen = |policy, basis| Ok(ChosenFailbackPolicy { policy, basis });
    if let Some(p) = item_policy.filter(|p| is_inmage(p)) {
        return chosen(p, FailbackPolicyBasis::ItemPolicy);
    }
    if let Some(forward) = item_policy {
        let stems: Vec<String> =
            [Some(forward.name.as_str()), forward.friendly_name.as_deref()].into_iter().flatten().map(str::to_ascii_lowercase).collect();
        let named_after = |p: &&&PolicyFacts| {
            [Some(p.name.as_str()), p.friendly_name.as_deref()].into_iter().flatten().map(str::to_ascii_lowercase).any(|n| {
                stems.iter().any(|s| n.strip_prefix(s.as_str()).is_some_and(|rest| rest.trim_start_matches(['-', '_', ' ']) == "failback"))
            })
        };
        let matching: Vec<&&PolicyFacts> = inmage.iter().filter(named_after).collect();
        if let [one] = matching.as_slice() {
            return chosen(one, FailbackPolicyBasis::CreatedWithForwardPolicy);
        }
    }
    match inmage.as_slice() {
        [] => Err(FailbackPolicyError::None(policies.len())),
        [one] => chosen(one, FailbackPolicyBasis::OnlyFailbackPolicy),
        many => Err(FailbackPolicyError::Ambiguous {
            candidates: many.iter().map(|p| p.friendly_name.clone().unwrap_or_else(|| p.name.clone())).collect(),
            forward: item_policy.map(|p| p.friendly_name.clone().unwrap_or_else(|| p.name.clone())),
        }),
    }
}

impl FabricFacts {
    /// A run-as account by name or id (case-insensitive).
    pub fn run_as_account(&self, name_or_id: &str) -> Option<&RunAsAccountFacts> {
        let want = name_or_id.trim();
        self.run_as_accounts.iter().find(|a| a.account_name.eq_ignore_ascii_case(want) || a.account_id.eq_ignore_ascii_case(want))
    }
}

impl MasterTargetServerFacts {
    /// The listed retention volume that a spelling (`R`, `r:`, `R:\`, `/mnt/retention/`) names; send its
    /// `volume_name`, ASR's own spelling.
    pub fn retention_volume(&self, spelling: &str) -> Option<&RetentionVolumeFacts> {
        self.retention_volumes.iter().find(|v| same_volume(&v.volume_name, spelling))
    }

    /// The listed datastore a name refers to (case-insensitive); send its `symbolic_name`, ASR's own spelling.
    pub fn datastore(&self, name: &str) -> Option<&AsrDatastoreFacts> {
        let want = name.trim();
        self.datastores.iter().find(|d| d.symbolic_name.eq_ignore_ascii_case(want))
    }
}

impl DiscoveredVcenterFacts {
    /// Whether this discovered vCenter is the server a spec names (any spelling the CRD accepts): its name,
    /// friendly name or IP address, with the port the configuration server reports separately (443 unstated).
    pub fn is_server(&self, wanted: &ServerAddress) -> bool {
        [Some(self.name.as_str()), self.friendly_name.as_deref(), self.ip_address.as_deref()]
            .into_iter()
            .flatten()
            .filter_map(ServerAddress::parse)
            .map(|a| ServerAddress { port: a.port.or(self.port), ..a })
            .any(|a| a.same_server(wanted))
    }

    /// What the discovery status or health says is wrong, if anything (`None`: nothing reported against it).
    pub fn discovery_problem(&self) -> Option<String> {
        let status = self.discovery_status.as_deref().map(str::trim).unwrap_or_default();
        let lower = status.to_ascii_lowercase();
        if ["fail", "error", "disconnect", "unreachable", "invalid"].iter().any(|w| lower.contains(w)) {
            return Some(format!("discovery status {status}"));
        }
        self.health_errors.first().map(|e| {
            let what = e.message.as_deref().or(e.code.as_deref()).unwrap_or("unspecified error");
            format!("health error: {what}")
        })
    }
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
