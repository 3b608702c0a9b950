//! Preflight inputs: the desired reprotect as a plain struct (the reconciler converts the CRD) and the observed snapshot.

use jiff::SignedDuration;
use reprotect_facts::{
    AmbiguousItem, DiscoveredVcenterFacts, FabricFacts, GuestFamily, PolicyFacts, ProtectedItemFacts, RecoveryPointType, VcenterFacts,
    VmSelector, drive_letter,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Operating system family, as far as reprotect cares (a Windows VM needs a Windows master target).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub enum OsType {
    Windows,
    Linux,
}

impl OsType {
    /// Classify a free-form OS string as ASR or a guest reports it (`Windows`, `windows`,
    /// `Windows Server 2016`, `Linux`, `RHEL 7`, `Ubuntu 20.04`...). `None` when unrecognised or blank.
    pub fn parse(value: &str) -> Option<OsType> {
        let v = value.trim().to_ascii_lowercase();
        if v.is_empty() {
            None
        } else if v.starts_with("win") {
            Some(OsType::Windows)
        } else if ["linux", "rhel", "red hat", "centos", "ubuntu", "suse", "sles", "oracle", "debian"].iter().any(|k| v.contains(k)) {
            Some(OsType::Linux)
        } else {
            None
        }
    }

    /// From the vCenter guest family (`Other` tells us nothing).
    pub fn from_guest_family(family: GuestFamily) -> Option<OsType> {
        match family {
            GuestFamily::Windows => Some(OsType::Windows),
            GuestFamily::Linux => Some(OsType::Linux),
            GuestFamily::Other => None,
        }
    }

    /// The document's default retention volume: `R:` on Windows, `/mnt/retention` on Linux.
    pub fn default_retention_volume(self) -> &'static str {
        match self {
            OsType::Windows => "R:",
            OsType::Linux => "/mnt/retention",
        }
    }

    /// Whether a retention volume spelling suits this OS: a drive letter on Windows, an absolute path on Linux.
    pub fn accepts_volume(self, volume: &str) -> bool {
        match self {
            OsType::Windows => drive_letter(volume).is_some(),
            OsType::Linux => volume.trim().starts_with('/'),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OsType::Windows => "Windows",
            OsType::Linux => "Linux",
        }
    }
}

/// The master target the machine is reprotected through.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DesiredMasterTarget {
    /// Name (or id) under which the configuration server lists the master target.
    pub name_in_asr: String,
    /// The master target VM's name in vCenter.
    pub vcenter_vm_name: String,
    /// `None`: take what the configuration server (or vCenter's guest family) reports.
    pub os_type: Option<OsType>,
    /// `None`: the OS default (`R:` / `/mnt/retention`), see [`DesiredMasterTarget::retention_volume_for`].
    pub retention_volume: Option<String>,
    /// The controller may set `disk.EnableUUID=TRUE` on the master target VM itself.
    pub allow_enable_disk_uuid: bool,
}

impl DesiredMasterTarget {
    /// The retention volume to use: the explicit one, else the default for `os`; `None` when neither is known.
    pub fn retention_volume_for(&self, os: Option<OsType>) -> Option<&str> {
        match self.retention_volume.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => Some(v),
            _ => os.map(OsType::default_retention_volume),
        }
    }
}

/// The retention volume to request for a machine: the machine's own choice, else the master target's, else the
/// policy-wide default when it suits the master target's OS (a Linux master target never gets `R:`), else the OS
/// default. `None` when nothing applies (no choice made and the OS unknown).
pub fn effective_retention_volume(
    machine_override: Option<&str>,
    policy_default: Option<&str>,
    master_target_volume: Option<&str>,
    master_target_os: Option<OsType>,
) -> Option<String> {
    let given = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    given(machine_override)
        .or_else(|| given(master_target_volume))
        .or_else(|| given(policy_default).filter(|v| master_target_os.is_none_or(|os| os.accepts_volume(v))))
        .or_else(|| master_target_os.map(|os| os.default_retention_volume().to_owned()))
}

/// Where the failed-back VM lands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum OnPremisesTarget {
    /// Recover into this existing on-premises VM (its datastores must be mounted read/write on the MT's host).
    ExistingVm(VmSelector),
    /// The on-premises VM is gone: ASR creates a new VM on the MT's ESXi host and datastore.
    #[default]
    AlternateLocation,
}

/// Another protected machine of the same replication group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupMember {
    pub machine_name: String,
    /// Kubernetes name of the MasterTarget the member will be reprotected through (for messages).
    pub master_target_name: String,
    /// That MasterTarget's `spec.asrName`: what is compared (must be the same for the whole group); empty when
    /// the MasterTarget could not be resolved.
    pub master_target_asr_name: String,
    /// The OS the member's spec declares.
    pub os_type: Option<OsType>,
    /// The OS Azure reports for the member's protected item (`osType`), used when the spec omits it.
    pub reported_os: Option<OsType>,
    /// The protected item (ASR name) the member's spec resolves to; `None` when not found.
    pub item_name: Option<String>,
}

/// A protected item that Site Recovery puts in the machine's replication group (its `multiVmGroupName`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupItem {
    /// The item's ARM name.
    pub name: String,
    /// The item's friendly name (the VM's name), for messages.
    pub friendly_name: Option<String>,
}

impl GroupItem {
    /// The name a person knows the item by.
    pub fn display_name(&self) -> &str {
        reprotect_facts::display_name(&self.name, self.friendly_name.as_deref())
    }
}

impl GroupMember {
    /// The member's OS: declared, else as Azure reports it.
    pub fn os(&self) -> Option<OsType> {
        self.os_type.or(self.reported_os)
    }
}

/// The failback (`InMage`) policy values the document states; the policy is auto-created and not editable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailbackPolicyExpectation {
    pub rpo_threshold_minutes: i32,
    pub recovery_point_retention_minutes: i32,
    pub app_consistent_frequency_minutes: i32,
}

impl Default for FailbackPolicyExpectation {
    /// RPO threshold 15 min, recovery point retention 24 h, app-consistent snapshots every 60 min.
    fn default() -> Self {
        FailbackPolicyExpectation {
            rpo_threshold_minutes: 15,
            recovery_point_retention_minutes: 24 * 60,
            app_consistent_frequency_minutes: 60,
        }
    }
}

/// The network between Azure and the on-premises site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub enum NetworkKind {
    SiteToSiteVpn,
    ExpressRoutePrivatePeering,
    /// Enough for forward replication, not for reprotect/failback.
    ExpressRoutePublicPeering,
    /// Enough for forward replication, not for reprotect/failback.
    Internet,
}

impl NetworkKind {
    /// Reprotect and failback replicate only over a S2S VPN or ExpressRoute private peering.
    pub fn carries_failback(self) -> bool {
        matches!(self, NetworkKind::SiteToSiteVpn | NetworkKind::ExpressRoutePrivatePeering)
    }

    pub fn describe(self) -> &'static str {
        match self {
            NetworkKind::SiteToSiteVpn => "site-to-site VPN",
            NetworkKind::ExpressRoutePrivatePeering => "ExpressRoute private peering",
            NetworkKind::ExpressRoutePublicPeering => "ExpressRoute public peering",
            NetworkKind::Internet => "the Internet",
        }
    }
}

/// Where the process server runs (ASR does not tell us, so the spec has to).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub enum ProcessServerLocation {
    Azure,
    OnPremises,
}

/// The desired reprotect of one machine, independent of the CRD shape.
///
/// `Default` gives the document's defaults (15-minute agent window and heartbeat age, the
/// stated failback policy, alternate location); set the rest with struct update syntax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    /// Protected item name (or friendly name) in the vault.
    pub machine_name: String,
    /// `None`: use the item's `osType`.
    pub os_type: Option<OsType>,
    pub master_target: DesiredMasterTarget,
    /// Process server friendly name or id.
    pub process_server: String,
    /// `None`: unknown, the placement advice cannot be given.
    pub process_server_location: Option<ProcessServerLocation>,
    /// Datastore name for the recovered disks (required by ASR even when the disks exist).
    pub datastore: Option<String>,
    pub on_premises: OnPremisesTarget,
    /// Replication (multi-VM consistency) group this machine is reprotected with.
    pub replication_group: Option<String>,
    /// The other members of `replication_group` (this machine excluded or included, either works).
    pub group_members: Vec<GroupMember>,
    /// The policy accepts reprotecting part of a replication group (members Azure groups but nobody declared).
    pub allow_partial_group: bool,
    /// How long after failover the mobility agent may take to register back (document: up to 15 min).
    pub agent_registration_window: SignedDuration,
    /// Oldest acceptable heartbeat of the configuration server, process server and master target.
    pub heartbeat_max_age: SignedDuration,
    pub expected_failback_policy: FailbackPolicyExpectation,
    /// The vCenter to fail back to, as the configuration server names it (name, friendly name or IP).
    pub vcenter_server: String,
    /// Master target datastores recorded when reprotect was submitted (`None` before reprotect).
    pub recorded_master_target_datastores: Option<Vec<String>>,
    /// `None`: not declared.
    pub network: Option<NetworkKind>,
    /// Run-as account (name or id) the request should use; `None`: none requested.
    pub run_as_account: Option<String>,
    /// A failback approved and not carried out yet; `None`: the machine stays reprotected to on-premises.
    pub failback: Option<DesiredFailback>,
}

/// The failback a person approved (`desiredState: ProtectedToAzure` with a new `failback.approval`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DesiredFailback {
    /// The recovery point to fail back to.
    pub recovery_point: RecoveryPointType,
}

impl Default for Desired {
    fn default() -> Self {
        Desired {
            machine_name: String::new(),
            os_type: None,
            master_target: DesiredMasterTarget::default(),
            process_server: String::new(),
            process_server_location: None,
            datastore: None,
            on_premises: OnPremisesTarget::default(),
            replication_group: None,
            group_members: Vec::new(),
            allow_partial_group: false,
            agent_registration_window: SignedDuration::from_mins(15),
            heartbeat_max_age: SignedDuration::from_mins(15),
            expected_failback_policy: FailbackPolicyExpectation::default(),
            vcenter_server: String::new(),
            recorded_master_target_datastores: None,
            network: None,
            run_as_account: None,
            failback: None,
        }
    }
}

/// One observation of vCenter and Site Recovery. Every part is optional: a failed or skipped
/// observation leaves it `None`, and the checks that need it report `Unknown`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    pub vcenter: Option<VcenterFacts>,
    /// The configuration server fabric with its process servers and master targets.
    pub fabric: Option<FabricFacts>,
    /// The protected item; `None` when not observed or not found in the vault.
    pub item: Option<ProtectedItemFacts>,
    pub policies: Option<Vec<PolicyFacts>>,
    pub discovered_vcenters: Option<Vec<DiscoveredVcenterFacts>>,
    /// The spec's friendly name matched several protected items (then `item` is `None`).
    pub ambiguous_item: Option<AmbiguousItem>,
    /// Another ProtectedMachine (`namespace/name`), created earlier, that names the same protected item.
    pub earlier_owner: Option<String>,
    /// Every protected item of the vault in the machine's replication group (this machine's included); `None`
    /// when the items were not observed or the machine is in no group.
    pub group_items: Option<Vec<GroupItem>>,
}
