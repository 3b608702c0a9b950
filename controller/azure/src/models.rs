//! Serde models of the ASR responses we read: every field optional, unknown fields ignored, enum-like values kept as strings.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Accept a string, number or bool where the spec says string (or integer codes as strings).
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Null => None,
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    })
}

/// Accept an integer or a numeric string.
fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

macro_rules! model {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, Deserialize)]
        #[serde(default, rename_all = "camelCase")]
        pub struct $name { $($(#[$fm])* pub $field: Option<$ty>,)* }
    };
}

/// An ARM proxy resource with typed `properties`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Resource<P> {
    pub id: Option<String>,
    pub name: Option<String>,
    pub properties: Option<P>,
}

impl<P> Default for Resource<P> {
    fn default() -> Self {
        Self { id: None, name: None, properties: None }
    }
}

model!(HealthError {
    #[serde(deserialize_with = "lenient_string")]
    error_code: String,
    error_message: String,
    summary_message: String,
    possible_causes: String,
    recommended_action: String,
    error_level: String,
});

model!(FabricProperties {
    friendly_name: String,
    custom_details: FabricSpecificDetails,
    health_error_details: Vec<HealthError>,
    health: String,
});

model!(
    /// `FabricSpecificDetails`; for `instanceType == "VMware"` the `VMwareDetails` fields are set.
    FabricSpecificDetails {
    instance_type: String,
    host_name: String,
    ip_address: String,
    agent_version: String,
    last_heartbeat: String,
    process_servers: Vec<ProcessServer>,
    master_target_servers: Vec<MasterTargetServer>,
    run_as_accounts: Vec<RunAsAccount>,
});

model!(ProcessServer {
    friendly_name: String,
    id: String,
    ip_address: String,
    last_heartbeat: String,
    health: String,
    health_errors: Vec<HealthError>,
});

model!(MasterTargetServer {
    id: String,
    ip_address: String,
    name: String,
    os_type: String,
    agent_version: String,
    last_heartbeat: String,
    retention_volumes: Vec<RetentionVolume>,
    data_stores: Vec<DataStore>,
    validation_errors: Vec<HealthError>,
    health_errors: Vec<HealthError>,
});

model!(RetentionVolume {
    volume_name: String,
    #[serde(deserialize_with = "lenient_i64")]
    capacity_in_bytes: i64,
    #[serde(deserialize_with = "lenient_i64")]
    free_space_in_bytes: i64,
    #[serde(deserialize_with = "lenient_i64")]
    threshold_percentage: i64,
    /// Not in the spec; reported by our simulator.
    file_system: String,
});

model!(DataStore {
    symbolic_name: String,
    uuid: String,
    #[serde(deserialize_with = "lenient_string")]
    capacity: String,
    #[serde(deserialize_with = "lenient_string")]
    free_space: String,
    r#type: String,
});

model!(RunAsAccount { account_id: String, account_name: String });

model!(ProtectedItemProperties {
    friendly_name: String,
    protection_state: String,
    protection_state_description: String,
    active_location: String,
    allowed_operations: Vec<String>,
    replication_health: String,
    health_errors: Vec<HealthError>,
    policy_id: String,
    last_successful_failover_time: String,
    current_scenario: CurrentScenario,
    provider_specific_details: ProviderDetails,
    failover_health: String,
});

model!(CurrentScenario { scenario_name: String, job_id: String, start_time: String });

model!(
    /// `InMageReplicationDetails` / `InMageAzureV2ReplicationDetails` (fields we read of both).
    ProviderDetails {
    instance_type: String,
    last_heartbeat: String,
    os_type: String,
    os_details: OsDiskDetails,
    os_name: String,
    os_version: String,
    discovery_type: String,
    process_server_id: String,
    master_target_id: String,
    multi_vm_group_name: String,
    vm_id: String,
    /// `InMageAzureV2`: the failed-over Azure VM's ARM id.
    target_vm_id: String,
    multi_vm_group_id: String,
    /// `InMage`: `Azure` or `OnPrem`.
    active_site_type: String,
    vm_protection_state: String,
    #[serde(deserialize_with = "lenient_i64")]
    rpo_in_seconds: i64,
    retention_window_start: String,
    retention_window_end: String,
});

model!(OsDiskDetails { os_type: String });

model!(JobProperties {
    scenario_name: String,
    friendly_name: String,
    state: String,
    state_description: String,
    tasks: Vec<AsrTask>,
    errors: Vec<JobErrorDetails>,
    start_time: String,
    end_time: String,
    target_object_id: String,
    target_object_name: String,
    target_instance_type: String,
});

model!(AsrTask { name: String, friendly_name: String, state: String, errors: Vec<JobErrorDetails> });

model!(JobErrorDetails { service_error_details: ServiceError, provider_error_details: ProviderError });

model!(ServiceError {
    #[serde(deserialize_with = "lenient_string")]
    code: String,
    message: String,
    possible_causes: String,
    recommended_action: String,
});

model!(ProviderError {
    #[serde(deserialize_with = "lenient_string")]
    error_code: String,
    error_message: String,
    possible_causes: String,
    recommended_action: String,
});

model!(PolicyProperties { friendly_name: String, provider_specific_details: PolicyDetails });

model!(
    /// `InMagePolicyDetails` / `InMageAzureV2PolicyDetails`: all values in minutes.
    PolicyDetails {
    instance_type: String,
    #[serde(deserialize_with = "lenient_i64")] recovery_point_threshold_in_minutes: i64,
    #[serde(deserialize_with = "lenient_i64")] recovery_point_history: i64,
    #[serde(deserialize_with = "lenient_i64")] app_consistent_frequency_in_minutes: i64,
});

model!(VCenterProperties {
    friendly_name: String,
    last_heartbeat: String,
    discovery_status: String,
    ip_address: String,
    /// A string in the spec ("The port number for discovery."); a number is accepted too.
    #[serde(deserialize_with = "lenient_i64")] port: i64,
    run_as_account_id: String,
    health_errors: Vec<HealthError>,
});

/// ARM error body: `{"error": {...}}` (or the inner object at top level).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ErrorBody {
    pub error: Option<ErrorDetail>,
    #[serde(flatten)]
    pub top: ErrorDetail,
}

model!(ErrorDetail {
    #[serde(deserialize_with = "lenient_string")] code: String,
    message: String,
    possible_causes: String,
    recommended_action: String,
    details: Vec<ErrorDetail>,
});

model!(RecoveryPlanProperties {
    friendly_name: String,
    primary_fabric_id: String,
    recovery_fabric_id: String,
    replication_providers: Vec<String>,
    allowed_operations: Vec<String>,
    current_scenario: CurrentScenario,
    current_scenario_status: String,
    last_unplanned_failover_time: String,
    groups: Vec<RecoveryPlanGroup>,
});

model!(RecoveryPlanGroup { group_type: String, replication_protected_items: Vec<RecoveryPlanProtectedItem> });
model!(RecoveryPlanProtectedItem { id: String, virtual_machine_id: String });

pub type RecoveryPlan = Resource<RecoveryPlanProperties>;
pub type Fabric = Resource<FabricProperties>;
pub type ProtectedItem = Resource<ProtectedItemProperties>;
pub type Job = Resource<JobProperties>;
pub type Policy = Resource<PolicyProperties>;
pub type VCenter = Resource<VCenterProperties>;

/// `ReverseReplicationInput` for the InMage (VMware failback) provider.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ReverseReplicationInput {
    pub properties: ReverseReplicationInputProperties,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReverseReplicationInputProperties {
    pub failover_direction: String,
    pub provider_specific_details: InMageReprotectInput,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InMageReprotectInput {
    pub instance_type: String,
    pub master_target_id: String,
    pub process_server_id: String,
    pub retention_drive: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_as_account_id: Option<String>,
    pub datastore_name: String,
    pub profile_id: String,
}
