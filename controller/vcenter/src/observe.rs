//! `observe`: resolve VMs through a per-session container view (round trip 1), then read the master target,
//! the on-premises VMs, their hosts and the hosts' datastores in ONE batched `RetrievePropertiesEx` (round trip 2).
//!
//! Only leaf properties are read: vcsim omits required fields of whole `runtime`/`summary` structs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reprotect_facts::vcenter::{ObserveRequest, VcenterError, VcenterFacts, VmFacts, VmSelector};
use vim_rs::core::client::{Client, Error as VimError, VimClient};
use vim_rs::core::pc_helpers::Queriable;
use vim_rs::mo::{PropertyCollector, ViewManager};
use vim_rs::types::enums::MoTypesEnum;
use vim_rs::types::structs::{
    ManagedObjectReference, ObjectContent, ObjectSpec, PropertyFilterSpec, RetrieveOptions, SelectionSpec, TraversalSpec,
};
use vim_rs::vim_retrievable;

use crate::observe_map::{host_facts, permissions, vm_facts};
use crate::session::Session;

vim_retrievable!(
    struct VmName: VirtualMachine {
        name = "name",
        host = "runtime.host"?,
        uuid = "config.uuid"?,
        instance_uuid = "config.instance_uuid"?,
    }
);

vim_retrievable!(
    struct VmRow: VirtualMachine {
        name = "name",
        power_state = "runtime.power_state"?,
        host = "runtime.host"?,
        guest_id = "config.guest_id",
        extra_config = "config.extra_config",
        devices = "config.hardware.device",
        snapshot = "snapshot",
        tools_status = "guest.tools_status",
        tools_running_status = "guest.tools_running_status",
        guest_family = "guest.guest_family",
        datastores = "datastore",
    }
);

vim_retrievable!(
    struct HostRow: HostSystem {
        name = "name",
        product_full_name = "config.product.full_name",
        datastores = "datastore",
    }
);

vim_retrievable!(
    struct DatastoreRow: Datastore {
        name = "name",
        ds_type = "summary.r#type"?,
        capacity = "summary.capacity"?,
        free_space = "summary.free_space"?,
        accessible = "summary.accessible"?,
        mounts = "host",
    }
);

pub(crate) async fn observe(session: &Session, request: &ObserveRequest) -> Result<VcenterFacts, VcenterError> {
    let _permit = session.permit().await;
    match observe_once(session, request, session.options.names_max_age).await {
        // A VM deleted between the two round trips (or since the name index was read) makes the batched read
        // fail: start over once, with the index read afresh.
        Err(VcenterError::Call { message, .. }) if message.starts_with("ManagedObjectNotFound") => {
            observe_once(session, request, Duration::ZERO).await
        }
        other => other,
    }
}

async fn observe_once(session: &Session, request: &ObserveRequest, names_max_age: Duration) -> Result<VcenterFacts, VcenterError> {
    let mut facts = VcenterFacts::default();
    let mut trips = 0u32;
    let names = resolve_all(session, &mut trips, names_max_age).await?;

    let find = |sel: &VmSelector| -> Option<&VmName> { matching(&names, sel).ok().flatten() };
    for sel in request.master_target_vm.iter().chain(&request.on_premises_vms) {
        if let Err(morefs) = matching(&names, sel) {
            facts.ambiguous_vms.insert(sel.key(), morefs);
        }
    }
    let master = request.master_target_vm.as_ref().and_then(find);
    let on_prem: Vec<(String, Option<&VmName>)> = request.on_premises_vms.iter().map(|s| (s.key(), find(s))).collect();

    let mut vm_ids: BTreeSet<String> = BTreeSet::new();
    let mut host_ids: BTreeSet<String> = BTreeSet::new();
    for vm in master.into_iter().chain(on_prem.iter().filter_map(|(_, v)| *v)) {
        vm_ids.insert(vm.id.value.clone());
        if let Some(h) = &vm.host {
            host_ids.insert(h.value.clone());
        }
    }
    let mt_host = master.and_then(|m| m.host.clone());

    // Round trip 2 (and, concurrently and cached, the MT host's licence edition).
    let batch = read_batch(session, &vm_ids, &host_ids);
    let licence = async {
        match &mt_host {
            Some(h) => crate::observe_map::license_edition(session, &h.value).await,
            None => (None, 0),
        }
    };
    let (batch, (edition, licence_trips)) = tokio::join!(batch, licence);
    let (vms, hosts, datastores) = batch?;
    trips += 1 + licence_trips;

    let vm_facts_by_id: HashMap<String, VmFacts> = vms.into_iter().map(|r| (r.id.value.clone(), vm_facts(r))).collect();
    let ds_by_id: HashMap<String, DatastoreRow> = datastores.into_iter().map(|d| (d.id.value.clone(), d)).collect();
    for host in hosts {
        let id = host.id.value.clone();
        let hf = host_facts(host, &ds_by_id, mt_host.as_ref().filter(|h| h.value == id).and(edition.clone()));
        facts.hosts.insert(id, hf);
    }
    if let Some(m) = master {
        facts.master_target = vm_facts_by_id.get(&m.id.value).cloned();
        if let Some(h) = &mt_host {
            facts.master_target_host = facts.hosts.get(&h.value).cloned();
            if !on_prem.iter().filter_map(|(_, v)| *v).any(|v| v.host.as_ref() == Some(h)) {
                facts.hosts.remove(&h.value);
            }
        }
        let mut perms = permissions(facts.master_target_host.as_ref(), mt_host.is_some());
        if let Some(host) = facts.master_target_host.as_ref() {
            let (missing, n) = crate::observe_map::missing_privileges(session, host).await;
            trips += n;
            match missing {
                Ok(m) => perms.missing_privileges.extend(m),
                Err(e) => tracing::warn!(error = %e, "privilege check failed; reporting only visibility"),
            }
        }
        facts.permissions = Some(perms);
    }
    let on_prem_map: BTreeMap<String, Option<VmFacts>> =
        on_prem.into_iter().map(|(k, v)| (k, v.and_then(|v| vm_facts_by_id.get(&v.id.value).cloned()))).collect();
    facts.on_premises_vms = on_prem_map;
    facts.round_trips = trips;
    Ok(facts)
}

/// Names and hosts of every VM, through a container view kept for the life of the login.
/// The VM name index (every VM's name, host and UUIDs) as a session read it last, shared by the observations
/// that accept its age. It has one row per VM of the vCenter: read afresh for every machine, a pass cost
/// O(VMs) and a sweep over N machines O(N²) in time, and memory held up to `max_concurrent_operations`
/// copies of the whole answer at once (issue 13).
pub(crate) struct NameIndex {
    fetched: Instant,
    names: Arc<Vec<VmName>>,
}

/// The name index no older than `max_age` (`Duration::ZERO`: read now). The lock is held across the read, so
/// concurrent observations wait for one answer instead of each asking vCenter.
async fn resolve_all(session: &Session, trips: &mut u32, max_age: Duration) -> Result<Arc<Vec<VmName>>, VcenterError> {
    let mut index = session.vm_names.lock().await;
    if let Some(fresh) = index.as_ref().filter(|i| i.fetched.elapsed() < max_age) {
        return Ok(fresh.names.clone());
    }
    let fetched = Instant::now();
    let names = Arc::new(read_names(session, trips).await?);
    *index = Some(NameIndex { fetched, names: names.clone() });
    Ok(names)
}

async fn read_names(session: &Session, trips: &mut u32) -> Result<Vec<VmName>, VcenterError> {
    let mut view_slot = session.vm_view.lock().await;
    let view = match &*view_slot {
        Some((generation, view)) if *generation == session.generation() => view.clone(),
        _ => {
            *trips += 1;
            let view = session
                .call("CreateContainerView", |c| async move {
                    let vm_id = c.service_content().view_manager.clone().ok_or_else(|| VimError::ParseError("no ViewManager".into()))?;
                    let root = c.service_content().root_folder.clone();
                    let vm = ViewManager::new(c as Arc<dyn VimClient>, &vm_id.value);
                    vm.create_container_view(&root, Some(&["VirtualMachine".to_string()]), true).await
                })
                .await?;
            *view_slot = Some((session.generation(), view.clone()));
            view
        }
    };
    drop(view_slot);
    *trips += 1;
    let spec = PropertyFilterSpec {
        object_set: vec![ObjectSpec {
            obj: view.clone(),
            skip: Some(true),
            select_set: Some(vec![Box::new(traversal("ContainerView", "view", None))]),
        }],
        prop_set: vec![VmName::prop_spec()],
        report_missing_objects_in_results: None,
    };
    let result = retrieve(session, "RetrievePropertiesEx(names)", spec).await;
    if result.is_err() {
        // The view may have died with the session; make the next call recreate it.
        *session.vm_view.lock().await = None;
    }
    result?.into_iter().map(|oc| VmName::try_from(oc).map_err(conv_err)).collect()
}

type Batch = (Vec<VmRow>, Vec<HostRow>, Vec<DatastoreRow>);

async fn read_batch(session: &Session, vms: &BTreeSet<String>, hosts: &BTreeSet<String>) -> Result<Batch, VcenterError> {
    let mut object_set: Vec<ObjectSpec> =
        vms.iter().map(|id| ObjectSpec { obj: moref(MoTypesEnum::VirtualMachine, id), skip: Some(false), select_set: None }).collect();
    object_set.extend(hosts.iter().map(|id| ObjectSpec {
        obj: moref(MoTypesEnum::HostSystem, id),
        skip: Some(false),
        select_set: Some(vec![Box::new(traversal("HostSystem", "datastore", Some(false)))]),
    }));
    if object_set.is_empty() {
        return Ok((Vec::new(), Vec::new(), Vec::new()));
    }
    let spec = PropertyFilterSpec {
        object_set,
        prop_set: vec![VmRow::prop_spec(), HostRow::prop_spec(), DatastoreRow::prop_spec()],
        report_missing_objects_in_results: None,
    };
    let (mut v, mut h, mut d) = (Vec::new(), Vec::new(), Vec::new());
    for oc in retrieve(session, "RetrievePropertiesEx(batch)", spec).await? {
        match oc.obj.r#type {
            MoTypesEnum::VirtualMachine => v.push(VmRow::try_from(oc).map_err(conv_err)?),
            MoTypesEnum::HostSystem => h.push(HostRow::try_from(oc).map_err(conv_err)?),
            MoTypesEnum::Datastore => d.push(DatastoreRow::try_from(oc).map_err(conv_err)?),
            _ => {}
        }
    }
    Ok((v, h, d))
}

/// One `RetrievePropertiesEx` (plus `ContinueRetrievePropertiesEx` while the server pages).
async fn retrieve(session: &Session, call: &str, spec: PropertyFilterSpec) -> Result<Vec<ObjectContent>, VcenterError> {
    let spec = Arc::new(spec);
    session
        .call(call, |c: Arc<Client>| {
            let spec = spec.clone();
            async move {
                let pc = PropertyCollector::new(c.clone() as Arc<dyn VimClient>, &c.service_content().property_collector.value);
                let options = RetrieveOptions { max_objects: Some(1000) };
                let mut out = Vec::new();
                let Some(mut res) = pc.retrieve_properties_ex(std::slice::from_ref(&*spec), &options).await? else {
                    return Ok(out);
                };
                loop {
                    out.append(&mut res.objects);
                    let Some(token) = res.token.take() else { break };
                    res = pc.continue_retrieve_properties_ex(&token).await?;
                }
                Ok(out)
            }
        })
        .await
}

fn traversal(type_name: &str, path: &str, skip: Option<bool>) -> TraversalSpec {
    TraversalSpec {
        selection_spec_: SelectionSpec { name: Some(format!("{type_name}.{path}")) },
        r#type: type_name.to_string(),
        path: path.to_string(),
        skip,
        select_set: None,
    }
}

pub(crate) fn moref(kind: MoTypesEnum, value: &str) -> ManagedObjectReference {
    ManagedObjectReference { r#type: kind, value: value.to_string() }
}

fn conv_err(e: vim_rs::core::error::Error) -> VcenterError {
    VcenterError::Call { call: "RetrievePropertiesEx".into(), message: format!("cannot convert result: {e}") }
}

/// The one VM a selector names: `Ok(None)` when none, `Err(morefs)` when a name matches several VMs.
fn matching<'a>(names: &'a [VmName], sel: &VmSelector) -> Result<Option<&'a VmName>, Vec<String>> {
    let same = |a: &Option<String>, b: &str| a.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(b));
    let mut found = names.iter().filter(|v| match sel {
        VmSelector::Name(n) => &v.name == n,
        VmSelector::MoRef(m) => &v.id.value == m,
        VmSelector::Uuid(u) => same(&v.uuid, u) || same(&v.instance_uuid, u),
    });
    let first = found.next();
    let rest: Vec<&VmName> = found.collect();
    if rest.is_empty() {
        return Ok(first);
    }
    let mut morefs: Vec<String> = first.into_iter().chain(rest).map(|v| v.id.value.clone()).collect();
    morefs.sort();
    Err(morefs)
}

/// Resolve one selector to a VM moref value, re-read right now (`VmNotFound` when absent, `AmbiguousVm` when a
/// name matches several VMs: a write never guesses).
pub(crate) async fn resolve_one(session: &Session, sel: &VmSelector) -> Result<String, VcenterError> {
    let mut trips = 0;
    let names = resolve_all(session, &mut trips, Duration::ZERO).await?;
    match matching(&names, sel) {
        Ok(Some(v)) => Ok(v.id.value.clone()),
        Ok(None) => Err(VcenterError::VmNotFound(sel.key())),
        Err(morefs) => Err(VcenterError::AmbiguousVm { selector: sel.key(), morefs }),
    }
}
