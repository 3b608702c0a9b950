//! A wrong vCenter password must not lock the vCenter account (vSphere locks it after 5 failed logins in 180 s,
//! and the account is often shared with the configuration server): ten machines, three master targets and their
//! policy share one login backoff, and a corrected Secret is used within a minute.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use reprotect_controller::crd::{Phase, ReprotectPolicy};
use reprotect_e2e::process::eventually;
use reprotect_e2e::{Env, MASTER_TARGETS_AND_MACHINES, SimKnobs, site};
use reprotect_test_support::{install_crds, test_namespace};
use reprotect_vcsim_support::Vcsim;
use std::time::{Duration, Instant};

/// Six more machines (alternate location), so ten in all ask for the same vCenter connection.
fn more_machines() -> String {
    ["bad-pv", "bad-nfs", "bad-os", "bad-ret", "split-a", "split-b"]
        .iter()
        .map(|item| {
            format!(
                "apiVersion: reprotect.io/v1alpha1\nkind: ProtectedMachine\nmetadata: {{ name: extra-{item} }}\nspec: {{ policyRef: dr-failback, item: {{ name: {item} }}, alternateLocation: {{ datastore: ds-vmfs-01 }}, osType: Windows }}\n---\n"
            )
        })
        .collect()
}

async fn set_vcenter_password(env: &Env, password: &str) -> anyhow::Result<()> {
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), &env.ns);
    let patch = serde_json::json!({"stringData": {"password": password}});
    secrets.patch("vcenter-credentials", &PatchParams::default(), &Patch::Merge(&patch)).await?;
    Ok(())
}

async fn vcenter_connected(env: &Env) -> bool {
    let policies: Api<ReprotectPolicy> = Api::namespaced(env.client.clone(), &env.ns);
    let Ok(p) = policies.get("dr-failback").await else { return false };
    p.status.is_some_and(|s| s.conditions.iter().any(|c| c.type_ == "VCenterConnected" && c.status == "True"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_machines_with_a_wrong_vcenter_password_log_in_at_most_twice_in_three_minutes_and_a_fixed_secret_is_used_within_a_minute()
-> anyhow::Result<()> {
    let ns = test_namespace().await;
    install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    let mut env = Env::start_with_vcsim(ns.name(), SimKnobs::default(), Vcsim::start_ext(&[])?).await?;
    site(&env, 0).await?;
    env.apply_policy("Apply").await?;
    set_vcenter_password(&env, "not-the-password").await?;
    env.apply(&format!("{MASTER_TARGETS_AND_MACHINES}\n---\n{}", more_machines())).await?;
    let before = env.vcenter_logins().await?;
    env.start_controller();

    tokio::time::sleep(Duration::from_secs(180)).await;
    let (attempts, failed) = env.vcenter_logins().await?;
    let (attempts, failed) = (attempts - before.0, failed - before.1);
    assert!(attempts >= 1, "the controller tried the credentials at least once");
    assert!(attempts <= 2, "{attempts} login attempts in 3 minutes ({failed} failed): vSphere would lock the account at 5");
    assert_eq!(attempts, failed, "every attempt was rejected");
    assert!(!vcenter_connected(&env).await, "the policy shows the connection failing");

    set_vcenter_password(&env, &env.vcsim.password.clone()).await?;
    let fixed = Instant::now();
    let connected = eventually(Duration::from_secs(60), || async { vcenter_connected(&env).await.then_some(()) }).await;
    assert!(connected.is_some(), "the corrected Secret was not used within a minute");
    let protected = env.wait_for_phases(&["app-01", "app-02", "app-03", "db-01"], &[Phase::Protected], Duration::from_secs(60)).await;
    assert!(protected.is_ok(), "machines did not move on after the fix ({:?} since): {protected:?}", fixed.elapsed());
    Ok(())
}
