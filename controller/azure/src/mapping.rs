//! From ASR response models to the facts the controller reads; the reprotect body; error bodies; LRO headers.

use jiff::{Timestamp, civil::DateTime};
use reprotect_facts::*;

use crate::models::*;

/// Parse an ASR date-time leniently: RFC 3339, or a zone-less value taken as UTC. Placeholders
/// such as `0001-01-01T00:00:00` or `1753-01-01T01:01:01Z` (ASR's "never") become `None`.
pub fn parse_time(s: Option<&str>) -> Option<Timestamp> {
    let s = s?.trim();
    let ts = match s.parse::<Timestamp>() {
        Ok(ts) => ts,
        Err(_) => s.parse::<DateTime>().ok()?.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp(),
    };
    // ASR writes 0001-01-01 and 1753-01-01 (SQL minimum) for "never".
    (ts.to_zoned(jiff::tz::TimeZone::UTC).year() >= 1900).then_some(ts)
}

fn issues(v: Option<Vec<HealthError>>) -> Vec<HealthIssue> {
    v.unwrap_or_default()
        .into_iter()
        .map(|h| HealthIssue {
            code: h.error_code,
            message: h.error_message.or(h.summary_message),
            possible_causes: h.possible_causes,
            recommended_action: h.recommended_action,
            severity: h.error_level,
        })
        .collect()
}

fn name_of(id: &Option<String>, name: Option<String>) -> String {
    name.or_else(|| id.as_deref().map(|i| arm_name(i).to_string())).unwrap_or_default()
}

pub fn fabric_facts(f: Fabric) -> FabricFacts {
    let name = name_of(&f.id, f.name);
    let p = f.properties.unwrap_or_default();
    let d = p.custom_details.unwrap_or_default();
    FabricFacts {
        id: f.id.unwrap_or_default(),
        name,
        host_name: d.host_name,
        ip_address: d.ip_address,
        last_heartbeat: parse_time(d.last_heartbeat.as_deref()),
        agent_version: d.agent_version,
        health_errors: issues(p.health_error_details),
        process_servers: d
            .process_servers
            .unwrap_or_default()
            .into_iter()
            .map(|ps| ProcessServerFacts {
                id: ps.id.unwrap_or_default(),
                friendly_name: ps.friendly_name.unwrap_or_default(),
                ip_address: ps.ip_address,
                last_heartbeat: parse_time(ps.last_heartbeat.as_deref()),
                health: ps.health,
                health_errors: issues(ps.health_errors),
            })
            .collect(),
        master_targets: d
            .master_target_servers
            .unwrap_or_default()
            .into_iter()
            .map(|mt| MasterTargetServerFacts {
                id: mt.id.unwrap_or_default(),
                name: mt.name.unwrap_or_default(),
                ip_address: mt.ip_address,
                os_type: mt.os_type,
                agent_version: mt.agent_version,
                last_heartbeat: parse_time(mt.last_heartbeat.as_deref()),
                retention_volumes: mt
                    .retention_volumes
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| RetentionVolumeFacts {
                        volume_name: r.volume_name.unwrap_or_default(),
                        capacity_bytes: r.capacity_in_bytes,
                        free_space_bytes: r.free_space_in_bytes,
                        threshold_percentage: r.threshold_percentage.and_then(|t| i32::try_from(t).ok()),
                        file_system: r.file_system,
                    })
                    .collect(),
                datastores: mt
                    .data_stores
                    .unwrap_or_default()
                    .into_iter()
                    .map(|d| AsrDatastoreFacts {
                        symbolic_name: d.symbolic_name.unwrap_or_default(),
                        uuid: d.uuid,
                        capacity: d.capacity,
                        free_space: d.free_space,
                        datastore_type: d.r#type,
                    })
                    .collect(),
                validation_errors: issues(mt.validation_errors),
                health_errors: issues(mt.health_errors),
            })
            .collect(),
        run_as_accounts: d
            .run_as_accounts
            .unwrap_or_default()
            .into_iter()
            .map(|a| RunAsAccountFacts { account_id: a.account_id.unwrap_or_default(), account_name: a.account_name.unwrap_or_default() })
            .collect(),
    }
}

/// A text that many items or jobs of a vault repeat (a state, a policy, a task name): kept once (see [`SharedText`]).
pub(crate) fn shared(text: Option<String>) -> Option<SharedText> {
    text.map(SharedText::from)
}

pub fn protected_item_facts(i: ProtectedItem) -> ProtectedItemFacts {
    let name = name_of(&i.id, i.name);
    let p = i.properties.unwrap_or_default();
    let d = p.provider_specific_details.unwrap_or_default();
    ProtectedItemFacts {
        id: i.id.unwrap_or_default().into(),
        name,
        friendly_name: p.friendly_name,
        protection_state: shared(p.protection_state),
        protection_state_description: shared(p.protection_state_description),
        active_location: shared(p.active_location),
        replication_health: shared(p.replication_health),
        allowed_operations: p.allowed_operations.unwrap_or_default().into_iter().map(SharedText::from).collect(),
        provider: shared(d.instance_type),
        policy_id: shared(p.policy_id),
        last_successful_failover_time: parse_time(p.last_successful_failover_time.as_deref()),
        current_scenario: p.current_scenario.map(|c| CurrentScenarioFacts {
            scenario_name: shared(c.scenario_name),
            job_id: c.job_id,
            start_time: parse_time(c.start_time.as_deref()),
        }),
        agent_last_heartbeat: parse_time(d.last_heartbeat.as_deref()),
        os_type: shared(d.os_type.or(d.os_details.and_then(|o| o.os_type))),
        os_name: shared(d.os_name.or(d.os_version)),
        discovery_type: shared(d.discovery_type),
        process_server_id: shared(d.process_server_id),
        master_target_id: shared(d.master_target_id),
        multi_vm_group_name: shared(d.multi_vm_group_name),
        vm_id: d.vm_id,
        target_vm_id: d.target_vm_id.filter(|id| !id.trim().is_empty()).map(ArmId::from),
        health_errors: issues(p.health_errors),
        active_site_type: shared(d.active_site_type),
        multi_vm_group_id: shared(d.multi_vm_group_id),
        failover_health: shared(p.failover_health),
        vm_protection_state: shared(d.vm_protection_state),
        rpo_seconds: d.rpo_in_seconds,
        retention_window_start: parse_time(d.retention_window_start.as_deref()),
        retention_window_end: parse_time(d.retention_window_end.as_deref()),
    }
}

fn job_error(e: JobErrorDetails) -> JobErrorFacts {
    let s = e.service_error_details.unwrap_or_default();
    let p = e.provider_error_details.unwrap_or_default();
    JobErrorFacts {
        provider_code: p.error_code.clone(),
        code: s.code.or(p.error_code),
        message: s.message.or(p.error_message),
        possible_causes: s.possible_causes.or(p.possible_causes),
        recommended_action: s.recommended_action.or(p.recommended_action),
    }
}

pub fn job_facts(j: Job) -> JobFacts {
    let name = name_of(&j.id, j.name);
    let p = j.properties.unwrap_or_default();
    let mut errors: Vec<JobErrorFacts> = p.errors.unwrap_or_default().into_iter().map(job_error).collect();
    let tasks = p.tasks.unwrap_or_default();
    for e in tasks.iter().flat_map(|t| t.errors.clone().unwrap_or_default()).map(job_error) {
        if !errors.contains(&e) {
            errors.push(e);
        }
    }
    JobFacts {
        id: j.id.unwrap_or_default().into(),
        name,
        scenario_name: shared(p.scenario_name),
        state: shared(p.state),
        state_description: shared(p.state_description),
        target_object_id: p.target_object_id.map(ArmId::from),
        target_object_name: p.target_object_name,
        target_instance_type: shared(p.target_instance_type),
        start_time: parse_time(p.start_time.as_deref()),
        end_time: parse_time(p.end_time.as_deref()),
        tasks: TaskProgress::of(tasks.iter().map(|t| t.state.as_deref())),
        errors,
    }
}

/// Does a job target this item? ASR reports the target as an ARM id or as the bare item name.
pub fn job_targets(job: &JobFacts, target_object_id: &str) -> bool {
    job.target_object_id.as_ref().is_some_and(|t| t.same_as(target_object_id) || t.name().eq_ignore_ascii_case(arm_name(target_object_id)))
}

pub fn policy_facts(p: Policy) -> PolicyFacts {
    let name = name_of(&p.id, p.name);
    let props = p.properties.unwrap_or_default();
    let d = props.provider_specific_details.unwrap_or_default();
    let inmage = d.instance_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("InMage") || t.eq_ignore_ascii_case("InMageAzureV2"));
    let minutes = |v: Option<i64>| if inmage { v.and_then(|m| i32::try_from(m).ok()) } else { None };
    PolicyFacts {
        id: p.id.unwrap_or_default(),
        name,
        friendly_name: props.friendly_name,
        provider: d.instance_type,
        rpo_threshold_minutes: minutes(d.recovery_point_threshold_in_minutes),
        recovery_point_history_minutes: minutes(d.recovery_point_history),
        app_consistent_frequency_minutes: minutes(d.app_consistent_frequency_in_minutes),
    }
}

pub fn vcenter_facts(v: VCenter) -> DiscoveredVcenterFacts {
    let name = name_of(&v.id, v.name);
    let p = v.properties.unwrap_or_default();
    DiscoveredVcenterFacts {
        name,
        friendly_name: p.friendly_name,
        ip_address: p.ip_address,
        // Unreported (or unparsable): 443, vCenter's default, is assumed by the comparison.
        port: p.port.and_then(|port| u16::try_from(port).ok()),
        discovery_status: p.discovery_status,
        last_heartbeat: parse_time(p.last_heartbeat.as_deref()),
        health_errors: issues(p.health_errors),
        run_as_account_id: p.run_as_account_id.filter(|id| !id.trim().is_empty()),
    }
}

/// The `ReverseReplicationInput` body of an InMage (VMware failback) reprotect.
pub fn reprotect_body(r: &ReprotectRequest) -> ReverseReplicationInput {
    ReverseReplicationInput {
        properties: ReverseReplicationInputProperties {
            failover_direction: "RecoveryToPrimary".into(),
            provider_specific_details: InMageReprotectInput {
                instance_type: "InMage".into(),
                master_target_id: r.master_target_id.clone(),
                process_server_id: r.process_server_id.clone(),
                retention_drive: r.retention_drive.clone(),
                run_as_account_id: r.run_as_account_id.clone().filter(|s| !s.is_empty()),
                datastore_name: r.datastore_name.clone(),
                profile_id: r.profile_id.clone(),
            },
        },
    }
}

/// Map an ARM/ASR error response into [`AsrServiceError`], keeping the ASR codes.
pub fn service_error(operation: &str, status: u16, body: &[u8]) -> AsrServiceError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let detail = parsed.map(|b| b.error.unwrap_or(b.top)).filter(|d| d.code.is_some() || d.message.is_some());
    let text = || {
        let s = String::from_utf8_lossy(body);
        let s = s.trim();
        if s.is_empty() { format!("HTTP {status}") } else { s.chars().take(500).collect() }
    };
    let Some(d) = detail else {
        return AsrServiceError {
            operation: operation.into(),
            status,
            code: format!("Http{status}"),
            inner_code: None,
            message: text(),
            possible_causes: None,
            recommended_action: None,
        };
    };
    let details = d.details.unwrap_or_default();
    let first = details.first();
    let pick = |f: fn(&ErrorDetail) -> Option<&String>| details.iter().find_map(|x| f(x).cloned());
    AsrServiceError {
        operation: operation.into(),
        status,
        code: d.code.unwrap_or_else(|| format!("Http{status}")),
        inner_code: first.and_then(|x| x.code.clone()),
        message: d.message.or_else(|| first.and_then(|x| x.message.clone())).unwrap_or_else(text),
        possible_causes: d.possible_causes.or_else(|| pick(|x| x.possible_causes.as_ref())),
        recommended_action: d.recommended_action.or_else(|| pick(|x| x.recommended_action.as_ref())),
    }
}

/// The ASR job name from a reprotect `Location` header (`.../operationresults/{jobName}?api-version=...`).
pub fn job_name_from_location(location: &str) -> Option<String> {
    let path = location.split(['?', '#']).next()?.trim_end_matches('/');
    let segs: Vec<&str> = path.split('/').collect();
    let i = segs.iter().rposition(|s| s.eq_ignore_ascii_case("operationresults") || s.eq_ignore_ascii_case("replicationJobs"))?;
    segs.get(i + 1).filter(|s| !s.is_empty()).map(|s| s.to_string())
}

/// The job name from an `Azure-AsyncOperation` header (`.../replicationOperationStatus/{id}?...`,
/// or a job / operation-results URL). Recorded reProtect traffic uses the job name as the
/// operation id (see the spec README), so the id is taken as the job.
pub fn job_name_from_async_operation(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next()?.trim_end_matches('/');
    let segs: Vec<&str> = path.split('/').collect();
    match segs.iter().rposition(|s| s.eq_ignore_ascii_case("replicationOperationStatus")) {
        Some(i) => segs.get(i + 1).filter(|s| !s.is_empty()).map(|s| s.to_string()),
        None => job_name_from_location(url),
    }
}

/// `Retry-After` as seconds (delta-seconds, or an HTTP date in the future).
pub fn parse_retry_after(v: &str) -> Option<u64> {
    let v = v.trim();
    if let Ok(s) = v.parse::<u64>() {
        return Some(s);
    }
    if let Ok(f) = v.parse::<f64>() {
        return (f >= 0.0).then(|| f.ceil() as u64);
    }
    let when = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let secs = when.as_second() - Timestamp::now().as_second();
    Some(secs.max(0) as u64)
}
