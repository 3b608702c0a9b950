//! End-to-end environment: the real API server, vcsim shaped like an on-premises site, the ASR simulator, and the controller in-process.

mod in_process_controller;
mod manifests;
mod on_premises;
pub mod process;
mod simulated_azure;
mod waits;

pub use in_process_controller::reconciles_in;
pub use manifests::{BLOCKED_MACHINE, MASTER_TARGETS_AND_MACHINES};
pub use on_premises::{LINUX, WINDOWS, site};
pub use simulated_azure::{SimKnobs, sim_scenario};

use anyhow::{Context as _, Result};
use asr_sim::{RunningSim, Scenario as SimScenario, SimOptions};
use kube::Client;
use reprotect_controller::metrics::Metrics;
use reprotect_vcsim_support::{Scenario as Vc, Vcsim, VmSpec};
use std::sync::Arc;
use std::time::Duration;

/// Host of the on-premises site in vcsim's default inventory (standalone host).
pub const HOST: &str = "DC0_H0";

/// The in-process controller's `--vault-watch-interval`.
pub const VAULT_WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// Everything a test talks to.
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

    /// A VM on the on-premises host, on the VMFS datastore.
    pub fn vm(&self, name: &str, guest_id: &str) -> VmSpec {
        VmSpec { datastore: "ds-vmfs-01".into(), guest_id: guest_id.into(), ..VmSpec::new(name, HOST) }
    }

    /// Apply a manifest (YAML) into the test namespace.
    pub async fn apply(&self, yaml: &str) -> Result<()> {
        let out = reprotect_test_support::shared().kubectl_stdin(&["apply", "-n", &self.ns, "-f", "-"], yaml).await?;
        out.ok().map(|_| ())
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        self.stop_controller();
    }
}
