//! The ARM client against the simulator's faults that look like success: every 202 header variant,
//! a job not readable right after the 202, a POST accepted but answered 5xx, a token expiring
//! mid-run, huge and malformed bodies, and a failing token endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failed test

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use asr_sim::{FaultKind, FaultRule, LroHeaders, Malformed, RunningSim, Scenario, SimOptions};
use reprotect_azure::{ArmClient, ArmClientConfig, ArmLimits, AzureAuth, BudgetConfig, CloudConfig, RetryConfig, TokenBackoffConfig};
use reprotect_facts::*;

const TOKEN: &str = "/oauth2/v2.0/token";

fn scenario() -> Scenario {
    Scenario::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/asr-sim/scenarios/small.yaml")).unwrap()
}

async fn start(sc: Scenario) -> RunningSim {
    asr_sim::start(sc, SimOptions { listen: "127.0.0.1:0".parse().unwrap(), time_scale: 1.0 }).await.unwrap()
}

fn config(sim: &RunningSim) -> ArmClientConfig {
    let (tenant_id, client_id, client_secret) = sim.credentials();
    let auth = AzureAuth::ClientSecret { tenant_id, client_id, client_secret: client_secret.as_str().into() };
    let cloud = CloudConfig::custom(sim.base_url.clone(), sim.authority_url.clone(), None).unwrap();
    let mut c = ArmClientConfig::new(cloud, auth);
    c.extra_ca_pem = Some(sim.ca_pem.clone());
    c.retry = RetryConfig {
        max_retries: 3,
        min_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
        max_retry_after: Duration::from_secs(5),
    };
    let fast = BudgetConfig { rate_per_second: 1000.0, burst: 1000 };
    c.limits = ArmLimits { reads: fast, writes: fast };
    c
}

fn dr() -> VaultRef {
    VaultRef {
        subscription_id: "00000000-0000-0000-0000-000000000001".into(),
        resource_group: "rg-dr".into(),
        vault_name: "vault-dr".into(),
        fabric_name: "cs-fabric-01".into(),
        container_name: Some("cs-container-01".into()),
    }
}

async fn request_for(c: &ArmClient, item: &str) -> ReprotectRequest {
    let fabric = c.get_fabric(&dr()).await.unwrap();
    let mt = fabric.master_target("mt-win-01").unwrap();
    let policy = c.list_policies(&dr()).await.unwrap().into_iter().find(|p| p.provider.as_deref() == Some("InMage")).unwrap();
    ReprotectRequest {
        item_name: item.into(),
        master_target_id: mt.id.clone(),
        process_server_id: fabric.process_server("ps-01").unwrap().id.clone(),
        retention_drive: mt.retention_volumes[0].volume_name.clone(),
        profile_id: policy.id,
        run_as_account_id: Some(fabric.run_as_accounts[0].account_id.clone()),
        datastore_name: mt.datastores[0].symbolic_name.clone(),
    }
}

/// The job names the simulator holds for `item`.
fn sim_jobs(sim: &RunningSim, item: &str) -> Vec<String> {
    sim.with_world(|w| w.vaults[0].jobs.iter().filter(|j| j.item == item).map(|j| j.name.clone()).collect())
}

async fn reprotect_with(headers: LroHeaders) -> (RunningSim, ArmClient, Result<JobRef, SiteRecoveryError>) {
    let mut sc = scenario();
    sc.defaults.lro_headers = headers;
    let sim = start(sc).await;
    let c = ArmClient::new(config(&sim)).unwrap();
    let req = request_for(&c, "app-01").await;
    let job = c.reprotect(&dr(), &req).await;
    (sim, c, job)
}

#[tokio::test]
async fn a_202_with_only_azure_asyncoperation_yields_the_job() {
    let (sim, c, job) = reprotect_with(LroHeaders::AsyncOperation).await;
    let job = job.expect("no decode error");
    assert_eq!(sim_jobs(&sim, "app-01"), std::slice::from_ref(&job.job_name));
    assert_eq!(job.retry_after_seconds, Some(10), "Retry-After is passed on");
    let facts = c.get_job(&dr(), &job.job_name).await.unwrap();
    assert_eq!((facts.name.as_str(), facts.state.as_deref()), (job.job_name.as_str(), Some("InProgress")));
}

#[tokio::test]
async fn a_202_with_only_location_or_with_both_headers_yields_the_job() {
    for headers in [LroHeaders::Location, LroHeaders::Both] {
        let (sim, c, job) = reprotect_with(headers).await;
        let job = job.unwrap();
        assert_eq!(sim_jobs(&sim, "app-01"), std::slice::from_ref(&job.job_name), "{headers:?}");
        assert_eq!(job.retry_after_seconds, Some(10));
        assert!(c.get_job(&dr(), &job.job_name).await.is_ok());
    }
}

#[tokio::test]
async fn rotating_202_headers_never_make_a_reprotect_fail() {
    let sim = start(scenario()).await; // default: both, Azure-AsyncOperation only, Location only
    let c = ArmClient::new(config(&sim)).unwrap();
    for item in ["app-01", "app-02", "app-03"] {
        let job = c.reprotect(&dr(), &request_for(&c, item).await).await.unwrap();
        assert_eq!(sim_jobs(&sim, item), [job.job_name]);
    }
    assert_eq!(sim.count("POST", "/reProtect"), 3, "no second POST");
}

#[tokio::test]
async fn a_job_not_readable_right_after_the_202_is_waited_for_and_never_reported_missing() {
    let mut sc = scenario();
    sc.defaults.job_visible_after = jiff::SignedDuration::from_millis(300);
    let sim = start(sc).await;
    let c = ArmClient::new(config(&sim)).unwrap();
    let job = c.reprotect(&dr(), &request_for(&c, "app-01").await).await.unwrap();
    let facts = c.get_job(&dr(), &job.job_name).await.unwrap();
    assert_eq!(facts.name, job.job_name);
    assert!(sim.count_status(404) >= 1, "the simulator did answer 404 first");
}

#[tokio::test]
async fn a_job_still_not_readable_after_the_retries_is_a_transient_error_and_is_read_later() {
    let mut sc = scenario();
    sc.defaults.job_visible_after = jiff::SignedDuration::from_secs(30);
    let sim = start(sc).await;
    let c = ArmClient::new(config(&sim)).unwrap();
    let job = c.reprotect(&dr(), &request_for(&c, "app-01").await).await.unwrap();
    let err = c.get_job(&dr(), &job.job_name).await.unwrap_err();
    assert_eq!(err.class(), AsrErrorClass::Transient, "{err}");
    assert!(err.to_string().contains("not readable yet"), "{err}");
    assert_eq!(sim.count("POST", "/reProtect"), 1);
    sim.advance_time(Duration::from_secs(31));
    assert_eq!(c.get_job(&dr(), &job.job_name).await.unwrap().name, job.job_name);
    // A job this client did not start is simply not found, at once.
    let before = sim.count("GET", "/replicationJobs/");
    let err = c.get_job(&dr(), "00000000-dead-beef-0000-000000000000").await.unwrap_err();
    assert_eq!(err.class(), AsrErrorClass::NotFound, "{err}");
    assert_eq!(sim.count("GET", "/replicationJobs/") - before, 1);
}

#[tokio::test]
async fn a_reprotect_accepted_but_answered_503_is_not_resent_and_list_jobs_for_shows_its_one_job() {
    let sim = start(scenario()).await;
    let c = ArmClient::new(config(&sim)).unwrap();
    let req = request_for(&c, "app-02").await;
    let before = c.list_jobs_for(&dr(), "app-02").await.unwrap();
    assert!(before.is_empty());
    sim.inject_fault(FaultRule::new("/reProtect", FaultKind::AcceptThenFail(503)).method("POST").times(1));
    let err = c.reprotect(&dr(), &req).await.unwrap_err();
    assert_eq!(err.class(), AsrErrorClass::Transient, "{err}");
    assert_eq!(sim.count("POST", "/reProtect"), 1, "no second POST");
    let jobs = c.list_jobs_for(&dr(), "app-02").await.unwrap();
    assert_eq!(jobs.len(), 1, "the lost answer's job is there to adopt (no stale cached list)");
    assert_eq!(jobs[0].state.as_deref(), Some("InProgress"));
    assert_eq!(sim_jobs(&sim, "app-02"), [jobs[0].name.clone()]);
    sim.advance_time(Duration::from_secs(600));
    assert!(c.get_job(&dr(), &jobs[0].name).await.unwrap().succeeded());
}

#[tokio::test]
async fn a_failed_job_of_a_lost_answer_is_listed_with_its_errors() {
    let sim = start(scenario()).await;
    let c = ArmClient::new(config(&sim)).unwrap();
    let req = request_for(&c, "web-legacy").await; // agent not registered yet: the job fails
    sim.inject_fault(FaultRule::new("/reProtect", FaultKind::AcceptThenFail(500)).method("POST").times(1));
    assert!(c.reprotect(&dr(), &req).await.is_err());
    sim.advance_time(Duration::from_secs(60));
    tokio::time::sleep(Duration::from_millis(20)).await;
    let jobs = c.list_jobs_for(&dr(), "web-legacy").await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert!(jobs[0].is_finished() && !jobs[0].succeeded(), "{:?}", jobs[0].state);
    assert_eq!(classify_job_errors(&jobs[0].errors), AsrErrorClass::AgentNotRegistered);
}

#[tokio::test]
async fn an_expired_token_mid_run_is_renewed_once_and_the_read_succeeds() {
    let sim = start(scenario()).await;
    let c = ArmClient::new(config(&sim)).unwrap();
    c.get_fabric(&dr()).await.unwrap();
    assert_eq!(sim.count("POST", TOKEN), 1);
    sim.inject_fault(FaultRule::new("/replicationPolicies", FaultKind::ExpireToken).times(1));
    c.list_policies(&dr()).await.unwrap();
    assert_eq!((sim.count("GET", "/replicationPolicies"), sim.count("POST", TOKEN)), (2, 2));
    assert_eq!(c.stats().get(&("list_policies".to_string(), 401)), Some(&1));
    c.list_vcenters(&dr()).await.unwrap();
    assert_eq!(sim.count("POST", TOKEN), 2, "the new token is cached");
}

#[tokio::test]
async fn a_reprotect_refused_with_401_is_sent_once_more_with_a_new_token_and_starts_one_job() {
    let sim = start(scenario()).await;
    let c = ArmClient::new(config(&sim)).unwrap();
    let req = request_for(&c, "app-03").await;
    sim.inject_fault(FaultRule::new("/reProtect", FaultKind::ExpireToken).method("POST").times(1));
    let job = c.reprotect(&dr(), &req).await.unwrap();
    assert_eq!(sim.count("POST", "/reProtect"), 2);
    assert_eq!(sim_jobs(&sim, "app-03"), [job.job_name]);
}

#[tokio::test]
async fn a_second_401_in_a_row_is_a_credentials_error_without_a_third_request() {
    let sim = start(scenario()).await;
    let mut cfg = config(&sim);
    cfg.token_backoff.min_delay = Duration::from_secs(1); // also the least time between two renewals
    let c = ArmClient::new(cfg).unwrap();
    let req = request_for(&c, "app-02").await;
    sim.inject_fault(FaultRule::new("/reProtect", FaultKind::ExpireToken).method("POST").times(2));
    let err = c.reprotect(&dr(), &req).await.unwrap_err();
    assert_eq!(err.class(), AsrErrorClass::Credentials, "{err}");
    assert!(err.to_string().contains("ExpiredAuthenticationToken"), "{err}");
    assert_eq!(sim.count("POST", "/reProtect"), 2);
    assert!(sim_jobs(&sim, "app-02").is_empty(), "a refused POST starts nothing");
    let tokens = sim.count("POST", TOKEN);
    let err = c.reprotect(&dr(), &req).await.unwrap_err();
    assert_eq!(err.class(), AsrErrorClass::Credentials, "{err}");
    assert_eq!((sim.count("POST", "/reProtect"), sim.count("POST", TOKEN)), (3, tokens), "no renewal storm: not renewed again so soon");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let job = c.reprotect(&dr(), &req).await.unwrap();
    assert_eq!(sim_jobs(&sim, "app-02"), [job.job_name], "the next call renews the token again");
}

#[tokio::test]
async fn a_huge_response_is_a_decode_error_naming_the_operation_and_is_not_retried() {
    let sim = start(scenario()).await;
    let c = ArmClient::new(config(&sim)).unwrap();
    sim.inject_fault(FaultRule::new("/replicationPolicies", FaultKind::HugeResponse(9)).method("GET").times(1));
    let err = c.list_policies(&dr()).await.unwrap_err();
    assert!(
        matches!(&err, SiteRecoveryError::Decode { operation, message } if operation == "list_policies" && message.contains("larger than")),
        "{err:?}"
    );
    assert_eq!(err.class(), AsrErrorClass::Transient);
    assert_eq!(sim.count("GET", "/replicationPolicies"), 1);
    assert_eq!(c.list_policies(&dr()).await.unwrap().len(), 2);
    // Within the cap, a padded answer still reads.
    sim.inject_fault(FaultRule::new("/replicationvCenters", FaultKind::HugeResponse(2)).method("GET").times(1));
    assert_eq!(c.list_vcenters(&dr()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn malformed_json_is_a_decode_error_naming_the_operation() {
    let sim = start(scenario()).await;
    let c = ArmClient::new(config(&sim)).unwrap();
    sim.inject_fault(FaultRule::new("/replicationFabrics/", FaultKind::MalformedJson(Malformed::Truncated)).method("GET").times(1));
    let err = c.get_fabric(&dr()).await.unwrap_err();
    assert!(matches!(&err, SiteRecoveryError::Decode { operation, .. } if operation == "get_fabric"), "{err:?}");
    let job = c.reprotect(&dr(), &request_for(&c, "app-01").await).await.unwrap();
    sim.inject_fault(FaultRule::new("/replicationJobs/", FaultKind::MalformedJson(Malformed::WrongType)).method("GET").times(1));
    let err = c.get_job(&dr(), &job.job_name).await.unwrap_err();
    assert!(matches!(&err, SiteRecoveryError::Decode { operation, .. } if operation == "get_job"), "{err:?}");
    sim.inject_fault(FaultRule::new("/replicationJobs", FaultKind::MalformedJson(Malformed::WrongType)).method("GET").times(1));
    let err = c.list_jobs_for(&dr(), "app-02").await.unwrap_err();
    assert!(matches!(&err, SiteRecoveryError::Decode { operation, .. } if operation == "list_jobs"), "{err:?}");
}

#[tokio::test]
async fn a_failing_token_endpoint_is_asked_at_most_four_times_in_twenty_seconds() {
    let sim = start(scenario()).await;
    sim.inject_fault(FaultRule::new(TOKEN, FaultKind::TokenError(503)));
    let c = Arc::new(ArmClient::new(config(&sim)).unwrap()); // default token backoff and retries
    let started = Instant::now();
    let mut calls = 0;
    while started.elapsed() < Duration::from_secs(20) {
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let c = c.clone();
                tokio::spawn(async move { c.get_fabric(&dr()).await })
            })
            .collect();
        for t in tasks {
            let err = t.await.unwrap().unwrap_err();
            assert_eq!(err.class(), AsrErrorClass::Transient, "{err}");
            calls += 1;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let asked = sim.count("POST", TOKEN);
    assert!(calls > 100 && (1..=4).contains(&asked), "{calls} calls made {asked} token requests");
    assert_eq!(sim.count("GET", "/replicationFabrics"), 0);
}

#[tokio::test]
async fn after_the_token_endpoint_recovers_a_call_succeeds_once_the_backoff_has_passed() {
    let sim = start(scenario()).await;
    sim.inject_fault(FaultRule::new(TOKEN, FaultKind::TokenError(400)));
    let mut cfg = config(&sim);
    cfg.token_backoff = TokenBackoffConfig { min_delay: Duration::from_secs(1), max_delay: Duration::from_secs(2) };
    let c = ArmClient::new(cfg).unwrap();
    let err = c.get_fabric(&dr()).await.unwrap_err();
    assert_eq!(err.class(), AsrErrorClass::Credentials, "{err}");
    assert!(err.to_string().contains("AADSTS7000222"), "{err}");
    let again = c.get_fabric(&dr()).await.unwrap_err();
    assert_eq!(again.to_string(), err.to_string(), "the same error, without asking Entra again");
    assert_eq!(sim.count("POST", TOKEN), 1);
    sim.clear_faults();
    assert!(c.get_fabric(&dr()).await.is_err(), "still backing off");
    let started = Instant::now();
    while c.get_fabric(&dr()).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(5), "backoff never ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sim.count("POST", TOKEN), 2);
}

#[tokio::test]
async fn a_202_naming_a_separate_operation_id_as_in_azures_example_still_yields_the_job() {
    let mut sc = scenario();
    sc.defaults.lro_headers = LroHeaders::AsyncOperation;
    sc.defaults.async_operation_id = asr_sim::AsyncOperationId::Distinct;
    let sim = start(sc).await;
    let c = ArmClient::new(config(&sim)).unwrap();
    let job = c.reprotect(&dr(), &request_for(&c, "app-01").await).await.unwrap();
    assert_eq!(sim_jobs(&sim, "app-01"), std::slice::from_ref(&job.job_name), "found through the item's unfinished job");
    assert_eq!(c.get_job(&dr(), &job.job_name).await.unwrap().state.as_deref(), Some("InProgress"));
}
