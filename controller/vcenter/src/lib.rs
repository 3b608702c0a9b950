//! vim_rs (SOAP) implementation of [`reprotect_facts::Vcenter`]: one shared, self-healing session per vCenter.
//!
//! Entry points: [`VcenterPool::connect`] (cached per server, user, credentials version and TLS settings, with a
//! shared login backoff after `InvalidLogin`) or [`VimVcenter::connect`].
//! Observation reads everything in two `RetrievePropertiesEx` round trips (name resolution through a
//! per-session container view, then one batched read of VMs, hosts and datastores); see [`observe`].
//! `VcenterFacts::round_trips` counts every HTTP request an observation made: steady state is 2 (names + batch),
//! 1 while the session's name index is younger than `PoolOptions::names_max_age` (observations share it);
//! the first call per login adds CreateContainerView, the licence lookup (2, concurrent with the batch, cached
//! `license_cache_ttl`) and HasPrivilegeOnEntities (1, cached per login and host).
//! Tasks are tracked by polling `info.state` and reading the fault type from raw XML; see [`tasks`].

mod connect;
mod faults;
mod log_filter;
mod login_gate;
mod observe;
mod observe_map;
mod pool;
mod session;
mod tasks;

use std::sync::Arc;

pub use connect::{ConnectionConfig, PoolOptions};
pub use faults::{RawFault, fault_from_task_error_xml};
pub use log_filter::{REDACTED_LOG_TARGETS, redacted_log_filter};
pub use pool::VcenterPool;
pub use reprotect_facts::vcenter::{ObserveRequest, Vcenter, VcenterError, VcenterFacts, VmSelector};
pub use secrecy::SecretString;
use session::Session;
pub use tasks::empty_config_spec;

/// A logged-in vCenter connection implementing [`Vcenter`]. Cheap to clone; clones share the session.
#[derive(Clone)]
pub struct VimVcenter {
    session: Arc<Session>,
}

impl std::fmt::Debug for VimVcenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VimVcenter").field("server", &self.session.server()).finish()
    }
}

impl VimVcenter {
    /// Connect and log in without a pool (tests, one-off tools). Errors: `Tls`, `InvalidLogin`, `Connect`.
    pub async fn connect(config: ConnectionConfig, options: PoolOptions) -> Result<VimVcenter, VcenterError> {
        let gate = Arc::new(login_gate::LoginGate::new(options.login_backoff_initial, options.login_backoff_max, Arc::default()));
        Self::connect_gated(config, options, gate).await
    }

    /// Connect through a login gate shared with other sessions of the same identity (see [`VcenterPool`]).
    pub(crate) async fn connect_gated(
        config: ConnectionConfig,
        options: PoolOptions,
        gate: Arc<login_gate::LoginGate>,
    ) -> Result<VimVcenter, VcenterError> {
        let session = Session::connect(config, options, gate).await?;
        Ok(VimVcenter { session: Arc::new(session) })
    }

    /// The key of the current vSphere session (for tests that terminate it from outside).
    pub async fn session_key(&self) -> Option<String> {
        self.session.session_key().await
    }

    /// Log the shared session out (as if vCenter had dropped it); the next call logs in again.
    pub async fn logout_for_test(&self) -> Result<(), VcenterError> {
        self.session.logout().await
    }

    /// How many times this connection has logged in (1 after connect; +1 per transparent re-login).
    pub fn login_count(&self) -> u64 {
        self.session.login_count()
    }

    /// Track any task (by moref value, e.g. `task-42`) the way `power_off` does: `TaskFailed{fault}` on error.
    pub async fn wait_for_task(&self, task: &str, name: &str) -> Result<(), VcenterError> {
        let task = observe::moref(vim_rs::types::enums::MoTypesEnum::Task, task);
        tasks::wait_task(&self.session, name, &task).await
    }

    /// The underlying vim_rs client, for callers that need an API this crate does not wrap.
    pub async fn vim_client(&self) -> Arc<vim_rs::core::client::Client> {
        self.session.client().await
    }
}

#[async_trait::async_trait]
impl Vcenter for VimVcenter {
    async fn observe(&self, request: &ObserveRequest) -> Result<VcenterFacts, VcenterError> {
        observe::observe(&self.session, request).await
    }

    async fn power_off(&self, vm: &VmSelector) -> Result<(), VcenterError> {
        tasks::power_off(&self.session, vm).await
    }

    async fn enable_disk_uuid(&self, vm: &VmSelector) -> Result<(), VcenterError> {
        tasks::enable_disk_uuid(&self.session, vm).await
    }
}
