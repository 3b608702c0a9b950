//! Datastore and on-premises VM rules: the datastore input, the existing VM's storage, disk UUIDs and where a new VM lands.

use super::{Outcome, Rule, list, src};
use crate::preflight::Severity::{Blocking, Info, Warning};
use crate::preflight::context::{Ctx, Seen, Target};
use crate::preflight::ids::{RuleId, RuleInfo};
use reprotect_facts::{DatastoreFacts, DatastoreKind, PowerState, VmFacts, VmSelector};

fn datastore<'a>(c: &Ctx<'a>) -> Option<&'a str> {
    c.d.datastore.as_deref().map(str::trim).filter(|d| !d.is_empty())
}

/// Run `f` on the existing on-premises VM; alternate location or a missing VM make the rule not applicable.
fn with_existing_vm(c: &Ctx<'_>, what: &str, f: impl FnOnce(&VmFacts) -> Outcome) -> Outcome {
    match c.target {
        Target::Alternate => Outcome::pass(format!("not applicable: recovering to an alternate location, {what}")),
        Target::Existing { selector, vm: Seen::Unobserved } => {
            Outcome::unknown(format!("on-premises VM {} not observed in vCenter", selector_name(selector)))
        }
        Target::Existing { selector, vm: Seen::Missing } => {
            Outcome::pass(format!("not applicable: on-premises VM {} not found, a new VM would be created", selector_name(selector)))
        }
        Target::Existing { vm: Seen::Found(vm), .. } => f(vm),
    }
}

fn selector_name(s: &VmSelector) -> &str {
    match s {
        VmSelector::Name(n) | VmSelector::MoRef(n) | VmSelector::Uuid(n) => n,
    }
}

pub(super) const DATASTORE_SPECIFIED: Rule = Rule {
    info: RuleInfo::new(
        RuleId::DatastoreSpecified,
        Blocking,
        "A datastore for the recovered disks is specified (ASR ignores it when the disks exist, but a value is still required).",
        "Set the datastore in the spec: one of the master target's VMFS/vSAN datastores (for an alternate location, the datastore configured for the master target).",
        src::STEPS,
    ),
    eval: |c| match datastore(c) {
        Some(ds) => Outcome::pass(format!("datastore {ds} specified for {}", c.machine())),
        None => Outcome::fail(format!("no datastore specified for {}", c.machine())),
    },
};

/// The desired datastore as the master target's host sees it (by name or moref).
fn host_datastore<'a>(c: &Ctx<'a>, ds: &str) -> Option<&'a DatastoreFacts> {
    c.mt_host?.datastores.iter().find(|d| d.name.eq_ignore_ascii_case(ds) || d.moref == ds)
}

pub(super) const DATASTORE_TYPE: Rule = Rule {
    info: RuleInfo::new(
        RuleId::DatastoreType,
        Blocking,
        "The chosen datastore is VMFS or vSAN; NFS datastores (NFS, NFS41) are not supported for failback, and any other type is not known to work.",
        "Choose a VMFS or vSAN datastore; if there is none, create a VMFS datastore on-premises and fail back to it (this causes a full download of the VMDK).",
        src::FAQ_DATASTORE,
    ),
    eval: |c| {
        let Some(ds) = datastore(c) else {
            return Outcome::unknown("no datastore specified, so its type cannot be checked");
        };
        // vCenter's summary.type first, then the type the configuration server reports.
        let asr_type = || c.mt_asr.found()?.datastore(ds)?.datastore_type.as_deref();
        let (kind, seen_by) = match host_datastore(c, ds) {
            Some(d) => (Some(d.datastore_type.as_str()), "vCenter"),
            None => (asr_type(), "the configuration server"),
        };
        let Some(t) = kind else {
            return Outcome::unknown(format!(
                "type of datastore {ds} unknown: not seen on host {} nor reported by the configuration server",
                c.mt_host_name()
            ));
        };
        match DatastoreKind::classify(t) {
            k if k.is_supported() => Outcome::pass(format!("datastore {ds} is {t} ({seen_by})")),
            DatastoreKind::Nfs => Outcome::fail(format!("datastore {ds} is {t} ({seen_by}): NFS is not supported for failback")),
            _ => Outcome::unknown(format!("datastore {ds} is of type {t:?} ({seen_by}), which is not known to support failback"))
                .remedy("Choose a VMFS or vSAN datastore: only those are supported for failback."),
        }
    },
};

pub(super) const DATASTORE_WRITABLE: Rule = Rule {
    info: RuleInfo::new(
        RuleId::DatastoreWritable,
        Blocking,
        "The chosen datastore is mounted, accessible and writable on the master target's ESXi host (otherwise reprotect fails with error 8061).",
        "Mount the chosen datastore with read/write access on the master target's ESXi host and make sure it is accessible (not in maintenance, not disconnected), or choose another datastore of that host.",
        src::MT_CHECKS,
    ),
    eval: |c| {
        let Some(ds) = datastore(c) else {
            return Outcome::unknown("no datastore specified, so its access cannot be checked");
        };
        let Some(host) = c.mt_host else {
            return Outcome::unknown(format!("ESXi host of master target {} not observed; datastore {ds} unverified", c.mt_name()));
        };
        let Some(d) = host_datastore(c, ds) else {
            return Outcome::fail(format!("datastore {ds} is not attached to host {} of master target {}", host.name, c.mt_name()));
        };
        match d.writable() {
            Ok(Some(())) => Outcome::pass(format!("datastore {} is mounted read/write and accessible on host {}", d.name, host.name)),
            Ok(None) => Outcome::unknown(format!("access mode of datastore {} on host {} not reported", d.name, host.name)),
            Err(problem) => {
                Outcome::fail(format!("datastore {} on host {} of master target {}: {problem}", d.name, host.name, c.mt_name()))
            }
        }
    },
};

pub(super) const DATASTORE_VISIBLE: Rule = Rule {
    info: RuleInfo::new(
        RuleId::DatastoreVisible,
        Blocking,
        "The chosen datastore is listed for the master target by the configuration server (what the Reprotect dialog offers).",
        "If no datastores are listed, update the vCenter credentials on the configuration server with an account that has the required permissions (a read-only discovery hides them), make sure the (alternate) vCenter and master target are discovered and VMware Tools run on the master target; NFS datastores are never listed.",
        src::PROBLEMS,
    ),
    eval: |c| {
        let Some(ds) = datastore(c) else {
            return Outcome::unknown("no datastore specified, so its visibility cannot be checked");
        };
        let mt = match c.mt_asr {
            Seen::Found(mt) => mt,
            Seen::Unobserved => return Outcome::unknown(format!("configuration server fabric not observed; datastore {ds} unverified")),
            Seen::Missing => {
                return Outcome::unknown(format!("master target {} is not registered, so its datastores are unknown", c.mt_name()));
            }
        };
        if let Some(listed) = mt.datastore(ds) {
            Outcome::pass(format!("datastore {} is listed for master target {}", listed.symbolic_name, mt.name))
        } else if mt.datastores.is_empty() {
            Outcome::fail(format!(
                "the configuration server lists no datastores for master target {} (read-only vCenter discovery?)",
                mt.name
            ))
        } else {
            let listed: Vec<&str> = mt.datastores.iter().map(|d| d.symbolic_name.as_str()).collect();
            Outcome::fail(format!("datastore {ds} is not listed for master target {} (listed: {})", mt.name, list(&listed, 5)))
        }
    },
};

pub(super) const VM_DATASTORE_ACCESS: Rule = Rule {
    info: RuleInfo::new(
        RuleId::VmDatastoreAccess,
        Blocking,
        "The existing on-premises VM's datastores are mounted read/write and accessible on the master target's ESXi host.",
        "Mount the on-premises VM's datastores with read/write access on the master target's ESXi host.",
        src::MT_CHECKS,
    ),
    eval: |c| {
        with_existing_vm(c, "no existing VMDK to write to", |vm| {
            let Some(host) = c.mt_host else {
                return Outcome::unknown(format!("ESXi host of master target {} not observed", c.mt_name()));
            };
            if vm.datastores.is_empty() {
                return Outcome::unknown(format!("datastores of on-premises VM {} not reported", vm.name));
            }
            let mut problems = Vec::new();
            let mut unknown = Vec::new();
            for moref in &vm.datastores {
                match host.datastores.iter().find(|d| &d.moref == moref) {
                    None => problems.push(format!("{moref} not mounted")),
                    Some(d) => match d.writable() {
                        Ok(Some(())) => {}
                        Ok(None) => unknown.push(d.name.as_str()),
                        Err(problem) => problems.push(format!("{} {problem}", d.name)),
                    },
                }
            }
            if !problems.is_empty() {
                Outcome::fail(format!("on-premises VM {} datastores on host {}: {}", vm.name, host.name, list(&problems, 4)))
            } else if !unknown.is_empty() {
                Outcome::unknown(format!("access mode of {} on host {} not reported", list(&unknown, 4), host.name))
            } else {
                Outcome::pass(format!("on-premises VM {} datastores are mounted read/write on host {}", vm.name, host.name))
            }
        })
    },
};

pub(super) const ALTERNATE_LOCATION: Rule = Rule {
    info: RuleInfo::new(
        RuleId::AlternateLocation,
        Info,
        "Where the failed-back VM lands: the existing VM, or a new VM on the master target's ESXi host and datastore.",
        "Create the master target on the ESXi host where the failed-back VM should run; to recover into an existing VM, check its name in the spec.",
        src::MT_CHECKS,
    ),
    eval: |c| {
        let ds = datastore(c).unwrap_or("(no datastore specified)");
        match c.target {
            Target::Alternate => match c.mt_host {
                Some(h) => Outcome::pass(format!("a new VM {} will be created on ESXi host {} on datastore {ds}", c.machine(), h.name)),
                None => Outcome::unknown(format!(
                    "a new VM {} will be created on the master target's ESXi host (not observed) on datastore {ds}",
                    c.machine()
                )),
            },
            Target::Existing { selector, vm: Seen::Found(vm) } => {
                Outcome::pass(format!("recovering into existing on-premises VM {} ({}) selected by {}", vm.name, vm.moref, selector.key()))
            }
            Target::Existing { selector, vm: Seen::Missing } => Outcome::fail(format!(
                "on-premises VM {} not found in vCenter {}: recovery would create a new VM on ESXi host {} on datastore {ds}",
                selector_name(selector),
                c.d.vcenter_server,
                c.mt_host_name()
            ))
            .severity(Warning),
            Target::Existing { selector, vm: Seen::Unobserved } => {
                Outcome::unknown(format!("on-premises VM {} not observed in vCenter", selector_name(selector)))
            }
        }
    },
};

/// vSphere prints disk UUIDs with varying case and separators; compare only the hex digits.
fn uuid_key(u: &str) -> String {
    u.chars().filter(char::is_ascii_hexdigit).map(|c| c.to_ascii_lowercase()).collect()
}

pub(super) const DISK_UUID_UNIQUE: Rule = Rule {
    info: RuleInfo::new(
        RuleId::DiskUuidUnique,
        Blocking,
        "The on-premises VM's disk UUIDs differ from the master target's (VMs cloned from the same template clash).",
        "Deploy another master target that was not created from the same template as the on-premises VM.",
        src::PROBLEMS,
    ),
    eval: |c| {
        with_existing_vm(c, "no disk UUIDs to compare", |vm| {
            let Some(mt) = c.mt_vm.found() else {
                return Outcome::unknown(format!("master target VM {} not observed", c.d.master_target.vcenter_vm_name));
            };
            let (Some(vm_disks), Some(mt_disks)) = (vm.disks.as_deref(), mt.disks.as_deref()) else {
                return Outcome::unknown(format!("disks of on-premises VM {} or master target {} not reported", vm.name, mt.name));
            };
            let mt_uuids: Vec<String> = mt_disks.iter().filter_map(|d| d.uuid.as_deref()).map(uuid_key).collect();
            let clashes: Vec<&str> =
                vm_disks.iter().filter_map(|d| d.uuid.as_deref()).filter(|u| mt_uuids.contains(&uuid_key(u))).collect();
            if clashes.is_empty() {
                Outcome::pass(format!("disk UUIDs of {} and master target {} are distinct", vm.name, mt.name))
            } else {
                Outcome::fail(format!(
                    "on-premises VM {} shares disk UUID {} with master target {} (same template?)",
                    vm.name,
                    list(&clashes, 2),
                    mt.name
                ))
            }
        })
    },
};

pub(super) const VM_SNAPSHOTS_MERGED: Rule = Rule {
    info: RuleInfo::new(
        RuleId::VmSnapshotsMerged,
        Info,
        "Snapshots on the existing on-premises VM are merged automatically during reprotect.",
        "Nothing to do: the reprotect job merges the on-premises VM's snapshots; delete them first if you want to keep control.",
        src::PREREQUISITES,
    ),
    eval: |c| {
        with_existing_vm(c, "no snapshots to merge", |vm| match vm.snapshot_count {
            Some(0) => Outcome::pass(format!("on-premises VM {} has no snapshots", vm.name)),
            Some(n) => Outcome::fail(format!("on-premises VM {} has {n} snapshot(s); reprotect will merge them", vm.name)),
            None => Outcome::unknown(format!("snapshots of on-premises VM {} not reported", vm.name)),
        })
    },
};

pub(super) const VM_POWERED_OFF: Rule = Rule {
    info: RuleInfo::new(
        RuleId::VmPoweredOff,
        Info,
        "The on-premises VM is turned off during reprotect and must stay off afterwards (data consistency).",
        "Let reprotect turn the on-premises VM off and do not turn it on after reprotection finishes.",
        src::STEPS,
    ),
    eval: |c| {
        with_existing_vm(c, "no VM to turn off", |vm| match &vm.power_state {
            Some(PowerState::PoweredOff) => Outcome::pass(format!("on-premises VM {} is powered off", vm.name)),
            Some(state) => {
                Outcome::fail(format!("on-premises VM {} is {state:?}; it will be turned off during reprotect and must stay off", vm.name))
            }
            None => Outcome::unknown(format!("power state of on-premises VM {} not reported", vm.name)),
        })
    },
};
