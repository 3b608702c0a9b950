//! Scenario of vaults: their fabrics, policies, items and recovery plans; one by one or generated in bulk.

use super::{FabricSpec, GenerateItems, ItemSpec, d_location, d_rg, d_sub, d_vault};
use serde::Deserialize;

/// A recovery plan: a named set of items that fail over and commit together.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RecoveryPlanSpec {
    pub name: String,
    /// Item names.
    pub items: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct PolicySpec {
    pub name: String,
    /// `InMage` (failback) or `InMageAzureV2` (forward).
    pub provider: String,
    pub rpo_threshold_minutes: i32,
    pub recovery_point_history_minutes: i32,
    pub app_consistent_frequency_minutes: i32,
}
impl Default for PolicySpec {
    fn default() -> Self {
        PolicySpec {
            name: "failback-policy".into(),
            provider: "InMage".into(),
            rpo_threshold_minutes: 15,
            recovery_point_history_minutes: 1440,
            app_consistent_frequency_minutes: 60,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct VaultSpec {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub fabrics: Vec<FabricSpec>,
    /// Default: an `InMage` failback policy and an `InMageAzureV2` forward policy.
    pub policies: Option<Vec<PolicySpec>>,
    pub items: Vec<ItemSpec>,
    pub generate: Option<GenerateItems>,
    /// Default (absent): one plan per replication group, named after the group.
    pub recovery_plans: Option<Vec<RecoveryPlanSpec>>,
}
impl Default for VaultSpec {
    fn default() -> Self {
        VaultSpec {
            subscription: d_sub(),
            resource_group: d_rg(),
            name: d_vault(),
            location: d_location(),
            fabrics: vec![FabricSpec::default()],
            policies: None,
            items: vec![],
            generate: None,
            recovery_plans: None,
        }
    }
}

/// Generate many vaults (each a copy of `template` named `{prefix}{i:02}`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct GenerateVaults {
    pub count: usize,
    pub prefix: String,
    pub template: VaultSpec,
}
impl Default for GenerateVaults {
    fn default() -> Self {
        GenerateVaults { count: 0, prefix: "vault-dr-".into(), template: VaultSpec::default() }
    }
}
