//! `asr-sim`: an HTTPS simulator of Azure Site Recovery (VMware reprotect from Azure to
//! on-premises) and of the Entra ID token endpoint, driven by a YAML scenario.
//!
//! ```no_run
//! # async fn demo() -> Result<(), asr_sim::Error> {
//! let sc = asr_sim::Scenario::from_yaml("vaults: [{items: [{name: app-01}]}]")?;
//! let sim = asr_sim::start(sc, asr_sim::SimOptions::default()).await?;
//! println!("{} {}", sim.base_url, sim.ca_path.display());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

// Handlers return axum `Response`s (and the simulator its ASR error body) as the error side of
// `Result`, the usual axum idiom; boxing them would only add noise to a test tool.
#![allow(clippy::result_large_err)]

pub mod conformance;
pub mod failback;
pub mod fault_responses;
pub mod faults;
pub mod json;
pub mod json_items;
pub mod plans;
pub mod routes;
pub mod scenario;
mod server;
pub mod state;
pub mod throttle;
pub mod tls;
pub mod validate;
pub mod validate_failback;

pub use faults::{FaultKind, FaultRule, Malformed};
pub use scenario::{AsyncOperationId, LroHeaders, Scenario};
pub use server::Shared;
pub use state::World;
pub use throttle::{BucketSpec, ThrottlingSpec};

use jiff::Timestamp;
use serde::Serialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("scenario: {0}")]
    Scenario(String),
    #[error("tls: {0}")]
    Tls(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// How to run the simulator.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Listen address; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Simulated seconds per real second (jobs, agent registration, heartbeats).
    pub time_scale: f64,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions { listen: SocketAddr::from(([127, 0, 0, 1], 0)), time_scale: 1.0 }
    }
}

/// One request as the simulator saw it.
#[derive(Clone, Debug, Serialize)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    /// Wall-clock time the request arrived.
    pub at: Timestamp,
}

/// A running simulator. Dropping it stops the listener too.
pub struct RunningSim {
    /// ARM endpoint, `https://127.0.0.1:PORT/`.
    pub base_url: Url,
    /// Entra ID authority host; token endpoint at `{authority}/{tenant}/oauth2/v2.0/token`.
    pub authority_url: Url,
    /// `{authority}/{tenant}/oauth2/v2.0/token` for the scenario's tenant.
    pub token_url: Url,
    pub ca_pem: String,
    pub ca_path: PathBuf,
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Start the simulator; it serves until [`RunningSim::shutdown`] or drop.
pub async fn start(scenario: Scenario, opts: SimOptions) -> Result<RunningSim, Error> {
    server::start(scenario, opts).await
}

impl RunningSim {
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.log.lock().unwrap().clone()
    }
    pub fn clear_requests(&self) {
        self.shared.log.lock().unwrap().clear();
    }
    /// Requests with this method (case-insensitive; `""` or `"*"`: any) whose path contains the
    /// fragment (case-insensitive).
    pub fn count(&self, method: &str, path_suffix_contains: &str) -> usize {
        self.shared.count(method, path_suffix_contains)
    }
    pub fn inject_fault(&self, rule: FaultRule) {
        self.shared.faults.add(rule);
    }
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }
    /// Force the mobility agent of `item` (every vault) registered or not registered.
    pub fn set_agent_registered(&self, item: &str, registered: bool) {
        self.shared.with_world(|w| w.set_agent_registered(item, Some(registered)));
    }
    /// Back to time-based registration (failover time + delay).
    pub fn clear_agent_override(&self, item: &str) {
        self.shared.with_world(|w| w.set_agent_registered(item, None));
    }
    /// Script the next job of `scenario` (`UnplannedFailover`, `CommitFailover`, `SwitchReplicationGroupProtection`,
    /// `ReverseReplicate`) on `item` to fail with ASR error `code`. Returns whether the item was found.
    pub fn fail_next_job(&self, item: &str, scenario: &str, code: &str) -> bool {
        self.shared.with_world(|w| w.fail_next_job(item, scenario, code))
    }
    /// A second disaster: `item` fails over to Azure again now (see `World::fail_over_again`).
    pub fn fail_over_again(&self, item: &str) -> bool {
        let now = self.now();
        self.shared.with_world(|w| w.fail_over_again(item, now))
    }
    /// [`RunningSim::fail_over_again`] in the vault named `vault` only.
    pub fn fail_over_again_in(&self, vault: &str, item: &str) -> bool {
        let now = self.now();
        self.shared.with_world(|w| w.fail_over_again_in(Some(vault), item, now))
    }
    /// Does the failed-over Azure VM of `item` still exist (a failback commit removes it)?
    pub fn azure_vm_exists(&self, item: &str) -> Option<bool> {
        self.shared
            .with_world(|w| w.vaults.iter().flat_map(|v| &v.items).find(|i| i.name.eq_ignore_ascii_case(item)).map(|i| i.azure_vm_present))
    }
    /// Jump simulated time forward.
    pub fn advance_time(&self, by: Duration) {
        self.shared.clock.advance(by);
    }
    /// Simulated now.
    pub fn now(&self) -> Timestamp {
        self.shared.clock.now()
    }
    /// Inspect or change the world (items, jobs, fabrics) under the lock; jobs are advanced first.
    pub fn with_world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        self.shared.with_world(f)
    }
    /// A valid bearer token for the scenario's client, without going through the token endpoint.
    pub fn issue_token(&self) -> String {
        self.shared.issue_token()
    }
    /// A valid bearer token for another client (service principal): it has buckets of its own.
    pub fn issue_token_for(&self, client_id: &str) -> String {
        self.shared.issue_token_for(client_id)
    }
    /// Answers with this HTTP status so far (e.g. 429: throttled).
    pub fn count_status(&self, status: u16) -> usize {
        self.shared.log.lock().unwrap().iter().filter(|r| r.status == status).count()
    }
    /// The scenario's credentials: (tenant id, client id, client secret).
    pub fn credentials(&self) -> (String, String, String) {
        let c = self.shared.with_world(|w| w.credentials.clone());
        (c.tenant_id, c.client_id, c.client_secret)
    }
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(true);
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(true);
        }
    }
}
