//! The way home in the ProtectedMachine pipeline: which machines take it (`route`), what it reads beyond the
//! common observation (the step's job, the group's recovery plan), and the pure input of
//! `lifecycle::failback::decide` (gates, group role, the forward reprotect request, descriptions).

use super::evaluate::{Evaluation, parse_window};
use super::lookup::Lookup;
use super::observe::{JOB_APPEAR_GRACE, Observation, existing_vm};
use super::status::REJECTED_JOB;
use crate::crd::{DesiredState, FailbackRecoveryPoint, FailbackStep, JobStatus, ProtectedMachine, paused_by_annotation};
use crate::error::Error;
use crate::lifecycle::Gate;
use crate::lifecycle::failback::{self as fb, AzureVm, Descriptions, OnPremisesVm, PlanRole, StepJob};
use crate::preflight::{CheckResult, RuleId, Status, Subject};
use crate::reconcile::Connection;
use jiff::Timestamp;
use kube::ResourceExt;
use reprotect_facts::{
    AsrErrorClass, FailbackRequest, FailbackStage, ForwardReprotectRequest, JobErrorFacts, JobFacts, PowerState, ProtectedItemFacts,
    RecoveryPlanFacts, RecoveryPointType, SourceSiteOperations, arm_name,
};

/// The step a job's scenario name belongs to (`UnplannedFailover`, `CommitFailover`, `SwitchReplicationGroupProtection`).
pub fn step_of_scenario(name: Option<&str>) -> Option<FailbackStep> {
    let n = name?.to_ascii_lowercase();
    if n.contains("commit") {
        Some(FailbackStep::Commit)
    } else if n.contains("unplannedfailover") || n == "failover" {
        Some(FailbackStep::FailBack)
    } else if n.contains("switchreplicationgroupprotection") || n.contains("switchprotection") {
        Some(FailbackStep::ForwardReprotect)
    } else {
        None
    }
}

fn is_inmage(item: &ProtectedItemFacts) -> bool {
    item.provider.as_deref().is_some_and(|p| p.trim().eq_ignore_ascii_case("InMage"))
}

/// The spec's approval when the machine is to end protected to Azure.
fn spec_approval(pm: &ProtectedMachine) -> Option<&str> {
    (pm.spec.desired_state == DesiredState::ProtectedToAzure).then_some(())?;
    pm.spec.failback.as_ref()?.approval.as_deref().filter(|a| !a.is_empty())
}

/// The spec's approval when it has not been carried out yet (what the failback rules check for).
pub fn pending_approval(pm: &ProtectedMachine) -> Option<&str> {
    let completed = pm.status.as_ref().and_then(|s| s.failback.as_ref()).and_then(|f| f.completed_approval.as_deref());
    spec_approval(pm).filter(|a| Some(*a) != completed)
}

/// The approval the way home carries out for this machine now, or `None`: the reprotect lifecycle runs.
/// A way home once started (its failback submitted) is followed to the end whatever the spec says now; a new
/// approval starts one only from a reprotected item (or adopts a step a crashed instance started).
pub fn route(pm: &ProtectedMachine, item: &ProtectedItemFacts) -> Option<String> {
    let recorded = pm.status.as_ref().and_then(|s| s.failback.as_ref());
    let completed = recorded.and_then(|f| f.completed_approval.as_deref());
    let pending = pending_approval(pm).map(str::to_string);
    let in_progress = recorded.and_then(|f| f.approval.clone()).filter(|a| Some(a.as_str()) != completed);
    if let Some(approval) = in_progress {
        return Some(pending.unwrap_or(approval));
    }
    match item.failback_stage() {
        FailbackStage::FailedOverToAzure => None,
        FailbackStage::Busy => {
            let scenario = item.current_scenario.as_ref().and_then(|s| s.scenario_name.as_deref());
            pending.filter(|_| is_inmage(item) && step_of_scenario(scenario).is_some())
        }
        FailbackStage::ProtectedToAzure => spec_approval(pm).map(str::to_string),
        FailbackStage::CommitPending | FailbackStage::ReadyForForwardReprotect => pending.or_else(|| spec_approval(pm).map(str::to_string)),
        FailbackStage::ReadyToFailBack | FailbackStage::Other => pending,
    }
}

/// What the way home reads beyond the common observation.
#[derive(Clone, Debug, Default)]
pub struct FailbackObservation {
    /// The step's job: recorded in status, or running on the item (or its plan) and adopted.
    pub job: Option<(JobStatus, FailbackStep, Option<JobFacts>)>,
    /// The recovery plan that contains the item (group members only).
    pub plan: Option<RecoveryPlanFacts>,
    /// The failed-over Azure VM, asked of Azure Compute once the commit is done.
    pub azure_vm: AzureVm,
}

/// Read the step's job and the group's plan.
pub async fn observe(
    pm: &ProtectedMachine,
    conn: &Connection,
    item: &ProtectedItemFacts,
    now: Timestamp,
) -> Result<FailbackObservation, Error> {
    let (sr, vault) = (&conn.site_recovery, &conn.vault);
    let plan = match &pm.spec.replication_group {
        Some(_) => sr.list_recovery_plans(vault).await?.into_iter().find(|p| p.contains(&item.id.text()) || p.contains(&item.name)),
        None => None,
    };
    let status = pm.status.as_ref();
    let recorded = status.and_then(|s| Some((s.job.clone()?, s.failback.as_ref()?.step?)));
    let running = |scenario: Option<&reprotect_facts::CurrentScenarioFacts>| {
        let s = scenario?;
        let step = step_of_scenario(s.scenario_name.as_deref())?;
        let job = JobStatus {
            name: arm_name(s.job_id.as_deref()?).to_string(),
            submitted_at: s.start_time.map(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time),
            generation: pm.metadata.generation,
            adopted: true,
            ..Default::default()
        };
        Some((job, step))
    };
    let busy_here = is_inmage(item).then(|| running(item.current_scenario.as_ref())).flatten();
    let busy_plan = plan.as_ref().and_then(|p| running(p.current_scenario.as_ref()));
    // A running job that status does not know yet (a crash after the POST, or the group sender's plan job) wins.
    let known = |j: &JobStatus| recorded.as_ref().is_some_and(|(r, _)| r.name.eq_ignore_ascii_case(&j.name));
    let adopted = busy_here.or(busy_plan).filter(|(j, _)| !known(j));
    let job = match adopted.or(recorded) {
        Some((status, step)) => {
            let facts = job_facts(conn, &status, now).await?;
            Some((status, step, facts))
        }
        None => None,
    };
    let azure_vm = azure_vm(pm, conn, item).await?;
    Ok(FailbackObservation { job, plan, azure_vm })
}

/// After the commit, ask Azure Compute for the VM recorded while the machine ran in Azure; once it is known to be
/// gone it is not asked again. Only a transient error aborts the pass; any other leaves it unchecked.
async fn azure_vm(pm: &ProtectedMachine, conn: &Connection, item: &ProtectedItemFacts) -> Result<AzureVm, Error> {
    let status = pm.status.as_ref();
    let known_gone = status.and_then(|s| s.failback.as_ref()).and_then(|f| f.azure_vm_removed) == Some(true);
    let committed = matches!(item.failback_stage(), FailbackStage::ReadyForForwardReprotect | FailbackStage::ProtectedToAzure);
    let Some(vm_id) = status.and_then(|s| s.azure_vm_id.as_ref()).filter(|_| committed && !known_gone) else {
        return Ok(AzureVm::Unchecked);
    };
    match conn.site_recovery.azure_vm_exists(&conn.vault, &vm_id.text()).await {
        Ok(true) => Ok(AzureVm::Exists),
        Ok(false) => Ok(AzureVm::Removed),
        Err(e) if e.class() == AsrErrorClass::Transient => Err(e.into()),
        Err(e) => {
            tracing::info!(error = %e, "Azure VM not checked");
            Ok(AzureVm::Unchecked)
        }
    }
}

async fn job_facts(conn: &Connection, job: &JobStatus, now: Timestamp) -> Result<Option<JobFacts>, Error> {
    if job.name == REJECTED_JOB {
        let error = JobErrorFacts {
            code: job.error_code.as_deref().map(Into::into),
            message: job.error.as_deref().map(Into::into),
            ..Default::default()
        };
        return Ok(Some(JobFacts {
            name: job.name.clone(),
            state: Some("Failed".into()),
            errors: vec![error],
            end_time: job.submitted_at.as_ref().map(|t| t.0),
            ..Default::default()
        }));
    }
    match conn.site_recovery.get_job(&conn.vault, &job.name).await {
        Ok(facts) => Ok(Some(facts)),
        Err(e)
            if e.class() == AsrErrorClass::NotFound
                && job.submitted_at.as_ref().is_some_and(|t| now.duration_since(t.0) < JOB_APPEAR_GRACE) =>
        {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Checks of the reprotect preflight that still matter for a failback: the configuration server connected ("during
/// reprotect and failback, the on-premises configuration server should be running"), the network back to
/// on-premises, the master target and its datastores, one owner per item, an unambiguous on-premises VM.
const STILL_MATTER: &[RuleId] = &[
    RuleId::CsHeartbeat,
    RuleId::ReplicationNetwork,
    RuleId::MtNoSnapshots,
    RuleId::MtStorageVmotion,
    RuleId::ItemOwner,
    RuleId::VmUnambiguous,
];

/// The failback gates: the failing failback rules of the catalogue (`fb-item-healthy`, `fb-rpo-within-threshold`,
/// `fb-recovery-point`) and the reprotect checks that still matter.
pub fn gates(results: &[CheckResult]) -> Vec<Gate> {
    results
        .iter()
        .filter(|r| STILL_MATTER.iter().any(|id| r.is(*id)) || r.subject() == Some(Subject::Failback))
        .filter(|r| r.status == Status::Fail)
        .map(Gate::of)
        .collect()
}

/// The on-premises VM as vCenter shows it.
pub fn on_premises_vm(pm: &ProtectedMachine, obs: &Observation) -> OnPremisesVm {
    let Some(selector) = existing_vm(pm) else { return OnPremisesVm::NotApplicable };
    let Some(vc) = obs.facts.vcenter.as_ref() else { return OnPremisesVm::NotYet("vCenter was not observed".into()) };
    match vc.on_premises_vms.get(&selector.key()) {
        Some(Some(vm)) if vm.power_state == Some(PowerState::PoweredOn) => OnPremisesVm::PoweredOn,
        Some(Some(vm)) => OnPremisesVm::NotYet(format!("VM {} is {:?}", vm.name, vm.power_state)),
        _ => OnPremisesVm::NotYet(format!("VM {} was not found in vCenter", selector.key())),
    }
}

/// The group's part: the sender is the alphabetically first member; a peer is ready for the failback when it carries
/// the same approval and its own checks passed, for the commit when it runs on-premises.
pub fn plan_role<'a>(
    pm: &ProtectedMachine,
    lookup: &Lookup,
    plan: Option<&'a RecoveryPlanFacts>,
    approval: &str,
    stage: FailbackStage,
) -> Option<PlanRole<'a>> {
    pm.spec.replication_group.as_ref()?;
    let me = pm.name_any();
    let sender = lookup.peers.iter().map(|p| p.name_any()).chain(std::iter::once(me.clone())).min().unwrap_or_default();
    let want = match stage {
        FailbackStage::CommitPending => Some(FailbackStep::Commit),
        FailbackStage::ReadyToFailBack => Some(FailbackStep::FailBack),
        _ => None,
    };
    let waiting_for = lookup
        .peers
        .iter()
        .filter_map(|p| {
            let fb = p.status.as_ref().and_then(|s| s.failback.as_ref());
            let ready = spec_approval(p) == Some(approval)
                && fb.is_some_and(|f| f.ready_approval.as_deref() == Some(approval) && f.ready_for == want);
            (!ready).then(|| {
                let why = if spec_approval(p) != Some(approval) { "does not carry the same failback.approval" } else { "not ready" };
                format!("{} ({why})", p.name_any())
            })
        })
        .collect();
    Some(PlanRole { plan, is_sender: sender == me, sender, waiting_for })
}

/// The forward reprotect input: process server (spec, else the fabric's only one, else the one that is not the
/// reverse process server), the forward `InMageAzureV2` policy, the run-as account.
pub fn forward_request(
    pm: &ProtectedMachine,
    item: &ProtectedItemFacts,
    obs: &Observation,
    eval: &Evaluation,
) -> Result<ForwardReprotectRequest, String> {
    let spec = pm.spec.failback.clone().unwrap_or_default();
    let fabric = obs.facts.fabric.as_ref().ok_or("the configuration server fabric was not observed")?;
    let ps = match spec.forward_process_server.as_deref() {
        Some(name) => fabric.process_server(name).ok_or_else(|| format!("process server {name} is not registered"))?,
        None => {
            let others: Vec<_> =
                fabric.process_servers.iter().filter(|p| !p.friendly_name.eq_ignore_ascii_case(&eval.desired.process_server)).collect();
            match (fabric.process_servers.as_slice(), others.as_slice()) {
                ([only], _) => only,
                (_, [only]) => *only,
                _ => return Err("several process servers: set failback.forwardProcessServer".into()),
            }
        }
    };
    let policies = obs.facts.policies.as_deref().unwrap_or_default();
    let forward: Vec<_> = policies
        .iter()
        .filter(|p| p.provider.as_deref().is_some_and(|x| x.eq_ignore_ascii_case("InMageAzureV2")))
        .filter(|p| {
            spec.forward_policy
                .as_deref()
                .is_none_or(|n| p.name.eq_ignore_ascii_case(n) || p.friendly_name.as_deref().is_some_and(|f| f.eq_ignore_ascii_case(n)))
        })
        .collect();
    let policy = match forward.as_slice() {
        [only] => *only,
        [] => return Err("no forward (InMageAzureV2) replication policy found".into()),
        _ => return Err("several forward replication policies: set failback.forwardPolicy".into()),
    };
    let run_as = match crate::preflight::run_as_account_id(&eval.desired, &obs.facts) {
        Ok(Some(id)) => id.to_string(),
        Ok(None) => match fabric.run_as_accounts.as_slice() {
            [only] => only.account_id.clone(),
            _ => return Err("set the policy's defaults.runAsAccount (the configuration server has several or no accounts)".into()),
        },
        Err(e) => return Err(format!("unknown run-as account {}", e.0)),
    };
    Ok(ForwardReprotectRequest {
        item_name: item.name.clone(),
        process_server_id: ps.id.clone(),
        master_target_id: None,
        run_as_account_id: run_as,
        policy_id: policy.id.clone(),
        storage_account_id: None,
        log_storage_account_id: None,
    })
}

pub fn point(pm: &ProtectedMachine) -> RecoveryPointType {
    match pm.spec.failback.as_ref().map(|f| f.recovery_point_type).unwrap_or_default() {
        FailbackRecoveryPoint::LatestTime => RecoveryPointType::LatestTime,
        FailbackRecoveryPoint::LatestTag => RecoveryPointType::LatestTag,
    }
}

/// Everything `lifecycle::failback::decide` looks at.
#[allow(clippy::too_many_arguments)]
pub fn input<'a>(
    pm: &ProtectedMachine,
    lookup: &Lookup,
    obs: &Observation,
    eval: &Evaluation,
    fobs: &'a FailbackObservation,
    item: &'a ProtectedItemFacts,
    approval: &'a str,
    now: Timestamp,
) -> fb::Input<'a> {
    let policy = &lookup.policy;
    let recorded = pm.status.as_ref().and_then(|s| s.failback.as_ref()).and_then(|f| f.approval.as_deref());
    let point = point(pm);
    let forward = forward_request(pm, item, obs, eval);
    let vm = existing_vm(pm)
        .map(|s| s.key().split_once(':').map(|(_, v)| v.to_string()).unwrap_or_default())
        .unwrap_or_else(|| "a new VM".into());
    let target = fobs.plan.as_ref().filter(|_| pm.spec.replication_group.is_some());
    let fail_back = match target {
        Some(p) => format!(
            "fail back recovery plan {} ({}) to recovery point {}: ASR shuts down their Azure VMs and boots the on-premises VMs (here {vm})",
            p.name,
            p.members.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", "),
            point.as_str()
        ),
        None => format!(
            "fail back {} to recovery point {}: ASR shuts down Azure VM {} and boots on-premises VM {vm}",
            item.name,
            point.as_str(),
            item.name
        ),
    };
    let commit = match target {
        Some(p) => format!("commit the failover of recovery plan {}: ASR removes the members' Azure VMs", p.name),
        None => format!("commit the failover of {}: ASR removes its Azure VM", item.display_name()),
    };
    let forward_words = match &forward {
        Ok(r) => format!(
            "reprotect {} to Azure with process server {}, policy {} (once its on-premises agent registers)",
            item.name,
            r.process_server_id,
            arm_name(&r.policy_id)
        ),
        Err(e) => format!("reprotect {} to Azure (input not resolved yet: {e})", item.display_name()),
    };
    fb::Input {
        now,
        mode: policy.spec.mode,
        paused: policy.spec.paused || paused_by_annotation(&pm.metadata) || paused_by_annotation(&policy.metadata),
        item,
        approval,
        retry_approved: recorded.is_some_and(|r| r != approval),
        job: fobs.job.as_ref().map(|(s, step, facts)| StepJob {
            step: *step,
            name: &s.name,
            observed: facts.as_ref(),
            submitted_at: s.submitted_at.as_ref().map(|t| t.0),
            attempt: s.attempt,
        }),
        gates: gates(&eval.results),
        group: plan_role(pm, lookup, fobs.plan.as_ref(), approval, item.failback_stage()),
        fail_back: FailbackRequest {
            item_name: item.name.clone(),
            recovery_point_type: point,
            source_site_operations: SourceSiteOperations::NotRequired,
        },
        forward,
        on_premises_vm: on_premises_vm(pm, obs),
        azure_vm: fobs.azure_vm,
        agent_registration_window: parse_window(&policy.spec.agent_registration_window),
        max_attempts: policy.spec.retry.max_attempts,
        descriptions: Descriptions { fail_back, commit, forward: forward_words },
    }
}
