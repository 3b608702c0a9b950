//! Turning retrieved rows into fact structs, the licence lookup, and the permissions probe.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use reprotect_facts::vcenter::{DatastoreFacts, DiskFacts, GuestFamily, HostFacts, PermissionFacts, PowerState, ToolsFacts, VmFacts};
use vim_rs::core::client::{Error as VimError, VimClient};
use vim_rs::mo::LicenseAssignmentManager;
use vim_rs::types::boxed_types::ValueElements;
use vim_rs::types::enums::VirtualMachinePowerStateEnum;
use vim_rs::types::structs::{VirtualDisk, VirtualDiskFlatVer2BackingInfo, VirtualMachineSnapshotTree};
use vim_rs::types::traits::OptionValueTrait;
use vim_rs::types::vim_any::VimAny;

use crate::observe::{DatastoreRow, HostRow, VmRow};
use crate::session::Session;

const SCSI_TYPES: [&str; 4] =
    ["ParaVirtualSCSIController", "VirtualLsiLogicController", "VirtualLsiLogicSASController", "VirtualBusLogicController"];

pub(crate) fn vm_facts(row: VmRow) -> VmFacts {
    let mut f = VmFacts::named(&row.id.value, &row.name);
    f.power_state = row.power_state.map(|p| match p {
        VirtualMachinePowerStateEnum::PoweredOn => PowerState::PoweredOn,
        VirtualMachinePowerStateEnum::PoweredOff => PowerState::PoweredOff,
        VirtualMachinePowerStateEnum::Suspended => PowerState::Suspended,
        VirtualMachinePowerStateEnum::Other_(s) => PowerState::Other(s),
    });
    f.guest_family = match row.guest_family.as_deref() {
        Some("windowsGuest") => Some(GuestFamily::Windows),
        Some("linuxGuest") => Some(GuestFamily::Linux),
        _ => row.guest_id.as_deref().map(GuestFamily::from_guest_id),
    };
    f.guest_id = row.guest_id;
    f.disk_enable_uuid = row.extra_config.as_deref().and_then(disk_enable_uuid);
    f.snapshot_count = Some(row.snapshot.map(|s| count_snapshots(&s.root_snapshot_list)).unwrap_or(0));
    if let Some(devices) = row.devices.as_ref() {
        let mut controllers = Vec::new();
        let mut disks = Vec::new();
        for d in devices {
            let wire = d.data_type().as_str().to_string();
            if SCSI_TYPES.contains(&wire.as_str()) || wire.ends_with("SCSIController") {
                controllers.push(wire);
            } else if let Some(disk) = d.as_any_ref().downcast_ref::<VirtualDisk>() {
                let backing = disk.backing.as_ref().and_then(|b| b.as_any_ref().downcast_ref::<VirtualDiskFlatVer2BackingInfo>());
                disks.push(DiskFacts {
                    key: disk.key,
                    uuid: backing.and_then(|b| b.uuid.clone()),
                    file_name: backing.map(|b| b.file_name.clone()),
                    datastore: backing.and_then(|b| b.datastore.as_ref().map(|m| m.value.clone())),
                    controller_key: disk.controller_key,
                });
            }
        }
        f.scsi_controllers = Some(controllers);
        f.disks = Some(disks);
    }
    f.tools = ToolsFacts { status: row.tools_status.map(|s| s.as_str().to_string()), running_status: row.tools_running_status };
    f.host = row.host.map(|h| h.value);
    f.datastores = row.datastores.unwrap_or_default().into_iter().map(|m| m.value).collect();
    f
}

/// The LAST `disk.EnableUUID` entry wins (vcsim appends duplicates; vCenter replaces).
pub(crate) fn disk_enable_uuid(extra: &[Box<dyn OptionValueTrait>]) -> Option<bool> {
    extra.iter().rev().find(|o| o.key.eq_ignore_ascii_case("disk.EnableUUID")).map(|o| match &o.value {
        Some(VimAny::Value(ValueElements::PrimitiveString(s))) => s.eq_ignore_ascii_case("true") || s == "1",
        Some(VimAny::Value(ValueElements::PrimitiveBoolean(b))) => *b,
        _ => false,
    })
}

fn count_snapshots(trees: &[VirtualMachineSnapshotTree]) -> u32 {
    trees.iter().map(|t| 1 + count_snapshots(t.child_snapshot_list.as_deref().unwrap_or(&[]))).sum()
}

pub(crate) fn host_facts(row: HostRow, ds: &HashMap<String, DatastoreRow>, edition: Option<String>) -> HostFacts {
    let host_id = row.id.value.clone();
    let datastores = row
        .datastores
        .unwrap_or_default()
        .iter()
        .filter_map(|m| ds.get(&m.value))
        .map(|d| {
            let mount = d.mounts.as_deref().unwrap_or(&[]).iter().find(|m| m.key.value == host_id);
            DatastoreFacts {
                moref: d.id.value.clone(),
                name: d.name.clone(),
                datastore_type: d.ds_type.clone().unwrap_or_default(),
                capacity_bytes: d.capacity,
                free_bytes: d.free_space,
                accessible: d.accessible,
                access_mode: mount.map(|m| m.mount_info.access_mode.clone()),
                mounted: mount.and_then(|m| m.mount_info.mounted),
            }
        })
        .collect();
    HostFacts { moref: row.id.value, name: row.name, product_full_name: row.product_full_name, license_edition: edition, datastores }
}

/// Permissions probe, from what the batched read could see. A datastore the account may not view is absent
/// from `host.datastore` (vCenter filters by the View privilege), so an empty or partial list is the signal.
/// NOTE: vcsim grants every privilege to every user, so only the "visible" branch is reachable there; the
/// "hidden" branch is covered by unit tests and by deleting the datastores in a scenario.
pub(crate) fn permissions(host: Option<&HostFacts>, host_known: bool) -> PermissionFacts {
    let can_see = host.is_some_and(|h| !h.datastores.is_empty());
    let mut missing = Vec::new();
    if host_known && host.is_none() {
        missing.push("System.Read (HostSystem)".to_string());
    }
    if !can_see {
        missing.push("System.View (Datastore)".to_string());
    }
    PermissionFacts { can_see_host_datastores: can_see, missing_privileges: missing }
}

/// Privileges reprotect needs on the master target host's datastores (the master target writes the failback VMDKs).
pub(crate) const DATASTORE_PRIVILEGES: [&str; 3] = ["Datastore.Browse", "Datastore.FileManagement", "Datastore.AllocateSpace"];

/// `AuthorizationManager.HasPrivilegeOnEntities` for the current session on `datastores`; returns the missing
/// privileges as `PRIV@datastore-name` and the number of requests (0 when cached for this login and host).
/// vcsim grants everything; vcsim-ext's `-deny-privilege` makes the denied branch testable.
pub(crate) async fn missing_privileges(session: &Session, host: &HostFacts) -> (Result<Vec<String>, String>, u32) {
    let cache_key = format!("{}#{}", session.generation(), host.moref);
    if let Some((at, cached)) = session.privilege_cache.lock().await.get(&cache_key)
        && at.elapsed() < session.options.license_cache_ttl
    {
        return (Ok(cached.clone()), 0);
    }
    if host.datastores.is_empty() {
        return (Ok(Vec::new()), 0);
    }
    let names: HashMap<String, String> = host.datastores.iter().map(|d| (d.moref.clone(), d.name.clone())).collect();
    let entities: Vec<vim_rs::types::structs::ManagedObjectReference> =
        host.datastores.iter().map(|d| crate::observe::moref(vim_rs::types::enums::MoTypesEnum::Datastore, &d.moref)).collect();
    let key = session.session_key().await.unwrap_or_default();
    let privs: Vec<String> = DATASTORE_PRIVILEGES.iter().map(|p| p.to_string()).collect();
    let result = session
        .call("HasPrivilegeOnEntities", |c| {
            let (entities, key, privs) = (entities.clone(), key.clone(), privs.clone());
            async move {
                let am = c
                    .service_content()
                    .authorization_manager
                    .clone()
                    .ok_or_else(|| VimError::ParseError("no AuthorizationManager".into()))?;
                let am = vim_rs::mo::AuthorizationManager::new(c.clone() as Arc<dyn VimClient>, &am.value);
                am.has_privilege_on_entities(&entities, &key, Some(&privs)).await
            }
        })
        .await;
    match result {
        Ok(answer) => {
            let mut missing = Vec::new();
            for e in answer.unwrap_or_default() {
                let ds = names.get(&e.entity.value).cloned().unwrap_or(e.entity.value.clone());
                for p in e.priv_availability.iter().filter(|p| !p.is_granted) {
                    missing.push(format!("{}@{}", p.priv_id, ds));
                }
            }
            session.privilege_cache.lock().await.insert(cache_key, (Instant::now(), missing.clone()));
            (Ok(missing), 1)
        }
        Err(e) => (Err(e.to_string()), 1),
    }
}

/// Licence edition of a host (`LicenseAssignmentManager.QueryAssignedLicenses`), cached for
/// `license_cache_ttl`. Returns the edition and how many requests it made. Failures give `None`.
pub(crate) async fn license_edition(session: &Session, host: &str) -> (Option<String>, u32) {
    let ttl = session.options.license_cache_ttl;
    if let Some((at, e)) = session.license_cache.lock().await.get(host)
        && at.elapsed() < ttl
    {
        return (e.clone(), 0);
    }
    let host_id = host.to_string();
    let result = session
        .call("QueryAssignedLicenses", |c| {
            let host_id = host_id.clone();
            async move {
                let lm = c.service_content().license_manager.clone().ok_or_else(|| VimError::ParseError("no LicenseManager".into()))?;
                let lam: Option<vim_rs::types::structs::ManagedObjectReference> =
                    c.fetch_property(lm, "licenseAssignmentManager").await.ok();
                let Some(lam) = lam else { return Ok((None, 1)) };
                let lam = LicenseAssignmentManager::new(c.clone() as Arc<dyn VimClient>, &lam.value);
                let assigned = lam.query_assigned_licenses(Some(&host_id)).await?;
                let edition =
                    assigned.unwrap_or_default().into_iter().find(|a| a.entity_id == host_id).map(|a| a.assigned_license.edition_key);
                Ok((edition, 2))
            }
        })
        .await;
    match result {
        Ok((edition, trips)) => {
            session.license_cache.lock().await.insert(host.to_string(), (Instant::now(), edition.clone()));
            (edition, trips)
        }
        Err(e) => {
            tracing::warn!(host, error = %e, "cannot read the host licence edition");
            (None, 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_datastores_mean_the_account_cannot_see_them() {
        let host =
            HostFacts { moref: "host-1".into(), name: "h".into(), product_full_name: None, license_edition: None, datastores: vec![] };
        let p = permissions(Some(&host), true);
        assert!(!p.can_see_host_datastores);
        assert_eq!(p.missing_privileges, vec!["System.View (Datastore)".to_string()]);
    }

    #[test]
    fn an_unreadable_host_is_reported_as_missing_read() {
        let p = permissions(None, true);
        assert!(!p.can_see_host_datastores);
        assert!(p.missing_privileges.iter().any(|m| m.contains("HostSystem")));
    }
}
