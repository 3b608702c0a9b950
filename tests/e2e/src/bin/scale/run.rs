//! One run of the scale bench: its own namespace, simulator and controller process, and what it measured.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};
use asr_sim::{Scenario as SimScenario, SimOptions};
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, PostParams};
use reprotect_controller::crd::{Phase, ProtectedMachine};
use reprotect_test_support::ControlPlane;
use reprotect_vcsim_support::Vcsim;

use crate::{RunSpec, baseline, measure};

/// ARM's write bucket and refill (writes/s) for one subscription and principal.
const WRITE_BUCKET: f64 = 200.0;
const WRITE_REFILL: f64 = 10.0;

pub struct Settings {
    pub job_seconds: u64,
    pub steady_seconds: u64,
    pub sequential: usize,
    pub controller_bin: PathBuf,
}

/// The figures of one run (the issue's JSON fields, plus the breakdowns).
pub struct RunResult {
    pub spec: RunSpec,
    pub seconds: f64,
    pub limit_seconds: f64,
    pub throttled_429: usize,
    pub arm: BTreeMap<String, usize>,
    pub apiserver: BTreeMap<String, f64>,
    pub peak_rss_mib: f64,
    pub heap_mib: f64,
    pub text_mib: f64,
    pub cpu_seconds: Option<f64>,
    pub sequential_seconds: Option<f64>,
    pub steady: Option<Steady>,
}

pub struct Steady {
    pub seconds: f64,
    pub arm_reads_per_hour: f64,
    /// The steady reads by kind (`GET items`, …), per hour.
    pub reads_by_kind: BTreeMap<String, f64>,
    /// The controller's API-server requests during the hold, by operation, per hour.
    pub apiserver_per_hour: BTreeMap<String, f64>,
    pub change_visible_seconds: Option<f64>,
    /// The controller's resident memory at the end of the hold (MiB): all, anonymous (heap), file-backed (text).
    pub rss_mib: (f64, f64, f64),
}

impl RunResult {
    pub fn machines(&self) -> f64 {
        (self.spec.vaults * self.spec.per_vault) as f64
    }
    pub fn arm_per_machine(&self, get: bool) -> f64 {
        self.arm.iter().filter(|(k, _)| k.starts_with("GET ") == get).map(|(_, n)| *n as f64).sum::<f64>() / self.machines()
    }
    pub fn apiserver_per_machine(&self) -> f64 {
        self.apiserver.values().sum::<f64>() / self.machines()
    }
}

fn subscription(n: usize) -> String {
    format!("00000000-0000-0000-0000-{:012}", n + 1)
}

/// The run's simulator scenario: `vaults` vaults round robin over `subscriptions`, plus `vault-seq`.
fn scenario(spec: RunSpec, job_seconds: u64, sequential: usize, vcenter: &str) -> String {
    let mut yaml = format!(
        "defaults: {{ agent_registration_delay: 0s, job_duration: {job_seconds}s, failed_over_ago: 1m, page_size: 100 }}\nvaults:\n"
    );
    for v in 1..=spec.vaults {
        yaml += &format!(
            "  - {{ subscription: {}, resource_group: rg-dr, name: vault-dr-{v:02}, fabrics: [ {{ vcenters: [ {{ name: \"{vcenter}\", ip_address: 127.0.0.1, discovery_status: Completed }} ] }} ], generate: {{ count: {}, prefix: vm-, linux_every: 0, group_size: 0 }} }}\n",
            subscription((v - 1) % spec.subscriptions),
            spec.per_vault
        );
    }
    yaml += &format!(
        "  - {{ subscription: {}, resource_group: rg-dr, name: vault-seq, generate: {{ count: {}, prefix: seq-, linux_every: 0, group_size: 0 }} }}\n",
        subscription(spec.subscriptions),
        sequential.max(1)
    );
    yaml
}

/// The physical limit: the busiest subscription's writes beyond the bucket at the refill rate, plus one job.
fn limit_seconds(spec: RunSpec, job_seconds: u64) -> f64 {
    let busiest = (0..spec.subscriptions).map(|s| (0..spec.vaults).filter(|v| v % spec.subscriptions == s).count()).max().unwrap_or(0);
    ((busiest * spec.per_vault) as f64 - WRITE_BUCKET).max(0.0) / WRITE_REFILL + job_seconds as f64
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Apply the run's objects, start the controller, create the machines, wait for `Protected`, measure.
pub async fn one(
    cp: &ControlPlane,
    vcsim: &Vcsim,
    spec: RunSpec,
    index: usize,
    settings: &Settings,
    with_baseline: bool,
    with_steady: bool,
) -> Result<RunResult> {
    let ns = format!("scale-{index}");
    let total = spec.vaults * spec.per_vault;
    cp.kubectl(&["create", "namespace", &ns]).await?;
    let client = reprotect_test_support::client().await;
    let sequential = if with_baseline { settings.sequential } else { 0 };
    let yaml = scenario(spec, settings.job_seconds, sequential, &vcsim.server);
    let sim = asr_sim::start(SimScenario::from_yaml(&yaml).context("scenario")?, SimOptions::default()).await?;
    let (tenant, client_id, secret) = sim.credentials();
    let mut docs = vec![serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "azure-sp"}, "stringData": {"tenantId": tenant, "clientId": client_id, "clientSecret": secret}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "vcenter-credentials"}, "stringData": {"username": vcsim.username, "password": vcsim.password}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sim-ca"}, "stringData": {"ca.crt": sim.ca_pem}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "vc-ca"}, "stringData": {"ca.crt": vcsim.ca_pem}},
    ]})];
    for v in 1..=spec.vaults {
        docs.push(serde_json::json!({"apiVersion": "reprotect.io/v1alpha1", "kind": "ReprotectPolicy", "metadata": {"name": format!("dr-{v:02}")},
            "spec": {
                "siteRecovery": {"subscriptionId": subscription((v - 1) % spec.subscriptions), "resourceGroup": "rg-dr", "vaultName": format!("vault-dr-{v:02}"),
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
        cp.kubectl_stdin(&["apply", "-n", &ns, "-f", "-"], &d.to_string()).await?.ok()?;
    }

    let machines: Api<ProtectedMachine> = Api::namespaced(client.clone(), &ns);
    let port = free_port()?;
    let mut controller = tokio::process::Command::new(&settings.controller_bin)
        .args(["run", "--http-addr", &format!("127.0.0.1:{port}"), "--log-format", "text", "--log-level", "warn", "--namespaces", &ns])
        .args(["--allowed-custom-cloud-endpoints", &format!("{},{}", sim.base_url, sim.authority_url)])
        .env("KUBECONFIG", cp.kubeconfig_path())
        // As the image runs it (its `ENV`), unless the caller's environment says otherwise.
        .env("GLIBC_TUNABLES", std::env::var("GLIBC_TUNABLES").unwrap_or_else(|_| reprotect_controller::allocator::GLIBC_TUNABLES.into()))
        .kill_on_drop(true)
        .spawn()?;
    let pid = controller.id().context("controller pid")?;
    sim.clear_requests();
    let started = Instant::now();
    let baseline = tokio::spawn(baseline::sequential(
        sim.base_url.to_string(),
        sim.ca_pem.clone(),
        sim.issue_token(),
        subscription(spec.subscriptions),
        sequential,
    ));
    futures::stream::iter((1..=spec.vaults).flat_map(|v| (1..=spec.per_vault).map(move |i| (v, i))))
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
    eprintln!("scale {}: applied {total} machines in {:.1}s", ns, started.elapsed().as_secs_f64());

    let mut peak = Peak::default();
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        peak.sample(pid);
        let protected = count_in(&machines, |p| p == Phase::Protected).await?;
        eprint!("\rscale {ns}: {protected}/{total} Protected after {:.0}s   ", started.elapsed().as_secs_f64());
        if protected == total {
            break;
        }
        if Instant::now() > deadline || controller.try_wait()?.is_some() {
            anyhow::bail!("did not converge: {protected}/{total} Protected");
        }
        // Each look lists every machine; at 10,000 that is 140 MB of JSON for the API server to send and
        // this process to read, so the bench looks every second per 1,000 machines (at least every 2 s).
        tokio::time::sleep(Duration::from_secs((total as u64 / 1000).max(2))).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!();
    let cpu_seconds = measure::cpu_seconds(pid);
    let requests = sim.requests();
    let arm = measure::arm_breakdown(&requests);
    let throttled_429 = requests.iter().filter(|r| r.status == 429 && !r.path.contains("/vault-seq/")).count();
    let apiserver = kube_requests(port).await.unwrap_or_default();

    let steady = if with_steady && settings.steady_seconds > 0 {
        Some(hold(&sim, &machines, spec, settings.steady_seconds, (pid, port), &mut peak).await?)
    } else {
        None
    };
    let text_mib = measure::status_kib(pid, "RssFile:").unwrap_or(0) as f64 / 1024.0;
    controller.kill().await?;
    let per_machine = if with_baseline {
        eprintln!("scale {ns}: waiting for the sequential baseline ({sequential} machines, polls every 30 s)");
        baseline.await??
    } else {
        None
    };
    Ok(RunResult {
        spec,
        seconds,
        limit_seconds: limit_seconds(spec, settings.job_seconds),
        throttled_429,
        arm,
        apiserver,
        peak_rss_mib: peak.rss_kib as f64 / 1024.0,
        heap_mib: peak.anon_kib as f64 / 1024.0,
        text_mib,
        cpu_seconds,
        sequential_seconds: per_machine.map(|s| s * total as f64),
        steady,
    })
}

#[derive(Default)]
struct Peak {
    rss_kib: u64,
    anon_kib: u64,
}

impl Peak {
    fn sample(&mut self, pid: u32) {
        self.rss_kib = self.rss_kib.max(measure::status_kib(pid, "VmHWM:").unwrap_or(0));
        self.anon_kib = self.anon_kib.max(measure::status_kib(pid, "RssAnon:").unwrap_or(0));
    }
}

async fn count_in(machines: &Api<ProtectedMachine>, phase: impl Fn(Phase) -> bool) -> Result<usize> {
    let list = machines.list(&Default::default()).await?;
    Ok(list.items.iter().filter(|m| m.status.as_ref().is_some_and(|s| phase(s.phase))).count())
}

/// API-server requests the controller made, by operation, from its own `/metrics`.
async fn kube_requests(port: u16) -> Result<BTreeMap<String, f64>> {
    let scrape = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await?.text().await?;
    Ok(measure::external_requests_by_operation(&scrape, "kubernetes"))
}

/// Hold every machine `Protected` for `seconds` and count ARM reads (per hour); then fail the items
/// `vm-0001` (one per vault) over again in Azure and measure how long until their machines' status shows it.
/// In that order, so the reprotects the failover causes are not counted as steady-state reads.
async fn hold(
    sim: &asr_sim::RunningSim,
    machines: &Api<ProtectedMachine>,
    spec: RunSpec,
    seconds: u64,
    (pid, port): (u32, u16),
    peak: &mut Peak,
) -> Result<Steady> {
    // Let the last passes of the run settle before counting.
    tokio::time::sleep(Duration::from_secs(30)).await;
    sim.clear_requests();
    let kube_before = kube_requests(port).await.unwrap_or_default();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds) {
        peak.sample(pid);
        eprint!(
            "\rscale: holding {} machines Protected, {:.0}/{seconds}s   ",
            spec.vaults * spec.per_vault,
            started.elapsed().as_secs_f64()
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    let held = started.elapsed().as_secs_f64();
    let mib = |field| measure::status_kib(pid, field).unwrap_or(0) as f64 / 1024.0;
    let rss_mib = (mib("VmRSS:"), mib("RssAnon:"), mib("RssFile:"));
    let apiserver_per_hour = kube_requests(port)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(op, n)| (op.clone(), (n - kube_before.get(&op).copied().unwrap_or(0.0)) * 3600.0 / held))
        .filter(|(_, n)| *n > 0.0)
        .collect();
    let by_kind = measure::arm_breakdown(&sim.requests());
    let reads: usize = by_kind.iter().filter(|(k, _)| k.starts_with("GET ")).map(|(_, n)| n).sum();
    let reads_by_kind = by_kind.into_iter().map(|(k, n)| (k, n as f64 * 3600.0 / held)).collect();
    eprintln!();

    anyhow::ensure!(sim.fail_over_again("vm-0001"), "vm-0001 not in the simulator");
    let changed_at = Instant::now();
    let changed: Vec<String> = (1..=spec.vaults).map(|v| format!("v{v:02}-vm-0001")).collect();
    let mut visible = None;
    while visible.is_none() && changed_at.elapsed() < Duration::from_secs(900) {
        peak.sample(pid);
        let mut all = true;
        for name in &changed {
            all &= machines.get(name).await?.status.is_some_and(|s| s.phase != Phase::Protected);
        }
        if all {
            visible = Some(changed_at.elapsed().as_secs_f64());
        } else {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    eprintln!("scale: the failover of vm-0001 shows in all {} machines after {visible:?} s", changed.len());
    Ok(Steady {
        seconds: held,
        arm_reads_per_hour: reads as f64 * 3600.0 / held,
        reads_by_kind,
        apiserver_per_hour,
        change_visible_seconds: visible,
        rss_mib,
    })
}
