//! Paging of ARM lists (`ArmClient::get_pages`) against a local server.

use std::time::Duration;

use crate::{
    ArmClient, ArmClientConfig, AzureAuth,
    test_server::{serve_json, sim_cloud, vault},
};

/// Pages of three items each, the next page linked until `pages`.
fn paged(pages: usize) -> impl Fn(&str) -> String + Send + Sync + 'static {
    move |target: &str| {
        let page: usize = target.split("page=").nth(1).and_then(|p| p.split('&').next()?.parse().ok()).unwrap_or(1);
        let items: Vec<_> = (0..3).map(|i| serde_json::json!({ "id": format!("item-{page}-{i}") })).collect();
        let path = target.split('?').next().unwrap_or("/");
        let next = (page < pages).then(|| format!("{path}?api-version=2026-11-01&page={}", page + 1));
        serde_json::json!({ "value": items, "nextLink": next }).to_string()
    }
}

#[tokio::test]
async fn a_list_of_many_pages_is_kept_without_spare_capacity() {
    let server = serve_json(Duration::ZERO, paged(5)).await;
    let client = ArmClient::new(ArmClientConfig::new(sim_cloud(&server), AzureAuth::StaticToken("t".into()))).unwrap();
    let url = client.vault_url(&vault(), &["replicationProtectedItems"]);
    let (items, pages) = client.get_pages("list", &vault(), url, |_| false, |v: serde_json::Value| v).await.unwrap();
    assert_eq!((items.len(), pages), (15, 5));
    assert_eq!(items[14]["id"], "item-5-2");
    // Grown page by page, the vector held 16 places for 15 items; a cached vault list keeps it for minutes.
    assert_eq!(items.capacity(), items.len());
}
