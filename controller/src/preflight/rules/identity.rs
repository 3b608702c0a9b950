//! Rules about identity: the controller acts on one item and one VM, never on a guess (a name vCenter allows twice,
//! an item another ProtectedMachine already owns).

use super::{Outcome, Rule, list, src};
use crate::preflight::Severity::Blocking;
use crate::preflight::context::Target;
use crate::preflight::ids::{RuleId, RuleInfo};

pub(super) const VM_UNAMBIGUOUS: Rule = Rule {
    info: RuleInfo::new(
        RuleId::VmUnambiguous,
        Blocking,
        "Every VM the controller may act on (the on-premises VM, the master target VM) is named by exactly one VM in vCenter.",
        "vCenter allows the same VM name twice (in other folders or datacenters). Select the on-premises VM by spec.existingVm.managedObjectId (e.g. vm-42), or rename the VM that is not the one; the controller never powers off or reprotects a VM it had to guess.",
        src::STEPS,
    ),
    eval: |c| {
        let Some(vc) = c.vcenter else { return Outcome::unknown("vCenter not observed, so VM names cannot be checked") };
        let mut ambiguous: Vec<String> = Vec::new();
        if let Target::Existing { selector, .. } = c.target
            && let Some(morefs) = vc.ambiguous_vms.get(&selector.key())
        {
            ambiguous.push(format!("on-premises VM {} matches {} VMs ({})", selector.key(), morefs.len(), list(morefs, 4)));
        }
        let mt_key = reprotect_facts::VmSelector::Name(c.d.master_target.vcenter_vm_name.clone()).key();
        if let Some(morefs) = vc.ambiguous_vms.get(&mt_key) {
            ambiguous.push(format!(
                "master target VM {} matches {} VMs ({})",
                c.d.master_target.vcenter_vm_name,
                morefs.len(),
                list(morefs, 4)
            ));
        }
        if ambiguous.is_empty() {
            Outcome::pass("each VM the controller may act on is one VM in vCenter")
        } else {
            Outcome::fail(format!("{}: {}", c.machine(), ambiguous.join("; ")))
        }
    },
};

pub(super) const ITEM_OWNER: Rule = Rule {
    info: RuleInfo::new(
        RuleId::ItemOwner,
        Blocking,
        "No other ProtectedMachine (in any watched namespace) that was created earlier names the same protected item.",
        "Two ProtectedMachines name the same protected item; only the older one acts. Delete this one, or point it at the item it was meant for.",
        src::STEPS,
    ),
    eval: |c| match (&c.o.earlier_owner, c.item) {
        (Some(owner), _) => {
            Outcome::fail(format!("{} names the same protected item as ProtectedMachine {owner}, which owns it", c.machine()))
        }
        (None, Some(item)) => Outcome::pass(format!("{} is the only ProtectedMachine for item {}", c.machine(), item.name)),
        (None, None) => Outcome::unknown(format!("protected item {} not observed, so its owner cannot be checked", c.machine())),
    },
};
