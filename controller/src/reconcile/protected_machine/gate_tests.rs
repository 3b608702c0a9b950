//! Whole-pass tests of what holds a machine back: failing checks, ambiguous or duplicate names, pause, plan mode, its group.

use super::test_world::World;
use crate::crd::{Mode, Phase, ProtectedMachine, ProtectedMachineStatus};
use crate::preflight::fixtures;
use crate::testing::example;
use jiff::SignedDuration;
use kube::ResourceExt;
use reprotect_facts::PowerState;
use std::sync::Arc;

#[tokio::test]
async fn a_check_that_fails_is_listed_with_its_evidence_and_remedy_and_one_that_passes_by_its_id_only() {
    let mut w = World::single();
    w.vc.with(|f| f.master_target.as_mut().map(|m| m.snapshot_count = Some(2)));
    w.pass().await;
    let checks = &w.status().checks;
    let failing = checks.iter().find(|c| c.id == "mt-no-snapshots").expect("the snapshot check ran");
    assert_eq!(failing.status, "Fail");
    assert!(failing.message.contains('2') && !failing.remedy.is_empty(), "what was seen and what to do stay: {failing:?}");
    assert!(checks.iter().all(|c| c.status != "Pass"), "{checks:#?}");
    let passed = &w.status().passed_check_ids;
    assert!(passed.iter().any(|id| id == "cs-heartbeat") && !passed.iter().any(|id| id == "mt-no-snapshots"), "{passed:?}");

    // Two machines whose checks passed alike hold one list of ids.
    let mut other = World::single();
    other.pass().await;
    let mut again = World::single();
    again.pass().await;
    assert!(std::ptr::eq(&*other.status().passed_check_ids, &*again.status().passed_check_ids));
}

#[tokio::test]
async fn a_friendly_name_two_items_share_blocks_as_ambiguous_item_naming_both_and_never_posts() {
    let mut w = World::single();
    w.pm.spec.item.name = None;
    w.pm.spec.item.friendly_name = Some("app-01".into());
    w.sr.with(|v| {
        let mut twin = v.items[0].clone();
        twin.name = "app-01-restored".into();
        twin.id = format!("{}-restored", twin.id).into();
        v.items.push(twin);
    });
    w.pass().await;
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::Blocked, "AmbiguousItem"));
    let message = w.status().conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.message.clone()).unwrap_or_default();
    assert!(message.contains("app-01-restored") && message.contains("item-unique"), "{message}");
    assert_eq!(w.sr.posts(), 0);
}

#[tokio::test]
async fn a_paused_machine_takes_no_action_at_all() {
    let mut w = World::single();
    w.vc.with(|f| f.on_premises_vms.values_mut().flatten().for_each(|vm| vm.power_state = Some(PowerState::PoweredOn)));
    w.pm.annotations_mut().insert("reprotect.io/paused".into(), "true".into());
    let outcome = w.pass().await;
    assert_eq!(w.status().phase, Phase::Paused);
    assert!(outcome.notes.iter().all(|n| n.action == "PhaseChange"));
    assert_eq!(w.sr.posts(), 0);
    assert!(w.vc.powered_off.lock().unwrap().is_empty());
}

#[tokio::test]
async fn plan_mode_lists_the_power_off_and_the_reprotect_and_does_neither() {
    let mut w = World::single();
    w.policy.spec.mode = Mode::Plan;
    w.vc.with(|f| f.on_premises_vms.values_mut().flatten().for_each(|vm| vm.power_state = Some(PowerState::PoweredOn)));
    w.pass().await;
    let planned = &w.status().planned_actions;
    assert_eq!(planned.len(), 2, "{planned:?}");
    assert!(planned[0].starts_with("power off on-premises VM app-01") && planned[1].starts_with("reprotect app-01"), "{planned:?}");
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::Validating, "Planned"));
    assert!(w.status().conditions.iter().filter(|c| c.type_ != "PreflightPassed").all(|c| c.status == "False"), "plan mode is idle");
    assert_eq!(w.sr.posts(), 0);
    assert!(w.vc.powered_off.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_group_member_waits_for_its_peers_and_goes_once_they_are_ready() {
    let mut w = World::new("app-01");
    let mut peer: ProtectedMachine = example(include_str!("../../../../examples/03-machines.yaml"), "app-02");
    w.peers = vec![Arc::new(peer.clone())];
    w.pass().await;
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::Validating, "WaitingForGroup"));
    assert!(w.status().conditions.iter().any(|c| c.message.contains(&peer.name_any())));
    assert_eq!(w.sr.posts(), 0);

    peer.status = Some(ProtectedMachineStatus { phase: Phase::Reprotecting, ..Default::default() });
    w.peers = vec![Arc::new(peer)];
    w.pass().await;
    assert_eq!((w.status().phase, w.sr.posts()), (Phase::Reprotecting, 1));
}

#[tokio::test]
async fn a_group_with_a_member_azure_has_but_nobody_declared_is_blocked_as_incomplete_until_the_policy_allows_it() {
    let mut w = World::new("app-01");
    let mut peer: ProtectedMachine = example(include_str!("../../../../examples/03-machines.yaml"), "app-02");
    peer.status = Some(ProtectedMachineStatus { phase: Phase::Reprotecting, ..Default::default() });
    w.peers = vec![Arc::new(peer)];
    // Site Recovery groups three items; the third (a GUID name, friendly name app-03) has no ProtectedMachine.
    w.sr.with(|v| {
        v.items[0].multi_vm_group_name = Some("app-group".into());
        for (name, friendly) in [("app-02", "app-02"), ("4cf82a59-0b1c", "app-03")] {
            let mut it = v.items[0].clone();
            (it.name, it.friendly_name) = (name.into(), Some(friendly.into()));
            v.items.push(it);
        }
    });
    w.pass().await;
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::Blocked, "IncompleteGroup"));
    let message = w.status().conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.message.clone()).unwrap_or_default();
    assert!(message.contains("app-03") && !message.contains("4cf82a59"), "names the member a person knows: {message}");
    assert_eq!(w.sr.posts(), 0);

    w.policy.spec.allow_partial_groups = true;
    w.pass().await;
    assert_eq!((w.status().phase, w.sr.posts()), (Phase::Reprotecting, 1), "a partial group the policy allows goes ahead");
}

#[tokio::test]
async fn a_machine_naming_an_item_that_an_older_machine_owns_is_blocked_as_duplicate_and_never_posts() {
    let mut w = World::single();
    let mut older = w.pm.clone();
    older.metadata.namespace = Some("team-a".into());
    older.metadata.creation_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(fixtures::now() - SignedDuration::from_hours(1)));
    w.pm.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(fixtures::now()));
    // Its policy is the same vault's, in its own namespace.
    let mut its_policy = w.policy.clone();
    its_policy.metadata.namespace = Some("team-a".into());
    w.others = vec![(Arc::new(older), Some(Arc::new(its_policy)))];
    w.pass().await;
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::Blocked, "DuplicateItem"));
    let ready = w.status().conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.message.clone()).unwrap_or_default();
    assert!(ready.contains("team-a/app-01"), "names the owner: {ready}");
    assert_eq!(w.sr.posts(), 0);

    // The older one is deleted: the item has one owner again and this machine goes ahead.
    w.others.clear();
    w.pass().await;
    assert_eq!((w.status().phase, w.sr.posts()), (Phase::Reprotecting, 1));
}

#[tokio::test]
async fn an_on_premises_vm_name_shared_by_two_vms_blocks_as_ambiguous_and_nothing_is_powered_off() {
    let mut w = World::single();
    w.policy.spec.power_off_on_premises_vm = true;
    w.vc.with(|f| {
        let key = f.on_premises_vms.keys().next().cloned().expect("fixture has the on-premises VM");
        f.on_premises_vms.insert(key.clone(), None);
        f.ambiguous_vms.insert(key, vec!["vm-11".into(), "vm-12".into()]);
    });
    w.pass().await;
    assert_eq!((w.status().phase, w.reason().as_str()), (Phase::Blocked, "AmbiguousVm"));
    let ready = w.status().conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.message.clone()).unwrap_or_default();
    assert!(ready.contains("vm-11") && ready.contains("vm-12"), "{ready}");
    assert_eq!(w.sr.posts(), 0);
    assert!(w.vc.powered_off.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_power_off_selects_the_vm_by_the_identity_observed_not_by_its_name() {
    let mut w = World::single();
    w.policy.spec.power_off_on_premises_vm = true;
    let moref = w.vc.with(|f| {
        let vm = f.on_premises_vms.values_mut().flatten().next().expect("fixture has the on-premises VM");
        vm.power_state = Some(PowerState::PoweredOn);
        vm.moref.clone()
    });
    w.pass().await;
    assert_eq!(*w.vc.powered_off.lock().unwrap(), vec![reprotect_facts::VmSelector::MoRef(moref)]);
}

#[tokio::test]
async fn the_vm_site_recovery_records_for_the_item_is_chosen_over_a_name_that_matches_two_vms() {
    let mut w = World::single();
    w.policy.spec.power_off_on_premises_vm = true;
    w.item(|i| i.vm_id = Some("4217ABCD-0000-1111-2222-333344445555".into()));
    w.vc.with(|f| {
        let key = f.on_premises_vms.keys().next().cloned().expect("fixture has the on-premises VM");
        let mut vm = f.on_premises_vms.get(&key).cloned().flatten().expect("found");
        f.on_premises_vms.insert(key.clone(), None);
        f.ambiguous_vms.insert(key, vec!["vm-11".into(), "vm-12".into()]);
        vm.moref = "vm-12".into();
        vm.power_state = Some(PowerState::PoweredOn);
        f.on_premises_vms.insert(reprotect_facts::VmSelector::Uuid("4217abcd-0000-1111-2222-333344445555".into()).key(), Some(vm));
    });
    w.pass().await;
    assert_ne!(w.reason(), "AmbiguousVm", "the recorded identity decides, not the shared name");
    assert_eq!(*w.vc.powered_off.lock().unwrap(), vec![reprotect_facts::VmSelector::MoRef("vm-12".into())]);
}
