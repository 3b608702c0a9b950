//! Failback, commit and forward reprotect input validation the way ASR answers it: bodies checked
//! strictly against `failback.extract.json`, then against the item's state.

use crate::scenario::MissingFabricMode;
use crate::state::{AsrError, Item, Vault, mt_id};
use serde_json::Value;

/// The `InMageAzureV2` (forward) reprotect input as accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardReprotectInput {
    pub process_server_id: String,
    pub master_target_id: String,
    pub run_as_account_id: String,
    pub policy_id: String,
    pub storage_account_id: Option<String>,
    pub log_storage_account_id: Option<String>,
}

fn field(p: &Value, k: &str) -> Option<String> {
    p.get(k).and_then(Value::as_str).map(str::to_string)
}

fn missing(k: &str, what: &str) -> AsrError {
    AsrError::bad(
        "MissingRequiredParameter",
        format!("The required parameter '{k}' is missing in {what}."),
        format!("The {what} is incomplete."),
        format!("Provide '{k}'."),
    )
}

/// Is this reProtect body the forward (`InMageAzureV2`) kind?
pub fn is_forward_reprotect(body: &Value) -> bool {
    body.pointer("/properties/providerSpecificDetails/instanceType")
        .and_then(Value::as_str)
        .is_some_and(|k| k.eq_ignore_ascii_case("InMageAzureV2"))
}

/// The body must validate strictly against definition `def` of the failback extract.
pub fn spec_check(def: &str, body: &Value) -> Result<(), AsrError> {
    crate::conformance::validate_failback_strict(def, body).map_err(|errs| {
        AsrError::new(
            400,
            "InvalidRequestContent",
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized as {def}: {}", errs.join("; ")),
            format!("The request body is not a valid {def}."),
            format!("Send a body that matches {def}."),
        )
    })
}

/// The item addressed by fabric/container/name, or the error ASR gives.
pub fn item_for_action<'v>(v: &'v Vault, fabric: &str, container: &str, item: &str, mode: MissingFabricMode) -> Result<&'v Item, AsrError> {
    let Some(fab) = v.fabric(fabric) else { return Err(AsrError::missing_fabric(fabric, mode)) };
    if !fab.container.eq_ignore_ascii_case(container) {
        return Err(AsrError::not_found("ProtectionContainer", container));
    }
    v.item_index(item)
        .and_then(|i| v.items.get(i))
        .filter(|i| i.fabric.eq_ignore_ascii_case(fabric))
        .ok_or_else(|| AsrError::not_found("ReplicationProtectedItem", item))
}

pub fn busy(it: &Item) -> Result<(), AsrError> {
    match &it.current_job {
        Some((job, _)) => Err(AsrError::new(
            409,
            "Conflict",
            "ProtectionOperationInProgress",
            format!("Another operation (job '{job}') is in progress on the replicated item '{}'.", it.friendly_name),
            "A job is already running for this item.",
            "Wait for the running job to finish, then retry.",
        )),
        None => Ok(()),
    }
}

fn allowed(it: &Item, ops: &[&str], op: &str, cause: &str, action: &str) -> Result<(), AsrError> {
    if it.allowed_operations.iter().any(|o| ops.iter().any(|x| o.eq_ignore_ascii_case(x))) {
        return Ok(());
    }
    Err(AsrError::bad(
        "OperationNotAllowedInCurrentState",
        format!(
            "The operation '{op}' is not allowed on the replicated item '{}' in its current state '{}'.",
            it.friendly_name, it.protection_state
        ),
        cause,
        action,
    ))
}

/// Items of a replication group fail over and commit only through their recovery plan.
fn group_refused(it: &Item, what: &str) -> Result<(), AsrError> {
    match &it.group {
        Some(g) => Err(AsrError::bad(
            "OperationNotAllowedForReplicationGroup",
            format!(
                "Unsupported replication protection action for virtual machine in replication group for {what} for replication provider {}. Use recovery plan action for the same purpose.",
                it.provider
            ),
            format!("The virtual machine '{}' belongs to the replication group '{g}'.", it.friendly_name),
            "Run the operation on the recovery plan that contains the replication group.",
        )),
        None => Ok(()),
    }
}

/// `PrimaryToRecovery` / `RecoveryToPrimary` check of `failoverDirection`.
pub fn direction(props: &Value, expected: &str, it_name: &str) -> Result<(), AsrError> {
    let Some(dir) = field(props, "failoverDirection") else { return Err(missing("failoverDirection", "the input properties")) };
    if dir.eq_ignore_ascii_case(expected) {
        return Ok(());
    }
    Err(AsrError::bad(
        "InvalidFailoverDirection",
        format!("The failover direction '{dir}' is not valid for '{it_name}' in its current state."),
        "The direction is relative to the current primary side.",
        format!("Use failoverDirection '{expected}'."),
    ))
}

/// `sourceSiteOperations`, when given, is `Required` or `NotRequired`.
pub fn source_site_operations(props: &Value, required: bool) -> Result<(), AsrError> {
    match field(props, "sourceSiteOperations") {
        None if required => Err(missing("sourceSiteOperations", "the input properties")),
        None => Ok(()),
        Some(s) if ["Required", "NotRequired"].iter().any(|x| x.eq_ignore_ascii_case(&s)) => Ok(()),
        Some(s) => Err(AsrError::bad(
            "InvalidParameterValue",
            format!("The value '{s}' of sourceSiteOperations is not valid."),
            "Allowed values are Required and NotRequired.",
            "Use Required or NotRequired.",
        )),
    }
}

/// `LatestTime` / `LatestTag` (canonical spelling); `Custom` needs a recovery point the simulator does not have.
pub fn recovery_point_type(p: &Value) -> Result<String, AsrError> {
    let Some(t) = field(p, "recoveryPointType") else { return Err(missing("recoveryPointType", "the InMage failover input")) };
    for known in ["LatestTime", "LatestTag"] {
        if t.eq_ignore_ascii_case(known) {
            return Ok(known.into());
        }
    }
    if t.eq_ignore_ascii_case("Custom") {
        let id = field(p, "recoveryPointId").unwrap_or_default();
        return Err(AsrError::bad(
            "RecoveryPointNotFound",
            format!("The recovery point '{id}' was not found."),
            "A custom recovery point needs a recoveryPointId of an existing recovery point.",
            "Use LatestTime (latest, crash-consistent) or LatestTag (latest app-consistent).",
        ));
    }
    Err(AsrError::bad(
        "InvalidRecoveryPointType",
        format!("The recovery point type '{t}' is not valid."),
        "Allowed values are LatestTime, LatestTag and Custom.",
        "Use LatestTime or LatestTag.",
    ))
}

fn provider_input<'b>(props: &'b Value, kind: &str, it: &Item) -> Result<&'b Value, AsrError> {
    let psd = props
        .get("providerSpecificDetails")
        .filter(|p| p.is_object())
        .ok_or_else(|| missing("providerSpecificDetails", "the input properties"))?;
    let got = field(psd, "instanceType").unwrap_or_default();
    if !got.eq_ignore_ascii_case(kind) {
        return Err(AsrError::bad(
            "InvalidProviderSpecificInput",
            format!(
                "The provider specific input '{got}' is not valid for the replicated item '{}' (provider {}).",
                it.friendly_name, it.provider
            ),
            format!("This operation on this item takes the {kind} provider input."),
            format!("Set providerSpecificDetails.instanceType to '{kind}'."),
        ));
    }
    Ok(psd)
}

fn only_inmage(it: &Item, op: &str) -> Result<(), AsrError> {
    if it.provider.eq_ignore_ascii_case("InMage") {
        return Ok(());
    }
    Err(AsrError::bad(
        "OperationNotAllowedInCurrentState",
        format!(
            "The operation '{op}' is not allowed on the replicated item '{}' (provider {}, state {}).",
            it.friendly_name, it.provider, it.protection_state
        ),
        "Failback applies to items reprotected from Azure to on-premises (provider InMage).",
        "Reprotect the virtual machine from Azure to on-premises first.",
    ))
}

/// Item-level failback: returns the accepted recovery point type.
pub fn check_item_failback(it: &Item, body: &Value) -> Result<String, AsrError> {
    spec_check("UnplannedFailoverInput", body)?;
    busy(it)?;
    group_refused(it, "unplanned failover")?;
    only_inmage(it, "UnplannedFailover")?;
    allowed(
        it,
        &["UnplannedFailover"],
        "UnplannedFailover",
        "The item is not protected from Azure to on-premises, or a failover already happened.",
        "Wait until reprotect has finished and the item is Protected.",
    )?;
    let props = body.get("properties").unwrap_or(&Value::Null);
    direction(props, "PrimaryToRecovery", &it.friendly_name)?;
    source_site_operations(props, false)?;
    recovery_point_type(provider_input(props, "InMage", it)?)
}

/// Item-level commit (no body).
pub fn check_item_commit(it: &Item) -> Result<(), AsrError> {
    busy(it)?;
    group_refused(it, "commit")?;
    allowed(
        it,
        &["Commit"],
        "Commit",
        "There is no failover to commit: the item has not failed over, or the failover was already committed.",
        "Fail over (fail back) the item first.",
    )
}

/// Refusal of a planned failover for the classic VMware providers.
pub fn planned_failover_refused(provider: &str) -> AsrError {
    AsrError::bad(
        "UnsupportedReplicationProviderForPlannedFailover",
        format!("Unsupported replication provider {provider} for planned failover"),
        "Classic VMware failback is an unplanned failover.",
        "Use unplannedFailover.",
    )
}

/// `reProtect` with `InMageAzureV2` input on a committed failback (`SwitchProtection` offered).
pub fn check_forward_reprotect(v: &Vault, it: &Item, body: &Value) -> Result<ForwardReprotectInput, AsrError> {
    spec_check("ReverseReplicationInput", body)?;
    busy(it)?;
    let props = body.get("properties").filter(|p| p.is_object()).ok_or_else(|| missing("properties", "the ReverseReplicationInput"))?;
    let psd = provider_input(props, if it.provider.eq_ignore_ascii_case("InMage") { "InMageAzureV2" } else { "InMage" }, it)?;
    allowed(
        it,
        &["SwitchProtection", "ReverseReplicate"],
        "SwitchProtection",
        "The failback has not been committed yet.",
        "Commit the failback first.",
    )?;
    direction(props, "RecoveryToPrimary", &it.friendly_name)?;
    let req = |k: &str| field(psd, k).filter(|s| !s.trim().is_empty()).ok_or_else(|| missing(k, "the InMageAzureV2 reprotect input"));
    let input = ForwardReprotectInput {
        process_server_id: req("processServerId")?,
        master_target_id: req("masterTargetId")?,
        run_as_account_id: req("runAsAccountId")?,
        policy_id: req("policyId")?,
        storage_account_id: field(psd, "storageAccountId"),
        log_storage_account_id: field(psd, "logStorageAccountId"),
    };
    let Some(fab) = v.fabric(&it.fabric) else { return Err(AsrError::not_found("Fabric", &it.fabric)) };
    let ps_ids: Vec<String> = fab.process_servers.iter().map(|p| crate::json::ps_id(fab, p)).collect();
    let bad = |code: &str, msg: String, action: &str| {
        AsrError::bad(code, msg, "The id does not name a server registered with the configuration server.", action)
    };
    if !ps_ids.iter().any(|p| p.eq_ignore_ascii_case(&input.process_server_id)) {
        return Err(bad(
            "ProcessServerNotFound",
            format!(
                "The process server '{}' is not registered with the configuration server '{}'.",
                input.process_server_id, fab.host_name
            ),
            "Pick a process server from the fabric's processServers list.",
        ));
    }
    let mt_ok = ps_ids.iter().any(|p| p.eq_ignore_ascii_case(&input.master_target_id))
        || fab.master_targets.iter().any(|m| mt_id(&fab.name, m).eq_ignore_ascii_case(&input.master_target_id));
    if !mt_ok {
        return Err(bad(
            "MasterTargetServerNotFound",
            format!(
                "The master target server '{}' is not registered with the configuration server '{}'.",
                input.master_target_id, fab.host_name
            ),
            "Use the process server's id (the configuration server's master target) or a master target's id.",
        ));
    }
    if !fab.run_as_accounts.iter().any(|a| a.id.eq_ignore_ascii_case(&input.run_as_account_id)) {
        return Err(bad(
            "RunAsAccountNotFound",
            format!("The run-as account '{}' is not known to the configuration server.", input.run_as_account_id),
            "Pick an account from the fabric's runAsAccounts list.",
        ));
    }
    let pid = input.policy_id.to_ascii_lowercase();
    let policy_ok = v.policies.iter().any(|p| {
        p.provider == "InMageAzureV2"
            && (p.name.eq_ignore_ascii_case(&pid) || pid.ends_with(&format!("/replicationpolicies/{}", p.name.to_ascii_lowercase())))
    });
    if !policy_ok {
        return Err(AsrError::bad(
            "InvalidPolicyId",
            format!("The policy '{}' is not a forward (InMageAzureV2) replication policy of this vault.", input.policy_id),
            "Forward reprotect uses the policy of the forward protection container mapping.",
            "Use the id of the vault's InMageAzureV2 policy.",
        ));
    }
    Ok(input)
}
