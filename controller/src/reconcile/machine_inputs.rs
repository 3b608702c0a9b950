//! Translate CRDs and observations into the pure inputs of preflight and `decide`.

use super::machine_observe::{Observation, existing_vm};
use super::master_target_name;
use crate::context::Context;
use crate::crd::{Connectivity, MasterTarget, Phase, ProcessServerLocation, ProtectedMachine, ReprotectPolicy, condition_types};
use crate::machine::{Gate, GroupGate, Watchdog};
use crate::preflight::{
    self, CheckResult, Desired, DesiredMasterTarget, GroupMember, NetworkKind, Observed, OnPremisesTarget, OsType, Status,
};
use jiff::SignedDuration;
use kube::ResourceExt;
use reprotect_facts::{FabricFacts, PolicyFacts, PowerState, ReprotectRequest, VmSelector};

/// Checks that `decide` handles itself rather than as gates.
const HANDLED_BY_DECIDE: &[&str] = &["agent-registered", "failed-over"];

pub fn parse_window(s: &str) -> SignedDuration {
    s.parse::<SignedDuration>().unwrap_or(SignedDuration::from_mins(15))
}

/// The preflight view of what the user asked for.
pub fn desired(ctx: &Context, pm: &ProtectedMachine, policy: &ReprotectPolicy, mt: &MasterTarget) -> Desired {
    let ns = pm.namespace().unwrap_or_default();
    let defaults = &policy.spec.defaults;
    let group_members = pm
        .spec
        .replication_group
        .as_ref()
        .map(|group| {
            ctx.stores
                .machines
                .state()
                .iter()
                .filter(|m| m.namespace().as_deref() == Some(ns.as_str()) && m.spec.replication_group.as_ref() == Some(group))
                .map(|m| {
                    let mt_name = master_target_name(m, policy).unwrap_or_default();
                    let mt_ref = kube::runtime::reflector::ObjectRef::new(&mt_name).within(&ns);
                    GroupMember {
                        machine_name: m.name_any(),
                        master_target_asr_name: ctx.stores.master_targets.get(&mt_ref).map(|t| t.spec.asr_name.clone()).unwrap_or_default(),
                        master_target_name: mt_name,
                        os_type: m.spec.os_type.map(OsType::from),
                        reported_os: None,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let fb = &policy.spec.failback_policy;
    Desired {
        machine_name: pm.spec.item.name.clone().or_else(|| pm.spec.item.friendly_name.clone()).unwrap_or_default(),
        os_type: pm.spec.os_type.map(OsType::from),
        master_target: DesiredMasterTarget {
            name_in_asr: mt.spec.asr_name.clone(),
            vcenter_vm_name: mt.spec.vcenter_vm_name.clone(),
            os_type: Some(mt.spec.os_type.into()),
            retention_volume: Some(
                pm.spec
                    .retention_volume
                    .clone()
                    .or_else(|| defaults.retention_volume.clone())
                    .unwrap_or_else(|| mt.spec.effective_retention_volume()),
            ),
            allow_enable_disk_uuid: mt.spec.remediation.enable_disk_uuid,
        },
        process_server: pm.spec.process_server.clone().or_else(|| defaults.process_server.clone()).unwrap_or_default(),
        process_server_location: policy.spec.network.process_server_location.map(|l| match l {
            ProcessServerLocation::Azure => preflight::ProcessServerLocation::Azure,
            ProcessServerLocation::OnPremises => preflight::ProcessServerLocation::OnPremises,
        }),
        datastore: datastore(pm, policy),
        on_premises: existing_vm(pm).map(OnPremisesTarget::ExistingVm).unwrap_or(OnPremisesTarget::AlternateLocation),
        replication_group: pm.spec.replication_group.clone(),
        group_members,
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
            .map(|s| s.recorded_master_target_datastores.clone())
            .filter(|d| !d.is_empty()),
        network: policy.spec.network.connectivity.map(|c| match c {
            Connectivity::SiteToSiteVpn => NetworkKind::SiteToSiteVpn,
            Connectivity::ExpressRoutePrivatePeering => NetworkKind::ExpressRoutePrivatePeering,
        }),
        ..Desired::default()
    }
}

fn datastore(pm: &ProtectedMachine, policy: &ReprotectPolicy) -> Option<String> {
    pm.spec
        .alternate_location
        .as_ref()
        .and_then(|a| a.datastore.clone())
        .or_else(|| pm.spec.datastore.clone())
        .or_else(|| policy.spec.defaults.datastore.clone())
}

pub fn observed(obs: &Observation) -> Observed {
    Observed {
        vcenter: obs.vcenter.clone(),
        fabric: obs.fabric.clone(),
        item: obs.item.clone(),
        policies: obs.policies.clone(),
        discovered_vcenters: obs.discovered_vcenters.clone(),
        ambiguous_item: None,
    }
}

/// Blocking results that stop the machine, except those `decide` interprets itself and remediable ones.
pub fn gates(results: &[CheckResult]) -> Vec<Gate> {
    preflight::blocking(results)
        .filter(|r| !HANDLED_BY_DECIDE.contains(&r.id.as_ref()) && !r.remediable)
        .map(|r| Gate { id: r.id.to_string(), message: r.message.clone(), remedy: r.remedy.to_string() })
        .collect()
}

pub fn remediation(results: &[CheckResult], mt: &MasterTarget) -> Option<VmSelector> {
    results
        .iter()
        .any(|r| r.id == "mt-disk-enable-uuid" && r.status == Status::Fail && r.remediable)
        .then(|| VmSelector::Name(mt.spec.vcenter_vm_name.clone()))
}

pub fn powered_on_vm(pm: &ProtectedMachine, obs: &Observation) -> Option<VmSelector> {
    let selector = existing_vm(pm)?;
    let facts = obs.vcenter.as_ref()?.on_premises_vms.get(&selector.key())?.as_ref()?;
    (facts.power_state == Some(PowerState::PoweredOn)).then_some(selector)
}

pub fn watchdog(pm: &ProtectedMachine, obs: &Observation, results: &[CheckResult]) -> Watchdog {
    let risks = results
        .iter()
        .filter(|r| (r.id == "mt-no-snapshots" || r.id == "mt-storage-vmotion") && r.status == Status::Fail)
        .map(|r| format!("[{}] {}", r.id, r.message))
        .collect();
    Watchdog { on_premises_vm_powered_on: powered_on_vm(pm, obs).is_some(), master_target_risks: risks }
}

/// Members of the machine's replication group that are not ready for reprotect yet.
pub fn group_gate(ctx: &Context, pm: &ProtectedMachine) -> GroupGate {
    let Some(group) = &pm.spec.replication_group else { return GroupGate::Open };
    let ns = pm.namespace();
    let waiting: Vec<String> = ctx
        .stores
        .machines
        .state()
        .iter()
        .filter(|m| m.namespace() == ns && m.spec.replication_group.as_ref() == Some(group) && m.name_any() != pm.name_any())
        .filter(|m| !member_ready(m))
        .map(|m| m.name_any())
        .collect();
    if waiting.is_empty() { GroupGate::Open } else { GroupGate::WaitingFor(waiting) }
}

/// Whether a group member lets its peers go ahead (ready for reprotect, or already past it).
pub fn member_ready(m: &ProtectedMachine) -> bool {
    let Some(status) = &m.status else { return false };
    matches!(status.phase, Phase::Reprotecting | Phase::Protected)
        || (status.observed_generation == m.metadata.generation
            && crate::conditions::is_true(&status.conditions, condition_types::PREFLIGHT_PASSED))
}

fn failback_policy(policies: &[PolicyFacts]) -> Option<&PolicyFacts> {
    let inmage = |p: &&PolicyFacts| p.provider.as_deref().is_some_and(|x| x.eq_ignore_ascii_case("InMage"));
    let named =
        |p: &&PolicyFacts| format!("{} {}", p.name, p.friendly_name.as_deref().unwrap_or("")).to_ascii_lowercase().contains("failback");
    policies.iter().filter(inmage).find(named).or_else(|| policies.iter().find(inmage))
}

/// The InMage reprotect input, when every id could be resolved from the fabric and policies.
pub fn reprotect_request(desired: &Desired, policy: &ReprotectPolicy, obs: &Observation) -> Option<ReprotectRequest> {
    let item = obs.item.as_ref()?;
    let fabric: &FabricFacts = obs.fabric.as_ref()?;
    let mt = fabric.master_target(&desired.master_target.name_in_asr)?;
    let ps = fabric.process_server(&desired.process_server)?;
    let profile = failback_policy(obs.policies.as_deref()?)?;
    let run_as = policy.spec.defaults.run_as_account.as_ref().and_then(|want| {
        fabric
            .run_as_accounts
            .iter()
            .find(|a| a.account_name.eq_ignore_ascii_case(want) || a.account_id.eq_ignore_ascii_case(want))
            .map(|a| a.account_id.clone())
    });
    Some(ReprotectRequest {
        item_name: item.name.clone(),
        master_target_id: mt.id.clone(),
        process_server_id: ps.id.clone(),
        retention_drive: desired.master_target.retention_volume.clone()?,
        profile_id: profile.id.clone(),
        run_as_account_id: run_as,
        datastore_name: desired.datastore.clone()?,
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
        .find(|r| r.id == "agent-registered")
        .map(|r| format!("{} {}", r.message, r.remedy))
        .unwrap_or_else(|| "no site-to-site VPN or ExpressRoute private peering; configuration server port 443 unreachable from Azure; process server heartbeat missing".into())
}
