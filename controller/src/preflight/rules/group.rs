//! Replication group and policy rules, plus the notes about what failback changes on Linux.

use super::{Outcome, Rule, list, src};
use crate::preflight::Severity::{Blocking, Info, Warning};
use crate::preflight::chosen_failback_policy;
use crate::preflight::context::Ctx;
use crate::preflight::ids::{RuleId, RuleInfo};
use crate::preflight::input::OsType;
use reprotect_facts::{ChosenFailbackPolicy, FailbackPolicyError};

/// The item's replication group, when it has one.
fn item_group<'a>(c: &Ctx<'a>) -> Option<&'a str> {
    c.item?.multi_vm_group_name.as_deref().map(str::trim).filter(|g| !g.is_empty())
}

/// Whether the machine is reprotected as part of a group: `None` when it cannot be told.
fn in_group(c: &Ctx<'_>) -> Option<bool> {
    match (c.d.replication_group.as_deref(), c.item) {
        (Some(_), _) => Some(true),
        (None, Some(_)) => Some(item_group(c).is_some()),
        (None, None) => None,
    }
}

/// The outcome of a group rule for a machine outside any group (pass) or whose item is unobserved (unknown);
/// `None` when the machine is in a group and the rule has to look further.
fn outside_any_group(c: &Ctx<'_>) -> Option<Outcome> {
    match in_group(c) {
        None => {
            Some(Outcome::unknown(format!("protected item {} not observed; cannot tell whether it is in a replication group", c.machine())))
        }
        Some(false) => Some(Outcome::pass(format!("{} is not in a replication group", c.machine()))),
        Some(true) => None,
    }
}

pub(super) const GROUP_RECOVERY_PLAN: Rule = Rule {
    info: RuleInfo::new(
        RuleId::GroupRecoveryPlan,
        Blocking,
        "A machine in a replication group is reprotected through a recovery plan with values for every protected machine of the group.",
        "Declare the replication group and every member machine (with its master target, process server, datastore and retention drive) so the group is reprotected together through a recovery plan.",
        src::STEPS,
    ),
    eval: |c| match (c.d.replication_group.as_deref(), item_group(c)) {
        (None, None) if c.item.is_none() => {
            Outcome::unknown(format!("protected item {} not observed; cannot tell whether it is in a replication group", c.machine()))
        }
        (None, None) => Outcome::pass(format!("{} is not in a replication group", c.machine())),
        (None, Some(g)) => Outcome::fail(format!("{} is in replication group {g} but the spec reprotects it alone", c.machine())),
        (Some(want), Some(g)) if !want.eq_ignore_ascii_case(g) => {
            Outcome::fail(format!("spec names replication group {want} but {} is in group {g}", c.machine()))
        }
        (Some(want), _) if c.d.group_members.is_empty() => {
            Outcome::fail(format!("replication group {want} has no member values in the spec"))
        }
        (Some(want), _) => {
            Outcome::pass(format!("replication group {want} reprotected with {} member(s) declared", c.d.group_members.len()))
        }
    },
};

pub(super) const GROUP_COMPLETE: Rule = Rule {
    info: RuleInfo::new(
        RuleId::GroupComplete,
        Blocking,
        "Every protected item that Site Recovery puts in the replication group is declared by a ProtectedMachine, so the whole group is reprotected together with a common point in time.",
        "Declare a ProtectedMachine for every member of the group (see the names listed), or set the policy's allowPartialGroups to reprotect part of it knowingly.",
        src::STEPS,
    ),
    eval: |c| {
        if let Some(outcome) = outside_any_group(c) {
            return outcome;
        }
        let group = item_group(c).or(c.d.replication_group.as_deref()).unwrap_or("(unnamed)");
        let Some(items) = c.o.group_items.as_ref() else {
            return Outcome::unknown(format!("the protected items of replication group {group} were not observed"));
        };
        // This machine's own item counts as declared, whatever its members list says.
        let own = c.item.map(|i| i.name.as_str());
        let declared = |name: &str| {
            own.is_some_and(|o| o.eq_ignore_ascii_case(name))
                || c.d.group_members.iter().any(|m| m.item_name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        };
        let missing: Vec<&str> = items.iter().filter(|i| !declared(&i.name)).map(|i| i.display_name()).collect();
        if missing.is_empty() {
            return Outcome::pass(format!("all {} member(s) Site Recovery has in group {group} are declared", items.len()));
        }
        let message = format!(
            "Site Recovery has {} in group {group} but no ProtectedMachine declares {}: the group would be reprotected partially, without a common point in time",
            list(&missing, 4),
            if missing.len() == 1 { "it" } else { "them" }
        );
        if c.d.allow_partial_group {
            Outcome::fail(format!("{message} (allowed by the policy's allowPartialGroups)")).severity(Warning)
        } else {
            Outcome::fail(message)
        }
    },
};

pub(super) const GROUP_SAME_MASTER_TARGET: Rule = Rule {
    info: RuleInfo::new(
        RuleId::GroupSameMasterTarget,
        Blocking,
        "Every machine of a replication group uses the same master target (otherwise there is no common point in time).",
        "Use the same master target for every machine of the replication group.",
        src::STEPS,
    ),
    eval: |c| {
        if let Some(outcome) = outside_any_group(c) {
            return outcome;
        }
        let group = c.d.replication_group.as_deref().or(item_group(c)).unwrap_or("(unnamed)");
        if c.d.group_members.is_empty() {
            return Outcome::unknown(format!("members of replication group {group} not declared, so their master targets are unknown"));
        }
        let mt = c.d.master_target.name_in_asr.as_str();
        let unresolved: Vec<&str> =
            c.d.group_members.iter().filter(|m| m.master_target_asr_name.trim().is_empty()).map(|m| m.machine_name.as_str()).collect();
        let others: Vec<String> =
            c.d.group_members
                .iter()
                .filter(|m| !m.master_target_asr_name.trim().is_empty() && !m.master_target_asr_name.trim().eq_ignore_ascii_case(mt))
                .map(|m| format!("{} uses MasterTarget {} (ASR name {})", m.machine_name, m.master_target_name, m.master_target_asr_name))
                .collect();
        if !others.is_empty() {
            Outcome::fail(format!("group {group} must use master target {mt} (ASR name) throughout: {}", list(&others, 4)))
        } else if !unresolved.is_empty() {
            Outcome::unknown(format!("the master target of group member(s) {} could not be resolved to its ASR name", list(&unresolved, 4)))
                .remedy("Make sure every member's MasterTarget exists in the namespace (spec.masterTargetRef or the policy default).")
        } else {
            Outcome::pass(format!("all {} member(s) of group {group} use master target {mt} (ASR name)", c.d.group_members.len()))
        }
    },
};

pub(super) const GROUP_OS_MATCH: Rule = Rule {
    info: RuleInfo::new(
        RuleId::GroupOsMatch,
        Blocking,
        "Every member of the replication group has the master target's OS family (one master target serves the whole group).",
        "Split Windows and Linux machines into separate replication groups, each with a master target of its OS family.",
        src::FAQ_MASTER_TARGET,
    ),
    eval: |c| {
        if let Some(outcome) = outside_any_group(c) {
            return outcome;
        }
        let Some(mt_os) = c.mt_os else {
            return Outcome::unknown(format!("OS of master target {} unknown", c.mt_name()));
        };
        let mismatched: Vec<String> =
            c.d.group_members
                .iter()
                .filter_map(|m| m.os().filter(|os| *os != mt_os).map(|os| format!("{} ({})", m.machine_name, os.as_str())))
                .collect();
        let unknown: Vec<&str> = c.d.group_members.iter().filter(|m| m.os().is_none()).map(|m| m.machine_name.as_str()).collect();
        if !mismatched.is_empty() {
            Outcome::fail(format!("master target {} is {} but group members {} are not", c.mt_name(), mt_os.as_str(), list(&mismatched, 4)))
        } else if !unknown.is_empty() {
            Outcome::unknown(format!("OS of group members {} neither declared nor reported by Azure", list(&unknown, 4)))
        } else {
            Outcome::pass(format!("all group members are {} like master target {}", mt_os.as_str(), c.mt_name()))
        }
    },
};

pub(super) const FAILBACK_POLICY: Rule = Rule {
    info: RuleInfo::new(
        RuleId::FailbackPolicy,
        Blocking,
        "The InMage failback policy that the reprotect request will use (created with the item's forward policy and associated with the configuration server) exists, with RPO threshold 15 min, retention 24 h, app-consistent snapshots every 60 min.",
        "Create a forward replication policy for the configuration server: the failback policy is created and associated automatically and cannot be edited.",
        src::FAILBACK_POLICY,
    ),
    eval: |c| {
        let Some(chosen) = chosen_failback_policy(c.o) else {
            return Outcome::unknown("replication policies not observed");
        };
        let ChosenFailbackPolicy { policy, basis } = match chosen {
            Ok(chosen) => chosen,
            Err(e @ FailbackPolicyError::Ambiguous { .. }) => {
                return Outcome::fail(e.to_string())
                    .remedy("Make sure the item's forward policy has its failback policy (<forward>-failback); the request cannot tell which InMage policy belongs to this configuration server.");
            }
            Err(e) => return Outcome::fail(e.to_string()),
        };
        let name = policy.friendly_name.as_deref().unwrap_or(&policy.name);
        let name = format!("{name} ({})", basis.describe());
        let e = c.d.expected_failback_policy;
        let values = [
            ("RPO threshold", policy.rpo_threshold_minutes, e.rpo_threshold_minutes),
            ("recovery point retention", policy.recovery_point_history_minutes, e.recovery_point_retention_minutes),
            ("app-consistent frequency", policy.app_consistent_frequency_minutes, e.app_consistent_frequency_minutes),
        ];
        let missing: Vec<&str> = values.iter().filter(|v| v.1.is_none()).map(|v| v.0).collect();
        let differing: Vec<String> = values
            .iter()
            .filter_map(|(what, got, want)| got.filter(|g| g != want).map(|g| format!("{what} {g} min (expected {want})")))
            .collect();
        if !differing.is_empty() {
            Outcome::fail(format!("failback policy {name}: {}", differing.join(", ")))
                .severity(Warning)
                .remedy("The failback policy is not editable; check that the right configuration server's policy is used, or adjust the expected values.")
        } else if !missing.is_empty() {
            Outcome::unknown(format!("failback policy {name}: {} not reported", list(&missing, 3))).severity(Warning)
        } else {
            Outcome::pass(format!(
                "failback policy {name}: RPO {} min, retention {} min, app-consistent {} min",
                e.rpo_threshold_minutes, e.recovery_point_retention_minutes, e.app_consistent_frequency_minutes
            ))
        }
    },
};

pub(super) const LINUX_FAILBACK_NOTES: Rule = Rule {
    info: RuleInfo::new(
        RuleId::LinuxFailbackNotes,
        Info,
        "After failback a Linux VM lacks the Network Manager package (removed in Azure) and keeps using DHCP instead of its static IP.",
        "After failback, sign in to the Linux VM, reinstall Network Manager if you need it and set the static IP address again.",
        src::PROBLEMS,
    ),
    eval: |c| match c.machine_os {
        Some(OsType::Linux) => Outcome::fail(format!(
            "{} is Linux: after failback Network Manager is uninstalled and the IP address comes from DHCP",
            c.machine()
        )),
        Some(OsType::Windows) => Outcome::pass(format!("{} is Windows: it reacquires its static IP after failback", c.machine())),
        None => Outcome::unknown(format!("OS of {} unknown", c.machine())),
    },
};
