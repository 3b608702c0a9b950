//! End to end: the controller reprotects machines against a real API server, vcsim and the ASR simulator.
//!
//! vcsim cannot model some seed facts (read-only datastore mounts, free ESXi licences, missing
//! privileges); those are covered by the preflight unit tests over hand-built facts.

use reprotect_controller::crd::Phase;
use reprotect_e2e::{Env, MASTER_TARGETS_AND_MACHINES, SimKnobs, site};
use reprotect_test_support::{install_crds, test_namespace};
use std::time::Duration;

const ALL: [&str; 4] = ["app-01", "app-02", "app-03", "db-01"];

async fn environment(knobs: SimKnobs, mode: &str, mt_win_snapshots: u32) -> anyhow::Result<(Env, reprotect_test_support::TestNamespace)> {
    install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    let ns = test_namespace().await;
    let mut env = Env::start(ns.name(), knobs).await?;
    site(&env, mt_win_snapshots).await?;
    env.apply_policy(mode).await?;
    env.apply(MASTER_TARGETS_AND_MACHINES).await?;
    env.start_controller();
    Ok((env, ns))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replication_group_and_a_linux_machine_reach_protected_with_one_post_each_after_powering_off() -> anyhow::Result<()> {
    let (env, _ns) = environment(SimKnobs::default(), "Apply", 0).await?;
    env.wait_for_phases(&ALL, &[Phase::Protected], Duration::from_secs(180)).await?;
    for item in ALL {
        assert_eq!(env.reprotect_posts(item), 1, "{item}: exactly one reprotect POST");
        let pm = env.machine(item).await?;
        let status = pm.status.expect("status");
        assert_eq!(status.observed_generation, pm.metadata.generation);
        assert!(status.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"), "{item}: Ready=True");
    }
    let facts = env.vm_power_states(&ALL).await?;
    assert!(facts.iter().all(|(_, on)| !on), "every on-premises VM is powered off: {facts:?}");
    // The group goes together: the last member to pass wakes the others, so their POSTs land
    // within seconds of each other rather than one timed recheck apart.
    let requests = env.sim.requests();
    let posted_at: Vec<i64> = ["app-01", "app-02", "app-03"]
        .iter()
        .map(|item| {
            let path = format!("replicationprotecteditems/{item}/reprotect");
            let post = requests.iter().find(|r| r.method == "POST" && r.path.to_ascii_lowercase().contains(&path));
            post.map(|r| r.at.as_millisecond()).unwrap_or_else(|| panic!("no reprotect POST for {item}"))
        })
        .collect();
    let spread = posted_at.iter().max().unwrap() - posted_at.iter().min().unwrap();
    assert!(spread < 5_000, "group members reprotected {spread} ms apart");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_master_target_snapshot_blocks_its_machines_without_a_post_until_it_is_removed() -> anyhow::Result<()> {
    let (env, _ns) = environment(SimKnobs::default(), "Apply", 1).await?;
    env.wait_for_phases(&["app-01"], &[Phase::Blocked], Duration::from_secs(120)).await?;
    let pm = env.machine("app-01").await?;
    let stalled = pm.status.unwrap().conditions.into_iter().find(|c| c.type_ == "Stalled").unwrap();
    assert_eq!(stalled.status, "True");
    assert!(stalled.message.contains("mt-no-snapshots"), "{}", stalled.message);
    assert_eq!(env.reprotect_posts("app-01"), 0);
    // The Linux machine on its own master target is not affected.
    env.wait_for_phases(&["db-01"], &[Phase::Protected], Duration::from_secs(120)).await?;
    env.remove_all_snapshots("mt-win-01").await?;
    env.wait_for_phases(&["app-01", "app-02", "app-03"], &[Phase::Protected], Duration::from_secs(400)).await?;
    assert_eq!(env.reprotect_posts("app-01"), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plan_mode_lists_planned_actions_and_writes_nothing() -> anyhow::Result<()> {
    let (env, _ns) = environment(SimKnobs::default(), "Plan", 0).await?;
    env.wait_for_phases(&["db-01"], &[Phase::Validating], Duration::from_secs(120)).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let planned = env.machine("db-01").await?.status.unwrap().planned_actions;
    assert!(planned.iter().any(|a| a.starts_with("power off on-premises VM db-01")), "{planned:?}");
    assert!(planned.iter().any(|a| a.starts_with("reprotect db-01 with master target mt-lin-01")), "{planned:?}");
    assert_eq!(env.sim.count("POST", ""), env.sim.count("POST", "oauth2"), "no ARM writes in plan mode");
    let facts = env.vm_power_states(&["db-01"]).await?;
    assert!(facts[0].1, "the on-premises VM stays powered on");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn machines_wait_for_the_agent_then_reach_protected() -> anyhow::Result<()> {
    // The agent of db-01 has not registered back yet (failed over 1 minute ago, window 15 minutes).
    let install = install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds"));
    install.await?;
    let ns = test_namespace().await;
    let mut env = Env::start(ns.name(), SimKnobs::default()).await?;
    env.sim.set_agent_registered("db-01", false);
    site(&env, 0).await?;
    env.apply_policy("Apply").await?;
    env.apply(MASTER_TARGETS_AND_MACHINES).await?;
    env.start_controller();
    env.wait_for_phases(&["db-01"], &[Phase::WaitingForAgent], Duration::from_secs(60)).await?;
    let status = env.machine("db-01").await?.status.unwrap();
    assert!(status.agent_window_deadline.is_some(), "the deadline is shown");
    assert!(status.next_check_at.is_some(), "the next check time is shown");
    let reconciling = status.conditions.iter().find(|c| c.type_ == "Reconciling").unwrap();
    assert_eq!(reconciling.status, "True");
    assert_eq!(env.reprotect_posts("db-01"), 0);
    // The agent registers: the machine is picked up within 30 s and protected.
    env.sim.set_agent_registered("db-01", true);
    let registered_at = std::time::Instant::now();
    env.wait_for_phases(&["db-01"], &[Phase::Reprotecting, Phase::Protected], Duration::from_secs(40)).await?;
    assert!(registered_at.elapsed() < Duration::from_secs(35), "picked up {:?} after registration", registered_at.elapsed());
    env.wait_for_phases(&["db-01"], &[Phase::Protected], Duration::from_secs(60)).await?;
    assert_eq!(env.reprotect_posts("db-01"), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_that_misses_the_registration_window_stalls_the_machine_without_a_post() -> anyhow::Result<()> {
    // Failed over 20 minutes ago with the default 15-minute window, and the agent never registered.
    let knobs = SimKnobs { failed_over_ago: "20m", ..SimKnobs::default() };
    install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    let ns = test_namespace().await;
    let mut env = Env::start(ns.name(), knobs).await?;
    env.sim.set_agent_registered("db-01", false);
    site(&env, 0).await?;
    env.apply_policy("Apply").await?;
    env.apply(MASTER_TARGETS_AND_MACHINES).await?;
    env.start_controller();
    env.wait_for_phases(&["db-01"], &[Phase::Blocked], Duration::from_secs(60)).await?;
    let stalled = env.machine("db-01").await?.status.unwrap().conditions.into_iter().find(|c| c.type_ == "Stalled").unwrap();
    assert_eq!((stalled.status.as_str(), stalled.reason.as_str()), ("True", "AgentNotRegistered"), "{}", stalled.message);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(env.reprotect_posts("db-01"), 0, "no reprotect once the window has passed");
    Ok(())
}
