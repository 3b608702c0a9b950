//! Spec-shaped JSON for replication protected items and jobs.

use crate::json::{T_ITEM, T_JOB, container_id, fabric_id, item_id, job_id, policy_id, ts};
use crate::state::{Item, Job, JobState, Vault, stable_id};
use jiff::Timestamp;
use serde_json::{Value, json};

fn state_description(s: &str) -> &str {
    match s.to_ascii_lowercase().as_str() {
        "unplannedfailovercommitted" | "plannedfailovercommitted" | "failovercommitted" => "Failover committed",
        "protected" | "protectedstatesbegin" => "Protected",
        "unplannedfailovercompleted" | "failovercompleted" | "unplannedfailovercommitpendingstatesbegin" => "Failover completed",
        _ => s,
    }
}

/// A `ReplicationProtectedItem` as ASR returns it at `now`.
pub fn item(v: &Vault, it: &Item, now: Timestamp) -> Value {
    let fab = v.fabric(&it.fabric);
    let cs_name = fab.map(|f| f.host_name.clone()).unwrap_or_default();
    let heartbeat = ts(it.agent_last_heartbeat(now));
    let group_id = it.group.as_ref().map(|g| stable_id(&format!("group/{}/{g}", v.name)));
    let linux = it.os.eq_ignore_ascii_case("Linux");
    let current = match &it.current_job {
        Some((job, start)) => {
            let scenario = v.job(job).map(|j| j.kind.scenario()).unwrap_or(crate::state::REPROTECT_SCENARIO);
            json!({"scenarioName": scenario, "jobId": job_id(v, job), "startTime": ts(*start)})
        }
        None => json!({"scenarioName": "None", "jobId": job_id(v, "None"), "startTime": "1753-01-01T01:01:01Z"}),
    };
    let ps = fab.and_then(|f| f.process_servers.first().map(|p| (crate::json::ps_id(f, p), p.name.clone())));
    let forward = it.forward.is_some();
    let psd = if it.provider == "InMage" {
        let rp = it.reprotect.clone();
        json!({
            "instanceType": "InMage", "activeSiteType": if it.active_location.eq_ignore_ascii_case("Primary") { "Azure" } else { "OnPrem" }, "sourceVmCpuCount": 2, "sourceVmRamSizeInMB": 4096,
            "osDetails": {"osType": it.os, "vhdName": format!("{}-osdisk", it.name), "osVhdId": stable_id(&format!("osvhd/{}", it.name))},
            "protectionStage": "DifferentialSync", "vmId": it.vm_id, "vmProtectionState": it.protection_state, "vmProtectionStateDescription": state_description(&it.protection_state),
            "resyncDetails": {"initialReplicationType": "InitialReplication", "initialReplicationProgressPercentage": "100"},
            "retentionWindowStart": ts(now - jiff::SignedDuration::from_hours(24)), "retentionWindowEnd": ts(now),
            "compressedDataRateInMB": 0.1, "uncompressedDataRateInMB": 0.3, "rpoInSeconds": 30, "protectedDisks": [],
            "ipAddress": it.ip_address, "lastHeartbeat": heartbeat,
            "processServerId": rp.as_ref().map(|r| r.process_server_id.clone()), "masterTargetId": rp.as_ref().map(|r| r.master_target_id.clone()),
            "multiVmGroupId": group_id, "multiVmGroupName": it.group, "multiVmSyncStatus": if it.group.is_some() { "Enabled" } else { "Disabled" },
            "agentDetails": {"agentVersion": "9.60.0.0", "agentUpdateStatus": "NotRequired", "postUpdateRebootStatus": "NotRequired"},
            "discoveryType": "vCenter", "datastores": rp.as_ref().and_then(|r| r.datastore_name.clone()).into_iter().collect::<Vec<_>>(),
            "validationErrors": [], "lastRpoCalculatedTime": ts(now), "lastUpdateReceivedTime": ts(now), "osVersion": it.os_name,
        })
    } else {
        json!({
            "instanceType": it.provider, "infrastructureVmId": stable_id(&format!("infra-vm/{}", it.name)),
            "vCenterInfrastructureId": stable_id("infra/vc-01"), "protectionStage": "Protected", "vmId": it.vm_id,
            "vmProtectionState": if forward { it.protection_state.as_str() } else { "FailedOver" }, "vmProtectionStateDescription": if forward { "Protected" } else { "Failed over" }, "resyncProgressPercentage": 100,
            "ipAddress": it.ip_address, "agentVersion": "9.60.0.0", "isAgentUpdateRequired": "false", "isRebootAfterUpdateRequired": "false",
            "lastHeartbeat": heartbeat, "processServerId": it.forward.as_ref().map(|f| f.process_server_id.clone()).or(ps.as_ref().map(|p| p.0.clone())), "processServerName": ps.as_ref().map(|p| p.1.clone()),
            "multiVmGroupId": group_id, "multiVmGroupName": it.group, "multiVmSyncStatus": if it.group.is_some() { "Enabled" } else { "Disabled" },
            "protectedDisks": [], "diskResized": "false", "sourceVmCpuCount": 2, "sourceVmRamSizeInMB": 4096, "osType": it.os,
            "vhdName": format!("{}-osdisk", it.name), "osDiskId": stable_id(&format!("osdisk/{}", it.name)),
            "recoveryAzureVMName": it.friendly_name, "recoveryAzureVMSize": "Standard_D2s_v3", "discoveryType": "vCenter",
            "enableRdpOnTargetOption": if linux { "Never" } else { "OnlyWhenFailover" }, "datastores": [],
            "targetVmId": it.azure_vm_present.then(|| format!("/subscriptions/{}/resourceGroups/{}-asr/providers/Microsoft.Compute/virtualMachines/{}", v.subscription, v.resource_group, it.friendly_name)),
            "useManagedDisks": "true", "licenseType": "NoLicenseType", "validationErrors": [], "osVersion": it.os_name, "osName": it.os_name,
            "firmwareType": "BIOS", "azureVmGeneration": "1",
        })
    };
    json!({
        "id": item_id(v, &it.fabric, &it.container, &it.name), "name": it.name, "type": T_ITEM,
        "properties": {
            "friendlyName": it.friendly_name, "protectedItemType": "VMwareVirtualMachine",
            "protectableItemId": format!("{}/replicationProtectableItems/{}", container_id(v, &it.fabric, &it.container), it.name),
            "recoveryServicesProviderId": format!("{}/replicationRecoveryServicesProviders/{}", fabric_id(v, &it.fabric), stable_id(&cs_name)),
            "primaryFabricFriendlyName": cs_name, "primaryFabricProvider": "VMware", "recoveryFabricFriendlyName": "Microsoft Azure",
            "recoveryFabricId": "Microsoft Azure", "primaryProtectionContainerFriendlyName": cs_name,
            "recoveryProtectionContainerFriendlyName": "Microsoft Azure", "protectionState": it.protection_state,
            "protectionStateDescription": state_description(&it.protection_state), "activeLocation": it.active_location,
            "testFailoverState": "None", "testFailoverStateDescription": "None", "allowedOperations": it.allowed_operations,
            "replicationHealth": "Normal", "failoverHealth": "Normal", "healthErrors": [],
            "policyId": policy_id(v, &it.policy), "policyFriendlyName": it.policy,
            "lastSuccessfulFailoverTime": it.failover_time.map(ts), "currentScenario": current,
            "providerSpecificDetails": psd,
            "recoveryContainerId": format!("{}/replicationFabrics/Microsoft Azure/replicationProtectionContainers/cloud_azure", crate::json::vault_id(v)),
        }
    })
}

/// The job's `state`: a running job of an item scripted with `job_state` reports that free string instead.
fn reported_state<'a>(v: &'a Vault, j: &Job) -> &'a str {
    let alias = v.item_index(&j.item).and_then(|i| v.items.get(i)).and_then(|it| it.job_state.as_deref());
    match (j.state, alias) {
        (JobState::InProgress, Some(a)) => a,
        (s, _) => s.as_str(),
    }
}

/// A `Job` as ASR returns it at `now`.
pub fn job(v: &Vault, j: &Job, now: Timestamp) -> Value {
    let affected = match &j.plan {
        Some(p) => {
            json!({"RecoveryPlanName": p, "RecoveryPlanId": crate::plans::plan_id(v, p), "PrimaryFabricProviderId": "VMware", "RecoveryFabricProviderId": "Azure"})
        }
        None => json!({
            "PrimaryFabricProviderId": "VMware", "PrimaryFabricName": j.fabric, "ProtectionContainerName": j.container,
            "RecoveryFabricProviderId": "Azure", "ReplicatedItemId": item_id(v, &j.fabric, &j.container, &j.item),
        }),
    };
    let errors: Vec<Value> = j.error.iter().map(|e| {
        json!({
            "serviceErrorDetails": {"code": v.job_service_code.as_deref().unwrap_or(&e.inner_code), "message": e.message, "possibleCauses": e.possible_causes, "recommendedAction": e.recommended_action, "activityId": j.activity_id},
            "providerErrorDetails": {"errorCode": e.inner_code.parse::<i32>().unwrap_or(0), "errorMessage": e.message, "errorId": stable_id(&j.name), "possibleCauses": e.possible_causes, "recommendedAction": e.recommended_action},
            "errorLevel": "Error", "creationTime": ts(j.end.unwrap_or(now)), "taskId": stable_id(&format!("{}/0", j.name)),
        })
    }).collect();
    let tasks: Vec<Value> = j
        .tasks()
        .iter()
        .enumerate()
        .map(|(i, (name, friendly))| {
            let (s, e) = j.task_span(i);
            let state = j.task_state(i, now);
            let mut t = json!({
                "taskId": stable_id(&format!("{}/{i}", j.name)), "name": name, "friendlyName": friendly, "allowedActions": [],
                "state": state, "stateDescription": if state == "Succeeded" { "Completed" } else { state }, "taskType": "TaskDetails",
                "errors": if i == 0 { errors.clone() } else { vec![] },
            });
            if state != "NotStarted" && state != "Skipped" {
                t["startTime"] = json!(ts(s));
            }
            if state == "Succeeded" || state == "Failed" {
                t["endTime"] = json!(ts(if state == "Failed" { j.end.unwrap_or(e) } else { e }));
            }
            t
        })
        .collect();
    let mut p = json!({
        "activityId": j.activity_id, "scenarioName": j.kind.scenario(), "friendlyName": j.kind.friendly(),
        "state": reported_state(v, j), "stateDescription": match j.state { JobState::InProgress => "InProgress", JobState::Succeeded => "Completed", JobState::Failed => "Failed" },
        "tasks": tasks, "errors": errors, "startTime": ts(j.start),
        "allowedActions": match j.state { JobState::InProgress => vec!["Cancel"], JobState::Failed => vec!["Restart"], JobState::Succeeded => vec![] },
        "targetObjectId": j.item, "targetObjectName": j.item_friendly,
        "targetInstanceType": if j.plan.is_some() { "RecoveryPlan" } else { "ProtectionEntity" },
        "customDetails": {"instanceType": j.kind.details_type(), "affectedObjectDetails": affected},
    });
    if let Some(e) = j.end {
        p["endTime"] = json!(ts(e));
    }
    json!({"id": job_id(v, &j.name), "name": j.name, "type": T_JOB, "properties": p})
}
