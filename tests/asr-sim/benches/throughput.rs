//! Requests per second the simulator sustains for item GETs on loopback (reqwest, concurrency 32).
//!
//! `cargo bench -p asr-sim --bench throughput [-- REQUESTS CONCURRENCY]` (defaults 20000, 32; capped at 30 s).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let total = args.first().copied().unwrap_or(20_000);
    let conc = args.get(1).copied().unwrap_or(32);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(run(total, conc));
}

async fn run(total: usize, conc: usize) {
    let mut sc = asr_sim::Scenario::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/large.yaml")).unwrap();
    // The simulator's own capacity, not ARM's limits: throttling would refuse most of these.
    sc.throttling = asr_sim::ThrottlingSpec::off();
    let sim = asr_sim::start(sc, asr_sim::SimOptions::default()).await.unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(sim.ca_pem.as_bytes()).unwrap())
        .pool_max_idle_per_host(conc)
        .build()
        .unwrap();
    let token = Arc::new(sim.issue_token());
    let base = format!(
        "{}Subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-dr/providers/Microsoft.RecoveryServices/vaults",
        sim.base_url
    );
    let urls: Arc<Vec<String>> = Arc::new(
        (1..=10)
            .flat_map(|v| (1..=100).map(move |i| (v, i)))
            .map(|(v, i)| format!("{base}/vault-dr-{v:02}/replicationFabrics/cs-fabric-01/replicationProtectionContainers/cs-container-01/replicationProtectedItems/vm-{i:04}?api-version=2026-11-01"))
            .collect(),
    );
    // Warm-up: open connections.
    let warm: Vec<_> = (0..conc)
        .map(|i| {
            let (h, u, t) = (http.clone(), urls[i % urls.len()].clone(), token.clone());
            tokio::spawn(async move {
                h.get(u).bearer_auth(&*t).send().await.unwrap().bytes().await.unwrap();
            })
        })
        .collect();
    for w in warm {
        w.await.unwrap();
    }
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(30);
    let start = Instant::now();
    let workers: Vec<_> = (0..conc)
        .map(|_| {
            let (http, urls, token, next, errors) = (http.clone(), urls.clone(), token.clone(), next.clone(), errors.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total || Instant::now() > deadline {
                        break;
                    }
                    match http.get(&urls[n % urls.len()]).bearer_auth(&*token).send().await {
                        Ok(r) if r.status() == 200 => {
                            let _ = r.bytes().await;
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let el = start.elapsed();
    let done = next.load(Ordering::Relaxed).min(total);
    println!(
        "asr-sim throughput: {done} item GETs, concurrency {conc}, {:.2}s, {:.0} req/s, errors {}",
        el.as_secs_f64(),
        done as f64 / el.as_secs_f64(),
        errors.load(Ordering::Relaxed)
    );
    sim.shutdown().await;
}
