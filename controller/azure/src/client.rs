//! `ArmClient`: the `SiteRecovery` trait over Azure Resource Manager.
//!
//! Here: the client's state, its cache keys and the trait's methods. Building it (`setup`), GETs and paging
//! (`paging`), the item list and its container (`item_list`) and the job side (`jobs`) live in the submodules.

mod item_list;
mod jobs;
mod paging;
#[cfg(test)]
mod paging_tests;
mod setup;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use reprotect_facts::*;
use reqwest::Method;

// The crate's tests name it by its old path.
#[cfg(test)]
pub(crate) use self::item_list::container_of;
use crate::{
    accepted::RecentJobs,
    budget::{Budgets, Kind},
    cache::{TtlCache, WriteStamps},
    cloud::CloudConfig,
    failback,
    http::{Http, Resend},
    mapping, models,
};

/// (subscription, resource group, vault, fabric), lowercased.
type FabricKey = (String, String, String, String);
/// (subscription, resource group, vault), lowercased.
pub(crate) type VaultKey = (String, String, String);
/// A hash of (vault, item or plan name), lowercased: what a write is stamped under. One stamp per item written to, so
/// 10,000 items reprotected within the stamps' horizon kept 10,000 copies of the vault's three names and the item's
/// (~2.4 MiB at the peak, issue 13); a hash is 8 bytes. Two targets whose hashes collide only cost one extra read.
type TargetKey = u64;

pub(crate) fn target_key(vault: &VaultKey, target: &str) -> TargetKey {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    vault.hash(&mut h);
    arm_name(target).to_ascii_lowercase().hash(&mut h);
    h.finish()
}

/// Site Recovery over ARM (reqwest + azure_identity).
///
/// Per-vault lists (protected items of the container, policies, discovered vCenters) and the
/// fabric are cached for `fabric_cache_ttl`, one fetch per key however many callers ask at once.
/// A write through this client (reprotect, failback, commit) retires what it makes stale, no more:
/// the vault's item list once it is `write_refresh_min_age` old per page it took (a burst of reprotects costs
/// one listing per interval, not one per POST, and a vault of 1,000 items in ten pages is listed every 50 s, not
/// every 5 s: its re-lists would otherwise take most of the subscription's 25 reads/s), and the job list only
/// for the item written (the check before a POST asks about its own item, and another item's POST cannot create
/// its jobs). The job list is likewise reused for `jobs_cache_ttl` per page it took.
/// Values are kept for `settled_max_age` for callers that accept older answers (the `_within` reads).
pub struct ArmClient {
    http: Http,
    cloud: CloudConfig,
    budgets: Arc<Budgets>,
    /// Whose buckets this client draws on (ARM throttles per principal).
    identity: String,
    fabrics: TtlCache<FabricKey, FabricFacts>,
    items: TtlCache<(FabricKey, String), Arc<Vec<ProtectedItemFacts>>>,
    policies: TtlCache<VaultKey, Arc<Vec<PolicyFacts>>>,
    vcenters: TtlCache<FabricKey, Arc<Vec<DiscoveredVcenterFacts>>>,
    jobs: TtlCache<VaultKey, Arc<Vec<JobFacts>>>,
    /// This client's latest write per vault, and per (vault, item or plan name), lowercased.
    writes: WriteStamps<VaultKey>,
    target_writes: WriteStamps<TargetKey>,
    write_refresh_min_age: Duration,
    /// The latest listing of each item list: the pages it took (what a re-list costs) and when it started.
    item_lists: Mutex<HashMap<(FabricKey, String), Listing>>,
    /// Pages the latest listing of each vault's jobs took.
    job_list_pages: Mutex<HashMap<VaultKey, u32>>,
    containers: Mutex<HashMap<FabricKey, String>>,
    /// Jobs this client's reProtects started: a 404 on one of them means "not readable yet".
    recent_jobs: RecentJobs,
}

/// One listing of a vault's item list.
#[derive(Clone, Copy, Debug)]
struct Listing {
    pages: u32,
    /// When its first page was asked for: the list shows Azure as of then or later.
    started: Instant,
}

fn key(v: &VaultRef) -> FabricKey {
    let l = |s: &str| s.to_ascii_lowercase();
    (l(&v.subscription_id), l(&v.resource_group), l(&v.vault_name), l(&v.fabric_name))
}

fn vault_key(v: &VaultRef) -> VaultKey {
    let (s, g, n, _) = key(v);
    (s, g, n)
}

fn to_body<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, SiteRecoveryError> {
    serde_json::to_vec(v).map_err(|e| SiteRecoveryError::Invalid(e.to_string()))
}

#[async_trait::async_trait]
impl SiteRecovery for ArmClient {
    async fn get_fabric(&self, vault: &VaultRef) -> Result<FabricFacts, SiteRecoveryError> {
        self.get_fabric_within(vault, self.fabrics.ttl()).await
    }

    async fn get_fabric_within(&self, vault: &VaultRef, max_age: Duration) -> Result<FabricFacts, SiteRecoveryError> {
        self.fabrics
            .get_within(key(vault), max_age, None, Duration::ZERO, || async {
                let url = self.vault_url(vault, &["replicationFabrics", &vault.fabric_name]);
                Ok(mapping::fabric_facts(self.get("get_fabric", vault, &url).await?))
            })
            .await
    }

    async fn list_protected_items(&self, vault: &VaultRef) -> Result<Vec<ProtectedItemFacts>, SiteRecoveryError> {
        self.list_protected_items_within(vault, self.items.ttl()).await
    }

    async fn list_protected_items_within(&self, vault: &VaultRef, max_age: Duration) -> Result<Vec<ProtectedItemFacts>, SiteRecoveryError> {
        Ok(self.items_within(vault, max_age).await?.as_ref().clone())
    }

    async fn shared_protected_items(
        &self,
        vault: &VaultRef,
        max_age: Option<Duration>,
    ) -> Result<Arc<Vec<ProtectedItemFacts>>, SiteRecoveryError> {
        self.items_within(vault, max_age.unwrap_or(self.items.ttl())).await
    }

    async fn item_list_predates_write(&self, vault: &VaultRef, item_name: &str) -> bool {
        let Ok(container) = self.container(vault).await else { return false };
        let list = (key(vault), container.to_ascii_lowercase());
        let listed = self.item_lists.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&list).map(|l| l.started);
        let written = self.target_writes.last(&target_key(&vault_key(vault), item_name));
        listed.zip(written).is_some_and(|(listed, written)| listed <= written)
    }

    async fn get_protected_item(&self, vault: &VaultRef, item_name: &str) -> Result<ProtectedItemFacts, SiteRecoveryError> {
        let url = self.item_url(vault, item_name, None).await?;
        Ok(mapping::protected_item_facts(self.get("get_protected_item", vault, &url).await?))
    }

    async fn reprotect(&self, vault: &VaultRef, request: &ReprotectRequest) -> Result<JobRef, SiteRecoveryError> {
        self.submit_reprotect(vault, request).await
    }

    async fn fail_back(&self, vault: &VaultRef, request: &FailbackRequest) -> Result<JobRef, SiteRecoveryError> {
        failback::require("fail_back", &request.item_name, &[("itemName", &request.item_name)])?;
        let url = self.item_url(vault, &request.item_name, Some("unplannedFailover")).await?;
        self.post_lro("fail_back", vault, &url, &request.item_name, Some(to_body(&failback::failback_body(request))?)).await
    }

    async fn commit_failover(&self, vault: &VaultRef, item_name: &str) -> Result<JobRef, SiteRecoveryError> {
        let url = self.item_url(vault, item_name, Some("failoverCommit")).await?;
        self.post_lro("commit_failover", vault, &url, item_name, None).await
    }

    async fn forward_reprotect(&self, vault: &VaultRef, r: &ForwardReprotectRequest) -> Result<JobRef, SiteRecoveryError> {
        let fields =
            [("processServerId", r.process_server_id.as_str()), ("runAsAccountId", &r.run_as_account_id), ("policyId", &r.policy_id)];
        failback::require("forward_reprotect", &r.item_name, &fields)?;
        let url = self.item_url(vault, &r.item_name, Some("reProtect")).await?;
        self.post_lro("forward_reprotect", vault, &url, &r.item_name, Some(to_body(&failback::forward_reprotect_body(r))?)).await
    }

    async fn list_recovery_plans(&self, vault: &VaultRef) -> Result<Vec<RecoveryPlanFacts>, SiteRecoveryError> {
        let url = self.vault_url(vault, &["replicationRecoveryPlans"]);
        let plans: Vec<models::RecoveryPlan> = self.get_all("list_recovery_plans", vault, url, |_| false).await?;
        Ok(plans.into_iter().map(failback::recovery_plan_facts).collect())
    }

    async fn get_recovery_plan(&self, vault: &VaultRef, plan_name: &str) -> Result<RecoveryPlanFacts, SiteRecoveryError> {
        failback::require("get_recovery_plan", plan_name, &[("planName", plan_name)])?;
        let url = self.vault_url(vault, &["replicationRecoveryPlans", plan_name]);
        Ok(failback::recovery_plan_facts(self.get("get_recovery_plan", vault, &url).await?))
    }

    async fn fail_back_plan(&self, vault: &VaultRef, request: &PlanFailbackRequest) -> Result<JobRef, SiteRecoveryError> {
        failback::require("fail_back_plan", &request.plan_name, &[("planName", &request.plan_name)])?;
        let url = self.vault_url(vault, &["replicationRecoveryPlans", &request.plan_name, "unplannedFailover"]);
        self.post_lro("fail_back_plan", vault, &url, &request.plan_name, Some(to_body(&failback::plan_failback_body(request))?)).await
    }

    async fn commit_plan_failover(&self, vault: &VaultRef, plan_name: &str) -> Result<JobRef, SiteRecoveryError> {
        failback::require("commit_plan_failover", plan_name, &[("planName", plan_name)])?;
        let url = self.vault_url(vault, &["replicationRecoveryPlans", plan_name, "failoverCommit"]);
        self.post_lro("commit_plan_failover", vault, &url, plan_name, None).await
    }

    async fn azure_vm_exists(&self, vault: &VaultRef, vm_id: &str) -> Result<bool, SiteRecoveryError> {
        let url = crate::compute::vm_url(&self.cloud.arm_endpoint, vm_id)?;
        match self.http.send("azure_vm_exists", Method::GET, &url, None, &self.lane(vault, Kind::Read), Resend::Idempotent).await {
            Ok(_) => Ok(true),
            // ResourceNotFound, or ResourceGroupNotFound once the group went too: either way the VM is gone.
            Err(e) if e.class() == AsrErrorClass::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn get_job(&self, vault: &VaultRef, job_name: &str) -> Result<JobFacts, SiteRecoveryError> {
        self.read_job(vault, job_name).await
    }

    async fn list_jobs_for(&self, vault: &VaultRef, target_object_id: &str) -> Result<Vec<JobFacts>, SiteRecoveryError> {
        self.jobs_for(vault, target_object_id).await
    }

    async fn list_jobs_started_since(&self, vault: &VaultRef, since: jiff::Timestamp) -> Result<Vec<JobFacts>, SiteRecoveryError> {
        self.jobs_started_since(vault, since).await
    }

    async fn list_policies(&self, vault: &VaultRef) -> Result<Vec<PolicyFacts>, SiteRecoveryError> {
        self.list_policies_within(vault, self.policies.ttl()).await
    }

    async fn list_policies_within(&self, vault: &VaultRef, max_age: Duration) -> Result<Vec<PolicyFacts>, SiteRecoveryError> {
        let policies = self
            .policies
            .get_within(vault_key(vault), max_age, None, Duration::ZERO, || async {
                let url = self.vault_url(vault, &["replicationPolicies"]);
                let items: Vec<models::Policy> = self.get_all("list_policies", vault, url, |_| false).await?;
                Ok(Arc::new(items.into_iter().map(mapping::policy_facts).collect()))
            })
            .await?;
        Ok(policies.as_ref().clone())
    }

    async fn list_vcenters(&self, vault: &VaultRef) -> Result<Vec<DiscoveredVcenterFacts>, SiteRecoveryError> {
        self.list_vcenters_within(vault, self.vcenters.ttl()).await
    }

    async fn list_vcenters_within(&self, vault: &VaultRef, max_age: Duration) -> Result<Vec<DiscoveredVcenterFacts>, SiteRecoveryError> {
        let vcenters = self
            .vcenters
            .get_within(key(vault), max_age, None, Duration::ZERO, || async {
                let url = self.vault_url(vault, &["replicationFabrics", &vault.fabric_name, "replicationvCenters"]);
                let items: Vec<models::VCenter> = self.get_all("list_vcenters", vault, url, |_| false).await?;
                Ok(Arc::new(items.into_iter().map(mapping::vcenter_facts).collect()))
            })
            .await?;
        Ok(vcenters.as_ref().clone())
    }
}
