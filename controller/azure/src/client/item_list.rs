//! The vault's protected-item list (cached, re-read after this client's writes), its protection container, and item URLs.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use reprotect_facts::*;
use url::Url;

use super::{ArmClient, Listing, key, vault_key};
use crate::{mapping, models};

impl ArmClient {
    /// The vault's item list, from the cache when it is at most `max_age` old and no write of this client made it
    /// stale (after a write: once per `write_refresh_min_age` per page it took).
    pub(super) async fn items_within(
        &self,
        vault: &VaultRef,
        max_age: Duration,
    ) -> Result<Arc<Vec<ProtectedItemFacts>>, SiteRecoveryError> {
        let container = self.container(vault).await?;
        let written = self.writes.last(&vault_key(vault));
        let list = (key(vault), container.to_ascii_lowercase());
        let pages = self.item_lists.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&list).map(|l| l.pages);
        let min_age = self.write_refresh_min_age.saturating_mul(pages.unwrap_or(1).max(1));
        self.items
            .get_within(list.clone(), max_age, written, min_age, || async {
                let url = self.vault_url(
                    vault,
                    &["replicationFabrics", &vault.fabric_name, "replicationProtectionContainers", &container, "replicationProtectedItems"],
                );
                let started = Instant::now();
                let (items, pages) = self.get_pages("list_protected_items", vault, url, |_| false, mapping::protected_item_facts).await?;
                self.item_lists.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(list.clone(), Listing { pages, started });
                Ok(Arc::new(items))
            })
            .await
    }

    /// The protection container: given, or found through the vault's protected items (the spec
    /// extract has no route listing a fabric's containers).
    pub(super) async fn container(&self, v: &VaultRef) -> Result<String, SiteRecoveryError> {
        if let Some(c) = v.container_name.as_deref().filter(|c| !c.is_empty()) {
            return Ok(c.to_string());
        }
        if let Some(c) = self.containers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key(v)) {
            return Ok(c.clone());
        }
        let find = |items: &[models::ProtectedItem]| items.iter().find_map(|i| container_of(i.id.as_deref()?, &v.fabric_name));
        let url = self.vault_url(v, &["replicationProtectedItems"]);
        let items = self.get_all("discover_container", v, url, |page| find(page).is_some()).await?;
        let found = find(&items).ok_or_else(|| {
            SiteRecoveryError::Invalid(format!(
                "protection container of fabric {} not found: set containerName (ASR offers no documented way to list a fabric's containers here and the vault has no protected item on that fabric)",
                v.fabric_name
            ))
        })?;
        self.containers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key(v), found.clone());
        Ok(found)
    }

    pub(super) async fn item_url(&self, v: &VaultRef, item: &str, action: Option<&str>) -> Result<Url, SiteRecoveryError> {
        if item.is_empty() {
            return Err(SiteRecoveryError::Invalid("protected item name is empty".into()));
        }
        let container = self.container(v).await?;
        let mut tail =
            vec!["replicationFabrics", &v.fabric_name, "replicationProtectionContainers", &container, "replicationProtectedItems", item];
        tail.extend(action);
        Ok(self.vault_url(v, &tail))
    }
}

/// `.../replicationFabrics/{fabric}/replicationProtectionContainers/{container}/...` → container.
pub(crate) fn container_of(id: &str, fabric: &str) -> Option<String> {
    let segs: Vec<&str> = id.split('/').collect();
    let f = segs
        .windows(2)
        .position(|w| matches!(w, [a, b] if a.eq_ignore_ascii_case("replicationFabrics") && b.eq_ignore_ascii_case(fabric)))?;
    match segs.get(f + 2..)? {
        [kind, container, ..] if kind.eq_ignore_ascii_case("replicationProtectionContainers") => Some(container.to_string()),
        _ => None,
    }
}
