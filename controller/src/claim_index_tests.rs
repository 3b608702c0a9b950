//! The claim index against the watch events a machines' store follows.

use super::*;
use crate::crd::ProtectedMachineStatus;

const ID: &str = "/Subscriptions/S/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/replicationFabrics/f/replicationProtectionContainers/c/replicationProtectedItems/App-01";

fn machine(name: &str, item: Option<&str>, friendly: Option<&str>, recorded_id: Option<&str>) -> ProtectedMachine {
    let mut pm: ProtectedMachine = crate::testing::example(include_str!("../../examples/03-machines.yaml"), "app-01");
    pm.metadata.name = Some(name.into());
    pm.spec.item.name = item.map(Into::into);
    pm.spec.item.friendly_name = friendly.map(Into::into);
    pm.status = recorded_id.map(|id| ProtectedMachineStatus { protected_item_id: Some(id.into()), ..Default::default() });
    pm
}

fn item(name: &str, friendly: Option<&str>) -> ProtectedItemFacts {
    ProtectedItemFacts {
        id: ID.replace("App-01", name).into(),
        name: name.into(),
        friendly_name: friendly.map(Into::into),
        ..ProtectedItemFacts::default()
    }
}

fn names(refs: Vec<ObjectRef<ProtectedMachine>>) -> Vec<String> {
    let mut names: Vec<String> = refs.into_iter().map(|r| r.name).collect();
    names.sort();
    names
}

fn listed(index: &ClaimIndex, machines: Vec<ProtectedMachine>) {
    index.apply(&Event::Init);
    for pm in machines {
        index.apply(&Event::InitApply(pm));
    }
    index.apply(&Event::InitDone);
}

#[test]
fn a_machine_is_found_by_its_item_name_or_recorded_item_id_whatever_the_case_and_not_by_another_item() {
    let index = ClaimIndex::default();
    listed(
        &index,
        vec![
            machine("by-name", Some("APP-01"), None, None),
            machine("by-id", Some("renamed"), None, Some(&ID.to_ascii_lowercase())),
            machine("other", Some("app-02"), None, None),
        ],
    );
    assert_eq!(names(index.naming(&item("app-01", None))), ["by-id", "by-name"]);
    assert_eq!(names(index.naming(&item("app-02", None))), ["other"]);
    assert!(index.naming(&item("app-03", None)).is_empty());
}

#[test]
fn a_friendly_name_claims_only_for_a_machine_without_an_item_name() {
    let index = ClaimIndex::default();
    listed(&index, vec![machine("friendly", None, Some("Web Server"), None), machine("named", Some("app-09"), Some("web server"), None)]);
    assert_eq!(names(index.naming(&item("app-01", Some("web server")))), ["friendly"]);
}

#[test]
fn an_update_moves_a_machine_to_its_new_item_and_a_delete_removes_it() {
    let index = ClaimIndex::default();
    listed(&index, vec![machine("m", Some("app-01"), None, None)]);
    index.apply(&Event::Apply(machine("m", Some("app-02"), None, None)));
    assert!(index.naming(&item("app-01", None)).is_empty());
    assert_eq!(names(index.naming(&item("app-02", None))), ["m"]);
    index.apply(&Event::Delete(machine("m", Some("app-02"), None, None)));
    assert!(index.naming(&item("app-02", None)).is_empty());
    assert_eq!(index.indexed(), 0);
}

#[test]
fn a_relist_forgets_the_machines_it_no_longer_lists_and_keeps_the_others() {
    let index = ClaimIndex::default();
    listed(&index, vec![machine("kept", Some("app-01"), None, None), machine("gone", Some("app-01"), None, None)]);
    listed(&index, vec![machine("kept", Some("app-01"), None, None)]);
    assert_eq!(names(index.naming(&item("app-01", None))), ["kept"]);
    assert_eq!(index.indexed(), 1);
}
