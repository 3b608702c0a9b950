//! Credential scoping against the real API server and the simulator: a `cloud: Custom` policy whose authority and
//! ARM hosts the operator did not allow is Stalled with `EndpointNotAllowed`, and the simulator receives nothing —
//! no token request (which would carry the client secret or the pod's federated token) and no ARM call.

use kube::api::Api;
use reprotect_controller::connections::CredentialPolicy;
use reprotect_controller::crd::ReprotectPolicy;
use reprotect_e2e::{Env, SimKnobs, process::eventually};
use reprotect_test_support::{install_crds, test_namespace};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_custom_cloud_the_operator_did_not_allow_receives_nothing_and_the_policy_says_why() -> anyhow::Result<()> {
    install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    let ns = test_namespace().await;
    let mut env = Env::start(ns.name(), SimKnobs::default()).await?;
    env.apply_policy("Apply").await?;
    // The operator's defaults: no custom cloud endpoint, no workload identity.
    env.start_controller_with(CredentialPolicy::default());

    let policies: Api<ReprotectPolicy> = Api::namespaced(env.client.clone(), &env.ns);
    let stalled = eventually(Duration::from_secs(60), || async {
        let p = policies.get("dr-failback").await.ok()?;
        p.status?.conditions.into_iter().find(|c| c.type_ == "Stalled" && c.status == "True" && c.reason == "EndpointNotAllowed")
    })
    .await;
    let stalled = stalled.expect("the policy is Stalled with reason EndpointNotAllowed");
    assert!(stalled.message.contains("authorityHost"), "the message names the field: {}", stalled.message);
    assert_eq!(env.sim.requests().len(), 0, "nothing was sent to the policy's endpoints: {:?}", env.sim.requests());
    env.stop_controller();
    Ok(())
}
