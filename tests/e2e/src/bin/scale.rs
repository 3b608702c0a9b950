//! Scale bench: N vaults x M machines from applied to `Protected` against the real API server,
//! vcsim and the ASR simulator, with the controller as its own process (`reprotect-controller run`).
//!
//! The simulator throttles like ARM (reads 250 + 25/s, writes 200 + 10/s per subscription and
//! principal) and the controller runs with its default budgets, so the run shows how close it comes
//! to the physical limit `max(0, N - 200) / 10 + job time` and how many 429s it provokes. A
//! script-style sequential loop (POST, poll the job every 30 s) runs on a small subset of another
//! vault alongside, extrapolated to N. Prints a table row and writes `target/bench-scale.json`.
//! Usage: `scale [vaults] [machines-per-vault]` (default 10 x 100; `SCALE_SEQUENTIAL=k` machines in
//! the baseline, default 2, 0 skips it). Run with `make bench-scale`; it builds the controller first.

use anyhow::{Context as _, Result};
use asr_sim::{Scenario as SimScenario, SimOptions};
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, PostParams};
use reprotect_controller::crd::{Phase, ProtectedMachine};
use reprotect_vcsim_support::{Scenario as Vc, Vcsim, VmSpec};
use std::time::{Duration, Instant};

const NS: &str = "scale";
/// Job duration in the scenario (seconds).
const JOB_S: f64 = 5.0;
/// ARM's write bucket and refill (writes/s) for one subscription and principal.
const WRITE_BUCKET: f64 = 200.0;
const WRITE_REFILL: f64 = 10.0;

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let vaults = args.next().transpose()?.unwrap_or(10);
    let per_vault = args.next().transpose()?.unwrap_or(100);
    let total = vaults * per_vault;
    let sequential: usize = std::env::var("SCALE_SEQUENTIAL").ok().and_then(|s| s.parse().ok()).unwrap_or(2);
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
vaults:
  - {{ subscription: 00000000-0000-0000-0000-000000000001, resource_group: rg-dr, name: vault-seq, generate: {{ count: {seq}, prefix: seq-, linux_every: 0, group_size: 0 }} }}
"#,
        seq = sequential.max(1),
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
        .args(["--allowed-custom-cloud-endpoints", &format!("{},{}", sim.base_url, sim.authority_url)])
        .env("KUBECONFIG", cp.kubeconfig_path())
        .kill_on_drop(true)
        .spawn()?;
    let pid = controller.id().context("controller pid")?;
    sim.clear_requests();
    let started = Instant::now();
    let baseline = tokio::spawn(sequential_baseline(sim.base_url.to_string(), sim.ca_pem.clone(), sim.issue_token(), sequential));
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
    let took = started.elapsed().as_secs_f64();
    let cpu_seconds = proc_cpu_seconds(pid);
    let arm: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path.to_ascii_lowercase().starts_with("/subscriptions/") && !r.path.contains("/vault-seq/"))
        .collect();
    let reads = arm.iter().filter(|r| r.method == "GET").count() as f64;
    let writes = arm.iter().filter(|r| r.method != "GET").count() as f64;
    let throttled = arm.iter().filter(|r| r.status == 429).count();
    let limit = (total as f64 - WRITE_BUCKET).max(0.0) / WRITE_REFILL + JOB_S;
    let file_kib = proc_status_kib(pid, "RssFile:").unwrap_or(0);
    let (peak, heap, text) = (peak_kib as f64 / 1024.0, peak_anon_kib as f64 / 1024.0, file_kib as f64 / 1024.0);
    controller.kill().await?;
    eprintln!("\nscale: waiting for the sequential baseline ({sequential} machines, polls every 30 s)");
    let per_machine = baseline.await??;
    let sequential_seconds = per_machine.map(|s| s * total as f64);
    let n = total as f64;
    println!(
        "\nscale: {vaults} vaults x {per_vault} machines = {total}, 1 subscription, jobs {JOB_S} s, simulator throttling on (Azure's figures)"
    );
    println!(
        "| machines | time s | limit s | ratio | 429s | ARM reads/machine | ARM writes/machine | peak RSS MiB (heap, text) | CPU s | sequential s (ratio) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    println!(
        "| {total} | {took:.1} | {limit:.1} | {:.2} | {throttled} | {:.2} | {:.2} | {peak:.1} ({heap:.1}, {text:.1}) | {} | {} |",
        took / limit,
        reads / n,
        writes / n,
        cpu_seconds.map(|c| format!("{c:.1}")).unwrap_or_else(|| "n/a".into()),
        sequential_seconds.map(|s| format!("{s:.0} ({:.0}x)", s / took)).unwrap_or_else(|| "not run".into()),
    );
    println!("  controller: {}; API-server requests and steady state: not measured by this bench", controller_bin.display());
    let json = serde_json::json!({
        "runs": [{
            "machines": total, "vaults": vaults, "subscriptions": 1, "seconds": took, "limit_seconds": limit,
            "throttled_429": throttled, "arm_reads_per_machine": reads / n, "arm_writes_per_machine": writes / n,
            "apiserver_requests_per_machine": null, "peak_rss_mib": peak, "heap_mib": heap, "text_mib": text,
            "cpu_seconds": cpu_seconds, "sequential_seconds": sequential_seconds,
        }],
        "steady": {"machines": null, "arm_reads_per_hour": null, "change_visible_seconds": null},
    });
    let out =
        std::env::var_os("CARGO_TARGET_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| "target".into()).join("bench-scale.json");
    std::fs::write(&out, serde_json::to_string_pretty(&json)?)?;
    cp.stop();
    println!("{}", out.display());
    Ok(())
}

/// What a PowerShell or CLI user would write: for each machine, POST reprotect, then poll its job
/// every 30 s until it ends. Returns seconds per machine (`None` when `k` is 0).
async fn sequential_baseline(base: String, ca_pem: String, token: String, k: usize) -> Result<Option<f64>> {
    if k == 0 {
        return Ok(None);
    }
    let http = reqwest::Client::builder().add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes())?).build()?;
    let vault = format!(
        "{base}subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-dr/providers/Microsoft.RecoveryServices/vaults/vault-seq"
    );
    let api = "api-version=2026-11-01";
    let get = |url: String| {
        let (http, token) = (http.clone(), token.clone());
        async move { anyhow::Ok(http.get(url).bearer_auth(token).send().await?.error_for_status()?.json::<serde_json::Value>().await?) }
    };
    let started = Instant::now();
    for i in 1..=k {
        // Update-AzRecoveryServicesAsrProtectionDirection reads the fabric and policy first.
        let fabric = get(format!("{vault}/replicationFabrics/cs-fabric-01?{api}")).await?;
        let policies = get(format!("{vault}/replicationPolicies?{api}")).await?;
        let cd = &fabric["properties"]["customDetails"];
        let mt = &cd["masterTargetServers"][0];
        let body = serde_json::json!({"properties": {"failoverDirection": "RecoveryToPrimary", "providerSpecificDetails": {
            "instanceType": "InMage", "masterTargetId": mt["id"], "processServerId": cd["processServers"][0]["id"],
            "retentionDrive": mt["retentionVolumes"][0]["volumeName"], "runAsAccountId": cd["runAsAccounts"][0]["accountId"],
            "datastoreName": mt["dataStores"][0]["symbolicName"], "profileId": policies["value"][0]["id"]}}});
        let url = format!(
            "{vault}/replicationFabrics/cs-fabric-01/replicationProtectionContainers/cs-container-01/replicationProtectedItems/seq-{i:04}/reProtect?{api}"
        );
        let rsp = http.post(url).bearer_auth(&token).json(&body).send().await?.error_for_status()?;
        // The simulator's 202 carries `Location`, `Azure-AsyncOperation` or both (as Azure does);
        // either URL ends with the job name.
        let job = ["location", "azure-asyncoperation"]
            .into_iter()
            .find_map(|h| rsp.headers().get(h))
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.split('?').next()?.rsplit('/').next())
            .map(str::to_string)
            .context("Location or Azure-AsyncOperation")?;
        loop {
            tokio::time::sleep(Duration::from_secs(30)).await;
            let j = get(format!("{vault}/replicationJobs/{job}?{api}")).await?;
            if !matches!(j["properties"]["state"].as_str(), Some("InProgress" | "NotStarted" | "Suspended")) {
                break;
            }
        }
    }
    Ok(Some(started.elapsed().as_secs_f64() / k as f64))
}

/// User plus system CPU seconds of a process, from `/proc/<pid>/stat` (clock ticks of 1/100 s).
fn proc_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// A memory figure of a process in KiB from `/proc/<pid>/status` (`VmHWM:` peak RSS, `RssAnon:`, `RssFile:`).
fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix(field)).and_then(|v| v.split_whitespace().next()?.parse().ok())
}
