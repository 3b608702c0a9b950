//! Every vCenter fact the controller needs, read back through `Vcenter::observe` against vcsim, each in a
//! scenario where it holds and one where it does not.
//!
//! What vcsim cannot model, and where it is covered instead:
//! - Licence edition: vcsim always assigns the "eval" licence (no free-ESXi edition). The read path is tested here
//!   (edition = "eval"); classification of free editions is a unit test over hand-built `HostFacts`
//!   (`HostFacts::is_free_edition`, reprotect-facts), and the vcsim-ext wrapper can set the edition.
//! - Read-only / unmounted / inaccessible datastore mounts: vcsim always reports readWrite + mounted; the read path is
//!   tested (access_mode = "readWrite"); readOnly needs vcsim-ext or hand-built `DatastoreFacts` in controller tests.
//! - A real VMFS/vSAN datastore: vcsim cannot create one; a NAS datastore created with `type: "VMFS"` stands in
//!   (`summary.type` echoes the type), and `type: "NFS"` is the negative case. LocalDS_0 reports "OTHER".
//! - Privileges: vcsim grants everything to everyone. Denied datastore privileges are tested with vcsim-ext
//!   (`-deny-privilege`, `vcsim_ext_facts.rs`); "cannot see the host's datastores" (vCenter hides them from
//!   `host.datastore`) is only reachable through the unit tests in `src/observe_map.rs`.
//! - Licence edition and read-only / inaccessible mounts: see `vcsim_ext_facts.rs` (vcsim-ext flags).
//! - Usernames containing '@' (administrator@vsphere.local): vcsim's fixed-login check rejects them even when
//!   given exactly; the fixtures use a plain user name.
//! - Storage vMotion of the master target: vcsim's relocate is cosmetic; not observed by this crate.
//! - Wrong password: vcsim with fixed credentials (our main / vcsim-ext) does reject it, tested in `vcsim_session.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failed test

mod common;

use reprotect_facts::vcenter::{GuestFamily, ObserveRequest, PowerState, Vcenter, VmSelector};
use reprotect_vcenter::{PoolOptions, VimVcenter};
use reprotect_vcsim_support::{DiskSpec, ScsiKind, ToolsState, VmSpec};

fn name(n: &str) -> VmSelector {
    VmSelector::Name(n.into())
}

fn mt_request(mt: &str, vms: &[&str]) -> ObserveRequest {
    ObserveRequest { master_target_vm: Some(name(mt)), on_premises_vms: vms.iter().map(|v| name(v)).collect() }
}

#[tokio::test(flavor = "multi_thread")]
async fn disk_enable_uuid_is_read_from_the_last_extra_config_entry() {
    let e = common::env().await;
    let s = &e.scenario;
    let set = VmSpec { disk_enable_uuid: Some(true), ..VmSpec::new("mt-set", "DC0_H0") };
    let unset = VmSpec::new("mt-unset", "DC0_H0");
    let flipped = VmSpec { disk_enable_uuid: Some(true), ..VmSpec::new("mt-flipped", "DC0_H0") };
    s.create_vm(&set).await.unwrap();
    s.create_vm(&unset).await.unwrap();
    let id = s.create_vm(&flipped).await.unwrap();
    s.set_extra_config(&id, "disk.EnableUUID", "FALSE").await.unwrap();

    let f = e.vc.observe(&mt_request("mt-set", &["mt-unset", "mt-flipped"])).await.unwrap();
    assert_eq!(f.master_target.unwrap().disk_enable_uuid, Some(true));
    assert_eq!(f.on_premises_vms["name:mt-unset"].as_ref().unwrap().disk_enable_uuid, None);
    assert_eq!(f.on_premises_vms["name:mt-flipped"].as_ref().unwrap().disk_enable_uuid, Some(false));
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshots_on_the_master_target_are_counted() {
    let e = common::env().await;
    e.scenario.create_vm(&VmSpec::new("mt-clean", "DC0_H0")).await.unwrap();
    e.scenario.create_vm(&VmSpec { snapshots: 2, ..VmSpec::new("mt-snap", "DC0_H0") }).await.unwrap();
    let clean = e.vc.observe(&mt_request("mt-clean", &[])).await.unwrap();
    assert_eq!(clean.master_target.unwrap().snapshot_count, Some(0));
    let snap = e.vc.observe(&mt_request("mt-snap", &[])).await.unwrap();
    assert_eq!(snap.master_target.unwrap().snapshot_count, Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn scsi_controller_wire_types_distinguish_lsi_logic_from_paravirtual() {
    let e = common::env().await;
    e.scenario.create_vm(&VmSpec { scsi: ScsiKind::LsiLogic, ..VmSpec::new("mt-lsi", "DC0_H0") }).await.unwrap();
    e.scenario.create_vm(&VmSpec { scsi: ScsiKind::ParaVirtual, ..VmSpec::new("mt-pv", "DC0_H0") }).await.unwrap();
    let f = e.vc.observe(&mt_request("mt-lsi", &["mt-pv"])).await.unwrap();
    let lsi = f.master_target.unwrap().scsi_controllers.unwrap();
    assert!(lsi.iter().any(|c| c == "VirtualLsiLogicController"), "{lsi:?}");
    assert!(!lsi.iter().any(|c| c == "ParaVirtualSCSIController"), "{lsi:?}");
    let pv = f.on_premises_vms["name:mt-pv"].as_ref().unwrap().scsi_controllers.clone().unwrap();
    assert!(pv.iter().any(|c| c == "ParaVirtualSCSIController"), "{pv:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn vmware_tools_running_and_not_installed_are_told_apart() {
    let e = common::env().await;
    e.scenario.create_vm(&VmSpec { tools: ToolsState::Running, ..VmSpec::new("mt-tools", "DC0_H0") }).await.unwrap();
    e.scenario.create_vm(&VmSpec { tools: ToolsState::NotInstalled, ..VmSpec::new("mt-notools", "DC0_H0") }).await.unwrap();
    let f = e.vc.observe(&mt_request("mt-tools", &["mt-notools"])).await.unwrap();
    let t = f.master_target.unwrap().tools;
    assert_eq!(t.status.as_deref(), Some("toolsOk"));
    assert_eq!(t.installed_and_running(), Some(true));
    let n = f.on_premises_vms["name:mt-notools"].as_ref().unwrap().tools.clone();
    assert_eq!(n.status.as_deref(), Some("toolsNotInstalled"));
    assert_eq!(n.installed_and_running(), Some(false));
}

#[tokio::test(flavor = "multi_thread")]
async fn guest_family_is_windows_or_linux_by_guest_id() {
    let e = common::env().await;
    e.scenario.create_vm(&VmSpec::new("mt-win", "DC0_H0")).await.unwrap();
    e.scenario.create_vm(&VmSpec { guest_id: "rhel7_64Guest".into(), ..VmSpec::new("mt-linux", "DC0_H0") }).await.unwrap();
    let f = e.vc.observe(&mt_request("mt-win", &["mt-linux"])).await.unwrap();
    let win = f.master_target.unwrap();
    assert_eq!(win.guest_family, Some(GuestFamily::Windows));
    assert_eq!(win.guest_id.as_deref(), Some("windows9Server64Guest"));
    assert_eq!(f.on_premises_vms["name:mt-linux"].as_ref().unwrap().guest_family, Some(GuestFamily::Linux));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_master_target_host_lists_vmfs_and_nfs_datastores_with_their_types() {
    let e = common::env().await;
    e.scenario.add_datastore("DC0_H0", "vmfs1", "VMFS").await.unwrap();
    e.scenario.add_datastore("DC0_H0", "nfs1", "NFS").await.unwrap();
    e.scenario.add_datastore("DC0_C0_H0", "elsewhere", "VMFS").await.unwrap();
    e.scenario.create_vm(&VmSpec::new("mt", "DC0_H0")).await.unwrap();
    let f = e.vc.observe(&mt_request("mt", &[])).await.unwrap();
    let host = f.master_target_host.expect("host facts");
    assert_eq!(host.name, "DC0_H0");
    assert!(host.product_full_name.as_deref().unwrap_or("").contains("ESXi"), "{:?}", host.product_full_name);
    assert_eq!(host.license_edition.as_deref(), Some("eval"));
    let by_name = |n: &str| host.datastores.iter().find(|d| d.name == n).cloned();
    let vmfs = by_name("vmfs1").expect("vmfs1 attached");
    assert!(vmfs.is_vmfs_or_vsan());
    assert!(!by_name("nfs1").expect("nfs1 attached").is_vmfs_or_vsan());
    assert_eq!(by_name("LocalDS_0").expect("LocalDS_0").datastore_type, "OTHER");
    assert!(by_name("elsewhere").is_none(), "a datastore of another host is not attached to the MT host");
    assert!(vmfs.capacity_bytes.is_some() && vmfs.free_bytes.is_some());
    assert_eq!(vmfs.accessible, Some(true));
    let perms = f.permissions.expect("permissions probed");
    assert!(perms.can_see_host_datastores, "vcsim grants everything");
}

#[tokio::test(flavor = "multi_thread")]
async fn on_premises_vms_are_reported_present_or_missing_with_power_state() {
    let e = common::env().await;
    let s = &e.scenario;
    s.create_vm(&VmSpec::new("mt", "DC0_H0")).await.unwrap();
    s.create_vm(&VmSpec::new("vm-on", "DC0_H0")).await.unwrap();
    s.create_vm(&VmSpec { powered_on: false, ..VmSpec::new("vm-off", "DC0_H0") }).await.unwrap();
    let gone = s.create_vm(&VmSpec::new("vm-gone", "DC0_H0")).await.unwrap();
    s.delete_vm(&gone).await.unwrap();
    let f = e.vc.observe(&mt_request("mt", &["vm-on", "vm-off", "vm-gone", "never-existed"])).await.unwrap();
    assert_eq!(f.on_premises_vms["name:vm-on"].as_ref().unwrap().power_state, Some(PowerState::PoweredOn));
    assert_eq!(f.on_premises_vms["name:vm-off"].as_ref().unwrap().power_state, Some(PowerState::PoweredOff));
    assert_eq!(f.on_premises_vms["name:vm-gone"], None);
    assert_eq!(f.on_premises_vms["name:never-existed"], None);
    let by_moref = e.vc.observe(&ObserveRequest { master_target_vm: None, on_premises_vms: vec![VmSelector::MoRef(gone)] }).await.unwrap();
    assert_eq!(by_moref.on_premises_vms.values().next().unwrap(), &None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vm_is_found_by_the_bios_uuid_site_recovery_records_whatever_its_case() {
    let e = common::env().await;
    let s = &e.scenario;
    s.create_vm(&VmSpec::new("mt", "DC0_H0")).await.unwrap();
    let uuid = "4217abcd-0000-1111-2222-333344445555";
    s.create_vm(&VmSpec { bios_uuid: Some(uuid.into()), ..VmSpec::new("recorded", "DC0_H0") }).await.unwrap();
    s.create_vm(&VmSpec::new("other", "DC0_H0")).await.unwrap();
    let by_uuid = VmSelector::Uuid(uuid.to_uppercase());
    let f = e.vc.observe(&ObserveRequest { master_target_vm: None, on_premises_vms: vec![by_uuid.clone()] }).await.unwrap();
    let vm = f.on_premises_vms[&by_uuid.key()].as_ref().expect("found by its BIOS UUID");
    assert_eq!(vm.name, "recorded");
    let missing = VmSelector::Uuid("4217abcd-ffff-ffff-ffff-ffffffffffff".into());
    let f = e.vc.observe(&ObserveRequest { master_target_vm: None, on_premises_vms: vec![missing.clone()] }).await.unwrap();
    assert_eq!(f.on_premises_vms[&missing.key()], None);
    assert!(f.ambiguous_vms.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn disk_backing_uuids_file_names_and_datastores_are_read_unique_or_clashing() {
    let e = common::env().await;
    let s = &e.scenario;
    let shared = DiskSpec { capacity_kb: 1024, uuid: Some("6000c291-aaaa-bbbb-cccc-000000000001".into()) };
    s.create_vm(&VmSpec::new("mt", "DC0_H0")).await.unwrap();
    s.create_vm(&VmSpec { disks: vec![shared.clone()], ..VmSpec::new("a", "DC0_H0") }).await.unwrap();
    s.create_vm(&VmSpec { disks: vec![shared.clone()], ..VmSpec::new("b", "DC0_C0_H0") }).await.unwrap();
    s.create_vm(&VmSpec::new("c", "DC0_H0")).await.unwrap();
    let f = e.vc.observe(&mt_request("mt", &["a", "b", "c"])).await.unwrap();
    let disk = |n: &str| f.on_premises_vms[&format!("name:{n}")].as_ref().unwrap().disks.clone().unwrap()[0].clone();
    assert_eq!(disk("a").uuid, shared.uuid);
    assert_eq!(disk("a").uuid, disk("b").uuid, "clashing UUIDs are reported as they are");
    assert_ne!(disk("a").uuid, disk("c").uuid);
    assert!(disk("c").file_name.unwrap().starts_with("[LocalDS_0]"));
    assert!(disk("c").datastore.is_some());
    assert!(disk("c").controller_key.is_some());
    let b = f.on_premises_vms["name:b"].as_ref().unwrap();
    let b_host = b.host.clone().unwrap();
    assert!(f.hosts.contains_key(&b_host), "hosts of on-premises VMs are observed too");
    assert_ne!(Some(b_host), f.master_target.unwrap().host);
}

#[tokio::test(flavor = "multi_thread")]
async fn observing_a_master_target_and_twenty_vms_takes_two_round_trips_then_one_while_the_name_index_is_young() {
    let e = common::env().await;
    e.scenario.create_vm(&VmSpec::new("mt", "DC0_H0")).await.unwrap();
    let names: Vec<String> = (0..20).map(|i| format!("vm{i:03}")).collect();
    for n in &names {
        e.scenario.create_vm(&VmSpec { powered_on: false, tools: ToolsState::NotInstalled, ..VmSpec::new(n, "DC0_H0") }).await.unwrap();
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let first = e.vc.observe(&mt_request("mt", &refs)).await.unwrap();
    assert!(first.on_premises_vms.values().all(Option::is_some));
    // First call: view creation + names + batch + licence (LicenseManager property + query) + privileges.
    assert!(first.round_trips <= 6, "{}", first.round_trips);
    let again = e.vc.observe(&mt_request("mt", &refs)).await.unwrap();
    assert_eq!(again.round_trips, 1, "within names_max_age: the shared name index + one batched read");
}

#[tokio::test(flavor = "multi_thread")]
async fn observations_share_one_name_index_until_it_is_older_than_its_max_age_and_a_power_off_resolves_afresh() {
    let e = common::env().await;
    let options = PoolOptions { names_max_age: std::time::Duration::from_secs(2), ..common::fast_options() };
    let vc = VimVcenter::connect(common::config(&e.sim), options).await.unwrap();
    e.scenario.create_vm(&VmSpec::new("mt", "DC0_H0")).await.unwrap();
    let request = mt_request("mt", &["late"]);
    assert_eq!(vc.observe(&request).await.unwrap().on_premises_vms["name:late"], None);

    e.scenario.create_vm(&VmSpec::new("late", "DC0_H0")).await.unwrap();
    let shared = vc.observe(&request).await.unwrap();
    assert_eq!(shared.on_premises_vms["name:late"], None, "the index read before the VM existed is shared");
    assert_eq!(shared.round_trips, 1, "no name read: only the batch");
    vc.power_off(&VmSelector::Name("late".into())).await.expect("a write resolves its VM afresh, not from the index");

    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let fresh = vc.observe(&request).await.unwrap();
    assert_eq!(fresh.round_trips, 2, "an index older than its max age is read again");
    let late = fresh.on_premises_vms["name:late"].as_ref().expect("found once the index is read again");
    assert_eq!(late.power_state, Some(PowerState::PoweredOff));
}
