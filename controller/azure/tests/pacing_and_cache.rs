//! The ARM client against a throttling simulator (Azure's figures unless a test says otherwise):
//! reprotect bursts paced without a 429, learning from ARM's headers, and the one cache layer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failed test

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use asr_sim::{BucketSpec, RunningSim, Scenario, SimOptions, ThrottlingSpec};
use reprotect_azure::{ArmClient, ArmClientConfig, ArmLimits, AzureAuth, BudgetConfig, CloudConfig};
use reprotect_facts::*;

const SUB: &str = "00000000-0000-0000-0000-000000000001";

/// One vault of `items` machines failed over, agents registered, jobs of 5 s, pages of `page`.
async fn sim(items: usize, page: usize, throttling: ThrottlingSpec) -> RunningSim {
    let yaml = format!(
        "defaults: {{ agent_registration_delay: 0s, job_duration: 5s, failed_over_ago: 1m, page_size: {page} }}
vaults: [ {{ subscription: {SUB}, resource_group: rg-dr, name: vault-dr, generate: {{ count: {items}, prefix: vm-, linux_every: 0, group_size: 0 }} }} ]"
    );
    let mut sc = Scenario::from_yaml(&yaml).unwrap();
    sc.throttling = throttling;
    asr_sim::start(sc, SimOptions::default()).await.unwrap()
}

fn config(sim: &RunningSim) -> ArmClientConfig {
    let (tenant_id, client_id, client_secret) = sim.credentials();
    let auth = AzureAuth::ClientSecret { tenant_id, client_id, client_secret: client_secret.as_str().into() };
    let mut c = ArmClientConfig::new(CloudConfig::custom(sim.base_url.clone(), sim.authority_url.clone(), None).unwrap(), auth);
    c.extra_ca_pem = Some(sim.ca_pem.clone());
    c
}

fn dr() -> VaultRef {
    VaultRef {
        subscription_id: SUB.into(),
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

#[tokio::test]
async fn a_burst_of_500_reprotects_in_one_subscription_draws_no_429_from_azures_limits() {
    let sim = sim(500, 100, ThrottlingSpec::default()).await;
    let c = Arc::new(ArmClient::new(config(&sim)).unwrap());
    assert_eq!(config(&sim).limits, ArmLimits::azure());
    let template = request_for(&c, "vm-0001").await;
    let started = Instant::now();
    let tasks: Vec<_> = (1..=500)
        .map(|i| {
            let (c, mut req) = (c.clone(), template.clone());
            req.item_name = format!("vm-{i:04}");
            tokio::spawn(async move { c.reprotect(&dr(), &req).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let took = started.elapsed();
    assert_eq!(sim.count_status(429), 0, "throttled {} times", sim.count_status(429));
    assert_eq!(sim.count("POST", "/reProtect"), 500);
    // The physical limit: 200 at once, then 10 per second: (500 - 200) / 10 = 30 s.
    assert!(took >= Duration::from_secs(27), "faster than ARM allows: {took:?}");
    assert!(took <= Duration::from_secs(36), "slower than 1.2x the limit: {took:?}");
    assert!(sim.shared().throttle.spec().enabled);
}

#[tokio::test]
async fn a_client_learns_from_the_remaining_header_that_another_caller_spent_its_writes() {
    let writes = BucketSpec { bucket: 10, refill_per_second: 5.0 };
    let sim = sim(20, 100, ThrottlingSpec { writes, ..ThrottlingSpec::default() }).await;
    let mut cfg = config(&sim);
    cfg.limits.writes = BudgetConfig { rate_per_second: 5.0, burst: 10 };
    let c = ArmClient::new(cfg).unwrap();
    let template = request_for(&c, "vm-0001").await;
    // Another process with the same service principal spends 8 of the 10 writes.
    let http =
        reqwest::Client::builder().add_root_certificate(reqwest::Certificate::from_pem(sim.ca_pem.as_bytes()).unwrap()).build().unwrap();
    let token = sim.issue_token();
    for i in 11..=18 {
        let url = format!(
            "{}subscriptions/{SUB}/resourceGroups/rg-dr/providers/Microsoft.RecoveryServices/vaults/vault-dr/replicationFabrics/cs-fabric-01/replicationProtectionContainers/cs-container-01/replicationProtectedItems/vm-{i:04}/reProtect?api-version=2026-11-01",
            sim.base_url
        );
        assert_eq!(http.post(url).bearer_auth(&token).json(&serde_json::json!({})).send().await.unwrap().status().as_u16(), 400);
    }
    for i in 1..=6 {
        c.reprotect(&dr(), &ReprotectRequest { item_name: format!("vm-{i:04}"), ..template.clone() }).await.unwrap();
    }
    assert_eq!(sim.count_status(429), 0, "the client spent writes ARM had already given to someone else");
}

#[tokio::test]
async fn item_policy_and_vcenter_lists_cost_one_listing_for_concurrent_callers_until_a_reprotect() {
    let sim = sim(12, 5, ThrottlingSpec::default()).await;
    let mut cfg = config(&sim);
    cfg.write_refresh_min_age = Duration::ZERO;
    let c = Arc::new(ArmClient::new(cfg).unwrap());
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move {
                let v = dr();
                let (items, policies, vcenters) = tokio::join!(c.list_protected_items(&v), c.list_policies(&v), c.list_vcenters(&v));
                (items.unwrap().len(), policies.unwrap().len(), vcenters.unwrap().len())
            })
        })
        .collect();
    for t in tasks {
        let (items, policies, vcenters) = t.await.unwrap();
        assert_eq!(items, 12, "every page of 5 followed");
        assert!(policies > 0 && vcenters > 0);
    }
    let item_pages = || sim.count("GET", "/replicationProtectionContainers/cs-container-01/replicationProtectedItems");
    assert_eq!(item_pages(), 3, "one listing of three pages");
    assert_eq!(sim.count("GET", "/replicationPolicies"), 1);
    assert_eq!(sim.count("GET", "/replicationvCenters"), 1);
    c.list_protected_items(&dr()).await.unwrap();
    assert_eq!(item_pages(), 3, "still cached");
    c.reprotect(&dr(), &request_for(&c, "vm-0001").await).await.unwrap();
    let after = c.list_protected_items(&dr()).await.unwrap();
    assert_eq!(item_pages(), 6, "a reprotect through the client retires the vault's item list");
    let vm1 = after.iter().find(|i| i.name == "vm-0001").unwrap();
    assert!(vm1.current_scenario.as_ref().and_then(|s| s.job_id.as_ref()).is_some(), "the fresh list shows the reprotect");
    assert_eq!(sim.count("GET", "/replicationPolicies"), 1, "policies are not retired by a reprotect");
}

#[tokio::test]
async fn a_zero_ttl_lists_every_time() {
    let sim = sim(3, 5, ThrottlingSpec::default()).await;
    let mut cfg = config(&sim);
    cfg.fabric_cache_ttl = Duration::ZERO;
    let c = ArmClient::new(cfg).unwrap();
    c.list_policies(&dr()).await.unwrap();
    c.list_policies(&dr()).await.unwrap();
    assert_eq!(sim.count("GET", "/replicationPolicies"), 2);
}

#[tokio::test]
async fn the_job_list_follows_next_link_across_pages() {
    let sim = sim(7, 2, ThrottlingSpec::default()).await;
    let c = ArmClient::new(config(&sim)).unwrap();
    let template = request_for(&c, "vm-0001").await;
    let mut last = None;
    for i in 1..=7 {
        last = Some(c.reprotect(&dr(), &ReprotectRequest { item_name: format!("vm-{i:04}"), ..template.clone() }).await.unwrap());
    }
    let before = sim.count("GET", "/replicationJobs");
    let jobs = c.list_jobs_for(&dr(), "vm-0007").await.unwrap();
    assert!(jobs.iter().any(|j| Some(&j.name) == last.as_ref().map(|l| &l.job_name)), "{jobs:?}");
    assert!(sim.count("GET", "/replicationJobs") - before >= 4, "seven jobs in pages of two");
}

/// GETs of a vault's job list (not of single jobs).
fn job_listings(sim: &RunningSim) -> usize {
    sim.requests().iter().filter(|r| r.method == "GET" && r.path.to_ascii_lowercase().ends_with("/replicationjobs")).count()
}

#[tokio::test]
async fn a_burst_of_reprotects_lists_items_once_per_interval_and_jobs_again_only_for_the_item_written() {
    let sim = sim(30, 100, ThrottlingSpec::default()).await;
    let mut cfg = config(&sim);
    cfg.write_refresh_min_age = Duration::from_secs(2);
    let c = ArmClient::new(cfg).unwrap();
    let template = request_for(&c, "vm-0001").await;
    let item_listings = || sim.count("GET", "/replicationProtectionContainers/cs-container-01/replicationProtectedItems");
    c.list_protected_items(&dr()).await.unwrap();
    c.list_jobs_for(&dr(), "vm-0030").await.unwrap();
    let started = Instant::now();
    // What a burst of machines does: each looks at its jobs, POSTs, and the vault's list is read in between.
    for i in 1..=20 {
        let name = format!("vm-{i:04}");
        c.list_jobs_for(&dr(), &name).await.unwrap();
        c.reprotect(&dr(), &ReprotectRequest { item_name: name, ..template.clone() }).await.unwrap();
        c.list_protected_items(&dr()).await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    // One listing at the start, then at most one per 2 s of the burst (not one per POST).
    assert!(item_listings() <= 2 + (elapsed / 2.0) as usize, "{} item listings in {elapsed:.1}s", item_listings());
    assert_eq!(job_listings(&sim), 1, "another item's POST never retires the job list an item reads");
    // The item written reads its jobs afresh, and sees the job its POST started.
    let jobs = c.list_jobs_for(&dr(), "vm-0020").await.unwrap();
    assert_eq!(job_listings(&sim), 2);
    assert!(!jobs.is_empty(), "the job of vm-0020's reprotect is in the fresh list");
    c.list_jobs_for(&dr(), "vm-0020").await.unwrap();
    assert_eq!(job_listings(&sim), 2, "once fresh, it is cached again");
    // Once the list is older than the interval, the item list shows every reprotect.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let items = c.list_protected_items(&dr()).await.unwrap();
    let reprotecting = |i: &&ProtectedItemFacts| {
        let scenario = i.current_scenario.as_ref().and_then(|s| s.scenario_name.as_deref()).unwrap_or_default().to_ascii_lowercase();
        scenario.contains("reprotect") || scenario.contains("reversereplicat") || i.is_protected_in_reverse()
    };
    assert_eq!(items.iter().filter(reprotecting).count(), 20, "the refreshed list shows all twenty reprotects");
}

#[tokio::test]
async fn a_vault_whose_list_takes_several_pages_is_relisted_during_a_burst_only_once_per_interval_per_page() {
    // 40 items in pages of 10: a listing costs four reads.
    let sim = sim(40, 10, ThrottlingSpec::default()).await;
    let mut cfg = config(&sim);
    cfg.write_refresh_min_age = Duration::from_secs(1);
    let c = ArmClient::new(cfg).unwrap();
    let template = request_for(&c, "vm-0001").await;
    let page_reads = || sim.count("GET", "/replicationProtectionContainers/cs-container-01/replicationProtectedItems");
    c.list_protected_items(&dr()).await.unwrap();
    let before = page_reads();
    assert_eq!(before, 4, "one listing is four pages");
    let started = Instant::now();
    for i in 1..=20 {
        c.reprotect(&dr(), &ReprotectRequest { item_name: format!("vm-{i:04}"), ..template.clone() }).await.unwrap();
        c.list_protected_items(&dr()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let listings = (page_reads() - before) / 4;
    // Re-listed at most once per 4 s (1 s per page), not once per second.
    assert!(listings <= 1 + (elapsed / 4.0) as usize, "{listings} listings of four pages in {elapsed:.1}s");
}

#[tokio::test]
async fn a_job_list_of_several_pages_is_reused_for_as_many_intervals_as_it_took_pages() {
    let sim = sim(12, 3, ThrottlingSpec::default()).await;
    let mut cfg = config(&sim);
    cfg.jobs_cache_ttl = Duration::from_millis(500);
    let c = ArmClient::new(cfg).unwrap();
    let template = request_for(&c, "vm-0001").await;
    for i in 1..=9 {
        c.reprotect(&dr(), &ReprotectRequest { item_name: format!("vm-{i:04}"), ..template.clone() }).await.unwrap();
    }
    c.list_jobs_for(&dr(), "vm-0012").await.unwrap();
    let pages = job_listings(&sim);
    assert!(pages >= 3, "nine jobs in pages of three: {pages} pages");
    // One TTL later a one-page list would be read again; this one is kept for `pages` TTLs.
    tokio::time::sleep(Duration::from_millis(800)).await;
    c.list_jobs_for(&dr(), "vm-0011").await.unwrap();
    assert_eq!(job_listings(&sim), pages, "still within {pages} × 500 ms");
    tokio::time::sleep(Duration::from_millis(500 * pages as u64)).await;
    c.list_jobs_for(&dr(), "vm-0011").await.unwrap();
    assert_eq!(job_listings(&sim), 2 * pages, "read again once older than that");
}

#[tokio::test]
async fn an_item_list_read_before_a_post_is_known_to_predate_it_until_it_is_read_again() {
    let sim = sim(3, 100, ThrottlingSpec::default()).await;
    let mut cfg = config(&sim);
    cfg.write_refresh_min_age = Duration::from_millis(200);
    let c = ArmClient::new(cfg).unwrap();
    let template = request_for(&c, "vm-0001").await;
    assert!(!c.item_list_predates_write(&dr(), "vm-0001").await, "nothing listed, nothing written");
    c.list_protected_items(&dr()).await.unwrap();
    c.reprotect(&dr(), &ReprotectRequest { item_name: "vm-0001".into(), ..template.clone() }).await.unwrap();
    assert!(c.item_list_predates_write(&dr(), "vm-0001").await, "listed before the POST");
    assert!(!c.item_list_predates_write(&dr(), "vm-0002").await, "another item was not written");
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.list_protected_items(&dr()).await.unwrap();
    assert!(!c.item_list_predates_write(&dr(), "VM-0001").await, "read again after the POST (names compare as ARM's do)");
}

#[tokio::test]
async fn passes_share_the_cached_item_list_instead_of_copying_it() {
    let sim = sim(5, 100, ThrottlingSpec::default()).await;
    let c = ArmClient::new(config(&sim)).unwrap();
    let first = c.shared_protected_items(&dr(), None).await.unwrap();
    let second = c.shared_protected_items(&dr(), Some(Duration::from_secs(60))).await.unwrap();
    assert_eq!(first.len(), 5);
    assert!(Arc::ptr_eq(&first, &second), "one list in memory, however many passes hold it");
}
