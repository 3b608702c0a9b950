//! One item, one owner: two ProtectedMachines created at once that name the same protected item, against the real
//! API server, vcsim and the simulator. The older one (or, in the same second, the first by name) reprotects the
//! item; the other is `Blocked` with reason `DuplicateItem`, names its owner and never POSTs.

use reprotect_controller::crd::Phase;
use reprotect_e2e::{Env, MASTER_TARGETS_AND_MACHINES, SimKnobs, site};
use reprotect_test_support::{install_crds, test_namespace};
use std::time::Duration;

const COPY: &str = r#"
apiVersion: reprotect.io/v1alpha1
kind: ProtectedMachine
metadata: { name: db-01-copy }
spec: { policyRef: dr-failback, item: { name: DB-01 }, existingVm: { name: db-01 }, osType: Linux, masterTargetRef: mt-lin-01 }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_machines_created_at_once_for_one_item_give_one_reprotect_and_the_other_is_blocked_as_duplicate() -> anyhow::Result<()> {
    let ns = test_namespace().await;
    install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    let mut env = Env::start(ns.name(), SimKnobs::default()).await?;
    site(&env, 0).await?;
    env.apply_policy("Apply").await?;
    env.apply(&format!("{MASTER_TARGETS_AND_MACHINES}\n---\n{COPY}")).await?;
    env.start_controller();

    env.wait_for_phases(&["db-01"], &[Phase::Protected], Duration::from_secs(120)).await?;
    env.wait_for_phases(&["db-01-copy"], &[Phase::Blocked], Duration::from_secs(60)).await?;
    let copy = env.machine("db-01-copy").await?;
    let ready = copy.status.as_ref().and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready").cloned()).expect("Ready condition");
    assert_eq!(ready.reason, "DuplicateItem", "{ready:?}");
    assert!(ready.message.contains(&format!("{}/db-01", env.ns)), "names the owner: {}", ready.message);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(env.reprotect_posts("db-01"), 1, "exactly one reprotect POST for the item");
    assert_eq!(env.reprotect_jobs("db-01"), 1);
    Ok(())
}
