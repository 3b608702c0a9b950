//! Table-driven rule tests for real-installation shapes: names spelled differently on each side, unknown providers,
//! OS reported differently, datastore types and access, run-as accounts, ambiguous items, policies.

use super::table::Row;
use crate::preflight::Status::{Fail, Pass, Unknown};
use crate::preflight::fixtures::*;
use crate::preflight::input::*;
use reprotect_facts::{AmbiguousItem, GuestFamily, HealthIssue, PolicyFacts, RunAsAccountFacts};

fn in_group(d: &mut Desired, members: Vec<GroupMember>) {
    d.replication_group = Some("rg-web".into());
    d.group_members = members;
}

/// Site Recovery's members of the group: the fixture's own item plus `others`.
fn azure_group(o: &mut Observed, others: &[&str]) {
    let mut items = vec![GroupItem { name: "app-01".into(), friendly_name: Some("app-01".into()) }];
    items.extend(others.iter().map(|n| GroupItem { name: format!("{n}-guid"), friendly_name: Some((*n).into()) }));
    o.group_items = Some(items);
}

/// A member whose spec resolves to Site Recovery's item `<name>-guid`.
fn declared(name: &str) -> GroupMember {
    GroupMember { item_name: Some(format!("{name}-guid")), ..member(name, "mt-win-01", Some(OsType::Windows)) }
}

fn inmage(id: &str, name: &str) -> PolicyFacts {
    PolicyFacts {
        id: id.into(),
        name: name.into(),
        provider: Some("InMage".into()),
        rpo_threshold_minutes: Some(15),
        recovery_point_history_minutes: Some(1440),
        app_consistent_frequency_minutes: Some(60),
        ..PolicyFacts::default()
    }
}

pub(super) const ROWS: &[Row] = &[
    // The discovery account Azure reports for the vCenter.
    (
        "vCenter discovery account no longer listed by the configuration server",
        |_, o| {
            fab(o).run_as_accounts = vec![RunAsAccountFacts { account_id: "2".into(), account_name: "vcenter-admin".into() }];
            if let Some(v) = o.discovered_vcenters.as_mut().and_then(|v| v.first_mut()) {
                v.run_as_account_id = Some("7".into());
            }
        },
        "vcenter-discovered",
        Fail,
    ),
    (
        "vCenter discovery account listed by the configuration server",
        |_, o| {
            fab(o).run_as_accounts = vec![RunAsAccountFacts { account_id: "2".into(), account_name: "vcenter-admin".into() }];
            if let Some(v) = o.discovered_vcenters.as_mut().and_then(|v| v.first_mut()) {
                v.run_as_account_id = Some("2".into());
            }
        },
        "vcenter-discovered",
        Pass,
    ),
    // Group completeness: Site Recovery's members, not only the declared ones.
    (
        "group member Azure has and nobody declared",
        |d, o| {
            in_group(d, vec![declared("web-02")]);
            azure_group(o, &["web-02", "db-01"]);
        },
        "group-complete",
        Fail,
    ),
    (
        "every member Azure has is declared",
        |d, o| {
            in_group(d, vec![declared("web-02"), declared("db-01")]);
            azure_group(o, &["web-02", "db-01"]);
        },
        "group-complete",
        Pass,
    ),
    (
        "a member declared by an item Azure does not group is no substitute",
        |d, o| {
            in_group(d, vec![declared("web-02"), declared("web-03")]);
            azure_group(o, &["web-02", "db-01"]);
        },
        "group-complete",
        Fail,
    ),
    ("group items not observed", |d, _| in_group(d, vec![declared("web-02")]), "group-complete", Unknown),
    ("machine in no group", |_, o| azure_group(o, &[]), "group-complete", Pass),
    // vCenter discovery: any accepted spelling of the server, and discovery health.
    ("vCenter given as an SDK URL", |d, _| d.vcenter_server = "https://vcenter.contoso.local/sdk".into(), "vcenter-discovered", Pass),
    ("vCenter given as IP and port", |d, _| d.vcenter_server = "10.0.0.10:443".into(), "vcenter-discovered", Pass),
    ("vCenter given by short name in upper case", |d, _| d.vcenter_server = "VCENTER".into(), "vcenter-discovered", Pass),
    (
        "vCenter on another port than discovered",
        |d, o| {
            d.vcenter_server = "10.0.0.10:8443".into();
            if let Some(v) = o.discovered_vcenters.as_mut().and_then(|v| v.first_mut()) {
                v.port = Some(443);
            }
        },
        "vcenter-discovered",
        Fail,
    ),
    (
        "vCenter discovery failed",
        |_, o| {
            if let Some(v) = o.discovered_vcenters.as_mut().and_then(|v| v.first_mut()) {
                v.discovery_status = Some("Failed".into());
            }
        },
        "vcenter-discovered",
        Fail,
    ),
    (
        "vCenter discovery reports a health error",
        |_, o| {
            if let Some(v) = o.discovered_vcenters.as_mut().and_then(|v| v.first_mut()) {
                v.health_errors = vec![HealthIssue { message: Some("credentials expired".into()), ..HealthIssue::default() }];
            }
        },
        "vcenter-discovered",
        Fail,
    ),
    (
        "vCenter discovery still pending",
        |_, o| {
            if let Some(v) = o.discovered_vcenters.as_mut().and_then(|v| v.first_mut()) {
                v.discovery_status = Some("Pending".into());
            }
        },
        "vcenter-discovered",
        Unknown,
    ),
    // Run-as account.
    ("run-as account not known", |d, _| d.run_as_account = Some("vcenter-admin".into()), "run-as-account", Fail),
    (
        "run-as account known by name",
        |d, o| {
            d.run_as_account = Some("VCenter-Admin".into());
            fab(o).run_as_accounts = vec![RunAsAccountFacts { account_id: "2".into(), account_name: "vcenter-admin".into() }];
        },
        "run-as-account",
        Pass,
    ),
    (
        "run-as account with the fabric unobserved",
        |d, o| {
            d.run_as_account = Some("vcenter-admin".into());
            o.fabric = None;
        },
        "run-as-account",
        Unknown,
    ),
    // Item identity and provider.
    (
        "friendly name shared by two items",
        |_, o| {
            o.item = None;
            o.ambiguous_item = Some(AmbiguousItem { friendly_name: "app-01".into(), candidates: vec!["a-1".into(), "a-2".into()] });
        },
        "item-unique",
        Fail,
    ),
    ("item not observed", |_, o| o.item = None, "item-unique", Unknown),
    // One item, one owner; one VM per name.
    ("an older ProtectedMachine names the same item", |_, o| o.earlier_owner = Some("team-a/app-01".into()), "item-owner", Fail),
    ("item not observed, so no owner", |_, o| o.item = None, "item-owner", Unknown),
    (
        "on-premises VM name shared by two VMs",
        |_, o| {
            let vc = o.vcenter.as_mut().expect("fixture observes vCenter");
            vc.on_premises_vms.insert("name:app-01".into(), None);
            vc.ambiguous_vms.insert("name:app-01".into(), vec!["vm-11".into(), "vm-12".into()]);
        },
        "vm-unambiguous",
        Fail,
    ),
    (
        "master target VM name shared by two VMs",
        |d, o| {
            let key = reprotect_facts::VmSelector::Name(d.master_target.vcenter_vm_name.clone()).key();
            o.vcenter.as_mut().expect("fixture observes vCenter").ambiguous_vms.insert(key, vec!["vm-20".into(), "vm-21".into()]);
        },
        "vm-unambiguous",
        Fail,
    ),
    ("vCenter not observed, so VM names unchecked", |_, o| o.vcenter = None, "vm-unambiguous", Unknown),
    ("item on a newer replication provider", |_, o| it(o).provider = Some("InMageRcm".into()), "supported-provider", Fail),
    ("item provider unreported", |_, o| it(o).provider = None, "supported-provider", Unknown),
    (
        "unknown provider without VM id is not a configuration server failure",
        |_, o| {
            it(o).provider = Some("InMageRcm".into());
            it(o).vm_id = None;
        },
        "cs-knows-vm",
        Unknown,
    ),
    // Operating systems on every side.
    ("Linux on-premises VM for a Windows item", |_, o| vm(o).guest_family = Some(GuestFamily::Linux), "os-match", Fail),
    ("master target declared Windows but Linux in ASR", |_, o| mt_asr(o).os_type = Some("Linux".into()), "os-match", Fail),
    ("machine OS only from Azure", |d, _| d.os_type = None, "os-match", Pass),
    ("item Linux in Azure, declared Windows", |_, o| it(o).os_type = Some("Linux".into()), "os-match", Fail),
    (
        "member without osType reported Windows by Azure",
        |d, _| {
            let mut m = member("web-02", "mt-win-01", None);
            m.reported_os = Some(OsType::Windows);
            in_group(d, vec![m]);
        },
        "group-os-match",
        Pass,
    ),
    (
        "member without osType reported Linux by Azure",
        |d, _| {
            let mut m = member("db-01", "mt-win-01", None);
            m.reported_os = Some(OsType::Linux);
            in_group(d, vec![m]);
        },
        "group-os-match",
        Fail,
    ),
    // Group master target identity: ASR names are compared, Kubernetes names only shown.
    (
        "members' MasterTarget named differently from its ASR name",
        |d, _| in_group(d, vec![member_via("web-02", "mt-win", "mt-win-01", Some(OsType::Windows))]),
        "group-same-master-target",
        Pass,
    ),
    (
        "member's MasterTarget has another ASR name",
        |d, _| in_group(d, vec![member_via("web-02", "mt-win", "mt-win-02", Some(OsType::Windows))]),
        "group-same-master-target",
        Fail,
    ),
    (
        "member's MasterTarget not resolved",
        |d, _| in_group(d, vec![member_via("web-02", "mt-gone", "", Some(OsType::Windows))]),
        "group-same-master-target",
        Unknown,
    ),
    // Retention volume file systems.
    (
        "retention volume formatted FAT16",
        |_, o| mt_asr(o).retention_volumes[0].file_system = Some("FAT16".into()),
        "retention-volume",
        Fail,
    ),
    ("retention volume formatted vfat", |_, o| mt_asr(o).retention_volumes[0].file_system = Some("vfat".into()), "retention-volume", Fail),
    (
        "retention volume formatted exFAT",
        |_, o| mt_asr(o).retention_volumes[0].file_system = Some("exFAT".into()),
        "retention-volume",
        Fail,
    ),
    ("retention volume spelled r: in the spec", |d, _| d.master_target.retention_volume = Some("r:".into()), "retention-volume", Pass),
    // Datastore types and access.
    ("NFS41 datastore chosen", |_, o| mt_host(o).datastores[0].datastore_type = "NFS41".into(), "datastore-type", Fail),
    ("nfs datastore chosen", |_, o| mt_host(o).datastores[0].datastore_type = "nfs".into(), "datastore-type", Fail),
    ("vsan datastore chosen", |_, o| mt_host(o).datastores[0].datastore_type = "vsan".into(), "datastore-type", Pass),
    ("vVol datastore chosen", |_, o| mt_host(o).datastores[0].datastore_type = "VVOL".into(), "datastore-type", Unknown),
    (
        "every VMFS datastore of the master target host inaccessible",
        |_, o| {
            for d in &mut mt_host(o).datastores {
                d.accessible = Some(false);
            }
        },
        "mt-vmfs-datastore",
        Fail,
    ),
    (
        "chosen datastore mounted read-only",
        |_, o| mt_host(o).datastores[0].access_mode = Some("readOnly".into()),
        "datastore-writable",
        Fail,
    ),
    ("chosen datastore inaccessible", |_, o| mt_host(o).datastores[0].accessible = Some(false), "datastore-writable", Fail),
    ("chosen datastore unmounted", |_, o| mt_host(o).datastores[0].mounted = Some(false), "datastore-writable", Fail),
    ("chosen datastore not on the host", |d, _| d.datastore = Some("ds-elsewhere".into()), "datastore-writable", Fail),
    ("chosen datastore access mode unreported", |_, o| mt_host(o).datastores[0].access_mode = None, "datastore-writable", Unknown),
    ("master target host unobserved", |_, o| vc(o).master_target_host = None, "datastore-writable", Unknown),
    ("datastore spelled in upper case", |d, _| d.datastore = Some("DS-VMFS-01".into()), "datastore-writable", Pass),
    // Failback policy: the one tied to the item's forward policy.
    (
        "two InMage policies, one created with the item's forward policy",
        |_, o| {
            it(o).policy_id = Some("p1".into());
            o.policies = Some(vec![
                PolicyFacts { id: "p1".into(), name: "forward".into(), provider: Some("InMageAzureV2".into()), ..PolicyFacts::default() },
                PolicyFacts { rpo_threshold_minutes: Some(30), ..inmage("p3", "other-failback") },
                inmage("p2", "forward-failback"),
            ]);
        },
        "failback-policy",
        Pass,
    ),
    (
        "two InMage policies and none tied to the item",
        |_, o| {
            if let Some(p) = o.policies.as_mut() {
                p.push(inmage("p3", "other-failback"));
            }
        },
        "failback-policy",
        Fail,
    ),
];
