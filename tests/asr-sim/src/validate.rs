//! Reprotect input validation the way ASR answers it, and the ASR error type.

use crate::scenario::MissingFabricMode;
use crate::state::{Vault, mt_id, stable_id};
use serde_json::Value;

/// An ASR/ARM error: HTTP status, top-level code and the inner ASR detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsrError {
    pub status: u16,
    /// Top-level ARM code (`BadRequest`, `NotFound`, `FabricArmEntityMissing`, ...).
    pub code: String,
    /// `details[0].code`: the ASR error code.
    pub inner_code: String,
    pub message: String,
    pub possible_causes: String,
    pub recommended_action: String,
}

impl AsrError {
    pub fn new(
        status: u16,
        code: &str,
        inner: &str,
        message: impl Into<String>,
        causes: impl Into<String>,
        action: impl Into<String>,
    ) -> Self {
        AsrError {
            status,
            code: code.into(),
            inner_code: inner.into(),
            message: message.into(),
            possible_causes: causes.into(),
            recommended_action: action.into(),
        }
    }
    pub(crate) fn bad(inner: &str, message: impl Into<String>, causes: impl Into<String>, action: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", inner, message, causes, action)
    }

    /// The job error of a reprotect whose mobility agent has not registered back (95226).
    pub fn agent_not_registered(vm: &str, ip: &str) -> Self {
        AsrError::new(
            400,
            "95226",
            "95226",
            format!(
                "Reprotect failed for the virtual machine '{vm}' because the Mobility service (agent) is not installed on the virtual machine or it has not registered with the configuration server. The agent is not installed or not yet reporting (IP {ip})."
            ),
            "The Azure virtual machine cannot reach the on-premises configuration server, or the virtual machine booted recently and the Mobility service has not registered back with the configuration server yet (this can take up to 15 minutes after failover).",
            "Ensure the Azure virtual machine can reach the configuration server over the site-to-site VPN or ExpressRoute and that the Mobility service is running, wait for the agent to register (up to 15 minutes after the virtual machine boots), then retry the reprotect operation.",
        )
    }

    /// The job error of a forward (on-premises -> Azure) reprotect before the on-premises VM's mobility agent
    /// registered back with the configuration server: the docs say reprotect "returns an error message stating
    /// that the agent isn't installed" (code 78093: the Mobility service cannot register).
    pub fn forward_agent_not_registered(vm: &str, ip: &str) -> Self {
        AsrError::new(
            400,
            "78093",
            "78093",
            format!(
                "Reprotect failed for the virtual machine '{vm}': the agent is not installed on the virtual machine or it has not registered with the configuration server yet (IP {ip})."
            ),
            "After an on-premises virtual machine boots up, it takes some time (up to 15 minutes) for the Mobility service to register back to the configuration server.",
            "Wait for a few minutes, then try reprotect again.",
        )
    }

    pub fn missing_fabric(fabric: &str, mode: MissingFabricMode) -> Self {
        match mode {
            MissingFabricMode::BadRequest => AsrError::new(
                400,
                "BadRequest",
                "SubscriptionIdNotRegisteredWithSrs",
                format!(
                    "The fabric '{fabric}' could not be found. The subscription or vault is not registered with Azure Site Recovery for this fabric."
                ),
                "The configuration server was unregistered or the fabric name is wrong.",
                "Check the configuration server registration in the vault and the fabric name.",
            ),
            MissingFabricMode::NotFound => AsrError::new(
                404,
                "FabricArmEntityMissing",
                "FabricArmEntityMissing",
                format!("The fabric '{fabric}' was not found."),
                "The configuration server fabric does not exist in the vault.",
                "Check the fabric name, or register the configuration server again.",
            ),
        }
    }

    pub fn not_found(kind: &str, name: &str) -> Self {
        AsrError::new(
            404,
            "NotFound",
            &format!("{kind}NotFound"),
            format!("The {kind} '{name}' was not found."),
            format!("The {kind} does not exist or was deleted."),
            format!("Check the {kind} name and retry."),
        )
    }
}

/// The InMage reprotect input as accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReprotectInput {
    pub master_target_id: String,
    pub process_server_id: String,
    pub retention_drive: String,
    pub datastore_name: Option<String>,
    pub profile_id: String,
    pub run_as_account_id: Option<String>,
}

fn field(p: &Value, k: &str) -> Option<String> {
    p.get(k).and_then(Value::as_str).map(str::to_string)
}

/// Validate a `ReverseReplicationInput` body for the item, the way ASR does.
pub fn check_reprotect(
    v: &Vault,
    fabric: &str,
    container: &str,
    item: &str,
    body: &Value,
    mode: MissingFabricMode,
) -> Result<ReprotectInput, AsrError> {
    let Some(fab) = v.fabric(fabric) else { return Err(AsrError::missing_fabric(fabric, mode)) };
    if !fab.container.eq_ignore_ascii_case(container) {
        return Err(AsrError::not_found("ProtectionContainer", container));
    }
    let it = v
        .item_index(item)
        .map(|i| &v.items[i])
        .filter(|i| i.fabric.eq_ignore_ascii_case(fabric))
        .ok_or_else(|| AsrError::not_found("ReplicationProtectedItem", item))?;
    let props = body.get("properties").filter(|p| p.is_object()).ok_or_else(|| {
        AsrError::new(
            400,
            "InvalidRequestContent",
            "InvalidRequestContent",
            "The request content was invalid and could not be deserialized: 'properties' is required.",
            "The request body is not a ReverseReplicationInput.",
            "Send a body of the form {\"properties\": {\"failoverDirection\": ..., \"providerSpecificDetails\": {...}}}.",
        )
    })?;
    if let Some((job, _)) = &it.current_job {
        return Err(AsrError::new(
            409,
            "Conflict",
            "ProtectionOperationInProgress",
            format!("Another operation (job '{job}') is in progress on the replicated item '{}'.", it.friendly_name),
            "A reprotect job is already running for this item.",
            "Wait for the running job to finish, then retry.",
        ));
    }
    if !it.allowed_operations.iter().any(|o| o.eq_ignore_ascii_case("ReverseReplicate")) {
        return Err(AsrError::bad(
            "OperationNotAllowedInCurrentState",
            format!(
                "The operation 'ReverseReplicate' is not allowed on the replicated item '{}' in its current state '{}'.",
                it.friendly_name, it.protection_state
            ),
            "The item has not been failed over to Azure and committed, or it is already protected in the reverse direction.",
            "Fail over and commit the virtual machine first, or check the item's allowed operations.",
        ));
    }
    if let Some(dir) = field(props, "failoverDirection")
        && !dir.eq_ignore_ascii_case("RecoveryToPrimary")
    {
        return Err(AsrError::bad(
            "InvalidFailoverDirection",
            format!("The failover direction '{dir}' is not valid for reprotecting '{}' from Azure to on-premises.", it.friendly_name),
            "The virtual machine is running in Azure (active location Recovery).",
            "Use failoverDirection 'RecoveryToPrimary'.",
        ));
    }
    let psd = props.get("providerSpecificDetails").filter(|p| p.is_object()).ok_or_else(|| {
        AsrError::bad(
            "InvalidProviderSpecificInput",
            "providerSpecificDetails is required.",
            "The request has no provider specific input.",
            "Provide providerSpecificDetails with instanceType 'InMage'.",
        )
    })?;
    let kind = field(psd, "instanceType").unwrap_or_default();
    if kind != "InMage" {
        return Err(AsrError::bad(
            "InvalidProviderSpecificInput",
            format!(
                "The provider specific input '{kind}' is not valid to reprotect the replicated item '{}' from Azure to on-premises.",
                it.friendly_name
            ),
            "Reprotect from Azure to an on-premises VMware site uses the InMage provider.",
            "Set providerSpecificDetails.instanceType to 'InMage'.",
        ));
    }
    let req = |k: &str| {
        field(psd, k).filter(|s| !s.is_empty()).ok_or_else(|| {
            AsrError::bad(
                "MissingRequiredParameter",
                format!("The required parameter '{k}' is missing in providerSpecificDetails."),
                "The InMageReprotectInput is incomplete.",
                format!("Provide '{k}'."),
            )
        })
    };
    let input = ReprotectInput {
        master_target_id: req("masterTargetId")?,
        process_server_id: req("processServerId")?,
        retention_drive: req("retentionDrive")?,
        profile_id: req("profileId")?,
        datastore_name: field(psd, "datastoreName"),
        run_as_account_id: field(psd, "runAsAccountId"),
    };
    let Some(mt) = fab.master_targets.iter().find(|m| mt_id(&fab.name, m).eq_ignore_ascii_case(&input.master_target_id)) else {
        return Err(AsrError::bad(
            "MasterTargetServerNotFound",
            format!(
                "The master target server '{}' is not registered with the configuration server '{}'.",
                input.master_target_id, fab.host_name
            ),
            "The master target id is wrong or the master target was unregistered.",
            "Pick a master target from the fabric's masterTargetServers list (use its id).",
        ));
    };
    if !fab.process_servers.iter().any(|p| {
        p.id.clone().unwrap_or_else(|| stable_id(&format!("ps/{}/{}", fab.name, p.name))).eq_ignore_ascii_case(&input.process_server_id)
    }) {
        return Err(AsrError::bad(
            "ProcessServerNotFound",
            format!(
                "The process server '{}' is not registered with the configuration server '{}'.",
                input.process_server_id, fab.host_name
            ),
            "The process server id is wrong or the process server was unregistered.",
            "Pick a process server from the fabric's processServers list (use its id).",
        ));
    }
    if !mt.os.eq_ignore_ascii_case(&it.os) {
        return Err(AsrError::bad(
            "MasterTargetOsTypeMismatch",
            format!(
                "The master target server '{}' ({}) cannot be used to reprotect the {} virtual machine '{}'.",
                mt.name, mt.os, it.os, it.friendly_name
            ),
            "A Linux virtual machine needs a Linux master target server and a Windows virtual machine needs a Windows master target server.",
            format!("Select a {} master target server.", it.os),
        ));
    }
    if !mt.retention_volumes.iter().any(|r| r.eq_ignore_ascii_case(&input.retention_drive)) {
        return Err(AsrError::bad(
            "RetentionVolumeNotFound",
            format!("The retention drive '{}' is not available on the master target server '{}'.", input.retention_drive, mt.name),
            "The volume does not exist, is a cache volume, is FAT/FAT32, has no capacity, or was added less than 15 minutes ago.",
            "Add and format a dedicated retention drive on the master target (R: on Windows, /mnt/retention on Linux), refresh the configuration server, and retry.",
        ));
    }
    let Some(ds_name) = input.datastore_name.clone().filter(|d| !d.is_empty()) else {
        return Err(AsrError::bad(
            "MissingRequiredParameter",
            "The datastore name is required for reprotect.",
            "No datastore was given.",
            "Provide datastoreName (a VMFS or vSAN datastore of the master target's ESXi host).",
        ));
    };
    let Some(ds) = mt.datastores.iter().find(|d| d.name.eq_ignore_ascii_case(&ds_name)) else {
        return Err(AsrError::bad(
            "DatastoreNotFound",
            format!("The datastore '{ds_name}' is not accessible from the ESXi host of the master target server '{}'.", mt.name),
            "The datastore is not mounted on the master target's ESXi host, VMware tools are not running on the master target, or the vCenter account cannot discover datastores.",
            "Mount the datastore on the master target's ESXi host with read/write access, check the vCenter credentials, and retry.",
        ));
    };
    if ds.kind.eq_ignore_ascii_case("NFS") {
        return Err(AsrError::bad(
            "DatastoreTypeNotSupported",
            format!("The datastore '{}' is an NFS datastore. Failback is supported only to VMFS or vSAN datastores.", ds.name),
            "NFS datastores are not supported for failback.",
            "Create a VMFS datastore on-premises and select it.",
        ));
    }
    let profile_ok = v.policies.iter().any(|p| {
        p.provider == "InMage"
            && (p.name.eq_ignore_ascii_case(&input.profile_id)
                || input.profile_id.to_ascii_lowercase().ends_with(&format!("/replicationpolicies/{}", p.name.to_ascii_lowercase())))
    });
    if !profile_ok {
        return Err(AsrError::bad(
            "InvalidPolicyId",
            format!("The policy '{}' is not a failback (InMage) replication policy of this vault.", input.profile_id),
            "The profile id does not name the failback policy.",
            "Use the id of the vault's InMage failback policy.",
        ));
    }
    if let Some(ra) = &input.run_as_account_id
        && !fab.run_as_accounts.iter().any(|a| a.id.eq_ignore_ascii_case(ra) || a.name.eq_ignore_ascii_case(ra))
    {
        return Err(AsrError::bad(
            "RunAsAccountNotFound",
            format!("The run-as account '{ra}' is not known to the configuration server."),
            "The account was removed from the configuration server.",
            "Pick an account from the fabric's runAsAccounts list.",
        ));
    }
    Ok(input)
}
