//! GETs against a vault: its URLs, the budget lane a request draws on, and lists paged through `nextLink`.

use std::sync::Arc;

use reprotect_facts::*;
use reqwest::Method;
use serde::de::DeserializeOwned;
use url::Url;

use super::ArmClient;
use crate::{
    budget::{Kind, Lane},
    http::{Reply, Resend},
    mapped_page::PageSeed,
};

impl ArmClient {
    pub(super) fn lane(&self, vault: &VaultRef, kind: Kind) -> Arc<Lane> {
        self.budgets.lane(&vault.subscription_id, &self.identity, kind)
    }

    pub(super) fn vault_url(&self, v: &VaultRef, tail: &[&str]) -> Url {
        let mut u = self.cloud.arm_endpoint.clone();
        u.set_query(None);
        if let Ok(mut segs) = u.path_segments_mut() {
            segs.pop_if_empty();
            segs.extend(["subscriptions", &v.subscription_id, "resourceGroups", &v.resource_group]);
            segs.extend(["providers", "Microsoft.RecoveryServices", "vaults", &v.vault_name]);
            segs.extend(tail);
        }
        u.query_pairs_mut().append_pair("api-version", &self.cloud.api_version);
        u
    }

    pub(super) async fn get<T: DeserializeOwned>(&self, op: &str, vault: &VaultRef, url: &Url) -> Result<T, SiteRecoveryError> {
        self.get_reply(op, vault, url).await?.json(op)
    }

    /// A read on the vault's read lane, resent when it is safe to.
    async fn get_reply(&self, op: &str, vault: &VaultRef, url: &Url) -> Result<Reply, SiteRecoveryError> {
        self.http.send(op, Method::GET, url, None, &self.lane(vault, Kind::Read), Resend::Idempotent).await
    }

    /// GET a list and follow `nextLink` (only on the ARM endpoint's origin: the bearer token goes nowhere else).
    pub(super) async fn get_all<T: DeserializeOwned>(
        &self,
        op: &str,
        vault: &VaultRef,
        first: Url,
        stop: impl FnMut(&[T]) -> bool,
    ) -> Result<Vec<T>, SiteRecoveryError> {
        self.get_pages(op, vault, first, stop, |item| item).await.map(|(items, _)| items)
    }

    /// [`ArmClient::get_all`], each item mapped as its page arrives (a long list never holds more than one page of
    /// models), also saying how many pages (GETs) the list took.
    pub(super) async fn get_pages<T: DeserializeOwned, U>(
        &self,
        op: &str,
        vault: &VaultRef,
        first: Url,
        mut stop: impl FnMut(&[U]) -> bool,
        map: impl Fn(T) -> U,
    ) -> Result<(Vec<U>, u32), SiteRecoveryError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        let mut pages = 0;
        while let Some(url) = next.take() {
            // Each element mapped as it is parsed (see `mapped_page`): the page's models never exist all at once.
            let reply = self.get_reply(op, vault, &url).await?;
            let page = reply.json_seed(op, PageSeed::new(&map))?;
            drop(reply);
            let done = stop(&page.value);
            out.extend(page.value);
            pages += 1;
            if done || pages >= 10_000 {
                break;
            }
            if let Some(link) = page.next_link.filter(|l| !l.is_empty()) {
                let link = url
                    .join(&link)
                    .map_err(|e| SiteRecoveryError::Decode { operation: op.into(), message: format!("bad nextLink: {e}") })?;
                if link.origin() != self.cloud.arm_endpoint.origin() {
                    return Err(SiteRecoveryError::Decode {
                        operation: op.into(),
                        message: format!("nextLink leaves the ARM endpoint: {}", link.origin().ascii_serialization()),
                    });
                }
                if link == url {
                    break;
                }
                next = Some(link);
            }
        }
        // Grown page by page, up to twice the places it needs; an item list is cached for minutes (a 1,000-item
        // vault: 1,600 places of 544 bytes, issue 13).
        out.shrink_to_fit();
        Ok((out, pages))
    }
}
