//! The controller killed with SIGKILL at arbitrary points of a 50-machine run, 20 times over, against the real API
//! server, vcsim and the simulator: every item is reprotected exactly once in total, and the last instance brings
//! every machine to `Protected`.

use asr_sim::{Scenario as SimScenario, SimOptions};
use kube::api::{Api, PostParams};
use reprotect_controller::crd::{Phase, ProtectedMachine};
use reprotect_e2e::process::{ControllerProcess, eventually};
use reprotect_test_support::{install_crds, shared, test_namespace};
use reprotect_vcsim_support::{Scenario as Vc, Vcsim, VmSpec};
use std::time::Duration;

const MACHINES: usize = 50;
const KILLS: usize = 20;

/// Deterministic kill points (a fixed-seed LCG), so a failure can be rerun: 200 ms to 4 s into each run.
fn kill_points(mut seed: u64) -> Vec<Duration> {
    (0..KILLS)
        .map(|_| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            Duration::from_millis(200 + (seed >> 33) % 3800)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_twenty_times_at_random_points_of_a_fifty_machine_run_every_item_is_reprotected_exactly_once() -> anyhow::Result<()> {
    let ns = test_namespace().await;
    let ns = ns.name();
    install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    let vcsim = Vcsim::start()?;
    let vc = Vc::connect(&vcsim).await?;
    vc.add_datastore(reprotect_e2e::HOST, "ds-vmfs-01", "VMFS").await?;
    let mut mt = VmSpec { datastore: "ds-vmfs-01".into(), ..VmSpec::new("mt-win-01", reprotect_e2e::HOST) };
    mt.disk_enable_uuid = Some(true);
    vc.create_vm(&mt).await?;

    let scenario = format!(
        r#"
defaults: {{ agent_registration_delay: 0s, job_duration: 3s, failed_over_ago: 1m, page_size: 20 }}
vaults:
  - subscription: 00000000-0000-0000-0000-000000000001
    resource_group: rg-dr
    name: vault-dr
    fabrics: [ {{ vcenters: [ {{ name: "{server}", ip_address: 127.0.0.1, discovery_status: Completed }} ] }} ]
    generate: {{ count: {MACHINES}, prefix: vm-, linux_every: 0, group_size: 0 }}
"#,
        server = vcsim.server
    );
    let sim = asr_sim::start(SimScenario::from_yaml(&scenario)?, SimOptions::default()).await?;
    let (tenant, client_id, secret) = sim.credentials();
    let mut docs = vec![serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "azure-sp"}, "stringData": {"tenantId": tenant, "clientId": client_id, "clientSecret": secret}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "vcenter-credentials"}, "stringData": {"username": vcsim.username, "password": vcsim.password}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sim-ca"}, "stringData": {"ca.crt": sim.ca_pem}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "vc-ca"}, "stringData": {"ca.crt": vcsim.ca_pem}},
    ]})];
    docs.push(serde_json::json!({"apiVersion": "reprotect.io/v1alpha1", "kind": "ReprotectPolicy", "metadata": {"name": "dr"},
        "spec": {
            "siteRecovery": {"subscriptionId": "00000000-0000-0000-0000-000000000001", "resourceGroup": "rg-dr", "vaultName": "vault-dr",
                "fabricName": "cs-fabric-01", "protectionContainer": "cs-container-01", "credentialsSecretRef": {"name": "azure-sp"},
                "cloud": "Custom", "armEndpoint": sim.base_url.as_str(), "authorityHost": sim.authority_url.as_str(), "caBundle": {"secretName": "sim-ca"}},
            "vcenter": {"server": vcsim.server, "credentialsSecretRef": {"name": "vcenter-credentials"}, "tls": {"caBundle": {"secretName": "vc-ca"}}},
            "defaults": {"masterTargetRef": "mt", "processServer": "ps-01", "datastore": "ds-vmfs-01"},
            "mode": "Apply", "retry": {"initialBackoff": "500ms", "maxBackoff": "5s"},
            "network": {"connectivity": "SiteToSiteVpn", "processServerLocation": "Azure"}}}));
    docs.push(serde_json::json!({"apiVersion": "reprotect.io/v1alpha1", "kind": "MasterTarget", "metadata": {"name": "mt"},
        "spec": {"policyRef": "dr", "asrName": "mt-win-01", "vcenterVmName": "mt-win-01", "osType": "Windows"}}));
    let cp = shared();
    for d in docs {
        cp.kubectl_stdin(&["apply", "-n", ns, "-f", "-"], &d.to_string()).await?.ok()?;
    }
    let machines: Api<ProtectedMachine> = Api::namespaced(reprotect_test_support::client().await, ns);
    for i in 1..=MACHINES {
        let pm: ProtectedMachine = serde_json::from_value(serde_json::json!({
            "apiVersion": "reprotect.io/v1alpha1", "kind": "ProtectedMachine", "metadata": {"name": format!("vm-{i:04}")},
            "spec": {"policyRef": "dr", "item": {"name": format!("vm-{i:04}")}, "alternateLocation": {"datastore": "ds-vmfs-01"}, "osType": "Windows"}}))?;
        machines.create(&PostParams::default(), &pm).await?;
    }

    let kubeconfig = cp.kubeconfig_path().to_path_buf();
    let endpoints = format!("{},{}", sim.base_url, sim.authority_url);
    let args = ["--namespaces", ns, "--allowed-custom-cloud-endpoints", &endpoints];
    let seed = 0x5eed_2026;
    for (n, after) in kill_points(seed).into_iter().enumerate() {
        let mut c = ControllerProcess::spawn(&kubeconfig, &format!("crash-{n}"), &args)?;
        tokio::time::sleep(after).await;
        c.kill().await?;
    }
    let last = ControllerProcess::spawn(&kubeconfig, "survivor", &args)?;
    let all_protected = eventually(Duration::from_secs(240), || async {
        let list = machines.list(&Default::default()).await.ok()?;
        let done = list.items.iter().filter(|m| m.status.as_ref().is_some_and(|s| s.phase == Phase::Protected)).count();
        (done == MACHINES).then_some(())
    })
    .await;
    assert!(all_protected.is_some(), "not every machine reached Protected (seed {seed:#x}):\n{}", last.log_tail(40));

    let posts: Vec<(String, usize)> = (1..=MACHINES)
        .map(|i| format!("vm-{i:04}"))
        .map(|item| {
            let n = sim.count("POST", &format!("replicationProtectedItems/{item}/reProtect"));
            (item, n)
        })
        .filter(|(_, n)| *n != 1)
        .collect();
    assert!(posts.is_empty(), "items not reprotected exactly once after {KILLS} kills (seed {seed:#x}): {posts:?}");
    Ok(())
}
