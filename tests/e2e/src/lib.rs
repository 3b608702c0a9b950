//! End-to-end environment: the real API server, vcsim shaped like an on-premises site, the ASR simulator, and the controller in-process.

pub mod process;

use anyhow::{Context as _, Result};
use asr_sim::{RunningSim, Scenario as SimScenario, SimOptions};
use kube::Client;
use kube::api::Api;
use reprotect_controller::connectors::RealConnector;
use reprotect_controller::context::Settings;
use reprotect_controller::crd::{Phase, ProtectedMachine};
use reprotect_controller::http::Readiness;
use reprotect_controller::metrics::Metrics;
use reprotect_facts::{ObserveRequest, PowerState, VmSelector};
use reprotect_vcsim_support::{Scenario as Vc, Vcsim, VmSpec};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Host of the on-premises site in vcsim's default inventory (standalone host).
pub const HOST: &str = "DC0_H0";

/// Knobs of the simulated Azure side.
pub struct SimKnobs {
    pub agent_delay: &'static str,
    pub job_duration: &'static str,
    pub failed_over_ago: &'static str,
    /// How long after a failback commit the on-premises agent takes to register (forward reprotect).
    pub forward_agent_delay: &'static str,
    /// Job errors carry this generic service code, ASR's own code only in the provider details.
    pub job_service_code: Option<&'static str>,
    /// The configuration server lists vCenter by an FQDN with its IP and port apart (not as the policy spells it).
    pub vcenter_discovered_by_fqdn: bool,
}

impl Default for SimKnobs {
    fn default() -> Self {
        SimKnobs {
            agent_delay: "0s",
            job_duration: "2s",
            failed_over_ago: "1m",
            forward_agent_delay: "15m",
            job_service_code: None,
            vcenter_discovered_by_fqdn: false,
        }
    }
}

/// The simulator scenario of the examples (vault-dr, cs-fabric-01, mt-win-01/mt-lin-01, app-01..03 + db-01), plus
/// the shapes of real installations: items named by GUID with friendly names (web-group, three members), two
/// items sharing one friendly name (dup-vm).
pub fn sim_scenario(vcenter: &str, k: &SimKnobs) -> String {
    let vcenters = if k.vcenter_discovered_by_fqdn {
        let port = vcenter.rsplit(':').next().unwrap_or("443");
        format!(r#"{{ name: vcsim.corp.local, ip_address: 127.0.0.1, port: "{port}", discovery_status: Completed }}"#)
    } else {
        format!(r#"{{ name: "{vcenter}", ip_address: 127.0.0.1, discovery_status: Completed }}"#)
    };
    format!(
        r#"
credentials: {{ tenant_id: 00000000-0000-0000-0000-0000000000aa, client_id: 11111111-2222-3333-4444-555555555555, client_secret: sim-secret }}
defaults: {{ agent_registration_delay: {delay}, job_duration: {job}, failed_over_ago: {ago}, page_size: 50, forward_agent_registration_delay: {fwd}, job_service_code: {svc} }}
vaults:
  - subscription: 00000000-0000-0000-0000-000000000001
    resource_group: rg-dr
    name: vault-dr
    fabrics:
      - name: cs-fabric-01
        container: cs-container-01
        host_name: cs-01.corp.local
        ip_address: 10.0.0.10
        heartbeat_age: 1m
        process_servers: [ {{ name: ps-01, ip_address: 10.0.0.11 }} ]
        master_targets:
          - {{ name: mt-win-01, os: Windows, ip_address: 10.0.0.21, retention_volumes: ["R:"], datastores: [ {{ name: ds-vmfs-01, type: VMFS }}, {{ name: ds-nfs-01, type: NFS }} ] }}
          - {{ name: mt-win-02, os: Windows, ip_address: 10.0.0.23, retention_volumes: ["R:"], datastores: [ {{ name: ds-vmfs-01, type: VMFS }} ] }}
          - {{ name: mt-lin-01, os: Linux, ip_address: 10.0.0.22, retention_volumes: [/mnt/retention], datastores: [ {{ name: ds-vmfs-01, type: VMFS }}, {{ name: ds-nfs-01, type: NFS }} ] }}
          - {{ name: mt-pv-01, os: Windows, ip_address: 10.0.0.24, retention_volumes: ["R:"], datastores: [ {{ name: ds-vmfs-01, type: VMFS }} ] }}
        run_as_accounts: [ {{ id: "1", name: vcenter-admin }} ]
        vcenters: [ {vcenters} ]
    items:
      - {{ name: app-01, os: Windows, os_name: Windows Server 2019 Datacenter, group: app-group }}
      - {{ name: app-02, os: Windows, os_name: Windows Server 2019 Datacenter, group: app-group }}
      - {{ name: app-03, os: Windows, os_name: Windows Server 2019 Datacenter, group: app-group }}
      - {{ name: db-01, os: Linux, os_name: Red Hat Enterprise Linux 8.6 }}
      - {{ name: web-legacy, os: Windows, os_name: Windows Server 2016 Datacenter }}
      - {{ name: bad-pv, os: Windows, os_name: Windows Server 2019 Datacenter }}
      - {{ name: bad-nfs, os: Windows, os_name: Windows Server 2019 Datacenter }}
      - {{ name: bad-os, os: Linux, os_name: Ubuntu 22.04 }}
      - {{ name: bad-ret, os: Windows, os_name: Windows Server 2019 Datacenter }}
      - {{ name: split-a, os: Windows, os_name: Windows Server 2019 Datacenter, group: split-group }}
      - {{ name: split-b, os: Windows, os_name: Windows Server 2019 Datacenter, group: split-group }}
      - {{ name: 7c1e55d0-5b7a-4f0e-9a51-0d6c7e3f9a01, friendly_name: web-01, os: Windows, group: web-group }}
      - {{ name: 7c1e55d0-5b7a-4f0e-9a51-0d6c7e3f9a02, friendly_name: web-02, os: Windows, group: web-group }}
      - {{ name: 7c1e55d0-5b7a-4f0e-9a51-0d6c7e3f9a03, friendly_name: web-03, os: Windows, group: web-group }}
      - {{ name: dup-a, friendly_name: dup-vm, os: Windows }}
      - {{ name: dup-b, friendly_name: dup-vm, os: Windows }}
"#,
        delay = k.agent_delay,
        job = k.job_duration,
        ago = k.failed_over_ago,
        fwd = k.forward_agent_delay,
        svc = k.job_service_code.unwrap_or("null"),
    )
}

/// Everything a test talks to.
/// The in-process controller's `--vault-watch-interval`.
pub const VAULT_WATCH_INTERVAL: Duration = Duration::from_secs(2);

pub struct Env {
    pub client: Client,
    pub ns: String,
    pub vcsim: Vcsim,
    pub vc: Vc,
    pub sim: RunningSim,
    /// Metrics of the in-process controller (fresh at every `start_controller`).
    pub metrics: Arc<Metrics>,
    /// The controller's `--vault-sweep-interval`: by default every look of the vault watch lists the items, as
    /// tests change the simulator's items directly, without the job a change in Azure leaves.
    pub vault_sweep_interval: Duration,
    controller: Option<tokio::task::JoinHandle<()>>,
}

impl Env {
    /// Start vcsim and the simulator, shape the on-premises site, create Secrets and the policy's objects.
    pub async fn start(ns: &str, knobs: SimKnobs) -> Result<Env> {
        Env::start_with_vcsim(ns, knobs, Vcsim::start()?).await
    }

    /// Like [`Env::start`] with a vcsim already started (e.g. `Vcsim::start_ext` to count logins).
    pub async fn start_with_vcsim(ns: &str, knobs: SimKnobs, vcsim: Vcsim) -> Result<Env> {
        let client = reprotect_test_support::client().await;
        let vc = Vc::connect(&vcsim).await?;
        let scenario = SimScenario::from_yaml(&sim_scenario(&vcsim.server, &knobs)).context("sim scenario")?;
        let sim = asr_sim::start(scenario, SimOptions { listen: "127.0.0.1:0".parse()?, time_scale: 1.0 }).await?;
        vc.add_datastore(HOST, "ds-vmfs-01", "VMFS").await?;
        vc.add_datastore(HOST, "ds-nfs-01", "NFS").await?;
        let metrics = Arc::new(Metrics::default());
        Ok(Env { client, ns: ns.to_string(), vcsim, vc, sim, metrics, vault_sweep_interval: VAULT_WATCH_INTERVAL, controller: None })
    }

    /// SOAP `Login` calls vcsim-ext has seen so far: (attempts, failed). Needs `Vcsim::start_ext`.
    pub async fn vcenter_logins(&self) -> Result<(u64, u64)> {
        let admin = self.vcsim.admin_url.as_deref().context("vcsim-ext has no admin endpoint (start it with Vcsim::start_ext)")?;
        let counts: serde_json::Value = reqwest::get(format!("{admin}/logins")).await?.json().await?;
        Ok((counts["attempts"].as_u64().unwrap_or(0), counts["failed"].as_u64().unwrap_or(0)))
    }

    /// A VM on the on-premises host, on the VMFS datastore.
    pub fn vm(&self, name: &str, guest_id: &str) -> VmSpec {
        VmSpec { datastore: "ds-vmfs-01".into(), guest_id: guest_id.into(), ..VmSpec::new(name, HOST) }
    }

    /// Apply a manifest (YAML) into the test namespace.
    pub async fn apply(&self, yaml: &str) -> Result<()> {
        let out = reprotect_test_support::shared().kubectl_stdin(&["apply", "-n", &self.ns, "-f", "-"], yaml).await?;
        out.ok().map(|_| ())
    }

    /// Secrets and the policy, pointed at vcsim and the simulator.
    pub async fn apply_policy(&self, mode: &str) -> Result<()> {
        self.apply_policy_with_vcenter(mode, &self.vcsim.server.clone()).await
    }

    /// Like [`Env::apply_policy`], with vCenter spelled as given (e.g. `https://127.0.0.1:PORT/sdk`).
    pub async fn apply_policy_with_vcenter(&self, mode: &str, vcenter_server: &str) -> Result<()> {
        let (tenant, client_id, secret) = self.sim.credentials();
        let secrets = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "azure-sp"}, "stringData": {"tenantId": tenant, "clientId": client_id, "clientSecret": secret}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "vcenter-credentials"}, "stringData": {"username": self.vcsim.username, "password": self.vcsim.password}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sim-ca"}, "stringData": {"ca.crt": self.sim.ca_pem}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "vc-ca"}, "stringData": {"ca.crt": self.vcsim.ca_pem}},
        ]});
        self.apply(&secrets.to_string()).await?;
        self.apply(&format!(
            r#"
apiVersion: reprotect.io/v1alpha1
kind: ReprotectPolicy
metadata: {{ name: dr-failback }}
spec:
  siteRecovery:
    subscriptionId: 00000000-0000-0000-0000-000000000001
    resourceGroup: rg-dr
    vaultName: vault-dr
    fabricName: cs-fabric-01
    protectionContainer: cs-container-01
    credentialsSecretRef: {{ name: azure-sp }}
    cloud: Custom
    armEndpoint: "{arm}"
    authorityHost: "{authority}"
    caBundle: {{ secretName: sim-ca }}
  vcenter:
    server: "{vc}"
    credentialsSecretRef: {{ name: vcenter-credentials }}
    tls: {{ caBundle: {{ secretName: vc-ca }} }}
  defaults: {{ masterTargetRef: mt-win-01, processServer: ps-01, datastore: ds-vmfs-01 }}
  mode: {mode}
  retry: {{ initialBackoff: 500ms, maxBackoff: 5s }}
  network: {{ connectivity: SiteToSiteVpn, processServerLocation: Azure }}
"#,
            arm = self.sim.base_url,
            authority = self.sim.authority_url,
            vc = vcenter_server,
        ))
        .await
    }

    /// Run the controller in this process with short caches, as `reprotect-controller run` would.
    pub fn start_controller(&mut self) {
        self.start_controller_with(self.credential_policy());
    }

    /// Like [`Env::start_controller`], with what the operator allows policies to do with credentials.
    pub fn start_controller_with(&mut self, credential_policy: reprotect_controller::connections::CredentialPolicy) {
        let client = self.client.clone();
        let ns = self.ns.clone();
        let settings = Settings {
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(5),
            secret_cache_ttl: Duration::from_secs(1),
            watch_referenced_objects: true,
            // Azure-side changes wake machines within seconds here (4 min by default).
            vault_watch_interval: VAULT_WATCH_INTERVAL,
            vault_sweep_interval: self.vault_sweep_interval,
            ..Settings::default()
        };
        self.metrics = Arc::new(Metrics::default());
        let metrics = self.metrics.clone();
        let connector = Arc::new(
            RealConnector::new(Duration::from_secs(1), Some(200.0))
                .with_settled_ages(&settings)
                .with_credential_policy(credential_policy)
                .with_metrics(metrics.clone()),
        );
        self.controller = Some(tokio::spawn(async move {
            // Scoped to the test's namespace: tests run in parallel, each with its own controller.
            let r = reprotect_controller::run::run_controllers_in(client, Some(ns), connector, metrics, settings, 8, Readiness::default())
                .await;
            tracing::error!(?r, "controllers ended");
        }));
    }

    /// The simulator's authority and ARM origins, as `--allowed-custom-cloud-endpoints` takes them.
    pub fn allowed_custom_cloud_endpoints(&self) -> String {
        format!("{},{}", self.sim.base_url, self.sim.authority_url)
    }

    /// Flags a controller process needs to talk to the simulator (`cloud: Custom`).
    pub fn credential_flags(&self) -> Vec<String> {
        vec!["--allowed-custom-cloud-endpoints".into(), self.allowed_custom_cloud_endpoints()]
    }

    /// What the in-process controller allows: the simulator's endpoints, no workload identity.
    pub fn credential_policy(&self) -> reprotect_controller::connections::CredentialPolicy {
        let endpoints = [self.sim.base_url.to_string(), self.sim.authority_url.to_string()];
        reprotect_controller::connections::CredentialPolicy::new(&[], &endpoints).expect("the simulator's URLs are https origins")
    }

    /// Stop the in-process controller (simulates a crash: nothing is flushed).
    pub fn stop_controller(&mut self) {
        if let Some(h) = self.controller.take() {
            h.abort();
        }
    }

    /// Wait until every named machine reaches one of `phases`; returns their final phases.
    pub async fn wait_for_phases(&self, names: &[&str], phases: &[Phase], timeout: Duration) -> Result<Vec<(String, Phase)>> {
        let api: Api<ProtectedMachine> = Api::namespaced(self.client.clone(), &self.ns);
        let deadline = Instant::now() + timeout;
        loop {
            let mut current = Vec::new();
            for n in names {
                let pm = api.get(n).await?;
                current.push((n.to_string(), pm.status.map(|s| s.phase).unwrap_or_default()));
            }
            if current.iter().all(|(_, p)| phases.contains(p)) {
                return Ok(current);
            }
            if Instant::now() > deadline {
                let dump = reprotect_test_support::shared().kubectl(&["get", "pm", "-n", &self.ns, "-o", "yaml"]).await?.stdout;
                anyhow::bail!("timed out waiting for {phases:?}; current {current:?}\n{dump}");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    pub async fn machine(&self, name: &str) -> Result<ProtectedMachine> {
        Ok(Api::<ProtectedMachine>::namespaced(self.client.clone(), &self.ns).get(name).await?)
    }

    /// Remove every snapshot of a VM (the fix for `mt-no-snapshots`).
    pub async fn remove_all_snapshots(&self, vm_name: &str) -> Result<()> {
        let moref = self.vc.vm(vm_name).await?;
        let client = self.vc.client() as Arc<dyn vim_rs::core::client::VimClient>;
        let task = vim_rs::mo::VirtualMachine::new(client, &moref)
            .remove_all_snapshots_task(None, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        self.vc.wait(&task).await
    }

    /// Power state of VMs, read through the product's own vCenter client: `(name, powered_on)`.
    pub async fn vm_power_states(&self, names: &[&str]) -> Result<Vec<(String, bool)>> {
        let pool = reprotect_vcenter::VcenterPool::new(reprotect_vcenter::PoolOptions::default());
        let vc = pool
            .connect(reprotect_vcenter::ConnectionConfig {
                server: self.vcsim.server.clone(),
                username: self.vcsim.username.clone(),
                password: self.vcsim.password.clone().into(),
                ca_bundle_pem: Some(self.vcsim.ca_pem.clone()),
                insecure_skip_verify: false,
                credentials_version: "e2e".into(),
            })
            .await?;
        let selectors: Vec<VmSelector> = names.iter().map(|n| VmSelector::Name(n.to_string())).collect();
        let facts = vc.observe(&ObserveRequest { master_target_vm: None, on_premises_vms: selectors.clone() }).await?;
        Ok(selectors
            .iter()
            .map(|s| {
                let on = facts.on_premises_vms.get(&s.key()).and_then(|f| f.as_ref()).and_then(|f| f.power_state.clone())
                    == Some(PowerState::PoweredOn);
                (s.key(), on)
            })
            .collect())
    }

    /// Reconciles of one kind so far, read from the controller's own Prometheus metrics.
    pub fn reconciles(&self, kind: &str) -> u64 {
        reconciles_in(&self.metrics.render(), kind)
    }

    /// Replace the Azure credentials Secret (e.g. with a wrong client secret).
    pub async fn set_azure_client_secret(&self, secret: &str) -> Result<()> {
        let (tenant, client_id, _) = self.sim.credentials();
        let s = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "azure-sp"},
            "stringData": {"tenantId": tenant, "clientId": client_id, "clientSecret": secret}});
        self.apply(&s.to_string()).await
    }

    /// Reprotect jobs the simulator created for one item (accepted POSTs, whether or not the
    /// client saw the answer).
    pub fn reprotect_jobs(&self, item: &str) -> usize {
        self.sim.with_world(|w| w.vaults.iter().flat_map(|v| &v.jobs).filter(|j| j.item == item).count())
    }

    /// Whether the simulator has accepted a reprotect for the item (a job exists).
    pub fn reprotect_accepted(&self, item: &str) -> bool {
        self.reprotect_jobs(item) > 0
    }

    /// Emulate ASR's failback on the on-premises side: power on in vcsim the VMs of every failback job that
    /// succeeded (`done` remembers the jobs already handled).
    pub async fn power_on_failed_back_vms(&self, done: &mut std::collections::HashSet<String>) -> Result<()> {
        let finished: Vec<(String, Vec<String>)> = self.sim.with_world(|w| {
            w.vaults
                .iter()
                .flat_map(|v| &v.jobs)
                .filter(|j| j.kind == asr_sim::failback::JobKind::Failback && j.state == asr_sim::state::JobState::Succeeded)
                .map(|j| (j.name.clone(), j.members.clone()))
                .collect()
        });
        for (job, members) in finished {
            if done.insert(job) {
                for vm in members {
                    let moref = self.vc.vm(&vm).await?;
                    // Already on (an earlier call handled this job): fine.
                    if let Err(e) = self.vc.power_on(&moref).await
                        && !self.vm_power_states(&[vm.as_str()]).await?.iter().all(|(_, on)| *on)
                    {
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }

    /// Like [`Env::wait_for_phases`], powering on failed-back VMs meanwhile (as ASR does).
    pub async fn wait_home(&self, names: &[&str], phases: &[Phase], timeout: Duration) -> Result<Vec<(String, Phase)>> {
        let deadline = Instant::now() + timeout;
        let mut done = std::collections::HashSet::new();
        loop {
            self.power_on_failed_back_vms(&mut done).await?;
            let left = deadline.saturating_duration_since(Instant::now());
            match self.wait_for_phases(names, phases, Duration::from_millis(1)).await {
                Ok(p) => return Ok(p),
                Err(e) if left.is_zero() => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }

    /// Approve the way home for machines of [`MASTER_TARGETS_AND_MACHINES`]: the same manifest with
    /// `desiredState: ProtectedToAzure` and `failback.approval`.
    pub fn approved_manifest(names: &[&str], approval: &str) -> String {
        let docs = MASTER_TARGETS_AND_MACHINES.split("---").filter(|doc| {
            doc.contains("kind: ProtectedMachine") && names.iter().any(|n| doc.contains(&format!("metadata: {{ name: {n} }}")))
        });
        let extra = format!(", desiredState: ProtectedToAzure, failback: {{ approval: {approval} }} }}");
        docs.map(|doc| {
            doc.lines()
                .map(|l| match l.strip_prefix("spec: {").and_then(|rest| rest.strip_suffix(" }")) {
                    Some(inner) => format!("spec: {{{inner}{extra}"),
                    None => l.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n---\n")
    }

    /// POSTs the simulator received whose path contains `route` (e.g. `replicationProtectedItems/db-01/unplannedFailover`).
    pub fn posts(&self, route: &str) -> usize {
        self.sim.count("POST", route)
    }

    /// Reprotect POSTs the simulator received for one item.
    pub fn reprotect_posts(&self, item: &str) -> usize {
        self.sim.count("POST", &format!("replicationProtectedItems/{item}/reProtect"))
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        self.stop_controller();
    }
}

/// `reprotect_reconciles_total{kind}` in a Prometheus text exposition (0 when absent).
pub fn reconciles_in(metrics_text: &str, kind: &str) -> u64 {
    let prefix = format!("reprotect_reconciles_total{{kind=\"{kind}\"}} ");
    metrics_text.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

pub const WINDOWS: &str = "windows9Server64Guest";
pub const LINUX: &str = "rhel7_64Guest";

/// Shape the on-premises site: master targets (mt-win-01 with `mt_win_snapshots` snapshots,
/// mt-lin-01, mt-win-02 with a snapshot) and the on-premises VMs, all powered on.
pub async fn site(env: &Env, mt_win_snapshots: u32) -> Result<()> {
    let mut mt_win = env.vm("mt-win-01", WINDOWS);
    mt_win.disk_enable_uuid = Some(true);
    mt_win.snapshots = mt_win_snapshots;
    env.vc.create_vm(&mt_win).await?;
    let mut mt_win2 = env.vm("mt-win-02", WINDOWS);
    mt_win2.disk_enable_uuid = Some(true);
    mt_win2.snapshots = 1;
    env.vc.create_vm(&mt_win2).await?;
    let mut mt_lin = env.vm("mt-lin-01", LINUX);
    mt_lin.disk_enable_uuid = Some(true);
    env.vc.create_vm(&mt_lin).await?;
    for name in ["app-01", "app-02", "app-03"] {
        env.vc.create_vm(&env.vm(name, WINDOWS)).await?;
    }
    env.vc.create_vm(&env.vm("db-01", LINUX)).await?;
    Ok(())
}

/// Master targets and machines as in `examples/`, minus the Secrets and policy.
pub const MASTER_TARGETS_AND_MACHINES: &str = r#"
apiVersion: reprotect.io/v1alpha1
kind: MasterTarget
metadata: { name: mt-win-01 }
spec: { policyRef: dr-failback, asrName: mt-win-01, vcenterVmName: mt-win-01, osType: Windows }
---
apiVersion: reprotect.io/v1alpha1
kind: MasterTarget
metadata: { name: mt-win-02 }
spec: { policyRef: dr-failback, asrName: mt-win-02, vcenterVmName: mt-win-02, osType: Windows }
---
apiVersion: reprotect.io/v1alpha1
kind: MasterTarget
metadata: { name: mt-lin-01 }
spec: { policyRef: dr-failback, asrName: mt-lin-01, vcenterVmName: mt-lin-01, osType: Linux }
---
apiVersion: reprotect.io/v1alpha1
kind: ProtectedMachine
metadata: { name: app-01 }
spec: { policyRef: dr-failback, item: { name: app-01 }, existingVm: { name: app-01 }, osType: Windows, replicationGroup: app-group }
---
apiVersion: reprotect.io/v1alpha1
kind: ProtectedMachine
metadata: { name: app-02 }
spec: { policyRef: dr-failback, item: { name: app-02 }, existingVm: { name: app-02 }, osType: Windows, replicationGroup: app-group }
---
apiVersion: reprotect.io/v1alpha1
kind: ProtectedMachine
metadata: { name: app-03 }
spec: { policyRef: dr-failback, item: { name: app-03 }, existingVm: { name: app-03 }, osType: Windows, replicationGroup: app-group }
---
apiVersion: reprotect.io/v1alpha1
kind: ProtectedMachine
metadata: { name: db-01 }
spec: { policyRef: dr-failback, item: { name: db-01 }, existingVm: { name: db-01 }, osType: Linux, masterTargetRef: mt-lin-01 }
"#;

/// A machine whose master target has a snapshot: it must end `Blocked`.
pub const BLOCKED_MACHINE: &str = r#"
apiVersion: reprotect.io/v1alpha1
kind: ProtectedMachine
metadata: { name: web-legacy }
spec: { policyRef: dr-failback, item: { friendlyName: web-legacy }, alternateLocation: { datastore: ds-vmfs-01 }, osType: Windows, masterTargetRef: mt-win-02 }
"#;
