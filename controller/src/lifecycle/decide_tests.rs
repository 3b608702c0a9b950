//! Table tests of `decide` over every phase.
#![allow(clippy::type_complexity)] // the tables are tuples on purpose: one row per case

use super::decide::*;
use crate::crd::{Mode, Phase};
use jiff::{SignedDuration, Timestamp};
use reprotect_facts::{
    CurrentScenarioFacts, JobErrorFacts, JobFacts, JobRef, ProtectedItemFacts, ReprotectRequest, TaskProgress, VmSelector,
};

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

fn failed_over_item(agent_registered: bool) -> ProtectedItemFacts {
    ProtectedItemFacts {
        id: "/Subscriptions/s/replicationProtectedItems/app-01".into(),
        name: "app-01".into(),
        protection_state: Some("UnplannedFailoverCommitted".into()),
        active_location: Some("Recovery".into()),
        allowed_operations: vec!["ReverseReplicate"].into(),
        provider: Some("InMageAzureV2".into()),
        last_successful_failover_time: Some(t(0)),
        agent_last_heartbeat: Some(if agent_registered { t(60) } else { t(-60) }),
        ..Default::default()
    }
}

fn protected_item() -> ProtectedItemFacts {
    ProtectedItemFacts {
        provider: Some("InMage".into()),
        protection_state: Some("Protected".into()),
        allowed_operations: Default::default(),
        current_scenario: Some(CurrentScenarioFacts { scenario_name: Some("None".into()), ..Default::default() }),
        ..failed_over_item(true)
    }
}

fn not_failed_over_item() -> ProtectedItemFacts {
    ProtectedItemFacts {
        protection_state: Some("Protected".into()),
        active_location: Some("Primary".into()),
        allowed_operations: vec!["PlannedFailover"].into(),
        ..failed_over_item(true)
    }
}

fn request() -> ReprotectRequest {
    ReprotectRequest {
        item_name: "app-01".into(),
        master_target_id: "mt".into(),
        process_server_id: "ps".into(),
        retention_drive: "R:".into(),
        profile_id: "p".into(),
        run_as_account_id: None,
        datastore_name: "ds".into(),
    }
}

fn job(state: &str, code: Option<&str>) -> JobFacts {
    JobFacts {
        name: "job-1".into(),
        state: Some(state.into()),
        tasks: TaskProgress::of([Some("Succeeded"), Some("InProgress")]),
        errors: code
            .map(|c| JobErrorFacts { code: Some(c.into()), message: Some("boom".into()), ..Default::default() })
            .into_iter()
            .collect(),
        ..Default::default()
    }
}

fn input<'a>(item: Option<&'a ProtectedItemFacts>, now: Timestamp) -> Input<'a> {
    Input {
        now,
        generation: Some(1),
        mode: Mode::Apply,
        paused: false,
        power_off_on_premises_vm: true,
        agent_registration_window: SignedDuration::from_mins(15),
        watchdog_interval: std::time::Duration::from_secs(300),
        item,
        job: None,
        gates: vec![],
        remediate_disk_uuid: None,
        powered_on_vm: None,
        group: GroupGate::Open,
        watchdog: Watchdog::default(),
        reprotect: Some(request()),
        agent_causes: "no S2S VPN".into(),
        reprotect_description: "reprotect app-01".into(),
        max_attempts: 3,
        owned_by: None,
    }
}

fn gate(id: &str) -> Gate {
    Gate { id: id.into(), message: "bad".into(), remedy: "fix it".into() }
}

fn condition<'a>(d: &'a Decision, type_: &str) -> &'a crate::conditions::ConditionSpec {
    d.conditions.iter().find(|c| c.type_ == type_).expect("condition present")
}

#[test]
fn decide_chooses_the_phase_and_action_for_every_situation() {
    let registered = failed_over_item(true);
    let unregistered = failed_over_item(false);
    let protected = protected_item();
    let not_failed_over = not_failed_over_item();
    let running = job("InProgress", None);
    let mut agent_failed = job("Failed", Some("95226"));
    agent_failed.end_time = Some(t(90)); // after the agent's last heartbeat (t(60))
    let other_failed = job("Failed", Some("78052"));
    let vm = VmSelector::Name("app-01-onprem".into());

    type Mutate = Box<dyn Fn(&mut Input<'_>)>;
    let cases: Vec<(&str, Option<&ProtectedItemFacts>, Timestamp, Mutate, Phase, Option<&str>, &str)> = vec![
        ("paused machine does nothing", Some(&registered), t(0), Box::new(|i| i.paused = true), Phase::Paused, None, "Paused"),
        ("missing item is blocked", None, t(0), Box::new(|_| {}), Phase::Blocked, None, "ProtectedItemNotFound"),
        ("item not failed over waits", Some(&not_failed_over), t(0), Box::new(|_| {}), Phase::WaitingForFailover, None, "NotFailedOver"),
        ("protected item is protected", Some(&protected), t(0), Box::new(|_| {}), Phase::Protected, None, "Protected"),
        (
            "blocking check blocks",
            Some(&registered),
            t(0),
            Box::new(|i| i.gates = vec![gate("mt-no-snapshots")]),
            Phase::Blocked,
            None,
            "PreflightFailed",
        ),
        (
            "agent pending inside window waits",
            Some(&unregistered),
            t(60),
            Box::new(|_| {}),
            Phase::WaitingForAgent,
            None,
            "WaitingForAgent",
        ),
        (
            "agent pending after window stalls",
            Some(&unregistered),
            t(16 * 60),
            Box::new(|_| {}),
            Phase::Blocked,
            None,
            "AgentNotRegistered",
        ),
        (
            "group member waits for the group",
            Some(&registered),
            t(0),
            Box::new(|i| i.group = GroupGate::WaitingFor(vec!["app-02".into()])),
            Phase::Validating,
            None,
            "WaitingForGroup",
        ),
        (
            "remediation comes first",
            Some(&registered),
            t(0),
            Box::new(move |i| {
                i.remediate_disk_uuid = Some(VmTarget::new("vm-3", "mt"));
                i.powered_on_vm = Some(VmTarget::new("vm-7", "x"));
            }),
            Phase::Validating,
            Some("enable-disk-uuid"),
            "Acting",
        ),
        (
            "power off before reprotect",
            Some(&registered),
            t(0),
            Box::new(|i| i.powered_on_vm = Some(VmTarget::new("vm-7", "x"))),
            Phase::Validating,
            Some("power-off"),
            "Acting",
        ),
        (
            "power off skipped when policy says so",
            Some(&registered),
            t(0),
            Box::new(|i| {
                i.powered_on_vm = Some(VmTarget::new("vm-7", "x"));
                i.power_off_on_premises_vm = false;
            }),
            Phase::Reprotecting,
            Some("reprotect"),
            "Acting",
        ),
        ("all clear reprotects", Some(&registered), t(0), Box::new(|_| {}), Phase::Reprotecting, Some("reprotect"), "Acting"),
        ("plan mode only plans", Some(&registered), t(0), Box::new(|i| i.mode = Mode::Plan), Phase::Validating, None, "Planned"),
        ("unresolved input blocks", Some(&registered), t(0), Box::new(|i| i.reprotect = None), Phase::Blocked, None, "InputIncomplete"),
        (
            "running job is followed, never reposted",
            Some(&registered),
            t(0),
            Box::new(|i| i.job = Some(TrackedJob { name: "job-1", generation: Some(1), observed: None, ..Default::default() })),
            Phase::Reprotecting,
            None,
            "JobSubmitted",
        ),
        (
            "protected item with powered-on VM is powered off",
            Some(&protected),
            t(0),
            Box::new(move |i| {
                i.watchdog.on_premises_vm_powered_on = true;
                i.powered_on_vm = Some(VmTarget::new("vm-7", "x"));
            }),
            Phase::Protected,
            Some("power-off"),
            "Protected",
        ),
        (
            "protected item in plan mode is only warned about",
            Some(&protected),
            t(0),
            Box::new(move |i| {
                i.mode = Mode::Plan;
                i.watchdog.on_premises_vm_powered_on = true;
                i.powered_on_vm = Some(VmTarget::new("vm-7", "x"));
            }),
            Phase::Protected,
            None,
            "Protected",
        ),
    ];
    let _ = &vm;
    for (name, item, now, mutate, phase, action, reason) in cases {
        let mut i = input(item, now);
        mutate(&mut i);
        let d = decide(&i);
        assert_eq!(d.phase, phase, "{name}");
        assert_eq!(d.action.as_ref().map(Action::kind), action, "{name}");
        assert_eq!(condition(&d, "Ready").reason, reason, "{name}");
    }
    // Jobs with observations.
    let mut agent_failed_earlier = agent_failed.clone();
    agent_failed_earlier.end_time = Some(t(30));
    let suspended = job("Suspended", None);
    let job_cases: Vec<(&str, &JobFacts, Timestamp, Option<i64>, u32, Phase, &str)> = vec![
        ("running job reports progress", &running, t(0), Some(1), 1, Phase::Reprotecting, "JobRunning"),
        (
            "agent failure inside the window waits for the agent",
            &agent_failed,
            t(60),
            Some(1),
            1,
            Phase::WaitingForAgent,
            "AgentNotRegistered",
        ),
        ("agent failure after the window stalls", &agent_failed, t(20 * 60), Some(1), 1, Phase::Blocked, "AgentNotRegistered"),
        (
            "agent failure is retried once the agent registered since",
            &agent_failed_earlier,
            t(20 * 60),
            Some(1),
            1,
            Phase::Reprotecting,
            "Acting",
        ),
        ("agent failure retries are bounded", &agent_failed_earlier, t(20 * 60), Some(1), 3, Phase::Blocked, "RetriesExhausted"),
        ("other failure blocks with the ASR code", &other_failed, t(0), Some(1), 1, Phase::Blocked, "ReprotectJobFailed"),
        ("failure followed by a spec change retries", &other_failed, t(0), Some(0), 1, Phase::Reprotecting, "Acting"),
        ("an unknown job state is followed for a while", &suspended, t(60), Some(1), 1, Phase::Reprotecting, "JobStateUnknown"),
        ("an unknown job state times out", &suspended, t(2 * 3600), Some(1), 1, Phase::Blocked, "JobStateUnknown"),
    ];
    for (name, job, now, submitted_generation, attempt, phase, reason) in job_cases {
        let mut i = input(Some(&registered), now);
        i.job =
            Some(TrackedJob { name: "job-1", generation: submitted_generation, observed: Some(job), attempt, submitted_at: Some(t(0)) });
        let d = decide(&i);
        assert_eq!(d.phase, phase, "{name}");
        assert_eq!(condition(&d, "Ready").reason, reason, "{name}");
        if phase != Phase::Reprotecting || reason != "Acting" {
            assert!(d.action.is_none(), "{name}: a tracked job never leads to a second POST");
        }
    }
}

#[test]
fn a_job_failed_for_the_agent_is_classified_by_any_of_its_codes() {
    let registered = failed_over_item(true);
    let mut failed = job("Failed", Some("78052"));
    failed.errors.push(JobErrorFacts { code: Some("95226".into()), message: Some("agent not registered".into()), ..Default::default() });
    failed.end_time = Some(t(90));
    let mut i = input(Some(&registered), t(60));
    i.job = Some(TrackedJob { name: "job-1", generation: Some(1), observed: Some(&failed), attempt: 1, submitted_at: Some(t(0)) });
    let d = decide(&i);
    assert_eq!((d.phase, condition(&d, "Ready").reason.as_str()), (Phase::WaitingForAgent, "AgentNotRegistered"));
}

#[test]
fn an_item_without_a_failover_time_uses_the_agent_heartbeat() {
    let mut item = failed_over_item(true);
    item.last_successful_failover_time = None;
    item.agent_last_heartbeat = Some(t(-60));
    let d = decide(&input(Some(&item), t(0)));
    assert!(matches!(d.action, Some(Action::Reprotect(_))), "fresh heartbeat: {:?}", d.conditions);
    item.agent_last_heartbeat = Some(t(-3600));
    assert_eq!(decide(&input(Some(&item), t(0))).phase, Phase::Blocked, "stale heartbeat");
}

#[test]
fn a_job_failure_message_carries_the_asr_code_causes_and_action() {
    let registered = failed_over_item(true);
    let mut failed = job("Failed", Some("78052"));
    failed.errors[0].possible_causes = Some("name collision".into());
    failed.errors[0].recommended_action = Some("rename".into());
    let mut i = input(Some(&registered), t(0));
    i.job = Some(TrackedJob { name: "job-1", generation: Some(1), observed: Some(&failed), ..Default::default() });
    let d = decide(&i);
    let msg = &condition(&d, "Stalled").message;
    for part in ["78052", "boom", "name collision", "rename"] {
        assert!(msg.contains(part), "{part} missing from {msg}");
    }
}

#[test]
fn an_agent_window_too_large_for_a_timestamp_does_not_panic_and_keeps_waiting_for_the_agent() {
    let unregistered = failed_over_item(false);
    let mut i = input(Some(&unregistered), t(60));
    i.agent_registration_window = SignedDuration::from_hours(100_000_000);
    let d = decide(&i);
    assert_eq!(d.agent_window_deadline, None);
    assert_eq!(d.phase, Phase::Blocked, "no representable deadline: the window is treated as closed, never as a panic");
}

#[test]
fn after_act_follows_an_adopted_job_and_rechecks_an_item_found_protected_at_once() {
    let registered = failed_over_item(true);
    let planned = decide(&input(Some(&registered), t(60)));
    assert!(matches!(planned.action, Some(Action::Reprotect(_))));

    let submitted =
        after_act(planned.clone(), &Acted::Submitted { job: JobRef { job_name: "j".into(), retry_after_seconds: None }, at: t(61) });
    assert_eq!(Decision { requeue_after: planned.requeue_after, ..submitted }, planned, "a submission changes only when to look again");

    let adopted = after_act(planned.clone(), &Acted::Adopted(job("InProgress", None)));
    assert_eq!(adopted.phase, Phase::Reprotecting);
    assert_eq!(condition(&adopted, "Reconciling").reason, "JobAdopted");
    assert!(condition(&adopted, "Ready").message.contains("job-1"));
    assert_eq!(adopted.action, None);

    let protected = after_act(planned, &Acted::AlreadyProtected);
    assert_eq!(protected.requeue_after, std::time::Duration::from_secs(2));
    assert_eq!(condition(&protected, "Reconciling").reason, "AlreadyProtected");
}

#[test]
fn a_submitted_reprotect_is_looked_at_when_azures_retry_after_says_within_five_seconds_and_one_job_poll() {
    let cases = [(None, 15), (Some(10), 10), (Some(0), 5), (Some(3), 5), (Some(u64::MAX), 15)];
    for (retry_after, seconds) in cases {
        assert_eq!(after_submission(retry_after), std::time::Duration::from_secs(seconds), "Retry-After {retry_after:?}");
    }
    let registered = failed_over_item(true);
    let planned = decide(&input(Some(&registered), t(60)));
    let job = JobRef { job_name: "j".into(), retry_after_seconds: Some(10) };
    assert_eq!(after_act(planned, &Acted::Submitted { job, at: t(61) }).requeue_after, std::time::Duration::from_secs(10));
}

#[test]
fn every_protected_machine_says_the_same_so_ten_thousand_share_one_ready_condition() {
    let other =
        ProtectedItemFacts { id: "/Subscriptions/s/replicationProtectedItems/db-07".into(), name: "db-07".into(), ..protected_item() };
    let (a, b) = (protected_item(), other);
    let (da, db) = (decide(&input(Some(&a), t(0))), decide(&input(Some(&b), t(0))));
    assert_eq!((da.phase, db.phase), (Phase::Protected, Phase::Protected));
    assert_eq!(da.conditions, db.conditions, "no condition names its item");
}
