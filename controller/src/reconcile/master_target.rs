//! MasterTarget reconciler: observe the master target in vCenter and in the fabric, run its checks, report what it looks like.

use super::protected_machine::status::checks as check_statuses;
use super::{Reconciled, apply_status_if_changed, connect, find_policy, problem_conditions, reconcile_with};
use crate::conditions::{self, KState, kstatus};
use crate::context::{Context, Stores};
use crate::crd::{DatastoreStatus, MasterTarget, MasterTargetStatus, RetentionVolumeStatus, RetryBounds};
use crate::error::Error;
use crate::preflight::{self, CheckResult, Desired, DesiredMasterTarget, Observed, OsType, Subject};
use crate::reasons;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use reprotect_facts::{FabricFacts, ObserveRequest, VcenterFacts, VmSelector};
use std::sync::Arc;
use std::time::Duration;

pub const KIND: &str = "MasterTarget";
const RECHECK: Duration = Duration::from_secs(60);

/// Rules that concern only the master target.
fn is_master_target_check(result: &CheckResult) -> bool {
    result.subject() == Some(Subject::MasterTarget)
}

impl Reconciled for MasterTarget {
    type Status = MasterTargetStatus;
    fn problem_status(&self, state: KState, reason: &str, message: &str, now: Timestamp) -> MasterTargetStatus {
        with_problem(self, state, reason, message, now)
    }
    fn retry_bounds(&self, stores: &Stores) -> Option<RetryBounds> {
        let ns = self.namespace().unwrap_or_default();
        stores.policies.get(&ObjectRef::new(&self.spec.policy_ref).within(&ns)).map(|p| p.spec.retry.clone())
    }
}

#[tracing::instrument(skip_all, fields(object = %ObjectRef::from_obj(mt.as_ref())))]
pub async fn reconcile(mt: Arc<MasterTarget>, ctx: Arc<Context>) -> Result<Action, Error> {
    reconcile_with(mt, ctx, |mt, ctx| async move { reconcile_inner(&mt, &ctx).await }).await
}

fn stalled(mt: &MasterTarget, reason: &str, message: &str, now: Timestamp) -> MasterTargetStatus {
    with_problem(mt, KState::Stalled, reason, message, now)
}

fn with_problem(mt: &MasterTarget, state: KState, reason: &str, message: &str, now: Timestamp) -> MasterTargetStatus {
    let old = mt.status.clone().unwrap_or_default();
    MasterTargetStatus {
        observed_generation: mt.metadata.generation,
        conditions: conditions::merge(&old.conditions, &problem_conditions(state, reason, message), mt.metadata.generation, now),
        ..old
    }
}

async fn reconcile_inner(mt: &MasterTarget, ctx: &Context) -> Result<Action, Error> {
    let ns = mt.namespace().unwrap_or_default();
    let now = Timestamp::now();
    let Some(policy) = find_policy(ctx, &ns, &mt.spec.policy_ref).await? else {
        let message = format!("ReprotectPolicy {} not found in namespace {ns}", mt.spec.policy_ref);
        let st = stalled(mt, reasons::POLICY_NOT_FOUND, &message, now);
        apply_status_if_changed(&ctx.client, mt, mt.status.as_ref(), &st).await?;
        return Ok(Action::await_change());
    };
    let conn = connect(crate::connections::Reads::cached(&ctx.client, &ctx.objects), ctx.connector.as_ref(), &policy).await?;
    let request = ObserveRequest { master_target_vm: Some(VmSelector::Name(mt.spec.vcenter_vm_name.clone())), on_premises_vms: vec![] };
    let settled = mt.status.as_ref().is_some_and(|s| {
        s.observed_generation == mt.metadata.generation && conditions::is_true(&s.conditions, crate::crd::condition_types::READY)
    });
    let (fabric, vcenter) = tokio::join!(
        super::recheck_fabric(conn.site_recovery.as_ref(), &conn.vault, settled, &ctx.settings),
        conn.vcenter.observe(&request)
    );
    let fabric = fabric?;
    let vcenter = vcenter?;
    let os = OsType::from(mt.spec.os_type);
    let desired = Desired {
        machine_name: mt.name_any(),
        os_type: Some(os),
        master_target: DesiredMasterTarget {
            name_in_asr: mt.spec.asr_name.clone(),
            vcenter_vm_name: mt.spec.vcenter_vm_name.clone(),
            os_type: Some(os),
            retention_volume: preflight::effective_retention_volume(None, None, mt.spec.retention_volume.as_deref(), Some(os)),
            allow_enable_disk_uuid: mt.spec.remediation.enable_disk_uuid,
        },
        vcenter_server: policy.spec.vcenter.server.clone(),
        ..Desired::default()
    };
    let observed = Observed { vcenter: Some(vcenter.clone()), fabric: Some(fabric.clone()), ..Observed::default() };
    let results: Vec<CheckResult> = preflight::evaluate(&desired, &observed, now).into_iter().filter(is_master_target_check).collect();
    let status = build_status(mt, &fabric, &vcenter, &results, now);
    apply_status_if_changed(&ctx.client, mt, mt.status.as_ref(), &status).await?;
    Ok(Action::requeue(RECHECK))
}

/// The master target's status from what was observed (pure).
pub fn build_status(
    mt: &MasterTarget,
    fabric: &FabricFacts,
    vcenter: &VcenterFacts,
    results: &[CheckResult],
    now: Timestamp,
) -> MasterTargetStatus {
    let old = mt.status.clone().unwrap_or_default();
    let record = fabric.master_target(&mt.spec.asr_name);
    let blocking: Vec<&CheckResult> = preflight::blocking(results).filter(|r| !r.remediable).collect();
    let (ready, reason, message) = match (record, blocking.first()) {
        (None, _) => (
            false,
            reasons::NOT_REGISTERED.to_string(),
            format!("master target {} is not registered with configuration server {}", mt.spec.asr_name, fabric.name),
        ),
        (Some(_), Some(first)) => {
            (false, reasons::CHECK_FAILED.to_string(), format!("[{}] {} Remedy: {}", first.id, first.message, first.remedy))
        }
        (Some(_), None) => {
            (true, reasons::USABLE.to_string(), "master target is registered, heartbeating and passes its checks".to_string())
        }
    };
    let desired = kstatus(if ready { KState::Ready } else { KState::Stalled }, &reason, &message);
    let datastores = vcenter
        .master_target_host
        .as_ref()
        .map(|h| {
            h.datastores
                .iter()
                .map(|d| DatastoreStatus { name: d.name.clone(), datastore_type: d.datastore_type.clone(), supported: d.is_vmfs_or_vsan() })
                .collect()
        })
        .unwrap_or_default();
    MasterTargetStatus {
        observed_generation: mt.metadata.generation,
        conditions: conditions::merge(&old.conditions, &desired, mt.metadata.generation, now),
        last_heartbeat: record.and_then(|r| r.last_heartbeat).map(Time),
        os: record.and_then(|r| r.os_type.clone()),
        asr_id: record.map(|r| r.id.clone()),
        esxi_host: vcenter.master_target_host.as_ref().map(|h| h.name.clone()),
        retention_volumes: record
            .map(|r| {
                r.retention_volumes
                    .iter()
                    .map(|v| RetentionVolumeStatus {
                        name: v.volume_name.clone(),
                        capacity_bytes: v.capacity_bytes,
                        free_bytes: v.free_space_bytes,
                        eligible: v.capacity_bytes.unwrap_or(0) > 0
                            && !v.file_system.as_deref().is_some_and(reprotect_facts::is_fat_family),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        datastores,
        checks: check_statuses(results),
    }
}
