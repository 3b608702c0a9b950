//! ReprotectPolicy reconciler: validate the Azure and vCenter connections and aggregate the machines' phases.

use super::{apply_status, vault_ref};
use crate::conditions::{self, Desired as DesiredCondition};
use crate::connections;
use crate::context::Context;
use crate::crd::{GroupSummary, Phase, PhaseCounts, ProtectedMachine, ReprotectPolicy, ReprotectPolicyStatus, condition_types as ct};
use crate::error::Error;
use crate::metrics::PhaseLabels;
use jiff::Timestamp;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use reprotect_facts::ObserveRequest;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const KIND: &str = "ReprotectPolicy";
const RECHECK: Duration = Duration::from_secs(60);

#[tracing::instrument(skip_all, fields(object = %ObjectRef::from_obj(policy.as_ref())))]
pub async fn reconcile(policy: Arc<ReprotectPolicy>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let azure = check_azure(&ctx, &policy).await;
    let vcenter = check_vcenter(&ctx, &policy).await;
    let machines: Vec<Arc<ProtectedMachine>> = ctx
        .stores
        .machines
        .state()
        .into_iter()
        .filter(|m| m.namespace() == policy.namespace() && m.spec.policy_ref == policy.name_any())
        .collect();
    update_phase_gauges(&ctx);
    let ready = azure.status && vcenter.status;
    let stalled = !(ready || azure.reason == "Transient" || vcenter.reason == "Transient");
    let message = if ready {
        "Site Recovery and vCenter connections work".to_string()
    } else {
        [&azure, &vcenter].iter().filter(|c| !c.status).map(|c| c.message.clone()).collect::<Vec<_>>().join("; ")
    };
    let desired = vec![
        DesiredCondition::new(ct::READY, ready, if ready { "ConnectionsVerified" } else { "ConnectionFailed" }, message.clone()),
        DesiredCondition::new(ct::RECONCILING, !ready && !stalled, if ready || stalled { "Idle" } else { "Retrying" }, ""),
        DesiredCondition::new(
            ct::STALLED,
            stalled,
            if stalled { "ConnectionFailed" } else { "NotStalled" },
            if stalled { message } else { String::new() },
        ),
        azure,
        vcenter,
    ];
    let old = policy.status.clone().unwrap_or_default();
    let status = ReprotectPolicyStatus {
        observed_generation: policy.metadata.generation,
        conditions: conditions::merge(&old.conditions, &desired, policy.metadata.generation, Timestamp::now()),
        machines: count_phases(&machines),
        groups: group_summaries(&machines),
    };
    apply_status(&ctx, policy.as_ref(), &status).await?;
    ctx.metrics.reconciled(KIND, started.elapsed().as_secs_f64());
    Ok(Action::requeue(if ready { RECHECK } else { RECHECK * 2 }))
}

async fn check_azure(ctx: &Context, policy: &ReprotectPolicy) -> DesiredCondition {
    let result: Result<(), Error> = async {
        let sr = ctx.connector.site_recovery(&connections::azure_settings(&ctx.client, policy).await?).await?;
        sr.get_fabric(&vault_ref(policy)).await?;
        Ok(())
    }
    .await;
    connection_condition(ct::AZURE_CONNECTED, "Site Recovery vault and configuration server fabric readable", result)
}

async fn check_vcenter(ctx: &Context, policy: &ReprotectPolicy) -> DesiredCondition {
    let result: Result<(), Error> = async {
        let vc = ctx.connector.vcenter(&connections::vcenter_settings(&ctx.client, policy).await?).await?;
        vc.observe(&ObserveRequest::default()).await?;
        Ok(())
    }
    .await;
    connection_condition(ct::VCENTER_CONNECTED, "logged in to vCenter", result)
}

fn connection_condition(type_: &'static str, ok: &str, result: Result<(), Error>) -> DesiredCondition {
    match result {
        Ok(()) => DesiredCondition::new(type_, true, "Connected", ok),
        Err(e) if e.is_transient() => DesiredCondition::new(type_, false, "Transient", e.to_string()),
        Err(e) => DesiredCondition::new(type_, false, super::reason_from_category(e.category()), e.to_string()),
    }
}

pub fn count_phases(machines: &[Arc<ProtectedMachine>]) -> PhaseCounts {
    let mut c = PhaseCounts { total: machines.len() as u32, ..Default::default() };
    for m in machines {
        match m.status.as_ref().map(|s| s.phase).unwrap_or_default() {
            Phase::Pending | Phase::Validating => c.pending += 1,
            Phase::WaitingForFailover => c.waiting_for_failover += 1,
            Phase::WaitingForAgent => c.waiting_for_agent += 1,
            Phase::Reprotecting => c.reprotecting += 1,
            Phase::Protected => c.protected += 1,
            Phase::Blocked => c.blocked += 1,
            Phase::Paused => c.paused += 1,
        }
    }
    c
}

pub fn group_summaries(machines: &[Arc<ProtectedMachine>]) -> Vec<GroupSummary> {
    let mut groups: BTreeMap<String, GroupSummary> = BTreeMap::new();
    for m in machines {
        let Some(name) = &m.spec.replication_group else { continue };
        let g = groups.entry(name.clone()).or_insert_with(|| GroupSummary { name: name.clone(), ..Default::default() });
        g.members += 1;
        match m.status.as_ref().map(|s| s.phase) {
            Some(Phase::Protected) => g.protected += 1,
            Some(Phase::Blocked) => g.blocked += 1,
            _ => {}
        }
    }
    groups.into_values().collect()
}

fn update_phase_gauges(ctx: &Context) {
    let mut counts: BTreeMap<Phase, i64> = [
        Phase::Pending,
        Phase::Validating,
        Phase::WaitingForFailover,
        Phase::WaitingForAgent,
        Phase::Reprotecting,
        Phase::Protected,
        Phase::Blocked,
        Phase::Paused,
    ]
    .into_iter()
    .map(|p| (p, 0))
    .collect();
    for m in ctx.stores.machines.state() {
        *counts.entry(m.status.as_ref().map(|s| s.phase).unwrap_or_default()).or_default() += 1;
    }
    for (phase, n) in counts {
        ctx.metrics.machines_by_phase.get_or_create(&PhaseLabels { phase: phase.to_string() }).set(n);
    }
}
