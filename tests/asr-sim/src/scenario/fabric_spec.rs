//! Scenario of a configuration-server fabric: its process servers, master targets (with datastores), vCenters and
//! health errors.

use super::{d_container, d_fabric, d_hb_age, d_windows, de_duration};
use jiff::SignedDuration;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct DatastoreSpec {
    pub name: String,
    /// `VMFS`, `NFS`, `vsan`.
    #[serde(rename = "type", alias = "datastore_type")]
    pub kind: String,
    pub capacity_gb: u64,
    pub free_gb: u64,
}
impl Default for DatastoreSpec {
    fn default() -> Self {
        DatastoreSpec { name: "ds-vmfs-01".into(), kind: "VMFS".into(), capacity_gb: 2048, free_gb: 1024 }
    }
}

/// A health or validation error attached to a server.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct HealthErrorSpec {
    pub code: String,
    pub message: String,
    pub possible_causes: String,
    pub recommended_action: String,
    pub severity: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct MasterTargetSpec {
    pub name: String,
    /// Defaults to a stable GUID-like id derived from the name.
    pub id: Option<String>,
    pub os: String,
    pub ip_address: String,
    pub retention_volumes: Vec<String>,
    pub datastores: Vec<DatastoreSpec>,
    #[serde(deserialize_with = "de_duration")]
    pub heartbeat_age: SignedDuration,
    pub validation_errors: Vec<HealthErrorSpec>,
    pub health_errors: Vec<HealthErrorSpec>,
    pub agent_version: String,
}
impl Default for MasterTargetSpec {
    fn default() -> Self {
        MasterTargetSpec {
            name: "mt-win-01".into(),
            id: None,
            os: d_windows(),
            ip_address: "10.0.0.21".into(),
            retention_volumes: vec![],
            datastores: vec![],
            heartbeat_age: d_hb_age(),
            validation_errors: vec![],
            health_errors: vec![],
            agent_version: "9.60.0.0".into(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct ProcessServerSpec {
    pub name: String,
    pub id: Option<String>,
    pub ip_address: String,
    #[serde(deserialize_with = "de_duration")]
    pub heartbeat_age: SignedDuration,
    pub health: String,
    pub health_errors: Vec<HealthErrorSpec>,
}
impl Default for ProcessServerSpec {
    fn default() -> Self {
        ProcessServerSpec {
            name: "ps-01".into(),
            id: None,
            ip_address: "10.0.0.11".into(),
            heartbeat_age: d_hb_age(),
            health: "Normal".into(),
            health_errors: vec![],
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RunAsSpec {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct VcenterSpec {
    pub name: String,
    pub friendly_name: Option<String>,
    pub ip_address: String,
    pub port: String,
    pub discovery_status: String,
    pub run_as_account_id: Option<String>,
    #[serde(deserialize_with = "de_duration")]
    pub heartbeat_age: SignedDuration,
    pub health_errors: Vec<HealthErrorSpec>,
}
impl Default for VcenterSpec {
    fn default() -> Self {
        VcenterSpec {
            name: "vc-01".into(),
            friendly_name: None,
            ip_address: "10.0.0.5".into(),
            port: "443".into(),
            discovery_status: "Completed".into(),
            run_as_account_id: Some("1".into()),
            heartbeat_age: d_hb_age(),
            health_errors: vec![],
        }
    }
}

/// A configuration-server fabric (VMware) with its single protection container.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct FabricSpec {
    pub name: String,
    pub container: String,
    pub host_name: String,
    pub ip_address: String,
    #[serde(deserialize_with = "de_duration")]
    pub heartbeat_age: SignedDuration,
    pub agent_version: String,
    pub process_servers: Vec<ProcessServerSpec>,
    pub master_targets: Vec<MasterTargetSpec>,
    pub run_as_accounts: Vec<RunAsSpec>,
    pub vcenters: Vec<VcenterSpec>,
    pub health_errors: Vec<HealthErrorSpec>,
}
impl Default for FabricSpec {
    fn default() -> Self {
        let ds = || vec![DatastoreSpec::default(), DatastoreSpec { name: "ds-nfs-01".into(), kind: "NFS".into(), ..Default::default() }];
        FabricSpec {
            name: d_fabric(),
            container: d_container(),
            host_name: "cs-01.corp.local".into(),
            ip_address: "10.0.0.10".into(),
            heartbeat_age: d_hb_age(),
            agent_version: "9.60.0.0".into(),
            process_servers: vec![ProcessServerSpec::default()],
            master_targets: vec![
                MasterTargetSpec { retention_volumes: vec!["R:".into()], datastores: ds(), ..Default::default() },
                MasterTargetSpec {
                    name: "mt-lin-01".into(),
                    os: "Linux".into(),
                    ip_address: "10.0.0.22".into(),
                    retention_volumes: vec!["/mnt/retention".into()],
                    datastores: ds(),
                    ..Default::default()
                },
            ],
            run_as_accounts: vec![RunAsSpec { id: "1".into(), name: "vcenter-admin".into() }],
            vcenters: vec![VcenterSpec::default()],
            health_errors: vec![],
        }
    }
}
