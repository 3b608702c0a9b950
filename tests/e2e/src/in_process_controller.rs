//! The controller run inside the test process (as `reprotect-controller run` would), scoped to the test's namespace,
//! and its reconcile counts.

use crate::{Env, VAULT_WATCH_INTERVAL};
use reprotect_controller::connectors::RealConnector;
use reprotect_controller::context::Settings;
use reprotect_controller::http::Readiness;
use reprotect_controller::metrics::Metrics;
use std::sync::Arc;
use std::time::Duration;

impl Env {
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

    /// Reconciles of one kind so far, read from the controller's own Prometheus metrics.
    pub fn reconciles(&self, kind: &str) -> u64 {
        reconciles_in(&self.metrics.render(), kind)
    }
}

/// `reprotect_reconciles_total{kind}` in a Prometheus text exposition (0 when absent).
pub fn reconciles_in(metrics_text: &str, kind: &str) -> u64 {
    let prefix = format!("reprotect_reconciles_total{{kind=\"{kind}\"}} ");
    metrics_text.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}
