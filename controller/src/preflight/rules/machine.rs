//! Rules about the failed-over machine in Azure: can it be reprotected at all, is its agent back, does its OS fit the master target.

use super::{Outcome, Rule, list, src};
use crate::preflight::Severity::Blocking;
use crate::preflight::context::{Ctx, Seen, Target};
use crate::preflight::ids::{RuleId, RuleInfo};
use crate::preflight::input::OsType;
use reprotect_facts::{ProtectedItemFacts, SUPPORTED_PROVIDERS};

/// The item is required by most machine rules; missing means "not observed or not in the vault".
fn with_item(c: &Ctx<'_>, f: impl FnOnce(&ProtectedItemFacts) -> Outcome) -> Outcome {
    match c.item {
        Some(item) => f(item),
        None => Outcome::unknown(format!("protected item {} not observed in the vault", c.machine())),
    }
}

fn item_name(item: &ProtectedItemFacts) -> &str {
    item.display_name()
}

pub(super) const ITEM_UNIQUE: Rule = Rule {
    info: RuleInfo::new(
        RuleId::ItemUnique,
        Blocking,
        "The spec names exactly one protected item (a friendly name shared by several items is ambiguous).",
        "Name the protected item by its item name (spec.item.name), which is unique in the vault, instead of the shared friendly name.",
        src::STEPS,
    ),
    eval: |c| match &c.o.ambiguous_item {
        Some(a) => Outcome::fail(format!(
            "{} is ambiguous: friendly name {} matches {} protected items ({})",
            c.machine(),
            a.friendly_name,
            a.candidates.len(),
            list(&a.candidates, 4)
        )),
        None => match c.item {
            Some(item) => Outcome::pass(format!("{} is protected item {}", c.machine(), item.name)),
            None => Outcome::unknown(format!("protected item {} not observed, so its name cannot be matched", c.machine())),
        },
    },
};

pub(super) const FAILBACK_POSSIBLE: Rule = Rule {
    info: RuleInfo::new(
        RuleId::FailbackPossible,
        Blocking,
        "The machine can still fail back: it is in the vault and was not migrated (no failback after completing migration, moving the Azure VM to another resource group, or deleting it).",
        "Failback is impossible after completing migration, moving the Azure VM to another resource group or deleting it; protect the VM again from Azure instead. If the item exists, check the vault and protected item name.",
        src::OVERVIEW,
    ),
    eval: |c| match c.item {
        None => Outcome::unknown(format!(
            "protected item {} not found or not observed: if migration was completed, the Azure VM moved to another resource group or deleted, it cannot fail back",
            c.machine()
        )),
        Some(item) => {
            let state = item.protection_state.as_deref().unwrap_or("unreported");
            if state.to_ascii_lowercase().contains("migrat") {
                Outcome::fail(format!(
                    "protected item {} is in state {state}: migration completed, failback is not possible",
                    item_name(item)
                ))
            } else {
                Outcome::pass(format!("protected item {} is in the vault (state {state})", item_name(item)))
            }
        }
    },
};

pub(super) const FAILED_OVER: Rule = Rule {
    info: RuleInfo::new(
        RuleId::FailedOver,
        Blocking,
        "The machine is failed over to Azure (active location Recovery) and ASR allows ReverseReplicate.",
        "Fail the machine over to Azure and commit the failover before reprotecting; wait for any running operation on the item to finish.",
        src::STEPS,
    ),
    eval: |c| {
        with_item(c, |item| {
            let state = item.protection_state.as_deref().unwrap_or("unreported");
            let Some(location) = item.active_location.as_deref() else {
                return Outcome::unknown(format!("protected item {}: active location not reported (state {state})", item_name(item)));
            };
            if location.eq_ignore_ascii_case("Recovery") && item.can_reverse_replicate() {
                Outcome::pass(format!(
                    "protected item {} is failed over (active location {location}, state {state}), ReverseReplicate allowed",
                    item_name(item)
                ))
            } else if item.is_protected_in_reverse() {
                Outcome::pass(format!("protected item {} is already reprotected (state {state})", item_name(item)))
            } else {
                let scenario = item.current_scenario.as_ref().and_then(|s| s.scenario_name.as_deref()).unwrap_or("none");
                Outcome::fail(format!(
                    "protected item {}: active location {location}, state {state}, ReverseReplicate {}allowed, running operation {scenario}",
                    item_name(item),
                    if item.can_reverse_replicate() { "" } else { "not " }
                ))
            }
        })
    },
};

pub(super) const SUPPORTED_PROVIDER: Rule = Rule {
    info: RuleInfo::new(
        RuleId::SupportedProvider,
        Blocking,
        "The item replicates with a provider this controller can reprotect (InMageAzureV2, or InMage once reprotected); newer providers are not handled.",
        "Reprotect this machine from the Azure portal: its replication provider is not one this controller knows (it handles the classic VMware-to-Azure provider InMageAzureV2).",
        src::OVERVIEW,
    ),
    eval: |c| {
        with_item(c, |item| match (item.provider.as_deref(), item.provider_supported()) {
            (Some(p), Some(true)) => Outcome::pass(format!("protected item {} replicates with {p}", item_name(item))),
            (Some(p), _) => Outcome::fail(format!(
                "protected item {} replicates with provider {p}, which this controller does not support (supported: {})",
                item_name(item),
                SUPPORTED_PROVIDERS.join(", ")
            )),
            (None, _) => Outcome::unknown(format!("protected item {}: replication provider not reported", item_name(item))),
        })
    },
};

pub(super) const CS_KNOWS_VM: Rule = Rule {
    info: RuleInfo::new(
        RuleId::CsKnowsVm,
        Blocking,
        "The virtual machine exists in the configuration server database (otherwise failback is unsuccessful).",
        "Make sure the on-premises configuration server that protected the VM is running (restore it from backup with the same IP address if it was lost) and that the VM's mobility agent reports to it.",
        src::PREREQUISITES,
    ),
    eval: |c| {
        with_item(c, |item| match item.vm_id.as_deref().map(str::trim) {
            Some(id) if !id.is_empty() => Outcome::pass(format!("configuration server knows {} as VM id {id}", item_name(item))),
            // An unknown provider's details are not read, so its VM id is unknown rather than missing (see supported-provider).
            _ if item.provider_supported() == Some(false) => Outcome::unknown(format!(
                "protected item {}: VM id not read for provider {}",
                item_name(item),
                item.provider.as_deref().unwrap_or_default()
            ))
            .remedy("See supported-provider: this controller cannot reprotect items of this replication provider."),
            _ => Outcome::fail(format!("protected item {} has no VM id in the configuration server database", item_name(item))),
        })
    },
};

pub(super) const AGENT_REGISTERED: Rule = Rule {
    info: RuleInfo::new(
        RuleId::AgentRegistered,
        Blocking,
        "The mobility agent registered back to the configuration server after the VM booted in Azure (can take up to 15 minutes).",
        "Check that a S2S VPN or ExpressRoute private peering connects Azure to on-premises, that the configuration server is reachable from the Azure VM on port 443 (telnet/ping), and that the process server has a heartbeat; then retry reprotect.",
        src::STEPS,
    ),
    eval: |c| {
        with_item(c, |item| {
            let Some(failover) = item.last_successful_failover_time else {
                return Outcome::unknown(format!("protected item {}: last successful failover time not reported", item_name(item)));
            };
            if item.agent_registered_after_failover() == Some(true) {
                // Not the agent's last heartbeat: it moves with every read and would rewrite the status each pass.
                return Outcome::pass(format!("mobility agent of {} registered after failover at {failover}", item_name(item)));
            }
            let deadline = failover.checked_add(c.d.agent_registration_window).unwrap_or(failover);
            if c.now < deadline {
                Outcome::unknown(format!(
                    "mobility agent of {} not registered yet; waiting until {deadline} (it can take up to 15 minutes after boot)",
                    item_name(item)
                ))
                .remedy("Wait: after the VM boots in Azure the agent takes up to 15 minutes to register back to the configuration server.")
            } else {
                Outcome::fail(format!(
                    "mobility agent of {} has not registered since failover at {failover} (deadline {deadline})",
                    item_name(item)
                ))
            }
        })
    },
};

pub(super) const UNSUPPORTED_SOURCE: Rule = Rule {
    info: RuleInfo::new(
        RuleId::UnsupportedSource,
        Blocking,
        "The machine is not a Windows Server 2008 R2 SP1 server protected as a physical server (those cannot fail back).",
        "A Windows Server 2008 R2 SP1 server protected as a physical server cannot be failed back to on-premises; plan a migration or rebuild instead.",
        src::PROBLEMS,
    ),
    eval: |c| {
        with_item(c, |item| {
            let Some(discovery) = item.discovery_type.as_deref() else {
                return Outcome::unknown(format!("protected item {}: discovery type not reported", item_name(item)));
            };
            if !discovery.to_ascii_lowercase().contains("physical") {
                return Outcome::pass(format!("protected item {} was discovered via {discovery}", item_name(item)));
            }
            match item.os_name.as_deref() {
                None => {
                    Outcome::unknown(format!("protected item {} is a physical server and its OS name is not reported", item_name(item)))
                }
                Some(os) if os.to_ascii_lowercase().contains("2008 r2") => {
                    Outcome::fail(format!("protected item {} is {os} protected as a physical server", item_name(item)))
                }
                Some(os) => Outcome::pass(format!("protected item {} is {os} protected as a physical server", item_name(item))),
            }
        })
    },
};

pub(super) const OS_MATCH: Rule = Rule {
    info: RuleInfo::new(
        RuleId::OsMatch,
        Blocking,
        "The machine (as declared and as Azure reports it), the master target (as declared and as the configuration server reports it) and an existing on-premises VM (vCenter guest OS) are all Windows or all Linux.",
        "Choose a master target of the VM's OS family (install a Linux master target for Linux VMs); fix a MasterTarget or machine osType that contradicts what Azure or vCenter report.",
        src::FAQ_MASTER_TARGET,
    ),
    eval: os_match,
};

fn os_match(c: &Ctx<'_>) -> Outcome {
    let item_os = c.item.and_then(|i| i.os_type.as_deref()).and_then(OsType::parse);
    let vm_os = match c.target {
        Target::Existing { vm: Seen::Found(vm), .. } => vm.guest_family.and_then(OsType::from_guest_family).map(|os| (vm, os)),
        _ => None,
    };
    let machine = [(c.d.os_type, "declared"), (item_os, "in Azure")];
    let master = [(c.d.master_target.os_type, "declared"), (c.mt_os_asr, "per the configuration server")];
    let seen = |sides: &[(Option<OsType>, &str)]| -> Vec<String> {
        sides.iter().filter_map(|(os, how)| os.map(|os| format!("{} {how}", os.as_str()))).collect()
    };
    let (machine_seen, master_seen) = (seen(&machine), seen(&master));
    let mut all: Vec<OsType> = machine.iter().chain(&master).filter_map(|(os, _)| *os).collect();
    all.extend(vm_os.map(|(_, os)| os));
    let mut text = format!(
        "{} is {}, master target {} is {}",
        c.machine(),
        if machine_seen.is_empty() { "unknown".to_owned() } else { machine_seen.join(" / ") },
        c.mt_name(),
        if master_seen.is_empty() { "unknown".to_owned() } else { master_seen.join(" / ") },
    );
    if let Some((vm, os)) = vm_os {
        text.push_str(&format!(", on-premises VM {} is {} in vCenter", vm.name, os.as_str()));
    }
    let first = all.first().copied();
    if all.iter().any(|os| Some(*os) != first) {
        let remedy = match (c.d.master_target.os_type, c.mt_os_asr) {
            (Some(spec), Some(asr)) if spec != asr => format!(
                "Master target {} is declared {} but the configuration server reports {}: fix the MasterTarget's osType or use the right master target.",
                c.mt_name(),
                spec.as_str(),
                asr.as_str()
            ),
            _ => format!("Use a master target and an on-premises VM of the same OS family as {}.", c.machine()),
        };
        return Outcome::fail(text).remedy(remedy);
    }
    if machine_seen.is_empty() || master_seen.is_empty() {
        return Outcome::unknown(format!("OS unknown: {text}"));
    }
    Outcome::pass(text)
}
