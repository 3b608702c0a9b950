//! Typed rule ids and what each rule is about, so callers match rules by value instead of by string or prefix.
//!
//! The kebab-case spelling ([`RuleId::as_str`], `Display`, serde) is an API: it is the `id` of every check in
//! status, in the `checks` output and in the README, and must not change.

use super::Severity;
use serde::Serialize;
use std::fmt;

/// What a rule is about: which object a person has to look at, and which reconciler reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Subject {
    /// The protected machine: its item in Azure, its on-premises VM, the datastore chosen for it.
    Machine,
    /// The master target: its registration, VM, ESXi host and retention volume (reported on MasterTarget too).
    MasterTarget,
    /// The replication group the machine is reprotected with.
    Group,
    /// Shared infrastructure: configuration and process servers, network, vCenter, policies, accounts.
    Infrastructure,
    /// The way home: what a failback needs of the reprotected item (checked only when a failback is approved; it
    /// never holds back a reprotect).
    Failback,
}

macro_rules! rule_ids {
    ($($variant:ident = $id:literal, $subject:ident;)+) => {
        /// Every rule's id, in catalog order.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum RuleId {
            $(#[doc = concat!("`", $id, "`")] $variant,)+
        }

        impl RuleId {
            /// Every id, in catalog order.
            pub const ALL: &'static [RuleId] = &[$(RuleId::$variant,)+];

            /// The stable kebab-case id, e.g. `mt-no-snapshots`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(RuleId::$variant => $id,)+
                }
            }

            /// What the rule is about.
            pub const fn subject(self) -> Subject {
                match self {
                    $(RuleId::$variant => Subject::$subject,)+
                }
            }
        }
    };
}

rule_ids! {
    CsHeartbeat = "cs-heartbeat", Infrastructure;
    PsHeartbeat = "ps-heartbeat", Infrastructure;
    PsPlacement = "ps-placement", Infrastructure;
    ReplicationNetwork = "replication-network", Infrastructure;
    VcenterDiscovered = "vcenter-discovered", Infrastructure;
    VcenterPermissions = "vcenter-permissions", Infrastructure;
    RunAsAccount = "run-as-account", Infrastructure;
    EsxiEdition = "esxi-edition", MasterTarget;
    ItemUnique = "item-unique", Machine;
    ItemOwner = "item-owner", Machine;
    VmUnambiguous = "vm-unambiguous", Machine;
    FailbackPossible = "failback-possible", Machine;
    FailedOver = "failed-over", Machine;
    SupportedProvider = "supported-provider", Machine;
    CsKnowsVm = "cs-knows-vm", Machine;
    AgentRegistered = "agent-registered", Machine;
    UnsupportedSource = "unsupported-source", Machine;
    OsMatch = "os-match", Machine;
    MtHeartbeat = "mt-heartbeat", MasterTarget;
    MtAsrHealth = "mt-asr-health", MasterTarget;
    MtVmFound = "mt-vm-found", MasterTarget;
    MtVmwareTools = "mt-vmware-tools", MasterTarget;
    MtDiskEnableUuid = "mt-disk-enable-uuid", MasterTarget;
    MtNoSnapshots = "mt-no-snapshots", MasterTarget;
    MtScsiController = "mt-scsi-controller", MasterTarget;
    MtVmfsDatastore = "mt-vmfs-datastore", MasterTarget;
    MtStorageVmotion = "mt-storage-vmotion", MasterTarget;
    RetentionVolume = "retention-volume", MasterTarget;
    DatastoreSpecified = "datastore-specified", Machine;
    DatastoreType = "datastore-type", Machine;
    DatastoreVisible = "datastore-visible", Machine;
    DatastoreWritable = "datastore-writable", Machine;
    VmDatastoreAccess = "vm-datastore-access", Machine;
    AlternateLocation = "alternate-location", Machine;
    DiskUuidUnique = "disk-uuid-unique", Machine;
    VmSnapshotsMerged = "vm-snapshots-merged", Machine;
    VmPoweredOff = "vm-powered-off", Machine;
    GroupRecoveryPlan = "group-recovery-plan", Group;
    GroupComplete = "group-complete", Group;
    GroupSameMasterTarget = "group-same-master-target", Group;
    GroupOsMatch = "group-os-match", Group;
    FailbackPolicy = "failback-policy", Infrastructure;
    LinuxFailbackNotes = "linux-failback-notes", Machine;
    FbItemHealthy = "fb-item-healthy", Failback;
    FbRpoWithinThreshold = "fb-rpo-within-threshold", Failback;
    FbRecoveryPoint = "fb-recovery-point", Failback;
}

impl RuleId {
    /// The id a kebab-case string names (as found in a status written earlier); `None` for an unknown id.
    pub fn parse(id: &str) -> Option<RuleId> {
        RuleId::ALL.iter().copied().find(|r| r.as_str() == id)
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl PartialEq<RuleId> for str {
    fn eq(&self, other: &RuleId) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<RuleId> for std::borrow::Cow<'_, str> {
    fn eq(&self, other: &RuleId) -> bool {
        self.as_ref() == other.as_str()
    }
}

/// What the catalog says about one rule (the `checks` subcommand prints these).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleInfo {
    /// Typed id; its kebab-case form is also the `id` of its [`super::CheckResult`].
    pub id: RuleId,
    /// What the rule is about (always `id.subject()`).
    pub subject: Subject,
    /// Severity of a failure (a result may be milder, e.g. a remediable one).
    pub severity: Severity,
    /// What the rule verifies.
    pub description: &'static str,
    /// The generic remedy (results may carry a more specific one).
    pub remedy: &'static str,
    /// Section of the source document.
    pub source: &'static str,
}

impl RuleInfo {
    /// A catalog entry; the subject comes from the id so the two cannot disagree.
    pub(crate) const fn new(
        id: RuleId,
        severity: Severity,
        description: &'static str,
        remedy: &'static str,
        source: &'static str,
    ) -> RuleInfo {
        RuleInfo { id, subject: id.subject(), severity, description, remedy, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_id_displays_and_parses_as_its_kebab_case_string() {
        assert_eq!(RuleId::MtNoSnapshots.to_string(), "mt-no-snapshots");
        assert_eq!(RuleId::parse("mt-no-snapshots"), Some(RuleId::MtNoSnapshots));
        assert_eq!(RuleId::parse("no-such-rule"), None);
        assert_eq!(serde_json::to_string(&RuleId::OsMatch).ok().as_deref(), Some("\"os-match\""));
        assert!(*"os-match" == RuleId::OsMatch);
        assert!(std::borrow::Cow::Borrowed("os-match") == RuleId::OsMatch);
    }

    #[test]
    fn master_target_rules_are_the_mt_ones_plus_retention_and_esxi_edition() {
        let mt: Vec<&str> = RuleId::ALL.iter().filter(|r| r.subject() == Subject::MasterTarget).map(|r| r.as_str()).collect();
        assert!(mt.iter().all(|id| id.starts_with("mt-") || *id == "retention-volume" || *id == "esxi-edition"), "{mt:?}");
        assert_eq!(mt.len(), RuleId::ALL.iter().filter(|r| r.as_str().starts_with("mt-")).count() + 2);
    }
}
