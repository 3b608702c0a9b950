//! Tests of the pure way-home lifecycle: which step, when, and never twice.

use super::failback::{Action, AzureVm, Descriptions, Input, OnPremisesVm, PlanRole, StepJob, decide};
use crate::crd::{FailbackStep, Mode, Phase};
use jiff::{SignedDuration, Timestamp};
use reprotect_facts::{FailbackRequest, ForwardReprotectRequest, JobFacts, ProtectedItemFacts, RecoveryPlanFacts};

fn now() -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap_or_default()
}

fn item(provider: &str, state: &str, ops: &[&str]) -> ProtectedItemFacts {
    ProtectedItemFacts {
        name: "app-01".into(),
        provider: Some(provider.into()),
        protection_state: Some(state.into()),
        allowed_operations: ops.iter().copied().collect(),
        last_successful_failover_time: Some(now() - SignedDuration::from_mins(5)),
        agent_last_heartbeat: Some(now() - SignedDuration::from_mins(1)),
        ..Default::default()
    }
}

fn input(item: &ProtectedItemFacts) -> Input<'_> {
    Input {
        now: now(),
        mode: Mode::Apply,
        paused: false,
        item,
        approval: "a1",
        retry_approved: false,
        job: None,
        gates: Vec::new(),
        group: None,
        fail_back: FailbackRequest { item_name: "app-01".into(), ..Default::default() },
        forward: Ok(ForwardReprotectRequest { item_name: "app-01".into(), ..Default::default() }),
        on_premises_vm: OnPremisesVm::PoweredOn,
        azure_vm: AzureVm::Unchecked,
        agent_registration_window: SignedDuration::from_mins(15),
        max_attempts: 3,
        descriptions: Descriptions { fail_back: "fail back".into(), commit: "commit".into(), forward: "forward".into() },
    }
}

fn ready() -> ProtectedItemFacts {
    item("InMage", "Protected", &["UnplannedFailover", "DisableProtection"])
}

fn commit_pending() -> ProtectedItemFacts {
    item("InMage", "UnplannedFailoverCommitPendingStatesBegin", &["Commit", "ChangePit"])
}

#[test]
fn a_reprotected_item_fails_back_and_plan_mode_only_lists_the_three_steps() {
    let it = ready();
    let d = decide(&input(&it));
    assert_eq!((d.phase, d.action.map(|a| a.step())), (Phase::FailingBack, Some(FailbackStep::FailBack)));
    let d = decide(&Input { mode: Mode::Plan, ..input(&it) });
    assert_eq!(
        (d.phase, d.action, d.planned_actions),
        (Phase::Validating, None, vec!["fail back".into(), "commit".into(), "forward".into()])
    );
}

#[test]
fn a_succeeded_failback_job_is_not_followed_by_a_second_failback_while_the_item_still_looks_ready() {
    let it = ready();
    let job = JobFacts { name: "j1".into(), state: Some("Succeeded".into()), ..Default::default() };
    let tracked = StepJob { step: FailbackStep::FailBack, name: "j1", observed: Some(&job), submitted_at: Some(now()), attempt: 1 };
    let d = decide(&Input { job: Some(tracked), ..input(&it) });
    assert_eq!((d.phase, d.action), (Phase::FailingBack, None));
}

#[test]
fn the_commit_waits_until_the_on_premises_vm_runs() {
    let it = commit_pending();
    let d = decide(&Input { on_premises_vm: OnPremisesVm::NotYet("off".into()), ..input(&it) });
    assert_eq!((d.phase, d.action), (Phase::CommitPending, None));
    let d = decide(&input(&it));
    assert_eq!(d.action, Some(Action::Commit { item_name: "app-01".into() }));
    assert!(d.ready, "a group member is ready for the plan's commit");
}

#[test]
fn the_forward_reprotect_waits_for_the_agent_to_register_after_the_commit() {
    let mut it = item("InMage", "UnplannedFailoverCommitted", &["SwitchProtection", "DisableProtection"]);
    it.agent_last_heartbeat = Some(now() - SignedDuration::from_mins(10));
    let d = decide(&input(&it));
    assert_eq!((d.phase, d.action.is_none(), d.azure_vm_removed), (Phase::WaitingForForwardAgent, true, None), "not checked");
    let d = decide(&Input { azure_vm: AzureVm::Removed, ..input(&it) });
    assert_eq!(d.azure_vm_removed, Some(true));
    let d = decide(&Input { azure_vm: AzureVm::Exists, ..input(&it) });
    assert_eq!(d.azure_vm_removed, Some(false));
    let ready = d.conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.message.clone()).unwrap_or_default();
    assert!(ready.contains("still exists after the commit"), "{ready}");
    it.agent_last_heartbeat = Some(now());
    assert_eq!(decide(&input(&it)).phase, Phase::ReprotectingToAzure);
}

#[test]
fn an_item_protected_to_azure_completes_the_approval() {
    let mut it = item("InMageAzureV2", "Protected", &["PlannedFailover", "UnplannedFailover"]);
    it.active_location = Some("Primary".into());
    let d = decide(&input(&it));
    assert_eq!((d.phase, d.completed, d.action), (Phase::ProtectedToAzure, true, None));
}

#[test]
fn only_the_sender_fails_back_the_plan_once_every_member_is_ready() {
    let it = ready();
    let plan = RecoveryPlanFacts { name: "app-group".into(), allowed_operations: vec!["UnplannedFailover".into()], ..Default::default() };
    let role = |is_sender: bool, waiting_for: Vec<String>| PlanRole { plan: Some(&plan), sender: "app-01".into(), is_sender, waiting_for };
    let d = decide(&Input { group: Some(role(true, vec!["app-02 (not ready)".into()])), ..input(&it) });
    assert_eq!((d.phase, d.action.is_none(), d.ready), (Phase::Validating, true, true));
    let d = decide(&Input { group: Some(role(false, Vec::new())), ..input(&it) });
    assert!(d.action.is_none());
    let d = decide(&Input { group: Some(role(true, Vec::new())), ..input(&it) });
    assert!(matches!(d.action, Some(Action::FailBackPlan(ref r)) if r.plan_name == "app-group"), "{:?}", d.action);
}
