//! What ASR reports about the configuration-server fabric and the servers, accounts and vCenters registered to it.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

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
