//! `MasterTarget`: the on-premises master target server that receives failback data.

use super::check_status::CheckStatus;
use super::common::{Conditions, OsType};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// What the controller may change on the master target VM itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Remediation {
    /// Allow the controller to set `disk.EnableUUID=TRUE` in the master target VM's configuration parameters.
    #[serde(default)]
    pub enable_disk_uuid: bool,
}

/// An on-premises master target server (Windows or Linux) registered with the configuration server.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "reprotect.io",
    version = "v1alpha1",
    kind = "MasterTarget",
    namespaced,
    status = "MasterTargetStatus",
    shortname = "mt",
    category = "reprotect",
    cel,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"OS","type":"string","jsonPath":".spec.osType"}"#,
    printcolumn = r#"{"name":"Last Heartbeat","type":"date","jsonPath":".status.lastHeartbeat"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.retentionVolume) || (self.osType == 'Windows' ? self.retentionVolume.matches('^[A-Za-z]:\\\\\\\\?$') : self.retentionVolume.startsWith('/'))").message("retentionVolume must be a drive letter such as R: for Windows, or an absolute path such as /mnt/retention for Linux"))]
pub struct MasterTargetSpec {
    /// Name of the `ReprotectPolicy` (same namespace) whose vCenter and Site Recovery connections to use.
    #[schemars(length(min = 1, max = 253))]
    pub policy_ref: String,
    /// Name (or ASR id) of the master target server as registered with the configuration server.
    #[schemars(length(min = 1))]
    pub asr_name: String,
    /// Name of the master target's virtual machine in vCenter.
    #[schemars(length(min = 1, max = 80))]
    pub vcenter_vm_name: String,
    /// Operating system: a Windows machine needs a Windows master target, a Linux machine a Linux one.
    pub os_type: OsType,
    /// Retention volume; default `R:` for Windows and `/mnt/retention` for Linux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_volume: Option<String>,
    /// What the controller may fix on the master target VM.
    #[serde(default)]
    pub remediation: Remediation,
}

/// A retention volume as the configuration server lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetentionVolumeStatus {
    /// Volume name (`R:`, `/mnt/retention`).
    pub name: String,
    /// Capacity in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_bytes: Option<i64>,
    /// Free space in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_bytes: Option<i64>,
    /// Whether the volume can be used for retention (capacity above zero, not FAT).
    pub eligible: bool,
}

/// A datastore attached to the master target's ESXi host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatastoreStatus {
    /// Datastore name.
    pub name: String,
    /// Type as vCenter reports it (`VMFS`, `vsan`, `NFS`, ...).
    #[serde(rename = "type")]
    pub datastore_type: String,
    /// Whether ASR can fail back to it (VMFS or vSAN).
    pub supported: bool,
}

/// Observed state of a MasterTarget.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MasterTargetStatus {
    /// Generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Reconciling`, `Stalled`, `PreflightPassed`.
    #[serde(default)]
    pub conditions: Conditions,
    /// Last heartbeat of the master target to the configuration server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_heartbeat: Option<Time>,
    /// OS as the configuration server reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// ASR id of the master target server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asr_id: Option<String>,
    /// ESXi host of the master target VM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub esxi_host: Option<String>,
    /// Retention volumes the configuration server lists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retention_volumes: Vec<RetentionVolumeStatus>,
    /// Datastores attached to the master target's host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub datastores: Vec<DatastoreStatus>,
    /// Master-target checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckStatus>,
}
