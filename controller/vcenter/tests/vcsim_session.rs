//! Connection, session and task behaviour against vcsim: TLS and credential errors, transparent re-login after the
//! session is terminated from outside, idempotent power-off / disk.EnableUUID, and failed-task fault mapping.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failed test

mod common;

use reprotect_facts::vcenter::{ObserveRequest, PowerState, Vcenter, VcenterError, VmSelector};
use reprotect_vcenter::{VcenterPool, VimVcenter};
use reprotect_vcsim_support::{TestCa, ToolsState, VmSpec};

fn req(mt: &str) -> ObserveRequest {
    ObserveRequest { master_target_vm: Some(VmSelector::Name(mt.into())), on_premises_vms: vec![] }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_ca_bundle_is_a_tls_error() {
    let sim = reprotect_vcsim_support::Vcsim::start().unwrap();
    let other = TestCa::generate("some other CA").unwrap();
    let cfg = reprotect_vcenter::ConnectionConfig { ca_bundle_pem: Some(other.ca_cert_pem), ..common::config(&sim) };
    let err = VimVcenter::connect(cfg, common::fast_options()).await.unwrap_err();
    assert!(matches!(err, VcenterError::Tls { .. }), "{err:?}");
    assert_eq!(err.category(), "vcenter-tls");
}

#[tokio::test(flavor = "multi_thread")]
async fn skipping_verification_is_opt_in_and_then_any_certificate_is_accepted() {
    let sim = reprotect_vcsim_support::Vcsim::start().unwrap();
    let cfg = reprotect_vcenter::ConnectionConfig { ca_bundle_pem: None, insecure_skip_verify: true, ..common::config(&sim) };
    VimVcenter::connect(cfg, common::fast_options()).await.expect("insecure connect");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_is_invalid_login_and_is_never_logged() {
    let sim = reprotect_vcsim_support::Vcsim::start().unwrap();
    let cfg = reprotect_vcenter::ConnectionConfig { password: "not-the-password".into(), ..common::config(&sim) };
    assert!(!format!("{cfg:?}").contains("not-the-password"));
    let err = VimVcenter::connect(cfg, common::fast_options()).await.unwrap_err();
    assert!(matches!(err, VcenterError::InvalidLogin { .. }), "{err:?}");
    assert!(!err.to_string().contains("not-the-password"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pool_shares_one_session_per_server_and_credentials_version() {
    let sim = reprotect_vcsim_support::Vcsim::start().unwrap();
    let pool = VcenterPool::new(common::fast_options());
    let a = pool.connect_vim(common::config(&sim)).await.unwrap();
    let b = pool.connect_vim(common::config(&sim)).await.unwrap();
    assert_eq!(a.session_key().await, b.session_key().await);
    let c =
        pool.connect_vim(reprotect_vcenter::ConnectionConfig { credentials_version: "2".into(), ..common::config(&sim) }).await.unwrap();
    assert_ne!(a.session_key().await, c.session_key().await);
    assert_eq!(pool.len().await, 1, "the new credentials version replaces the old connection");
    let dyn_vc = pool.connect(common::config(&sim)).await.unwrap();
    dyn_vc.observe(&ObserveRequest::default()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_terminated_from_another_session_is_logged_in_again() {
    let e = common::env().await;
    e.scenario.create_vm(&VmSpec::new("mt", "DC0_H0")).await.unwrap();
    e.vc.observe(&req("mt")).await.unwrap();
    let key = e.vc.session_key().await.unwrap();
    e.scenario.terminate_session(&key).await.unwrap();
    let f = e.vc.observe(&req("mt")).await.expect("re-login is transparent");
    assert!(f.master_target.is_some());
    assert_eq!(e.vc.login_count(), 2);
    assert_ne!(e.vc.session_key().await.unwrap(), key);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_logout_on_the_shared_client_is_healed_by_the_next_call_of_any_kind() {
    let e = common::env().await;
    e.scenario.create_vm(&VmSpec::new("mt", "DC0_H0")).await.unwrap();
    e.vc.logout_for_test().await.unwrap();
    e.vc.power_off(&VmSelector::Name("mt".into())).await.expect("task path re-logs in");
    e.vc.logout_for_test().await.unwrap();
    let r = req("mt");
    let (a, b) = tokio::join!(e.vc.observe(&r), e.vc.observe(&r));
    a.unwrap();
    b.unwrap();
    assert_eq!(e.vc.login_count(), 3, "concurrent callers share one re-login");
}

#[tokio::test(flavor = "multi_thread")]
async fn power_off_turns_a_powered_on_vm_off_and_repeating_it_succeeds() {
    let e = common::env().await;
    e.scenario.create_vm(&VmSpec::new("vm", "DC0_H0")).await.unwrap();
    let vm = VmSelector::Name("vm".into());
    e.vc.power_off(&vm).await.unwrap();
    let f = e.vc.observe(&ObserveRequest { master_target_vm: None, on_premises_vms: vec![vm.clone()] }).await.unwrap();
    assert_eq!(f.on_premises_vms["name:vm"].as_ref().unwrap().power_state, Some(PowerState::PoweredOff));
    e.vc.power_off(&vm).await.expect("already off is success, not InvalidPowerState");
}

#[tokio::test(flavor = "multi_thread")]
async fn enable_disk_uuid_sets_the_flag_and_repeating_it_succeeds() {
    let e = common::env().await;
    e.scenario.create_vm(&VmSpec { tools: ToolsState::NotInstalled, ..VmSpec::new("mt", "DC0_H0") }).await.unwrap();
    let mt = VmSelector::Name("mt".into());
    assert_eq!(e.vc.observe(&req("mt")).await.unwrap().master_target.unwrap().disk_enable_uuid, None);
    e.vc.enable_disk_uuid(&mt).await.unwrap();
    assert_eq!(e.vc.observe(&req("mt")).await.unwrap().master_target.unwrap().disk_enable_uuid, Some(true));
    e.vc.enable_disk_uuid(&mt).await.unwrap();
    assert_eq!(e.vc.observe(&req("mt")).await.unwrap().master_target.unwrap().disk_enable_uuid, Some(true));
}

#[tokio::test(flavor = "multi_thread")]
async fn operations_on_a_missing_vm_are_vm_not_found() {
    let e = common::env().await;
    let err = e.vc.power_off(&VmSelector::Name("nope".into())).await.unwrap_err();
    assert!(matches!(err, VcenterError::VmNotFound(_)), "{err:?}");
    let err = e.vc.enable_disk_uuid(&VmSelector::MoRef("vm-999999".into())).await.unwrap_err();
    assert!(matches!(err, VcenterError::VmNotFound(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_task_maps_to_task_failed_with_the_fault_name() {
    let e = common::env().await;
    let id = e.scenario.create_vm(&VmSpec::new("vm", "DC0_H0")).await.unwrap();
    let task = e.scenario.start_power_on(&id).await.unwrap();
    let err = e.vc.wait_for_task(&task.value, "PowerOnVM_Task").await.unwrap_err();
    match &err {
        VcenterError::TaskFailed { fault, .. } => assert_eq!(fault, "InvalidPowerState"),
        other => panic!("{other:?}"),
    }
    let task = e.scenario.start_destroy(&id).await.unwrap();
    let err = e.vc.wait_for_task(&task.value, "Destroy_Task").await.unwrap_err();
    assert!(matches!(&err, VcenterError::TaskFailed { fault, .. } if fault == "InvalidPowerState"), "{err:?}");
    // The session still works for later tasks (vim_rs's TaskTracker would be broken here).
    e.vc.power_off(&VmSelector::Name("vm".into())).await.unwrap();
}
