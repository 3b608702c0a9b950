//! Whole-pass tests of the way home (failback → commit → forward reprotect) with the fakes: one POST per step,
//! crashes after each POST adopted, `Plan` mode, the one-shot approval, the forward agent retry, and a group
//! through its recovery plan.

use super::tests::World;
use crate::context::SubmittedJobs;
use crate::crd::{DesiredState, FailbackSpec, FailbackStep, Mode, Phase};
use jiff::SignedDuration;
use reprotect_facts::{AsrServiceError, PowerState, RecoveryPlanFacts, RecoveryPlanMember, SiteRecoveryError};
use std::sync::Arc;

const APPROVAL: &str = "2026-11-28-return-dc1";

/// A reprotected machine (`InMage`, `Protected`, failback allowed) whose spec approves the way home.
fn reprotected(machine: &str) -> World {
    let mut w = World::new(machine);
    // What the reprotect passes recorded while the item still named its Azure VM.
    let azure_vm = w.sr.with(|v| v.items.first().and_then(|i| i.target_vm_id.clone()));
    w.pm.status = Some(crate::crd::ProtectedMachineStatus { azure_vm_id: azure_vm, ..Default::default() });
    w.pm.spec.desired_state = DesiredState::ProtectedToAzure;
    w.pm.spec.failback = Some(Box::new(FailbackSpec { approval: Some(APPROVAL.into()), ..Default::default() }));
    w.sr.with(|v| {
        v.fabric.run_as_accounts =
            vec![reprotect_facts::RunAsAccountFacts { account_id: "1".into(), account_name: "vcenter-admin".into() }];
        for item in v.items.iter_mut() {
            make_reprotected(item, v.now.unwrap_or_default());
        }
    });
    w
}

fn make_reprotected(item: &mut reprotect_facts::ProtectedItemFacts, now: jiff::Timestamp) {
    item.provider = Some("InMage".into());
    item.protection_state = Some("Protected".into());
    item.target_vm_id = None;
    item.active_location = Some("Primary".into());
    item.allowed_operations = vec!["UnplannedFailover", "DisableProtection"].into();
    item.policy_id = Some("p2".into());
    item.rpo_seconds = Some(120);
    item.retention_window_start = Some(now - SignedDuration::from_hours(12));
    item.retention_window_end = Some(now - SignedDuration::from_mins(2));
}

fn single() -> World {
    let mut w = reprotected("app-01");
    w.pm.spec.replication_group = None;
    w
}

/// Finish a job at the world's current time.
fn finish(w: &World, job: &str, error: Option<&str>) {
    w.sr.with(|v| v.now = Some(w.now));
    w.sr.finish_job(job, error);
}

fn power_on(w: &World) {
    w.vc.with(|f| f.on_premises_vms.values_mut().flatten().for_each(|vm| vm.power_state = Some(PowerState::PoweredOn)));
}

/// The on-premises agent registers (heartbeat after the commit).
fn agent_registers(w: &World) {
    let at = w.now;
    w.sr.with(|v| v.items.iter_mut().for_each(|i| i.agent_last_heartbeat = Some(at)));
}

fn posts(w: &World) -> Vec<String> {
    w.sr.with(|v| v.failback_posts.clone())
}

fn failback_status(w: &World) -> crate::crd::FailbackStatus {
    w.status().failback.as_deref().cloned().unwrap_or_default()
}

fn lost_answer() -> SiteRecoveryError {
    SiteRecoveryError::Service(AsrServiceError {
        operation: "post".into(),
        status: 503,
        code: "ServiceUnavailable".into(),
        inner_code: None,
        message: "try later".into(),
        possible_causes: None,
        recommended_action: None,
    })
}

#[tokio::test]
async fn a_machine_goes_the_whole_way_home_with_one_post_per_step() {
    let mut w = single();
    w.pass().await;
    assert_eq!((w.status().phase, posts(&w)), (Phase::FailingBack, vec!["fail-back:app-01".to_string()]), "{}", w.reason());
    assert_eq!(failback_status(&w).approval.as_deref(), Some(APPROVAL));
    assert_eq!(failback_status(&w).step, Some(FailbackStep::FailBack));
    w.pass().await;
    assert_eq!((w.status().phase, posts(&w).len()), (Phase::FailingBack, 1), "a running job is followed");

    finish(&w, "fb-job-1", None);
    w.pass().await;
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::CommitPending, "WaitingForOnPremisesVm"));
    assert_eq!(failback_status(&w).on_premises_vm_powered_on, Some(false));

    power_on(&w);
    w.pass().await;
    assert_eq!((w.status().phase, posts(&w).len()), (Phase::Committing, 2), "{}", w.reason());
    assert_eq!(failback_status(&w).on_premises_vm_powered_on, Some(true));
    finish(&w, "fb-job-2", None);
    w.pass().await;
    assert_eq!(w.status().phase, Phase::WaitingForForwardAgent, "{}", w.reason());
    assert_eq!(failback_status(&w).azure_vm_removed, Some(true), "the commit removed the Azure VM");

    agent_registers(&w);
    w.pass().await;
    assert_eq!((w.status().phase, posts(&w).len()), (Phase::ReprotectingToAzure, 3), "{}", w.reason());
    finish(&w, "fb-job-3", None);
    w.pass().await;
    assert_eq!(w.status().phase, Phase::ProtectedToAzure);
    assert_eq!(failback_status(&w).completed_approval.as_deref(), Some(APPROVAL));
    assert_eq!(
        posts(&w),
        vec!["fail-back:app-01".to_string(), "commit:app-01".into(), "forward-reprotect:app-01".into()],
        "exactly one POST per step"
    );
    assert!(w.status().conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    assert_eq!(w.sr.posts(), 0, "no reprotect to on-premises");
}

#[tokio::test]
async fn reapplying_the_same_approved_manifest_after_completion_does_nothing() {
    let mut w = single();
    w.pass().await;
    finish(&w, "fb-job-1", None);
    power_on(&w);
    w.pass().await;
    finish(&w, "fb-job-2", None);
    agent_registers(&w);
    w.pass().await;
    finish(&w, "fb-job-3", None);
    w.pass().await;
    assert_eq!(w.status().phase, Phase::ProtectedToAzure);
    // The same YAML applied again (a new generation, the same approval).
    w.pm.metadata.generation = Some(2);
    for _ in 0..3 {
        w.pass().await;
    }
    assert_eq!((w.status().phase, posts(&w).len()), (Phase::ProtectedToAzure, 3));
}

#[tokio::test]
async fn a_new_approval_is_needed_for_a_second_failback_after_the_machine_is_reprotected_again() {
    let mut w = single();
    let completed =
        crate::crd::FailbackStatus { completed_approval: Some(APPROVAL.into()), approval: Some(APPROVAL.into()), ..Default::default() };
    w.pm.status = Some(crate::crd::ProtectedMachineStatus { failback: Some(Box::new(completed)), ..Default::default() });
    w.pass().await;
    assert_eq!((w.status().phase, posts(&w).len()), (Phase::Protected, 0), "the reprotect lifecycle reports it; {}", w.reason());
    w.pm.spec.failback = Some(Box::new(FailbackSpec { approval: Some("second".into()), ..Default::default() }));
    w.pass().await;
    assert_eq!((w.status().phase, posts(&w).len()), (Phase::FailingBack, 1));
}

#[tokio::test]
async fn plan_mode_lists_the_whole_way_home_and_sends_nothing() {
    let mut w = single();
    w.policy.spec.mode = Mode::Plan;
    w.pass().await;
    let planned = w.status().planned_actions.clone();
    assert_eq!(planned.len(), 3, "{planned:?}");
    assert!(planned[0].starts_with("fail back app-01 to recovery point LatestTime"), "{planned:?}");
    assert!(planned[0].contains("boots on-premises VM app-01"), "{planned:?}");
    assert!(planned[1].starts_with("commit the failover of app-01"), "{planned:?}");
    assert!(planned[2].starts_with("reprotect app-01 to Azure"), "{planned:?}");
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::Validating, "Planned"));
    assert!(posts(&w).is_empty());
    assert_eq!(failback_status(&w).approval, None, "nothing started");
}

#[tokio::test]
async fn a_crash_after_each_post_is_adopted_and_nothing_is_sent_twice() {
    let mut w = single();
    power_on(&w);
    w.sr.with(|v| v.lose_next_post_answer = Some(lost_answer()));
    let mut failed = w.pass().await;
    for (step, job) in [(Phase::FailingBack, "fb-job-1"), (Phase::Committing, "fb-job-2"), (Phase::ReprotectingToAzure, "fb-job-3")] {
        assert!(failed.error.is_some() && failed.status.is_none(), "the answer of {job} was lost");
        // A new process: nothing in memory; the status write was lost with the crash.
        w.submitted = SubmittedJobs::default();
        w.pass().await;
        assert_eq!(w.status().phase, step, "{}", w.reason());
        let recorded = w.status().job.clone().unwrap_or_default();
        assert_eq!((recorded.name.as_str(), recorded.adopted), (job, true));
        agent_registers(&w);
        w.sr.with(|v| v.lose_next_post_answer = Some(lost_answer()));
        finish(&w, job, None);
        failed = w.pass().await;
    }
    assert!(failed.error.is_none(), "{:?}", failed.error);
    assert_eq!(w.status().phase, Phase::ProtectedToAzure, "{}", w.reason());
    assert_eq!(posts(&w).len(), 3, "one POST per step: {:?}", posts(&w));
}

#[tokio::test]
async fn a_forward_reprotect_refused_for_an_unregistered_agent_waits_and_retries_once_it_registers() {
    let mut w = single();
    power_on(&w);
    w.pass().await;
    finish(&w, "fb-job-1", None);
    w.pass().await;
    finish(&w, "fb-job-2", None);
    // The configuration server saw a heartbeat, but the forward job still fails for lack of the agent (78093).
    agent_registers(&w);
    w.pass().await;
    assert_eq!(w.status().phase, Phase::ReprotectingToAzure);
    finish(&w, "fb-job-3", Some("78093"));
    for _ in 0..2 {
        w.pass().await;
        assert_eq!((w.status().phase, posts(&w).len()), (Phase::WaitingForForwardAgent, 3), "{}", w.reason());
    }
    agent_registers(&w);
    w.pass().await;
    assert_eq!((w.status().phase, posts(&w).len()), (Phase::ReprotectingToAzure, 4), "{}", w.reason());
    assert_eq!(w.status().job.as_ref().map(|j| j.attempt), Some(2));
    finish(&w, "fb-job-4", None);
    w.pass().await;
    assert_eq!(w.status().phase, Phase::ProtectedToAzure);
}

#[tokio::test]
async fn a_failed_failback_blocks_until_a_new_approval_is_given() {
    let mut w = single();
    w.pass().await;
    finish(&w, "fb-job-1", Some("8038"));
    w.pass().await;
    w.pass().await;
    assert_eq!((w.status().phase, w.reason().as_str(), posts(&w).len()), (Phase::Blocked, "FailbackStepFailed", 1));
    w.pm.spec.failback = Some(Box::new(FailbackSpec { approval: Some("retry-1".into()), ..Default::default() }));
    w.pass().await;
    assert_eq!((w.status().phase, posts(&w).len()), (Phase::FailingBack, 2), "{}", w.reason());
}

#[tokio::test]
async fn a_failback_without_a_recovery_point_is_blocked_with_a_remedy() {
    let mut w = single();
    w.item(|i| (i.retention_window_start, i.retention_window_end) = (None, None));
    w.item(|i| i.rpo_seconds = Some(3600));
    w.pass().await;
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::Blocked, "FailbackPreflightFailed"));
    let ready = w.status().conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.message.clone()).unwrap_or_default();
    assert!(ready.contains("fb-recovery-point") && ready.contains("fb-rpo-within-threshold"), "{ready}");
    assert!(posts(&w).is_empty());
    // The gates are catalogue checks: listed in status.checks like every other, with their remedy.
    let check = |id: &str| w.status().checks.iter().find(|c| c.id == id).map(|c| (c.status.clone(), c.remedy.clone()));
    for id in ["fb-recovery-point", "fb-rpo-within-threshold"] {
        let (status, remedy) = check(id).unwrap_or_else(|| panic!("{id} not in status.checks"));
        assert_eq!(status, "Fail", "{id}");
        assert!(!remedy.is_empty(), "{id} has a remedy");
    }
    assert_eq!(check("fb-item-healthy"), None, "a passing check is recorded by its id only");
    assert!(w.status().passed_check_ids.iter().any(|id| id == "fb-item-healthy"));
}

#[tokio::test]
async fn a_failback_waits_for_the_configuration_server_to_be_connected() {
    let mut w = single();
    w.sr.with(|v| v.fabric.last_heartbeat = v.now.map(|t| t - SignedDuration::from_hours(2)));
    w.pass().await;
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::Blocked, "FailbackPreflightFailed"));
    assert!(w.reason_message().contains("cs-heartbeat"), "{}", w.reason_message());
    assert!(posts(&w).is_empty());
}

#[tokio::test]
async fn an_azure_vm_that_survives_the_commit_is_reported_and_its_removal_is_seen_in_azure_compute() {
    let mut w = single();
    w.pass().await;
    finish(&w, "fb-job-1", None);
    power_on(&w);
    w.pass().await;
    // ASR's commit job succeeds, but the Azure VM is still there (e.g. a lock on its resource group).
    let vm = w.sr.with(|v| v.azure_vms.iter().next().cloned()).expect("the fixture's Azure VM");
    finish(&w, "fb-job-2", None);
    w.sr.with(|v| v.azure_vms.insert(vm.clone()));
    w.pass().await;
    assert_eq!(failback_status(&w).azure_vm_removed, Some(false));
    assert!(w.reason_message().contains("still exists after the commit"), "{}", w.reason_message());
    // Someone deletes it: the next look at Azure Compute sees it gone.
    w.sr.with(|v| v.azure_vms.clear());
    w.pass().await;
    assert_eq!(failback_status(&w).azure_vm_removed, Some(true));
}

#[tokio::test]
async fn a_failback_approved_before_the_reprotect_never_holds_the_reprotect_back() {
    // Approved in Git from the start, replication health already Critical: the reprotect still goes ahead, and
    // the failback checks say they wait for the reprotected item instead of failing.
    let mut w = World::new("app-01");
    w.pm.spec.replication_group = None;
    w.pm.spec.desired_state = DesiredState::ProtectedToAzure;
    w.pm.spec.failback = Some(Box::new(FailbackSpec { approval: Some(APPROVAL.into()), ..Default::default() }));
    w.item(|i| i.replication_health = Some("Critical".into()));
    w.pass().await;
    assert_eq!(w.status().phase, Phase::Reprotecting, "{}", w.reason());
    let fb_checks: Vec<_> =
        w.status().checks.iter().filter(|c| c.id.starts_with("fb-")).map(|c| (c.status.clone(), c.severity.clone())).collect();
    assert_eq!(fb_checks.len(), 3);
    assert!(fb_checks.iter().all(|(s, sev)| s == "Unknown" && sev == "Info"), "{fb_checks:?}");
}

/// Three members of `app-group` sharing one vault, one vCenter and one recovery plan.
fn group() -> Vec<World> {
    let first = reprotected("app-01");
    let template = first.sr.with(|v| v.items[0].clone());
    first.sr.with(|v| {
        for n in ["app-02", "app-03"] {
            let mut item = template.clone();
            item.id = template.id.text().replace("app-01", n).into();
            (item.name, item.friendly_name) = (n.into(), Some(n.into()));
            v.items.push(item);
        }
        let members = v
            .items
            .iter()
            .map(|i| RecoveryPlanMember { id: i.id.text().into_owned(), name: i.name.clone(), virtual_machine_id: None })
            .collect();
        v.plans = vec![RecoveryPlanFacts { id: "/plans/app-group".into(), name: "app-group".into(), members, ..Default::default() }];
    });
    first.vc.with(|f| {
        let vm = f.on_premises_vms.get("name:app-01").cloned().flatten();
        for n in ["app-02", "app-03"] {
            f.on_premises_vms.insert(
                format!("name:{n}"),
                vm.clone().map(|mut v| {
                    v.name = n.into();
                    v
                }),
            );
        }
    });
    let mut worlds = vec![first];
    for n in ["app-02", "app-03"] {
        let mut w = reprotected(n);
        (w.sr, w.vc) = (worlds[0].sr.clone(), worlds[0].vc.clone());
        worlds.push(w);
    }
    worlds
}

/// One pass of every member, each seeing its peers as they are now.
async fn round(worlds: &mut [World]) {
    for i in 0..worlds.len() {
        let peers = worlds.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, w)| Arc::new(w.pm.clone())).collect();
        worlds[i].peers = peers;
        let outcome = worlds[i].pass().await;
        assert!(outcome.error.is_none(), "{:?}", outcome.error);
    }
}

fn phases(worlds: &[World]) -> Vec<Phase> {
    worlds.iter().map(|w| w.status().phase).collect()
}

#[tokio::test]
async fn a_group_fails_back_and_commits_through_its_recovery_plan_with_one_post_per_step() {
    let mut g = group();
    round(&mut g).await;
    assert!(posts(&g[0]).is_empty(), "the plan waits until every member is ready");
    round(&mut g).await;
    assert_eq!(posts(&g[0]), vec!["fail-back-plan:app-group".to_string()]);
    round(&mut g).await;
    assert_eq!(phases(&g), vec![Phase::FailingBack; 3], "every member follows the plan's job");

    let now = g[0].now;
    g.iter_mut().for_each(|w| w.now = now);
    finish(&g[0], "fb-job-1", None);
    power_on(&g[0]);
    round(&mut g).await;
    round(&mut g).await;
    assert_eq!(posts(&g[0]).len(), 2, "{:?}", posts(&g[0]));
    assert_eq!(posts(&g[0])[1], "commit-plan:app-group");
    round(&mut g).await;
    assert_eq!(phases(&g), vec![Phase::Committing; 3]);
    finish(&g[0], "fb-job-2", None);
    agent_registers(&g[0]);
    round(&mut g).await;
    assert_eq!(phases(&g), vec![Phase::ReprotectingToAzure; 3], "forward reprotect is per item");
    for job in ["fb-job-3", "fb-job-4", "fb-job-5"] {
        finish(&g[0], job, None);
    }
    round(&mut g).await;
    assert_eq!(phases(&g), vec![Phase::ProtectedToAzure; 3]);
    let mut sent = posts(&g[0]);
    sent.sort();
    assert_eq!(
        sent,
        [
            "commit-plan:app-group",
            "fail-back-plan:app-group",
            "forward-reprotect:app-01",
            "forward-reprotect:app-02",
            "forward-reprotect:app-03"
        ]
    );
}
