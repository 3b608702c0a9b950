//! Recovery plans: which items fail over and commit together, their spec-shaped JSON, and the plan-level
//! unplanned failover (`RecoveryToPrimary`) and commit that move every member at once.

use crate::failback::{JobKind, start_job};
use crate::json::{fabric_id, item_id, ts, vault_id};
use crate::scenario::RecoveryPlanSpec;
use crate::state::{AsrError, Item, Job, Vault, World};
use crate::validate_failback as vf;
use jiff::Timestamp;
use serde_json::{Value, json};

pub const T_PLAN: &str = "Microsoft.RecoveryServices/vaults/replicationRecoveryPlans";

/// A recovery plan.
#[derive(Clone, Debug)]
pub struct Plan {
    pub name: String,
    /// Member item names.
    pub items: Vec<String>,
    pub current_job: Option<(String, Timestamp)>,
    pub last_unplanned_failover: Option<Timestamp>,
}

/// Plans as the scenario lists them; absent: one per replication group, named after the group.
pub fn plans_from_spec(spec: Option<&[RecoveryPlanSpec]>, items: &[Item]) -> Vec<Plan> {
    let plan = |name: &str, items: Vec<String>| Plan { name: name.into(), items, current_job: None, last_unplanned_failover: None };
    match spec {
        Some(s) => s.iter().map(|p| plan(&p.name, p.items.clone())).collect(),
        None => {
            let mut out: Vec<Plan> = vec![];
            for it in items {
                let Some(g) = &it.group else { continue };
                match out.iter_mut().find(|p| p.name == *g) {
                    Some(p) => p.items.push(it.name.clone()),
                    None => out.push(plan(g, vec![it.name.clone()])),
                }
            }
            out
        }
    }
}

impl Vault {
    pub fn plan(&self, name: &str) -> Option<&Plan> {
        self.plans.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }
    /// The plan's member items (those that exist).
    pub fn plan_members(&self, p: &Plan) -> Vec<&Item> {
        p.items.iter().filter_map(|n| self.item_index(n).and_then(|i| self.items.get(i))).collect()
    }
}

/// Plan-level allowed operations: an operation every member allows (`Commit` for `Commit`).
pub fn plan_allowed(v: &Vault, p: &Plan) -> Vec<String> {
    let members = v.plan_members(p);
    if members.is_empty() || p.current_job.is_some() {
        return vec![];
    }
    ["UnplannedFailover", "Commit", "SwitchProtection", "DisableProtection"]
        .iter()
        .filter(|op| members.iter().all(|m| m.allowed_operations.iter().any(|o| o.eq_ignore_ascii_case(op))))
        .map(|s| s.to_string())
        .collect()
}

pub fn plan_id(v: &Vault, name: &str) -> String {
    format!("{}/replicationRecoveryPlans/{name}", vault_id(v))
}

/// A `RecoveryPlan` as ASR returns it.
pub fn plan_json(v: &Vault, p: &Plan) -> Value {
    let members = v.plan_members(p);
    let fabric = members.first().map(|m| m.fabric.clone()).unwrap_or_default();
    let cs_name = v.fabric(&fabric).map(|f| f.host_name.clone()).unwrap_or_default();
    let mut providers: Vec<String> = members.iter().map(|m| m.provider.clone()).collect();
    providers.dedup();
    let rpis: Vec<Value> = members
        .iter()
        .map(|m| json!({"id": item_id(v, &m.fabric, &m.container, &m.name), "virtualMachineId": m.vm_id.clone().unwrap_or_else(|| m.name.clone())}))
        .collect();
    let group = |t: &str, items: Vec<Value>| json!({"groupType": t, "replicationProtectedItems": items, "startGroupActions": [], "endGroupActions": []});
    let current = match &p.current_job {
        Some((job, start)) => {
            let kind = v.job(job).map(|j| j.kind.scenario()).unwrap_or("None");
            json!({"scenarioName": kind, "jobId": crate::json::job_id(v, job), "startTime": ts(*start)})
        }
        None => json!({"scenarioName": "None", "jobId": crate::json::job_id(v, "None"), "startTime": "1753-01-01T01:01:01Z"}),
    };
    json!({
        "id": plan_id(v, &p.name), "name": p.name, "type": T_PLAN,
        "properties": {
            "friendlyName": p.name, "primaryFabricId": fabric_id(v, &fabric), "primaryFabricFriendlyName": cs_name,
            "recoveryFabricId": "Microsoft Azure", "recoveryFabricFriendlyName": "Microsoft Azure",
            "failoverDeploymentModel": "ResourceManager", "replicationProviders": providers,
            "allowedOperations": plan_allowed(v, p), "lastUnplannedFailoverTime": p.last_unplanned_failover.map(ts),
            "currentScenario": current, "currentScenarioStatus": if p.current_job.is_some() { "InProgress" } else { "None" },
            "currentScenarioStatusDescription": if p.current_job.is_some() { "In progress" } else { "None" },
            "groups": [group("Shutdown", vec![]), group("Failover", vec![]), group("Boot", rpis)],
        }
    })
}

fn plan_or_404<'v>(v: &'v Vault, name: &str) -> Result<&'v Plan, AsrError> {
    v.plan(name).ok_or_else(|| AsrError::not_found("RecoveryPlan", name))
}

/// Every member must allow `op`, be `InMage` and idle; else 400 naming the members that are not ready.
fn members_ready(v: &Vault, p: &Plan, op: &str) -> Result<Vec<String>, AsrError> {
    if let Some((job, _)) = &p.current_job {
        return Err(AsrError::new(
            409,
            "Conflict",
            "RecoveryPlanOperationInProgress",
            format!("Another operation (job '{job}') is in progress on the recovery plan '{}'.", p.name),
            "A job is already running for this recovery plan.",
            "Wait for the running job to finish, then retry.",
        ));
    }
    let members = v.plan_members(p);
    for m in &members {
        vf::busy(m)?;
    }
    let not_ready: Vec<String> = members
        .iter()
        .filter(|m| !m.provider.eq_ignore_ascii_case("InMage") || !m.allowed_operations.iter().any(|o| o.eq_ignore_ascii_case(op)))
        .map(|m| format!("{} ({}, {})", m.friendly_name, m.provider, m.protection_state))
        .collect();
    if members.is_empty() || !not_ready.is_empty() {
        return Err(AsrError::bad(
            "RecoveryPlanOperationNotAllowed",
            format!(
                "The operation '{op}' is not allowed on the recovery plan '{}': not every virtual machine allows it: {}.",
                p.name,
                not_ready.join(", ")
            ),
            "Every virtual machine of the plan must be in a state that allows the operation.",
            "Wait until every virtual machine of the plan is ready, then retry.",
        ));
    }
    Ok(members.iter().map(|m| m.name.clone()).collect())
}

impl World {
    /// Plan-level `unplannedFailover` (`RecoveryToPrimary`, `InMage` input): every member fails back together.
    pub fn plan_unplanned_failover(&mut self, vi: usize, plan: &str, body: &Value, now: Timestamp) -> Result<Job, AsrError> {
        self.advance(now);
        let v = &self.vaults[vi];
        let p = plan_or_404(v, plan)?;
        vf::spec_check("RecoveryPlanUnplannedFailoverInput", body)?;
        let props = body.get("properties").unwrap_or(&Value::Null);
        let members = members_ready(v, p, "UnplannedFailover")?;
        vf::direction(props, "RecoveryToPrimary", &p.name)?;
        vf::source_site_operations(props, true)?;
        let inputs = props.get("providerSpecificDetails").and_then(Value::as_array).cloned().unwrap_or_default();
        let inmage =
            inputs.iter().find(|i| i.get("instanceType").and_then(Value::as_str).is_some_and(|k| k.eq_ignore_ascii_case("InMage")));
        let Some(inmage) = inmage else {
            return Err(AsrError::bad(
                "InvalidProviderSpecificInput",
                format!("The recovery plan '{}' needs an InMage failover input for its InMage virtual machines.", p.name),
                "providerSpecificDetails has no entry with instanceType 'InMage'.",
                "Add {\"instanceType\": \"InMage\", \"recoveryPointType\": \"LatestTime\"}.",
            ));
        };
        let rp = vf::recovery_point_type(inmage)?;
        let name = p.name.clone();
        let job = start_job(self, vi, JobKind::Failback, Some(name), &members, now);
        for it in self.vaults[vi].items.iter_mut().filter(|it| members.contains(&it.name)) {
            it.last_recovery_point_type = Some(rp.clone());
        }
        Ok(job)
    }

    /// Plan-level `failoverCommit` (no body).
    pub fn plan_failover_commit(&mut self, vi: usize, plan: &str, now: Timestamp) -> Result<Job, AsrError> {
        self.advance(now);
        let v = &self.vaults[vi];
        let p = plan_or_404(v, plan)?;
        let members = members_ready(v, p, "Commit")?;
        let name = p.name.clone();
        Ok(start_job(self, vi, JobKind::Commit, Some(name), &members, now))
    }

    /// Plan-level `plannedFailover`: refused for the classic VMware providers.
    pub fn plan_planned_failover(&mut self, vi: usize, plan: &str, body: &Value) -> Result<Job, AsrError> {
        let v = &self.vaults[vi];
        let p = plan_or_404(v, plan)?;
        vf::spec_check("RecoveryPlanPlannedFailoverInput", body)?;
        let provider = v.plan_members(p).first().map(|m| m.provider.clone()).unwrap_or_else(|| "InMage".into());
        Err(vf::planned_failover_refused(&provider))
    }
}
