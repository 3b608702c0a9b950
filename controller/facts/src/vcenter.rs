//! What the controller observes in vCenter, and the trait a vCenter client implements.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How to find a VM in the inventory.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum VmSelector {
    /// VM name. vCenter allows the same name twice (in other folders or datacenters): a name that matches
    /// several VMs selects none (see [`VcenterFacts::ambiguous_vms`], [`VcenterError::AmbiguousVm`]).
    Name(String),
    /// Managed object id, e.g. `vm-42`.
    MoRef(String),
    /// The VM's BIOS UUID (`config.uuid`) or instance UUID (`config.instanceUuid`), compared without regard to
    /// case: what Site Recovery records for a VMware VM (the item's `vmId`). Unlike a name, it cannot collide.
    Uuid(String),
}

impl VmSelector {
    /// A stable display form, also used as the key of [`VcenterFacts::on_premises_vms`].
    pub fn key(&self) -> String {
        match self {
            VmSelector::Name(n) => format!("name:{n}"),
            VmSelector::MoRef(m) => format!("moref:{m}"),
            VmSelector::Uuid(u) => format!("uuid:{}", u.to_ascii_lowercase()),
        }
    }
}

/// One batched observation request: a master target and any number of on-premises VMs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObserveRequest {
    /// The master target VM (by name in vCenter).
    pub master_target_vm: Option<VmSelector>,
    /// The on-premises VMs to look at (existing failback targets).
    pub on_premises_vms: Vec<VmSelector>,
}

/// Power state as vCenter reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PowerState {
    PoweredOn,
    PoweredOff,
    Suspended,
    /// Any value this build does not know.
    Other(String),
}

/// Guest OS family derived from `guest.guestFamily` or `config.guestId`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GuestFamily {
    Windows,
    Linux,
    Other,
}

impl GuestFamily {
    /// Classify a vSphere guest id (`windows9Server64Guest`, `rhel7_64Guest`, `otherGuest`, ...).
    pub fn from_guest_id(guest_id: &str) -> GuestFamily {
        let g = guest_id.to_ascii_lowercase();
        if g.starts_with("win") {
            GuestFamily::Windows
        } else if g.starts_with("other") && !g.contains("linux") {
            GuestFamily::Other
        } else {
            GuestFamily::Linux
        }
    }
}

/// VMware Tools state of a VM.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolsFacts {
    /// `guest.toolsStatus`, e.g. `toolsOk`, `toolsNotInstalled`, `toolsNotRunning`, `toolsOld`.
    pub status: Option<String>,
    /// `guest.toolsRunningStatus`, e.g. `guestToolsRunning`.
    pub running_status: Option<String>,
}

impl ToolsFacts {
    /// Installed (any status but `toolsNotInstalled`) and running.
    pub fn installed_and_running(&self) -> Option<bool> {
        let status = self.status.as_deref()?;
        let running = self.running_status.as_deref()?;
        Some(status != "toolsNotInstalled" && running == "guestToolsRunning")
    }
}

/// A virtual disk of a VM.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskFacts {
    /// Device key.
    pub key: i32,
    /// `backing.uuid`, when the backing has one.
    pub uuid: Option<String>,
    /// `backing.fileName`, e.g. `[ds1] vm/vm.vmdk`.
    pub file_name: Option<String>,
    /// Datastore moref of the backing.
    pub datastore: Option<String>,
    /// Key of the controller the disk hangs off.
    pub controller_key: Option<i32>,
}

/// One VM as observed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmFacts {
    pub moref: String,
    pub name: String,
    pub power_state: Option<PowerState>,
    /// `config.guestId`.
    pub guest_id: Option<String>,
    pub guest_family: Option<GuestFamily>,
    /// Value of the last `disk.EnableUUID` entry in `config.extraConfig` (`None` when absent).
    pub disk_enable_uuid: Option<bool>,
    /// Number of snapshots in the snapshot tree (0 when `snapshot` is unset).
    pub snapshot_count: Option<u32>,
    /// Wire type names of the SCSI controllers, e.g. `ParaVirtualSCSIController`, `VirtualLsiLogicController`.
    pub scsi_controllers: Option<Vec<String>>,
    pub tools: ToolsFacts,
    pub disks: Option<Vec<DiskFacts>>,
    /// Host moref (`runtime.host`).
    pub host: Option<String>,
    /// Datastore morefs the VM uses (`datastore`).
    pub datastores: Vec<String>,
}

impl VmFacts {
    /// A minimal VM with only identity known (useful for fixtures).
    pub fn named(moref: &str, name: &str) -> VmFacts {
        VmFacts {
            moref: moref.into(),
            name: name.into(),
            power_state: None,
            guest_id: None,
            guest_family: None,
            disk_enable_uuid: None,
            snapshot_count: None,
            scsi_controllers: None,
            tools: ToolsFacts::default(),
            disks: None,
            host: None,
            datastores: Vec::new(),
        }
    }
}

/// A datastore as mounted on a host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatastoreFacts {
    pub moref: String,
    pub name: String,
    /// `summary.type`: `VMFS`, `vsan`, `NFS`, `NFS41`, `VVOL`, `OTHER`, ...
    pub datastore_type: String,
    pub capacity_bytes: Option<i64>,
    pub free_bytes: Option<i64>,
    pub accessible: Option<bool>,
    /// Host mount access mode: `readWrite` or `readOnly`.
    pub access_mode: Option<String>,
    pub mounted: Option<bool>,
}

impl DatastoreFacts {
    /// VMFS or vSAN: the only datastore types ASR can fail back to.
    pub fn is_vmfs_or_vsan(&self) -> bool {
        crate::names::is_vmfs_or_vsan(&self.datastore_type)
    }

    /// Mounted and accessible, as far as reported (`None` values are not held against it).
    pub fn is_usable(&self) -> bool {
        self.mounted != Some(false) && self.accessible != Some(false)
    }

    /// Mounted, accessible and read/write on the host: `Err` says what is wrong, `Ok(None)` that the access mode
    /// was not reported (an unreported mount or accessibility flag is not held against it).
    pub fn writable(&self) -> Result<Option<()>, String> {
        if self.mounted == Some(false) {
            return Err("not mounted".into());
        }
        if self.accessible == Some(false) {
            return Err("not accessible".into());
        }
        match self.access_mode.as_deref() {
            Some(m) if m.eq_ignore_ascii_case("readWrite") => Ok(Some(())),
            Some(m) => Err(format!("mounted {m}")),
            None => Ok(None),
        }
    }
}

/// An ESXi host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostFacts {
    pub moref: String,
    pub name: String,
    /// `config.product.fullName`.
    pub product_full_name: Option<String>,
    /// Edition key of the licence assigned to the host (`eval`, `esxBasic` for free ESXi, ...).
    pub license_edition: Option<String>,
    /// Datastores attached to the host (from `host.datastore`).
    pub datastores: Vec<DatastoreFacts>,
}

impl HostFacts {
    /// Free-edition ESXi (5.5 free / vSphere Hypervisor free) cannot fail back.
    pub fn is_free_edition(&self) -> Option<bool> {
        let e = self.license_edition.as_deref()?.to_ascii_lowercase();
        Some(e.contains("free") || e == "esxbasic" || e.starts_with("esx.hypervisor"))
    }
}

/// Result of the permissions probe: can the account see what reprotect needs?
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionFacts {
    /// The account can list the datastores of the master target's host.
    pub can_see_host_datastores: bool,
    /// Privileges checked and found missing (e.g. `Datastore.Browse`).
    pub missing_privileges: Vec<String>,
}

/// Everything one observation produced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VcenterFacts {
    /// `None` when not requested or not found (see `master_target_found`).
    pub master_target: Option<VmFacts>,
    /// The master target's ESXi host.
    pub master_target_host: Option<HostFacts>,
    /// Keyed by [`VmSelector::key`]; `None` means the VM does not exist in vCenter.
    pub on_premises_vms: BTreeMap<String, Option<VmFacts>>,
    /// Hosts of the on-premises VMs, keyed by host moref.
    pub hosts: BTreeMap<String, HostFacts>,
    pub permissions: Option<PermissionFacts>,
    /// Selectors (by [`VmSelector::key`]) that matched more than one VM, with the morefs they matched. Such a
    /// selector has no facts: acting on one of the VMs would be a guess.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ambiguous_vms: BTreeMap<String, Vec<String>>,
    /// Number of property-collector round trips the observation took (for benchmarks).
    pub round_trips: u32,
}

/// Errors from a vCenter client, with a stable category for metrics and events.
#[derive(Debug, thiserror::Error)]
pub enum VcenterError {
    #[error("cannot connect to vCenter {server}: {message}")]
    Connect { server: String, message: String },
    #[error("TLS verification of vCenter {server} failed: {message}")]
    Tls { server: String, message: String },
    #[error("vCenter {server} rejected the credentials (InvalidLogin)")]
    InvalidLogin { server: String },
    #[error("VM {0} not found in vCenter")]
    VmNotFound(String),
    #[error("VM {selector} is ambiguous: {} VMs match ({}); select it by managed object id", morefs.len(), morefs.join(", "))]
    AmbiguousVm { selector: String, morefs: Vec<String> },
    #[error("vCenter task {task} failed: {fault}: {message}")]
    TaskFailed { task: String, fault: String, message: String },
    #[error("vCenter task {task} did not finish within {seconds}s")]
    TaskTimeout { task: String, seconds: u64 },
    #[error("vCenter call {call} failed: {message}")]
    Call { call: String, message: String },
}

impl VcenterError {
    /// Stable label for metrics and events.
    pub fn category(&self) -> &'static str {
        match self {
            VcenterError::Connect { .. } => "vcenter-connect",
            VcenterError::Tls { .. } => "vcenter-tls",
            VcenterError::InvalidLogin { .. } => "vcenter-credentials",
            VcenterError::VmNotFound(_) => "vcenter-not-found",
            VcenterError::AmbiguousVm { .. } => "vcenter-ambiguous-vm",
            VcenterError::TaskFailed { .. } => "vcenter-task-failed",
            VcenterError::TaskTimeout { .. } => "vcenter-timeout",
            VcenterError::Call { .. } => "vcenter-call",
        }
    }

    /// Whether retrying later may help (connection faults, timeouts) as opposed to needing a user fix.
    pub fn is_transient(&self) -> bool {
        matches!(self, VcenterError::Connect { .. } | VcenterError::TaskTimeout { .. } | VcenterError::Call { .. })
    }
}

/// The vCenter operations the controller needs. Implemented with vim_rs over SOAP.
#[async_trait::async_trait]
pub trait Vcenter: Send + Sync {
    /// Observe the master target, its host and the requested VMs in as few round trips as possible.
    async fn observe(&self, request: &ObserveRequest) -> Result<VcenterFacts, VcenterError>;
    /// Power off a VM; already off is success.
    async fn power_off(&self, vm: &VmSelector) -> Result<(), VcenterError>;
    /// Set `disk.EnableUUID=TRUE` on a VM; already set is success.
    async fn enable_disk_uuid(&self, vm: &VmSelector) -> Result<(), VcenterError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(mounted: Option<bool>, accessible: Option<bool>, mode: Option<&str>) -> DatastoreFacts {
        DatastoreFacts {
            moref: "datastore-1".into(),
            name: "ds".into(),
            datastore_type: "VMFS".into(),
            capacity_bytes: None,
            free_bytes: None,
            accessible,
            access_mode: mode.map(Into::into),
            mounted,
        }
    }

    #[test]
    fn a_datastore_is_writable_only_when_mounted_accessible_and_read_write() {
        assert_eq!(ds(Some(true), Some(true), Some("readWrite")).writable(), Ok(Some(())));
        assert_eq!(ds(Some(false), Some(true), Some("readWrite")).writable(), Err("not mounted".into()));
        assert_eq!(ds(Some(true), Some(false), Some("readWrite")).writable(), Err("not accessible".into()));
        assert_eq!(ds(Some(true), Some(true), Some("readOnly")).writable(), Err("mounted readOnly".into()));
        assert_eq!(ds(None, None, Some("readWrite")).writable(), Ok(Some(())));
        assert_eq!(ds(Some(true), Some(true), None).writable(), Ok(None));
    }

    #[test]
    fn an_inaccessible_or_unmounted_datastore_is_not_usable() {
        assert!(ds(Some(true), Some(true), None).is_usable());
        assert!(ds(None, None, None).is_usable());
        assert!(!ds(Some(true), Some(false), None).is_usable());
        assert!(!ds(Some(false), Some(true), None).is_usable());
    }
}
