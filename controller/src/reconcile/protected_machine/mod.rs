//! ProtectedMachine reconciler: look up → connect → observe → evaluate → decide → act → build status → apply.
//!
//! All reads happen in `observe`; `evaluate`, `decide` (crate::lifecycle) and `status` are pure;
//! `act` is the only I/O after evaluation (with the re-read that guards a reprotect POST).

pub mod act;
pub mod evaluate;
pub mod failback;
pub mod failback_act;
pub mod failback_status;
#[cfg(test)]
mod failback_tests;
#[cfg(test)]
mod gate_tests;
pub mod lookup;
pub mod notes;
pub mod observe;
pub mod preview;
pub mod status;
#[cfg(test)]
mod test_world;
#[cfg(test)]
mod tests;

use crate::conditions::KState;
use crate::context::{Context, Settings, Stores, SubmittedJobs};
use crate::crd::{Phase, ProtectedMachine, ProtectedMachineStatus, RetryBounds, condition_types};
use crate::error::Error;
use crate::lifecycle;
use crate::metrics::Metrics;
use crate::reconcile::{Connection, Note, Reconciled, apply_status_if_changed, connect, find_policy_in, publish, reconcile_with};
use jiff::Timestamp;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use lookup::Lookup;
pub use preview::{Preview, check_once, plan_once};
use std::sync::Arc;
use std::time::Duration;

impl Reconciled for ProtectedMachine {
    type Status = ProtectedMachineStatus;
    fn problem_status(&self, state: KState, reason: &str, message: &str, now: Timestamp) -> ProtectedMachineStatus {
        status::with_problem(self, state, reason, message, now)
    }
    fn retry_bounds(&self, stores: &Stores) -> Option<RetryBounds> {
        find_policy_in(stores, self).map(|p| p.spec.retry.clone())
    }
}

/// Entry point called by the kube-runtime Controller.
#[tracing::instrument(skip_all, fields(object = %ObjectRef::from_obj(pm.as_ref())))]
pub async fn reconcile(pm: Arc<ProtectedMachine>, ctx: Arc<Context>) -> Result<Action, Error> {
    if let Some(wakes) = &ctx.machine_wakes {
        wakes.started(&pm);
    }
    reconcile_with(pm, ctx, |pm, ctx| async move { reconcile_inner(&pm, &ctx).await }).await
}

async fn reconcile_inner(pm: &ProtectedMachine, ctx: &Context) -> Result<Action, Error> {
    let now = Timestamp::now();
    let lookup = match lookup::lookup(ctx, pm).await? {
        Ok(lookup) => lookup,
        Err(unresolved) => {
            let st = status::stalled(pm, unresolved.reason, &unresolved.message, now);
            apply_status_if_changed(&ctx.client, pm, pm.status.as_ref(), &st).await?;
            return Ok(Action::await_change());
        }
    };
    let conn = connect(crate::connections::Reads::cached(&ctx.client, &ctx.objects), ctx.connector.as_ref(), &lookup.policy).await?;
    let pass = Pass {
        pm,
        lookup: &lookup,
        conn: &conn,
        submitted: &ctx.submitted,
        settings: &ctx.settings,
        metrics: &ctx.metrics,
        leader: &ctx.leader,
    };
    let outcome = run_pass(&pass, now).await;
    apply(ctx, pm, outcome).await
}

/// Everything one pass reads from, after look-up and connect (in tests: fakes of the traits).
pub struct Pass<'a> {
    pub pm: &'a ProtectedMachine,
    pub lookup: &'a Lookup,
    pub conn: &'a Connection,
    pub submitted: &'a SubmittedJobs,
    pub settings: &'a Settings,
    pub metrics: &'a Metrics,
    pub leader: &'a crate::leader::LeaderGuard,
}

/// What a pass concluded, to be applied.
#[derive(Debug)]
pub struct Outcome {
    /// The new status; `None` when the pass failed before it could be built.
    pub status: Option<ProtectedMachineStatus>,
    /// Events to publish (the action's, then a phase change).
    pub notes: Vec<Note>,
    pub requeue_after: Duration,
    /// Why the pass failed (observation or action), after its events.
    pub error: Option<Error>,
    /// Seconds from failover to the agent's registration, when this pass ended a wait for it.
    pub agent_waited: Option<f64>,
}

/// Observe, evaluate, decide, act, build status.
pub async fn run_pass(p: &Pass<'_>, now: Timestamp) -> Outcome {
    let vault_age = observe::settled_vault_age(p.pm, p.settings);
    let obs = match observe::observe(p.pm, p.lookup, p.conn, p.submitted, vault_age, now).await {
        Ok(obs) => obs,
        Err(e) => return Outcome::failed(Vec::new(), e),
    };
    let eval = evaluate::evaluate(p.pm, p.lookup, &obs, now);
    if let Some(item) = obs.facts.item.as_ref()
        && let Some(approval) = failback::route(p.pm, item)
    {
        return run_failback_pass(p, &obs, &eval, item, &approval, now).await;
    }
    let decision = lifecycle::decide(&evaluate::lifecycle_input(p.pm, p.lookup, &obs, &eval, p.settings, now));
    let item = obs.facts.item.as_ref();
    let known = obs.tracked.as_ref().map(|t| &t.status);
    let cx = act::ActContext { conn: p.conn, submitted: p.submitted, metrics: p.metrics, item, known, leader: p.leader };
    let (acted, note) = act::act(&cx, decision.action.clone(), now).await;
    let mut notes: Vec<Note> = note.into_iter().collect();
    let acted = match acted {
        Ok(acted) => acted,
        Err(e) => return Outcome::failed(notes, e),
    };
    let decision = lifecycle::after_act(decision, &acted);
    let new_status = status::build(status::StatusInputs {
        pm: p.pm,
        decision: &decision,
        results: &eval.results,
        master_target: &p.lookup.master_target.metadata.name.clone().unwrap_or_default(),
        item_id: item.map(|i| i.id.clone()),
        azure_vm_id: item.and_then(|i| i.target_vm_id.clone()),
        tracked: obs.tracked.as_ref(),
        acted: &acted,
        master_target_datastores: obs.facts.vcenter.as_ref().and_then(|v| v.master_target.as_ref()).map(|m| m.datastores.clone()),
        now,
    });
    notes.extend(notes::phase_change(p.pm, &new_status));
    notes.extend(notes::watchdog_findings(p.pm, &new_status));
    let agent_waited = notes::agent_wait_ended(p.pm, &new_status, item.and_then(|i| i.last_successful_failover_time), now);
    Outcome { status: Some(new_status), notes, requeue_after: decision.requeue_after, error: None, agent_waited }
}

/// The way home (failback → commit → forward reprotect) for a machine `failback::route` sends there.
async fn run_failback_pass(
    p: &Pass<'_>,
    obs: &observe::Observation,
    eval: &evaluate::Evaluation,
    item: &reprotect_facts::ProtectedItemFacts,
    approval: &str,
    now: Timestamp,
) -> Outcome {
    let fobs = match failback::observe(p.pm, p.conn, item, now).await {
        Ok(f) => f,
        Err(e) => return Outcome::failed(Vec::new(), e),
    };
    let input = failback::input(p.pm, p.lookup, obs, eval, &fobs, item, approval, now);
    let decision = lifecycle::failback::decide(&input);
    let known = fobs.job.as_ref().map(|(s, step, _)| (s, *step));
    let cx = failback_act::ActContext { conn: p.conn, metrics: p.metrics, item, leader: p.leader, known };
    let (acted, note) = failback_act::act(&cx, decision.action.clone(), now).await;
    let mut notes: Vec<Note> = note.into_iter().collect();
    let acted = match acted {
        Ok(acted) => acted,
        Err(e) => return Outcome::failed(notes, e),
    };
    let decision = lifecycle::failback::after_act(decision, &acted);
    let new_status = failback_status::build(failback_status::Inputs {
        pm: p.pm,
        decision: &decision,
        acted: &acted,
        results: &eval.results,
        master_target: &p.lookup.master_target.metadata.name.clone().unwrap_or_default(),
        item_id: item.id.clone(),
        stage: item.failback_stage(),
        approval,
        tracked: fobs.job.as_ref(),
        plan: fobs.plan.as_ref().map(|pl| pl.name.clone()),
        on_premises_vm: &input.on_premises_vm,
        now,
    });
    notes.extend(notes::phase_change(p.pm, &new_status));
    notes.extend(notes::watchdog_findings(p.pm, &new_status));
    Outcome { status: Some(new_status), notes, requeue_after: decision.requeue_after, error: None, agent_waited: None }
}

impl Outcome {
    fn failed(notes: Vec<Note>, error: Error) -> Self {
        Outcome { status: None, notes, requeue_after: Duration::ZERO, error: Some(error), agent_waited: None }
    }
}

/// Apply step: publish the events, then write the status if it changed.
async fn apply(ctx: &Context, pm: &ProtectedMachine, outcome: Outcome) -> Result<Action, Error> {
    for note in &outcome.notes {
        publish(ctx, pm, note).await;
    }
    if let Some(e) = outcome.error {
        return Err(e);
    }
    if let Some(st) = &outcome.status {
        apply_status_if_changed(&ctx.client, pm, pm.status.as_ref(), st).await?;
        record_metrics(&ctx.metrics, pm, st, Timestamp::now());
    }
    forget_recorded_submission(&ctx.submitted, pm);
    if let Some(seconds) = outcome.agent_waited {
        ctx.metrics.agent_waited(seconds);
    }
    Ok(match &ctx.machine_wakes {
        Some(wakes) => {
            wakes.recheck_after(pm, outcome.requeue_after);
            Action::await_change()
        }
        None => Action::requeue(outcome.requeue_after),
    })
}

/// Drop this process's record of a submission once the stored machine's status names the job (the record only
/// bridges a status write that may be lost).
fn forget_recorded_submission(submitted: &SubmittedJobs, pm: &ProtectedMachine) {
    let Some(st) = pm.status.as_ref() else { return };
    if let (Some(item_id), Some(job)) = (st.protected_item_id.as_ref(), st.job.as_ref()) {
        submitted.forget_recorded(item_id, &job.name);
    }
}

/// Per-machine series (agent window, watchdog conditions) and the reprotect duration when it ends.
fn record_metrics(metrics: &Metrics, pm: &ProtectedMachine, st: &ProtectedMachineStatus, now: Timestamp) {
    use kube::ResourceExt;
    let (ns, name) = (pm.namespace().unwrap_or_default(), pm.name_any());
    let waiting = st.phase == Phase::WaitingForAgent;
    metrics.agent_window(&ns, &name, st.agent_window_deadline.as_ref().filter(|_| waiting).map(|t| t.0.as_second()));
    for condition in [condition_types::DEGRADED, condition_types::FAILBACK_AT_RISK] {
        metrics.machine_condition(&ns, &name, condition, crate::conditions::is_true(&st.conditions, condition));
    }
    let was = pm.status.as_ref().map(|s| s.phase);
    if st.phase == Phase::Protected
        && was == Some(Phase::Reprotecting)
        && let Some(at) = st.job.as_ref().and_then(|j| j.submitted_at.as_ref())
    {
        metrics.reprotect_finished(now.duration_since(at.0).as_secs_f64().max(0.0));
    }
}

/// Predicate value of a group member's readiness as its peers see it (phase and gate result);
/// `None` for machines outside any group. A change wakes the waiting peers.
pub fn group_readiness(pm: &ProtectedMachine) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    pm.spec.replication_group.as_ref()?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    evaluate::member_ready(pm).hash(&mut hasher);
    pm.status.as_ref().map(|s| format!("{:?}", s.phase)).hash(&mut hasher);
    let failback = pm.status.as_ref().and_then(|s| s.failback.as_ref());
    failback.map(|f| (f.ready_approval.clone(), f.ready_for.map(|s| format!("{s:?}")), f.on_premises_vm_powered_on)).hash(&mut hasher);
    pm.spec.failback.as_ref().and_then(|f| f.approval.clone()).hash(&mut hasher);
    Some(hasher.finish())
}
