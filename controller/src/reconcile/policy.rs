//! ReprotectPolicy reconciler: validate the Azure and vCenter connections and aggregate the machines' phases.

use super::{Reconciled, apply_status_if_changed, problem_conditions, reconcile_with, vault_ref};
use crate::conditions::{self, ConditionSpec, KState, kstatus};
use crate::connections;
use crate::context::{Context, Stores};
use crate::crd::{
    GroupSummary, Phase, PhaseCounts, ProtectedMachine, ReprotectPolicy, ReprotectPolicyStatus, RetryBounds, condition_types as ct,
};
use crate::error::Error;
use crate::reasons;
use jiff::Timestamp;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use reprotect_facts::ObserveRequest;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const RECHECK: Duration = Duration::from_secs(60);
const RECHECK_FAILING: Duration = Duration::from_secs(30);

impl Reconciled for ReprotectPolicy {
    type Status = ReprotectPolicyStatus;
    fn problem_status(&self, state: KState, reason: &str, message: &str, now: Timestamp) -> ReprotectPolicyStatus {
        let old = self.status.clone().unwrap_or_default();
        ReprotectPolicyStatus {
            observed_generation: self.metadata.generation,
            conditions: conditions::merge(&old.conditions, &problem_conditions(state, reason, message), self.metadata.generation, now),
            ..old
        }
    }
    fn retry_bounds(&self, _stores: &Stores) -> Option<RetryBounds> {
        Some(self.spec.retry.clone())
    }
}

#[tracing::instrument(skip_all, fields(object = %ObjectRef::from_obj(policy.as_ref())))]
pub async fn reconcile(policy: Arc<ReprotectPolicy>, ctx: Arc<Context>) -> Result<Action, Error> {
    reconcile_with(policy, ctx, |policy, ctx| async move { reconcile_inner(&policy, &ctx).await }).await
}

async fn reconcile_inner(policy: &ReprotectPolicy, ctx: &Context) -> Result<Action, Error> {
    let (azure, vcenter) = tokio::join!(check_azure(ctx, policy), check_vcenter(ctx, policy));
    let machines: Vec<Arc<ProtectedMachine>> = ctx
        .stores
        .machines
        .state()
        .into_iter()
        .filter(|m| m.namespace() == policy.namespace() && m.spec.policy_ref == policy.name_any())
        .collect();
    update_phase_gauges(ctx);
    let status = build_status(policy, azure, vcenter, &machines, Timestamp::now());
    let ready = conditions::is_true(&status.conditions, ct::READY);
    apply_status_if_changed(&ctx.client, policy, policy.status.as_ref(), &status).await?;
    // A policy that cannot connect is looked at again soon: a corrected Secret is then picked up within a minute
    // (logins stay behind the vCenter login backoff, so this never adds failed logins).
    Ok(Action::requeue(if ready { RECHECK } else { RECHECK_FAILING }))
}

/// Predicate for the machines' watch on policies: changes when a connection of the policy starts or stops
/// working (a corrected Secret, a vCenter back online), so its machines are re-evaluated at once instead of at
/// their next recheck, which is minutes away for a machine stalled on credentials.
pub fn connections_state(policy: &ReprotectPolicy) -> Option<u64> {
    let up = |t: &str| policy.status.as_ref().is_some_and(|s| conditions::is_true(&s.conditions, t));
    Some(u64::from(up(ct::AZURE_CONNECTED)) | (u64::from(up(ct::VCENTER_CONNECTED)) << 1))
}

/// The policy's status from its two connection checks and its machines (pure).
pub fn build_status(
    policy: &ReprotectPolicy,
    azure: ConditionSpec,
    vcenter: ConditionSpec,
    machines: &[Arc<ProtectedMachine>],
    now: Timestamp,
) -> ReprotectPolicyStatus {
    let ready = azure.status && vcenter.status;
    let transient = azure.reason == reasons::TRANSIENT || vcenter.reason == reasons::TRANSIENT;
    let (state, reason, message) = if ready {
        (KState::Ready, reasons::CONNECTIONS_VERIFIED.to_string(), "Site Recovery and vCenter connections work".to_string())
    } else {
        let failing: Vec<&ConditionSpec> = [&azure, &vcenter].into_iter().filter(|c| !c.status).collect();
        let message = failing.iter().map(|c| c.message.clone()).collect::<Vec<_>>().join("; ");
        // A permanent failure carries its own reason (e.g. EndpointNotAllowed) on Ready and Stalled.
        let permanent = failing.iter().find(|c| c.reason != reasons::TRANSIENT).map(|c| c.reason.clone());
        match (transient, permanent) {
            (false, Some(reason)) => (KState::Stalled, reason, message),
            _ => (KState::Reconciling, reasons::CONNECTION_FAILED.to_string(), message),
        }
    };
    let mut desired = kstatus(state, &reason, &message);
    // Visible, never silent: turning certificate verification off is the user's choice, and it stays on display.
    let tls = match connections::insecure_tls_warning(policy) {
        Some(warning) => ConditionSpec::new(ct::INSECURE_TLS, true, reasons::INSECURE_SKIP_VERIFY, warning),
        None => ConditionSpec::new(ct::INSECURE_TLS, false, reasons::TLS_VERIFIED, "certificates are verified"),
    };
    desired.extend([azure, vcenter, tls]);
    let old = policy.status.clone().unwrap_or_default();
    ReprotectPolicyStatus {
        observed_generation: policy.metadata.generation,
        conditions: conditions::merge(&old.conditions, &desired, policy.metadata.generation, now),
        machines: count_phases(machines),
        groups: group_summaries(machines),
    }
}

async fn check_azure(ctx: &Context, policy: &ReprotectPolicy) -> ConditionSpec {
    let result: Result<(), Error> = async {
        let sr = ctx
            .connector
            .site_recovery(&connections::azure_settings(&connections::Reads::refreshing(&ctx.client, &ctx.objects), policy).await?)
            .await?;
        // Connected for its spec already: the recheck reuses a recent fabric answer (see `recheck_fabric`); a
        // policy not yet connected reads with the usual TTL, so a corrected Secret shows within a minute.
        let settled = policy.status.as_ref().is_some_and(|s| {
            s.observed_generation == policy.metadata.generation && conditions::is_true(&s.conditions, ct::AZURE_CONNECTED)
        });
        super::recheck_fabric(sr.as_ref(), &vault_ref(policy), settled, &ctx.settings).await?;
        Ok(())
    }
    .await;
    connection_condition(ct::AZURE_CONNECTED, "Site Recovery vault and configuration server fabric readable", result)
}

async fn check_vcenter(ctx: &Context, policy: &ReprotectPolicy) -> ConditionSpec {
    let result: Result<(), Error> = async {
        let vc = ctx
            .connector
            .vcenter(&connections::vcenter_settings(&connections::Reads::refreshing(&ctx.client, &ctx.objects), policy).await?)
            .await?;
        vc.observe(&ObserveRequest::default()).await?;
        Ok(())
    }
    .await;
    connection_condition(ct::VCENTER_CONNECTED, "logged in to vCenter", result)
}

fn connection_condition(type_: &'static str, ok: &str, result: Result<(), Error>) -> ConditionSpec {
    match result {
        Ok(()) => ConditionSpec::new(type_, true, reasons::CONNECTED, ok),
        Err(e) if e.is_transient() => ConditionSpec::new(type_, false, reasons::TRANSIENT, e.to_string()),
        Err(e) => ConditionSpec::new(type_, false, e.reason(), e.to_string()),
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
            Phase::FailingBack | Phase::CommitPending | Phase::Committing | Phase::WaitingForForwardAgent | Phase::ReprotectingToAzure => {
                c.failing_back += 1
            }
            Phase::ProtectedToAzure => c.protected_to_azure += 1,
        }
    }
    c
}

pub fn group_summaries(machines: &[Arc<ProtectedMachine>]) -> Vec<GroupSummary> {
    let mut groups: BTreeMap<String, GroupSummary> = BTreeMap::new();
    for m in machines {
        let Some(name) = &m.spec.replication_group else { continue };
        let g = groups.entry(name.to_string()).or_insert_with(|| GroupSummary { name: name.to_string(), ..Default::default() });
        g.members += 1;
        match m.status.as_ref().map(|s| s.phase) {
            Some(Phase::Protected) => g.protected += 1,
            Some(Phase::Blocked) => g.blocked += 1,
            _ => {}
        }
    }
    groups.into_values().collect()
}

/// Machines per namespace, policy and phase for this controller set's scope (its namespace, or all).
fn update_phase_gauges(ctx: &Context) {
    let machines = ctx.stores.machines.state();
    ctx.metrics.set_machine_phases(ctx.scope.as_deref(), machines.iter().map(|m| m.as_ref()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::ProtectedMachineStatus;

    fn policy() -> ReprotectPolicy {
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(include_str!("../../../examples/01-policy.yaml")).unwrap();
        serde_json::from_value(docs[0].clone()).unwrap()
    }

    fn machine(phase: Option<Phase>, group: Option<&str>) -> Arc<ProtectedMachine> {
        let mut pm: ProtectedMachine = serde_json::from_value(serde_json::json!({
            "apiVersion": "reprotect.io/v1alpha1", "kind": "ProtectedMachine",
            "metadata": {"name": "m", "namespace": "dr"},
            "spec": {"policyRef": "dr-failback", "item": {"name": "m"}, "replicationGroup": group},
        }))
        .unwrap();
        pm.status = phase.map(|phase| ProtectedMachineStatus { phase, ..Default::default() });
        Arc::new(pm)
    }

    fn reason(status: &ReprotectPolicyStatus, type_: &str) -> (String, String) {
        let c = status.conditions.iter().find(|c| c.type_ == type_).unwrap();
        (c.status.to_string(), c.reason.to_string())
    }

    #[test]
    fn a_refused_endpoint_stalls_the_policy_with_that_reason_and_a_transient_fault_only_reconciles() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let ok = || ConditionSpec::new(ct::VCENTER_CONNECTED, true, reasons::CONNECTED, "ok");
        let refused = ConditionSpec::new(ct::AZURE_CONNECTED, false, "EndpointNotAllowed", "authorityHost not allowed");
        let st = build_status(&policy(), refused, ok(), &[], now);
        assert_eq!(reason(&st, ct::STALLED), ("True".into(), "EndpointNotAllowed".into()));
        assert_eq!(reason(&st, ct::READY), ("False".into(), "EndpointNotAllowed".into()));

        let flaky = ConditionSpec::new(ct::AZURE_CONNECTED, false, reasons::TRANSIENT, "503");
        let st = build_status(&policy(), flaky, ok(), &[], now);
        assert_eq!(reason(&st, ct::STALLED).0, "False");
        assert_eq!(reason(&st, ct::RECONCILING).0, "True");

        let azure = ConditionSpec::new(ct::AZURE_CONNECTED, true, reasons::CONNECTED, "ok");
        let st = build_status(&policy(), azure, ok(), &[], now);
        assert_eq!(reason(&st, ct::READY), ("True".into(), reasons::CONNECTIONS_VERIFIED.into()));
    }

    #[test]
    fn skipping_tls_verification_shows_an_insecure_tls_warning_condition_on_a_ready_policy() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let ok = |t| ConditionSpec::new(t, true, reasons::CONNECTED, "ok");
        let mut insecure = policy();
        insecure.spec.vcenter.tls.insecure_skip_verify = true;
        let st = build_status(&insecure, ok(ct::AZURE_CONNECTED), ok(ct::VCENTER_CONNECTED), &[], now);
        assert_eq!(reason(&st, ct::INSECURE_TLS), ("True".into(), reasons::INSECURE_SKIP_VERIFY.into()));
        assert_eq!(reason(&st, ct::READY).0, "True", "a warning, not a failure");
        let st = build_status(&policy(), ok(ct::AZURE_CONNECTED), ok(ct::VCENTER_CONNECTED), &[], now);
        assert_eq!(reason(&st, ct::INSECURE_TLS), ("False".into(), reasons::TLS_VERIFIED.into()));
    }

    #[test]
    fn the_connections_predicate_changes_when_a_connection_starts_or_stops_working_and_only_then() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let cond = |t, up| ConditionSpec::new(t, up, if up { reasons::CONNECTED } else { "VcenterCredentials" }, "");
        let with = |vcenter_up| {
            let mut p = policy();
            p.status = Some(build_status(&policy(), cond(ct::AZURE_CONNECTED, true), cond(ct::VCENTER_CONNECTED, vcenter_up), &[], now));
            p
        };
        assert_ne!(connections_state(&with(false)), connections_state(&with(true)));
        let mut counted = with(true);
        counted.status.as_mut().unwrap().machines.total = 7;
        assert_eq!(connections_state(&counted), connections_state(&with(true)), "phase counts do not wake the machines");
    }

    #[test]
    fn machines_are_counted_per_phase_and_per_group() {
        let machines = [
            machine(None, Some("g")),
            machine(Some(Phase::Protected), Some("g")),
            machine(Some(Phase::Blocked), None),
            machine(Some(Phase::WaitingForAgent), None),
        ];
        let c = count_phases(&machines);
        assert_eq!((c.total, c.pending, c.protected, c.blocked, c.waiting_for_agent), (4, 1, 1, 1, 1));
        let groups = group_summaries(&machines);
        assert_eq!(groups.len(), 1);
        assert_eq!((groups[0].members, groups[0].protected, groups[0].blocked), (2, 1, 0));
    }
}
