//! The Protected phase: the watchdog's risks to failback (and the power-off it may ask for) and the replication health.

use super::decide::{Action, Decision, decision};
use super::decide_input::Input;
use crate::conditions::ConditionSpec;
use crate::crd::condition_types as ct;
use crate::crd::{Mode, Phase};
use crate::reasons;
use reprotect_facts::ProtectedItemFacts;

pub(super) fn protected(input: &Input<'_>, item: &ProtectedItemFacts) -> Decision {
    let mut d = decision(
        Phase::Protected,
        reasons::PROTECTED,
        // Not naming the item: the same message for every protected machine is one interned condition shape for
        // all of them (issue 13); the machine's status names its item (`protectedItemId`).
        "Replicating from Azure to on-premises",
        input.watchdog_interval,
    );
    let mut risks = input.watchdog.master_target_risks.clone();
    if input.watchdog.on_premises_vm_powered_on {
        risks.push("the on-premises VM is powered on while protected; it must stay off until failback".into());
        if input.power_off_on_premises_vm && input.mode == Mode::Apply {
            d.action = input.powered_on_vm.as_ref().map(|vm| Action::PowerOff(vm.selector()));
        }
    }
    d.conditions.push(if risks.is_empty() {
        ConditionSpec::new(ct::FAILBACK_AT_RISK, false, reasons::NO_RISK_FOUND, "")
    } else {
        ConditionSpec::new(ct::FAILBACK_AT_RISK, true, reasons::FAILBACK_AT_RISK, risks.join("; "))
    });
    let critical = item.replication_health.as_deref().is_some_and(|h| h.eq_ignore_ascii_case("Critical"));
    d.conditions.push(if critical {
        ConditionSpec::new(ct::DEGRADED, true, reasons::REPLICATION_HEALTH_CRITICAL, health_message(item))
    } else {
        ConditionSpec::new(ct::DEGRADED, false, reasons::REPLICATION_HEALTHY, "")
    });
    d
}

fn health_message(item: &ProtectedItemFacts) -> String {
    let errors: Vec<String> = item
        .health_errors
        .iter()
        .map(|e| format!("{}: {}", e.code.as_deref().unwrap_or("?"), e.message.as_deref().unwrap_or("")))
        .collect();
    format!("replication health is Critical: {}", errors.join("; "))
}
