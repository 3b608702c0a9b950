//! Whole-pass tests of the ProtectedMachine reconciler: the objects from `examples/`, fakes of Site
//! Recovery and vCenter, and the status each pass would apply (no cluster needed).

use super::lookup::Lookup;
use super::{Outcome, Pass, forget_recorded_submission, run_pass};
use crate::context::{Settings, SubmittedJobs};
use crate::crd::{MasterTarget, Mode, Phase, ProtectedMachine, ProtectedMachineStatus, ReprotectPolicy};
use crate::metrics::Metrics;
use crate::preflight::fixtures;
use crate::reconcile::Connection;
use crate::testing::{FakeSiteRecovery, FakeVault, FakeVcenter};
use jiff::{SignedDuration, Timestamp};
use kube::ResourceExt;
use reprotect_facts::{AsrServiceError, PowerState, SiteRecoveryError};
use std::sync::Arc;

pub(super) use crate::testing::example;

/// One machine of `examples/` against a vault and a vCenter where every prerequisite holds.
pub(super) struct World {
    pub(super) sr: Arc<FakeSiteRecovery>,
    pub(super) vc: Arc<FakeVcenter>,
    pub(super) submitted: SubmittedJobs,
    pub(super) settings: Settings,
    pub(super) metrics: Metrics,
    pub(super) policy: ReprotectPolicy,
    pub(super) mt: MasterTarget,
    pub(super) pm: ProtectedMachine,
    pub(super) peers: Vec<Arc<ProtectedMachine>>,
    /// Other ProtectedMachines of the watched scopes, with their policies.
    pub(super) others: Vec<(Arc<ProtectedMachine>, Option<Arc<ReprotectPolicy>>)>,
    pub(super) now: Timestamp,
}

impl World {
    pub(super) fn new(machine: &str) -> Self {
        let mut policy: ReprotectPolicy = example(include_str!("../../../../examples/01-policy.yaml"), "dr-failback");
        policy.spec.mode = Mode::Apply;
        let mt: MasterTarget = example(include_str!("../../../../examples/02-master-targets.yaml"), "mt-win-01");
        let mut pm: ProtectedMachine = example(include_str!("../../../../examples/03-machines.yaml"), machine);
        pm.metadata.generation = Some(1);
        // The healthy preflight fixture, named as the examples name things.
        let mut facts = fixtures::healthy_observed();
        fixtures::ps(&mut facts).friendly_name = policy.spec.defaults.process_server.clone().unwrap_or_default();
        if let Some(vcs) = facts.discovered_vcenters.as_mut() {
            vcs[0].name = policy.spec.vcenter.server.clone();
        }
        let vault = FakeVault {
            fabric: facts.fabric.clone().unwrap_or_default(),
            items: facts.item.clone().into_iter().collect(),
            policies: facts.policies.clone().unwrap_or_default(),
            vcenters: facts.discovered_vcenters.clone().unwrap_or_default(),
            now: Some(fixtures::now()),
            azure_vms: facts.item.iter().filter_map(|i| i.target_vm_id.as_ref()).map(|id| id.text().to_ascii_lowercase()).collect(),
            ..FakeVault::default()
        };
        World {
            sr: Arc::new(FakeSiteRecovery::new(vault)),
            vc: Arc::new(FakeVcenter::new(facts.vcenter.clone().unwrap_or_default())),
            submitted: SubmittedJobs::default(),
            settings: Settings::default(),
            metrics: Metrics::default(),
            policy,
            mt,
            pm,
            peers: Vec::new(),
            others: Vec::new(),
            now: fixtures::now(),
        }
    }

    /// A machine outside any replication group.
    pub(super) fn single() -> Self {
        let mut w = World::new("app-01");
        w.pm.spec.replication_group = None;
        w
    }

    /// One pass; its status is recorded on the machine as the apply step would.
    pub(super) async fn pass(&mut self) -> Outcome {
        let master_target_asr_names = [(self.mt.name_any(), self.mt.spec.asr_name.clone())].into();
        let lookup = Lookup {
            policy: Arc::new(self.policy.clone()),
            master_target: Arc::new(self.mt.clone()),
            peers: self.peers.clone(),
            master_target_asr_names,
            others: super::lookup::OtherMachines::Listed(self.others.iter().map(|(m, _)| m.clone()).collect()),
            policies_in_scope: self.others.iter().filter_map(|(_, p)| p.clone()).collect(),
        };
        let conn =
            Connection { vault: crate::reconcile::vault_ref(&self.policy), site_recovery: self.sr.clone(), vcenter: self.vc.clone() };
        let leader = crate::leader::LeaderGuard::unconditional();
        let pass = Pass {
            pm: &self.pm,
            lookup: &lookup,
            conn: &conn,
            submitted: &self.submitted,
            settings: &self.settings,
            metrics: &self.metrics,
            leader: &leader,
        };
        let outcome = run_pass(&pass, self.now).await;
        forget_recorded_submission(&self.submitted, &self.pm);
        if let Some(status) = &outcome.status {
            // As the API server keeps it (times in whole seconds), as the next pass reads it from the store.
            let stored = serde_json::to_value(status).and_then(serde_json::from_value).expect("status round-trips");
            self.pm.status = Some(stored);
        }
        self.now += SignedDuration::from_secs(30);
        outcome
    }

    pub(super) fn status(&self) -> &ProtectedMachineStatus {
        self.pm.status.as_ref().expect("a pass wrote status")
    }

    pub(super) fn reason(&self) -> String {
        self.status().conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.reason.to_string()).unwrap_or_default()
    }

    pub(super) fn reason_message(&self) -> String {
        self.status().conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.message.to_string()).unwrap_or_default()
    }

    pub(super) fn item(&self, f: impl FnOnce(&mut reprotect_facts::ProtectedItemFacts)) {
        self.sr.with(|v| f(&mut v.items[0]));
    }
}

#[tokio::test]
async fn a_blocked_machine_is_reprotected_once_its_cause_is_fixed_and_then_reported_protected() {
    let mut w = World::single();
    w.vc.with(|f| f.master_target.as_mut().map(|m| m.snapshot_count = Some(2)));
    w.pass().await;
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::Blocked, "PreflightFailed"));
    assert!(w.status().conditions.iter().any(|c| c.message.contains("mt-no-snapshots")));
    assert_eq!(w.sr.posts(), 0);
    let passed = w.status().passed_check_ids.len();
    let total = passed + w.status().checks.len();
    assert!(passed > 0 && passed < total);
    assert_eq!(w.status().checks_passed.as_deref(), Some(format!("{passed}/{total}").as_str()), "the Checks column of kubectl get pm");

    w.vc.with(|f| f.master_target.as_mut().map(|m| m.snapshot_count = Some(0)));
    let acted = w.pass().await;
    assert_eq!(w.status().phase, Phase::Reprotecting);
    assert_eq!(w.sr.posts(), 1);
    assert!(acted.notes.iter().any(|n| n.reason == "ReprotectStarted"), "{:?}", acted.notes);
    assert_eq!(w.status().job.as_ref().map(|j| j.name.as_str()), Some("job-1"));
    assert_eq!(
        *w.status().recorded_master_target_datastores,
        [reprotect_facts::SharedText::from("datastore-1")],
        "Storage vMotion baseline recorded"
    );

    assert_eq!(w.submitted.recorded(), 1, "the submission is remembered until the stored status names its job");

    w.pass().await;
    assert_eq!((w.status().phase, w.sr.posts()), (Phase::Reprotecting, 1), "a running job is followed, never resubmitted");
    assert_eq!(w.submitted.recorded(), 0, "the stored status names the job: the process's record of it is gone");

    w.sr.finish_job("job-1", None);
    w.pass().await;
    assert_eq!(w.status().phase, Phase::Protected);
    assert_eq!(w.sr.posts(), 1);
    let job = w.status().job.clone().expect("the job stays recorded");
    assert_eq!(job.state.as_deref(), Some("Succeeded"), "the outcome the item shows, not the last state read");
}

#[tokio::test]
async fn a_check_that_fails_is_listed_with_its_evidence_and_remedy_and_one_that_passes_by_its_id_only() {
    let mut w = World::single();
    w.vc.with(|f| f.master_target.as_mut().map(|m| m.snapshot_count = Some(2)));
    w.pass().await;
    let checks = &w.status().checks;
    let failing = checks.iter().find(|c| c.id == "mt-no-snapshots").expect("the snapshot check ran");
    assert_eq!(failing.status, "Fail");
    assert!(failing.message.contains('2') && !failing.remedy.is_empty(), "what was seen and what to do stay: {failing:?}");
    assert!(checks.iter().all(|c| c.status != "Pass"), "{checks:#?}");
    let passed = &w.status().passed_check_ids;
    assert!(passed.iter().any(|id| id == "cs-heartbeat") && !passed.iter().any(|id| id == "mt-no-snapshots"), "{passed:?}");

    // Two machines whose checks passed alike hold one list of ids.
    let mut other = World::single();
    other.pass().await;
    let mut again = World::single();
    again.pass().await;
    assert!(std::ptr::eq(&*other.status().passed_check_ids, &*again.status().passed_check_ids));
}

#[tokio::test]
async fn a_submitted_job_is_not_read_while_the_item_list_predates_its_post_and_is_read_once_a_later_list_cannot_tell() {
    let mut w = World::single();
    w.pass().await;
    assert_eq!((w.status().phase, w.sr.posts()), (Phase::Reprotecting, 1));
    // The cached list still shows the item as it was before the POST: no scenario running.
    w.item(|i| i.current_scenario = None);
    w.sr.with(|v| v.item_list_predates_write = true);
    w.pass().await;
    assert_eq!(w.sr.with(|v| v.job_reads), 0, "the list is older than the job: the next listing will tell");
    assert_eq!((w.status().phase, w.sr.posts()), (Phase::Reprotecting, 1));
    assert_eq!(w.status().job.as_ref().and_then(|j| j.state.as_deref()), Some("InProgress"));

    // A list fetched after the POST that shows no job running: only the job can say how it ended.
    w.sr.finish_job("job-1", Some("SomeFailure"));
    w.item(|i| i.current_scenario = None);
    w.sr.with(|v| v.item_list_predates_write = false);
    w.pass().await;
    assert_eq!(w.sr.with(|v| v.job_reads), 1);
    assert_eq!(w.status().job.as_ref().and_then(|j| j.state.as_deref()), Some("Failed"));
}

#[tokio::test]
async fn a_friendly_name_two_items_share_blocks_as_ambiguous_item_naming_both_and_never_posts() {
    let mut w = World::single();
    w.pm.spec.item.name = None;
    w.pm.spec.item.friendly_name = Some("app-01".into());
    w.sr.with(|v| {
        let mut twin = v.items[0].clone();
        twin.name = "app-01-restored".into();
        twin.id = format!("{}-restored", twin.id).into();
        v.items.push(twin);
    });
    w.pass().await;
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::Blocked, "AmbiguousItem"));
    let message = w.status().conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.message.clone()).unwrap_or_default();
    assert!(message.contains("app-01-restored") && message.contains("item-unique"), "{message}");
    assert_eq!(w.sr.posts(), 0);
}

#[tokio::test]
async fn a_reprotect_whose_answer_was_lost_before_a_crash_is_adopted_not_sent_again() {
    let mut w = World::single();
    let lost = AsrServiceError {
        operation: "reProtect".into(),
        status: 503,
        code: "ServiceUnavailable".into(),
        inner_code: None,
        message: "try later".into(),
        possible_causes: None,
        recommended_action: None,
    };
    w.sr.with(|v| v.lose_next_post_answer = Some(SiteRecoveryError::Service(lost)));
    let failed = w.pass().await;
    assert!(failed.error.as_ref().is_some_and(|e| e.is_transient()), "{:?}", failed.error);
    assert!(failed.status.is_none(), "no status is written after a failed action");
    assert!(failed.notes.iter().any(|n| n.warning), "the failed action is reported");
    assert_eq!(w.sr.posts(), 1);

    // A new process: nothing in memory, nothing in status; the item shows the running job.
    w.submitted = SubmittedJobs::default();
    for _ in 0..3 {
        w.pass().await;
    }
    assert_eq!(w.status().phase, Phase::Reprotecting);
    let job = w.status().job.clone().expect("job recorded");
    assert_eq!((job.name.as_str(), job.adopted), ("job-1", true));
    assert_eq!(w.sr.posts(), 1, "exactly one POST in total");
}

fn service_error(status: u16, code: &str) -> SiteRecoveryError {
    SiteRecoveryError::Service(AsrServiceError {
        operation: "reProtect".into(),
        status,
        code: code.into(),
        inner_code: None,
        message: format!("{code} from ASR"),
        possible_causes: None,
        recommended_action: None,
    })
}

#[tokio::test]
async fn a_reprotect_whose_answer_was_lost_and_whose_job_then_failed_is_recorded_and_never_sent_again() {
    let mut w = World::single();
    w.sr.with(|v| v.lose_next_post_answer = Some(service_error(503, "ServiceUnavailable")));
    w.pass().await;
    w.sr.finish_job("job-1", Some("78052"));
    w.submitted = SubmittedJobs::default();
    for _ in 0..4 {
        w.pass().await;
    }
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::Blocked, "ReprotectJobFailed"));
    let job = w.status().job.clone().expect("the failed job is recorded");
    assert_eq!((job.name.as_str(), job.error_code.as_deref()), ("job-1", Some("78052")));
    assert_eq!(w.sr.posts(), 1, "one POST in total, however often the machine is looked at");
}

#[tokio::test]
async fn a_reprotect_asr_refuses_outright_is_reported_and_not_resent_until_the_spec_changes() {
    let mut w = World::single();
    w.sr.with(|v| v.reject_next_post = Some(service_error(400, "InvalidDatastore")));
    let refused = w.pass().await;
    assert!(refused.error.is_none(), "a refusal is an outcome, not a reconcile error: {:?}", refused.error);
    assert!(refused.notes.iter().any(|n| n.reason == "ReprotectRejected" && n.warning));
    for _ in 0..3 {
        w.pass().await;
    }
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::Blocked, "ReprotectJobFailed"));
    assert!(w.status().conditions.iter().any(|c| c.message.contains("InvalidDatastore")));
    assert_eq!(w.sr.posts(), 1);

    w.pm.metadata.generation = Some(2);
    w.pass().await;
    assert_eq!((w.status().phase, w.sr.posts()), (Phase::Reprotecting, 2), "a spec change retries");
}

#[tokio::test]
async fn an_agent_failure_after_the_window_is_retried_once_the_agent_registers() {
    let mut w = World::single();
    w.pass().await;
    w.sr.finish_job("job-1", Some("95226"));
    w.sr.with(|v| v.jobs.get_mut("job-1").map(|j| j.end_time = Some(fixtures::ago(0))));
    w.item(|i| i.agent_last_heartbeat = Some(fixtures::ago(10)));
    w.pass().await;
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::Blocked, "AgentNotRegistered"), "window closed, agent silent");
    w.pass().await;
    assert_eq!(w.sr.posts(), 1);

    w.item(|i| i.agent_last_heartbeat = Some(fixtures::now() + SignedDuration::from_mins(1)));
    w.pass().await;
    assert_eq!((w.status().phase, w.sr.posts()), (Phase::Reprotecting, 2), "retried once the agent registered");
    assert_eq!(w.status().job.as_ref().map(|j| j.attempt), Some(2));
}

#[tokio::test]
async fn a_failed_job_is_retried_only_for_an_unregistered_agent_inside_the_window() {
    // The agent's window is still open (failover five minutes ago, agent registered since).
    let mut w = World::single();
    w.item(|i| i.last_successful_failover_time = Some(fixtures::ago(5)));
    w.item(|i| i.agent_last_heartbeat = Some(fixtures::ago(1)));
    w.pass().await;
    w.sr.finish_job("job-1", Some("95226"));
    w.pass().await;
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::WaitingForAgent, "AgentNotRegistered"));
    assert_eq!(w.status().job.as_ref().and_then(|j| j.error_code.as_deref()), Some("95226"), "the failed job stays recorded");
    w.pass().await;
    assert_eq!((w.status().phase, w.sr.posts()), (Phase::WaitingForAgent, 1), "no retry before the agent registers");
    w.item(|i| i.agent_last_heartbeat = Some(fixtures::now() + SignedDuration::from_mins(1)));
    w.pass().await;
    assert_eq!((w.status().phase, w.sr.posts()), (Phase::Reprotecting, 2), "retried once the agent is registered");

    // Any other failure needs a person: blocked with ASR's code, never resubmitted.
    let mut w = World::single();
    w.pass().await;
    w.sr.finish_job("job-1", Some("78052"));
    for _ in 0..3 {
        w.pass().await;
    }
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::Blocked, "ReprotectJobFailed"));
    assert!(w.status().conditions.iter().any(|c| c.message.contains("78052")));
    assert_eq!(w.status().job.as_ref().and_then(|j| j.state.as_deref()), Some("Failed"), "status.job.state is kept current");
    assert_eq!(w.sr.posts(), 1);
}

#[tokio::test]
async fn a_paused_machine_takes_no_action_at_all() {
    let mut w = World::single();
    w.vc.with(|f| f.on_premises_vms.values_mut().flatten().for_each(|vm| vm.power_state = Some(PowerState::PoweredOn)));
    w.pm.annotations_mut().insert("reprotect.io/paused".into(), "true".into());
    let outcome = w.pass().await;
    assert_eq!(w.status().phase, Phase::Paused);
    assert!(outcome.notes.iter().all(|n| n.action == "PhaseChange"));
    assert_eq!(w.sr.posts(), 0);
    assert!(w.vc.powered_off.lock().unwrap().is_empty());
}

#[tokio::test]
async fn plan_mode_lists_the_power_off_and_the_reprotect_and_does_neither() {
    let mut w = World::single();
    w.policy.spec.mode = Mode::Plan;
    w.vc.with(|f| f.on_premises_vms.values_mut().flatten().for_each(|vm| vm.power_state = Some(PowerState::PoweredOn)));
    w.pass().await;
    let planned = &w.status().planned_actions;
    assert_eq!(planned.len(), 2, "{planned:?}");
    assert!(planned[0].starts_with("power off on-premises VM app-01") && planned[1].starts_with("reprotect app-01"), "{planned:?}");
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::Validating, "Planned"));
    assert!(w.status().conditions.iter().filter(|c| c.type_ != "PreflightPassed").all(|c| c.status == "False"), "plan mode is idle");
    assert_eq!(w.sr.posts(), 0);
    assert!(w.vc.powered_off.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_group_member_waits_for_its_peers_and_goes_once_they_are_ready() {
    let mut w = World::new("app-01");
    let mut peer: ProtectedMachine = example(include_str!("../../../../examples/03-machines.yaml"), "app-02");
    w.peers = vec![Arc::new(peer.clone())];
    w.pass().await;
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::Validating, "WaitingForGroup"));
    assert!(w.status().conditions.iter().any(|c| c.message.contains(&peer.name_any())));
    assert_eq!(w.sr.posts(), 0);

    peer.status = Some(ProtectedMachineStatus { phase: Phase::Reprotecting, ..Default::default() });
    w.peers = vec![Arc::new(peer)];
    w.pass().await;
    assert_eq!((w.status().phase, w.sr.posts()), (Phase::Reprotecting, 1));
}

#[tokio::test]
async fn a_group_with_a_member_azure_has_but_nobody_declared_is_blocked_as_incomplete_until_the_policy_allows_it() {
    let mut w = World::new("app-01");
    let mut peer: ProtectedMachine = example(include_str!("../../../../examples/03-machines.yaml"), "app-02");
    peer.status = Some(ProtectedMachineStatus { phase: Phase::Reprotecting, ..Default::default() });
    w.peers = vec![Arc::new(peer)];
    // Site Recovery groups three items; the third (a GUID name, friendly name app-03) has no ProtectedMachine.
    w.sr.with(|v| {
        v.items[0].multi_vm_group_name = Some("app-group".into());
        for (name, friendly) in [("app-02", "app-02"), ("4cf82a59-0b1c", "app-03")] {
            let mut it = v.items[0].clone();
            (it.name, it.friendly_name) = (name.into(), Some(friendly.into()));
            v.items.push(it);
        }
    });
    w.pass().await;
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::Blocked, "IncompleteGroup"));
    let message = w.status().conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.message.clone()).unwrap_or_default();
    assert!(message.contains("app-03") && !message.contains("4cf82a59"), "names the member a person knows: {message}");
    assert_eq!(w.sr.posts(), 0);

    w.policy.spec.allow_partial_groups = true;
    w.pass().await;
    assert_eq!((w.status().phase, w.sr.posts()), (Phase::Reprotecting, 1), "a partial group the policy allows goes ahead");
}

#[tokio::test]
async fn a_pass_that_changes_nothing_yields_the_status_already_recorded() {
    let mut w = World::single();
    w.vc.with(|f| f.master_target.as_mut().map(|m| m.snapshot_count = Some(2)));
    w.pass().await;
    w.pass().await;
    let first = w.status().clone();
    let again = w.pass().await;
    assert_eq!(again.status.as_ref(), Some(&first), "no field (nextCheckAt included) moves when nothing changed");
}

#[tokio::test]
async fn a_failover_time_azure_reports_to_the_microsecond_does_not_make_an_unchanged_pass_write_status() {
    let mut w = World::single();
    w.vc.with(|f| f.master_target.as_mut().map(|m| m.snapshot_count = Some(2)));
    w.item(|i| i.last_successful_failover_time = i.last_successful_failover_time.map(|t| t + SignedDuration::from_micros(319_207)));
    w.pass().await;
    let first = w.status().clone();
    assert!(first.agent_window_deadline.is_some(), "the deadline is derived from the failover time");
    let again = w.pass().await.status.expect("a status");
    let wire = |s: &ProtectedMachineStatus| serde_json::to_value(s).expect("serializes");
    assert_eq!(wire(&again), wire(&first), "no field (nextCheckAt included) moves when nothing changed");
    assert!(crate::reconcile::same_on_the_wire(&again, &first), "so the apply step writes nothing");
}

#[tokio::test]
async fn a_job_from_an_earlier_disaster_is_history_on_the_next_failover() {
    // The first disaster, three months ago (heartbeats of the fixture are "now", so fresh then too).
    let mut w = World::single();
    w.now = fixtures::ago(90 * 24 * 60);
    let (then, failed_over) = (w.now, w.now - SignedDuration::from_hours(2));
    w.sr.with(|v| v.now = Some(then));
    w.item(|i| i.last_successful_failover_time = Some(failed_over));
    w.item(|i| i.agent_last_heartbeat = Some(then - SignedDuration::from_mins(5)));
    w.pass().await;
    w.sr.finish_job("job-1", None);
    w.pass().await;
    assert_eq!(w.status().phase, Phase::Protected);
    // Today the machine fails over again; the old job (already purged by Azure) is not followed.
    let failover = fixtures::ago(30);
    w.now = fixtures::now();
    w.sr.with(|v| {
        v.jobs.clear();
        v.now = Some(w.now);
        let item = &mut v.items[0];
        item.provider = Some("InMageAzureV2".into());
        item.protection_state = Some("UnplannedFailoverCommitted".into());
        item.allowed_operations = vec!["ReverseReplicate"].into();
        item.last_successful_failover_time = Some(failover);
        item.agent_last_heartbeat = Some(failover + SignedDuration::from_mins(5));
    });
    let outcome = w.pass().await;
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert_eq!(w.status().phase, Phase::Reprotecting, "reason {}", w.reason());
    assert_eq!(w.sr.posts(), 2);
    assert_eq!(w.status().job.as_ref().map(|j| j.name.as_str()), Some("job-2"));
}

#[tokio::test]
async fn a_machine_naming_an_item_that_an_older_machine_owns_is_blocked_as_duplicate_and_never_posts() {
    let mut w = World::single();
    let mut older = w.pm.clone();
    older.metadata.namespace = Some("team-a".into());
    older.metadata.creation_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(fixtures::now() - SignedDuration::from_hours(1)));
    w.pm.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(fixtures::now()));
    // Its policy is the same vault's, in its own namespace.
    let mut its_policy = w.policy.clone();
    its_policy.metadata.namespace = Some("team-a".into());
    w.others = vec![(Arc::new(older), Some(Arc::new(its_policy)))];
    w.pass().await;
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::Blocked, "DuplicateItem"));
    let ready = w.status().conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.message.clone()).unwrap_or_default();
    assert!(ready.contains("team-a/app-01"), "names the owner: {ready}");
    assert_eq!(w.sr.posts(), 0);

    // The older one is deleted: the item has one owner again and this machine goes ahead.
    w.others.clear();
    w.pass().await;
    assert_eq!((w.status().phase, w.sr.posts()), (Phase::Reprotecting, 1));
}

#[tokio::test]
async fn an_on_premises_vm_name_shared_by_two_vms_blocks_as_ambiguous_and_nothing_is_powered_off() {
    let mut w = World::single();
    w.policy.spec.power_off_on_premises_vm = true;
    w.vc.with(|f| {
        let key = f.on_premises_vms.keys().next().cloned().expect("fixture has the on-premises VM");
        f.on_premises_vms.insert(key.clone(), None);
        f.ambiguous_vms.insert(key, vec!["vm-11".into(), "vm-12".into()]);
    });
    w.pass().await;
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::Blocked, "AmbiguousVm"));
    let ready = w.status().conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.message.clone()).unwrap_or_default();
    assert!(ready.contains("vm-11") && ready.contains("vm-12"), "{ready}");
    assert_eq!(w.sr.posts(), 0);
    assert!(w.vc.powered_off.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_power_off_selects_the_vm_by_the_identity_observed_not_by_its_name() {
    let mut w = World::single();
    w.policy.spec.power_off_on_premises_vm = true;
    let moref = w.vc.with(|f| {
        let vm = f.on_premises_vms.values_mut().flatten().next().expect("fixture has the on-premises VM");
        vm.power_state = Some(PowerState::PoweredOn);
        vm.moref.clone()
    });
    w.pass().await;
    assert_eq!(*w.vc.powered_off.lock().unwrap(), vec![reprotect_facts::VmSelector::MoRef(moref)]);
}

#[tokio::test]
async fn the_vm_site_recovery_records_for_the_item_is_chosen_over_a_name_that_matches_two_vms() {
    let mut w = World::single();
    w.policy.spec.power_off_on_premises_vm = true;
    w.item(|i| i.vm_id = Some("4217ABCD-0000-1111-2222-333344445555".into()));
    w.vc.with(|f| {
        let key = f.on_premises_vms.keys().next().cloned().expect("fixture has the on-premises VM");
        let mut vm = f.on_premises_vms.get(&key).cloned().flatten().expect("found");
        f.on_premises_vms.insert(key.clone(), None);
        f.ambiguous_vms.insert(key, vec!["vm-11".into(), "vm-12".into()]);
        vm.moref = "vm-12".into();
        vm.power_state = Some(PowerState::PoweredOn);
        f.on_premises_vms.insert(reprotect_facts::VmSelector::Uuid("4217abcd-0000-1111-2222-333344445555".into()).key(), Some(vm));
    });
    w.pass().await;
    assert_ne!(w.reason(), "AmbiguousVm", "the recorded identity decides, not the shared name");
    assert_eq!(*w.vc.powered_off.lock().unwrap(), vec![reprotect_facts::VmSelector::MoRef("vm-12".into())]);
}
