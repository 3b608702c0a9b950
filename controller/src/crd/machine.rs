//! `ProtectedMachine`: one failed-over VM to bring back under protection in the Azure-to-on-premises direction.

use super::SharedText;
use super::check_status::{CheckIdList, CheckStatus};
use super::common::{Conditions, OsType};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{CustomResource, KubeSchema};
use reprotect_facts::{ArmId, SharedTextList};
use serde::{Deserialize, Serialize};

/// Which ASR replication protected item this machine is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.name) != has(self.friendlyName)").message("set exactly one of item.name or item.friendlyName"))]
pub struct ProtectedItemSelector {
    /// ASR protected item name (the last segment of its id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The VM's friendly name in the vault, looked up among the container's items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friendly_name: Option<String>,
}

/// The on-premises VM that will receive the data (it still exists in vCenter).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.name) != has(self.managedObjectId)").message("set exactly one of existingVm.name or existingVm.managedObjectId"))]
pub struct ExistingVm {
    /// VM name in vCenter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Managed object id, e.g. `vm-42`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_object_id: Option<String>,
}

/// Recover to a new VM because the on-premises VM was deleted: ASR creates it on the master target's ESXi host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlternateLocation {
    /// Datastore for the new VM's disks; defaults to the machine's datastore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datastore: Option<SharedText>,
}

// The references that thousands of machines repeat (policy, master target, process server, datastore, retention
// volume, group) are `SharedText`: 8 bytes each in the reflector store instead of 24, and one copy of the text for all
// machines (issue 13). Plain strings on the wire and in the schema. (Not a doc comment: that is the schema's
// description.)
/// One failed-over VM to reprotect.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "reprotect.io",
    version = "v1alpha1",
    kind = "ProtectedMachine",
    namespaced,
    status = "ProtectedMachineStatus",
    shortname = "pm",
    category = "reprotect",
    cel,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Policy","type":"string","jsonPath":".spec.policyRef"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Checks","type":"string","jsonPath":".status.checksPassed"}"#,
    printcolumn = r#"{"name":"Job","type":"string","jsonPath":".status.job.progress"}"#,
    printcolumn = r#"{"name":"Master Target","type":"string","jsonPath":".status.masterTarget","priority":1}"#,
    printcolumn = r#"{"name":"Message","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.existingVm) != has(self.alternateLocation)").message("set exactly one of existingVm or alternateLocation"))]
#[x_kube(validation = Rule::new("!has(self.desiredState) || self.desiredState != 'ProtectedToAzure' || (has(self.failback) && has(self.failback.approval))").message("desiredState ProtectedToAzure needs failback.approval: a string that names this failback (e.g. 2026-11-28-return-dc1)"))]
pub struct ProtectedMachineSpec {
    /// Name of the `ReprotectPolicy` (same namespace) that governs this machine.
    #[schemars(length(min = 1, max = 253))]
    pub policy_ref: SharedText,
    /// The replicated item in the vault.
    pub item: ProtectedItemSelector,
    /// Fail back into this existing on-premises VM (its datastores must be mounted read-write on the master target's host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_vm: Option<ExistingVm>,
    /// Fail back to a new VM (the original was deleted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternate_location: Option<AlternateLocation>,
    /// OS of the machine; taken from Azure when omitted and checked against the master target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_type: Option<OsType>,
    /// Multi-VM consistency group; every member must use the same master target and they are reprotected together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub replication_group: Option<SharedText>,
    /// Override of the policy's master target (name of a `MasterTarget`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_target_ref: Option<SharedText>,
    /// Override of the policy's process server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_server: Option<SharedText>,
    /// Override of the policy's datastore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datastore: Option<SharedText>,
    /// Override of the retention volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_volume: Option<SharedText>,
    /// Where the machine should end up: reprotected to on-premises (still running in Azure), or failed back,
    /// committed and protected to Azure again (running on-premises). The latter also needs `failback.approval`.
    #[serde(default)]
    pub desired_state: DesiredState,
    /// The approval and options of the way home (failback, commit, forward reprotect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failback: Option<Box<FailbackSpec>>,
}

/// The end state a ProtectedMachine is driven to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum DesiredState {
    /// Running in Azure, replicating Azure -> on-premises (ready to fail back).
    #[default]
    ReprotectedToOnPremises,
    /// Failed back, committed, running on-premises and replicating on-premises -> Azure again.
    ProtectedToAzure,
}

/// Recovery point a failback uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum FailbackRecoveryPoint {
    /// Latest point in time, crash-consistent (recommended).
    #[default]
    LatestTime,
    /// Latest application-consistent point (behind the latest: some data loss).
    LatestTag,
}

/// The one-shot approval of a failback and its options.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailbackSpec {
    /// Names this failback (e.g. `2026-11-28-return-dc1`). A failback starts only for an approval not yet
    /// completed (`status.failback.completedApproval`): re-applying the same manifest never starts a second one;
    /// a new failback (or a retry after a failed step) needs a new value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub approval: Option<String>,
    /// Recovery point to fail back to.
    #[serde(default)]
    pub recovery_point_type: FailbackRecoveryPoint,
    /// Process server for the forward reprotect (name or id); defaults to the configuration server's own
    /// (on-premises) process server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_process_server: Option<String>,
    /// Forward (`InMageAzureV2`) replication policy name; defaults to the vault's only such policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_policy: Option<String>,
}

/// Lifecycle phase of a ProtectedMachine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Phase {
    /// Not looked at yet.
    #[default]
    Pending,
    /// Observing and checking prerequisites.
    Validating,
    /// The item has not failed over to Azure yet.
    WaitingForFailover,
    /// Waiting for the mobility agent to register back with the configuration server after failover.
    WaitingForAgent,
    /// A reprotect job is running.
    Reprotecting,
    /// Replicating from Azure to on-premises.
    Protected,
    /// A prerequisite or a job failed; see conditions.
    Blocked,
    /// Paused by spec or annotation.
    Paused,
    /// The failback (unplanned failover Azure -> on-premises) job is running.
    FailingBack,
    /// Failed back; the commit waits for the on-premises VM to be confirmed running.
    CommitPending,
    /// The commit job is running (it removes the Azure VM).
    Committing,
    /// Committed; waiting for the on-premises mobility agent to register before the forward reprotect.
    WaitingForForwardAgent,
    /// The forward reprotect (on-premises -> Azure) job is running.
    ReprotectingToAzure,
    /// Running on-premises and replicating to Azure: the round trip is complete.
    ProtectedToAzure,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

/// The ASR job of the reprotect, as last seen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    /// ASR job name (`replicationJobs/{name}`).
    pub name: String,
    /// Job state (`InProgress`, `Succeeded`, `Failed`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<SharedText>,
    /// Tasks finished / tasks in the job, e.g. `3/5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<SharedText>,
    /// When the reprotect was submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<Time>,
    /// Whether this job was adopted from Azure rather than submitted by this controller instance.
    #[serde(default)]
    pub adopted: bool,
    /// Spec generation the job was submitted for; a failed job is retried only after the spec changes
    /// (or, for an unregistered mobility agent, once the agent registers, up to `spec.retry.maxAttempts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// Reprotect submissions since the item's latest failover, this one included.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempt: u32,
    /// ASR error code of a failed job or a rejected submission, e.g. `95226`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<SharedText>,
    /// ASR's message for a failed job or a rejected submission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<SharedText>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Observed state of a ProtectedMachine.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProtectedMachineStatus {
    /// Generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current phase.
    #[serde(default)]
    pub phase: Phase,
    /// `Ready`, `Reconciling`, `Stalled`, `PreflightPassed`, `Degraded`, `FailbackAtRisk`.
    #[serde(default)]
    pub conditions: Conditions,
    /// Name of the MasterTarget in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_target: Option<SharedText>,
    /// ASR id of the protected item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected_item_id: Option<ArmId>,
    /// Checks passed of all checks, e.g. `42/46` (the `Checks` column of `kubectl get pm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks_passed: Option<SharedText>,
    /// The checks that did not pass (`Fail` or `Unknown`), each with what was observed and what to do about it.
    /// `reprotect-controller check` shows every check with its evidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckStatus>,
    /// The ids of the checks that passed.
    #[serde(default, skip_serializing_if = "CheckIdList::is_empty")]
    pub passed_check_ids: CheckIdList,
    /// The reprotect job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobStatus>,
    /// When the agent registration window closes (failover time + window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_window_deadline: Option<Time>,
    /// When the controller looks again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_check_at: Option<Time>,
    /// In `Plan` mode: what the controller would do.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub planned_actions: Vec<String>,
    /// Master target datastores recorded at reprotect time (to detect a later Storage vMotion).
    #[serde(default, skip_serializing_if = "SharedTextList::is_empty")]
    pub recorded_master_target_datastores: SharedTextList,
    /// When the machine reached `Protected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected_at: Option<Time>,
    /// The failed-over Azure VM's ARM id as Site Recovery reported it (`targetVmId`) while the machine ran in Azure;
    /// after a failback commit the controller checks in Azure Compute that this VM is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_vm_id: Option<ArmId>,
    /// Progress of the way home (failback, commit, forward reprotect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failback: Option<Box<FailbackStatus>>,
}

/// A step of the way home; `status.job` is that step's ASR job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum FailbackStep {
    /// Unplanned failover Azure -> on-premises (item or recovery plan).
    FailBack,
    /// Commit of that failover (removes the Azure VM).
    Commit,
    /// Reprotect on-premises -> Azure.
    ForwardReprotect,
}

/// What the controller knows of the way home.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailbackStatus {
    /// The approval being carried out (recorded when its failback was submitted or adopted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
    /// The last approval carried out to the end; the same approval never starts another failback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_approval: Option<String>,
    /// Group members: the approval for which this member's failback checks passed (its peers wait for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_approval: Option<String>,
    /// The group step (`FailBack` or `Commit`) this member is ready for under `readyApproval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_for: Option<FailbackStep>,
    /// The step whose job `status.job` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<FailbackStep>,
    /// Recovery plan the group fails back and commits through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_plan: Option<String>,
    /// Recovery point type of the failback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_point_type: Option<FailbackRecoveryPoint>,
    /// The on-premises VM was seen powered on in vCenter after the failback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_premises_vm_powered_on: Option<bool>,
    /// After the commit, Azure Compute was asked for the failed-over VM (`status.azureVmId`): `true` once it answers
    /// that the VM is gone, `false` while it still exists; absent when not checked (no VM id was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_vm_removed: Option<bool>,
    /// When the failback was submitted or adopted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When the machine reached `ProtectedToAzure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Time>,
}
