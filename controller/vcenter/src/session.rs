//! One logged-in vim_rs SOAP client per connection, with transparent re-login and bounded concurrency.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use reprotect_facts::vcenter::VcenterError;
use secrecy::ExposeSecret;
use tokio::sync::{Mutex, RwLock, Semaphore, SemaphorePermit};
use vim_rs::core::client::{Client, ClientBuilder, Error as VimError, VimClient};
use vim_rs::mo::SessionManager;
use vim_rs::types::structs::{ManagedObjectReference, UserSession};

use crate::connect::{ConnectionConfig, PoolOptions, http_client};
use crate::faults::{call_error, connect_error, is_not_authenticated, maybe_not_authenticated};
use crate::login_gate::LoginGate;

/// Per-login state that dies with the vSphere session (container views are session-scoped).
#[derive(Default)]
pub(crate) struct LoginState {
    pub key: Option<String>,
    pub user_name: String,
    pub generation: u64,
}

pub(crate) struct Session {
    config: ConnectionConfig,
    pub(crate) options: PoolOptions,
    client: RwLock<Arc<Client>>,
    login: Mutex<LoginState>,
    generation: AtomicU64,
    logins: AtomicU64,
    permits: Semaphore,
    /// Shared with every session of the same identity: no login while vCenter's last rejection is backing off.
    gate: Arc<LoginGate>,
    /// Container view over all VMs (root folder, recursive) and the login generation it belongs to.
    pub(crate) vm_view: Mutex<Option<(u64, ManagedObjectReference)>>,
    /// The VM name index last read through that view (see `observe::NameIndex`).
    pub(crate) vm_names: Mutex<Option<crate::observe::NameIndex>>,
    /// Host moref -> (fetched at, licence edition).
    pub(crate) license_cache: Mutex<std::collections::HashMap<String, (std::time::Instant, Option<String>)>>,
    /// "generation#host" -> (fetched at, missing datastore privileges).
    pub(crate) privilege_cache: Mutex<std::collections::HashMap<String, (std::time::Instant, Vec<String>)>>,
}

impl Session {
    pub(crate) async fn connect(config: ConnectionConfig, options: PoolOptions, gate: Arc<LoginGate>) -> Result<Session, VcenterError> {
        // Checked before connecting at all: a rejected identity sends nothing until its backoff ends.
        gate.check(&config.server)?;
        let client = build_client(&config, &options).await?;
        let session = Session {
            gate,
            permits: Semaphore::new(options.max_concurrent_operations.max(1)),
            config,
            options,
            client: RwLock::new(client),
            login: Mutex::new(LoginState::default()),
            generation: AtomicU64::new(0),
            logins: AtomicU64::new(0),
            vm_view: Mutex::new(None),
            vm_names: Mutex::new(None),
            license_cache: Mutex::new(Default::default()),
            privilege_cache: Mutex::new(Default::default()),
        };
        session.login_now(0).await?;
        Ok(session)
    }

    pub(crate) fn server(&self) -> &str {
        &self.config.server
    }

    pub(crate) async fn client(&self) -> Arc<Client> {
        self.client.read().await.clone()
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn login_count(&self) -> u64 {
        self.logins.load(Ordering::Acquire)
    }

    pub(crate) async fn session_key(&self) -> Option<String> {
        self.login.lock().await.key.clone()
    }

    /// Wait for a slot: at most `max_concurrent_operations` operations run against this vCenter at once.
    #[allow(clippy::expect_used)] // the semaphore is owned here and never closed
    pub(crate) async fn permit(&self) -> SemaphorePermit<'_> {
        self.permits.acquire().await.expect("semaphore never closed")
    }

    fn session_manager(client: &Arc<Client>) -> Result<SessionManager, VimError> {
        let sm = client.service_content().session_manager.as_ref().ok_or_else(|| VimError::ParseError("no SessionManager".into()))?;
        Ok(SessionManager::new(client.clone() as Arc<dyn VimClient>, &sm.value))
    }

    /// Log in (again) unless another task already did since `seen_generation`.
    async fn login_now(&self, seen_generation: u64) -> Result<(), VcenterError> {
        let mut state = self.login.lock().await;
        if self.generation() != seen_generation {
            return Ok(());
        }
        let user = match self.try_login(&self.client().await).await? {
            Ok(u) => u,
            Err(e) if is_not_authenticated(&e) || matches!(e, VimError::ReqwestError(_)) => {
                // A broken client (e.g. connection reset): rebuild it once from scratch.
                let fresh = build_client(&self.config, &self.options).await?;
                *self.client.write().await = fresh.clone();
                self.try_login(&fresh).await?.map_err(|e| self.login_failed(e))?
            }
            Err(e) => return Err(self.login_failed(e)),
        };
        self.gate.accepted();
        tracing::debug!(server = %self.config.server, user = %self.config.username, "vCenter login");
        state.key = Some(user.key);
        state.user_name = user.user_name;
        state.generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        self.logins.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// One Login request; the outer error is a closed gate (`InvalidLogin` without sending anything).
    async fn try_login(&self, client: &Arc<Client>) -> Result<Result<UserSession, VimError>, VcenterError> {
        self.gate.check(&self.config.server)?;
        let sm = match Self::session_manager(client) {
            Ok(sm) => sm,
            Err(e) => return Ok(Err(e)),
        };
        self.gate.attempt();
        Ok(sm.login(&self.config.username, self.config.password.expose_secret(), None).await)
    }

    /// Map a failed login; a rejection closes the gate for every session of this identity.
    fn login_failed(&self, e: VimError) -> VcenterError {
        let err = connect_error(&self.config.server, e);
        if matches!(err, VcenterError::InvalidLogin { .. }) {
            self.gate.rejected();
            tracing::warn!(server = %self.config.server, user = %self.config.username, "vCenter rejected the credentials; not retrying before the backoff ends");
        }
        err
    }

    /// Is the session still alive? A cheap method call: method faults are typed (`NotAuthenticated`),
    /// unlike property reads whose lost-session fault vim_rs cannot parse.
    async fn session_alive(&self, client: &Arc<Client>) -> bool {
        let (key, user) = {
            let s = self.login.lock().await;
            (s.key.clone().unwrap_or_default(), s.user_name.clone())
        };
        let Ok(sm) = Self::session_manager(client) else { return false };
        match sm.session_is_active(&key, &user).await {
            Ok(active) => active,
            Err(e) => !is_not_authenticated(&e),
        }
    }

    /// Run `f` with the current client; if it fails in a way that may mean "logged out", confirm with a
    /// cheap call, log in again and retry once.
    pub(crate) async fn call<T, F, Fut>(&self, name: &str, f: F) -> Result<T, VcenterError>
    where
        F: Fn(Arc<Client>) -> Fut,
        Fut: Future<Output = Result<T, VimError>>,
    {
        let generation = self.generation();
        let client = self.client().await;
        match f(client.clone()).await {
            Ok(v) => Ok(v),
            Err(e) if maybe_not_authenticated(&e) => {
                // A parse error while another caller logs in again (the generation moved on, looked at after the
                // liveness check, which that login may complete meanwhile) was the old session failing: retry on the
                // new one, even though the shared session is alive by now.
                if !is_not_authenticated(&e) && self.session_alive(&client).await && self.generation() == generation {
                    return Err(call_error(&self.config.server, name, e));
                }
                tracing::info!(server = %self.config.server, call = name, "vCenter session lost; logging in again");
                self.login_now(generation).await?;
                f(self.client().await).await.map_err(|e| call_error(&self.config.server, name, e))
            }
            Err(e) => Err(call_error(&self.config.server, name, e)),
        }
    }

    /// Log out the shared session (tests; shutdown).
    pub(crate) async fn logout(&self) -> Result<(), VcenterError> {
        let client = self.client().await;
        let sm = Self::session_manager(&client).map_err(|e| call_error(&self.config.server, "Logout", e))?;
        sm.logout().await.map_err(|e| call_error(&self.config.server, "Logout", e))
    }
}

async fn build_client(config: &ConnectionConfig, options: &PoolOptions) -> Result<Arc<Client>, VcenterError> {
    let http = http_client(config, options)?;
    ClientBuilder::new(&config.server, http)
        .transport(vim_rs::core::client::TransportMode::Soap)
        .app_details(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        .build()
        .await
        .map_err(|e| connect_error(&config.server, e))
}
