//! Table-driven rule tests: each row mutates the healthy fixture and expects one rule's status.

use crate::preflight::Status::{self, Fail, Pass, Unknown};
use crate::preflight::fixtures::*;
use crate::preflight::input::*;

/// `(what the row shows, mutation of the healthy fixture, rule id, expected status)`.
pub(super) type Row = (&'static str, fn(&mut Desired, &mut Observed), &'static str, Status);

pub(super) const ROWS: &[Row] = &[
    // Infrastructure
    ("configuration server heartbeat an hour old", |_, o| fab(o).last_heartbeat = Some(ago(60)), "cs-heartbeat", Fail),
    ("configuration server without heartbeat", |_, o| fab(o).last_heartbeat = None, "cs-heartbeat", Fail),
    ("fabric not observed", |_, o| o.fabric = None, "cs-heartbeat", Unknown),
    ("process server in critical health", |_, o| ps(o).health = Some("Critical".into()), "ps-heartbeat", Fail),
    ("process server heartbeat stale", |_, o| ps(o).last_heartbeat = Some(ago(16)), "ps-heartbeat", Fail),
    ("process server not registered", |d, _| d.process_server = "ps-other".into(), "ps-heartbeat", Fail),
    ("process server found by id", |d, _| d.process_server = "PS-GUID-1".into(), "ps-heartbeat", Pass),
    ("fabric not observed", |_, o| o.fabric = None, "ps-heartbeat", Unknown),
    (
        "on-premises process server over a S2S VPN",
        |d, _| d.process_server_location = Some(ProcessServerLocation::OnPremises),
        "ps-placement",
        Fail,
    ),
    (
        "on-premises process server over ExpressRoute private peering",
        |d, _| {
            d.process_server_location = Some(ProcessServerLocation::OnPremises);
            d.network = Some(NetworkKind::ExpressRoutePrivatePeering);
        },
        "ps-placement",
        Pass,
    ),
    ("process server location undeclared", |d, _| d.process_server_location = None, "ps-placement", Unknown),
    ("replication over the Internet", |d, _| d.network = Some(NetworkKind::Internet), "replication-network", Fail),
    (
        "replication over ExpressRoute public peering",
        |d, _| d.network = Some(NetworkKind::ExpressRoutePublicPeering),
        "replication-network",
        Fail,
    ),
    ("network undeclared", |d, _| d.network = None, "replication-network", Unknown),
    ("target vCenter not discovered", |d, _| d.vcenter_server = "vcenter-dr.contoso.local".into(), "vcenter-discovered", Fail),
    ("target vCenter named by IP", |d, _| d.vcenter_server = "10.0.0.10".into(), "vcenter-discovered", Pass),
    ("discovered vCenters not observed", |_, o| o.discovered_vcenters = None, "vcenter-discovered", Unknown),
    ("no vCenter in the spec", |d, _| d.vcenter_server = String::new(), "vcenter-discovered", Unknown),
    (
        "read-only vCenter account",
        |_, o| {
            if let Some(p) = vc(o).permissions.as_mut() {
                p.can_see_host_datastores = false;
                p.missing_privileges = vec!["Datastore.Browse".into()];
            }
        },
        "vcenter-permissions",
        Fail,
    ),
    ("permissions not probed", |_, o| vc(o).permissions = None, "vcenter-permissions", Unknown),
    ("master target host on free ESXi", |_, o| mt_host(o).license_edition = Some("esxBasic".into()), "esxi-edition", Fail),
    (
        "on-premises VM host on free ESXi",
        |_, o| {
            let mut free = host();
            free.moref = "host-20".into();
            free.name = "esx-free".into();
            free.license_edition = Some("esx.hypervisor.free".into());
            vc(o).hosts.insert("host-20".into(), free);
            vm(o).host = Some("host-20".into());
        },
        "esxi-edition",
        Fail,
    ),
    ("host licence unreported", |_, o| mt_host(o).license_edition = None, "esxi-edition", Unknown),
    ("master target host not observed", |_, o| vc(o).master_target_host = None, "esxi-edition", Unknown),
    // The machine
    ("migration completed", |_, o| it(o).protection_state = Some("MigrationCompleted".into()), "failback-possible", Fail),
    ("item missing from the vault", |_, o| o.item = None, "failback-possible", Unknown),
    (
        "machine still on-premises",
        |_, o| {
            it(o).active_location = Some("Primary".into());
            it(o).protection_state = Some("Protected".into());
            it(o).allowed_operations = vec!["PlannedFailover"].into();
        },
        "failed-over",
        Fail,
    ),
    (
        "already reprotected",
        |_, o| {
            it(o).active_location = Some("Recovery".into());
            it(o).provider = Some("InMage".into());
            it(o).protection_state = Some("Protected".into());
            it(o).allowed_operations = Default::default();
        },
        "failed-over",
        Pass,
    ),
    ("active location unreported", |_, o| it(o).active_location = None, "failed-over", Unknown),
    ("configuration server does not know the VM", |_, o| it(o).vm_id = None, "cs-knows-vm", Fail),
    ("item not observed", |_, o| o.item = None, "cs-knows-vm", Unknown),
    ("agent silent two hours after failover", |_, o| it(o).agent_last_heartbeat = Some(ago(180)), "agent-registered", Fail),
    (
        "agent not back five minutes after failover",
        |_, o| {
            it(o).last_successful_failover_time = Some(ago(5));
            it(o).agent_last_heartbeat = Some(ago(30));
        },
        "agent-registered",
        Unknown,
    ),
    ("failover time unreported", |_, o| it(o).last_successful_failover_time = None, "agent-registered", Unknown),
    (
        "Windows Server 2008 R2 SP1 protected as physical",
        |_, o| {
            it(o).discovery_type = Some("PhysicalServer".into());
            it(o).os_name = Some("Windows Server 2008 R2 SP1".into());
        },
        "unsupported-source",
        Fail,
    ),
    ("Windows Server 2016 protected as physical", |_, o| it(o).discovery_type = Some("PhysicalServer".into()), "unsupported-source", Pass),
    (
        "physical server without OS name",
        |_, o| {
            it(o).discovery_type = Some("PhysicalServer".into());
            it(o).os_name = None;
        },
        "unsupported-source",
        Unknown,
    ),
    ("discovery type unreported", |_, o| it(o).discovery_type = None, "unsupported-source", Unknown),
    ("Windows VM with a Linux master target", |d, _| d.master_target.os_type = Some(OsType::Linux), "os-match", Fail),
    (
        "Linux VM per the item with a Windows master target",
        |d, o| {
            d.os_type = None;
            it(o).os_type = Some("Linux".into());
        },
        "os-match",
        Fail,
    ),
    ("master target OS from the configuration server", |d, _| d.master_target.os_type = None, "os-match", Pass),
    (
        "machine OS nowhere",
        |d, o| {
            d.os_type = None;
            it(o).os_type = None;
        },
        "os-match",
        Unknown,
    ),
    // Master target
    ("master target not registered", |d, _| d.master_target.name_in_asr = "mt-other".into(), "mt-heartbeat", Fail),
    ("master target heartbeat stale", |_, o| mt_asr(o).last_heartbeat = Some(ago(45)), "mt-heartbeat", Fail),
    ("fabric not observed", |_, o| o.fabric = None, "mt-heartbeat", Unknown),
    (
        "configuration server reports a master target validation error",
        |_, o| {
            mt_asr(o).validation_errors.push(reprotect_facts::HealthIssue {
                message: Some("disk.EnableUUID is not set".into()),
                recommended_action: Some("Set disk.EnableUUID=TRUE".into()),
                ..Default::default()
            })
        },
        "mt-asr-health",
        Fail,
    ),
    ("master target not registered", |d, _| d.master_target.name_in_asr = "mt-other".into(), "mt-asr-health", Unknown),
    ("master target VM not in vCenter", |_, o| vc(o).master_target = None, "mt-vm-found", Fail),
    ("vCenter not observed", |_, o| o.vcenter = None, "mt-vm-found", Unknown),
    (
        "VMware Tools not installed",
        |_, o| {
            mt_vm(o).tools.status = Some("toolsNotInstalled".into());
            mt_vm(o).tools.running_status = Some("guestToolsNotRunning".into());
        },
        "mt-vmware-tools",
        Fail,
    ),
    ("VMware Tools status unreported", |_, o| mt_vm(o).tools.status = None, "mt-vmware-tools", Unknown),
    ("disk.EnableUUID false", |_, o| mt_vm(o).disk_enable_uuid = Some(false), "mt-disk-enable-uuid", Fail),
    ("disk.EnableUUID absent", |_, o| mt_vm(o).disk_enable_uuid = None, "mt-disk-enable-uuid", Fail),
    ("master target VM not in vCenter", |_, o| vc(o).master_target = None, "mt-disk-enable-uuid", Unknown),
    ("vCenter not observed", |_, o| o.vcenter = None, "mt-disk-enable-uuid", Unknown),
    ("master target with a snapshot", |_, o| mt_vm(o).snapshot_count = Some(1), "mt-no-snapshots", Fail),
    ("snapshot tree unreported", |_, o| mt_vm(o).snapshot_count = None, "mt-no-snapshots", Unknown),
    (
        "Paravirtual controller next to LSI Logic",
        |_, o| {
            mt_vm(o).scsi_controllers = Some(vec!["VirtualLsiLogicController".into(), "ParaVirtualSCSIController".into()]);
        },
        "mt-scsi-controller",
        Fail,
    ),
    (
        "only a BusLogic controller",
        |_, o| mt_vm(o).scsi_controllers = Some(vec!["VirtualBusLogicController".into()]),
        "mt-scsi-controller",
        Fail,
    ),
    ("SCSI controllers unreported", |_, o| mt_vm(o).scsi_controllers = None, "mt-scsi-controller", Unknown),
    ("only NFS on the master target host", |_, o| mt_host(o).datastores.retain(|d| d.datastore_type == "NFS"), "mt-vmfs-datastore", Fail),
    (
        "VMFS datastore unmounted",
        |_, o| {
            for d in &mut mt_host(o).datastores {
                if d.datastore_type == "VMFS" {
                    d.mounted = Some(false);
                }
            }
        },
        "mt-vmfs-datastore",
        Fail,
    ),
    ("host unobserved, configuration server lists VMFS", |_, o| vc(o).master_target_host = None, "mt-vmfs-datastore", Pass),
    (
        "host unobserved, no typed datastore",
        |_, o| {
            vc(o).master_target_host = None;
            mt_asr(o).datastores.iter_mut().for_each(|d| d.datastore_type = None);
        },
        "mt-vmfs-datastore",
        Unknown,
    ),
    (
        "master target disks moved",
        |d, _| d.recorded_master_target_datastores = Some(vec!["datastore-9".into()]),
        "mt-storage-vmotion",
        Fail,
    ),
    (
        "protected disks attached from another datastore",
        |d, o| {
            d.recorded_master_target_datastores = Some(vec!["datastore-1".into()]);
            mt_vm(o).datastores.push("datastore-2".into());
        },
        "mt-storage-vmotion",
        Pass,
    ),
    (
        "master target migrated off its recorded datastore",
        |d, o| {
            d.recorded_master_target_datastores = Some(vec!["datastore-1".into()]);
            mt_vm(o).datastores = vec!["datastore-2".into()];
            mt_vm(o).disks.iter_mut().flatten().for_each(|k| k.datastore = Some("datastore-2".into()));
        },
        "mt-storage-vmotion",
        Fail,
    ),
    (
        "master target disks where recorded (moref)",
        |d, _| d.recorded_master_target_datastores = Some(vec!["datastore-1".into()]),
        "mt-storage-vmotion",
        Pass,
    ),
    (
        "master target disks where recorded (name)",
        |d, _| d.recorded_master_target_datastores = Some(vec!["ds-vmfs-01".into()]),
        "mt-storage-vmotion",
        Pass,
    ),
    (
        "recorded datastores, master target unobserved",
        |d, o| {
            d.recorded_master_target_datastores = Some(vec!["datastore-1".into()]);
            o.vcenter = None;
        },
        "mt-storage-vmotion",
        Unknown,
    ),
    ("retention volume with zero capacity", |_, o| mt_asr(o).retention_volumes[0].capacity_bytes = Some(0), "retention-volume", Fail),
    (
        "retention volume formatted FAT32",
        |_, o| mt_asr(o).retention_volumes[0].file_system = Some("FAT32".into()),
        "retention-volume",
        Fail,
    ),
    ("retention volume not listed yet", |d, _| d.master_target.retention_volume = Some("S:".into()), "retention-volume", Unknown),
    ("retention volume spelled r:\\", |d, _| d.master_target.retention_volume = Some("r:\\".into()), "retention-volume", Pass),
    ("retention volume spelled R", |d, _| d.master_target.retention_volume = Some("R".into()), "retention-volume", Pass),
    ("Linux default retention volume", make_linux, "retention-volume", Pass),
    (
        "no retention volume, master target OS unknown",
        |d, o| {
            d.master_target.os_type = None;
            mt_asr(o).os_type = None;
            mt_vm(o).guest_family = None;
        },
        "retention-volume",
        Unknown,
    ),
    ("fabric not observed", |_, o| o.fabric = None, "retention-volume", Unknown),
];
