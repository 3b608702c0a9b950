//! The API-server client's connection pool, against a local HTTP server that counts its open connections.

use std::{sync::Arc, time::Duration};

use axum::{Router, routing::get};
use reprotect_test_support::CountingServer;

use super::*;

/// A server with `/slow` (answers after 300 ms) and `/big-head` (a 200 KiB response header, which kube's default
/// buffer of ~400 KiB reads); the client's config.
async fn server() -> (CountingServer, Config) {
    let router = Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "ok"
            }),
        )
        .route("/big-head", get(|| async { ([("x-padding", "a".repeat(200 * 1024))], "ok") }));
    let server = CountingServer::serve(router).await.unwrap();
    let config = Config::new(server.url.parse().unwrap());
    (server, config)
}

fn get_text(path: &str) -> Request<Vec<u8>> {
    Request::get(path).body(Vec::new()).unwrap()
}

#[tokio::test]
async fn after_a_burst_of_concurrent_requests_only_a_few_idle_connections_stay_open() {
    let (server, config) = server().await;
    let client = metered(config, Arc::new(Metrics::default())).unwrap();
    let burst = (0..20).map(|_| client.request_text(get_text("/slow")));
    for answer in futures::future::join_all(burst).await {
        assert_eq!(answer.unwrap(), "ok");
    }
    assert!(server.accepted() > IDLE_CONNECTIONS, "the burst needed more connections than the pool keeps");
    let open = server.open_once_at_most(IDLE_CONNECTIONS).await;
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
