//! Property tests of `decide` and `after_act`: whatever Azure reports, whatever the spec and the clock say, the
//! state machine answers (no panic, no overflow), waits a sane time, and never acts where it must not.

use super::decide::*;
use crate::crd::{Mode, Phase};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use reprotect_facts::{CurrentScenarioFacts, JobErrorFacts, JobFacts, JobRef, ProtectedItemFacts, ReprotectRequest};
use std::time::Duration;

/// Any instant jiff can represent, biased towards the present so that windows and heartbeats interact.
fn timestamp() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        (1_700_000_000i64..1_900_000_000).prop_map(|s| Timestamp::from_second(s).unwrap_or(Timestamp::UNIX_EPOCH)),
        (Timestamp::MIN.as_second()..=Timestamp::MAX.as_second()).prop_map(|s| Timestamp::from_second(s).unwrap_or(Timestamp::MAX)),
    ]
}

fn duration() -> impl Strategy<Value = SignedDuration> {
    prop_oneof![(0i64..100_000).prop_map(SignedDuration::from_secs), any::<i64>().prop_map(SignedDuration::from_secs)]
}

/// Known spellings and anything else a newer API might send.
fn word(known: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => proptest::sample::select(known).prop_map(|s| Some(s.to_string())),
        1 => "[A-Za-z]{0,12}".prop_map(Some),
        1 => Just(None),
    ]
}

fn item() -> impl Strategy<Value = ProtectedItemFacts> {
    (
        word(&["UnplannedFailoverCommitted", "FailedOver", "Protected", "ReprotectInProgress", "Migrated", "ProtectedStatesBegin"]),
        word(&["Recovery", "Primary"]),
        proptest::collection::vec(
            proptest::sample::select(&["ReverseReplicate", "PlannedFailover", "Commit", "DisableProtection"][..]),
            0..3,
        ),
        word(&["InMageAzureV2", "InMage", "InMageRcm"]),
        proptest::option::of(timestamp()),
        proptest::option::of(timestamp()),
        word(&["Normal", "Critical", "Warning"]),
        word(&["None", "Reprotect", "ReverseReplicate"]),
    )
        .prop_map(|(state, location, ops, provider, failover, heartbeat, health, scenario)| ProtectedItemFacts {
            id: "/subscriptions/s/replicationProtectedItems/app-01".into(),
            name: "app-01".into(),
            protection_state: state.map(Into::into),
            active_location: location.map(Into::into),
            allowed_operations: ops.into_iter().collect(),
            provider: provider.map(Into::into),
            last_successful_failover_time: failover,
            agent_last_heartbeat: heartbeat,
            replication_health: health.map(Into::into),
            current_scenario: Some(CurrentScenarioFacts { scenario_name: scenario.map(Into::into), ..Default::default() }),
            ..Default::default()
        })
}

fn job() -> impl Strategy<Value = JobFacts> {
    (
        word(&["InProgress", "Succeeded", "Failed", "Cancelled", "NotStarted", "Suspended", "Other"]),
        proptest::collection::vec(word(&["95226", "78093", "539", "8061", "1"]), 0..3),
        proptest::option::of(timestamp()),
        word(&["Reprotect", "ReverseReplicate", "UnplannedFailover"]),
    )
        .prop_map(|(state, codes, start, scenario)| JobFacts {
            name: "job-1".into(),
            state: state.map(Into::into),
            start_time: start,
            scenario_name: scenario.map(Into::into),
            errors: codes.into_iter().map(|code| JobErrorFacts { code, ..Default::default() }).collect(),
            ..Default::default()
        })
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

/// A tracked job: its facts, whether they were readable, attempt, generation, submission time.
type JobCase = (JobFacts, bool, u32, Option<i64>, Option<Timestamp>);

/// Everything `decide` reads, owned, so that `Input` can borrow from it.
#[derive(Debug, Clone)]
struct World {
    now: Timestamp,
    window: SignedDuration,
    mode: Mode,
    paused: bool,
    power_off: bool,
    item: Option<ProtectedItemFacts>,
    job: Option<JobCase>,
    gates: usize,
    group_waiting: bool,
    powered_on: bool,
    reprotect: bool,
    max_attempts: u32,
    generation: Option<i64>,
    owned_by: Option<String>,
}

fn world() -> impl Strategy<Value = World> {
    (
        (timestamp(), duration(), prop_oneof![Just(Mode::Plan), Just(Mode::Apply)], any::<bool>(), any::<bool>()),
        (
            proptest::option::of(item()),
            proptest::option::of((job(), any::<bool>(), 0u32..20, proptest::option::of(-3i64..5), proptest::option::of(timestamp()))),
        ),
        (0usize..3, any::<bool>(), any::<bool>(), any::<bool>(), 0u32..12, proptest::option::of(-3i64..5)),
        proptest::option::weighted(0.1, Just("team-a/app-01".to_string())),
    )
        .prop_map(
            |(
                (now, window, mode, paused, power_off),
                (item, job),
                (gates, group_waiting, powered_on, reprotect, max_attempts, generation),
                owned_by,
            )| {
                World {
                    now,
                    window,
                    mode,
                    paused,
                    power_off,
                    item,
                    job,
                    gates,
                    group_waiting,
                    powered_on,
                    reprotect,
                    max_attempts,
                    generation,
                    owned_by,
                }
            },
        )
}

fn input(w: &World) -> Input<'_> {
    Input {
        now: w.now,
        generation: w.generation,
        mode: w.mode,
        paused: w.paused,
        power_off_on_premises_vm: w.power_off,
        agent_registration_window: w.window,
        watchdog_interval: Duration::from_secs(300),
        item: w.item.as_ref(),
        job: w.job.as_ref().map(|(facts, readable, attempt, generation, submitted_at)| TrackedJob {
            name: "job-1",
            generation: *generation,
            observed: readable.then_some(facts),
            attempt: *attempt,
            submitted_at: *submitted_at,
        }),
        gates: (0..w.gates).map(|i| Gate { id: format!("rule-{i}"), message: "bad".into(), remedy: "fix".into() }).collect(),
        remediate_disk_uuid: None,
        powered_on_vm: w.powered_on.then(|| VmTarget::new("vm-7", "app-01")),
        group: if w.group_waiting { GroupGate::WaitingFor(vec!["app-02".into()]) } else { GroupGate::Open },
        watchdog: Watchdog { on_premises_vm_powered_on: w.powered_on, master_target_risks: Vec::new() },
        reprotect: w.reprotect.then(request),
        agent_causes: "no S2S VPN".into(),
        reprotect_description: "reprotect app-01".into(),
        max_attempts: w.max_attempts,
        owned_by: w.owned_by.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn decide_answers_every_world_with_a_sane_recheck_and_acts_only_where_it_may(w in world()) {
        let d = decide(&input(&w));
        prop_assert!(d.requeue_after > Duration::ZERO && d.requeue_after <= Duration::from_secs(24 * 3600), "{:?}", d.requeue_after);
        if w.owned_by.is_some() {
            prop_assert!(d.action.is_none() && d.phase != Phase::Protected, "a duplicate acted or claimed progress: {:?}", d.phase);
        }
        if w.paused || w.mode == Mode::Plan {
            prop_assert!(d.action.is_none(), "paused or plan mode acted: {:?}", d.action);
        }
        if matches!(d.action, Some(Action::Reprotect(_))) {
            prop_assert!(w.gates == 0, "reprotect with failing checks");
            prop_assert!(!w.group_waiting, "reprotect while the group waits");
            prop_assert!(w.reprotect, "reprotect without a resolved request");
        }
        if d.phase == Phase::Protected {
            prop_assert!(!matches!(d.action, Some(Action::Reprotect(_))), "a protected machine is never reprotected again");
        }
    }

    #[test]
    fn after_act_folds_any_outcome_into_any_decision_without_panicking(w in world(), j in job(), at in timestamp()) {
        let d = decide(&input(&w));
        let outcomes = [
            Acted::Done,
            Acted::Submitted { job: JobRef { job_name: "job-2".into(), retry_after_seconds: Some(u64::MAX) }, at },
            Acted::Adopted(j.clone()),
            Acted::AlreadyProtected,
            Acted::Rejected(j.errors.first().cloned().unwrap_or_default()),
        ];
        for acted in &outcomes {
            let after = after_act(d.clone(), acted);
            prop_assert!(after.requeue_after > Duration::ZERO, "{acted:?}");
            prop_assert!(after.action.is_none() || after.action == d.action, "after_act never invents an action");
        }
    }
}
