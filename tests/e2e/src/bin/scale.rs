//! Scale bench: N vaults x M machines from applied to `Protected` against the real API server,
//! vcsim and the ASR simulator, with the controller as its own process (`reprotect-controller run`).
//!
//! Reports wall time, ARM requests per machine (including polling) and the controller's peak RSS
//! (`VmHWM`). Usage: `scale [vaults] [machines-per-vault]` (default 10 x 100). Run with
//! `make bench-scale`; it builds the controller binary first.

use anyhow::{Context as _, Result};
use asr_sim::{Scenario as SimScenario, SimOptions};
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, PostParams};
use reprotect_controller::crd::{Phase, ProtectedMachine};
use reprotect_vcsim_support::{Scenario as Vc, Vcsim, VmSpec};
use std::time::{Duration, Instant};

const NS: &str = "scale";

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let vaults = args.next().transpose()?.unwrap_or(10);
    let per_vault = args.next().transpose()?.unwrap_or(100);
    let total = vaults * per_vault;
    // REPROTECT_CONTROLLER_BIN measures another build (e.g. a release binary, as shipped).
    let controller_bin = match std::env::var_os("REPROTECT_CONTROLLER_BIN") {
        Some(path) => std::path::PathBuf::from(path),
        None => std::env::current_exe()?.with_file_name("reprotect-controller"),
    };
    anyhow::ensure!(
        controller_bin.exists(),
        "build the controller first: cargo build -p reprotect-controller ({})",
        controller_bin.display()
    );

    let cp = reprotect_test_support::shared();
    reprotect_test_support::install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    cp.kubectl(&["create", "namespace", NS]).await?;
    let client = reprotect_test_support::client().await;

    let vcsim = Vcsim::start()?;
    let vc = Vc::connect(&vcsim).await?;
    vc.add_datastore(reprotect_e2e::HOST, "ds-vmfs-01", "VMFS").await?;
    let mut mt = VmSpec { datastore: "ds-vmfs-01".into(), ..VmSpec::new("mt-win-01", reprotect_e2e::HOST) };
    mt.disk_enable_uuid = Some(true);
    vc.create_vm(&mt).await?;

    let scenario = format!(
        r#"
defaults: {{ agent_registration_delay: 0s, job_duration: 5s, failed_over_ago: 1m, page_size: 100 }}
generate:
  count: {vaults}
  prefix: vault-dr-
  template:
    subscription: 00000000-0000-0000-0000-000000000001
    resource_group: rg-dr
    fabrics: [ {{ vcenters: [ {{ name: "{server}", ip_address: 127.0.0.1, discovery_status: Completed }} ] }} ]
    generate: {{ count: {per_vault}, prefix: vm-, linux_every: 0, group_size: 0 }}
"#,
        server = vcsim.server
    );
    let sim = asr_sim::start(SimScenario::from_yaml(&scenario).context("scenario")?, SimOptions::default()).await?;
    let (tenant, client_id, secret) = sim.credentials();

    let mut docs = vec![serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "azure-sp"}, "stringData": {"tenantId": tenant, "clientId": client_id, "clientSecret": secret}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "vcenter-credentials"}, "stringData": {"username": vcsim.username, "password": vcsim.password}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sim-ca"}, "stringData": {"ca.crt": sim.ca_pem}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "vc-ca"}, "stringData": {"ca.crt": vcsim.ca_pem}},
    ]})];
    for v in 1..=vaults {
        docs.push(serde_json::json!({"apiVersion": "reprotect.io/v1alpha1", "kind": "ReprotectPolicy", "metadata": {"name": format!("dr-{v:02}")},
            "spec": {
                "siteRecovery": {"subscriptionId": "00000000-0000-0000-0000-000000000001", "resourceGroup": "rg-dr", "vaultName": format!("vault-dr-{v:02}"),
                    "fabricName": "cs-fabric-01", "protectionContainer": "cs-container-01", "credentialsSecretRef": {"name": "azure-sp"},
                    "cloud": "Custom", "armEndpoint": sim.base_url.as_str(), "authorityHost": sim.authority_url.as_str(), "caBundle": {"secretName": "sim-ca"}},
                "vcenter": {"server": vcsim.server, "credentialsSecretRef": {"name": "vcenter-credentials"}, "tls": {"caBundle": {"secretName": "vc-ca"}}},
                "defaults": {"masterTargetRef": format!("mt-{v:02}"), "processServer": "ps-01", "datastore": "ds-vmfs-01"},
                "mode": "Apply", "network": {"connectivity": "SiteToSiteVpn", "processServerLocation": "Azure"}}}));
        docs.push(
            serde_json::json!({"apiVersion": "reprotect.io/v1alpha1", "kind": "MasterTarget", "metadata": {"name": format!("mt-{v:02}")},
            "spec": {"policyRef": format!("dr-{v:02}"), "asrName": "mt-win-01", "vcenterVmName": "mt-win-01", "osType": "Windows"}}),
        );
    }
    for d in docs {
        cp.kubectl_stdin(&["apply", "-n", NS, "-f", "-"], &d.to_string()).await?.ok()?;
    }

    let machines: Api<ProtectedMachine> = Api::namespaced(client.clone(), NS);
    let mut controller = tokio::process::Command::new(&controller_bin)
        .args(["run", "--http-addr", "127.0.0.1:0", "--log-format", "text", "--log-level", "warn", "--namespaces", NS])
        .env("KUBECONFIG", cp.kubeconfig_path())
        .env("REPROTECT_ARM_RATE", "200")
        .kill_on_drop(true)
        .spawn()?;
    let pid = controller.id().context("controller pid")?;
    sim.clear_requests();
    let started = Instant::now();
    futures::stream::iter((1..=vaults).flat_map(|v| (1..=per_vault).map(move |i| (v, i))))
        .map(|(v, i)| {
            let machines = machines.clone();
            async move {
                let pm: ProtectedMachine = serde_json::from_value(serde_json::json!({
                    "apiVersion": "reprotect.io/v1alpha1", "kind": "ProtectedMachine", "metadata": {"name": format!("v{v:02}-vm-{i:04}")},
                    "spec": {"policyRef": format!("dr-{v:02}"), "item": {"name": format!("vm-{i:04}")},
                             "alternateLocation": {"datastore": "ds-vmfs-01"}, "osType": "Windows"}}))?;
                machines.create(&PostParams::default(), &pm).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await?;
    let applied = started.elapsed();
    eprintln!("scale: applied {total} machines in {:.1}s", applied.as_secs_f64());

    let (mut peak_kib, mut peak_anon_kib) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        peak_kib = peak_kib.max(proc_status_kib(pid, "VmHWM:").unwrap_or(0));
        peak_anon_kib = peak_anon_kib.max(proc_status_kib(pid, "RssAnon:").unwrap_or(0));
        let list = machines.list(&Default::default()).await?;
        let protected = list.items.iter().filter(|m| m.status.as_ref().is_some_and(|s| s.phase == Phase::Protected)).count();
        eprint!("\rscale: {protected}/{total} Protected after {:.0}s   ", started.elapsed().as_secs_f64());
        if protected == total {
            break;
        }
        if Instant::now() > deadline || controller.try_wait()?.is_some() {
            anyhow::bail!("did not converge: {protected}/{total} Protected");
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let took = started.elapsed();
    let arm = sim.requests().iter().filter(|r| r.path.starts_with("/subscriptions/") || r.path.starts_with("/Subscriptions/")).count();
    let tokens = sim.count("POST", "oauth2");
    println!("\nscale: {vaults} vaults x {per_vault} machines = {total}");
    println!("  applied -> all Protected: {:.1}s", took.as_secs_f64());
    println!("  ARM requests: {arm} ({:.2} per machine, polling included); token requests: {tokens}", arm as f64 / total as f64);
    let file_kib = proc_status_kib(pid, "RssFile:").unwrap_or(0);
    println!("  controller peak RSS (VmHWM): {:.1} MiB", peak_kib as f64 / 1024.0);
    // Debug binaries are large; the mapped program text (RssFile) inflates VmHWM, the heap does not.
    println!(
        "  of which heap (peak RssAnon, sampled every 2 s): {:.1} MiB; program text and other files (RssFile at the end): {:.1} MiB ({})",
        peak_anon_kib as f64 / 1024.0,
        file_kib as f64 / 1024.0,
        controller_bin.display()
    );
    controller.kill().await?;
    cp.stop();
    Ok(())
}

/// A memory figure of a process in KiB from `/proc/<pid>/status` (`VmHWM:` peak RSS, `RssAnon:`, `RssFile:`).
fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix(field)).and_then(|v| v.split_whitespace().next()?.parse().ok())
}
