//! Spec-shaped JSON for fabrics, containers, policies, vCenters, and ARM/ASR error bodies.

use crate::scenario::{FabricSpec, HealthErrorSpec, MasterTargetSpec, PolicySpec, ProcessServerSpec, VcenterSpec};
use crate::state::{Vault, mt_id, new_guid, stable_id};
use crate::validate::AsrError;
use jiff::Timestamp;
use serde_json::{Value, json};

pub const T_FABRIC: &str = "Microsoft.RecoveryServices/vaults/replicationFabrics";
pub const T_CONTAINER: &str = "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers";
pub const T_ITEM: &str = "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/replicationProtectedItems";
pub const T_JOB: &str = "Microsoft.RecoveryServices/vaults/replicationJobs";
pub const T_POLICY: &str = "Microsoft.RecoveryServices/vaults/replicationPolicies";
pub const T_VCENTER: &str = "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationvCenters";

/// `/Subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices/vaults/{vault}` (capital S as ASR answers).
pub fn vault_id(v: &Vault) -> String {
    format!("/Subscriptions/{}/resourceGroups/{}/providers/Microsoft.RecoveryServices/vaults/{}", v.subscription, v.resource_group, v.name)
}
pub fn fabric_id(v: &Vault, fabric: &str) -> String {
    format!("{}/replicationFabrics/{fabric}", vault_id(v))
}
pub fn container_id(v: &Vault, fabric: &str, container: &str) -> String {
    format!("{}/replicationProtectionContainers/{container}", fabric_id(v, fabric))
}
pub fn item_id(v: &Vault, fabric: &str, container: &str, item: &str) -> String {
    format!("{}/replicationProtectedItems/{item}", container_id(v, fabric, container))
}
pub fn job_id(v: &Vault, job: &str) -> String {
    format!("{}/replicationJobs/{job}", vault_id(v))
}
pub fn policy_id(v: &Vault, policy: &str) -> String {
    format!("{}/replicationPolicies/{policy}", vault_id(v))
}

/// ASR timestamps: RFC 3339 UTC, at most 7 fractional digits like .NET (here: microseconds).
pub fn ts(t: Timestamp) -> String {
    t.round(jiff::Unit::Microsecond).unwrap_or(t).to_string()
}

pub fn health_error(h: &HealthErrorSpec, entity: &str, now: Timestamp) -> Value {
    json!({
        "errorSource": "Server", "errorType": "Health", "errorLevel": h.severity.clone().unwrap_or_else(|| "Error".into()),
        "errorCategory": "Configuration", "errorCode": h.code, "summaryMessage": h.message, "errorMessage": h.message,
        "possibleCauses": h.possible_causes, "recommendedAction": h.recommended_action, "creationTimeUtc": ts(now),
        "recoveryProviderErrorMessage": "", "entityId": entity, "errorId": stable_id(&format!("{entity}/{}", h.code)),
        "customerResolvability": "Allowed", "innerHealthErrors": []
    })
}

fn health_errors(hs: &[HealthErrorSpec], entity: &str, now: Timestamp) -> Value {
    Value::Array(hs.iter().map(|h| health_error(h, entity, now)).collect())
}

pub fn ps_id(f: &FabricSpec, p: &ProcessServerSpec) -> String {
    p.id.clone().unwrap_or_else(|| stable_id(&format!("ps/{}/{}", f.name, p.name)))
}

fn master_target(f: &FabricSpec, m: &MasterTargetSpec, now: Timestamp) -> Value {
    let id = mt_id(&f.name, m);
    let linux = m.os.eq_ignore_ascii_case("Linux");
    json!({
        "id": id, "ipAddress": m.ip_address, "name": m.name, "osType": m.os, "agentVersion": m.agent_version,
        "lastHeartbeat": ts(now - m.heartbeat_age), "versionStatus": "Supported",
        "retentionVolumes": m.retention_volumes.iter().map(|r| json!({"volumeName": r, "capacityInBytes": 536870912000_i64, "freeSpaceInBytes": 429496729600_i64, "thresholdPercentage": 80})).collect::<Vec<_>>(),
        "dataStores": m.datastores.iter().map(|d| json!({"symbolicName": d.name, "uuid": stable_id(&format!("ds/{}", d.name)), "capacity": d.capacity_gb.to_string(), "freeSpace": d.free_gb.to_string(), "type": d.kind})).collect::<Vec<_>>(),
        "validationErrors": health_errors(&m.validation_errors, &id, now),
        "healthErrors": health_errors(&m.health_errors, &id, now),
        "diskCount": 2, "osVersion": if linux { "Ubuntu-20.04-64" } else { "Windows Server 2016" },
    })
}

fn process_server(f: &FabricSpec, p: &ProcessServerSpec, now: Timestamp) -> Value {
    let id = ps_id(f, p);
    json!({
        "friendlyName": p.name, "id": id, "ipAddress": p.ip_address, "osType": "Windows", "agentVersion": f.agent_version,
        "lastHeartbeat": ts(now - p.heartbeat_age), "versionStatus": "Supported", "mobilityServiceUpdates": [],
        "hostId": stable_id(&format!("host/{}", p.name)), "machineCount": "1", "replicationPairCount": "0",
        "systemLoad": "1", "systemLoadStatus": "Healthy", "cpuLoad": "10", "cpuLoadStatus": "Healthy",
        "totalMemoryInBytes": 17179869184_i64, "availableMemoryInBytes": 8589934592_i64, "memoryUsageStatus": "Healthy",
        "totalSpaceInBytes": 1099511627776_i64, "availableSpaceInBytes": 549755813888_i64, "spaceUsageStatus": "Healthy",
        "psServiceStatus": "Running", "osVersion": "Windows Server 2016", "healthErrors": health_errors(&p.health_errors, &id, now),
        "health": p.health,
    })
}

pub fn fabric(v: &Vault, f: &FabricSpec, now: Timestamp) -> Value {
    let items = v.items.iter().filter(|i| i.fabric.eq_ignore_ascii_case(&f.name)).count();
    json!({
        "id": fabric_id(v, &f.name), "name": f.name, "type": T_FABRIC,
        "properties": {
            "friendlyName": f.host_name, "encryptionDetails": {"kekState": "None"}, "rolloverEncryptionDetails": {"kekState": "None"},
            "internalIdentifier": stable_id(&format!("fabric/{}", f.name)), "bcdrState": "Valid",
            "health": if f.health_errors.is_empty() { "Normal" } else { "Critical" },
            "healthErrorDetails": health_errors(&f.health_errors, &f.name, now),
            "customDetails": {
                "instanceType": "VMware",
                "processServers": f.process_servers.iter().map(|p| process_server(f, p, now)).collect::<Vec<_>>(),
                "masterTargetServers": f.master_targets.iter().map(|m| master_target(f, m, now)).collect::<Vec<_>>(),
                "runAsAccounts": f.run_as_accounts.iter().map(|a| json!({"accountId": a.id, "accountName": a.name})).collect::<Vec<_>>(),
                "replicationPairCount": items.to_string(), "processServerCount": f.process_servers.len().to_string(),
                "agentCount": items.to_string(), "protectedServers": items.to_string(),
                "systemLoad": "1", "systemLoadStatus": "Healthy", "cpuLoad": "12", "cpuLoadStatus": "Healthy",
                "totalMemoryInBytes": 17179869184_i64, "availableMemoryInBytes": 8589934592_i64, "memoryUsageStatus": "Healthy",
                "totalSpaceInBytes": 1099511627776_i64, "availableSpaceInBytes": 549755813888_i64, "spaceUsageStatus": "Healthy",
                "webLoad": "0", "webLoadStatus": "Healthy", "databaseServerLoad": "0", "databaseServerLoadStatus": "Healthy",
                "csServiceStatus": "Running", "ipAddress": f.ip_address, "agentVersion": f.agent_version, "hostName": f.host_name,
                "lastHeartbeat": ts(now - f.heartbeat_age), "versionStatus": "Supported",
            }
        }
    })
}

pub fn container(v: &Vault, f: &FabricSpec) -> Value {
    let n = v.items.iter().filter(|i| i.fabric.eq_ignore_ascii_case(&f.name)).count();
    json!({
        "id": container_id(v, &f.name, &f.container), "name": f.container, "type": T_CONTAINER,
        "properties": {"fabricFriendlyName": f.host_name, "friendlyName": f.host_name, "fabricType": "VMware", "protectedItemCount": n, "pairingStatus": "Paired", "role": "Primary"}
    })
}

pub fn policy(v: &Vault, p: &PolicySpec) -> Value {
    let mut psd = json!({
        "instanceType": p.provider, "recoveryPointThresholdInMinutes": p.rpo_threshold_minutes,
        "recoveryPointHistory": p.recovery_point_history_minutes, "appConsistentFrequencyInMinutes": p.app_consistent_frequency_minutes,
        "multiVmSyncStatus": "Enabled",
    });
    if p.provider == "InMageAzureV2" {
        psd["crashConsistentFrequencyInMinutes"] = json!(5);
    }
    json!({"id": policy_id(v, &p.name), "name": p.name, "type": T_POLICY, "properties": {"friendlyName": p.name, "providerSpecificDetails": psd}})
}

pub fn vcenter(v: &Vault, f: &FabricSpec, c: &VcenterSpec, now: Timestamp) -> Value {
    json!({
        "id": format!("{}/replicationvCenters/{}", fabric_id(v, &f.name), c.name), "name": c.name, "type": T_VCENTER,
        "properties": {
            "friendlyName": c.friendly_name.clone().unwrap_or_else(|| c.name.clone()), "internalId": stable_id(&format!("vc/{}", c.name)),
            "lastHeartbeat": ts(now - c.heartbeat_age), "discoveryStatus": c.discovery_status,
            "processServerId": f.process_servers.first().map(|p| ps_id(f, p)).unwrap_or_default(), "ipAddress": c.ip_address,
            "infrastructureId": stable_id(&format!("infra/{}", c.name)), "port": c.port, "runAsAccountId": c.run_as_account_id,
            "fabricArmResourceName": f.name, "healthErrors": health_errors(&c.health_errors, &c.name, now),
        }
    })
}

/// The ASR error body: `{"error":{"code","message","details":[{...}]}}`.
pub fn asr_error(e: &AsrError, client_request_id: &str) -> Value {
    json!({"error": {"code": e.code, "message": e.message, "details": [{
        "code": e.inner_code, "message": e.message, "possibleCauses": e.possible_causes,
        "recommendedAction": e.recommended_action, "clientRequestId": client_request_id, "activityId": new_guid(),
    }]}})
}

/// A plain ARM error body: `{"error":{"code","message"}}`.
pub fn arm_error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

/// A collection page.
pub fn page(values: Vec<Value>, next: Option<String>) -> Value {
    match next {
        Some(n) => json!({"value": values, "nextLink": n}),
        None => json!({"value": values}),
    }
}
