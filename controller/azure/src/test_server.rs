//! A local HTTP/1.1 server for the ARM client's unit tests: answers each request with a body chosen by its path and
//! query, and counts the connections it accepted and holds open.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

use crate::cloud::CloudConfig;

pub struct TestServer {
    pub url: Url,
    accepted: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
}

impl TestServer {
    /// Answers every request after `delay` with `200` and `body(path and query)` as JSON.
    pub async fn start(delay: Duration, body: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let (accepted, open) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (count_accepted, count_open, body) = (accepted.clone(), open.clone(), Arc::new(body));
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                count_accepted.fetch_add(1, Ordering::SeqCst);
                count_open.fetch_add(1, Ordering::SeqCst);
                let (open, body) = (count_open.clone(), body.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    let mut head = Vec::new();
                    while let Ok(n) = conn.read(&mut buf).await
                        && n > 0
                    {
                        head.extend_from_slice(&buf[..n]);
                        if !head.windows(4).any(|w| w == b"\r\n\r\n") {
                            continue;
                        }
                        let target = String::from_utf8_lossy(&head).split(' ').nth(1).unwrap_or("/").to_string();
                        head.clear();
                        tokio::time::sleep(delay).await;
                        let body = body(&target);
                        let answer =
                            format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                        if conn.write_all(answer.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        TestServer { url, accepted, open }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Connections the client has not closed.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }
}

/// A cloud whose ARM endpoint is the server (tokens: use `AzureAuth::StaticToken`).
pub fn sim_cloud(server: &TestServer) -> CloudConfig {
    CloudConfig {
        arm_endpoint: server.url.clone(),
        authority_host: Url::parse("https://login.example").unwrap(),
        token_scope: "https://management.example/.default".into(),
        api_version: "2026-11-01".into(),
    }
}

pub fn vault() -> reprotect_facts::VaultRef {
    reprotect_facts::VaultRef {
        subscription_id: "00000000-0000-0000-0000-000000000001".into(),
        resource_group: "rg".into(),
        vault_name: "vault".into(),
        fabric_name: "fabric".into(),
        container_name: None,
    }
}
