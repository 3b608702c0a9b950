//! Crashes, throttling and bad credentials: the controller converges without ever reprotecting twice,
//! honours `Retry-After`, and does not storm when a person has to fix something.

use asr_sim::{FaultKind, FaultRule};
use reprotect_controller::crd::Phase;
use reprotect_e2e::{Env, MASTER_TARGETS_AND_MACHINES, SimKnobs, site};
use reprotect_test_support::{TestNamespace, install_crds, test_namespace};
use std::time::{Duration, Instant};

const ALL: [&str; 4] = ["app-01", "app-02", "app-03", "db-01"];

async fn prepared(knobs: SimKnobs) -> anyhow::Result<(Env, TestNamespace)> {
    install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    let ns = test_namespace().await;
    let env = Env::start(ns.name(), knobs).await?;
    site(&env, 0).await?;
    env.apply_policy("Apply").await?;
    env.apply(MASTER_TARGETS_AND_MACHINES).await?;
    Ok((env, ns))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_controller_killed_after_the_reprotect_post_adopts_the_job_after_restart_with_one_post() -> anyhow::Result<()> {
    let (mut env, _ns) = prepared(SimKnobs { job_duration: "20s", ..SimKnobs::default() }).await?;
    // Azure accepts the POST but the answer is held back: the controller dies before it learns the job.
    env.sim.inject_fault(
        FaultRule::new("replicationProtectedItems/db-01/reProtect", FaultKind::SlowResponse(Duration::from_secs(8)))
            .method("POST")
            .times(1),
    );
    env.start_controller();
    let deadline = Instant::now() + Duration::from_secs(90);
    while !env.reprotect_accepted("db-01") {
        anyhow::ensure!(Instant::now() < deadline, "the reprotect POST never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    env.stop_controller();
    let before_restart = env.machine("db-01").await?.status.unwrap_or_default();
    assert!(before_restart.job.is_none(), "the crash happened before the job reached status: {:?}", before_restart.job);

    env.start_controller();
    env.wait_for_phases(&["db-01"], &[Phase::Protected], Duration::from_secs(120)).await?;
    assert_eq!(env.reprotect_jobs("db-01"), 1, "exactly one reprotect accepted by Azure");
    let job = env.machine("db-01").await?.status.unwrap().job.expect("job in status");
    assert!(job.adopted, "the restarted controller adopted the job instead of posting again: {job:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn throttling_and_service_unavailable_still_converge_and_retry_after_is_honoured() -> anyhow::Result<()> {
    let (mut env, _ns) = prepared(SimKnobs::default()).await?;
    let item_get = "replicationProtectedItems/db-01";
    // Deterministic: the first three reads of db-01 are throttled for 1 s each.
    env.sim.inject_fault(FaultRule::new(item_get, FaultKind::TooManyRequests { retry_after_s: 1 }).method("GET").times(3));
    // Deterministic: the first two reads of app-01 are unavailable (the random rule below may hit nothing when a
    // run needs few requests).
    env.sim.inject_fault(FaultRule::new("replicationProtectedItems/app-01", FaultKind::ServerError(503)).method("GET").times(2));
    // Random: 10% throttled and 10% unavailable across every ARM route.
    env.sim.inject_fault(FaultRule::new("/subscriptions/", FaultKind::TooManyRequests { retry_after_s: 1 }).fraction(0.1));
    env.sim.inject_fault(FaultRule::new("/subscriptions/", FaultKind::ServerError(503)).fraction(0.1));
    env.start_controller();
    env.wait_for_phases(&ALL, &[Phase::Protected], Duration::from_secs(300)).await?;
    for item in ALL {
        assert_eq!(env.reprotect_jobs(item), 1, "{item}: exactly one reprotect accepted");
    }
    let log = env.sim.requests();
    let unavailable = log.iter().filter(|r| r.status == 503 && r.path.ends_with("replicationProtectedItems/app-01")).count();
    assert!(unavailable >= 2, "app-01 reads unavailable: {unavailable}");
    let reads: Vec<_> = log.iter().filter(|r| r.method == "GET" && r.path.ends_with(item_get)).collect();
    let throttled = reads.iter().filter(|r| r.status == 429).count();
    assert!(throttled >= 3, "db-01 reads throttled: {throttled}");
    for pair in reads.windows(2) {
        if pair[0].status == 429 {
            let gap = pair[1].at.duration_since(pair[0].at).as_secs_f64();
            assert!(gap >= 0.9, "a read {gap:.2}s after a 429 with Retry-After: 1");
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn invalid_azure_credentials_are_reported_on_the_policy_and_machines_are_left_alone_without_a_requeue_storm() -> anyhow::Result<()> {
    let (mut env, _ns) = prepared(SimKnobs::default()).await?;
    env.set_azure_client_secret("not-the-secret").await?;
    env.start_controller();
    let policies: kube::Api<reprotect_controller::crd::ReprotectPolicy> = kube::Api::namespaced(env.client.clone(), &env.ns);
    let deadline = Instant::now() + Duration::from_secs(90);
    let azure = loop {
        let p = policies.get("dr-failback").await?;
        let c = p.status.and_then(|s| s.conditions.iter().find(|c| c.type_ == "AzureConnected").cloned());
        if let Some(c) = c.filter(|c| c.status == "False") {
            break c;
        }
        anyhow::ensure!(Instant::now() < deadline, "the policy never reported the Azure credentials");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(!azure.message.contains("not-the-secret"), "no secret in conditions: {}", azure.message);
    assert!(!azure.message.is_empty() && !azure.reason.is_empty(), "{azure:?}");

    // Let it settle, then count work over a quiet window.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (reconciles, tokens) = (env.reconciles("ProtectedMachine"), env.sim.count("POST", "oauth2"));
    tokio::time::sleep(Duration::from_secs(20)).await;
    let more_reconciles = env.reconciles("ProtectedMachine") - reconciles;
    let more_tokens = env.sim.count("POST", "oauth2") - tokens;
    assert!(more_reconciles <= 8, "{more_reconciles} machine reconciles in 20 s for 4 machines: a requeue storm");
    assert!(more_tokens <= 8, "{more_tokens} token requests in 20 s: a storm against Entra ID");
    for item in ALL {
        assert_eq!(env.reprotect_posts(item), 0, "{item}: untouched");
        let st = env.machine(item).await?.status.unwrap_or_default();
        assert_ne!(st.phase, Phase::Protected, "{item}");
    }
    let power = env.vm_power_states(&ALL).await?;
    assert!(power.iter().all(|(_, on)| *on), "no VM powered off: {power:?}");
    Ok(())
}
