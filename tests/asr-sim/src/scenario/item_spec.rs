//! Scenario of replicated items (VMs): one by one, or generated in bulk, with the job failures scripted for each.

use super::{d_ops, d_state, d_windows, de_opt_duration};
use jiff::SignedDuration;
use serde::Deserialize;

/// A job of this scenario on this item fails once (consumed by the next such job).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default)]
pub struct JobFailureSpec {
    /// Job scenario name: `UnplannedFailover`, `CommitFailover`, `SwitchReplicationGroupProtection`, `ReverseReplicate`.
    pub scenario: String,
    /// ASR error code, e.g. `8038` (no host memory to boot the VM at failback).
    pub code: String,
    pub message: Option<String>,
}

/// A VM failed over to Azure (or, with other states, anything else).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct ItemSpec {
    pub name: String,
    pub friendly_name: Option<String>,
    pub os: String,
    pub os_name: Option<String>,
    pub group: Option<String>,
    /// Fabric name; default: the vault's first fabric.
    pub fabric: Option<String>,
    pub protection_state: String,
    pub active_location: String,
    /// `InMageAzureV2` (failed over, forward provider) or `InMage` (already reprotected).
    pub provider: String,
    pub allowed_operations: Vec<String>,
    #[serde(deserialize_with = "de_opt_duration")]
    pub failed_over_ago: Option<SignedDuration>,
    #[serde(deserialize_with = "de_opt_duration")]
    pub agent_registration_delay: Option<SignedDuration>,
    /// The VM is known to the configuration server database.
    pub vm_id: Option<String>,
    pub ip_address: Option<String>,
    /// Forward policy name.
    pub policy: Option<String>,
    /// Per-item override of `defaults.forward_agent_registration_delay`.
    #[serde(deserialize_with = "de_opt_duration")]
    pub forward_agent_registration_delay: Option<SignedDuration>,
    /// Jobs that fail once each, in order.
    pub fail_jobs: Vec<JobFailureSpec>,
    /// While running, this item's jobs report this `state` instead of `InProgress` (job states are free strings;
    /// ASR also answers e.g. `Suspended`, `Other`).
    pub job_state: Option<String>,
}
impl Default for ItemSpec {
    fn default() -> Self {
        ItemSpec {
            name: "app-01".into(),
            friendly_name: None,
            os: d_windows(),
            os_name: None,
            group: None,
            fabric: None,
            protection_state: d_state(),
            active_location: "Recovery".into(),
            provider: "InMageAzureV2".into(),
            allowed_operations: d_ops(),
            failed_over_ago: None,
            agent_registration_delay: None,
            vm_id: None,
            ip_address: None,
            policy: None,
            forward_agent_registration_delay: None,
            fail_jobs: vec![],
            job_state: None,
        }
    }
}

/// Generate many items compactly.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct GenerateItems {
    pub count: usize,
    pub prefix: String,
    /// Every n-th item is Linux (0: none).
    pub linux_every: usize,
    /// Items per replication group (0: no groups).
    pub group_size: usize,
    /// Template for every generated item (name/os overridden).
    pub template: ItemSpec,
}
impl Default for GenerateItems {
    fn default() -> Self {
        GenerateItems { count: 0, prefix: "vm-".into(), linux_every: 4, group_size: 0, template: ItemSpec::default() }
    }
}
