//! Failback, commit and forward reprotect over ARM: the POST bodies exactly as Az PowerShell sends them
//! (recorded traffic, see the spec README), recovery plan facts, and the job name of an accepted POST.

use reprotect_facts::*;
use serde::Serialize;

use crate::mapping::{self, job_name_from_location, parse_time};
use crate::models::RecoveryPlan;

/// `UnplannedFailoverInput` of an item failback (`InMage`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct UnplannedFailoverInput {
    pub properties: UnplannedFailoverInputProperties,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UnplannedFailoverInputProperties {
    pub failover_direction: String,
    pub source_site_operations: String,
    pub provider_specific_details: InMageUnplannedFailoverInput,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InMageUnplannedFailoverInput {
    pub instance_type: String,
    pub recovery_point_type: String,
}

/// `RecoveryPlanUnplannedFailoverInput` of a plan failback.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RecoveryPlanUnplannedFailoverInput {
    pub properties: RecoveryPlanUnplannedFailoverInputProperties,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryPlanUnplannedFailoverInputProperties {
    pub failover_direction: String,
    pub source_site_operations: String,
    pub provider_specific_details: Vec<InMageUnplannedFailoverInput>,
}

/// `ReverseReplicationInput` of a forward reprotect (`InMageAzureV2`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ForwardReprotectInput {
    pub properties: ForwardReprotectInputProperties,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ForwardReprotectInputProperties {
    pub failover_direction: String,
    pub provider_specific_details: InMageAzureV2ReprotectInput,
}

/// Nulls are omitted on the wire, as recorded.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InMageAzureV2ReprotectInput {
    pub instance_type: String,
    pub master_target_id: String,
    pub process_server_id: String,
    pub run_as_account_id: String,
    pub policy_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_storage_account_id: Option<String>,
}

fn inmage(rp: RecoveryPointType) -> InMageUnplannedFailoverInput {
    InMageUnplannedFailoverInput { instance_type: "InMage".into(), recovery_point_type: rp.as_str().into() }
}

/// Item failback: `PrimaryToRecovery` (after the Azure->on-premises reprotect Azure is the item's primary).
pub fn failback_body(r: &FailbackRequest) -> UnplannedFailoverInput {
    UnplannedFailoverInput {
        properties: UnplannedFailoverInputProperties {
            failover_direction: "PrimaryToRecovery".into(),
            source_site_operations: r.source_site_operations.as_str().into(),
            provider_specific_details: inmage(r.recovery_point_type),
        },
    }
}

/// Plan failback: `RecoveryToPrimary` (the plan keeps on-premises as its primary).
pub fn plan_failback_body(r: &PlanFailbackRequest) -> RecoveryPlanUnplannedFailoverInput {
    RecoveryPlanUnplannedFailoverInput {
        properties: RecoveryPlanUnplannedFailoverInputProperties {
            failover_direction: "RecoveryToPrimary".into(),
            source_site_operations: r.source_site_operations.as_str().into(),
            provider_specific_details: vec![inmage(r.recovery_point_type)],
        },
    }
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// Forward reprotect: the master target defaults to the process server, as Az PowerShell does.
pub fn forward_reprotect_body(r: &ForwardReprotectRequest) -> ForwardReprotectInput {
    ForwardReprotectInput {
        properties: ForwardReprotectInputProperties {
            failover_direction: "RecoveryToPrimary".into(),
            provider_specific_details: InMageAzureV2ReprotectInput {
                instance_type: "InMageAzureV2".into(),
                master_target_id: non_empty(&r.master_target_id).unwrap_or_else(|| r.process_server_id.clone()),
                process_server_id: r.process_server_id.clone(),
                run_as_account_id: r.run_as_account_id.clone(),
                policy_id: r.policy_id.clone(),
                storage_account_id: non_empty(&r.storage_account_id),
                log_storage_account_id: non_empty(&r.log_storage_account_id),
            },
        },
    }
}

/// Refuse a request with an empty required field before anything is sent.
pub fn require(operation: &str, target: &str, fields: &[(&str, &str)]) -> Result<(), SiteRecoveryError> {
    match fields.iter().find(|(_, v)| v.trim().is_empty()) {
        Some((f, _)) => Err(SiteRecoveryError::Invalid(format!("{operation} of {target}: {f} is empty"))),
        None => Ok(()),
    }
}

pub fn recovery_plan_facts(p: RecoveryPlan) -> RecoveryPlanFacts {
    let name = p.name.clone().or_else(|| p.id.as_deref().map(|i| arm_name(i).to_string())).unwrap_or_default();
    let props = p.properties.unwrap_or_default();
    let members = props
        .groups
        .unwrap_or_default()
        .into_iter()
        .flat_map(|g| g.replication_protected_items.unwrap_or_default())
        .filter_map(|i| {
            let id = i.id?;
            Some(RecoveryPlanMember { name: arm_name(&id).to_string(), id, virtual_machine_id: i.virtual_machine_id })
        })
        .collect();
    RecoveryPlanFacts {
        id: p.id.unwrap_or_default(),
        name,
        friendly_name: props.friendly_name,
        primary_fabric_id: props.primary_fabric_id,
        recovery_fabric_id: props.recovery_fabric_id,
        replication_providers: props.replication_providers.unwrap_or_default(),
        allowed_operations: props.allowed_operations.unwrap_or_default(),
        current_scenario: props.current_scenario.map(|c| CurrentScenarioFacts {
            scenario_name: mapping::shared(c.scenario_name),
            job_id: c.job_id,
            start_time: parse_time(c.start_time.as_deref()),
        }),
        current_scenario_status: props.current_scenario_status,
        last_unplanned_failover_time: parse_time(props.last_unplanned_failover_time.as_deref()),
        members,
    }
}

/// The job of an accepted POST: from `Location` (`.../operationresults/{job}`), else from `Azure-AsyncOperation`
/// (`.../replicationOperationStatus/{id}`; in recorded traffic the id is the job name; Azure's recovery-plan
/// examples carry no `Location`).
pub fn job_name_from_headers(location: Option<&str>, async_operation: Option<&str>) -> Option<String> {
    location.and_then(job_name_from_location).or_else(|| {
        let path = async_operation?.split(['?', '#']).next()?.trim_end_matches('/');
        let segs: Vec<&str> = path.split('/').collect();
        let i = segs.iter().rposition(|s| s.eq_ignore_ascii_case("replicationOperationStatus"))?;
        segs.get(i + 1).filter(|s| !s.is_empty()).map(|s| s.to_string())
    })
}
