//! Listener, TLS, per-connection service: fault injection, request log, simulated clock.

use crate::faults::{FaultKind, Faults};
use crate::state::{World, new_guid};
use crate::{Error, LoggedRequest, RunningSim, Scenario, SimOptions};
use axum::body::Body;
use axum::http::{Request, Response};
use hyper_util::rt::TokioIo;
use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tower::ServiceExt;
use url::Url;

/// Simulated time: `start + real elapsed × scale + offset`.
pub struct SimClock {
    real_start: Instant,
    sim_start: Timestamp,
    scale: f64,
    offset_ns: AtomicI64,
}

impl SimClock {
    pub fn new(scale: f64) -> Self {
        SimClock { real_start: Instant::now(), sim_start: Timestamp::now(), scale, offset_ns: AtomicI64::new(0) }
    }
    pub fn start(&self) -> Timestamp {
        self.sim_start
    }
    pub fn now(&self) -> Timestamp {
        let el = self.real_start.elapsed().as_secs_f64() * self.scale;
        let off = SignedDuration::from_nanos(self.offset_ns.load(Ordering::Relaxed));
        self.sim_start + SignedDuration::from_secs_f64(el) + off
    }
    pub fn advance(&self, by: Duration) {
        self.offset_ns.fetch_add(by.as_nanos() as i64, Ordering::Relaxed);
    }
    /// Real seconds for `sim_s` simulated seconds (at least 1 when `sim_s` > 0).
    pub fn scaled_secs(&self, sim_s: u64) -> u64 {
        if sim_s == 0 { 0 } else { ((sim_s as f64 / self.scale).ceil() as u64).max(1) }
    }
}

/// Everything the handlers share.
pub struct Shared {
    pub world: RwLock<World>,
    pub clock: SimClock,
    pub faults: Faults,
    pub log: Mutex<Vec<LoggedRequest>>,
    /// Issued bearer tokens: (real) expiry and the client (service principal) they were issued to.
    pub tokens: Mutex<HashMap<String, (Instant, String)>>,
    /// ARM throttling buckets.
    pub throttle: crate::throttle::Throttle,
    pub base_url: Url,
}

impl Shared {
    /// Run `f` on the world after advancing jobs to the simulated now.
    pub fn with_world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let now = self.clock.now();
        let mut w = self.world.write().unwrap();
        w.advance(now);
        f(&mut w)
    }
    /// Read-only access after advancing jobs (takes the write lock only when jobs are running).
    pub fn read_world<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        let now = self.clock.now();
        {
            let w = self.world.read().unwrap();
            if !w.has_running() {
                return f(&w);
            }
        }
        self.world.write().unwrap().advance(now);
        f(&self.world.read().unwrap())
    }
    /// A token for the scenario's client.
    pub fn issue_token(&self) -> String {
        let client = self.world.read().unwrap().credentials.client_id.clone();
        self.issue_token_for(&client)
    }
    pub fn issue_token_for(&self, client_id: &str) -> String {
        let lifetime = self.world.read().unwrap().credentials.token_lifetime_s;
        let tok = format!("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.asr-sim.{}", new_guid().replace('-', ""));
        self.tokens.lock().unwrap().insert(tok.clone(), (Instant::now() + Duration::from_secs(lifetime), client_id.to_string()));
        tok
    }
    pub fn token_valid(&self, tok: &str) -> bool {
        self.token_client(tok).is_some()
    }
    /// Expire an issued token now (ARM then answers 401 `ExpiredAuthenticationToken`).
    pub fn expire_token(&self, tok: &str) {
        if let Some(e) = self.tokens.lock().unwrap().get_mut(tok) {
            e.0 = Instant::now();
        }
    }
    /// Was this token issued here (valid or expired)?
    pub fn token_known(&self, tok: &str) -> bool {
        self.tokens.lock().unwrap().contains_key(tok)
    }
    /// The client a valid token was issued to.
    pub fn token_client(&self, tok: &str) -> Option<String> {
        self.tokens.lock().unwrap().get(tok).filter(|(exp, _)| *exp > Instant::now()).map(|(_, c)| c.clone())
    }
    pub fn count(&self, method: &str, frag: &str) -> usize {
        let frag = frag.to_ascii_lowercase();
        let any = method.is_empty() || method == "*";
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| (any || r.method.eq_ignore_ascii_case(method)) && r.path.to_ascii_lowercase().contains(&frag))
            .count()
    }
}

/// Marker: the handler asked to drop the connection.
struct Dropped;

async fn handle(sh: Arc<Shared>, router: axum::Router, req: Request<hyper::body::Incoming>) -> Result<Response<Body>, Dropped> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let at = Timestamp::now();
    let admin = path.starts_with("/_admin");
    let fault = if admin { None } else { sh.faults.check(&method, req.uri().path_and_query().map(|p| p.as_str()).unwrap_or(&path)) };
    let resp = match fault {
        Some(FaultKind::DropConnection) => {
            sh.log.lock().unwrap().push(LoggedRequest { method, path, query, status: 0, at });
            return Err(Dropped);
        }
        Some(FaultKind::TooManyRequests { retry_after_s }) => crate::routes::fault_response(
            429,
            "TooManyRequests",
            "The request is being throttled as the limit has been reached for operation type - Read_ObservationWindow_00:05:00.",
            Some(retry_after_s),
        ),
        Some(FaultKind::ServerError(code)) => crate::fault_responses::server_error(code),
        Some(FaultKind::TokenError(code)) => crate::fault_responses::entra_error(code),
        Some(FaultKind::AcceptThenFail(code)) => {
            crate::fault_responses::accept_then_fail(router.oneshot(req.map(Body::new)).await.unwrap_or_else(|e| match e {}), code)
        }
        Some(FaultKind::ExpireToken) => {
            let bearer = req.headers().get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_string);
            if let Some(tok) = bearer.as_deref().and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer "))) {
                sh.expire_token(tok);
            }
            router.oneshot(req.map(Body::new)).await.unwrap_or_else(|e| match e {})
        }
        Some(FaultKind::HugeResponse(mib)) => {
            crate::fault_responses::huge(router.oneshot(req.map(Body::new)).await.unwrap_or_else(|e| match e {}), mib).await
        }
        Some(FaultKind::MalformedJson(how)) => {
            crate::fault_responses::malformed(router.oneshot(req.map(Body::new)).await.unwrap_or_else(|e| match e {}), how).await
        }
        Some(FaultKind::Slow(d)) => {
            tokio::time::sleep(d).await;
            router.oneshot(req.map(Body::new)).await.unwrap_or_else(|e| match e {})
        }
        Some(FaultKind::SlowResponse(d)) => {
            let resp = router.oneshot(req.map(Body::new)).await.unwrap_or_else(|e| match e {});
            tokio::time::sleep(d).await;
            resp
        }
        None => router.oneshot(req.map(Body::new)).await.unwrap_or_else(|e| match e {}),
    };
    if !admin {
        sh.log.lock().unwrap().push(LoggedRequest { method, path, query, status: resp.status().as_u16(), at });
    }
    Ok(resp)
}

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}
impl std::fmt::Debug for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dropped")
    }
}
impl std::error::Error for Dropped {}

pub(crate) async fn start(scenario: Scenario, opts: SimOptions) -> Result<RunningSim, Error> {
    let listener = tokio::net::TcpListener::bind(opts.listen).await?;
    let addr = listener.local_addr()?;
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    let base_url = Url::parse(&format!("https://{host}:{}/", addr.port())).map_err(|e| Error::Scenario(e.to_string()))?;
    let dir = std::env::temp_dir().join(format!("asr-sim-{}-{}", std::process::id(), addr.port()));
    let pki = crate::tls::generate(&dir, &[])?;
    let clock = SimClock::new(if opts.time_scale > 0.0 { opts.time_scale } else { 1.0 });
    let world = World::new(&scenario, clock.start());
    let tenant = world.credentials.tenant_id.clone();
    let shared = Arc::new(Shared {
        world: RwLock::new(world),
        clock,
        faults: Faults::new(scenario.faults.clone()),
        log: Mutex::new(Vec::new()),
        tokens: Mutex::new(HashMap::new()),
        throttle: crate::throttle::Throttle::new(scenario.throttling),
        base_url: base_url.clone(),
    });
    let router = crate::routes::router(shared.clone());
    let acceptor = tokio_rustls::TlsAcceptor::from(pki.server_config.clone());
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let sh = shared.clone();
    let task = tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                _ = stop_rx.changed() => break,
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
                acc = listener.accept() => {
                    let Ok((tcp, _)) = acc else { continue };
                    let _ = tcp.set_nodelay(true);
                    let (acceptor, router, sh) = (acceptor.clone(), router.clone(), sh.clone());
                    conns.spawn(async move {
                        let Ok(tls) = acceptor.accept(tcp).await else { return };
                        let svc = hyper::service::service_fn(move |req| handle(sh.clone(), router.clone(), req));
                        let _ = hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(tls), svc).await;
                    });
                }
            }
        }
        conns.abort_all();
    });
    let authority_url = base_url.clone();
    let token_url = base_url.join(&format!("{tenant}/oauth2/v2.0/token")).map_err(|e| Error::Scenario(e.to_string()))?;
    Ok(RunningSim {
        base_url,
        authority_url,
        token_url,
        ca_pem: pki.ca_pem,
        ca_path: pki.ca_path,
        addr,
        shared,
        stop: Some(stop_tx),
        task: Some(task),
    })
}
