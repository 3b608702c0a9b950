//! Master target rules: registration, and the VM's configuration, datastores and placement in vCenter.

use super::{Outcome, Rule, list, src, with_mt_vm};
use crate::preflight::Severity::{Blocking, Info, Warning};
use crate::preflight::context::{Ctx, Seen, human};
use crate::preflight::ids::{RuleId, RuleInfo};
use reprotect_facts::is_vmfs_or_vsan;

pub(super) const MT_HEARTBEAT: Rule = Rule {
    info: RuleInfo::new(
        RuleId::MtHeartbeat,
        Blocking,
        "The master target is registered with the configuration server and its heartbeat is fresh.",
        "Install or re-register the master target with the configuration server and make sure its services run; on an alternate vCenter, make sure the master target is discovered.",
        src::PREREQUISITES,
    ),
    eval: mt_heartbeat,
};

fn mt_heartbeat(c: &Ctx<'_>) -> Outcome {
    let mt = match c.mt_asr {
        Seen::Found(mt) => mt,
        Seen::Unobserved => {
            return Outcome::unknown(format!("configuration server fabric not observed; cannot see master target {}", c.mt_name()));
        }
        Seen::Missing => {
            let known: Vec<&str> = c.fabric.map(|f| f.master_targets.iter().map(|m| m.name.as_str()).collect()).unwrap_or_default();
            return Outcome::fail(format!(
                "master target {} is not registered with the configuration server (registered: {})",
                c.mt_name(),
                list(&known, 5)
            ));
        }
    };
    match mt.last_heartbeat {
        None => Outcome::fail(format!("master target {} has no heartbeat recorded by the configuration server", mt.name)),
        Some(hb) if !c.fresh(hb) => {
            Outcome::fail(format!("master target {} last heartbeat {hb} is older than {}", mt.name, human(c.d.heartbeat_max_age)))
        }
        // Not the time itself: it moves every few minutes and would rewrite every machine's status.
        Some(_) => Outcome::pass(format!("master target {} sent a heartbeat within the last {}", mt.name, human(c.d.heartbeat_max_age))),
    }
}

pub(super) const MT_ASR_HEALTH: Rule = Rule {
    info: RuleInfo::new(
        RuleId::MtAsrHealth,
        Warning,
        "The configuration server reports no validation or health errors for the master target (they mirror the master target prerequisites).",
        "Follow the recommended action of the error the configuration server reports for the master target.",
        src::MT_CHECKS,
    ),
    eval: |c| {
        let mt = match c.mt_asr {
            Seen::Found(mt) => mt,
            Seen::Unobserved => return Outcome::unknown("configuration server fabric not observed"),
            Seen::Missing => {
                return Outcome::unknown(format!("master target {} is not registered, so it has no health report", c.mt_name()));
            }
        };
        let mut issues = mt.validation_errors.iter().chain(&mt.health_errors);
        let Some(first) = issues.next() else {
            return Outcome::pass(format!("configuration server reports no errors for master target {}", mt.name));
        };
        let what = first.message.as_deref().or(first.code.as_deref()).unwrap_or("unspecified error");
        let out = Outcome::fail(format!("master target {}: {what} (+{} more)", mt.name, issues.count()));
        match first.recommended_action.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            Some(action) => out.remedy(action.to_owned()),
            None => out,
        }
    },
};

pub(super) const MT_VM_FOUND: Rule = Rule {
    info: RuleInfo::new(
        RuleId::MtVmFound,
        Blocking,
        "The master target VM exists in the target vCenter (every other master target check needs it).",
        "Check the master target's VM name in the spec and that the vCenter account can see it.",
        src::MT_CHECKS,
    ),
    eval: |c| match c.mt_vm {
        Seen::Found(vm) => Outcome::pass(format!("master target VM {} is {} in vCenter {}", vm.name, vm.moref, c.d.vcenter_server)),
        Seen::Missing => {
            Outcome::fail(format!("master target VM {} not found in vCenter {}", c.d.master_target.vcenter_vm_name, c.d.vcenter_server))
        }
        Seen::Unobserved => Outcome::unknown(format!("vCenter {} not observed", c.d.vcenter_server)),
    },
};

pub(super) const MT_VMWARE_TOOLS: Rule = Rule {
    info: RuleInfo::new(
        RuleId::MtVmwareTools,
        Blocking,
        "VMware Tools are installed and running on the master target (without them its host's datastores cannot be detected).",
        "Install VMware Tools on the master target VM and make sure they are running.",
        src::MT_CHECKS,
    ),
    eval: |c| {
        with_mt_vm(c, |vm| {
            let status = vm.tools.status.as_deref().unwrap_or("unreported");
            match vm.tools.installed_and_running() {
                Some(true) => Outcome::pass(format!("master target VM {}: VMware Tools {status}, running", vm.name)),
                Some(false) => Outcome::fail(format!(
                    "master target VM {}: VMware Tools {status}, {}",
                    vm.name,
                    vm.tools.running_status.as_deref().unwrap_or("unreported")
                )),
                None => Outcome::unknown(format!("master target VM {}: VMware Tools status not reported", vm.name)),
            }
        })
    },
};

pub(super) const MT_DISK_ENABLE_UUID: Rule = Rule {
    info: RuleInfo::new(
        RuleId::MtDiskEnableUuid,
        Blocking,
        "disk.EnableUUID=true is set in the master target VM's configuration parameters, so VMDKs get a consistent UUID and mount correctly.",
        "In vCenter, edit the master target VM's configuration parameters: add or set disk.EnableUUID = TRUE (or allow the controller to do it).",
        src::PREREQUISITES,
    ),
    eval: |c| {
        with_mt_vm(c, |vm| {
            let observed = match vm.disk_enable_uuid {
                Some(true) => return Outcome::pass(format!("master target VM {}: disk.EnableUUID=TRUE", vm.name)),
                Some(false) => "FALSE",
                None => "absent",
            };
            if c.d.master_target.allow_enable_disk_uuid {
                // Not a blocker: the reconciler sets it before reprotect and re-checks.
                Outcome::fail(format!("master target VM {}: disk.EnableUUID is {observed}; the controller will set it to TRUE", vm.name))
                    .severity(Warning)
                    .remediable()
                    .remedy("None needed: the controller sets disk.EnableUUID=TRUE on the master target VM (remediation is allowed).")
            } else {
                Outcome::fail(format!("master target VM {}: disk.EnableUUID is {observed}", vm.name))
            }
        })
    },
};

pub(super) const MT_NO_SNAPSHOTS: Rule = Rule {
    info: RuleInfo::new(
        RuleId::MtNoSnapshots,
        Blocking,
        "The master target VM has no snapshots (with snapshots, reprotect and failback fail).",
        "Delete all snapshots of the master target VM in vCenter, then retry.",
        src::MT_CHECKS,
    ),
    eval: |c| {
        with_mt_vm(c, |vm| match vm.snapshot_count {
            Some(0) => Outcome::pass(format!("master target VM {} has no snapshots", vm.name)),
            Some(n) => Outcome::fail(format!("master target VM {} has {n} snapshot(s)", vm.name)),
            None => Outcome::unknown(format!("master target VM {}: snapshot tree not reported", vm.name)),
        })
    },
};

pub(super) const MT_SCSI_CONTROLLER: Rule = Rule {
    info: RuleInfo::new(
        RuleId::MtScsiController,
        Blocking,
        "The master target has an LSI Logic SCSI controller and no Paravirtual one.",
        "Replace the master target's Paravirtual SCSI controller with an LSI Logic (or LSI Logic SAS) controller.",
        src::MT_CHECKS,
    ),
    eval: |c| {
        with_mt_vm(c, |vm| {
            let Some(controllers) = vm.scsi_controllers.as_deref() else {
                return Outcome::unknown(format!("master target VM {}: SCSI controllers not reported", vm.name));
            };
            let lower = |s: &String| s.to_ascii_lowercase();
            let paravirtual = controllers.iter().map(lower).any(|s| s.contains("paravirtual"));
            let lsi = controllers.iter().map(lower).any(|s| s.contains("lsilogic"));
            let shown = list(controllers, 4);
            match (paravirtual, lsi) {
                (false, true) => Outcome::pass(format!("master target VM {}: SCSI controllers {shown}", vm.name)),
                (true, _) => Outcome::fail(format!("master target VM {} has a Paravirtual SCSI controller ({shown})", vm.name)),
                (false, false) => Outcome::fail(format!("master target VM {} has no LSI Logic SCSI controller ({shown})", vm.name)),
            }
        })
    },
};

pub(super) const MT_VMFS_DATASTORE: Rule = Rule {
    info: RuleInfo::new(
        RuleId::MtVmfsDatastore,
        Blocking,
        "At least one accessible, mounted VMFS or vSAN datastore is attached to the master target's ESXi host (else the Datastore input stays empty).",
        "Attach a VMFS (or vSAN) datastore to the master target's ESXi host and make sure it is mounted and accessible; NFS datastores cannot be used for failback.",
        src::MT_CHECKS,
    ),
    eval: |c| {
        // Prefer vCenter's view of the host; fall back to what the configuration server lists for the master target.
        if let Some(host) = c.mt_host {
            let usable = host.datastores.iter().filter(|d| d.is_usable() && d.is_vmfs_or_vsan()).count();
            let types: Vec<String> = host
                .datastores
                .iter()
                .map(|d| format!("{} ({}{})", d.name, d.datastore_type, if d.is_usable() { "" } else { ", inaccessible" }))
                .collect();
            return if usable > 0 {
                Outcome::pass(format!("host {}: {usable} accessible VMFS/vSAN datastore(s) of {}", host.name, host.datastores.len()))
            } else {
                Outcome::fail(format!(
                    "host {} of master target {} has no accessible VMFS/vSAN datastore: {}",
                    host.name,
                    c.mt_name(),
                    list(&types, 5)
                ))
            };
        }
        match c.mt_asr {
            Seen::Found(mt) if mt.datastores.iter().any(|d| d.datastore_type.as_deref().is_some_and(is_vmfs_or_vsan)) => {
                Outcome::pass(format!("configuration server lists a VMFS/vSAN datastore for master target {}", mt.name))
            }
            _ => Outcome::unknown(format!("the ESXi host of master target {} was not observed in vCenter", c.mt_name())),
        }
    },
};

pub(super) const MT_STORAGE_VMOTION: Rule = Rule {
    info: RuleInfo::new(
        RuleId::MtStorageVmotion,
        Blocking,
        "The master target still uses the datastores recorded at reprotect time (no Storage vMotion of the master target).",
        "Exclude the master target from Storage vMotion/Storage DRS. If it was moved, migrate it back to the recorded datastores before failback, or find the protected VM's disks manually and attach them to the on-premises VM.",
        src::MT_CHECKS,
    ),
    eval: |c| {
        let Some(recorded) = c.d.recorded_master_target_datastores.as_deref().filter(|r| !r.is_empty()) else {
            return Outcome::pass(format!(
                "nothing recorded yet for master target {}; keep it out of Storage vMotion and Storage DRS",
                c.mt_name()
            ))
            .severity(Info);
        };
        with_mt_vm(c, |vm| {
            // After reprotect the protected VM's disks are attached to the master target, so new datastores are
            // expected; a Storage vMotion shows as a recorded datastore the master target no longer uses.
            let disk_datastores = vm.disks.iter().flatten().filter_map(|d| d.datastore.as_deref());
            let current: Vec<&str> = vm.datastores.iter().map(String::as_str).chain(disk_datastores).collect();
            if current.is_empty() {
                return Outcome::unknown(format!("master target VM {}: datastores of its disks not reported", vm.name));
            }
            // Recorded values are morefs; accept names too (resolved through the host's datastore list).
            let in_use = |recorded: &str| {
                current.iter().any(|ds| {
                    ds.eq_ignore_ascii_case(recorded)
                        || c.mt_host.is_some_and(|h| h.datastores.iter().any(|d| d.moref == *ds && d.name.eq_ignore_ascii_case(recorded)))
                })
            };
            let left: Vec<&str> = recorded.iter().map(String::as_str).filter(|r| !in_use(r)).collect();
            if left.is_empty() {
                Outcome::pass(format!("master target VM {} is still on the recorded datastores ({})", vm.name, list(recorded, 4)))
            } else {
                let mut now_on = current.clone();
                now_on.sort_unstable();
                now_on.dedup();
                Outcome::fail(format!(
                    "master target VM {} no longer uses recorded datastore(s) {} (now on {}): Storage vMotion?",
                    vm.name,
                    list(&left, 4),
                    list(&now_on, 4)
                ))
            }
        })
    },
};
