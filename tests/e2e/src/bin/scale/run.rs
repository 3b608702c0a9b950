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

use crate::{RunSpec, baseline, hold::Steady, measure};

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

/// A run from applied to measured, without a hold.
pub async fn one(
    cp: &ControlPlane,
    vcsim: &Vcsim,
    spec: RunSpec,
    index: usize,
    settings: &Settings,
    with_baseline: bool,
) -> Result<RunResult> {
    converge(cp, vcsim, spec, index, settings, with_baseline).await?.finish(None).await
}

/// A run whose machines all reached `Protected`, measured up to then; its controller still runs, to be held
/// ([`crate::hold`]) or finished.
pub struct Converged {
    pub spec: RunSpec,
    pub sim: asr_sim::RunningSim,
    pub machines: Api<ProtectedMachine>,
    controller: tokio::process::Child,
    pub pid: u32,
    pub port: u16,
    pub peak: Peak,
    seconds: f64,
    cpu_seconds: Option<f64>,
    arm: BTreeMap<String, usize>,
    throttled_429: usize,
    apiserver: BTreeMap<String, f64>,
    baseline: Option<(usize, tokio::task::JoinHandle<Result<Option<f64>>>)>,
    limit_seconds: f64,
}

/// Apply the run's objects, start the controller, create the machines, wait for `Protected`, measure.
pub async fn converge(
    cp: &ControlPlane,
    vcsim: &Vcsim,
    spec: RunSpec,
    index: usize,
    settings: &Settings,
    with_baseline: bool,
) -> Result<Converged> {
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
    let requests = sim.requests();
    Ok(Converged {
        spec,
        cpu_seconds: measure::cpu_seconds(pid),
        arm: measure::arm_breakdown(&requests),
        throttled_429: requests.iter().filter(|r| r.status == 429 && !r.path.contains("/vault-seq/")).count(),
        apiserver: kube_requests(port).await.unwrap_or_default(),
        sim,
        machines,
        controller,
        pid,
        port,
        peak,
        seconds,
        baseline: with_baseline.then_some((sequential, baseline)),
        limit_seconds: limit_seconds(spec, settings.job_seconds),
    })
}

impl Converged {
    /// Stop the controller (after its resident text is read) and wait for the run's sequential baseline.
    pub async fn finish(mut self, steady: Option<Steady>) -> Result<RunResult> {
        let text_mib = measure::status_kib(self.pid, "RssFile:").unwrap_or(0) as f64 / 1024.0;
        self.controller.kill().await?;
        let per_machine = match self.baseline {
            Some((k, baseline)) => {
                eprintln!("scale: waiting for the sequential baseline ({k} machines, polls every 30 s)");
                baseline.await??
            }
            None => None,
        };
        let total = (self.spec.vaults * self.spec.per_vault) as f64;
        Ok(RunResult {
            spec: self.spec,
            seconds: self.seconds,
            limit_seconds: self.limit_seconds,
            throttled_429: self.throttled_429,
            arm: self.arm,
            apiserver: self.apiserver,
            peak_rss_mib: self.peak.rss_kib as f64 / 1024.0,
            heap_mib: self.peak.anon_kib as f64 / 1024.0,
            text_mib,
            cpu_seconds: self.cpu_seconds,
            sequential_seconds: per_machine.map(|s| s * total),
            steady,
        })
    }
}

#[derive(Default)]
pub struct Peak {
    rss_kib: u64,
    anon_kib: u64,
}

impl Peak {
    pub fn sample(&mut self, pid: u32) {
        self.rss_kib = self.rss_kib.max(measure::status_kib(pid, "VmHWM:").unwrap_or(0));
        self.anon_kib = self.anon_kib.max(measure::status_kib(pid, "RssAnon:").unwrap_or(0));
    }
}

async fn count_in(machines: &Api<ProtectedMachine>, phase: impl Fn(Phase) -> bool) -> Result<usize> {
    let list = machines.list(&Default::default()).await?;
    Ok(list.items.iter().filter(|m| m.status.as_ref().is_some_and(|s| phase(s.phase))).count())
}

/// API-server requests the controller made, by operation, from its own `/metrics`.
pub async fn kube_requests(port: u16) -> Result<BTreeMap<String, f64>> {
    let scrape = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await?.text().await?;
    Ok(measure::external_requests_by_operation(&scrape, "kubernetes"))
}
