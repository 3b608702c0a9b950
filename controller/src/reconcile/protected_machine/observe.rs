//! Observe step of the ProtectedMachine pipeline: every read of Site Recovery and vCenter a pass needs, done once, into one `Observation`.

use super::lookup::Lookup;
use super::status;
use crate::context::{Settings, SubmittedJobs};
use crate::crd::{JobStatus, Phase, ProtectedMachine};
use crate::error::Error;
use crate::preflight;
use crate::reconcile::Connection;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use reprotect_facts::{
    AmbiguousItem, AsrErrorClass, JobErrorFacts, JobFacts, ObserveRequest, ProtectedItemFacts, SiteRecoveryError, VmSelector, arm_name,
};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a job we just submitted may stay unreadable (404) before that means something:
/// ASR creates the job asynchronously after the 202.
pub const JOB_APPEAR_GRACE: SignedDuration = SignedDuration::from_mins(2);

/// Everything a pass knows about the outside world.
#[derive(Clone, Debug, Default)]
pub struct Observation {
    /// Site Recovery and vCenter facts, as preflight reads them.
    pub facts: preflight::Observed,
    /// The reprotect job this machine follows, with its latest facts.
    pub tracked: Option<TrackedJob>,
    /// The protected item each replication-group member resolves to, by machine name.
    pub member_items: BTreeMap<String, MemberItem>,
    /// How the existing on-premises VM is selected: by the identity Site Recovery records for the item (its
    /// `vmId`, the VM's BIOS or instance UUID) when vCenter has that VM, else as the spec names it.
    pub on_premises: Option<VmSelector>,
}

/// The protected item a replication-group member's spec resolves to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberItem {
    /// The item's ARM name.
    pub name: String,
    /// The OS Azure reports for it.
    pub os: Option<preflight::OsType>,
}

/// A job the machine follows: from its status, from this process's submissions, or adopted from the item.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackedJob {
    pub status: JobStatus,
    /// `None`: not readable (yet).
    pub facts: Option<JobFacts>,
}

/// The on-premises VM selector of a machine, if it fails back into an existing VM.
pub fn existing_vm(pm: &ProtectedMachine) -> Option<VmSelector> {
    let vm = pm.spec.existing_vm.as_ref()?;
    vm.name.clone().map(VmSelector::Name).or_else(|| vm.managed_object_id.clone().map(VmSelector::MoRef))
}

/// The machine's protected item: by name, else by friendly name (several matches are ambiguous).
fn find_item<'a>(pm: &ProtectedMachine, items: &'a [ProtectedItemFacts]) -> Result<Option<&'a ProtectedItemFacts>, AmbiguousItem> {
    preflight::match_item(pm.spec.item.name.as_deref(), pm.spec.item.friendly_name.as_deref(), items)
}

/// Transient errors abort the pass (backoff); other errors leave the fact unobserved.
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

/// How old the answers a settled machine's pass accepts: the vault's other lists, and its item list (the
/// vault watch's latest listing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettledAges {
    pub vault: Duration,
    pub items: Duration,
}

/// How old the vault's answers may be for this pass: a settled machine (`Protected` or
/// `ProtectedToAzure`, its spec already observed) accepts the vault watch's list; any other the
/// client's usual cache interval (`None`).
pub fn settled_vault_age(pm: &ProtectedMachine, settings: &Settings) -> Option<SettledAges> {
    let status = pm.status.as_ref()?;
    let settled =
        matches!(status.phase, Phase::Protected | Phase::ProtectedToAzure) && status.observed_generation == pm.metadata.generation;
    crate::reconcile::settled_age(settled, settings).map(|vault| SettledAges { vault, items: settings.settled_item_list_age() })
}

/// Read everything once. Per-vault lists are cached by the Site Recovery client, so a thousand
/// machines of one vault cost one list per cache interval (`vault_age`: see [`settled_vault_age`]).
pub async fn observe(
    pm: &ProtectedMachine,
    lookup: &Lookup,
    conn: &Connection,
    submitted: &SubmittedJobs,
    vault_age: Option<SettledAges>,
    now: Timestamp,
) -> Result<Observation, Error> {
    let (sr, vault) = (&conn.site_recovery, &conn.vault);
    let items = sr.shared_protected_items(vault, vault_age.map(|a| a.items));
    let (items, fabric, policies, vcenters) = match vault_age.map(|a| a.vault) {
        Some(age) => {
            tokio::join!(items, sr.get_fabric_within(vault, age), sr.list_policies_within(vault, age), sr.list_vcenters_within(vault, age))
        }
        None => tokio::join!(items, sr.get_fabric(vault), sr.list_policies(vault), sr.list_vcenters(vault)),
    };
    let items = items?;
    let (item, ambiguous_item) = match find_item(pm, &items) {
        Ok(item) => (item.cloned(), None),
        Err(ambiguous) => (None, Some(ambiguous)),
    };
    // vCenter after the item: what Site Recovery records for the item's VM selects it better than a name can.
    let spec_vm = existing_vm(pm);
    let recorded_vm =
        spec_vm.as_ref().and(item.as_ref()).and_then(|i| i.vm_id.clone()).filter(|id| !id.trim().is_empty()).map(VmSelector::Uuid);
    let request = ObserveRequest {
        master_target_vm: Some(VmSelector::Name(lookup.master_target.spec.vcenter_vm_name.clone())),
        on_premises_vms: spec_vm.iter().chain(recorded_vm.iter()).cloned().collect(),
    };
    let vcenter = conn.vcenter.observe(&request).await;
    let group = std::iter::once(pm).chain(lookup.peers.iter().map(|p| p.as_ref())).filter(|m| m.spec.replication_group.is_some());
    let member_items = group
        .filter_map(|m| {
            let it = find_item(m, &items).ok().flatten()?;
            Some((m.name_any(), MemberItem { name: it.name.clone(), os: it.os_type.as_deref().and_then(preflight::OsType::parse) }))
        })
        .collect();
    let group_items = group_items(pm, item.as_ref(), &items);
    // A vCenter that answers but rejects us leaves the facts unobserved: the checks say Unknown.
    let vcenter = match vcenter {
        Ok(f) => Some(f),
        Err(e) if e.is_transient() => return Err(e.into()),
        Err(e) => {
            tracing::info!(error = %e, "vCenter observation failed");
            None
        }
    };
    // A duplicate of an older machine does not follow the owner's job (see `item-owner`).
    let me = super::lookup::claimant(pm, Some(&lookup.policy));
    let earlier_owner = item.as_ref().and_then(|it| {
        crate::lifecycle::owner::earlier_owner(
            &me,
            vault,
            it,
            &super::lookup::others_claiming(&lookup.others, &lookup.policies_in_scope, it),
        )
    });
    let status = if earlier_owner.is_some() { None } else { tracked_job(pm, item.as_ref(), submitted) };
    let tracked = match status {
        Some(status) => {
            let facts = job_facts(conn, item.as_ref(), &status, now).await?;
            Some(TrackedJob { status, facts })
        }
        None => None,
    };
    let facts = preflight::Observed {
        vcenter,
        fabric: tolerate(fabric)?,
        item,
        policies: tolerate(policies)?,
        discovered_vcenters: tolerate(vcenters)?,
        ambiguous_item,
        earlier_owner,
        group_items,
    };
    let found = |sel: &VmSelector| facts.vcenter.as_ref().is_some_and(|v| matches!(v.on_premises_vms.get(&sel.key()), Some(Some(_))));
    let on_premises = recorded_vm.filter(|sel| found(sel)).or(spec_vm);
    Ok(Observation { facts, tracked, member_items, on_premises })
}

/// Every item of the vault in the machine's replication group, as Site Recovery groups them (the item's
/// `multiVmGroupName`, else the group the spec names); `None` when the machine is in no group.
fn group_items(
    pm: &ProtectedMachine,
    item: Option<&ProtectedItemFacts>,
    items: &[ProtectedItemFacts],
) -> Option<Vec<preflight::GroupItem>> {
    let named = |g: Option<&str>| g.map(str::trim).filter(|g| !g.is_empty()).map(str::to_owned);
    let group = named(item.and_then(|i| i.multi_vm_group_name.as_deref())).or_else(|| named(pm.spec.replication_group.as_deref()))?;
    let in_group = |i: &&ProtectedItemFacts| i.multi_vm_group_name.as_deref().is_some_and(|g| g.trim().eq_ignore_ascii_case(&group));
    Some(
        items
            .iter()
            .filter(in_group)
            .map(|i| preflight::GroupItem { name: i.name.clone(), friendly_name: i.friendly_name.clone() })
            .collect(),
    )
}

/// Scenario names ASR uses for a reprotect job.
pub fn is_reprotect_scenario(name: Option<&str>) -> bool {
    name.is_some_and(|n| {
        let n = n.to_ascii_lowercase();
        n.contains("reprotect") || n.contains("reversereplicat")
    })
}

/// The job recorded in status, or one this process submitted whose status write was lost, or a
/// reprotect already running for the item that this instance did not start (a previous instance
/// crashed between its POST and its status write): follow it instead of judging the item, which
/// no longer looks failed over while the job runs.
fn tracked_job(pm: &ProtectedMachine, item: Option<&ProtectedItemFacts>, submitted: &SubmittedJobs) -> Option<JobStatus> {
    // A job started before the item's latest failover belongs to an earlier disaster: history,
    // not the current job (the same object is reused when the machine fails over again).
    let current = |job: &JobStatus| !is_history(job.submitted_at.as_ref().map(|t| t.0), item);
    if let Some(job) = pm.status.as_ref().and_then(|s| s.job.clone()).filter(current) {
        return Some(job);
    }
    let item = item?;
    let ours = submitted.get(&item.id).map(|(job, at)| JobStatus {
        name: job.job_name,
        state: Some("Submitted".into()),
        submitted_at: Some(Time(at)),
        generation: pm.metadata.generation,
        ..Default::default()
    });
    if let Some(job) = ours.filter(current) {
        return Some(job);
    }
    let scenario = item.current_scenario.as_ref().filter(|s| is_reprotect_scenario(s.scenario_name.as_deref()))?;
    let job_id = scenario.job_id.as_deref()?;
    Some(JobStatus {
        name: arm_name(job_id).to_string(),
        submitted_at: scenario.start_time.map(Time),
        generation: pm.metadata.generation,
        adopted: true,
        ..Default::default()
    })
}

/// Whether a job started at `started` predates the item's latest failover.
pub fn is_history(started: Option<Timestamp>, item: Option<&ProtectedItemFacts>) -> bool {
    matches!((started, item.and_then(|i| i.last_successful_failover_time)), (Some(at), Some(failover)) if at < failover)
}

/// The latest facts about a tracked job, reading the job itself only when the item can't tell us.
async fn job_facts(
    conn: &Connection,
    item: Option<&ProtectedItemFacts>,
    job: &JobStatus,
    now: Timestamp,
) -> Result<Option<JobFacts>, Error> {
    if job.name == status::REJECTED_JOB {
        // ASR refused the POST: there is no job to read; what it said is the failure to classify.
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
    let Some(item) = item else { return Ok(None) };
    if item.is_protected_in_reverse() {
        return Ok(None);
    }
    let running_here =
        item.current_scenario.as_ref().and_then(|s| s.job_id.as_deref()).is_some_and(|id| arm_name(id).eq_ignore_ascii_case(&job.name));
    // The list the item comes from predates our POST: it cannot say how the job is doing (ASR jobs take minutes;
    // the next listing will say), and reading the job meanwhile would cost one GET per machine in a burst.
    if running_here || conn.site_recovery.item_list_predates_write(&conn.vault, &item.name).await {
        return Ok(Some(JobFacts { name: job.name.clone(), state: Some("InProgress".into()), ..Default::default() }));
    }
    match conn.site_recovery.get_job(&conn.vault, &job.name).await {
        Ok(facts) => Ok(Some(facts)),
        // ASR creates the job after answering the POST: a job we just submitted is given time to appear.
        Err(e) if e.class() == AsrErrorClass::NotFound && just_submitted(job, now) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn just_submitted(job: &JobStatus, now: Timestamp) -> bool {
    job.submitted_at.as_ref().is_some_and(|t| now.duration_since(t.0) < JOB_APPEAR_GRACE)
}
