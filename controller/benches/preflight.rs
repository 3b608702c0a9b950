//! Preflight benchmark: evaluate every rule for 10,000 distinct machines and report the median and p99 per machine.
//!
//! Run with `cargo bench -p reprotect-controller --bench preflight`. Plain `std::time::Instant`, no harness:
//! each machine is timed on its own so the percentiles describe one reconcile's preflight cost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failed test

use jiff::{SignedDuration, Timestamp};
use reprotect_controller::preflight::{
    Desired, DesiredMasterTarget, NetworkKind, Observed, OnPremisesTarget, OsType, ProcessServerLocation, Status, evaluate,
};
use reprotect_facts::*;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

const MACHINES: usize = 10_000;
const GIB: i64 = 1 << 30;

fn datastore(i: usize, kind: &str, access: &str) -> DatastoreFacts {
    DatastoreFacts {
        moref: format!("datastore-{i}"),
        name: format!("ds-{i}"),
        datastore_type: kind.into(),
        capacity_bytes: Some(2048 * GIB),
        free_bytes: Some(512 * GIB),
        accessible: Some(true),
        access_mode: Some(access.into()),
        mounted: Some(true),
    }
}

/// Machine `n` of a synthetic estate: the fixture varies OS, target kind, group membership,
/// datastore layout, heartbeats and a few faults so every rule path gets exercised.
fn machine(n: usize, now: Timestamp) -> (Desired, Observed) {
    let linux = n.is_multiple_of(3);
    let os = if linux { OsType::Linux } else { OsType::Windows };
    let mt = format!("mt-{}-{:02}", if linux { "lin" } else { "win" }, n % 17);
    let name = format!("app-{n:05}");
    let ds_count = 4 + n % 8;
    let host = HostFacts {
        moref: format!("host-{}", n % 50),
        name: format!("esx{:02}.contoso.local", n % 50),
        product_full_name: Some("VMware ESXi 7.0.3".into()),
        license_edition: Some(if n.is_multiple_of(97) { "esxBasic" } else { "esx.enterprisePlus.cpuPackage" }.into()),
        datastores: (0..ds_count)
            .map(|i| datastore(i, if i % 5 == 4 { "NFS" } else { "VMFS" }, if n.is_multiple_of(41) { "readOnly" } else { "readWrite" }))
            .collect(),
    };
    let disk = |key: i32, uuid: String, ds: usize| DiskFacts {
        key,
        uuid: Some(uuid),
        file_name: Some(format!("[ds-{ds}] disk-{key}.vmdk")),
        datastore: Some(format!("datastore-{ds}")),
        controller_key: Some(1000),
    };
    let mt_vm = VmFacts {
        guest_family: Some(if linux { GuestFamily::Linux } else { GuestFamily::Windows }),
        disk_enable_uuid: if n.is_multiple_of(13) { None } else { Some(true) },
        snapshot_count: Some(u32::from(n.is_multiple_of(29))),
        scsi_controllers: Some(vec![
            if n.is_multiple_of(31) { "ParaVirtualSCSIController" } else { "VirtualLsiLogicSASController" }.into(),
        ]),
        tools: ToolsFacts { status: Some("toolsOk".into()), running_status: Some("guestToolsRunning".into()) },
        disks: Some((0..3).map(|k| disk(2000 + k, format!("6000C29{k}-mt-{}", n % 17), 0)).collect()),
        host: Some(host.moref.clone()),
        datastores: vec!["datastore-0".into()],
        ..VmFacts::named(&format!("vm-{}", 100 + n % 17), &mt)
    };
    let existing = !n.is_multiple_of(4);
    let selector = VmSelector::Name(name.clone());
    let on_prem = (!n.is_multiple_of(23)).then(|| VmFacts {
        power_state: Some(if n.is_multiple_of(7) { PowerState::PoweredOn } else { PowerState::PoweredOff }),
        snapshot_count: Some(0),
        disks: Some((0..2).map(|k| disk(2000 + k, format!("6000C29{k}-vm-{n}"), 1 + n % 3)).collect()),
        host: Some(host.moref.clone()),
        datastores: vec![format!("datastore-{}", 1 + n % 3)],
        ..VmFacts::named(&format!("vm-{}", 1000 + n), &name)
    });
    let retention = if linux { "/mnt/retention" } else { "R:\\" };
    let fabric = FabricFacts {
        id: "fabric-cs01".into(),
        name: "cs01".into(),
        host_name: Some("cs01.contoso.local".into()),
        last_heartbeat: Some(now - SignedDuration::from_secs(30 + (n % 600) as i64)),
        process_servers: (0..4)
            .map(|p| ProcessServerFacts {
                id: format!("ps-guid-{p}"),
                friendly_name: format!("ps-{p}"),
                last_heartbeat: Some(now - SignedDuration::from_secs(60)),
                health: Some("Normal".into()),
                ..ProcessServerFacts::default()
            })
            .collect(),
        master_targets: (0..17)
            .flat_map(|i| ["win", "lin"].map(|k| (i, k)))
            .map(|(i, k)| MasterTargetServerFacts {
                id: format!("mt-guid-{k}-{i}"),
                name: format!("mt-{k}-{i:02}"),
                os_type: Some(if k == "lin" { "Linux" } else { "Windows" }.into()),
                last_heartbeat: Some(now - SignedDuration::from_secs(90)),
                retention_volumes: vec![RetentionVolumeFacts {
                    volume_name: if k == "lin" { "/mnt/retention" } else { retention }.into(),
                    capacity_bytes: Some(200 * GIB),
                    file_system: Some(if k == "lin" { "ext4" } else { "NTFS" }.into()),
                    ..RetentionVolumeFacts::default()
                }],
                datastores: (0..ds_count)
                    .filter(|d| d % 5 != 4)
                    .map(|d| AsrDatastoreFacts {
                        symbolic_name: format!("ds-{d}"),
                        datastore_type: Some("VMFS".into()),
                        ..AsrDatastoreFacts::default()
                    })
                    .collect(),
                ..MasterTargetServerFacts::default()
            })
            .collect(),
        ..FabricFacts::default()
    };
    let failover = now - SignedDuration::from_mins(5 + (n % 240) as i64);
    let item = ProtectedItemFacts {
        id: format!("/subscriptions/s/replicationProtectedItems/{name}").into(),
        name: name.clone(),
        protection_state: Some("FailedOver".into()),
        active_location: Some("Recovery".into()),
        allowed_operations: vec!["ReverseReplicate"].into(),
        provider: Some(if n.is_multiple_of(97) { "InMageRcm" } else { "InMageAzureV2" }.into()),
        last_successful_failover_time: Some(failover),
        agent_last_heartbeat: (!n.is_multiple_of(11)).then(|| failover + SignedDuration::from_mins(3)),
        os_type: Some(os.as_str().into()),
        os_name: Some(if linux { "RHEL 8" } else { "Windows Server 2019" }.into()),
        discovery_type: Some(if n.is_multiple_of(53) { "PhysicalServer" } else { "vCenter" }.into()),
        vm_id: Some(format!("vm-guid-{n}")),
        multi_vm_group_name: n.is_multiple_of(10).then(|| format!("rg-{}", n / 10 % 100).into()),
        ..ProtectedItemFacts::default()
    };
    let desired = Desired {
        machine_name: name.clone(),
        os_type: n.is_multiple_of(2).then_some(os),
        master_target: DesiredMasterTarget {
            name_in_asr: mt.clone(),
            vcenter_vm_name: mt.clone(),
            os_type: None,
            retention_volume: n.is_multiple_of(5).then(|| "r".into()),
            allow_enable_disk_uuid: n % 2 == 1,
        },
        process_server: format!("ps-{}", n % 4),
        process_server_location: Some(if n.is_multiple_of(6) { ProcessServerLocation::OnPremises } else { ProcessServerLocation::Azure }),
        datastore: Some(format!("ds-{}", n % ds_count)),
        on_premises: if existing { OnPremisesTarget::ExistingVm(selector.clone()) } else { OnPremisesTarget::AlternateLocation },
        replication_group: item.multi_vm_group_name.as_deref().map(str::to_string),
        group_members: Vec::new(),
        vcenter_server: "vcenter.contoso.local".into(),
        recorded_master_target_datastores: (n % 3 == 1).then(|| vec!["datastore-0".into()]),
        network: Some(if n.is_multiple_of(2) { NetworkKind::SiteToSiteVpn } else { NetworkKind::ExpressRoutePrivatePeering }),
        ..Desired::default()
    };
    let vcenter = VcenterFacts {
        master_target: Some(mt_vm),
        master_target_host: Some(host.clone()),
        on_premises_vms: BTreeMap::from([(selector.key(), on_prem)]),
        hosts: BTreeMap::from([(host.moref.clone(), host)]),
        permissions: Some(PermissionFacts { can_see_host_datastores: !n.is_multiple_of(89), missing_privileges: Vec::new() }),
        ambiguous_vms: BTreeMap::new(),
        round_trips: 2,
    };
    let policies = vec![PolicyFacts {
        id: "p-failback".into(),
        name: "failback".into(),
        provider: Some("InMage".into()),
        rpo_threshold_minutes: Some(15),
        recovery_point_history_minutes: Some(1440),
        app_consistent_frequency_minutes: Some(if n.is_multiple_of(19) { 120 } else { 60 }),
        ..PolicyFacts::default()
    }];
    let vcenters = vec![DiscoveredVcenterFacts { name: "vcenter.contoso.local".into(), ..DiscoveredVcenterFacts::default() }];
    let observed = Observed {
        vcenter: (!n.is_multiple_of(37)).then_some(vcenter),
        fabric: Some(fabric),
        item: Some(item),
        policies: Some(policies),
        discovered_vcenters: Some(vcenters),
        ambiguous_item: None,
        earlier_owner: None,
        group_items: None,
    };
    (desired, observed)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(idx).copied().unwrap_or(f64::NAN)
}

fn main() {
    let now: Timestamp = "2024-05-01T12:00:00Z".parse().expect("valid timestamp");
    let machines: Vec<(Desired, Observed)> = (0..MACHINES).map(|n| machine(n, now)).collect();

    // Warm-up pass (caches, allocator) that also sanity-checks the estate exercises every status.
    let mut statuses = [0usize; 3];
    for (d, o) in &machines {
        for r in evaluate(d, o, now) {
            statuses[match r.status {
                Status::Pass => 0,
                Status::Fail => 1,
                Status::Unknown => 2,
            }] += 1;
        }
    }

    let mut micros = Vec::with_capacity(MACHINES);
    let total = Instant::now();
    for (d, o) in &machines {
        let start = Instant::now();
        let results = evaluate(black_box(d), black_box(o), now);
        micros.push(start.elapsed().as_secs_f64() * 1e6);
        black_box(results);
    }
    let wall = total.elapsed();
    micros.sort_by(f64::total_cmp);
    println!(
        "preflight: {MACHINES} machines, {} results (pass {}, fail {}, unknown {})",
        statuses.iter().sum::<usize>(),
        statuses[0],
        statuses[1],
        statuses[2]
    );
    println!(
        "per machine: median {:.2} µs, p99 {:.2} µs, max {:.2} µs; total {:.1} ms",
        percentile(&micros, 0.5),
        percentile(&micros, 0.99),
        micros.last().copied().unwrap_or(f64::NAN),
        wall.as_secs_f64() * 1e3
    );
}
