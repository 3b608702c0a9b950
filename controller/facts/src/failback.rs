//! Failback, commit and forward reprotect: the requests, recovery plan facts, and what an item's facts say
//! about where it runs and which step of the way home it can take next (decided from `allowedOperations`
//! and the provider, not from one exact state string: several state names are only inferred).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{CurrentScenarioFacts, ProtectedItemFacts};

/// Recovery point to fail back to (`InMageUnplannedFailoverInput.recoveryPointType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RecoveryPointType {
    /// Latest point in time, crash-consistent (recommended by the docs).
    #[default]
    LatestTime,
    /// Latest app-consistent point (some data loss).
    LatestTag,
}

impl RecoveryPointType {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            RecoveryPointType::LatestTime => "LatestTime",
            RecoveryPointType::LatestTag => "LatestTag",
        }
    }
}

/// `sourceSiteOperations` of a failover.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SourceSiteOperations {
    #[default]
    NotRequired,
    Required,
}

impl SourceSiteOperations {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceSiteOperations::NotRequired => "NotRequired",
            SourceSiteOperations::Required => "Required",
        }
    }
}

/// Fail back one reprotected (`InMage`) item: item-level unplanned failover, direction `PrimaryToRecovery`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailbackRequest {
    /// Protected item name.
    pub item_name: String,
    pub recovery_point_type: RecoveryPointType,
    pub source_site_operations: SourceSiteOperations,
}

/// Fail back a recovery plan (all its items together): plan-level unplanned failover, direction `RecoveryToPrimary`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanFailbackRequest {
    pub plan_name: String,
    pub recovery_point_type: RecoveryPointType,
    pub source_site_operations: SourceSiteOperations,
}

/// Protect a failed-back item to Azure again: `reProtect` with `InMageAzureV2` input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardReprotectRequest {
    pub item_name: String,
    pub process_server_id: String,
    /// `None`: the process server's id (Az PowerShell: "Assumption: PS and MT are same.").
    pub master_target_id: Option<String>,
    /// Configuration-server account id (`runAsAccountId`).
    pub run_as_account_id: String,
    /// Id of the forward (`InMageAzureV2`) replication policy.
    pub policy_id: String,
    pub storage_account_id: Option<String>,
    pub log_storage_account_id: Option<String>,
}

/// An item of a recovery plan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryPlanMember {
    /// Protected item ARM id.
    pub id: String,
    /// Item name (last segment of the id).
    pub name: String,
    pub virtual_machine_id: Option<String>,
}

/// A recovery plan as ASR reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryPlanFacts {
    pub id: String,
    pub name: String,
    pub friendly_name: Option<String>,
    pub primary_fabric_id: Option<String>,
    pub recovery_fabric_id: Option<String>,
    pub replication_providers: Vec<String>,
    pub allowed_operations: Vec<String>,
    pub current_scenario: Option<CurrentScenarioFacts>,
    pub current_scenario_status: Option<String>,
    pub last_unplanned_failover_time: Option<Timestamp>,
    /// Items of every group of the plan, in group order.
    pub members: Vec<RecoveryPlanMember>,
}

fn has_op<S: AsRef<str>>(ops: &[S], op: &str) -> bool {
    ops.iter().any(|o| o.as_ref().eq_ignore_ascii_case(op))
}

fn running(s: &Option<CurrentScenarioFacts>) -> bool {
    s.as_ref().and_then(|s| s.scenario_name.as_deref()).is_some_and(|n| !n.trim().is_empty() && !n.eq_ignore_ascii_case("None"))
}

impl RecoveryPlanFacts {
    pub fn allows(&self, op: &str) -> bool {
        has_op(&self.allowed_operations, op)
    }
    /// Does the plan contain this item (by ARM id, compared case-insensitively, or by name)?
    pub fn contains(&self, item_id_or_name: &str) -> bool {
        self.members
            .iter()
            .any(|m| crate::same_arm_id(&m.id, item_id_or_name) || m.name.eq_ignore_ascii_case(crate::arm_name(item_id_or_name)))
    }
    /// A plan-level job is running.
    pub fn is_busy(&self) -> bool {
        running(&self.current_scenario)
    }
}

/// Where the workload runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Site {
    OnPremises,
    Azure,
}

/// Which step of the round trip an item can take next (or is taking).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FailbackStage {
    /// An operation (job) runs on the item.
    Busy,
    /// Failed over to Azure, reprotect to on-premises possible (`ReverseReplicate` allowed, `InMageAzureV2`).
    FailedOverToAzure,
    /// Reprotected to on-premises and failback possible (`InMage`, `UnplannedFailover` allowed).
    ReadyToFailBack,
    /// Failed back, the failover awaits its commit (`Commit` allowed).
    CommitPending,
    /// Commit done: forward reprotect possible (`InMage`, `SwitchProtection` allowed).
    ReadyForForwardReprotect,
    /// Protected from on-premises to Azure (`InMageAzureV2`, protected, on-premises primary).
    ProtectedToAzure,
    /// None of the above (unknown or unsupported state).
    Other,
}

fn is_provider(item: &ProtectedItemFacts, p: &str) -> bool {
    item.provider.as_deref().is_some_and(|x| x.trim().eq_ignore_ascii_case(p))
}

impl ProtectedItemFacts {
    pub fn allows(&self, op: &str) -> bool {
        has_op(&self.allowed_operations, op)
    }

    /// An operation (job) runs on the item (`currentScenario` other than `None`).
    pub fn is_busy(&self) -> bool {
        running(&self.current_scenario)
    }

    /// Where the VM runs: `activeSiteType` (`Azure`/`OnPrem`) when the provider reports it, else from the provider
    /// and `activeLocation` (`InMageAzureV2`: Primary = on-premises; `InMage`: Primary = Azure, the reprotect flipped it).
    pub fn running_site(&self) -> Option<Site> {
        match self.active_site_type.as_deref().map(str::trim) {
            Some(s) if s.eq_ignore_ascii_case("Azure") => return Some(Site::Azure),
            Some(s) if s.eq_ignore_ascii_case("OnPrem") || s.eq_ignore_ascii_case("OnPremises") => return Some(Site::OnPremises),
            _ => {}
        }
        let primary = self.active_location.as_deref()?.trim().eq_ignore_ascii_case("Primary");
        let recovery = self.active_location.as_deref()?.trim().eq_ignore_ascii_case("Recovery");
        match (is_provider(self, "InMage"), is_provider(self, "InMageAzureV2")) {
            (true, _) if primary => Some(Site::Azure),
            (true, _) if recovery => Some(Site::OnPremises),
            (_, true) if primary => Some(Site::OnPremises),
            (_, true) if recovery => Some(Site::Azure),
            _ => None,
        }
    }

    /// Member of a replication group made at protection time (`multiVmGroupName` is not a GUID equal to
    /// `multiVmGroupId`): failover and commit go through the recovery plan.
    pub fn in_named_replication_group(&self) -> bool {
        let Some(name) = self.multi_vm_group_name.as_deref().map(str::trim).filter(|n| !n.is_empty()) else { return false };
        !self.multi_vm_group_id.as_deref().is_some_and(|id| id.trim().eq_ignore_ascii_case(name))
    }

    /// The next step this item can take, from the provider and `allowedOperations`.
    pub fn failback_stage(&self) -> FailbackStage {
        let protected = self.protection_state.as_deref().is_some_and(|s| {
            let s = s.to_ascii_lowercase();
            s == "protected" || s == "protectedstatesbegin"
        });
        if self.is_busy() {
            FailbackStage::Busy
        } else if self.allows("Commit") {
            FailbackStage::CommitPending
        } else if is_provider(self, "InMage") && self.allows("UnplannedFailover") {
            FailbackStage::ReadyToFailBack
        } else if is_provider(self, "InMage") && (self.allows("SwitchProtection") || self.allows("ReverseReplicate")) {
            FailbackStage::ReadyForForwardReprotect
        } else if is_provider(self, "InMageAzureV2") && self.allows("ReverseReplicate") {
            FailbackStage::FailedOverToAzure
        } else if is_provider(self, "InMageAzureV2") && protected && self.running_site() == Some(Site::OnPremises) {
            FailbackStage::ProtectedToAzure
        } else {
            FailbackStage::Other
        }
    }

    /// RPO within `threshold_minutes` (the failback policy's `recoveryPointThresholdInMinutes`); `None` when not reported.
    pub fn rpo_within(&self, threshold_minutes: i32) -> Option<bool> {
        Some(self.rpo_seconds? <= i64::from(threshold_minutes) * 60)
    }
}

#[cfg(test)]
#[path = "failback_tests.rs"]
mod tests;
