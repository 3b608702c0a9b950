//! The controller's Kubernetes client: kube's stack on a connection pool sized for a long-running controller, plus
//! one layer that counts every API-server request in `reprotect_external_requests_total{service="kubernetes"}` (and
//! its latency), so the cost of a reconcile on the API server is visible, as ARM's and vCenter's are.

use std::{
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use futures::future::BoxFuture;
use http::{Method, Request, Response, Uri};
use hyper_util::{client::legacy::Client as HttpClient, rt::TokioExecutor};
use kube::{
    Client, Config,
    client::{ClientBuilder, ConfigExt, retry::RetryPolicy},
};
use tower::{BoxError, ServiceBuilder, retry::RetryLayer};

use crate::metrics::Metrics;

/// The `service` label of API-server requests.
pub const SERVICE: &str = "kubernetes";

/// The most a connection buffers of a response it reads (hyper's default: ~400 KiB). A connection's read buffer
/// grows to what its largest response read at once and keeps that size (heaptrack at 3,000 machines, issue 13: 6.9 MB
/// of hyper read buffers over the controller's ~80 connections to the API server, ARM and vCenter). A response body streams
/// through the buffer, so only a response head (a few hundred bytes from the API server) must fit.
pub const READ_BUFFER_MAX: usize = 64 * 1024;
/// Idle connections kept for reuse (hyper's default: all of them). Concurrent reconciles open a connection each; once
/// the burst is over, more than this many idle ones are closed instead of each keeping its TLS and read buffers.
pub const IDLE_CONNECTIONS: usize = 8;
/// How long an idle connection is kept (hyper's default: 90 s).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// A client from `config` whose requests are recorded in `metrics`.
pub fn metered(config: Config, metrics: Arc<Metrics>) -> kube::Result<Client> {
    let layer = MeteredLayer(metrics);
    if config.proxy_url.is_some() {
        // kube's own stack handles (or refuses, without its proxy features) a proxy; the pool keeps its defaults.
        return Ok(ClientBuilder::try_from(config)?.with_layer(&layer).build());
    }
    Ok(ClientBuilder::new(stack(&config)?, config.default_namespace.clone()).with_layer(&layer).build())
}

/// kube's default stack (`ClientBuilder::try_from`: base URI, retry, auth, extra headers, TLS by rustls, timeouts)
/// on a hyper client with the pool limits above; kube offers no other way to set them.
fn stack(
    config: &Config,
) -> kube::Result<
    impl tower::Service<Request<kube::client::Body>, Response = Response<hyper::body::Incoming>, Error = BoxError, Future: Send>
    + Send
    + 'static,
> {
    let mut connector = hyper_timeout::TimeoutConnector::new(config.rustls_https_connector()?);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);
    let http = HttpClient::builder(TokioExecutor::new())
        .http1_max_buf_size(READ_BUFFER_MAX)
        .pool_max_idle_per_host(IDLE_CONNECTIONS)
        .pool_idle_timeout(IDLE_TIMEOUT)
        .build(connector);
    Ok(ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.default_retry.then(|| RetryLayer::new(RetryPolicy::server_retry())))
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .service(http))
}

/// Wraps a service in [`Metered`].
struct MeteredLayer(Arc<Metrics>);

impl<S> tower::Layer<S> for MeteredLayer {
    type Service = Metered<S>;
    fn layer(&self, inner: S) -> Metered<S> {
        Metered { inner, metrics: self.0.clone() }
    }
}

/// Records each request when its response headers arrive (a watch: when it starts streaming).
pub struct Metered<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S, B, R> tower::Service<Request<B>> for Metered<S>
where
    S: tower::Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
    S::Error: 'static,
    R: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let operation = operation(request.method(), request.uri());
        let (metrics, started) = (self.metrics.clone(), Instant::now());
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answer = answer.await;
            let status = answer.as_ref().ok().map(|r| r.status().as_u16());
            metrics.external_request(SERVICE, &operation, status, started.elapsed().as_secs_f64());
            answer
        })
    }
}

/// `<verb> <resource>[/<subresource>]` as kubectl and the API server's audit log name it, e.g.
/// `patch protectedmachines/status`, `watch secrets`: bounded by the kinds the controller touches.
pub fn operation(method: &Method, uri: &Uri) -> String {
    let segments: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    let rest = match segments.as_slice() {
        ["api", _, rest @ ..] | ["apis", _, _, rest @ ..] => rest,
        _ => return format!("{} other", method.as_str().to_ascii_lowercase()),
    };
    let rest = match rest {
        ["namespaces", _, rest @ ..] if !rest.is_empty() => rest,
        rest => rest,
    };
    let (resource, named, subresource) = (rest.first().copied().unwrap_or("other"), rest.len() > 1, rest.get(2));
    let watching = uri.query().is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"));
    let verb = match *method {
        Method::GET if watching => "watch",
        Method::GET if named => "get",
        Method::GET => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if named => "delete",
        Method::DELETE => "deletecollection",
        _ => "other",
    };
    match subresource {
        Some(sub) => format!("{verb} {resource}/{sub}"),
        None => format!("{verb} {resource}"),
    }
}

#[cfg(test)]
#[path = "kube_client_tests.rs"]
mod pool_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn op(method: Method, uri: &str) -> String {
        operation(&method, &uri.parse().unwrap())
    }

    #[test]
    fn requests_are_named_by_verb_and_resource_as_the_audit_log_names_them() {
        let pm = "/apis/reprotect.io/v1alpha1/namespaces/dr/protectedmachines";
        assert_eq!(op(Method::GET, &format!("{pm}?watch=true&resourceVersion=1")), "watch protectedmachines");
        assert_eq!(op(Method::GET, &format!("{pm}?limit=500")), "list protectedmachines");
        assert_eq!(op(Method::PATCH, &format!("{pm}/db-01/status?fieldManager=x")), "patch protectedmachines/status");
        assert_eq!(op(Method::GET, "/api/v1/namespaces/dr/secrets/azure-sp"), "get secrets");
        assert_eq!(op(Method::POST, "/api/v1/namespaces/dr/events"), "create events");
        assert_eq!(op(Method::PUT, "/apis/coordination.k8s.io/v1/namespaces/dr/leases/reprotect"), "update leases");
        assert_eq!(op(Method::GET, "/api/v1/namespaces/dr"), "get namespaces");
        assert_eq!(op(Method::GET, "/version"), "get other");
    }
}
