//! The API-server client's connection pool, against a local HTTP server that counts its open connections.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{Router, routing::get};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
};

use super::*;

/// Connections the server accepted and those still open.
#[derive(Clone, Default)]
struct Counts {
    accepted: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
}

/// A server connection that counts itself open until the server drops it (when the client closes it).
struct Counted {
    io: TcpStream,
    open: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
    }
}

impl AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

struct CountingListener {
    inner: TcpListener,
    counts: Counts,
}

impl axum::serve::Listener for CountingListener {
    type Io = Counted;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if let Ok((io, addr)) = self.inner.accept().await {
                self.counts.accepted.fetch_add(1, Ordering::SeqCst);
                self.counts.open.fetch_add(1, Ordering::SeqCst);
                return (Counted { io, open: self.counts.open.clone() }, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A server with `/slow` (answers after 300 ms) and `/big-head` (a 200 KiB response header, which kube's default
/// buffer of ~400 KiB reads); the client's config.
async fn server() -> (Counts, Config) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let counts = Counts::default();
    let router = Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "ok"
            }),
        )
        .route("/big-head", get(|| async { ([("x-padding", "a".repeat(200 * 1024))], "ok") }));
    let counting = CountingListener { inner: listener, counts: counts.clone() };
    tokio::spawn(async move { axum::serve(counting, router).await });
    (counts, Config::new(url.parse().unwrap()))
}

fn get_text(path: &str) -> Request<Vec<u8>> {
    Request::get(path).body(Vec::new()).unwrap()
}

#[tokio::test]
async fn after_a_burst_of_concurrent_requests_only_a_few_idle_connections_stay_open() {
    let (counts, config) = server().await;
    let client = metered(config, Arc::new(Metrics::default())).unwrap();
    let burst = (0..20).map(|_| client.request_text(get_text("/slow")));
    for answer in futures::future::join_all(burst).await {
        assert_eq!(answer.unwrap(), "ok");
    }
    assert!(counts.accepted.load(Ordering::SeqCst) > IDLE_CONNECTIONS, "the burst needed more connections than the pool keeps");
    // The pool closes the connections it does not keep as they come back; the server notices within moments.
    let mut open = counts.open.load(Ordering::SeqCst);
    for _ in 0..50 {
        if open <= IDLE_CONNECTIONS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        open = counts.open.load(Ordering::SeqCst);
    }
    assert!(open <= IDLE_CONNECTIONS, "{open} connections stay open after the burst, at most {IDLE_CONNECTIONS} expected");
}

#[tokio::test]
async fn a_response_head_larger_than_the_read_buffer_is_refused_and_the_next_request_succeeds() {
    let (_, config) = server().await;
    let client = metered(config, Arc::new(Metrics::default())).unwrap();
    assert!(client.request_text(get_text("/big-head")).await.is_err(), "a 200 KiB head exceeds the {READ_BUFFER_MAX} B buffer");
    assert_eq!(client.request_text(get_text("/slow")).await.unwrap(), "ok");
}

#[tokio::test]
async fn a_request_through_the_pool_is_counted_in_the_metrics() {
    let (_, config) = server().await;
    let metrics = Arc::new(Metrics::default());
    let client = metered(config, metrics.clone()).unwrap();
    client.request_text(get_text("/slow")).await.unwrap();
    let page = crate::http::metrics_page(&metrics, &Default::default()).1;
    assert!(page.contains(r#"service="kubernetes""#), "{page}");
}
