//! Table-driven rule tests, continued: datastores, the on-premises VM, groups, policy and notes.

use super::table::Row;
use crate::preflight::Status::{Fail, Pass, Unknown};
use crate::preflight::fixtures::*;
use crate::preflight::input::*;
use reprotect_facts::{AsrDatastoreFacts, PowerState, VmSelector};

pub(super) const ROWS: &[Row] = &[
    ("no datastore", |d, _| d.datastore = None, "datastore-specified", Fail),
    ("blank datastore", |d, _| d.datastore = Some("  ".into()), "datastore-specified", Fail),
    ("NFS datastore chosen", |d, _| d.datastore = Some("nfs-01".into()), "datastore-type", Fail),
    (
        "NFS per the configuration server only",
        |d, o| {
            d.datastore = Some("ds-remote".into());
            mt_asr(o).datastores.push(AsrDatastoreFacts {
                symbolic_name: "ds-remote".into(),
                datastore_type: Some("NFS".into()),
                ..AsrDatastoreFacts::default()
            });
        },
        "datastore-type",
        Fail,
    ),
    (
        "vSAN datastore chosen",
        |d, o| {
            d.datastore = Some("vsan-01".into());
            mt_asr(o).datastores.push(AsrDatastoreFacts {
                symbolic_name: "vsan-01".into(),
                datastore_type: Some("vsan".into()),
                ..AsrDatastoreFacts::default()
            });
        },
        "datastore-type",
        Pass,
    ),
    ("datastore seen nowhere", |d, _| d.datastore = Some("ds-ghost".into()), "datastore-type", Unknown),
    ("no datastore to type", |d, _| d.datastore = None, "datastore-type", Unknown),
    ("datastore not listed for the master target", |d, _| d.datastore = Some("ds-other".into()), "datastore-visible", Fail),
    ("no datastores listed (read-only discovery)", |_, o| mt_asr(o).datastores.clear(), "datastore-visible", Fail),
    ("fabric not observed", |_, o| o.fabric = None, "datastore-visible", Unknown),
    ("VM datastore mounted read-only", |_, o| mt_host(o).datastores[1].access_mode = Some("readOnly".into()), "vm-datastore-access", Fail),
    (
        "VM datastore not mounted on the master target host",
        |_, o| {
            mt_host(o).datastores.remove(1);
        },
        "vm-datastore-access",
        Fail,
    ),
    ("VM datastore inaccessible", |_, o| mt_host(o).datastores[1].accessible = Some(false), "vm-datastore-access", Fail),
    ("VM datastore access mode unreported", |_, o| mt_host(o).datastores[1].access_mode = None, "vm-datastore-access", Unknown),
    ("existing VM not observed", |_, o| vc(o).on_premises_vms.clear(), "vm-datastore-access", Unknown),
    ("alternate location needs no VM datastore", |d, _| d.on_premises = OnPremisesTarget::AlternateLocation, "vm-datastore-access", Pass),
    (
        "existing VM not found in vCenter",
        |_, o| {
            vc(o).on_premises_vms.insert("name:app-01".into(), None);
        },
        "alternate-location",
        Fail,
    ),
    (
        "alternate location on the master target's host",
        |d, _| d.on_premises = OnPremisesTarget::AlternateLocation,
        "alternate-location",
        Pass,
    ),
    (
        "alternate location, host unobserved",
        |d, o| {
            d.on_premises = OnPremisesTarget::AlternateLocation;
            vc(o).master_target_host = None;
        },
        "alternate-location",
        Unknown,
    ),
    (
        "existing VM by moref not observed",
        |d, _| d.on_premises = OnPremisesTarget::ExistingVm(VmSelector::MoRef("vm-999".into())),
        "alternate-location",
        Unknown,
    ),
    (
        "VM cloned from the master target's template",
        |_, o| {
            if let Some(disks) = vm(o).disks.as_mut() {
                disks[0].uuid = Some("6000c291 aaaa bbbb cccc 000000000001".into());
            }
        },
        "disk-uuid-unique",
        Fail,
    ),
    ("VM disks unreported", |_, o| vm(o).disks = None, "disk-uuid-unique", Unknown),
    ("master target disks unreported", |_, o| mt_vm(o).disks = None, "disk-uuid-unique", Unknown),
    ("VM with snapshots", |_, o| vm(o).snapshot_count = Some(3), "vm-snapshots-merged", Fail),
    ("VM snapshots unreported", |_, o| vm(o).snapshot_count = None, "vm-snapshots-merged", Unknown),
    ("VM powered on", |_, o| vm(o).power_state = Some(PowerState::PoweredOn), "vm-powered-off", Fail),
    ("VM power state unreported", |_, o| vm(o).power_state = None, "vm-powered-off", Unknown),
    // Groups and policy
    ("item in a group reprotected alone", |_, o| it(o).multi_vm_group_name = Some("rg-web".into()), "group-recovery-plan", Fail),
    ("group without member values", |d, _| d.replication_group = Some("rg-web".into()), "group-recovery-plan", Fail),
    (
        "spec names another group",
        |d, o| {
            d.replication_group = Some("rg-db".into());
            d.group_members = vec![member("web-02", "mt-win-01", Some(OsType::Windows))];
            it(o).multi_vm_group_name = Some("rg-web".into());
        },
        "group-recovery-plan",
        Fail,
    ),
    (
        "group with every member declared",
        |d, o| {
            d.replication_group = Some("rg-web".into());
            d.group_members = vec![member("web-02", "mt-win-01", Some(OsType::Windows))];
            it(o).multi_vm_group_name = Some("rg-web".into());
        },
        "group-recovery-plan",
        Pass,
    ),
    ("item not observed", |_, o| o.item = None, "group-recovery-plan", Unknown),
    (
        "group member on another master target",
        |d, _| {
            d.replication_group = Some("rg-web".into());
            d.group_members = vec![member("web-02", "mt-win-02", Some(OsType::Windows))];
        },
        "group-same-master-target",
        Fail,
    ),
    (
        "group members on the same master target",
        |d, _| {
            d.replication_group = Some("rg-web".into());
            d.group_members = vec![member("web-02", "MT-WIN-01", Some(OsType::Windows)), member("web-03", "mt-win-01", None)];
        },
        "group-same-master-target",
        Pass,
    ),
    ("group members undeclared", |_, o| it(o).multi_vm_group_name = Some("rg-web".into()), "group-same-master-target", Unknown),
    ("item not observed", |_, o| o.item = None, "group-same-master-target", Unknown),
    (
        "Linux member in a Windows group",
        |d, _| {
            d.replication_group = Some("rg-web".into());
            d.group_members = vec![member("db-01", "mt-win-01", Some(OsType::Linux))];
        },
        "group-os-match",
        Fail,
    ),
    (
        "member OS undeclared",
        |d, _| {
            d.replication_group = Some("rg-web".into());
            d.group_members = vec![member("db-01", "mt-win-01", None)];
        },
        "group-os-match",
        Unknown,
    ),
    (
        "no InMage failback policy",
        |_, o| o.policies = Some(policies().into_iter().filter(|p| p.provider.as_deref() != Some("InMage")).collect()),
        "failback-policy",
        Fail,
    ),
    (
        "failback RPO differs",
        |_, o| {
            if let Some(p) = o.policies.as_mut().and_then(|p| p.get_mut(1)) {
                p.rpo_threshold_minutes = Some(30);
            }
        },
        "failback-policy",
        Fail,
    ),
    (
        "failback policy values unreported",
        |_, o| {
            if let Some(p) = o.policies.as_mut().and_then(|p| p.get_mut(1)) {
                p.app_consistent_frequency_minutes = None;
            }
        },
        "failback-policy",
        Unknown,
    ),
    ("policies not observed", |_, o| o.policies = None, "failback-policy", Unknown),
    ("Linux machine", make_linux, "linux-failback-notes", Fail),
    (
        "machine OS unknown",
        |d, o| {
            d.os_type = None;
            it(o).os_type = None;
        },
        "linux-failback-notes",
        Unknown,
    ),
];
