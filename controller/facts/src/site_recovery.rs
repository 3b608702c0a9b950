//! What the controller observes in Azure Site Recovery, the reprotect request, and the trait an ASR client implements.
//!
//! The observed facts live in submodules by what they describe; all are re-exported here, so
//! `reprotect_facts::site_recovery::X` (and `reprotect_facts::X`) name them as before.

mod asr_errors;
mod fabric_facts;
mod item_facts;
mod job_facts;

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use asr_errors::{
    AGENT_NOT_REGISTERED_CODES, AsrErrorClass, AsrServiceError, SiteRecoveryError, classify_job_error, classify_job_errors,
};
pub use fabric_facts::{
    AsrDatastoreFacts, DiscoveredVcenterFacts, FabricFacts, HealthIssue, MasterTargetServerFacts, ProcessServerFacts, RetentionVolumeFacts,
    RunAsAccountFacts,
};
pub use item_facts::{CurrentScenarioFacts, PolicyFacts, ProtectedItemFacts, SUPPORTED_PROVIDERS, display_name};
pub use job_facts::{JobErrorFacts, JobFacts, TaskProgress, job_state_finished};

use crate::failback::{FailbackRequest, ForwardReprotectRequest, PlanFailbackRequest, RecoveryPlanFacts};

/// Which vault, configuration-server fabric and protection container to talk to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultRef {
    pub subscription_id: String,
    pub resource_group: String,
    pub vault_name: String,
    /// Fabric name of the configuration server.
    pub fabric_name: String,
    /// Protection container; `None` means discover (the fabric's single container).
    pub container_name: Option<String>,
}

/// The InMage reprotect (reverse replication) input, without ARM ids spelled out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReprotectRequest {
    /// Protected item name.
    pub item_name: String,
    pub master_target_id: String,
    pub process_server_id: String,
    pub retention_drive: String,
    /// Failback policy id (`profileId`).
    pub profile_id: String,
    pub run_as_account_id: Option<String>,
    pub datastore_name: String,
}

/// Where a submitted long-running operation is tracked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRef {
    pub job_name: String,
    /// Seconds the service asked us to wait before polling (`Retry-After`).
    pub retry_after_seconds: Option<u64>,
}

/// The Site Recovery operations the controller needs. Implemented over ARM with azure_identity.
#[async_trait::async_trait]
pub trait SiteRecovery: Send + Sync {
    async fn get_fabric(&self, vault: &VaultRef) -> Result<FabricFacts, SiteRecoveryError>;
    /// All protected items of the vault's container (follows `nextLink`).
    async fn list_protected_items(&self, vault: &VaultRef) -> Result<Vec<ProtectedItemFacts>, SiteRecoveryError>;
    async fn get_protected_item(&self, vault: &VaultRef, item_name: &str) -> Result<ProtectedItemFacts, SiteRecoveryError>;
    /// POST reProtect; returns the job that tracks it.
    async fn reprotect(&self, vault: &VaultRef, request: &ReprotectRequest) -> Result<JobRef, SiteRecoveryError>;
    async fn get_job(&self, vault: &VaultRef, job_name: &str) -> Result<JobFacts, SiteRecoveryError>;
    /// Jobs whose target object is the given item id (to adopt an in-flight job after a restart).
    async fn list_jobs_for(&self, vault: &VaultRef, target_object_id: &str) -> Result<Vec<JobFacts>, SiteRecoveryError>;
    async fn list_policies(&self, vault: &VaultRef) -> Result<Vec<PolicyFacts>, SiteRecoveryError>;
    /// The vault's jobs that started at or after `since` (read afresh, every page): the vault watch's change feed.
    /// Default: refused, so the watch lists the items instead.
    async fn list_jobs_started_since(&self, _vault: &VaultRef, since: Timestamp) -> Result<Vec<JobFacts>, SiteRecoveryError> {
        Err(unsupported("list_jobs_started_since", &since.to_string()))
    }
    async fn list_vcenters(&self, vault: &VaultRef) -> Result<Vec<DiscoveredVcenterFacts>, SiteRecoveryError>;

    // The per-vault reads for a caller that accepts a cached answer up to `max_age` old: a machine with
    // nothing in flight, whose item the vault watch re-reads on its own schedule. `Duration::ZERO` reads
    // afresh. Defaults: the plain reads (an implementation without a cache has nothing older to offer).

    async fn list_protected_items_within(
        &self,
        vault: &VaultRef,
        _max_age: Duration,
    ) -> Result<Vec<ProtectedItemFacts>, SiteRecoveryError> {
        self.list_protected_items(vault).await
    }
    /// The item list as [`SiteRecovery::list_protected_items_within`] (`None`: the usual cache interval) reads it,
    /// shared instead of copied: at 10,000 machines a vault's list holds a thousand items (2.5 MB) and every pass
    /// of every machine reads it to find its own.
    async fn shared_protected_items(
        &self,
        vault: &VaultRef,
        max_age: Option<Duration>,
    ) -> Result<std::sync::Arc<Vec<ProtectedItemFacts>>, SiteRecoveryError> {
        let items = match max_age {
            Some(age) => self.list_protected_items_within(vault, age).await?,
            None => self.list_protected_items(vault).await?,
        };
        Ok(std::sync::Arc::new(items))
    }
    async fn get_fabric_within(&self, vault: &VaultRef, _max_age: Duration) -> Result<FabricFacts, SiteRecoveryError> {
        self.get_fabric(vault).await
    }
    async fn list_policies_within(&self, vault: &VaultRef, _max_age: Duration) -> Result<Vec<PolicyFacts>, SiteRecoveryError> {
        self.list_policies(vault).await
    }
    async fn list_vcenters_within(&self, vault: &VaultRef, _max_age: Duration) -> Result<Vec<DiscoveredVcenterFacts>, SiteRecoveryError> {
        self.list_vcenters(vault).await
    }
    /// Whether the vault's item list the last `list_protected_items*` answered from was fetched before this client's
    /// latest write to the item (`false` when unknown, e.g. an implementation that does not cache). Such a list
    /// cannot say how the job that write started is doing, so the caller need not read the job to learn what the
    /// next listing will tell it anyway.
    async fn item_list_predates_write(&self, _vault: &VaultRef, _item_name: &str) -> bool {
        false
    }

    // Failback and forward reprotect (issue 16). Defaults refuse, so other implementations keep compiling.

    /// POST item `unplannedFailover` (`PrimaryToRecovery`, `InMage` input): fail a reprotected item back on-premises.
    async fn fail_back(&self, _vault: &VaultRef, request: &FailbackRequest) -> Result<JobRef, SiteRecoveryError> {
        Err(unsupported("fail_back", &request.item_name))
    }
    /// POST item `failoverCommit` (no body): commit the failback; removes the Azure VM.
    async fn commit_failover(&self, _vault: &VaultRef, item_name: &str) -> Result<JobRef, SiteRecoveryError> {
        Err(unsupported("commit_failover", item_name))
    }
    /// POST item `reProtect` with `InMageAzureV2` input: protect the failed-back VM to Azure again.
    async fn forward_reprotect(&self, _vault: &VaultRef, request: &ForwardReprotectRequest) -> Result<JobRef, SiteRecoveryError> {
        Err(unsupported("forward_reprotect", &request.item_name))
    }
    /// The vault's recovery plans (follows `nextLink`).
    async fn list_recovery_plans(&self, _vault: &VaultRef) -> Result<Vec<RecoveryPlanFacts>, SiteRecoveryError> {
        Err(unsupported("list_recovery_plans", ""))
    }
    async fn get_recovery_plan(&self, _vault: &VaultRef, plan_name: &str) -> Result<RecoveryPlanFacts, SiteRecoveryError> {
        Err(unsupported("get_recovery_plan", plan_name))
    }
    /// POST plan `unplannedFailover` (`RecoveryToPrimary`, `InMage` input): fail a whole replication group back.
    async fn fail_back_plan(&self, _vault: &VaultRef, request: &PlanFailbackRequest) -> Result<JobRef, SiteRecoveryError> {
        Err(unsupported("fail_back_plan", &request.plan_name))
    }
    /// POST plan `failoverCommit` (no body).
    async fn commit_plan_failover(&self, _vault: &VaultRef, plan_name: &str) -> Result<JobRef, SiteRecoveryError> {
        Err(unsupported("commit_plan_failover", plan_name))
    }
    /// Whether the Azure VM with this ARM id (`targetVmId`) exists in Azure Compute: `false` when ARM answers 404
    /// (`ResourceNotFound`, or `ResourceGroupNotFound` once its group is gone too). Read with the vault's identity.
    async fn azure_vm_exists(&self, _vault: &VaultRef, vm_id: &str) -> Result<bool, SiteRecoveryError> {
        Err(unsupported("azure_vm_exists", vm_id))
    }
}

/// The error of a [`SiteRecovery`] operation an implementation does not offer (class `Blocking`).
pub fn unsupported(operation: &str, target: &str) -> SiteRecoveryError {
    SiteRecoveryError::Invalid(format!("{operation} ({target}) is not supported by this Site Recovery client"))
}

#[cfg(test)]
#[path = "site_recovery_tests.rs"]
mod tests;
