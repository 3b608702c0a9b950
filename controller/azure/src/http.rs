//! Sending ARM requests: budget lane (and what ARM says about it), bearer token (renewed once on a
//! 401), retries with backon, a capped body read, error mapping, per-operation counters.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use backon::{BackoffBuilder, ExponentialBuilder};
use reprotect_facts::SiteRecoveryError;
use reqwest::{Method, header::HeaderMap};
use url::Url;

use crate::{
    auth::TokenSource,
    budget::Lane,
    mapping::{parse_retry_after, service_error},
};

/// Retry policy for ARM calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryConfig {
    /// Retries after the first attempt (5xx, 408, 429, connection faults). 4xx never retry.
    pub max_retries: usize,
    /// First backoff delay (exponential, with jitter).
    pub min_delay: Duration,
    /// Cap of one backoff delay.
    pub max_delay: Duration,
    /// Cap applied to a server's `Retry-After`.
    pub max_retry_after: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 4,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

/// Receives one call per HTTP attempt (status 0 = no response), e.g. to feed Prometheus.
pub trait RequestObserver: Send + Sync {
    fn on_request(&self, operation: &str, status: u16, elapsed: Duration);
}

/// Request counters by (operation, status); status 0 means no HTTP response (connection fault).
#[derive(Debug, Default)]
pub struct RequestStats {
    by_operation: Mutex<BTreeMap<(String, u16), u64>>,
    total: AtomicU64,
}

impl RequestStats {
    fn record(&self, operation: &str, status: u16) {
        self.total.fetch_add(1, Ordering::Relaxed);
        *self.by_operation.lock().unwrap_or_else(std::sync::PoisonError::into_inner).entry((operation.to_string(), status)).or_default() +=
            1;
    }
    pub fn snapshot(&self) -> BTreeMap<(String, u16), u64> {
        self.by_operation.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

/// May a failed attempt be sent again?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resend {
    /// Reads: retry 5xx and every connection fault.
    Idempotent,
    /// The reprotect POST: retry only when the request provably never left (connect failure) or
    /// the service refused it with 429. A 5xx or a fault after sending becomes a transient error;
    /// the controller adopts a possibly started job via `list_jobs_for`.
    NotAfterSent,
}

/// A successful (2xx) response.
pub(crate) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn json<T: serde::de::DeserializeOwned>(&self, operation: &str) -> Result<T, SiteRecoveryError> {
        serde_json::from_slice(&self.body).map_err(|e| SiteRecoveryError::Decode { operation: operation.into(), message: e.to_string() })
    }
    /// The body read through `seed` (e.g. [`crate::mapped_page::PageSeed`]), as [`Reply::json`] reads a type.
    pub fn json_seed<'a, S: serde::de::DeserializeSeed<'a>>(&'a self, operation: &str, seed: S) -> Result<S::Value, SiteRecoveryError> {
        let mut de = serde_json::Deserializer::from_slice(&self.body);
        seed.deserialize(&mut de)
            .and_then(|value| de.end().map(|()| value))
            .map_err(|e| SiteRecoveryError::Decode { operation: operation.into(), message: e.to_string() })
    }
}

/// Why a response body could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// More than the configured cap (`ArmClientConfig::max_response_bytes`): not read further.
    #[error("response body larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("reading the response body")]
    Read(#[source] reqwest::Error),
}

/// Read at most `limit` bytes of a body (checked against `Content-Length` first, then per chunk).
async fn read_capped(mut rsp: reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    let length = rsp.content_length();
    if length.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    // Sized once when the length is known: grown chunk by chunk, a list page's buffer ends up to twice its size,
    // and ten vaults' pages in flight at once are part of the peak (issue 13).
    let mut buf = Vec::with_capacity(length.and_then(|n| usize::try_from(n).ok()).unwrap_or(0));
    while let Some(chunk) = rsp.chunk().await.map_err(BodyError::Read)? {
        if buf.len().saturating_add(chunk.len()) > limit {
            return Err(BodyError::TooLarge { limit });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

pub(crate) struct Http {
    pub client: reqwest::Client,
    /// Cap of one response body.
    pub max_body: usize,
    pub tokens: TokenSource,
    pub retry: RetryConfig,
    pub stats: Arc<RequestStats>,
    pub observer: Option<Arc<dyn RequestObserver>>,
}

/// Display an error with its causes (reqwest hides the interesting part, e.g. the TLS reason, in `source`).
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = c.source();
    }
    out
}

fn request_id() -> String {
    let n: u128 = rand::random();
    let h = format!("{n:032x}");
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

impl Http {
    fn observe(&self, operation: &str, status: u16, started: Instant) {
        self.stats.record(operation, status);
        if let Some(o) = &self.observer {
            o.on_request(operation, status, started.elapsed());
        }
    }

    /// The backoff delays of one call's retries.
    pub fn retry_delays(&self) -> impl Iterator<Item = Duration> + use<> {
        ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(self.retry.min_delay)
            .with_max_delay(self.retry.max_delay)
            .with_max_times(self.retry.max_retries)
            .build()
    }

    /// Send with budget, auth and retries. Returns 2xx replies; everything else is an error.
    pub async fn send(
        &self,
        operation: &str,
        method: Method,
        url: &Url,
        body: Option<&[u8]>,
        lane: &Lane,
        resend: Resend,
    ) -> Result<Reply, SiteRecoveryError> {
        let mut delays = self.retry_delays();
        // A 401 means ARM did not execute the request (a POST included): renew the token and
        // send once more; a second 401 is a credentials problem.
        let mut renewed = false;
        loop {
            let (retry_after, err) = match self.attempt(operation, method.clone(), url, body, lane, resend).await {
                Attempt::Done(r) => return r,
                Attempt::Unauthorized { err, token } => {
                    if renewed || !self.tokens.reject(&token) {
                        return Err(err);
                    }
                    renewed = true;
                    tracing::info!(operation, error = %err, "ARM refused the bearer token; sending again with a new one");
                    continue;
                }
                Attempt::Retry { retry_after, err } => (retry_after, err),
            };
            let Some(backoff) = delays.next() else { return Err(err) };
            let delay = retry_after.map(|s| Duration::from_secs(s).min(self.retry.max_retry_after)).unwrap_or(backoff);
            tracing::debug!(operation, ?delay, error = %err, "retrying ARM request");
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(&self, operation: &str, method: Method, url: &Url, body: Option<&[u8]>, lane: &Lane, resend: Resend) -> Attempt {
        // Token failures are not retried here: the token source backs off on its own (Entra ID
        // throttles clients that loop) and answers with the last failure meanwhile.
        let token = match self.tokens.bearer().await {
            Ok(t) => t,
            Err(e) => return Attempt::Done(Err(e)),
        };
        lane.acquire().await;
        let started = Instant::now();
        let mut req = self.client.request(method, url.clone()).bearer_auth(&token).header("x-ms-client-request-id", request_id());
        if let Some(b) = body {
            req = req.header(reqwest::header::CONTENT_TYPE, "application/json").body(b.to_vec());
        }
        let transport = |e: &reqwest::Error| SiteRecoveryError::Transport { operation: operation.into(), message: error_chain(e) };
        let rsp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                self.observe(operation, 0, started);
                let err = transport(&e);
                return if e.is_connect() || resend == Resend::Idempotent {
                    Attempt::Retry { retry_after: None, err }
                } else {
                    Attempt::Done(Err(err))
                };
            }
        };
        let status = rsp.status().as_u16();
        let headers = rsp.headers().clone();
        let header_u64 = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
        let remaining = header_u64(lane.kind().remaining_header()).map(|r| u32::try_from(r).unwrap_or(u32::MAX));
        let retry_after = headers.get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
        lane.learn(status, remaining, retry_after.map(Duration::from_secs));
        let body = read_capped(rsp, self.max_body).await;
        self.observe(operation, status, started);
        let accepted = (200..300).contains(&status);
        let body = match body {
            Ok(b) => b,
            Err(e) if resend == Resend::NotAfterSent && accepted => {
                // Accepted but the body was lost or is absurd: headers are enough for a 202.
                tracing::debug!(operation, error = %error_chain(&e), "response body dropped");
                Vec::new()
            }
            Err(e @ BodyError::TooLarge { .. }) => {
                return Attempt::Done(Err(SiteRecoveryError::Decode { operation: operation.into(), message: e.to_string() }));
            }
            Err(BodyError::Read(e)) => {
                let err = transport(&e);
                return if resend == Resend::Idempotent { Attempt::Retry { retry_after: None, err } } else { Attempt::Done(Err(err)) };
            }
        };
        if (200..300).contains(&status) {
            return Attempt::Done(Ok(Reply { status, headers, body }));
        }
        let err = service_error(operation, status, &body);
        if status == 401 {
            return Attempt::Unauthorized { err: err.into(), token };
        }
        let retryable = match status {
            429 => true,
            408 | 500..=599 => resend == Resend::Idempotent,
            _ => false,
        };
        if retryable { Attempt::Retry { retry_after, err: err.into() } } else { Attempt::Done(Err(err.into())) }
    }
}

enum Attempt {
    Done(Result<Reply, SiteRecoveryError>),
    /// ARM refused the bearer token (401): the request was not executed.
    Unauthorized {
        err: SiteRecoveryError,
        token: String,
    },
    Retry {
        retry_after: Option<u64>,
        err: SiteRecoveryError,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{Router, body::Body, routing::get};
    use reprotect_test_support::CountingServer;

    const PAGE: usize = 300_000;

    /// A server with `/sized` (a body of `PAGE` bytes with its `Content-Length`) and `/chunked` (the same bytes
    /// streamed in 10 KB chunks, no length).
    async fn server() -> CountingServer {
        let router = Router::new().route("/sized", get(|| async { vec![b'x'; PAGE] })).route(
            "/chunked",
            get(|| async {
                let chunks = (0..PAGE / 10_000).map(|_| Ok::<_, std::convert::Infallible>(vec![b'x'; 10_000]));
                Body::from_stream(futures::stream::iter(chunks))
            }),
        );
        CountingServer::serve(router).await.unwrap()
    }

    async fn read(server: &CountingServer, path: &str, limit: usize) -> Result<Vec<u8>, BodyError> {
        let rsp = reqwest::get(format!("{}{path}", server.url.trim_end_matches('/'))).await.unwrap();
        read_capped(rsp, limit).await
    }

    #[tokio::test]
    async fn a_body_of_known_length_is_read_into_one_buffer_of_its_size_and_an_unsized_one_up_to_the_cap() {
        let server = server().await;
        let sized = read(&server, "/sized", 1 << 20).await.unwrap();
        assert_eq!((sized.len(), sized.capacity()), (PAGE, PAGE), "grown chunk by chunk it would hold up to twice the page");
        let chunked = read(&server, "/chunked", 1 << 20).await.unwrap();
        assert_eq!(chunked.len(), PAGE);
        assert!(matches!(read(&server, "/sized", PAGE - 1).await, Err(BodyError::TooLarge { .. })), "refused by its length");
        assert!(matches!(read(&server, "/chunked", PAGE - 1).await, Err(BodyError::TooLarge { .. })), "refused as it streams");
    }
}
