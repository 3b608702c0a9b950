//! The rule table: every rule's catalog entry and evaluation function, in the order results are reported.

mod datastore;
mod failback;
mod group;
mod identity;
mod infrastructure;
mod machine;
mod master_target;
mod retention;

use super::context::{Ctx, Seen};
use super::ids::RuleInfo;
use super::{CheckResult, Severity, Status};
use reprotect_facts::VmFacts;
use std::borrow::Cow;

/// Source-document sections cited by the rules.
pub(crate) mod src {
    pub const OVERVIEW: &str = "Overview";
    pub const PREREQUISITES: &str = "Prerequisites";
    pub const FAQ_NETWORK: &str =
        "FAQ: Why do I need a S2S VPN or an ExpressRoute connection to replicate data back to the on-premises site?";
    pub const FAQ_PROCESS_SERVER: &str = "FAQ: When should I install a process server in Azure?";
    pub const FAQ_MASTER_TARGET: &str = "FAQ: Which master target server should I use for reprotection?";
    pub const FAQ_DATASTORE: &str = "FAQ: What datastore types are supported on the on-premises ESXi host during failback?";
    pub const MT_CHECKS: &str = "Common things to check after completing installation of the master target server";
    pub const FAILBACK_POLICY: &str = "Failback policy";
    pub const STEPS: &str = "Steps to reprotect";
    pub const PROBLEMS: &str = "Common problems";
    pub const NEXT_STEPS: &str = "Next steps";
}

/// A rule: what the catalog says about it, and how to evaluate it.
pub(crate) struct Rule {
    pub info: RuleInfo,
    pub eval: fn(&Ctx<'_>) -> Outcome,
}

impl Rule {
    pub(crate) fn run(&self, ctx: &Ctx<'_>) -> CheckResult {
        let out = (self.eval)(ctx);
        // A passing check needs no remedy; otherwise the rule's specific remedy wins over the catalog's.
        let remedy = match (out.status, out.remedy) {
            (Status::Pass, _) => Cow::Borrowed(""),
            (_, Some(r)) => Cow::Owned(r),
            (_, None) => Cow::Borrowed(self.info.remedy),
        };
        CheckResult {
            id: Cow::Borrowed(self.info.id.as_str()),
            severity: out.severity.unwrap_or(self.info.severity),
            status: out.status,
            message: out.message,
            remedy,
            source: Cow::Borrowed(self.info.source),
            remediable: out.remediable,
        }
    }
}

/// What a rule function returns; the runner adds id, source and the catalog defaults.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub status: Status,
    pub message: String,
    /// Overrides the catalog severity (e.g. a remediable failure is only a warning).
    pub severity: Option<Severity>,
    /// Overrides the catalog remedy with something more specific.
    pub remedy: Option<String>,
    pub remediable: bool,
}

impl Outcome {
    fn new(status: Status, message: impl Into<String>) -> Outcome {
        Outcome { status, message: message.into(), severity: None, remedy: None, remediable: false }
    }
    pub fn pass(message: impl Into<String>) -> Outcome {
        Outcome::new(Status::Pass, message)
    }
    pub fn fail(message: impl Into<String>) -> Outcome {
        Outcome::new(Status::Fail, message)
    }
    pub fn unknown(message: impl Into<String>) -> Outcome {
        Outcome::new(Status::Unknown, message)
    }
    pub fn severity(mut self, severity: Severity) -> Outcome {
        self.severity = Some(severity);
        self
    }
    pub fn remedy(mut self, remedy: impl Into<String>) -> Outcome {
        self.remedy = Some(remedy.into());
        self
    }
    pub fn remediable(mut self) -> Outcome {
        self.remediable = true;
        self
    }
}

/// Run `f` on the master target VM, or say why it could not be inspected.
pub(crate) fn with_mt_vm(c: &Ctx<'_>, f: impl FnOnce(&VmFacts) -> Outcome) -> Outcome {
    match c.mt_vm {
        Seen::Found(vm) => f(vm),
        Seen::Unobserved => Outcome::unknown(format!(
            "vCenter {} was not observed, so master target VM {} could not be inspected",
            c.d.vcenter_server, c.d.master_target.vcenter_vm_name
        )),
        Seen::Missing => Outcome::unknown(format!(
            "master target VM {} was not found in vCenter {}, so it could not be inspected",
            c.d.master_target.vcenter_vm_name, c.d.vcenter_server
        )),
    }
}

/// Join at most `max` items for a message, noting how many were left out.
pub(crate) fn list<S: AsRef<str>>(items: &[S], max: usize) -> String {
    if items.is_empty() {
        return "none".to_owned();
    }
    let mut out = items.iter().take(max).map(AsRef::as_ref).collect::<Vec<_>>().join(", ");
    if items.len() > max {
        out.push_str(&format!(" (+{} more)", items.len() - max));
    }
    out
}

/// Every rule in report order: the infrastructure first (nothing else works without it), then the
/// machine in Azure, the master target, datastores and the on-premises VM, the group, notes, then what an approved
/// failback needs.
pub(crate) static ALL: &[Rule] = &[
    infrastructure::CS_HEARTBEAT,
    infrastructure::PS_HEARTBEAT,
    infrastructure::PS_PLACEMENT,
    infrastructure::REPLICATION_NETWORK,
    infrastructure::VCENTER_DISCOVERED,
    infrastructure::VCENTER_PERMISSIONS,
    infrastructure::RUN_AS_ACCOUNT,
    infrastructure::ESXI_EDITION,
    machine::ITEM_UNIQUE,
    identity::ITEM_OWNER,
    identity::VM_UNAMBIGUOUS,
    machine::FAILBACK_POSSIBLE,
    machine::FAILED_OVER,
    machine::SUPPORTED_PROVIDER,
    machine::CS_KNOWS_VM,
    machine::AGENT_REGISTERED,
    machine::UNSUPPORTED_SOURCE,
    machine::OS_MATCH,
    master_target::MT_HEARTBEAT,
    master_target::MT_ASR_HEALTH,
    master_target::MT_VM_FOUND,
    master_target::MT_VMWARE_TOOLS,
    master_target::MT_DISK_ENABLE_UUID,
    master_target::MT_NO_SNAPSHOTS,
    master_target::MT_SCSI_CONTROLLER,
    master_target::MT_VMFS_DATASTORE,
    master_target::MT_STORAGE_VMOTION,
    retention::RETENTION_VOLUME,
    datastore::DATASTORE_SPECIFIED,
    datastore::DATASTORE_TYPE,
    datastore::DATASTORE_VISIBLE,
    datastore::DATASTORE_WRITABLE,
    datastore::VM_DATASTORE_ACCESS,
    datastore::ALTERNATE_LOCATION,
    datastore::DISK_UUID_UNIQUE,
    datastore::VM_SNAPSHOTS_MERGED,
    datastore::VM_POWERED_OFF,
    group::GROUP_RECOVERY_PLAN,
    group::GROUP_COMPLETE,
    group::GROUP_SAME_MASTER_TARGET,
    group::GROUP_OS_MATCH,
    group::FAILBACK_POLICY,
    group::LINUX_FAILBACK_NOTES,
    failback::FB_ITEM_HEALTHY,
    failback::FB_RPO_WITHIN_THRESHOLD,
    failback::FB_RECOVERY_POINT,
];
