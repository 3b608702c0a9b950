//! The ARM client against the asr-sim simulator: real azure_identity token flow over the sim's CA, paging, LRO, faults.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failed test

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use asr_sim::{FaultKind, FaultRule, RunningSim, Scenario, SimOptions};
use reprotect_azure::{ArmClient, ArmClientConfig, ArmLimits, AzureAuth, BudgetConfig, CloudConfig, RetryConfig, mapping::reprotect_body};
use reprotect_facts::*;

const SUB: &str = "00000000-0000-0000-0000-000000000001";

async fn sim() -> RunningSim {
    let sc = Scenario::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/asr-sim/scenarios/small.yaml")).unwrap();
    asr_sim::start(sc, SimOptions { listen: "127.0.0.1:0".parse().unwrap(), time_scale: 1.0 }).await.unwrap()
}

fn config(sim: &RunningSim, secret: Option<&str>) -> ArmClientConfig {
    let (tenant_id, client_id, real_secret) = sim.credentials();
    let auth = AzureAuth::ClientSecret { tenant_id, client_id, client_secret: secret.unwrap_or(&real_secret).into() };
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

fn client(sim: &RunningSim) -> ArmClient {
    ArmClient::new(config(sim, None)).unwrap()
}

fn vault(fabric: &str, container: Option<&str>) -> VaultRef {
    VaultRef {
        subscription_id: SUB.into(),
        resource_group: "rg-dr".into(),
        vault_name: "vault-dr".into(),
        fabric_name: fabric.into(),
        container_name: container.map(Into::into),
    }
}

fn dr() -> VaultRef {
    vault("cs-fabric-01", Some("cs-container-01"))
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

#[tokio::test]
async fn a_client_secret_token_from_the_simulator_authorises_arm_calls_and_is_cached() {
    let sim = sim().await;
    let c = client(&sim);
    let fabric = c.get_fabric(&dr()).await.unwrap();
    assert_eq!(fabric.host_name.as_deref(), Some("cs-01.corp.local"));
    c.list_policies(&dr()).await.unwrap();
    assert_eq!(sim.count("POST", "/oauth2/v2.0/token"), 1);
}

#[tokio::test]
async fn a_wrong_client_secret_is_a_credentials_error_returned_quickly() {
    let sim = sim().await;
    let c = ArmClient::new(config(&sim, Some("not-the-secret"))).unwrap();
    let started = Instant::now();
    let err = c.get_fabric(&dr()).await.unwrap_err();
    assert_eq!(err.class(), AsrErrorClass::Credentials, "{err}");
    assert!(err.to_string().contains("7000215"), "{err}");
    assert!(!err.to_string().contains("not-the-secret"));
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(sim.count("GET", "replicationFabrics"), 0);
}

#[tokio::test]
async fn the_fabric_carries_master_targets_process_servers_vcenters_and_accounts() {
    let sim = sim().await;
    let c = client(&sim);
    let f = c.get_fabric(&dr()).await.unwrap();
    let lin = f.master_target("MT-LIN-01").unwrap();
    assert_eq!(lin.os_type.as_deref(), Some("Linux"));
    assert_eq!(lin.retention_volumes[0].volume_name, "/mnt/retention");
    assert!(lin.datastores.iter().any(|d| d.symbolic_name == "ds-nfs-01" && d.datastore_type.as_deref() == Some("NFS")));
    assert!(lin.last_heartbeat.is_some());
    assert!(f.process_server("ps-01").is_some());
    assert_eq!(f.run_as_accounts[0].account_name, "vcenter-admin");
    let vcs = c.list_vcenters(&dr()).await.unwrap();
    assert_eq!(vcs[0].discovery_status.as_deref(), Some("Completed"));
}

#[tokio::test]
async fn protected_items_are_listed_across_pages() {
    let sim = sim().await;
    let c = client(&sim);
    let items = c.list_protected_items(&dr()).await.unwrap();
    let mut names: Vec<_> = items.iter().map(|i| i.friendly_name.clone().unwrap_or_default()).collect();
    names.sort();
    assert_eq!(names, ["app-01", "app-02", "app-03", "db-01", "web-legacy"]);
    assert!(sim.count("GET", "/replicationProtectedItems") >= 3, "page size 2 needs 3 pages");
    assert!(items.iter().all(|i| i.can_reverse_replicate()));
}

#[tokio::test]
async fn the_container_is_discovered_when_not_given() {
    let sim = sim().await;
    let c = client(&sim);
    let items = c.list_protected_items(&vault("cs-fabric-01", None)).await.unwrap();
    assert_eq!(items.len(), 5);
    let again = c.get_protected_item(&vault("CS-FABRIC-01", None), &items[0].name).await.unwrap();
    assert_eq!(again.name, items[0].name);
}

#[tokio::test]
async fn a_reprotect_yields_the_job_from_location_and_the_job_succeeds() {
    let sim = sim().await;
    let c = client(&sim);
    let req = request_for(&c, "app-01").await;
    let body = serde_json::to_value(reprotect_body(&req)).unwrap();
    asr_sim::conformance::validate("ReverseReplicationInput", &body).unwrap();
    let job = c.reprotect(&dr(), &req).await.unwrap();
    assert!(job.retry_after_seconds.is_some());
    let running = c.get_job(&dr(), &job.job_name).await.unwrap();
    assert!(!running.is_finished(), "{:?}", running.state);
    let item = c.get_protected_item(&dr(), "app-01").await.unwrap();
    let adopted = c.list_jobs_for(&dr(), &item.id.text().to_ascii_uppercase()).await.unwrap();
    assert!(adopted.iter().any(|j| j.name == job.job_name), "list_jobs_for finds the in-flight job");
    sim.advance_time(Duration::from_secs(600));
    let done = c.get_job(&dr(), &job.job_name).await.unwrap();
    assert!(done.succeeded(), "{:?} {:?}", done.state, done.errors);
    assert!(c.get_protected_item(&dr(), "app-01").await.unwrap().is_protected_in_reverse());
}

#[tokio::test]
async fn a_reprotect_before_the_agent_registers_fails_with_95226() {
    let sim = sim().await;
    let c = client(&sim);
    let req = request_for(&c, "web-legacy").await;
    let job = c.reprotect(&dr(), &req).await.unwrap();
    sim.advance_time(Duration::from_secs(60));
    let failed = c.get_job(&dr(), &job.job_name).await.unwrap();
    assert!(failed.is_finished() && !failed.succeeded(), "{:?}", failed.state);
    let err = &failed.errors[0];
    assert_eq!(err.code.as_deref(), Some("95226"));
    assert_eq!(classify_job_error(err), AsrErrorClass::AgentNotRegistered);
}

#[tokio::test]
async fn throttling_waits_for_retry_after() {
    let sim = sim().await;
    let c = client(&sim);
    c.get_fabric(&dr()).await.unwrap(); // token
    sim.inject_fault(FaultRule::new("replicationPolicies", FaultKind::TooManyRequests { retry_after_s: 1 }).method("GET").times(1));
    let started = Instant::now();
    c.list_policies(&dr()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "{:?}", started.elapsed());
    assert_eq!(sim.count("GET", "replicationPolicies"), 2);
    assert_eq!(c.stats().get(&("list_policies".to_string(), 429)), Some(&1));
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let sim = sim().await;
    let c = client(&sim);
    sim.inject_fault(FaultRule::new("replicationvCenters", FaultKind::ServerError(503)).times(2));
    assert_eq!(c.list_vcenters(&dr()).await.unwrap().len(), 1);
    assert_eq!(sim.count("GET", "replicationvCenters"), 3);
    let stats = c.stats();
    assert_eq!((stats[&("list_vcenters".to_string(), 503)], stats[&("list_vcenters".to_string(), 200)]), (2, 1));
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let sim = sim().await;
    let c = client(&sim);
    let err = c.get_protected_item(&dr(), "no-such-vm").await.unwrap_err();
    assert_eq!(err.class(), AsrErrorClass::NotFound, "{err}");
    assert_eq!(sim.count("GET", "no-such-vm"), 1);
    assert_eq!(c.total_requests(), 1);
}

#[tokio::test]
async fn a_missing_fabric_is_not_found() {
    let sim = sim().await;
    let err = client(&sim).get_fabric(&vault("cs-gone", Some("x"))).await.unwrap_err();
    assert_eq!(err.class(), AsrErrorClass::NotFound, "{err}");
    assert!(
        matches!(&err, SiteRecoveryError::Service(e) if e.code == "FabricArmEntityMissing" || e.inner_code.as_deref() == Some("SubscriptionIdNotRegisteredWithSrs")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_reprotect_is_not_resent_after_the_connection_dropped() {
    let sim = sim().await;
    let c = client(&sim);
    let req = request_for(&c, "app-02").await;
    sim.inject_fault(FaultRule::new("/reProtect", FaultKind::DropConnection).method("POST").times(1));
    let err = c.reprotect(&dr(), &req).await.unwrap_err();
    assert_eq!(err.class(), AsrErrorClass::Transient, "{err}");
    assert_eq!(sim.count("POST", "/reProtect"), 1);
}

#[tokio::test]
async fn a_throttled_reprotect_is_resent_after_retry_after() {
    let sim = sim().await;
    let c = client(&sim);
    let req = request_for(&c, "app-03").await;
    sim.inject_fault(FaultRule::new("/reProtect", FaultKind::TooManyRequests { retry_after_s: 1 }).method("POST").times(1));
    c.reprotect(&dr(), &req).await.unwrap();
    assert_eq!(sim.count("POST", "/reProtect"), 2);
}

#[tokio::test]
async fn concurrent_fabric_reads_cost_one_request() {
    let sim = sim().await;
    let c = Arc::new(client(&sim));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.get_fabric(&dr()).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(sim.count("GET", "/replicationFabrics/cs-fabric-01"), 1);
    assert_eq!(c.stats().get(&("get_fabric".to_string(), 200)), Some(&1));
}

#[tokio::test]
async fn the_subscription_read_budget_paces_requests() {
    let sim = sim().await;
    let mut cfg = config(&sim, None);
    cfg.limits.reads = BudgetConfig { rate_per_second: 10.0, burst: 1 };
    let c = ArmClient::new(cfg).unwrap();
    let started = Instant::now();
    for _ in 0..6 {
        c.get_protected_item(&dr(), "app-01").await.unwrap();
    }
    assert!(started.elapsed() >= Duration::from_millis(450), "{:?}", started.elapsed());
}

#[tokio::test]
async fn an_untrusted_server_certificate_fails_fast_as_transient() {
    let sim = sim().await;
    let mut cfg = config(&sim, None);
    cfg.extra_ca_pem = None;
    cfg.retry.max_retries = 1;
    let started = Instant::now();
    let err = ArmClient::new(cfg).unwrap().get_fabric(&dr()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
    assert_eq!(err.class(), AsrErrorClass::Transient, "{err}");
}

#[tokio::test]
async fn workload_identity_exchanges_the_federated_token_at_the_configured_authority() {
    let sim = sim().await;
    let (tenant_id, client_id, _) = sim.credentials();
    let file = std::env::temp_dir().join(format!("wi-token-{}", std::process::id()));
    std::fs::write(&file, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln").unwrap();
    let with = |client_id: String| {
        let mut cfg = config(&sim, None);
        cfg.auth =
            AzureAuth::WorkloadIdentity { tenant_id: Some(tenant_id.clone()), client_id: Some(client_id), token_file: Some(file.clone()) };
        ArmClient::new(cfg).unwrap()
    };
    with(client_id).get_fabric(&dr()).await.unwrap();
    assert_eq!(sim.count("POST", "/oauth2/v2.0/token"), 1);
    let err = with("99999999-0000-0000-0000-000000000000".into()).get_fabric(&dr()).await.unwrap_err();
    assert_eq!(err.class(), AsrErrorClass::Credentials, "{err}");
    let _ = std::fs::remove_file(file);
}

#[tokio::test]
async fn adopting_jobs_for_many_items_costs_one_listing_and_a_reprotect_refreshes_it() {
    let sim = sim().await;
    let c = Arc::new(client(&sim));
    let req = request_for(&c, "app-01").await;
    let first = c.reprotect(&dr(), &req).await.unwrap();
    let before = sim.count("GET", "/replicationJobs");
    let items = ["app-01", "app-02", "app-03", "db-01", "web-legacy"];
    let tasks: Vec<_> = items
        .into_iter()
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.list_jobs_for(&dr(), i).await })
        })
        .collect();
    let mut found = vec![];
    for t in tasks {
        found.push(t.await.unwrap().unwrap());
    }
    assert!(found[0].iter().any(|j| j.name == first.job_name));
    assert!(found[1..].iter().all(|f| f.is_empty()));
    let one_listing = sim.count("GET", "/replicationJobs") - before;
    assert!((1..=2).contains(&one_listing), "{one_listing} pages for five items");
    let second = c.reprotect(&dr(), &request_for(&c, "app-02").await).await.unwrap();
    assert!(c.list_jobs_for(&dr(), "app-02").await.unwrap().iter().any(|j| j.name == second.job_name), "stale job list after reprotect");
}

#[tokio::test]
async fn a_reprotect_answered_with_a_server_error_is_not_resent() {
    let sim = sim().await;
    let c = client(&sim);
    let req = request_for(&c, "db-01").await;
    sim.inject_fault(FaultRule::new("/reProtect", FaultKind::ServerError(500)).method("POST").times(1));
    let err = c.reprotect(&dr(), &req).await.unwrap_err();
    assert_eq!(err.class(), AsrErrorClass::Transient, "{err}");
    assert_eq!(sim.count("POST", "/reProtect"), 1);
    assert!(c.list_jobs_for(&dr(), "db-01").await.unwrap().is_empty(), "nothing to adopt: the controller may submit again");
}

#[tokio::test]
async fn the_job_feed_reads_only_the_jobs_started_since_with_the_filter_powershell_sends() {
    let sim = sim().await;
    let c = client(&sim);
    let before = sim.now();
    assert!(sim.fail_over_again("app-01"), "app-01 in the scenario");
    // The failover's job started three minutes before it ended (as recorded): a bound after its start leaves it out.
    let recent = c.list_jobs_started_since(&dr(), before - jiff::SignedDuration::from_mins(5)).await.unwrap();
    assert_eq!(
        recent.iter().map(|j| j.target_object_id.as_ref().map(|t| t.text())).collect::<Vec<_>>(),
        [Some("app-01".into())],
        "{recent:?}"
    );
    assert_eq!(recent[0].scenario_name.as_deref(), Some("UnplannedFailover"));
    assert!(c.list_jobs_started_since(&dr(), sim.now()).await.unwrap().is_empty(), "no job started since now");
    let sent = sim.requests().into_iter().filter(|r| r.path.ends_with("/replicationJobs")).count();
    assert_eq!(sent, 2, "never cached: one read per call");
    let query = sim.requests().into_iter().filter_map(|r| r.query.clone()).find(|q| q.contains("filter")).unwrap_or_default();
    assert!(query.contains("$filter=StartTime%20eq%20%27") && query.contains(".0000000Z%27"), "{query}");
}
