//! `power_off` and `enable_disk_uuid`: idempotent, tracked to completion by polling `info.state`.
//!
//! vim_rs's `TaskTracker` cannot parse a failed task's `info.error` (a `LocalizedMethodFault` wrapper) and then
//! leaks its filter, breaking later waits on the session. So we poll a one-property row and, on `error`,
//! read `info.error` as raw XML and take the fault type from its `xsi:type`.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use miniserde::ser::{Fragment, Map as SerMap, Serialize};
use reprotect_facts::vcenter::{VcenterError, VmSelector};
use vim_rs::core::client::{Client, VimClient};
use vim_rs::core::pc_helpers::Queriable;
use vim_rs::mo::VirtualMachine;
use vim_rs::types::boxed_types::ValueElements;
use vim_rs::types::enums::{MoTypesEnum, TaskInfoStateEnum, VirtualMachinePowerStateEnum};
use vim_rs::types::structs::{
    ManagedObjectReference, ObjectSpec, OptionValue, PropertyFilterSpec, PropertySpec, RetrieveOptions, VirtualMachineConfigSpec,
};
use vim_rs::types::vim_any::VimAny;
use vim_rs::vim_retrievable;

use crate::faults::{RawFault, fault_from_task_error_xml};
use crate::observe::moref;
use crate::observe_map::disk_enable_uuid;
use crate::session::Session;

vim_retrievable!(
    struct VmState: VirtualMachine {
        power_state = "runtime.power_state"?,
        extra_config = "config.extra_config",
    }
);

vim_retrievable!(
    struct TaskState: Task {
        state = "info.state"?,
    }
);

pub(crate) async fn power_off(session: &Session, vm: &VmSelector) -> Result<(), VcenterError> {
    let _permit = session.permit().await;
    let id = crate::observe::resolve_one(session, vm).await?;
    if vm_state(session, &id).await?.power_state == Some(VirtualMachinePowerStateEnum::PoweredOff) {
        return Ok(());
    }
    let task = session
        .call("PowerOffVM_Task", |c| {
            let id = id.clone();
            async move { VirtualMachine::new(c as Arc<dyn VimClient>, &id).power_off_vm_task().await }
        })
        .await?;
    match wait_task(session, "PowerOffVM_Task", &task).await {
        // Someone else powered it off in between: the desired state holds.
        Err(VcenterError::TaskFailed { fault, .. })
            if fault == "InvalidPowerState"
                && vm_state(session, &id).await?.power_state == Some(VirtualMachinePowerStateEnum::PoweredOff) =>
        {
            Ok(())
        }
        other => other,
    }
}

pub(crate) async fn enable_disk_uuid(session: &Session, vm: &VmSelector) -> Result<(), VcenterError> {
    let _permit = session.permit().await;
    let id = crate::observe::resolve_one(session, vm).await?;
    if vm_state(session, &id).await?.extra_config.as_deref().and_then(disk_enable_uuid) == Some(true) {
        return Ok(());
    }
    let task = session
        .call("ReconfigVM_Task", |c| {
            let id = id.clone();
            async move {
                let mut spec = empty_config_spec()?;
                spec.extra_config = Some(vec![Box::new(OptionValue {
                    key: "disk.EnableUUID".into(),
                    value: Some(VimAny::Value(ValueElements::PrimitiveString("TRUE".into()))),
                })]);
                VirtualMachine::new(c as Arc<dyn VimClient>, &id).reconfig_vm_task(&spec).await
            }
        })
        .await?;
    wait_task(session, "ReconfigVM_Task", &task).await
}

/// A `VirtualMachineConfigSpec` with every field unset, without vim_rs's heavy `defaults` feature.
pub fn empty_config_spec() -> Result<VirtualMachineConfigSpec, vim_rs::core::client::Error> {
    miniserde::json::from_str(r#"{"_typeName":"VirtualMachineConfigSpec"}"#)
        .map_err(|_| vim_rs::core::client::Error::ParseError("cannot build an empty VirtualMachineConfigSpec".into()))
}

async fn vm_state(session: &Session, id: &str) -> Result<VmState, VcenterError> {
    let row = read_one::<VmState>(session, moref(MoTypesEnum::VirtualMachine, id)).await?;
    row.ok_or_else(|| VcenterError::VmNotFound(id.to_string()))
}

async fn read_one<T>(session: &Session, obj: ManagedObjectReference) -> Result<Option<T>, VcenterError>
where
    T: Queriable + TryFrom<vim_rs::types::structs::ObjectContent, Error = vim_rs::core::error::Error>,
{
    let spec = Arc::new(PropertyFilterSpec {
        object_set: vec![ObjectSpec { obj, skip: Some(false), select_set: None }],
        prop_set: vec![T::prop_spec()],
        report_missing_objects_in_results: None,
    });
    let objects = session
        .call("RetrievePropertiesEx", |c: Arc<Client>| {
            let spec = spec.clone();
            async move {
                let pc = vim_rs::mo::PropertyCollector::new(c.clone() as Arc<dyn VimClient>, &c.service_content().property_collector.value);
                let res = pc.retrieve_properties_ex(std::slice::from_ref(&*spec), &RetrieveOptions { max_objects: None }).await?;
                Ok(res.map(|r| r.objects).unwrap_or_default())
            }
        })
        .await?;
    match objects.into_iter().next() {
        Some(oc) => {
            T::try_from(oc).map(Some).map_err(|e| VcenterError::Call { call: "RetrievePropertiesEx".into(), message: e.to_string() })
        }
        None => Ok(None),
    }
}

/// Poll the task until it succeeds, fails (→ `TaskFailed` with the fault type) or times out.
pub(crate) async fn wait_task(session: &Session, name: &str, task: &ManagedObjectReference) -> Result<(), VcenterError> {
    let started = Instant::now();
    loop {
        let state = read_one::<TaskState>(session, task.clone()).await?.and_then(|t| t.state);
        match state {
            Some(TaskInfoStateEnum::Success) => return Ok(()),
            Some(TaskInfoStateEnum::Error) => {
                let f = task_fault(session, task).await?;
                return Err(VcenterError::TaskFailed { task: name.to_string(), fault: f.fault, message: f.message });
            }
            _ => {}
        }
        if started.elapsed() >= session.options.task_timeout {
            return Err(VcenterError::TaskTimeout { task: name.to_string(), seconds: session.options.task_timeout.as_secs() });
        }
        tokio::time::sleep(session.options.task_poll_interval).await;
    }
}

/// Read `info.error` of a task as raw SOAP and extract the fault type (see module docs).
async fn task_fault(session: &Session, task: &ManagedObjectReference) -> Result<RawFault, VcenterError> {
    let spec = PropertyFilterSpec {
        object_set: vec![ObjectSpec { obj: task.clone(), skip: Some(false), select_set: None }],
        prop_set: vec![PropertySpec { r#type: "Task".into(), all: Some(false), path_set: Some(vec!["info.error".into()]) }],
        report_missing_objects_in_results: None,
    };
    let spec = Arc::new(spec);
    let body = session
        .call("RetrievePropertiesEx(raw info.error)", |c: Arc<Client>| {
            let spec = spec.clone();
            async move {
                let pc = c.service_content().property_collector.value.clone();
                let options = RetrieveOptions { max_objects: None };
                let req = RawRetrieve { spec_set: std::slice::from_ref(&*spec), options: &options };
                c.invoke("", "PropertyCollector", &pc, "RetrievePropertiesEx", Some(&req)).await
            }
        })
        .await?;
    let xml = String::from_utf8_lossy(&body);
    Ok(fault_from_task_error_xml(&xml).unwrap_or(RawFault { fault: "MethodFault".into(), message: String::new() }))
}

/// `RetrievePropertiesEx` parameters, serialized by vim_rs's SOAP writer; the response is left raw.
struct RawRetrieve<'a> {
    spec_set: &'a [PropertyFilterSpec],
    options: &'a RetrieveOptions,
}

impl Serialize for RawRetrieve<'_> {
    fn begin(&self) -> Fragment<'_> {
        Fragment::Map(Box::new(RawRetrieveMap { data: self, seq: 0 }))
    }
}

struct RawRetrieveMap<'a> {
    data: &'a RawRetrieve<'a>,
    seq: usize,
}

impl SerMap for RawRetrieveMap<'_> {
    fn next(&mut self) -> Option<(Cow<'_, str>, &dyn Serialize)> {
        self.seq += 1;
        match self.seq {
            1 => Some((Cow::Borrowed("_typeName"), &"RetrievePropertiesExRequestType" as &dyn Serialize)),
            2 => Some((Cow::Borrowed("specSet"), &self.data.spec_set as &dyn Serialize)),
            3 => Some((Cow::Borrowed("options"), &self.data.options as &dyn Serialize)),
            _ => None,
        }
    }
}
