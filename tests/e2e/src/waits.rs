//! Waiting for ProtectedMachines to reach phases (optionally playing ASR's failback meanwhile), and reading one.

use crate::Env;
use anyhow::Result;
use kube::api::Api;
use reprotect_controller::crd::{Phase, ProtectedMachine};
use std::time::{Duration, Instant};

impl Env {
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
}
