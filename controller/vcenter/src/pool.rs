//! The pool that shares one logged-in session per vCenter identity, with per-identity single flight.
//!
//! The identity ([`ConnectionKey`]) is everything that changes what is sent or trusted: server, user,
//! credentials version and the TLS settings. The pool-wide lock is only held to find an identity's slot;
//! connecting and logging in happen under that slot's own lock, so one unreachable vCenter never stalls
//! callers of another, and concurrent callers of one identity share a single attempt and its result.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use reprotect_facts::vcenter::{Vcenter, VcenterError};

use crate::VimVcenter;
use crate::connect::{ConnectionConfig, PoolOptions};
use crate::login_gate::LoginGate;

/// What must match for two callers to share a session.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ConnectionKey {
    server: String,
    username: String,
    credentials_version: String,
    ca_bundle_pem: Option<String>,
    insecure_skip_verify: bool,
}

impl ConnectionKey {
    fn of(c: &ConnectionConfig) -> ConnectionKey {
        ConnectionKey {
            server: c.server.clone(),
            username: c.username.clone(),
            credentials_version: c.credentials_version.clone(),
            ca_bundle_pem: c.ca_bundle_pem.clone(),
            insecure_skip_verify: c.insecure_skip_verify,
        }
    }
}

enum SlotState {
    Empty,
    Connected(VimVcenter),
    /// The last attempt failed at `at`; callers that were already waiting get the same error.
    Failed {
        at: Instant,
        error: VcenterError,
    },
}

struct Slot {
    state: tokio::sync::Mutex<SlotState>,
    gate: Arc<LoginGate>,
    last_used: Mutex<Instant>,
}

/// Shares one logged-in [`VimVcenter`] per [`ConnectionKey`].
pub struct VcenterPool {
    options: PoolOptions,
    slots: Mutex<HashMap<ConnectionKey, Arc<Slot>>>,
    login_attempts: Arc<AtomicU64>,
}

impl Default for VcenterPool {
    fn default() -> Self {
        VcenterPool::new(PoolOptions::default())
    }
}

impl VcenterPool {
    pub fn new(options: PoolOptions) -> VcenterPool {
        VcenterPool { options, slots: Mutex::new(HashMap::new()), login_attempts: Arc::default() }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<ConnectionKey, Arc<Slot>>> {
        // Map updates are single inserts/removes, so a poisoned map is still consistent.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Return the cached connection for this identity or log in a new one.
    /// A successful login replaces older connections of the same server and user (e.g. an older Secret version).
    /// After `InvalidLogin`, no login is sent for this identity until the backoff ends; a new credentials
    /// version is a new identity and is tried at once.
    pub async fn connect(&self, config: ConnectionConfig) -> Result<Arc<dyn Vcenter>, VcenterError> {
        Ok(Arc::new(self.connect_vim(config).await?))
    }

    /// Like [`VcenterPool::connect`] but returns the concrete type.
    pub async fn connect_vim(&self, mut config: ConnectionConfig) -> Result<VimVcenter, VcenterError> {
        // Any spelling the CRD accepts (`https://host/sdk`, `host:port`) becomes the `host[:port]` the SOAP URL needs.
        config.server = config.soap_server();
        let key = ConnectionKey::of(&config);
        let slot = self.slot(&key);
        let asked = Instant::now();
        let mut state = slot.state.lock().await;
        match &*state {
            SlotState::Connected(vc) => return Ok(vc.clone()),
            SlotState::Failed { at, error } if *at >= asked => return Err(copy_error(error)),
            _ => {}
        }
        match VimVcenter::connect_gated(config, self.options.clone(), slot.gate.clone()).await {
            Ok(vc) => {
                *state = SlotState::Connected(vc.clone());
                drop(state);
                self.slots().retain(|k, _| k == &key || k.server != key.server || k.username != key.username);
                Ok(vc)
            }
            Err(error) => {
                *state = SlotState::Failed { at: Instant::now(), error: copy_error(&error) };
                Err(error)
            }
        }
    }

    /// The slot of `key` (created on first use); drops slots idle for longer than `idle_timeout`.
    fn slot(&self, key: &ConnectionKey) -> Arc<Slot> {
        let now = Instant::now();
        let idle = self.options.idle_timeout;
        let mut slots = self.slots();
        slots.retain(|k, s| k == key || now.duration_since(*s.last_used.lock().unwrap_or_else(PoisonError::into_inner)) < idle);
        let slot = slots.entry(key.clone()).or_insert_with(|| {
            Arc::new(Slot {
                state: tokio::sync::Mutex::new(SlotState::Empty),
                gate: Arc::new(LoginGate::new(
                    self.options.login_backoff_initial,
                    self.options.login_backoff_max,
                    self.login_attempts.clone(),
                )),
                last_used: Mutex::new(now),
            })
        });
        *slot.last_used.lock().unwrap_or_else(PoisonError::into_inner) = now;
        slot.clone()
    }

    /// Forget a server's connections (e.g. its CR was deleted).
    pub async fn evict(&self, server: &str) {
        let server = reprotect_facts::vcenter_soap_server(server);
        self.slots().retain(|k, _| k.server != server);
    }

    /// Number of cached identities.
    pub async fn len(&self) -> usize {
        self.slots().len()
    }

    /// Whether no identity is cached.
    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }

    /// Login requests sent to any vCenter by this pool so far (successful or not).
    pub fn login_attempts(&self) -> u64 {
        self.login_attempts.load(Ordering::Acquire)
    }
}

/// `VcenterError` is not `Clone` (it lives in reprotect-facts); connecting only yields the string-only
/// variants below, anything else is kept as its text.
fn copy_error(e: &VcenterError) -> VcenterError {
    match e {
        VcenterError::Connect { server, message } => VcenterError::Connect { server: server.clone(), message: message.clone() },
        VcenterError::Tls { server, message } => VcenterError::Tls { server: server.clone(), message: message.clone() },
        VcenterError::InvalidLogin { server } => VcenterError::InvalidLogin { server: server.clone() },
        other => VcenterError::Call { call: "connect".into(), message: other.to_string() },
    }
}
