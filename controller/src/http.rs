//! HTTP endpoints: `/healthz` (process alive), `/readyz` (able to serve if elected), `/metrics`.
//!
//! Readiness means "this replica can take over", not "this replica is the leader": a standby
//! waiting for the Lease is Ready, so a rolling update with `maxUnavailable: 0` can bring up a
//! surge pod while the old leader still holds the Lease, and a drain can evict the leader.
//! The leader (or a single replica) is Ready once its watches have synced.

use crate::metrics::Metrics;
use axum::{Router, extract::State, http::StatusCode, routing::get};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

/// Where this replica stands; only one state at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ReadyState {
    /// Starting, CRDs missing, watches not yet synced, or shutting down.
    NotReady = 0,
    /// Waiting for the leader-election Lease: nothing to sync until elected, able to serve if elected.
    Standby = 1,
    /// Leading (or running without leader election) with every watch synced.
    Synced = 2,
}

impl ReadyState {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => ReadyState::Standby,
            2 => ReadyState::Synced,
            _ => ReadyState::NotReady,
        }
    }
}

/// Shared readiness state, written by the controller (watches synced) and leader election (standby).
#[derive(Clone, Default)]
pub struct Readiness(Arc<AtomicU8>);

impl Readiness {
    /// Watches synced (`true`) or not yet / no longer (`false`).
    pub fn set(&self, ready: bool) {
        self.set_state(if ready { ReadyState::Synced } else { ReadyState::NotReady });
    }
    /// This replica is waiting for the Lease: Ready, since it can take over.
    /// Call it each time leader election goes back to waiting (start-up and after losing the Lease).
    pub fn set_standby(&self) {
        self.set_state(ReadyState::Standby);
    }
    pub fn set_state(&self, state: ReadyState) {
        self.0.store(state as u8, Ordering::SeqCst);
    }
    pub fn state(&self) -> ReadyState {
        ReadyState::from_u8(self.0.load(Ordering::SeqCst))
    }
    /// Able to serve if elected: a standby, or a leader whose watches are synced.
    pub fn is_ready(&self) -> bool {
        self.state() != ReadyState::NotReady
    }
}

/// Status and body of `/readyz` for a state.
pub fn readyz(state: ReadyState) -> (StatusCode, &'static str) {
    match state {
        ReadyState::Synced => (StatusCode::OK, "ready: watches synced"),
        ReadyState::Standby => (StatusCode::OK, "ready: standby, waiting for the leader-election Lease"),
        ReadyState::NotReady => (StatusCode::SERVICE_UNAVAILABLE, "not ready: CRDs missing or watches not synced"),
    }
}

#[derive(Clone)]
struct AppState {
    metrics: Arc<Metrics>,
    ready: Readiness,
}

/// The router, separate from serving so it can be tested without a socket.
pub fn router(metrics: Arc<Metrics>, ready: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|State(s): State<AppState>| async move { readyz(s.ready.state()) }))
        .route(
            "/metrics",
            get(|State(s): State<AppState>, headers: axum::http::HeaderMap| async move { metrics_page(&s.metrics, &headers) }),
        )
        .with_state(AppState { metrics, ready })
}

/// OpenMetrics for a scraper that asks for it (Prometheus does), else the classic text format (curl, promtool).
pub fn metrics_page(metrics: &Metrics, headers: &axum::http::HeaderMap) -> ([(&'static str, &'static str); 1], String) {
    let accept = headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if accept.contains("application/openmetrics-text") {
        ([("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8")], metrics.render())
    } else {
        ([("content-type", "text/plain; version=0.0.4; charset=utf-8")], metrics.render_classic())
    }
}

/// Serve until `shutdown` resolves.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    ready: Readiness,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "serving /healthz, /readyz and /metrics");
    axum::serve(listener, router(metrics, ready)).with_graceful_shutdown(shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_gets_openmetrics_and_everyone_else_the_classic_format() {
        let m = Metrics::default();
        m.action("reprotect", true);
        let mut headers = axum::http::HeaderMap::new();
        let (ct, body) = metrics_page(&m, &headers);
        assert!(ct[0].1.starts_with("text/plain; version=0.0.4") && body.contains("# TYPE reprotect_actions_total counter"), "{body}");
        headers.insert(axum::http::header::ACCEPT, "application/openmetrics-text;version=1.0.0,text/plain;q=0.5".parse().unwrap());
        let (ct, body) = metrics_page(&m, &headers);
        assert!(ct[0].1.starts_with("application/openmetrics-text") && body.ends_with("# EOF\n"), "{body}");
    }

    /// What the `/readyz` route answers (the route is `readyz(state)`).
    async fn get_readyz(ready: &Readiness) -> StatusCode {
        readyz(ready.state()).0
    }

    #[tokio::test]
    async fn a_standby_replica_waiting_for_the_lease_is_ready() {
        let ready = Readiness::default();
        assert_eq!(get_readyz(&ready).await, StatusCode::SERVICE_UNAVAILABLE, "starting");
        ready.set_standby();
        assert_eq!(get_readyz(&ready).await, StatusCode::OK, "standby");
    }

    #[tokio::test]
    async fn a_leader_is_ready_only_once_its_watches_have_synced() {
        let ready = Readiness::default();
        ready.set_standby();
        // Elected: the controllers start and mark not-ready until their watches sync.
        ready.set(false);
        assert_eq!(get_readyz(&ready).await, StatusCode::SERVICE_UNAVAILABLE, "elected, syncing");
        ready.set(true);
        assert_eq!(get_readyz(&ready).await, StatusCode::OK, "synced");
        ready.set(false);
        assert_eq!(get_readyz(&ready).await, StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
}
