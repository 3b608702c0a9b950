//! Whole-pass tests of the reprotect (no cluster needed): one POST followed to Protected, lost answers adopted, refusals and
//! failed jobs retried only when allowed, an earlier disaster's job left as history, and a status that moves only on a change.

use crate::context::SubmittedJobs;
use crate::crd::{Phase, ProtectedMachineStatus};
use crate::preflight::fixtures;
use jiff::SignedDuration;
use reprotect_facts::{AsrServiceError, SiteRecoveryError};

// The fixture lives in `test_world`; `failback_tests` reaches it by this path too.
pub(super) use super::test_world::World;

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
