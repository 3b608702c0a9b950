//! The ARM client's unit tests' server: the shared connection-counting server (`reprotect-test-support`) answering
//! every request with a JSON body chosen by its path and query.

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    http::{Uri, header::CONTENT_TYPE},
};
pub use reprotect_test_support::CountingServer;
use url::Url;

use crate::cloud::CloudConfig;

/// Answers every request after `delay` with `200` and `body(path and query)` as JSON.
pub async fn serve_json(delay: Duration, body: impl Fn(&str) -> String + Send + Sync + 'static) -> CountingServer {
    let body = Arc::new(body);
    let router = Router::new().fallback(move |uri: Uri| {
        let body = body.clone();
        async move {
            tokio::time::sleep(delay).await;
            let target = uri.path_and_query().map_or("/", |p| p.as_str());
            ([(CONTENT_TYPE, "application/json")], body(target))
        }
    });
    CountingServer::serve(router).await.unwrap()
}

/// A cloud whose ARM endpoint is the server (tokens: use `AzureAuth::StaticToken`).
pub fn sim_cloud(server: &CountingServer) -> CloudConfig {
    CloudConfig {
        arm_endpoint: Url::parse(&server.url).unwrap(),
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
