//! Declarative VM fixtures, rendered as a VI/JSON `VirtualMachineConfigSpec` (decoded by vim_rs without
//! its heavy `defaults` feature).

use serde_json::{Value, json};

/// SCSI controller model of a fixture VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScsiKind {
    LsiLogic,
    LsiLogicSas,
    ParaVirtual,
}

impl ScsiKind {
    pub fn wire_type(self) -> &'static str {
        match self {
            ScsiKind::LsiLogic => "VirtualLsiLogicController",
            ScsiKind::LsiLogicSas => "VirtualLsiLogicSASController",
            ScsiKind::ParaVirtual => "ParaVirtualSCSIController",
        }
    }
}

/// VMware Tools state, applied through vcsim's `SET.guest.*` extraConfig hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolsState {
    /// vcsim's default: `toolsNotInstalled` / `guestToolsNotRunning`.
    NotInstalled,
    /// `toolsOk` / `guestToolsRunning`.
    Running,
    /// `toolsNotRunning` / `guestToolsNotRunning`.
    NotRunning,
}

#[derive(Clone, Debug)]
pub struct DiskSpec {
    pub capacity_kb: i64,
    /// `backing.uuid`; vcsim leaves it unset otherwise.
    pub uuid: Option<String>,
}

/// A VM to create with `CreateVM_Task`.
#[derive(Clone, Debug)]
pub struct VmSpec {
    pub name: String,
    /// Host name, e.g. `DC0_H0`.
    pub host: String,
    /// Datastore name; must be mounted on `host` (vcsim crashes otherwise).
    pub datastore: String,
    pub guest_id: String,
    pub scsi: ScsiKind,
    pub disks: Vec<DiskSpec>,
    /// `disk.EnableUUID` value to set at creation (`None` = leave absent).
    pub disk_enable_uuid: Option<bool>,
    pub tools: ToolsState,
    pub powered_on: bool,
    pub snapshots: u32,
    /// `config.uuid` (the BIOS UUID) to set at creation; vcsim picks one otherwise.
    pub bios_uuid: Option<String>,
}

impl VmSpec {
    /// A powered-on Windows VM on `host`/LocalDS_0 with one LSI Logic disk (UUID derived from the name).
    pub fn new(name: &str, host: &str) -> VmSpec {
        VmSpec {
            name: name.into(),
            host: host.into(),
            datastore: "LocalDS_0".into(),
            guest_id: "windows9Server64Guest".into(),
            scsi: ScsiKind::LsiLogic,
            disks: vec![DiskSpec { capacity_kb: 1024, uuid: Some(uuid_for(name, 0)) }],
            disk_enable_uuid: None,
            tools: ToolsState::Running,
            powered_on: true,
            snapshots: 0,
            bios_uuid: None,
        }
    }

    pub(crate) fn config_json(&self) -> Value {
        let mut devices = vec![json!({
            "_typeName": "VirtualDeviceConfigSpec",
            "operation": "add",
            "device": {"_typeName": self.scsi.wire_type(), "key": -100, "busNumber": 0, "sharedBus": "noSharing"}
        })];
        for (i, d) in self.disks.iter().enumerate() {
            let mut backing = json!({
                "_typeName": "VirtualDiskFlatVer2BackingInfo",
                "fileName": format!("[{}]", self.datastore),
                "diskMode": "persistent",
                "thinProvisioned": true
            });
            if let Some(u) = &d.uuid {
                backing["uuid"] = json!(u);
            }
            devices.push(json!({
                "_typeName": "VirtualDeviceConfigSpec",
                "operation": "add",
                "fileOperation": "create",
                "device": {"_typeName": "VirtualDisk", "key": -101 - i as i64, "controllerKey": -100,
                           "unitNumber": i, "capacityInKB": d.capacity_kb, "backing": backing}
            }));
        }
        let mut extra = Vec::new();
        if let Some(v) = self.disk_enable_uuid {
            extra.push(option("disk.EnableUUID", if v { "TRUE" } else { "FALSE" }));
        }
        let mut spec = json!({
            "_typeName": "VirtualMachineConfigSpec",
            "name": self.name,
            "guestId": self.guest_id,
            "numCPUs": 1,
            "memoryMB": 64,
            "files": {"_typeName": "VirtualMachineFileInfo", "vmPathName": format!("[{}]", self.datastore)},
            "deviceChange": devices,
            "extraConfig": extra
        });
        if let Some(uuid) = &self.bios_uuid {
            spec["uuid"] = json!(uuid);
        }
        spec
    }
}

/// A VI/JSON `OptionValue` with a string value.
pub(crate) fn option(key: &str, value: &str) -> Value {
    json!({"_typeName": "OptionValue", "key": key, "value": {"_typeName": "string", "_value": value}})
}

/// Tools hook entries for vcsim (`SET.<property path>` is applied as a property update, not stored).
pub(crate) fn tools_options(t: ToolsState) -> Vec<Value> {
    let (status, running) = match t {
        ToolsState::NotInstalled => ("toolsNotInstalled", "guestToolsNotRunning"),
        ToolsState::Running => ("toolsOk", "guestToolsRunning"),
        ToolsState::NotRunning => ("toolsNotRunning", "guestToolsNotRunning"),
    };
    vec![
        option("SET.guest.toolsStatus", status),
        option("SET.guest.toolsRunningStatus", running),
        option("SET.summary.guest.toolsStatus", status),
        option("SET.summary.guest.toolsRunningStatus", running),
    ]
}

/// A deterministic disk UUID in vSphere's format for fixture `name`, disk `index`.
pub fn uuid_for(name: &str, index: usize) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in name.bytes().chain([index as u8]) {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    let hex = format!("{:016x}{:016x}", h, h.rotate_left(17) ^ 0x6000c29);
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}
