//! Test fixtures: a healthy Windows machine with everything in place, and accessors to mutate its parts.

use super::input::*;
use jiff::{SignedDuration, Timestamp};
use reprotect_facts::*;
use std::collections::BTreeMap;

pub(crate) fn now() -> Timestamp {
    "2024-05-01T12:00:00Z".parse().expect("valid timestamp")
}

pub(crate) fn ago(mins: i64) -> Timestamp {
    now() - SignedDuration::from_mins(mins)
}

pub(crate) const GIB: i64 = 1 << 30;

pub(crate) fn healthy_desired() -> Desired {
    Desired {
        machine_name: "app-01".into(),
        os_type: Some(OsType::Windows),
        master_target: DesiredMasterTarget {
            name_in_asr: "mt-win-01".into(),
            vcenter_vm_name: "mt-win-01".into(),
            os_type: Some(OsType::Windows),
            retention_volume: None,
            allow_enable_disk_uuid: false,
        },
        process_server: "ps-azure-01".into(),
        process_server_location: Some(ProcessServerLocation::Azure),
        datastore: Some("ds-vmfs-01".into()),
        on_premises: OnPremisesTarget::ExistingVm(VmSelector::Name("app-01".into())),
        vcenter_server: "vcenter.contoso.local".into(),
        network: Some(NetworkKind::SiteToSiteVpn),
        ..Desired::default()
    }
}

fn datastore(moref: &str, name: &str, kind: &str) -> DatastoreFacts {
    DatastoreFacts {
        moref: moref.into(),
        name: name.into(),
        datastore_type: kind.into(),
        capacity_bytes: Some(2048 * GIB),
        free_bytes: Some(1024 * GIB),
        accessible: Some(true),
        access_mode: Some("readWrite".into()),
        mounted: Some(true),
    }
}

fn disk(key: i32, uuid: &str, ds: &str) -> DiskFacts {
    DiskFacts {
        key,
        uuid: Some(uuid.into()),
        file_name: Some(format!("[{ds}] disk-{key}.vmdk")),
        datastore: Some(ds.into()),
        controller_key: Some(1000),
    }
}

pub(crate) fn host() -> HostFacts {
    HostFacts {
        moref: "host-10".into(),
        name: "esx01.contoso.local".into(),
        product_full_name: Some("VMware ESXi 7.0.3".into()),
        license_edition: Some("esx.enterprisePlus.cpuPackage".into()),
        datastores: vec![
            datastore("datastore-1", "ds-vmfs-01", "VMFS"),
            datastore("datastore-2", "ds-app", "VMFS"),
            datastore("datastore-3", "nfs-01", "NFS"),
        ],
    }
}

pub(crate) fn master_target_vm() -> VmFacts {
    VmFacts {
        power_state: Some(PowerState::PoweredOn),
        guest_id: Some("windows9Server64Guest".into()),
        guest_family: Some(GuestFamily::Windows),
        disk_enable_uuid: Some(true),
        snapshot_count: Some(0),
        scsi_controllers: Some(vec!["VirtualLsiLogicSASController".into()]),
        tools: ToolsFacts { status: Some("toolsOk".into()), running_status: Some("guestToolsRunning".into()) },
        disks: Some(vec![disk(2000, "6000C291-aaaa-bbbb-cccc-000000000001", "datastore-1")]),
        host: Some("host-10".into()),
        datastores: vec!["datastore-1".into()],
        ..VmFacts::named("vm-100", "mt-win-01")
    }
}

pub(crate) fn on_premises_vm() -> VmFacts {
    VmFacts {
        power_state: Some(PowerState::PoweredOff),
        guest_id: Some("windows9Server64Guest".into()),
        guest_family: Some(GuestFamily::Windows),
        snapshot_count: Some(0),
        disks: Some(vec![disk(2000, "6000C292-dddd-eeee-ffff-000000000002", "datastore-2")]),
        host: Some("host-10".into()),
        datastores: vec!["datastore-2".into()],
        ..VmFacts::named("vm-200", "app-01")
    }
}

pub(crate) fn fabric() -> FabricFacts {
    FabricFacts {
        id: "fabric-cs01".into(),
        name: "cs01".into(),
        host_name: Some("cs01.contoso.local".into()),
        ip_address: Some("10.0.0.4".into()),
        last_heartbeat: Some(ago(2)),
        process_servers: vec![ProcessServerFacts {
            id: "ps-guid-1".into(),
            friendly_name: "ps-azure-01".into(),
            last_heartbeat: Some(ago(1)),
            health: Some("Normal".into()),
            ..ProcessServerFacts::default()
        }],
        master_targets: vec![MasterTargetServerFacts {
            id: "mt-guid-1".into(),
            name: "mt-win-01".into(),
            os_type: Some("Windows".into()),
            last_heartbeat: Some(ago(1)),
            retention_volumes: vec![RetentionVolumeFacts {
                volume_name: "R:\\".into(),
                capacity_bytes: Some(100 * GIB),
                free_space_bytes: Some(90 * GIB),
                file_system: Some("NTFS".into()),
                ..RetentionVolumeFacts::default()
            }],
            datastores: vec![
                AsrDatastoreFacts {
                    symbolic_name: "ds-vmfs-01".into(),
                    datastore_type: Some("VMFS".into()),
                    ..AsrDatastoreFacts::default()
                },
                AsrDatastoreFacts { symbolic_name: "ds-app".into(), datastore_type: Some("VMFS".into()), ..AsrDatastoreFacts::default() },
            ],
            ..MasterTargetServerFacts::default()
        }],
        ..FabricFacts::default()
    }
}

/// The failed-over Azure VM of the fixture's item.
pub(crate) const AZURE_VM_ID: &str = "/subscriptions/s/resourceGroups/rg-asr/providers/Microsoft.Compute/virtualMachines/app-01";

pub(crate) fn item() -> ProtectedItemFacts {
    ProtectedItemFacts {
        id: "/subscriptions/s/replicationProtectedItems/app-01".into(),
        name: "app-01".into(),
        friendly_name: Some("app-01".into()),
        protection_state: Some("FailedOver".into()),
        active_location: Some("Recovery".into()),
        allowed_operations: vec!["ReverseReplicate", "DisableProtection"].into(),
        provider: Some("InMageAzureV2".into()),
        last_successful_failover_time: Some(ago(120)),
        agent_last_heartbeat: Some(ago(5)),
        os_type: Some("Windows".into()),
        os_name: Some("Windows Server 2016 Datacenter".into()),
        discovery_type: Some("vCenter".into()),
        vm_id: Some("vm-guid-200".into()),
        target_vm_id: Some(AZURE_VM_ID.into()),
        ..ProtectedItemFacts::default()
    }
}

pub(crate) fn policies() -> Vec<PolicyFacts> {
    vec![
        PolicyFacts { id: "p1".into(), name: "forward".into(), provider: Some("InMageAzureV2".into()), ..PolicyFacts::default() },
        PolicyFacts {
            id: "p2".into(),
            name: "failback-policy".into(),
            provider: Some("InMage".into()),
            rpo_threshold_minutes: Some(15),
            recovery_point_history_minutes: Some(1440),
            app_consistent_frequency_minutes: Some(60),
            ..PolicyFacts::default()
        },
    ]
}

pub(crate) fn healthy_observed() -> Observed {
    let vcenter = VcenterFacts {
        master_target: Some(master_target_vm()),
        master_target_host: Some(host()),
        on_premises_vms: BTreeMap::from([("name:app-01".to_owned(), Some(on_premises_vm()))]),
        hosts: BTreeMap::from([("host-10".to_owned(), host())]),
        permissions: Some(PermissionFacts { can_see_host_datastores: true, missing_privileges: Vec::new() }),
        ambiguous_vms: BTreeMap::new(),
        round_trips: 2,
    };
    Observed {
        vcenter: Some(vcenter),
        fabric: Some(fabric()),
        item: Some(item()),
        policies: Some(policies()),
        discovered_vcenters: Some(vec![DiscoveredVcenterFacts {
            name: "vcenter.contoso.local".into(),
            ip_address: Some("10.0.0.10".into()),
            discovery_status: Some("Connected".into()),
            ..DiscoveredVcenterFacts::default()
        }]),
        ambiguous_item: None,
        earlier_owner: None,
        group_items: None,
    }
}

// Accessors into the healthy observation, for mutation closures (fixtures always have these parts).
pub(crate) fn vc(o: &mut Observed) -> &mut VcenterFacts {
    o.vcenter.as_mut().expect("fixture has vCenter facts")
}
pub(crate) fn mt_vm(o: &mut Observed) -> &mut VmFacts {
    vc(o).master_target.as_mut().expect("fixture has the master target VM")
}
pub(crate) fn mt_host(o: &mut Observed) -> &mut HostFacts {
    vc(o).master_target_host.as_mut().expect("fixture has the master target host")
}
pub(crate) fn vm(o: &mut Observed) -> &mut VmFacts {
    vc(o).on_premises_vms.get_mut("name:app-01").and_then(Option::as_mut).expect("fixture has the on-premises VM")
}
pub(crate) fn fab(o: &mut Observed) -> &mut FabricFacts {
    o.fabric.as_mut().expect("fixture has the fabric")
}
pub(crate) fn mt_asr(o: &mut Observed) -> &mut MasterTargetServerFacts {
    &mut fab(o).master_targets[0]
}
pub(crate) fn ps(o: &mut Observed) -> &mut ProcessServerFacts {
    &mut fab(o).process_servers[0]
}
pub(crate) fn it(o: &mut Observed) -> &mut ProtectedItemFacts {
    o.item.as_mut().expect("fixture has the protected item")
}
/// A group member whose MasterTarget `mt` has the ASR name `mt` too (see `member_via` for one that differs).
pub(crate) fn member(name: &str, mt: &str, os: Option<OsType>) -> GroupMember {
    member_via(name, mt, mt, os)
}
pub(crate) fn member_via(name: &str, mt: &str, mt_asr_name: &str, os: Option<OsType>) -> GroupMember {
    GroupMember {
        machine_name: name.into(),
        master_target_name: mt.into(),
        master_target_asr_name: mt_asr_name.into(),
        os_type: os,
        reported_os: None,
        item_name: Some(name.into()),
    }
}
/// Make the desired machine and master target Linux, consistently on every side.
pub(crate) fn make_linux(d: &mut Desired, o: &mut Observed) {
    d.os_type = Some(OsType::Linux);
    d.master_target.os_type = Some(OsType::Linux);
    it(o).os_type = Some("Linux".into());
    mt_asr(o).os_type = Some("Linux".into());
    mt_asr(o).retention_volumes[0].volume_name = "/mnt/retention".into();
    mt_asr(o).retention_volumes[0].file_system = Some("ext4".into());
    vm(o).guest_family = Some(GuestFamily::Linux);
}
