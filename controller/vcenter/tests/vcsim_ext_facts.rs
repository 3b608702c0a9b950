//! Facts the vSphere API cannot set on vcsim, set through `vcsim-ext` flags (tests/tools/vmware/vcsim-ext) and read
//! back through `Vcenter::observe`: free-edition licence, read-only / inaccessible datastore mounts, denied privileges.
//! Each has its counterpart on plain vcsim (eval licence, readWrite + accessible, everything granted).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failed test

mod common;

use reprotect_facts::vcenter::{ObserveRequest, Vcenter, VcenterFacts, VmSelector};
use reprotect_vcenter::VimVcenter;
use reprotect_vcsim_support::{Scenario, Vcsim, VmSpec};

async fn observe_mt(sim: &Vcsim) -> VcenterFacts {
    let scenario = Scenario::connect(sim).await.unwrap();
    scenario.create_vm(&VmSpec::new("mt", "DC0_H0")).await.unwrap();
    let vc = VimVcenter::connect(common::config(sim), common::fast_options()).await.unwrap();
    let req = ObserveRequest { master_target_vm: Some(VmSelector::Name("mt".into())), on_premises_vms: vec![] };
    vc.observe(&req).await.unwrap()
}

fn local_ds(f: &VcenterFacts) -> reprotect_facts::vcenter::DatastoreFacts {
    f.master_target_host.as_ref().unwrap().datastores.iter().find(|d| d.name == "LocalDS_0").cloned().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_free_esxi_licence_is_read_as_a_free_edition_and_eval_is_not() {
    let free = observe_mt(&Vcsim::start_ext(&["-edition", "esxBasic"]).unwrap()).await;
    let host = free.master_target_host.unwrap();
    assert_eq!(host.license_edition.as_deref(), Some("esxBasic"));
    assert_eq!(host.is_free_edition(), Some(true));
    let eval = observe_mt(&Vcsim::start_ext(&[]).unwrap()).await;
    assert_eq!(eval.master_target_host.unwrap().is_free_edition(), Some(false));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_mount_on_the_master_target_host_is_reported() {
    let ro = observe_mt(&Vcsim::start_ext(&["-readonly-datastore", "LocalDS_0@DC0_H0"]).unwrap()).await;
    assert_eq!(local_ds(&ro).access_mode.as_deref(), Some("readOnly"));
    let rw = observe_mt(&Vcsim::start_ext(&["-readonly-datastore", "LocalDS_0@DC0_C0_H0"]).unwrap()).await;
    assert_ne!(local_ds(&rw).access_mode.as_deref(), Some("readOnly"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_inaccessible_datastore_is_reported() {
    let bad = observe_mt(&Vcsim::start_ext(&["-inaccessible-datastore", "LocalDS_0"]).unwrap()).await;
    assert_eq!(local_ds(&bad).accessible, Some(false));
    let ok = observe_mt(&Vcsim::start_ext(&[]).unwrap()).await;
    assert_eq!(local_ds(&ok).accessible, Some(true));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_datastore_privilege_is_listed_as_missing() {
    let denied = observe_mt(&Vcsim::start_ext(&["-deny-privilege", "Datastore.AllocateSpace@LocalDS_0"]).unwrap()).await;
    let p = denied.permissions.unwrap();
    assert!(p.missing_privileges.contains(&"Datastore.AllocateSpace@LocalDS_0".to_string()), "{p:?}");
    let granted = observe_mt(&Vcsim::start_ext(&[]).unwrap()).await;
    let p = granted.permissions.unwrap();
    assert!(p.can_see_host_datastores);
    assert!(p.missing_privileges.is_empty(), "{p:?}");
}
