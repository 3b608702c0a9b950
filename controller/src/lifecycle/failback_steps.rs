//! Each stage of the way home: fail back (alone or through the group's recovery plan), commit, then the forward reprotect.

use super::Gate;
use super::failback::{Action, BLOCKED_RECHECK, Decision, SOON, WAIT_POLL, decision, running_phase};
use super::failback_input::{AzureVm, Input, OnPremisesVm};
use crate::crd::{Mode, Phase, condition_types};
use crate::reasons;
use jiff::SignedDuration;
use reprotect_facts::PlanFailbackRequest;

/// Report what Azure Compute says of the failed-over VM once the commit is done; a VM still there is named in the
/// Ready message (the commit should have removed it, and it keeps costing money).
pub(super) fn after_commit(mut d: Decision, input: &Input<'_>) -> Decision {
    d.azure_vm_removed = match input.azure_vm {
        AzureVm::Unchecked => None,
        AzureVm::Exists => Some(false),
        AzureVm::Removed => Some(true),
    };
    if input.azure_vm == AzureVm::Exists
        && let Some(ready) = d.conditions.iter_mut().find(|c| c.type_ == condition_types::READY)
    {
        ready.message.push_str(&format!(
            "; the failed-over Azure VM of {} still exists after the commit: check the commit job in the vault and delete the VM if ASR left it",
            input.item.display_name()
        ));
    }
    d
}

fn blocked_by_gates(gates: &[Gate]) -> Decision {
    let ids: Vec<&str> = gates.iter().map(|g| g.id.as_str()).collect();
    let details: Vec<String> = gates.iter().map(|g| format!("[{}] {} Remedy: {}", g.id, g.message, g.remedy)).collect();
    decision(
        Phase::Blocked,
        reasons::FAILBACK_PREFLIGHT_FAILED,
        format!("failback blocked by {}: {}", ids.join(", "), details.join(" | ")),
        BLOCKED_RECHECK,
    )
}

pub(super) fn ready_to_fail_back(input: &Input<'_>) -> Decision {
    if !input.gates.is_empty() {
        return blocked_by_gates(&input.gates);
    }
    let Some(group) = &input.group else {
        return act(Action::FailBack(input.fail_back.clone()), &input.descriptions.fail_back);
    };
    let Some(plan) = group.plan else {
        return decision(
            Phase::Blocked,
            reasons::RECOVERY_PLAN_NOT_FOUND,
            format!(
                "{} is in a replication group, which fails back through a recovery plan, and no recovery plan contains it; create one with every member of the group",
                input.item.name
            ),
            BLOCKED_RECHECK,
        );
    };
    let mut d = if !group.waiting_for.is_empty() {
        decision(
            Phase::Validating,
            reasons::WAITING_FOR_GROUP,
            format!("failback of recovery plan {} waits for: {}", plan.name, group.waiting_for.join(", ")),
            WAIT_POLL,
        )
    } else if !group.is_sender {
        decision(
            Phase::Validating,
            reasons::WAITING_FOR_GROUP,
            format!("every member is ready; {} fails back recovery plan {}", group.sender, plan.name),
            WAIT_POLL,
        )
    } else if !plan.allows("UnplannedFailover") {
        decision(
            Phase::Validating,
            reasons::WAITING_FOR_GROUP,
            format!("recovery plan {} does not allow UnplannedFailover yet (a member is not ready in ASR)", plan.name),
            WAIT_POLL,
        )
    } else {
        let request = PlanFailbackRequest {
            plan_name: plan.name.clone(),
            recovery_point_type: input.fail_back.recovery_point_type,
            source_site_operations: input.fail_back.source_site_operations,
        };
        act(Action::FailBackPlan(request), &input.descriptions.fail_back)
    };
    d.ready = true;
    if input.mode == Mode::Plan {
        // Each member lists the way home; only the sender would act.
        d.action = Some(Action::FailBack(input.fail_back.clone()));
    }
    d
}

pub(super) fn commit_pending(input: &Input<'_>) -> Decision {
    if let OnPremisesVm::NotYet(why) = &input.on_premises_vm {
        return decision(
            Phase::CommitPending,
            reasons::WAITING_FOR_ON_PREMISES_VM,
            format!("failed back; the commit waits until the on-premises VM runs: {why}"),
            WAIT_POLL,
        );
    }
    let mut d = commit_when_ready(input);
    d.ready = true;
    d
}

fn commit_when_ready(input: &Input<'_>) -> Decision {
    let Some(group) = &input.group else {
        return act(Action::Commit { item_name: input.item.name.clone() }, &input.descriptions.commit);
    };
    let plan = group.plan.map(|p| p.name.clone()).unwrap_or_default();
    let wait = |msg: String| decision(Phase::CommitPending, reasons::WAITING_FOR_GROUP, msg, WAIT_POLL);
    if !group.waiting_for.is_empty() {
        return wait(format!("commit of recovery plan {plan} waits for: {}", group.waiting_for.join(", ")));
    }
    if !group.is_sender {
        return wait(format!("every member runs on-premises; {} commits recovery plan {plan}", group.sender));
    }
    if !group.plan.is_some_and(|p| p.allows("Commit")) {
        return wait(format!("recovery plan {plan} does not allow Commit yet"));
    }
    act(Action::CommitPlan { plan_name: plan }, &input.descriptions.commit)
}

/// A heartbeat this recent counts as registered when the item has no failover time.
const FRESH_AGENT_HEARTBEAT: SignedDuration = SignedDuration::from_mins(15);

pub(super) fn forward(input: &Input<'_>) -> Decision {
    let item = input.item;
    let registered = item
        .agent_registered_after_failover()
        .unwrap_or_else(|| item.agent_last_heartbeat.is_some_and(|hb| input.now.duration_since(hb) <= FRESH_AGENT_HEARTBEAT));
    if !registered {
        let deadline = item.last_successful_failover_time.and_then(|t| t.checked_add(input.agent_registration_window).ok());
        let open = deadline.is_none_or(|d| input.now < d);
        let (phase, when) = if open { (Phase::WaitingForForwardAgent, "yet") } else { (Phase::Blocked, "within the registration window") };
        return decision(
            phase,
            reasons::WAITING_FOR_AGENT,
            format!(
                "committed; the on-premises mobility agent of {} has not registered with the configuration server {when}; the forward reprotect starts once it does",
                item.name
            ),
            if open { WAIT_POLL } else { BLOCKED_RECHECK },
        );
    }
    match &input.forward {
        Ok(request) => act(Action::ForwardReprotect(request.clone()), &input.descriptions.forward),
        Err(why) => decision(
            Phase::Blocked,
            reasons::INPUT_INCOMPLETE,
            format!("the forward reprotect input could not be resolved: {why}"),
            BLOCKED_RECHECK,
        ),
    }
}

fn act(action: Action, description: &str) -> Decision {
    let mut d = decision(running_phase(action.step()), reasons::ACTING, description.to_string(), SOON);
    d.action = Some(action);
    d
}
