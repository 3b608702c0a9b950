//! What ASR reports about a protected item (one VM) and the replication policies an item can use.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::fabric_facts::HealthIssue;
use crate::{ArmId, SharedText, SharedTextList};

/// The current scenario (running operation) of a protected item.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrentScenarioFacts {
    pub scenario_name: Option<SharedText>,
    pub job_id: Option<String>,
    pub start_time: Option<Timestamp>,
}

/// A replication protected item (one VM) as ASR reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtectedItemFacts {
    pub id: ArmId,
    pub name: String,
    pub friendly_name: Option<String>,
    /// `protectionState`: free string (`Protected`, `UnplannedFailoverCommitted`, `FailedOver`, ...).
    pub protection_state: Option<SharedText>,
    pub protection_state_description: Option<SharedText>,
    /// `activeLocation`: `Primary` (on-premises) or `Recovery` (Azure).
    pub active_location: Option<SharedText>,
    pub replication_health: Option<SharedText>,
    /// The same few lists for all items in the same state: interned whole.
    pub allowed_operations: SharedTextList,
    /// `providerSpecificDetails.instanceType`: `InMageAzureV2` (forward) or `InMage` (reverse).
    pub provider: Option<SharedText>,
    pub policy_id: Option<SharedText>,
    pub last_successful_failover_time: Option<Timestamp>,
    pub current_scenario: Option<CurrentScenarioFacts>,
    /// Mobility agent's last heartbeat to the configuration server.
    pub agent_last_heartbeat: Option<Timestamp>,
    /// `osType` reported by the provider (`Windows` / `Linux`).
    pub os_type: Option<SharedText>,
    /// OS name/version, e.g. `Windows Server 2008 R2 SP1`.
    pub os_name: Option<SharedText>,
    /// `discoveryType`: `vCenter` or `PhysicalServer`...
    pub discovery_type: Option<SharedText>,
    pub process_server_id: Option<SharedText>,
    pub master_target_id: Option<SharedText>,
    /// The replication group (multi-VM consistency group) name.
    pub multi_vm_group_name: Option<SharedText>,
    /// VM id in the configuration server database (absent: the CS does not know the VM).
    pub vm_id: Option<String>,
    /// `InMageAzureV2` only: the ARM id of the failed-over Azure VM (`targetVmId`); `InMage` items do not carry it.
    pub target_vm_id: Option<ArmId>,
    pub health_errors: Vec<HealthIssue>,
    /// `InMage` only: where the VM runs, `Azure` or `OnPrem` (see [`ProtectedItemFacts::running_site`]).
    pub active_site_type: Option<SharedText>,
    /// `multiVmGroupId`: equal to the group name (a GUID) for an item-level group.
    pub multi_vm_group_id: Option<SharedText>,
    /// `failoverHealth` (extensible: `Normal`, `Warning`, `Critical`).
    pub failover_health: Option<SharedText>,
    /// Provider's `vmProtectionState` (free string).
    pub vm_protection_state: Option<SharedText>,
    /// Current RPO in seconds (`rpoInSeconds`), when reported.
    pub rpo_seconds: Option<i64>,
    /// `InMage` retention window: recovery points exist between these times (the spec extracts carry no
    /// recovery-point list; this is the closest observable).
    pub retention_window_start: Option<Timestamp>,
    pub retention_window_end: Option<Timestamp>,
}

/// Replication providers whose items this controller can reprotect to on-premises (`InMageAzureV2`) or
/// recognises as already reprotected (`InMage`).
pub const SUPPORTED_PROVIDERS: &[&str] = &["InMageAzureV2", "InMage"];

/// The name a person knows an item by: its friendly name (the VM's name), else its ARM name (often a GUID).
pub fn display_name<'a>(name: &'a str, friendly_name: Option<&'a str>) -> &'a str {
    friendly_name.map(str::trim).filter(|n| !n.is_empty()).unwrap_or(name)
}

impl ProtectedItemFacts {
    /// The name a person knows the item by: its friendly name (the VM's name), else its ARM name (often a GUID).
    pub fn display_name(&self) -> &str {
        display_name(&self.name, self.friendly_name.as_deref())
    }

    /// Whether the item's replication provider is one this controller knows; `None` when not reported.
    pub fn provider_supported(&self) -> Option<bool> {
        let p = self.provider.as_deref()?.trim();
        Some(SUPPORTED_PROVIDERS.iter().any(|k| k.eq_ignore_ascii_case(p)))
    }

    /// Reverse-replicating (`InMage`) and `Protected`: reprotect is done.
    pub fn is_protected_in_reverse(&self) -> bool {
        self.provider.as_deref().is_some_and(|p| p.eq_ignore_ascii_case("InMage"))
            && self.protection_state.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("Protected"))
    }

    /// Failed over to Azure and reprotect is allowed.
    pub fn can_reverse_replicate(&self) -> bool {
        self.allowed_operations.iter().any(|o| o.eq_ignore_ascii_case("ReverseReplicate"))
    }

    /// The mobility agent has registered back since failover.
    pub fn agent_registered_after_failover(&self) -> Option<bool> {
        let failover = self.last_successful_failover_time?;
        Some(self.agent_last_heartbeat.is_some_and(|hb| hb >= failover))
    }
}

/// A failback (or forward) replication policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyFacts {
    pub id: String,
    pub name: String,
    pub friendly_name: Option<String>,
    /// `providerSpecificDetails.instanceType` (`InMage` for the failback policy).
    pub provider: Option<String>,
    pub rpo_threshold_minutes: Option<i32>,
    pub recovery_point_history_minutes: Option<i32>,
    pub app_consistent_frequency_minutes: Option<i32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ARM client keeps every item of every vault it lists (10,000 at the scale bench, for minutes): each byte
    /// here is ~10 KB of the controller's heap (issue 13). A field that grows an item's facts should be a choice.
    #[test]
    fn an_items_facts_stay_within_the_inline_size_the_scale_bench_was_measured_with() {
        let size = std::mem::size_of::<ProtectedItemFacts>();
        assert!(size <= 448, "ProtectedItemFacts is {size} bytes inline, over its budget of 448 (was 528)");
    }
}
