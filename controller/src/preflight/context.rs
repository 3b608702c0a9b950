//! The evaluation context: lookups resolved once per machine so every rule reads them without searching again.

use super::input::{Desired, Observed, OnPremisesTarget, OsType};
use jiff::{SignedDuration, Timestamp};
use reprotect_facts::{
    FabricFacts, HostFacts, MasterTargetServerFacts, ProcessServerFacts, ProtectedItemFacts, VcenterFacts, VmFacts, VmSelector,
};

/// A looked-up object: the observation may be missing, or present and say the object does not exist.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Seen<T> {
    /// The part of the observation that would contain it is missing.
    Unobserved,
    /// Observed, and it is not there.
    Missing,
    Found(T),
}

impl<T: Copy> Seen<T> {
    pub(crate) fn found(&self) -> Option<T> {
        match self {
            Seen::Found(t) => Some(*t),
            _ => None,
        }
    }
}

/// The on-premises failback target.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target<'a> {
    Alternate,
    Existing { selector: &'a VmSelector, vm: Seen<&'a VmFacts> },
}

/// Per-machine lookups shared by all rules.
pub(crate) struct Ctx<'a> {
    pub d: &'a Desired,
    pub o: &'a Observed,
    pub now: Timestamp,
    pub fabric: Option<&'a FabricFacts>,
    pub vcenter: Option<&'a VcenterFacts>,
    pub item: Option<&'a ProtectedItemFacts>,
    /// The master target as the configuration server lists it.
    pub mt_asr: Seen<&'a MasterTargetServerFacts>,
    pub ps: Seen<&'a ProcessServerFacts>,
    /// The master target VM in vCenter.
    pub mt_vm: Seen<&'a VmFacts>,
    pub mt_host: Option<&'a HostFacts>,
    pub target: Target<'a>,
    /// Machine OS: the spec's, else the item's `osType`.
    pub machine_os: Option<OsType>,
    /// Master target OS as the configuration server reports it.
    pub mt_os_asr: Option<OsType>,
    /// Master target OS: the configuration server's (what it really runs), else the spec's, else vCenter's guest family.
    pub mt_os: Option<OsType>,
}

impl<'a> Ctx<'a> {
    /// The machine as a person knows it, for messages: the item's friendly name once observed (the spec may name
    /// the item by its ARM name, often a GUID), else what the spec says.
    pub(crate) fn machine(&self) -> &'a str {
        self.item.map_or(self.d.machine_name.as_str(), |i| i.display_name())
    }

    pub(crate) fn new(d: &'a Desired, o: &'a Observed, now: Timestamp) -> Ctx<'a> {
        let fabric = o.fabric.as_ref();
        let vcenter = o.vcenter.as_ref();
        let item = o.item.as_ref();
        let mt_asr = match fabric {
            None => Seen::Unobserved,
            Some(f) => f.master_target(&d.master_target.name_in_asr).map_or(Seen::Missing, Seen::Found),
        };
        let ps = match fabric {
            None => Seen::Unobserved,
            Some(f) => f.process_server(&d.process_server).map_or(Seen::Missing, Seen::Found),
        };
        // The reconciler always asks vCenter for the master target, so an observation without it means "not found".
        // A name that matches several VMs selects none: unobserved (the `vm-unambiguous` rule says why), not missing.
        let ambiguous = |v: &VcenterFacts, sel: &VmSelector| v.ambiguous_vms.contains_key(&sel.key());
        let mt_selector = VmSelector::Name(d.master_target.vcenter_vm_name.clone());
        let mt_vm = match vcenter {
            None => Seen::Unobserved,
            Some(v) if ambiguous(v, &mt_selector) => Seen::Unobserved,
            Some(v) => v.master_target.as_ref().map_or(Seen::Missing, Seen::Found),
        };
        let mt_host = vcenter.and_then(|v| v.master_target_host.as_ref());
        let target = match &d.on_premises {
            OnPremisesTarget::AlternateLocation => Target::Alternate,
            OnPremisesTarget::ExistingVm(selector) => {
                // Key absent: not asked for; key present with `None`: vCenter has no such VM.
                let vm = match vcenter.map(|v| (ambiguous(v, selector), v.on_premises_vms.get(&selector.key()))) {
                    None | Some((true, _)) | Some((false, None)) => Seen::Unobserved,
                    Some((false, Some(None))) => Seen::Missing,
                    Some((false, Some(Some(vm)))) => Seen::Found(vm),
                };
                Target::Existing { selector, vm }
            }
        };
        let machine_os = d.os_type.or_else(|| item.and_then(|i| i.os_type.as_deref()).and_then(OsType::parse));
        let mt_os_asr = mt_asr.found().and_then(|m| m.os_type.as_deref()).and_then(OsType::parse);
        let mt_os = mt_os_asr
            .or(d.master_target.os_type)
            .or_else(|| mt_vm.found().and_then(|vm| vm.guest_family).and_then(OsType::from_guest_family));
        Ctx { d, o, now, fabric, vcenter, item, mt_asr, ps, mt_vm, mt_host, target, machine_os, mt_os_asr, mt_os }
    }

    /// Age of a heartbeat relative to `now` (negative when the clock of the reporter is ahead).
    pub(crate) fn age(&self, at: Timestamp) -> SignedDuration {
        self.now.duration_since(at)
    }

    /// Whether a heartbeat is recent enough.
    pub(crate) fn fresh(&self, at: Timestamp) -> bool {
        self.age(at) <= self.d.heartbeat_max_age
    }

    /// The master target's display name for messages.
    pub(crate) fn mt_name(&self) -> &'a str {
        let name = self.d.master_target.name_in_asr.as_str();
        if name.is_empty() { self.d.master_target.vcenter_vm_name.as_str() } else { name }
    }

    /// The retention volume the checks verify: the explicit one, else the default for the master target's OS.
    pub(crate) fn retention_volume(&self) -> Option<&'a str> {
        self.d.master_target.retention_volume_for(self.mt_os)
    }

    /// The master target's ESXi host name, or a placeholder.
    pub(crate) fn mt_host_name(&self) -> &'a str {
        self.mt_host.map_or("(unobserved host)", |h| h.name.as_str())
    }
}

/// Human form of a duration for messages: `3m 20s`, `2h 5m`.
pub(crate) fn human(d: SignedDuration) -> String {
    let secs = d.as_secs().unsigned_abs();
    let sign = if d.is_negative() { "-" } else { "" };
    match secs {
        s if s < 60 => format!("{sign}{s}s"),
        s if s < 3600 => format!("{sign}{}m {}s", s / 60, s % 60),
        s => format!("{sign}{}h {}m", s / 3600, (s % 3600) / 60),
    }
}
