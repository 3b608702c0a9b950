//! Observe step of the ProtectedMachine pipeline: read Site Recovery and vCenter through the traits, sharing per-vault reads.

use crate::context::Context;
use crate::crd::{MasterTarget, ProtectedMachine};
use crate::error::Error;
use reprotect_facts::{
    AsrErrorClass, FabricFacts, JobFacts, ObserveRequest, PolicyFacts, ProtectedItemFacts, SiteRecovery, SiteRecoveryError, VaultRef,
    Vcenter, VcenterFacts, VmSelector, arm_name,
};
use std::sync::Arc;
use std::time::Instant;

/// Everything read for one machine.
pub struct Observation {
    pub item: Option<ProtectedItemFacts>,
    /// When the item list behind `item` was fetched.
    pub items_fetched_at: Instant,
    pub fabric: Option<FabricFacts>,
    pub policies: Option<Vec<PolicyFacts>>,
    pub discovered_vcenters: Option<Vec<reprotect_facts::DiscoveredVcenterFacts>>,
    pub vcenter: Option<VcenterFacts>,
}

/// The on-premises VM selector of a machine, if it fails back into an existing VM.
pub fn existing_vm(pm: &ProtectedMachine) -> Option<VmSelector> {
    let vm = pm.spec.existing_vm.as_ref()?;
    vm.name.clone().map(VmSelector::Name).or_else(|| vm.managed_object_id.clone().map(VmSelector::MoRef))
}

fn item_matches(pm: &ProtectedMachine, item: &ProtectedItemFacts) -> bool {
    match (&pm.spec.item.name, &pm.spec.item.friendly_name) {
        (Some(name), _) => item.name.eq_ignore_ascii_case(name),
        (None, Some(friendly)) => item.friendly_name.as_deref().is_some_and(|f| f.eq_ignore_ascii_case(friendly)),
        (None, None) => false,
    }
}

/// Transient errors abort the reconcile (backoff); other errors leave the fact unobserved.
fn tolerate<T>(r: Result<T, SiteRecoveryError>) -> Result<Option<T>, Error> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.class() == AsrErrorClass::Transient => Err(e.into()),
        Err(e) => {
            tracing::info!(error = %e, "observation incomplete");
            Ok(None)
        }
    }
}

pub async fn observe(
    ctx: &Context,
    pm: &ProtectedMachine,
    mt: &MasterTarget,
    vault: &VaultRef,
    sr: &Arc<dyn SiteRecovery>,
    vc: &Arc<dyn Vcenter>,
) -> Result<Observation, Error> {
    let (items_fetched_at, items) =
        ctx.items.get_or_fetch_stamped(vault.clone(), || async { sr.list_protected_items(vault).await.map(Arc::new) }).await?;
    let item = items.iter().find(|i| item_matches(pm, i)).cloned();
    let request = ObserveRequest {
        master_target_vm: Some(VmSelector::Name(mt.spec.vcenter_vm_name.clone())),
        on_premises_vms: existing_vm(pm).into_iter().collect(),
    };
    let (fabric, policies, vcenters, vcenter) = tokio::join!(
        sr.get_fabric(vault),
        ctx.policies.get_or_fetch(vault.clone(), || sr.list_policies(vault)),
        ctx.vcenters.get_or_fetch(vault.clone(), || sr.list_vcenters(vault)),
        vc.observe(&request)
    );
    // A vCenter that answers but rejects us leaves the facts unobserved: the checks say Unknown.
    let vcenter = match vcenter {
        Ok(f) => Some(f),
        Err(e) if e.is_transient() => return Err(e.into()),
        Err(e) => {
            tracing::info!(error = %e, "vCenter observation failed");
            None
        }
    };
    Ok(Observation {
        item,
        items_fetched_at,
        fabric: tolerate(fabric)?,
        policies: tolerate(policies)?,
        discovered_vcenters: tolerate(vcenters)?,
        vcenter,
    })
}

/// Scenario names ASR uses for a reprotect job.
pub fn is_reprotect_scenario(name: Option<&str>) -> bool {
    name.is_some_and(|n| {
        let n = n.to_ascii_lowercase();
        n.contains("reprotect") || n.contains("reversereplicat")
    })
}

/// Before posting a reprotect, look at Azure directly (not the shared cache) for a job this or a
/// previous controller instance already started: never a second reprotect for an item.
pub async fn find_existing_job(sr: &Arc<dyn SiteRecovery>, vault: &VaultRef, item: &ProtectedItemFacts) -> Result<Existing, Error> {
    let fresh = sr.get_protected_item(vault, &item.name).await?;
    if fresh.is_protected_in_reverse() {
        return Ok(Existing::AlreadyProtected);
    }
    if let Some(scenario) = fresh.current_scenario.as_ref().filter(|s| is_reprotect_scenario(s.scenario_name.as_deref()))
        && let Some(job_id) = &scenario.job_id
    {
        let job = sr.get_job(vault, arm_name(job_id)).await?;
        if !failed(&job) {
            return Ok(Existing::Job(job));
        }
    }
    let since = fresh.last_successful_failover_time;
    let jobs = sr.list_jobs_for(vault, &fresh.id).await?;
    let latest = jobs
        .into_iter()
        .filter(|j| is_reprotect_scenario(j.scenario_name.as_deref()) && !failed(j))
        .filter(|j| since.is_none_or(|s| j.start_time.is_none_or(|t| t >= s)))
        .max_by_key(|j| j.start_time);
    Ok(latest.map(Existing::Job).unwrap_or(Existing::Nothing))
}

/// A failed or cancelled job may be retried; only running and succeeded jobs are adopted.
fn failed(job: &JobFacts) -> bool {
    job.is_finished() && !job.succeeded()
}

/// What Azure already has for an item we are about to reprotect.
pub enum Existing {
    /// Reprotect already finished (a previous instance posted it).
    AlreadyProtected,
    /// A reprotect job exists (running, finished or failed) since the last failover.
    Job(JobFacts),
    /// Nothing: safe to post.
    Nothing,
}

/// The latest facts about a tracked job, reading the job itself only when the item can't tell us.
pub async fn job_facts(
    sr: &Arc<dyn SiteRecovery>,
    vault: &VaultRef,
    obs: &Observation,
    job_name: &str,
    submitted_at: Option<jiff::Timestamp>,
) -> Result<Option<JobFacts>, Error> {
    let Some(item) = &obs.item else { return Ok(None) };
    if item.is_protected_in_reverse() {
        return Ok(None);
    }
    // The shared item list may predate our POST: trust the submission until the list catches up.
    let list_age = obs.items_fetched_at.elapsed();
    if let Some(submitted) = submitted_at {
        let since_submit = jiff::Timestamp::now().duration_since(submitted);
        if since_submit.unsigned_abs() < list_age {
            return Ok(None);
        }
    }
    let running_here =
        item.current_scenario.as_ref().and_then(|s| s.job_id.as_deref()).is_some_and(|id| arm_name(id).eq_ignore_ascii_case(job_name));
    if running_here {
        return Ok(Some(JobFacts { name: job_name.into(), state: Some("InProgress".into()), ..Default::default() }));
    }
    Ok(Some(sr.get_job(vault, job_name).await?))
}
