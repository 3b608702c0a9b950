//! ProtectedMachine reconciler: observe, check (preflight), decide (pure), act, write status.

use super::machine_inputs as inputs;
use super::machine_observe::{self as observe, Existing};
use super::machine_status::{self as status, StatusInputs};
use super::{STALLED_RECHECK, apply_status, find_master_target, find_policy, master_target_name, publish, reason_from_category, vault_ref};
use crate::connections;
use crate::context::Context;
use crate::crd::{JobStatus, MasterTarget, Mode, Phase, ProtectedMachine, ReprotectPolicy, paused_by_annotation};
use crate::error::Error;
use crate::machine::{self, Action as MachineAction, TrackedJob};
use crate::preflight;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use reprotect_facts::{JobFacts, SiteRecovery, VaultRef, Vcenter};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const KIND: &str = "ProtectedMachine";

/// Entry point called by the kube-runtime Controller.
#[tracing::instrument(skip_all, fields(object = %ObjectRef::from_obj(pm.as_ref())))]
pub async fn reconcile(pm: Arc<ProtectedMachine>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let result = reconcile_inner(&pm, &ctx).await;
    ctx.metrics.reconciled(KIND, started.elapsed().as_secs_f64());
    match result {
        Ok(action) => {
            ctx.reset_backoff(&ObjectRef::from_obj(pm.as_ref()));
            Ok(action)
        }
        Err(e) if !e.is_transient() => {
            // Needs a person: say so in status and wait for a change rather than retrying hot.
            ctx.metrics.failed(KIND, e.category());
            let st = status::stalled(&pm, &reason_from_category(e.category()), e.to_string(), Timestamp::now());
            apply_status(&ctx, pm.as_ref(), &st).await?;
            Ok(Action::requeue(STALLED_RECHECK))
        }
        Err(e) => Err(e),
    }
}

async fn reconcile_inner(pm: &ProtectedMachine, ctx: &Context) -> Result<Action, Error> {
    let ns = pm.namespace().unwrap_or_default();
    let now = Timestamp::now();
    let Some(policy) = find_policy(ctx, &ns, &pm.spec.policy_ref).await? else {
        let msg = format!("ReprotectPolicy {} not found in namespace {ns}; create it or fix spec.policyRef", pm.spec.policy_ref);
        apply_status(ctx, pm, &status::stalled(pm, "PolicyNotFound", msg, now)).await?;
        return Ok(Action::await_change());
    };
    let Some(mt_name) = master_target_name(pm, &policy) else {
        let msg = "no master target: set spec.masterTargetRef or the policy's spec.defaults.masterTargetRef".to_string();
        apply_status(ctx, pm, &status::stalled(pm, "MasterTargetNotSet", msg, now)).await?;
        return Ok(Action::await_change());
    };
    let Some(mt) = find_master_target(ctx, &ns, &mt_name).await? else {
        let msg = format!("MasterTarget {mt_name} not found in namespace {ns}");
        apply_status(ctx, pm, &status::stalled(pm, "MasterTargetNotFound", msg, now)).await?;
        return Ok(Action::await_change());
    };
    let (vault, sr, vc) = connect(ctx, &policy).await?;
    let obs = observe::observe(ctx, pm, &mt, &vault, &sr, &vc).await?;
    let desired = inputs::desired(ctx, pm, &policy, &mt);
    let results = preflight::evaluate(&desired, &inputs::observed(&obs), now);

    let tracked = tracked_job(ctx, pm, &obs);
    let submitted_at = tracked.as_ref().and_then(|j| j.submitted_at.clone()).map(|t| t.0);
    let job_facts = match &tracked {
        Some(j) => observe::job_facts(&sr, &vault, &obs, &j.name, submitted_at).await?,
        None => None,
    };
    let input = machine::Input {
        now,
        generation: pm.metadata.generation,
        mode: policy.spec.mode,
        paused: policy.spec.paused
            || paused_by_annotation(&pm.metadata)
            || paused_by_annotation(&policy.metadata)
            || paused_by_annotation(&mt.metadata),
        power_off_on_premises_vm: policy.spec.power_off_on_premises_vm,
        agent_registration_window: inputs::parse_window(&policy.spec.agent_registration_window),
        watchdog_interval: ctx.settings.watchdog_interval,
        item: obs.item.as_ref(),
        job: tracked.as_ref().map(|j| TrackedJob { name: &j.name, generation: j.generation, observed: job_facts.as_ref() }),
        gates: inputs::gates(&results),
        remediate_disk_uuid: inputs::remediation(&results, &mt),
        powered_on_vm: inputs::powered_on_vm(pm, &obs),
        group: inputs::group_gate(ctx, pm),
        watchdog: inputs::watchdog(pm, &obs, &results),
        reprotect: inputs::reprotect_request(&desired, &policy, &obs),
        agent_causes: inputs::agent_causes(&results),
        reprotect_description: inputs::describe(&desired),
    };
    let mut decision = machine::decide(&input);
    let mut job = tracked.clone();
    let mut recorded = None;

    if let Some(action) = decision.action.clone() {
        debug_assert!(policy.spec.mode == Mode::Apply);
        match act(ctx, pm, &sr, &vc, &vault, &obs, action).await? {
            Acted::Done => {}
            Acted::Submitted(j) => {
                recorded = obs.vcenter.as_ref().and_then(|v| v.master_target.as_ref()).map(|m| m.datastores.clone());
                job = Some(j);
            }
            Acted::Adopted(j) => {
                decision.phase = Phase::Reprotecting;
                job = Some(j);
            }
            Acted::AlreadyProtected => decision.requeue_after = Duration::from_secs(1),
        }
    }
    let old_phase = pm.status.as_ref().map(|s| s.phase).unwrap_or_default();
    let new_status = status::build(StatusInputs {
        pm,
        decision: &decision,
        results: &results,
        master_target: &mt_name,
        item_id: obs.item.as_ref().map(|i| i.id.clone()),
        job: if decision.clear_job { None } else { job },
        recorded_datastores: recorded,
        now,
    });
    apply_status(ctx, pm, &new_status).await?;
    if decision.clear_job
        && let Some(item) = &obs.item
    {
        ctx.submitted.lock().expect("submitted lock").remove(&item.id.to_ascii_lowercase());
    }
    if old_phase != decision.phase {
        let warning = matches!(decision.phase, Phase::Blocked);
        let msg = new_status.conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.message.clone()).unwrap_or_default();
        publish(ctx, pm, warning, &format!("Phase{}", decision.phase), "PhaseChange", format!("{old_phase} -> {}: {msg}", decision.phase))
            .await;
    }
    Ok(Action::requeue(decision.requeue_after))
}

/// The policy's vault and its two connections (credentials read from the policy's Secrets).
async fn connect(ctx: &Context, policy: &ReprotectPolicy) -> Result<(VaultRef, Arc<dyn SiteRecovery>, Arc<dyn Vcenter>), Error> {
    let sr = ctx.connector.site_recovery(&connections::azure_settings(&ctx.client, policy).await?).await?;
    let vc = ctx.connector.vcenter(&connections::vcenter_settings(&ctx.client, policy).await?).await?;
    Ok((vault_ref(policy), sr, vc))
}

/// The read-only half of a reconcile: observe once and evaluate every preflight check (for `check`).
pub async fn check_once(
    ctx: &Context,
    pm: &ProtectedMachine,
    policy: &ReprotectPolicy,
    mt: &MasterTarget,
) -> Result<Vec<preflight::CheckResult>, Error> {
    let (vault, sr, vc) = connect(ctx, policy).await?;
    let obs = observe::observe(ctx, pm, mt, &vault, &sr, &vc).await?;
    Ok(preflight::evaluate(&inputs::desired(ctx, pm, policy, mt), &inputs::observed(&obs), Timestamp::now()))
}

/// The job recorded in status, or one this process submitted whose status write was lost.
fn tracked_job(ctx: &Context, pm: &ProtectedMachine, obs: &observe::Observation) -> Option<JobStatus> {
    if let Some(job) = pm.status.as_ref().and_then(|s| s.job.clone()) {
        return Some(job);
    }
    let item = obs.item.as_ref()?;
    let submitted = ctx.submitted.lock().expect("submitted lock");
    if let Some(j) = submitted.get(&item.id.to_ascii_lowercase()) {
        return Some(JobStatus { name: j.job_name.clone(), generation: pm.metadata.generation, ..Default::default() });
    }
    // A reprotect already running for the item that this instance did not start (a previous
    // instance crashed between its POST and its status write): follow it instead of judging the
    // item, which no longer looks failed over while the job runs.
    let scenario = item.current_scenario.as_ref().filter(|s| observe::is_reprotect_scenario(s.scenario_name.as_deref()))?;
    let job_id = scenario.job_id.as_deref()?;
    Some(JobStatus {
        name: reprotect_facts::arm_name(job_id).to_string(),
        generation: pm.metadata.generation,
        adopted: true,
        ..Default::default()
    })
}

enum Acted {
    Done,
    Submitted(JobStatus),
    Adopted(JobStatus),
    AlreadyProtected,
}

async fn act(
    ctx: &Context,
    pm: &ProtectedMachine,
    sr: &Arc<dyn SiteRecovery>,
    vc: &Arc<dyn Vcenter>,
    vault: &VaultRef,
    obs: &observe::Observation,
    action: MachineAction,
) -> Result<Acted, Error> {
    let kind = action.kind();
    let outcome = match action {
        MachineAction::EnableDiskUuid(vm) => vc.enable_disk_uuid(&vm).await.map(|_| Acted::Done).map_err(Error::from),
        MachineAction::PowerOff(vm) => vc.power_off(&vm).await.map(|_| Acted::Done).map_err(Error::from),
        MachineAction::Reprotect(request) => reprotect(ctx, pm, sr, vault, obs, request).await,
    };
    ctx.metrics.action(kind, outcome.is_ok());
    let note = match &outcome {
        Ok(Acted::Adopted(j)) => format!("adopted existing reprotect job {} instead of submitting another", j.name),
        Ok(Acted::Submitted(j)) => format!("submitted reprotect; ASR job {}", j.name),
        Ok(_) => format!("{kind} done"),
        Err(e) => format!("{kind} failed: {e}"),
    };
    publish(ctx, pm, outcome.is_err(), &format!("Action{}", kind.replace('-', "")), kind, note).await;
    outcome
}

async fn reprotect(
    ctx: &Context,
    pm: &ProtectedMachine,
    sr: &Arc<dyn SiteRecovery>,
    vault: &VaultRef,
    obs: &observe::Observation,
    request: reprotect_facts::ReprotectRequest,
) -> Result<Acted, Error> {
    let item = obs.item.as_ref().expect("decide only reprotects an observed item");
    let adopt = |j: &JobFacts| JobStatus {
        name: j.name.clone(),
        state: j.state.clone(),
        progress: None,
        submitted_at: j.start_time.map(Time),
        adopted: true,
        generation: pm.metadata.generation,
    };
    match observe::find_existing_job(sr, vault, item).await? {
        Existing::AlreadyProtected => return Ok(Acted::AlreadyProtected),
        Existing::Job(j) => return Ok(Acted::Adopted(adopt(&j))),
        Existing::Nothing => {}
    }
    let job = sr.reprotect(vault, &request).await?;
    ctx.submitted.lock().expect("submitted lock").insert(item.id.to_ascii_lowercase(), job.clone());
    tracing::info!(item = %item.name, job = %job.job_name, "reprotect submitted");
    Ok(Acted::Submitted(JobStatus {
        name: job.job_name,
        state: Some("Submitted".into()),
        progress: None,
        submitted_at: Some(Time(Timestamp::now())),
        adopted: false,
        generation: pm.metadata.generation,
    }))
}
