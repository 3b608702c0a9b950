//! Client overhead per call: get_protected_item through ArmClient vs. a bare reqwest GET against asr-sim, and pure parse+mapping time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failed test

use std::time::{Duration, Instant};

use asr_sim::{Scenario, SimOptions};
use reprotect_azure::{ArmClient, ArmClientConfig, AzureAuth, BudgetConfig, CloudConfig, mapping, models};
use reprotect_facts::{SiteRecovery, VaultRef};

fn summary(name: &str, mut d: Vec<Duration>) {
    d.sort();
    let n = d.len();
    let mean = d.iter().sum::<Duration>() / n as u32;
    println!("{name:<44} n={n:<6} mean={mean:>10.2?} p50={:>10.2?} p99={:>10.2?}", d[n / 2], d[(n * 99 / 100).min(n - 1)]);
}

fn time<F: FnMut()>(n: usize, mut f: F) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(500);
    let mut sc = Scenario::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/asr-sim/scenarios/small.yaml")).unwrap();
    // This measures the client's own overhead over hundreds of back-to-back reads, not ARM's limits.
    sc.throttling = asr_sim::ThrottlingSpec::off();
    let sim = asr_sim::start(sc, SimOptions::default()).await.unwrap();
    let (tenant_id, client_id, secret) = sim.credentials();
    let cloud = CloudConfig::custom(sim.base_url.clone(), sim.authority_url.clone(), None).unwrap();
    let mut cfg = ArmClientConfig::new(cloud, AzureAuth::ClientSecret { tenant_id, client_id, client_secret: secret.as_str().into() });
    cfg.extra_ca_pem = Some(sim.ca_pem.clone());
    let unlimited = BudgetConfig { rate_per_second: 1e6, burst: 1_000_000 };
    cfg.limits = reprotect_azure::ArmLimits { reads: unlimited, writes: unlimited };
    let client = ArmClient::new(cfg).unwrap();
    let vault = VaultRef {
        subscription_id: "00000000-0000-0000-0000-000000000001".into(),
        resource_group: "rg-dr".into(),
        vault_name: "vault-dr".into(),
        fabric_name: "cs-fabric-01".into(),
        container_name: Some("cs-container-01".into()),
    };
    client.get_protected_item(&vault, "app-01").await.unwrap(); // token + connection warm-up

    // Bare reqwest with the same CA and a pre-issued token.
    let raw =
        reqwest::Client::builder().add_root_certificate(reqwest::Certificate::from_pem(sim.ca_pem.as_bytes()).unwrap()).build().unwrap();
    let token = sim.issue_token();
    let url = format!(
        "{}subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-dr/providers/Microsoft.RecoveryServices/vaults/vault-dr/replicationFabrics/cs-fabric-01/replicationProtectionContainers/cs-container-01/replicationProtectedItems/app-01?api-version=2026-11-01",
        sim.base_url
    );
    let body = raw.get(&url).bearer_auth(&token).send().await.unwrap().bytes().await.unwrap();

    let mut via_client = Vec::with_capacity(n);
    let mut via_raw = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        raw.get(&url).bearer_auth(&token).send().await.unwrap().bytes().await.unwrap();
        via_raw.push(t.elapsed());
        let t = Instant::now();
        client.get_protected_item(&vault, "app-01").await.unwrap();
        via_client.push(t.elapsed());
    }
    println!("protected item body: {} bytes", body.len());
    summary("GET item, bare reqwest (no parse)", via_raw.clone());
    summary("GET item, ArmClient::get_protected_item", via_client.clone());
    let overhead = via_client.iter().sum::<Duration>().saturating_sub(via_raw.iter().sum::<Duration>()) / n as u32;
    println!("{:<44} {overhead:.2?} per call", "client overhead (mean difference)");

    let m = n * 40;
    summary(
        "parse + map protected item (pure)",
        time(m, || {
            let item: models::ProtectedItem = serde_json::from_slice(&body).unwrap();
            std::hint::black_box(mapping::protected_item_facts(item));
        }),
    );
    let fabric_url = format!(
        "{}subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-dr/providers/Microsoft.RecoveryServices/vaults/vault-dr/replicationFabrics/cs-fabric-01?api-version=2026-11-01",
        sim.base_url
    );
    let fabric = raw.get(&fabric_url).bearer_auth(&token).send().await.unwrap().bytes().await.unwrap();
    println!("fabric body: {} bytes", fabric.len());
    summary(
        "parse + map fabric (pure)",
        time(m, || {
            let f: models::Fabric = serde_json::from_slice(&fabric).unwrap();
            std::hint::black_box(mapping::fabric_facts(f));
        }),
    );
    let t = Instant::now();
    for _ in 0..n {
        client.get_fabric(&vault).await.unwrap();
    }
    println!("{:<44} {:.2?} per call", "get_fabric from the cache", t.elapsed() / n as u32);
    println!("requests by operation: {:?}", client.stats());
}
