//! Faults real Azure shows that look like success, against the real API server, vcsim and the simulator: a
//! reprotect accepted but answered 503, a job not readable for seconds after the 202, 202s with only one of the
//! two job headers, a token that expires mid-run, a huge and a malformed answer. Each machine still reaches
//! `Protected` with exactly one reprotect, and never shows a false `Stalled` on the way.

use asr_sim::{FaultKind, FaultRule, Malformed};
use kube::api::Api;
use reprotect_controller::crd::{Phase, ProtectedMachine};
use reprotect_e2e::{Env, MASTER_TARGETS_AND_MACHINES, SimKnobs, site};
use reprotect_test_support::{install_crds, test_namespace};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const MACHINES: [&str; 4] = ["app-01", "app-02", "app-03", "db-01"];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lost_answers_late_jobs_expired_tokens_and_bad_bodies_still_give_one_reprotect_per_item_and_no_false_stall() -> anyhow::Result<()> {
    let ns = test_namespace().await;
    install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    let mut env = Env::start(ns.name(), SimKnobs::default()).await?;
    env.sim.with_world(|w| w.defaults.job_visible_after = jiff::SignedDuration::from_secs(5));
    for rule in [
        FaultRule::new("replicationProtectedItems/db-01/reProtect", FaultKind::AcceptThenFail(503)).method("POST").times(1),
        FaultRule::new("replicationProtectedItems/app-01/reProtect", FaultKind::AcceptThenFail(500)).method("POST").times(1),
        FaultRule::new("replicationJobs", FaultKind::ExpireToken).times(1),
        FaultRule::new("replicationPolicies", FaultKind::MalformedJson(Malformed::Truncated)).times(1),
        FaultRule::new("replicationvCenters", FaultKind::HugeResponse(12)).times(1),
    ] {
        env.sim.inject_fault(rule);
    }
    site(&env, 0).await?;
    env.apply_policy("Apply").await?;
    env.apply(MASTER_TARGETS_AND_MACHINES).await?;
    env.start_controller();

    // Watch every machine's Stalled condition all the way to Protected.
    let api: Api<ProtectedMachine> = Api::namespaced(env.client.clone(), &env.ns);
    let mut stalled_seen: BTreeSet<String> = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let list = api.list(&Default::default()).await?;
        for m in &list.items {
            let stalled = m.status.as_ref().is_some_and(|s| s.conditions.iter().any(|c| c.type_ == "Stalled" && c.status == "True"));
            if stalled {
                stalled_seen.insert(format!(
                    "{}: {:?}",
                    m.metadata.name.clone().unwrap_or_default(),
                    m.status.as_ref().map(|s| &s.conditions)
                ));
            }
        }
        let protected = list.items.iter().filter(|m| m.status.as_ref().is_some_and(|s| s.phase == Phase::Protected)).count();
        if protected == MACHINES.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all Protected within 180 s: {:?}",
            list.items.iter().map(|m| (&m.metadata.name, m.status.as_ref().map(|s| s.phase))).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(stalled_seen.is_empty(), "a transient fault showed as Stalled: {stalled_seen:?}");
    for m in MACHINES {
        assert_eq!(env.reprotect_jobs(m), 1, "{m}: exactly one reprotect job in Azure");
    }
    assert!(env.sim.count("POST", "replicationProtectedItems/db-01/reProtect") >= 1);
    Ok(())
}
