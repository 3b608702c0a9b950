//! End to end against shapes of real installations that a kind simulator would not show: items named by GUID,
//! a MasterTarget whose Kubernetes name differs from its ASR name, group members without `osType`, a group with
//! a member nobody declared, two items sharing a friendly name, vCenter discovered by FQDN while the policy says
//! `https://IP:PORT/sdk`, a job error whose service code hides ASR's code, and the next disaster months later
//! (seen by the vault watch without anyone looking).

use reprotect_controller::crd::Phase;
use reprotect_e2e::{Env, MASTER_TARGETS_AND_MACHINES, SimKnobs, WINDOWS, site};
use reprotect_test_support::{install_crds, test_namespace};
use std::time::Duration;

/// Item names of web-group as Site Recovery has them (GUIDs); people know them as web-01..03.
const WEB_ITEM: [&str; 3] =
    ["7c1e55d0-5b7a-4f0e-9a51-0d6c7e3f9a01", "7c1e55d0-5b7a-4f0e-9a51-0d6c7e3f9a02", "7c1e55d0-5b7a-4f0e-9a51-0d6c7e3f9a03"];

/// A MasterTarget whose Kubernetes name is not its ASR name, and two of web-group's three members, named by
/// friendly name and without `osType`; plus a machine naming a friendly name two items share.
const WEB_TWO_OF_THREE: &str = r#"
apiVersion: reprotect.io/v1alpha1
kind: MasterTarget
metadata: { name: windows-mt }
spec: { policyRef: dr-failback, asrName: mt-win-01, vcenterVmName: mt-win-01, osType: Windows }
---
apiVersion: reprotect.io/v1alpha1
kind: ProtectedMachine
metadata: { name: web-01 }
spec: { policyRef: dr-failback, item: { friendlyName: web-01 }, existingVm: { name: web-01 }, replicationGroup: web-group, masterTargetRef: windows-mt }
---
apiVersion: reprotect.io/v1alpha1
kind: ProtectedMachine
metadata: { name: web-02 }
spec: { policyRef: dr-failback, item: { friendlyName: web-02 }, existingVm: { name: web-02 }, replicationGroup: web-group, masterTargetRef: windows-mt }
---
apiVersion: reprotect.io/v1alpha1
kind: ProtectedMachine
metadata: { name: dup }
spec: { policyRef: dr-failback, item: { friendlyName: dup-vm }, alternateLocation: { datastore: ds-vmfs-01 }, osType: Windows }
"#;

/// The third member, with the retention volume spelled `r` (ASR lists `R:` and refuses any other spelling).
const WEB_03: &str = r#"
apiVersion: reprotect.io/v1alpha1
kind: ProtectedMachine
metadata: { name: web-03 }
spec: { policyRef: dr-failback, item: { friendlyName: web-03 }, existingVm: { name: web-03 }, replicationGroup: web-group, masterTargetRef: mt-win-01, retentionVolume: "r" }
"#;

async fn ready_condition(env: &Env, name: &str) -> anyhow::Result<(String, String)> {
    let pm = env.machine(name).await?;
    let ready = pm.status.and_then(|s| s.conditions.into_iter().find(|c| c.type_ == "Ready")).expect("a Ready condition");
    Ok((ready.reason.to_string(), ready.message.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_group_site_recovery_has_more_members_of_waits_until_all_are_declared_and_then_each_is_reprotected_once() -> anyhow::Result<()> {
    install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    let ns = test_namespace().await;
    let knobs = SimKnobs { vcenter_discovered_by_fqdn: true, ..SimKnobs::default() };
    let mut env = Env::start(ns.name(), knobs).await?;
    site(&env, 0).await?;
    for name in ["web-01", "web-02", "web-03"] {
        env.vc.create_vm(&env.vm(name, WINDOWS)).await?;
    }
    // The policy spells vCenter as an SDK URL; the configuration server lists it by FQDN, IP and port apart.
    let sdk_url = format!("https://{}/sdk", env.vcsim.server);
    env.apply_policy_with_vcenter("Apply", &sdk_url).await?;
    env.apply(MASTER_TARGETS_AND_MACHINES).await?;
    env.apply(WEB_TWO_OF_THREE).await?;
    env.start_controller();

    env.wait_for_phases(&["web-01", "web-02", "dup"], &[Phase::Blocked], Duration::from_secs(120)).await?;
    for name in ["web-01", "web-02"] {
        let (reason, message) = ready_condition(&env, name).await?;
        assert_eq!(reason, "IncompleteGroup", "{name}: {message}");
        assert!(message.contains("web-03") && !message.contains(WEB_ITEM[2]), "{name}: names the member by its friendly name: {message}");
    }
    let (reason, message) = ready_condition(&env, "dup").await?;
    assert_eq!(reason, "AmbiguousItem", "{message}");
    assert!(message.contains("dup-a") && message.contains("dup-b"), "{message}");
    // The rest of the policy is not held back, and vCenter was found under its other spelling.
    env.wait_for_phases(&["db-01"], &[Phase::Protected], Duration::from_secs(120)).await?;
    let web_01 = env.machine("web-01").await?.status.expect("status");
    let passed = |id: &str| web_01.passed_check_ids.iter().any(|p| p == id);
    assert!(passed("vcenter-discovered"), "{:?}", web_01.checks);
    assert!(passed("group-same-master-target"), "windows-mt and mt-win-01 are one master target in ASR: {:?}", web_01.checks);
    assert!(passed("group-os-match"), "members without osType take the OS Azure reports: {:?}", web_01.checks);

    // Declaring the third member completes the group: each item is reprotected once, under its GUID name, and the
    // retention volume goes out as ASR spells it.
    env.apply(WEB_03).await?;
    env.wait_for_phases(&["web-01", "web-02", "web-03"], &[Phase::Protected], Duration::from_secs(180)).await?;
    for item in WEB_ITEM {
        assert_eq!(env.reprotect_posts(item), 1, "{item}");
    }
    assert_eq!(env.reprotect_posts("dup-a") + env.reprotect_posts("dup-b"), 0, "an ambiguous machine never posts");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_next_disaster_months_later_is_reprotected_again_and_an_agent_failure_behind_a_generic_service_code_is_retried()
-> anyhow::Result<()> {
    install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    let ns = test_namespace().await;
    let env = db_01_protected(ns.name(), SimKnobs { job_service_code: Some("539"), ..SimKnobs::default() }, None).await?;

    // Months later, the next disaster: db-01 fails over again, and its first reprotect fails with 95226 behind
    // the service code 539 (the agent had not registered after all).
    assert!(env.sim.fail_over_again("db-01"));
    assert!(env.sim.fail_next_job("db-01", "ReverseReplicate", "95226"));
    // A person (or the periodic recheck of a protected machine) looks again, after the vault's item list read by
    // the last pass has expired (the client caches it for `fabric_cache_ttl`, 1 s here): a look within that second
    // sees the list from before the failover, reports the machine Protected and rechecks it only much later.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    env.apply(&format!(
        "apiVersion: reprotect.io/v1alpha1\nkind: ProtectedMachine\nmetadata: {{ name: db-01, annotations: {{ example.com/looked-at: \"{}\" }} }}\nspec: {{ policyRef: dr-failback, item: {{ name: db-01 }}, existingVm: {{ name: db-01 }}, osType: Linux, masterTargetRef: mt-lin-01 }}\n",
        jiff::Timestamp::now().as_second()
    ))
    .await?;
    // The old, succeeded job is history: a new reprotect is sent; the failed one is classified by its provider code
    // and retried inside the agent window (phases pass too quickly to watch here, so the POSTs are counted).
    let retried =
        reprotect_e2e::process::eventually(Duration::from_secs(120), || async { (env.reprotect_posts("db-01") >= 3).then_some(()) });
    assert!(retried.await.is_some(), "POSTs for db-01: {}", env.reprotect_posts("db-01"));
    env.wait_for_phases(&["db-01"], &[Phase::Protected], Duration::from_secs(120)).await?;
    assert_eq!(env.reprotect_posts("db-01"), 3, "the first disaster's POST, the failed one and its retry");
    let status = env.machine("db-01").await?.status.expect("status");
    let job = status.job.expect("the current job is recorded");
    assert_eq!(job.state.as_deref(), Some("Succeeded"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failover_in_azure_wakes_a_protected_machine_without_anyone_looking() -> anyhow::Result<()> {
    install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    let ns = test_namespace().await;
    // The item list is swept only every 10 minutes: what the watch reads every 2 s is the vault's jobs since its
    // last look, and the failover's job is what makes it list the items.
    let env = db_01_protected(ns.name(), SimKnobs::default(), Some(Duration::from_secs(600))).await?;
    // Once every machine is settled, their passes reuse the watch's listing and the watch reads only jobs.
    env.wait_for_phases(&["app-01", "app-02", "app-03", "db-01"], &[Phase::Protected], Duration::from_secs(120)).await?;
    let reads = |list: &str| env.sim.requests().iter().filter(|r| r.method == "GET" && r.path.ends_with(list)).count();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (items, jobs) = (reads("/replicationProtectedItems"), reads("/replicationJobs"));
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(reads("/replicationProtectedItems"), items, "looks without a job moving list no items");
    assert!(reads("/replicationJobs") > jobs, "the watch reads the vault's jobs every look");
    // Nobody touches the machine and its own recheck is minutes away (watchdog 5 min): only the vault watch
    // (every 2 s here) can notice that Azure failed the item over again.
    assert!(env.sim.fail_over_again("db-01"));
    let noticed =
        reprotect_e2e::process::eventually(Duration::from_secs(30), || async { (env.reprotect_posts("db-01") >= 2).then_some(()) });
    assert!(noticed.await.is_some(), "the failover was not noticed within 30 s; POSTs: {}", env.reprotect_posts("db-01"));
    env.wait_for_phases(&["db-01"], &[Phase::Protected], Duration::from_secs(120)).await?;
    Ok(())
}

/// The site with the controller running (its vault watch sweeping every `sweep`, default every look) and db-01
/// reprotected once and `Protected`.
async fn db_01_protected(ns: &str, knobs: SimKnobs, sweep: Option<Duration>) -> anyhow::Result<Env> {
    let mut env = Env::start(ns, knobs).await?;
    env.vault_sweep_interval = sweep.unwrap_or(env.vault_sweep_interval);
    site(&env, 0).await?;
    env.apply_policy("Apply").await?;
    env.apply(MASTER_TARGETS_AND_MACHINES).await?;
    env.start_controller();
    env.wait_for_phases(&["db-01"], &[Phase::Protected], Duration::from_secs(120)).await?;
    assert_eq!(env.reprotect_posts("db-01"), 1);
    Ok(env)
}
