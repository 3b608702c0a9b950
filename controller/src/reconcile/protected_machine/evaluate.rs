//! Evaluate step of the ProtectedMachine pipeline (pure): the preflight checks and the inputs of `decide`, from the spec, the look-up and the observation.

use super::lookup::Lookup;
use super::observe::Observation;
use crate::context::Settings;
use crate::crd::{Connectivity, Phase, ProcessServerLocation, ProtectedMachine, ReprotectPolicy, condition_types, paused_by_annotation};
use crate::lifecycle::{self, Gate, GroupGate, VmTarget, Watchdog};
use crate::preflight::{
    self, CheckResult, Desired, DesiredFailback, DesiredMasterTarget, GroupMember, NetworkKind, OnPremisesTarget, OsType, RuleId, Status,
    Subject,
};
use crate::reconcile::master_target_name;
use jiff::{SignedDuration, Timestamp};
use kube::ResourceExt;
use reprotect_facts::{FabricFacts, PowerState, ReprotectRequest};
use std::sync::Arc;

/// The preflight view of the machine and its results.
#[derive(Clone, Debug)]
pub struct Evaluation {
    pub desired: Desired,
    pub results: Vec<CheckResult>,
}

/// Run every preflight check against the observation.
pub fn evaluate(pm: &ProtectedMachine, lookup: &Lookup, obs: &Observation, now: Timestamp) -> Evaluation {
    let desired = desired(pm, lookup, obs);
    let results = preflight::evaluate(&desired, &obs.facts, now);
    Evaluation { desired, results }
}

/// Everything `decide` looks at, borrowed from the observation.
pub fn lifecycle_input<'a>(
    pm: &ProtectedMachine,
    lookup: &Lookup,
    obs: &'a Observation,
    eval: &Evaluation,
    settings: &Settings,
    now: Timestamp,
) -> lifecycle::Input<'a> {
    let (policy, mt) = (&lookup.policy, &lookup.master_target);
    lifecycle::Input {
        now,
        generation: pm.metadata.generation,
        mode: policy.spec.mode,
        paused: policy.spec.paused
            || paused_by_annotation(&pm.metadata)
            || paused_by_annotation(&policy.metadata)
            || paused_by_annotation(&mt.metadata),
        power_off_on_premises_vm: policy.spec.power_off_on_premises_vm,
        agent_registration_window: parse_window(&policy.spec.agent_registration_window),
        watchdog_interval: settings.watchdog_interval,
        item: obs.facts.item.as_ref(),
        job: obs.tracked.as_ref().map(|j| lifecycle::TrackedJob {
            name: &j.status.name,
            generation: j.status.generation,
            observed: j.facts.as_ref(),
            attempt: j.status.attempt,
            submitted_at: j.status.submitted_at.as_ref().map(|t| t.0),
        }),
        gates: gates(&eval.results),
        remediate_disk_uuid: remediation(&eval.results, obs),
        powered_on_vm: powered_on_vm(obs),
        group: group_gate(&lookup.peers),
        watchdog: watchdog(obs, &eval.results),
        reprotect: reprotect_request(&eval.desired, obs),
        agent_causes: agent_causes(&eval.results),
        reprotect_description: describe(&eval.desired),
        max_attempts: policy.spec.retry.max_attempts,
        owned_by: obs.facts.earlier_owner.clone(),
    }
}

/// Checks that `decide` handles itself rather than as gates.
const HANDLED_BY_DECIDE: &[RuleId] = &[RuleId::AgentRegistered, RuleId::FailedOver];

/// The agent registration window (the schema guarantees the format; 15 minutes if it still fails).
pub fn parse_window(s: &str) -> SignedDuration {
    s.parse::<SignedDuration>().unwrap_or(SignedDuration::from_mins(15))
}

/// The preflight view of what the user asked for (the group: this machine and its peers, each with
/// its master target's ASR name and the OS Azure reports for it).
pub fn desired(pm: &ProtectedMachine, lookup: &Lookup, obs: &Observation) -> Desired {
    let (policy, mt) = (lookup.policy.as_ref(), lookup.master_target.as_ref());
    let defaults = &policy.spec.defaults;
    let member = |m: &ProtectedMachine| {
        let mt_name = master_target_name(m, policy).unwrap_or_default();
        GroupMember {
            machine_name: m.name_any(),
            master_target_asr_name: lookup.master_target_asr_names.get(&mt_name).cloned().unwrap_or_default(),
            master_target_name: mt_name,
            os_type: m.spec.os_type.map(OsType::from),
            reported_os: obs.member_items.get(&m.name_any()).and_then(|i| i.os),
            item_name: obs.member_items.get(&m.name_any()).map(|i| i.name.clone()),
        }
    };
    let group_members = match &pm.spec.replication_group {
        Some(_) => std::iter::once(member(pm)).chain(lookup.peers.iter().map(|p| member(p))).collect(),
        None => Vec::new(),
    };
    let fb = &policy.spec.failback_policy;
    Desired {
        machine_name: pm.spec.item.name.clone().or_else(|| pm.spec.item.friendly_name.clone()).unwrap_or_default(),
        os_type: pm.spec.os_type.map(OsType::from),
        master_target: DesiredMasterTarget {
            name_in_asr: mt.spec.asr_name.clone(),
            vcenter_vm_name: mt.spec.vcenter_vm_name.clone(),
            os_type: Some(mt.spec.os_type.into()),
            retention_volume: preflight::effective_retention_volume(
                pm.spec.retention_volume.as_deref(),
                defaults.retention_volume.as_deref(),
                mt.spec.retention_volume.as_deref(),
                Some(mt.spec.os_type.into()),
            ),
            allow_enable_disk_uuid: mt.spec.remediation.enable_disk_uuid,
        },
        process_server: pm
            .spec
            .process_server
            .as_deref()
            .map(str::to_string)
            .or_else(|| defaults.process_server.clone())
            .unwrap_or_default(),
        process_server_location: policy.spec.network.process_server_location.map(|l| match l {
            ProcessServerLocation::Azure => preflight::ProcessServerLocation::Azure,
            ProcessServerLocation::OnPremises => preflight::ProcessServerLocation::OnPremises,
        }),
        datastore: datastore(pm, policy),
        on_premises: obs.on_premises.clone().map(OnPremisesTarget::ExistingVm).unwrap_or(OnPremisesTarget::AlternateLocation),
        replication_group: pm.spec.replication_group.as_deref().map(str::to_string),
        group_members,
        allow_partial_group: policy.spec.allow_partial_groups,
        agent_registration_window: parse_window(&policy.spec.agent_registration_window),
        expected_failback_policy: preflight::FailbackPolicyExpectation {
            rpo_threshold_minutes: fb.rpo_threshold_minutes,
            recovery_point_retention_minutes: fb.recovery_point_retention_hours * 60,
            app_consistent_frequency_minutes: fb.app_consistent_frequency_minutes,
        },
        vcenter_server: policy.spec.vcenter.server.clone(),
        recorded_master_target_datastores: pm
            .status
            .as_ref()
            .map(|s| s.recorded_master_target_datastores.iter().map(|d| d.to_string()).collect::<Vec<_>>())
            .filter(|d| !d.is_empty()),
        network: policy.spec.network.connectivity.map(|c| match c {
            Connectivity::SiteToSiteVpn => NetworkKind::SiteToSiteVpn,
            Connectivity::ExpressRoutePrivatePeering => NetworkKind::ExpressRoutePrivatePeering,
        }),
        run_as_account: defaults.run_as_account.clone(),
        failback: super::failback::pending_approval(pm).map(|_| DesiredFailback { recovery_point: super::failback::point(pm) }),
        ..Desired::default()
    }
}

fn datastore(pm: &ProtectedMachine, policy: &ReprotectPolicy) -> Option<String> {
    pm.spec
        .alternate_location
        .as_ref()
        .and_then(|a| a.datastore.as_deref())
        .or(pm.spec.datastore.as_deref())
        .map(str::to_string)
        .or_else(|| policy.spec.defaults.datastore.clone())
}

/// Blocking results that stop the machine, except those `decide` interprets itself, remediable ones and the
/// failback rules (a failback's needs never hold back the reprotect that comes before it).
pub fn gates(results: &[CheckResult]) -> Vec<Gate> {
    preflight::blocking(results)
        .filter(|r| !HANDLED_BY_DECIDE.iter().any(|id| r.is(*id)) && !r.remediable && r.subject() != Some(Subject::Failback))
        .map(Gate::of)
        .collect()
}

/// The master target VM to set `disk.EnableUUID` on, by the identity observed (never by a name alone).
pub fn remediation(results: &[CheckResult], obs: &Observation) -> Option<VmTarget> {
    let remediable = results.iter().any(|r| r.is(RuleId::MtDiskEnableUuid) && r.status == Status::Fail && r.remediable);
    let vm = obs.facts.vcenter.as_ref()?.master_target.as_ref()?;
    remediable.then(|| VmTarget::new(&vm.moref, &vm.name))
}

/// The existing on-premises VM when it is powered on, by the identity observed (an ambiguous name has no facts).
pub fn powered_on_vm(obs: &Observation) -> Option<VmTarget> {
    let selector = obs.on_premises.as_ref()?;
    let facts = obs.facts.vcenter.as_ref()?.on_premises_vms.get(&selector.key())?.as_ref()?;
    (facts.power_state == Some(PowerState::PoweredOn)).then(|| VmTarget::new(&facts.moref, &facts.name))
}

pub fn watchdog(obs: &Observation, results: &[CheckResult]) -> Watchdog {
    let risks = results
        .iter()
        .filter(|r| (r.is(RuleId::MtNoSnapshots) || r.is(RuleId::MtStorageVmotion)) && r.status == Status::Fail)
        .map(|r| format!("[{}] {}", r.id, r.message))
        .collect();
    Watchdog { on_premises_vm_powered_on: powered_on_vm(obs).is_some(), master_target_risks: risks }
}

/// Members of the machine's replication group that are not ready for reprotect yet.
pub fn group_gate(peers: &[Arc<ProtectedMachine>]) -> GroupGate {
    let waiting: Vec<String> = peers.iter().filter(|m| !member_ready(m)).map(|m| m.name_any()).collect();
    if waiting.is_empty() { GroupGate::Open } else { GroupGate::WaitingFor(waiting) }
}

/// Whether a group member lets its peers go ahead (ready for reprotect, or already past it).
pub fn member_ready(m: &ProtectedMachine) -> bool {
    let Some(status) = &m.status else { return false };
    matches!(status.phase, Phase::Reprotecting | Phase::Protected)
        || (status.observed_generation == m.metadata.generation
            && crate::conditions::is_true(&status.conditions, condition_types::PREFLIGHT_PASSED))
}

/// The InMage reprotect input, when every id could be resolved: the values sent are ASR's own
/// spellings of what the checks verified (retention volume, datastore), the failback policy the
/// `failback-policy` check validated, and a named run-as account only when it exists.
pub fn reprotect_request(desired: &Desired, obs: &Observation) -> Option<ReprotectRequest> {
    let facts = &obs.facts;
    let item = facts.item.as_ref()?;
    let fabric: &FabricFacts = facts.fabric.as_ref()?;
    let mt = fabric.master_target(&desired.master_target.name_in_asr)?;
    let ps = fabric.process_server(&desired.process_server)?;
    let profile = preflight::chosen_failback_policy(facts)?.ok()?;
    let run_as = preflight::run_as_account_id(desired, facts).ok()?;
    Some(ReprotectRequest {
        item_name: item.name.clone(),
        master_target_id: mt.id.clone(),
        process_server_id: ps.id.clone(),
        retention_drive: preflight::retention_drive_as_listed(desired, facts)?.to_string(),
        profile_id: profile.policy.id.clone(),
        run_as_account_id: run_as.map(str::to_string),
        datastore_name: preflight::datastore_as_listed(desired, facts)?.to_string(),
    })
}

/// "reprotect app-01 with master target mt-win-01, process server ps-01, datastore ds-vmfs-01, retention R:".
pub fn describe(desired: &Desired) -> String {
    format!(
        "reprotect {} with master target {}, process server {}, datastore {}, retention {}",
        desired.machine_name,
        desired.master_target.name_in_asr,
        desired.process_server,
        desired.datastore.as_deref().unwrap_or("?"),
        desired.master_target.retention_volume.as_deref().unwrap_or("?"),
    )
}

/// Likely causes to quote when the agent never registers, from the agent-registered check.
pub fn agent_causes(results: &[CheckResult]) -> String {
    results
        .iter()
        .find(|r| r.is(RuleId::AgentRegistered))
        .map(|r| format!("{} {}", r.message, r.remedy))
        .unwrap_or_else(|| "no site-to-site VPN or ExpressRoute private peering; configuration server port 443 unreachable from Azure; process server heartbeat missing".into())
}
