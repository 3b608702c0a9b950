//! Rules about the failed-over machine in Azure: can it be reprotected at all, is its agent back, does its OS fit the master target.

use super::{Outcome, Rule, src};
use crate::preflight::Severity::Blocking;
use crate::preflight::catalog::RuleInfo;
use crate::preflight::context::Ctx;
use crate::preflight::input::OsType;
use reprotect_facts::ProtectedItemFacts;

/// The item is required by most machine rules; missing means "not observed or not in the vault".
fn with_item(c: &Ctx<'_>, f: impl FnOnce(&ProtectedItemFacts) -> Outcome) -> Outcome {
    match c.item {
        Some(item) => f(item),
        None => Outcome::unknown(format!("protected item {} not observed in the vault", c.d.machine_name)),
    }
}

fn item_name(item: &ProtectedItemFacts) -> &str {
    item.friendly_name.as_deref().unwrap_or(&item.name)
}

pub(super) const FAILBACK_POSSIBLE: Rule = Rule {
    info: RuleInfo {
        id: "failback-possible",
        severity: Blocking,
        description: "The machine can still fail back: it is in the vault and was not migrated (no failback after completing migration, moving the Azure VM to another resource group, or deleting it).",
        remedy: "Failback is impossible after completing migration, moving the Azure VM to another resource group or deleting it; protect the VM again from Azure instead. If the item exists, check the vault and protected item name.",
        source: src::OVERVIEW,
    },
    eval: |c| match c.item {
        None => Outcome::unknown(format!(
            "protected item {} not found or not observed: if migration was completed, the Azure VM moved to another resource group or deleted, it cannot fail back",
            c.d.machine_name
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
    info: RuleInfo {
        id: "failed-over",
        severity: Blocking,
        description: "The machine is failed over to Azure (active location Recovery) and ASR allows ReverseReplicate.",
        remedy: "Fail the machine over to Azure and commit the failover before reprotecting; wait for any running operation on the item to finish.",
        source: src::STEPS,
    },
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

pub(super) const CS_KNOWS_VM: Rule = Rule {
    info: RuleInfo {
        id: "cs-knows-vm",
        severity: Blocking,
        description: "The virtual machine exists in the configuration server database (otherwise failback is unsuccessful).",
        remedy: "Make sure the on-premises configuration server that protected the VM is running (restore it from backup with the same IP address if it was lost) and that the VM's mobility agent reports to it.",
        source: src::PREREQUISITES,
    },
    eval: |c| {
        with_item(c, |item| match item.vm_id.as_deref().map(str::trim) {
            Some(id) if !id.is_empty() => Outcome::pass(format!("configuration server knows {} as VM id {id}", item_name(item))),
            _ => Outcome::fail(format!("protected item {} has no VM id in the configuration server database", item_name(item))),
        })
    },
};

pub(super) const AGENT_REGISTERED: Rule = Rule {
    info: RuleInfo {
        id: "agent-registered",
        severity: Blocking,
        description: "The mobility agent registered back to the configuration server after the VM booted in Azure (can take up to 15 minutes).",
        remedy: "Check that a S2S VPN or ExpressRoute private peering connects Azure to on-premises, that the configuration server is reachable from the Azure VM on port 443 (telnet/ping), and that the process server has a heartbeat; then retry reprotect.",
        source: src::STEPS,
    },
    eval: |c| {
        with_item(c, |item| {
            let Some(failover) = item.last_successful_failover_time else {
                return Outcome::unknown(format!("protected item {}: last successful failover time not reported", item_name(item)));
            };
            if item.agent_registered_after_failover() == Some(true) {
                let hb = item.agent_last_heartbeat.map_or_else(String::new, |hb| format!(" (last heartbeat {hb})"));
                return Outcome::pass(format!("mobility agent of {} registered after failover at {failover}{hb}", item_name(item)));
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
    info: RuleInfo {
        id: "unsupported-source",
        severity: Blocking,
        description: "The machine is not a Windows Server 2008 R2 SP1 server protected as a physical server (those cannot fail back).",
        remedy: "A Windows Server 2008 R2 SP1 server protected as a physical server cannot be failed back to on-premises; plan a migration or rebuild instead.",
        source: src::PROBLEMS,
    },
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
    info: RuleInfo {
        id: "os-match",
        severity: Blocking,
        description: "A Windows VM uses a Windows master target and a Linux VM a Linux master target.",
        remedy: "Choose a master target of the VM's OS family (install a Linux master target for Linux VMs).",
        source: src::FAQ_MASTER_TARGET,
    },
    eval: |c| {
        let machine = c.machine_os;
        let mt = c.mt_os;
        match (machine, mt) {
            (Some(vm), Some(m)) if vm == m => {
                Outcome::pass(format!("{} is {} and master target {} is {}", c.d.machine_name, vm.as_str(), c.mt_name(), m.as_str()))
            }
            (Some(vm), Some(m)) => {
                Outcome::fail(format!("{} is {} but master target {} is {}", c.d.machine_name, vm.as_str(), c.mt_name(), m.as_str()))
                    .remedy(format!("Use a {} master target for {}.", vm.as_str(), c.d.machine_name))
            }
            (vm, m) => Outcome::unknown(format!(
                "OS unknown for {}: machine {}, master target {}",
                c.d.machine_name,
                vm.map_or("unknown", OsType::as_str),
                m.map_or("unknown", OsType::as_str)
            )),
        }
    },
};
