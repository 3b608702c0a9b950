//! End to end: the way home (failback → commit → forward reprotect) against a real API server, vcsim and the
//! ASR simulator. The machines are first reprotected to on-premises as in `reprotect.rs`; then the test approves
//! the way home. When the simulator's failback job succeeds the harness powers the VMs on in vcsim, as ASR would.

use asr_sim::{FaultKind, FaultRule};
use reprotect_controller::crd::Phase;
use reprotect_e2e::{Env, MASTER_TARGETS_AND_MACHINES, SimKnobs, site};
use reprotect_test_support::{TestNamespace, install_crds, test_namespace};
use std::time::Duration;

const GROUP: [&str; 3] = ["app-01", "app-02", "app-03"];

/// Every machine of the examples reprotected to on-premises (`Protected`); the forward agent registers `forward` after a commit.
async fn reprotected(forward: &'static str) -> anyhow::Result<(Env, TestNamespace)> {
    install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    let ns = test_namespace().await;
    let mut env = Env::start(ns.name(), SimKnobs { forward_agent_delay: forward, ..SimKnobs::default() }).await?;
    site(&env, 0).await?;
    env.apply_policy("Apply").await?;
    env.apply(MASTER_TARGETS_AND_MACHINES).await?;
    env.start_controller();
    env.wait_for_phases(&["db-01", "app-01", "app-02", "app-03"], &[Phase::Protected], Duration::from_secs(180)).await?;
    Ok((env, ns))
}

fn item_posts(env: &Env, item: &str) -> [usize; 3] {
    let route = |op: &str| env.posts(&format!("replicationProtectedItems/{item}/{op}"));
    [route("unplannedFailover"), route("failoverCommit"), route("reProtect")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_machine_goes_the_whole_way_home_with_one_post_per_step_and_the_same_manifest_again_does_nothing() -> anyhow::Result<()> {
    let (env, _ns) = reprotected("3s").await?;
    let approved = Env::approved_manifest(&["db-01"], "return-dc1");
    env.apply(&approved).await?;
    env.wait_home(&["db-01"], &[Phase::ProtectedToAzure], Duration::from_secs(180)).await?;
    assert_eq!(item_posts(&env, "db-01"), [1, 1, 2], "one failback, one commit, one forward reprotect (after the reverse one)");
    let status = env.machine("db-01").await?.status.expect("status");
    let fb = status.failback.expect("failback status");
    assert_eq!(fb.completed_approval.as_deref(), Some("return-dc1"));
    assert_eq!((fb.on_premises_vm_powered_on, fb.azure_vm_removed), (Some(true), Some(true)));
    let vm = status.azure_vm_id.map(|id| id.text().into_owned()).unwrap_or_default();
    assert!(vm.to_ascii_lowercase().ends_with("/providers/microsoft.compute/virtualmachines/db-01"), "recorded before the reprotect: {vm}");
    assert!(
        env.posts("Microsoft.Compute") == 0 && env.sim.count("GET", "Microsoft.Compute/virtualMachines/db-01") >= 1,
        "asked Azure Compute"
    );
    assert_eq!(env.sim.azure_vm_exists("db-01"), Some(false), "the commit removed the Azure VM");
    assert!(status.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let power = env.vm_power_states(&["db-01"]).await?;
    assert!(power[0].1, "the on-premises VM runs: {power:?}");

    // GitOps re-applies the same manifest: nothing starts again.
    env.apply(&approved).await?;
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(item_posts(&env, "db-01"), [1, 1, 2]);
    assert_eq!(env.machine("db-01").await?.status.map(|s| s.phase), Some(Phase::ProtectedToAzure));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_three_member_group_goes_home_through_its_recovery_plan_with_one_post_per_step() -> anyhow::Result<()> {
    let (env, _ns) = reprotected("3s").await?;
    env.apply(&Env::approved_manifest(&GROUP, "return-dc1")).await?;
    env.wait_home(&GROUP, &[Phase::ProtectedToAzure], Duration::from_secs(240)).await?;
    assert_eq!(env.posts("replicationRecoveryPlans/app-group/unplannedFailover"), 1, "one plan failback");
    assert_eq!(env.posts("replicationRecoveryPlans/app-group/failoverCommit"), 1, "one plan commit");
    for item in GROUP {
        assert_eq!(item_posts(&env, item), [0, 0, 2], "{item}: no item-level failback or commit; one forward reprotect");
        assert_eq!(env.sim.azure_vm_exists(item), Some(false));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_after_each_post_is_adopted_and_no_step_is_sent_twice() -> anyhow::Result<()> {
    let (mut env, _ns) = reprotected("3s").await?;
    // Every step's POST takes effect but its answer is lost, and the controller restarts.
    for op in ["unplannedFailover", "failoverCommit", "reProtect"] {
        let route = format!("replicationProtectedItems/db-01/{op}");
        env.sim.inject_fault(FaultRule::new(&route, FaultKind::AcceptThenFail(503)).method("POST").times(1));
    }
    env.apply(&Env::approved_manifest(&["db-01"], "return-dc1")).await?;
    let mut restarts = 0;
    let mut seen = [0usize; 3];
    let deadline = std::time::Instant::now() + Duration::from_secs(240);
    let mut done = std::collections::HashSet::new();
    loop {
        env.power_on_failed_back_vms(&mut done).await?;
        let now = item_posts(&env, "db-01");
        if now != seen {
            seen = now;
            env.stop_controller();
            env.start_controller();
            restarts += 1;
        }
        if env.machine("db-01").await?.status.map(|s| s.phase) == Some(Phase::ProtectedToAzure) {
            break;
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "timed out; posts {seen:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(item_posts(&env, "db-01"), [1, 1, 2], "each lost answer was adopted, never sent again");
    assert!(restarts >= 3, "restarted after each POST ({restarts})");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plan_mode_lists_the_way_home_and_sends_nothing() -> anyhow::Result<()> {
    let (env, _ns) = reprotected("3s").await?;
    env.apply_policy("Plan").await?;
    env.apply(&Env::approved_manifest(&["db-01"], "return-dc1")).await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let planned = loop {
        let planned = env.machine("db-01").await?.status.map(|s| s.planned_actions).unwrap_or_default();
        if planned.len() == 3 {
            break planned;
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "no plan listed: {planned:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(planned[0].starts_with("fail back db-01 to recovery point LatestTime"), "{planned:?}");
    assert!(planned[1].starts_with("commit the failover of db-01"), "{planned:?}");
    assert!(planned[2].starts_with("reprotect db-01 to Azure"), "{planned:?}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(item_posts(&env, "db-01"), [0, 0, 1], "only the reverse reprotect of before");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_forward_reprotect_failing_inside_the_agent_window_waits_and_retries() -> anyhow::Result<()> {
    let (env, _ns) = reprotected("3s").await?;
    // The agent is seen registered, but the first forward reprotect still fails for lack of it (78093).
    anyhow::ensure!(env.sim.fail_next_job("db-01", "SwitchReplicationGroupProtection", "78093"), "scripted failure");
    env.apply(&Env::approved_manifest(&["db-01"], "return-dc1")).await?;
    env.wait_home(&["db-01"], &[Phase::WaitingForForwardAgent, Phase::ProtectedToAzure], Duration::from_secs(180)).await?;
    env.wait_home(&["db-01"], &[Phase::ProtectedToAzure], Duration::from_secs(120)).await?;
    assert_eq!(item_posts(&env, "db-01"), [1, 1, 3], "the forward reprotect was retried once");
    let job = env.machine("db-01").await?.status.and_then(|s| s.job).expect("job");
    assert_eq!(job.attempt, 2);
    Ok(())
}
