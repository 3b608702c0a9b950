//! A local HTTP server for the HTTP clients' pool tests: serves an axum router and counts the connections it
//! accepted and those the client still holds open.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
};

/// A running server on a free loopback port; it stops with the test's runtime.
pub struct CountingServer {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub url: String,
    counts: Counts,
}

impl CountingServer {
    /// Serves `router` until the runtime ends.
    pub async fn serve(router: axum::Router) -> anyhow::Result<Self> {
        let inner = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", inner.local_addr()?);
        let counts = Counts::default();
        let listener = CountingListener { inner, counts: counts.clone() };
        tokio::spawn(async move { axum::serve(listener, router).await });
        Ok(CountingServer { url, counts })
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.counts.accepted.load(Ordering::SeqCst)
    }

    /// Connections the client has not closed (the server drops its side when the client closes).
    pub fn open(&self) -> usize {
        self.counts.open.load(Ordering::SeqCst)
    }

    /// [`CountingServer::open`] once at most `expected` are open, or after 5 s: a pool closes the connections it
    /// does not keep as they come back, and the server notices within moments.
    pub async fn open_once_at_most(&self, expected: usize) -> usize {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while self.open() > expected && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        self.open()
    }
}

#[derive(Clone, Default)]
struct Counts {
    accepted: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
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

/// A server connection that counts itself open until the server drops it.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_counts_as_open_until_the_client_closes_it() {
        let server = CountingServer::serve(axum::Router::new().fallback(|| async { "ok" })).await.unwrap();
        let client = reqwest::Client::new();
        assert_eq!(client.get(&server.url).send().await.unwrap().text().await.unwrap(), "ok");
        assert_eq!((server.accepted(), server.open()), (1, 1), "the client keeps its connection idle");
        drop(client);
        assert_eq!((server.accepted(), server.open_once_at_most(0).await), (1, 0));
    }
}
