//! What the controller observes in Azure Site Recovery, the reprotect request, and the trait an ASR client implements.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::failback::{FailbackRequest, ForwardReprotectRequest, PlanFailbackRequest, RecoveryPlanFacts};
use crate::{ArmId, SharedText, SharedTextList};

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

/// A health error as ASR reports it (trimmed to what people act on).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthIssue {
    pub code: Option<String>,
    pub message: Option<String>,
    pub possible_causes: Option<String>,
    pub recommended_action: Option<String>,
    pub severity: Option<String>,
}

/// A retention volume listed for a master target.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionVolumeFacts {
    pub volume_name: String,
    pub capacity_bytes: Option<i64>,
    pub free_space_bytes: Option<i64>,
    pub threshold_percentage: Option<i32>,
    /// File system, when known (ASR only lists eligible volumes; our simulator may report it).
    pub file_system: Option<String>,
}

/// A datastore the configuration server sees for a master target.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AsrDatastoreFacts {
    pub symbolic_name: String,
    pub uuid: Option<String>,
    pub capacity: Option<String>,
    pub free_space: Option<String>,
    /// `type` as ASR reports it (`VMFS`, `vsan`, `NFS`, ...).
    pub datastore_type: Option<String>,
}

/// A master target server registered with the configuration server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MasterTargetServerFacts {
    pub id: String,
    pub name: String,
    pub ip_address: Option<String>,
    /// `Windows` or `Linux` (free string).
    pub os_type: Option<String>,
    pub agent_version: Option<String>,
    pub last_heartbeat: Option<Timestamp>,
    pub retention_volumes: Vec<RetentionVolumeFacts>,
    pub datastores: Vec<AsrDatastoreFacts>,
    pub validation_errors: Vec<HealthIssue>,
    pub health_errors: Vec<HealthIssue>,
}

/// A process server registered with the configuration server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessServerFacts {
    pub id: String,
    pub friendly_name: String,
    pub ip_address: Option<String>,
    pub last_heartbeat: Option<Timestamp>,
    /// `health` (extensible enum: `Normal`, `Warning`, `Critical`, ...).
    pub health: Option<String>,
    pub health_errors: Vec<HealthIssue>,
}

/// A run-as account known to the configuration server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunAsAccountFacts {
    pub account_id: String,
    pub account_name: String,
}

/// A vCenter discovered by the configuration server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveredVcenterFacts {
    pub name: String,
    pub friendly_name: Option<String>,
    pub ip_address: Option<String>,
    /// `port`, which the configuration server reports apart from the address (a string on the wire).
    pub port: Option<u16>,
    pub discovery_status: Option<String>,
    pub last_heartbeat: Option<Timestamp>,
    pub health_errors: Vec<HealthIssue>,
    /// The configuration server's discovery account for this vCenter (`runAsAccountId`), when Azure reports it.
    pub run_as_account_id: Option<String>,
}

/// The configuration server fabric (VMware details) with everything registered to it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FabricFacts {
    pub id: String,
    pub name: String,
    pub host_name: Option<String>,
    pub ip_address: Option<String>,
    pub last_heartbeat: Option<Timestamp>,
    pub agent_version: Option<String>,
    pub health_errors: Vec<HealthIssue>,
    pub process_servers: Vec<ProcessServerFacts>,
    pub master_targets: Vec<MasterTargetServerFacts>,
    pub run_as_accounts: Vec<RunAsAccountFacts>,
}

impl FabricFacts {
    /// Find a master target by name (case-insensitive) or ARM/ASR id.
    pub fn master_target(&self, name_or_id: &str) -> Option<&MasterTargetServerFacts> {
        self.master_targets.iter().find(|m| m.name.eq_ignore_ascii_case(name_or_id) || m.id.eq_ignore_ascii_case(name_or_id))
    }

    /// Find a process server by friendly name (case-insensitive) or id.
    pub fn process_server(&self, name_or_id: &str) -> Option<&ProcessServerFacts> {
        self.process_servers.iter().find(|p| p.friendly_name.eq_ignore_ascii_case(name_or_id) || p.id.eq_ignore_ascii_case(name_or_id))
    }
}

/// The current scenario (running operation) of a protected item.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrentScenarioFacts {
    pub scenario_name: Option<SharedText>,
    pub job_id: Option<String>,
    pub start_time: Option<Timestamp>,
}

/// A replication protected item (one VM) as ASR reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtectedItemFacts {
    pub id: ArmId,
    pub name: String,
    pub friendly_name: Option<String>,
    /// `protectionState`: free string (`Protected`, `UnplannedFailoverCommitted`, `FailedOver`, ...).
    pub protection_state: Option<SharedText>,
    pub protection_state_description: Option<SharedText>,
    /// `activeLocation`: `Primary` (on-premises) or `Recovery` (Azure).
    pub active_location: Option<SharedText>,
    pub replication_health: Option<SharedText>,
    /// The same few lists for all items in the same state: interned whole.
    pub allowed_operations: SharedTextList,
    /// `providerSpecificDetails.instanceType`: `InMageAzureV2` (forward) or `InMage` (reverse).
    pub provider: Option<SharedText>,
    pub policy_id: Option<SharedText>,
    pub policy_friendly_name: Option<SharedText>,
    pub last_successful_failover_time: Option<Timestamp>,
    pub current_scenario: Option<CurrentScenarioFacts>,
    /// Mobility agent's last heartbeat to the configuration server.
    pub agent_last_heartbeat: Option<Timestamp>,
    pub agent_version: Option<SharedText>,
    /// `osType` reported by the provider (`Windows` / `Linux`).
    pub os_type: Option<SharedText>,
    /// OS name/version, e.g. `Windows Server 2008 R2 SP1`.
    pub os_name: Option<SharedText>,
    /// `discoveryType`: `vCenter` or `PhysicalServer`...
    pub discovery_type: Option<SharedText>,
    pub process_server_id: Option<SharedText>,
    pub master_target_id: Option<SharedText>,
    /// The replication group (multi-VM consistency group) name.
    pub multi_vm_group_name: Option<String>,
    /// VM id in the configuration server database (absent: the CS does not know the VM).
    pub vm_id: Option<String>,
    /// `InMageAzureV2` only: the ARM id of the failed-over Azure VM (`targetVmId`); `InMage` items do not carry it.
    pub target_vm_id: Option<ArmId>,
    pub health_errors: Vec<HealthIssue>,
    /// `InMage` only: where the VM runs, `Azure` or `OnPrem` (see [`ProtectedItemFacts::running_site`]).
    pub active_site_type: Option<SharedText>,
    /// `multiVmGroupId`: equal to the group name (a GUID) for an item-level group.
    pub multi_vm_group_id: Option<String>,
    /// `failoverHealth` (extensible: `Normal`, `Warning`, `Critical`).
    pub failover_health: Option<SharedText>,
    /// Provider's `vmProtectionState` (free string).
    pub vm_protection_state: Option<SharedText>,
    /// Provider's `protectionStage` (`DifferentialSync`, `Resynchronization`, ...).
    pub protection_stage: Option<SharedText>,
    /// Current RPO in seconds (`rpoInSeconds`), when reported.
    pub rpo_seconds: Option<i64>,
    pub last_rpo_calculated_time: Option<Timestamp>,
    /// `InMage` retention window: recovery points exist between these times (the spec extracts carry no
    /// recovery-point list; this is the closest observable).
    pub retention_window_start: Option<Timestamp>,
    pub retention_window_end: Option<Timestamp>,
}

/// Replication providers whose items this controller can reprotect to on-premises (`InMageAzureV2`) or
/// recognises as already reprotected (`InMage`).
pub const SUPPORTED_PROVIDERS: &[&str] = &["InMageAzureV2", "InMage"];

/// The name a person knows an item by: its friendly name (the VM's name), else its ARM name (often a GUID).
pub fn display_name<'a>(name: &'a str, friendly_name: Option<&'a str>) -> &'a str {
    friendly_name.map(str::trim).filter(|n| !n.is_empty()).unwrap_or(name)
}

impl ProtectedItemFacts {
    /// The name a person knows the item by: its friendly name (the VM's name), else its ARM name (often a GUID).
    pub fn display_name(&self) -> &str {
        display_name(&self.name, self.friendly_name.as_deref())
    }

    /// Whether the item's replication provider is one this controller knows; `None` when not reported.
    pub fn provider_supported(&self) -> Option<bool> {
        let p = self.provider.as_deref()?.trim();
        Some(SUPPORTED_PROVIDERS.iter().any(|k| k.eq_ignore_ascii_case(p)))
    }

    /// Reverse-replicating (`InMage`) and `Protected`: reprotect is done.
    pub fn is_protected_in_reverse(&self) -> bool {
        self.provider.as_deref().is_some_and(|p| p.eq_ignore_ascii_case("InMage"))
            && self.protection_state.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("Protected"))
    }

    /// Failed over to Azure and reprotect is allowed.
    pub fn can_reverse_replicate(&self) -> bool {
        self.allowed_operations.iter().any(|o| o.eq_ignore_ascii_case("ReverseReplicate"))
    }

    /// The mobility agent has registered back since failover.
    pub fn agent_registered_after_failover(&self) -> Option<bool> {
        let failover = self.last_successful_failover_time?;
        Some(self.agent_last_heartbeat.is_some_and(|hb| hb >= failover))
    }
}

/// A failback (or forward) replication policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyFacts {
    pub id: String,
    pub name: String,
    pub friendly_name: Option<String>,
    /// `providerSpecificDetails.instanceType` (`InMage` for the failback policy).
    pub provider: Option<String>,
    pub rpo_threshold_minutes: Option<i32>,
    pub recovery_point_history_minutes: Option<i32>,
    pub app_consistent_frequency_minutes: Option<i32>,
}

/// An error entry of a job.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobErrorFacts {
    /// ASR error code, e.g. `95226`: the service code, else the provider's.
    pub code: Option<String>,
    /// `providerErrorDetails.errorCode`, which may be specific (`95226`) behind a generic service code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_code: Option<String>,
    pub message: Option<String>,
    pub possible_causes: Option<String>,
    pub recommended_action: Option<String>,
}

/// How far a job's tasks are: how many of them `Succeeded`, of how many. Only these counts are read (a status's
/// `job.progress`); a vault's job list is cached for minutes, so each job keeps them, not its tasks (issue 13).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskProgress {
    pub succeeded: u32,
    pub total: u32,
}

impl TaskProgress {
    /// The counts of tasks in these states.
    pub fn of<'a>(states: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        states.into_iter().fold(Self::default(), |p, state| Self {
            succeeded: p.succeeded + u32::from(state.is_some_and(|s| s.eq_ignore_ascii_case("Succeeded"))),
            total: p.total + 1,
        })
    }
}

/// An ASR job.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobFacts {
    pub id: ArmId,
    pub name: String,
    pub scenario_name: Option<SharedText>,
    /// `state`: free string (`NotStarted`, `InProgress`, `Succeeded`, `Failed`, `Cancelled`, ...).
    pub state: Option<SharedText>,
    pub state_description: Option<SharedText>,
    pub target_object_id: Option<ArmId>,
    pub target_object_name: Option<String>,
    /// `targetInstanceType`: `ProtectionEntity` (an item) or `RecoveryPlan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_instance_type: Option<SharedText>,
    pub start_time: Option<Timestamp>,
    pub end_time: Option<Timestamp>,
    pub tasks: TaskProgress,
    pub errors: Vec<JobErrorFacts>,
}

/// Whether a job state (a free string in ASR) is one a job ends in.
pub fn job_state_finished(state: Option<&str>) -> bool {
    matches!(state, Some(s) if ["succeeded", "failed", "cancelled", "completedwithinformation", "skipped"].contains(&s.to_ascii_lowercase().as_str()))
}

impl JobFacts {
    pub fn is_finished(&self) -> bool {
        job_state_finished(self.state.as_deref())
    }
    pub fn succeeded(&self) -> bool {
        matches!(self.state.as_deref(), Some(s) if s.eq_ignore_ascii_case("Succeeded") || s.eq_ignore_ascii_case("CompletedWithInformation"))
    }
    /// Finished tasks / all tasks.
    pub fn progress(&self) -> (usize, usize) {
        (self.tasks.succeeded as usize, self.tasks.total as usize)
    }
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

/// How the controller should react to an ASR error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AsrErrorClass {
    /// Throttling, 5xx, connection faults: retry with backoff.
    Transient,
    /// The mobility agent has not registered yet (95226, 78093, "agent not installed").
    AgentNotRegistered,
    /// Authentication or authorisation: the user must fix credentials.
    Credentials,
    /// A prerequisite is missing or an input is invalid: wait for a fix.
    Blocking,
    /// The resource does not exist.
    NotFound,
}

/// An ASR/ARM error with what the service said.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("{operation}: HTTP {status} {code}{}: {message}", inner_code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
pub struct AsrServiceError {
    pub operation: String,
    pub status: u16,
    pub code: String,
    pub inner_code: Option<String>,
    pub message: String,
    pub possible_causes: Option<String>,
    pub recommended_action: Option<String>,
}

/// Errors from the Site Recovery client.
#[derive(Debug, thiserror::Error)]
pub enum SiteRecoveryError {
    #[error("Azure authentication failed: {0}")]
    Auth(String),
    #[error(transparent)]
    Service(#[from] AsrServiceError),
    #[error("cannot reach Azure Resource Manager ({operation}): {message}")]
    Transport { operation: String, message: String },
    #[error("unexpected response from {operation}: {message}")]
    Decode { operation: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// ASR error codes that mean "the mobility agent has not registered back yet".
pub const AGENT_NOT_REGISTERED_CODES: &[&str] = &["95226", "78093"];

impl SiteRecoveryError {
    /// Stable label for metrics and events.
    pub fn category(&self) -> &'static str {
        match self.class() {
            AsrErrorClass::Transient => "asr-transient",
            AsrErrorClass::AgentNotRegistered => "asr-agent-not-registered",
            AsrErrorClass::Credentials => "asr-credentials",
            AsrErrorClass::Blocking => "asr-blocking",
            AsrErrorClass::NotFound => "asr-not-found",
        }
    }

    pub fn class(&self) -> AsrErrorClass {
        match self {
            SiteRecoveryError::Auth(_) => AsrErrorClass::Credentials,
            SiteRecoveryError::Transport { .. } | SiteRecoveryError::Decode { .. } => AsrErrorClass::Transient,
            SiteRecoveryError::Invalid(_) => AsrErrorClass::Blocking,
            SiteRecoveryError::Service(e) => classify_service_error(e),
        }
    }
}

fn classify_service_error(e: &AsrServiceError) -> AsrErrorClass {
    let codes = [Some(e.code.as_str()), e.inner_code.as_deref()];
    if codes.iter().flatten().any(|c| AGENT_NOT_REGISTERED_CODES.contains(c)) {
        return AsrErrorClass::AgentNotRegistered;
    }
    match e.status {
        401 | 403 => AsrErrorClass::Credentials,
        404 => AsrErrorClass::NotFound,
        408 | 429 | 500..=599 => AsrErrorClass::Transient,
        400 if codes.iter().flatten().any(|c| *c == "FabricArmEntityMissing" || *c == "SubscriptionIdNotRegisteredWithSrs") => {
            AsrErrorClass::NotFound
        }
        _ => AsrErrorClass::Blocking,
    }
}

/// Classify one job error from every code it carries (service and provider) and its message.
pub fn classify_job_error(err: &JobErrorFacts) -> AsrErrorClass {
    let codes = [err.code.as_deref(), err.provider_code.as_deref()];
    let msg = err.message.as_deref().unwrap_or_default().to_ascii_lowercase();
    if codes.into_iter().flatten().any(|c| AGENT_NOT_REGISTERED_CODES.contains(&c.trim()))
        || msg.contains("agent is not installed")
        || msg.contains("agent not installed")
    {
        AsrErrorClass::AgentNotRegistered
    } else {
        AsrErrorClass::Blocking
    }
}

/// Classify a failed job from all its errors: agent-not-registered when any error says so (a retry after the agent
/// registers may then succeed), else blocking.
pub fn classify_job_errors(errors: &[JobErrorFacts]) -> AsrErrorClass {
    if errors.iter().any(|e| classify_job_error(e) == AsrErrorClass::AgentNotRegistered) {
        AsrErrorClass::AgentNotRegistered
    } else {
        AsrErrorClass::Blocking
    }
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
