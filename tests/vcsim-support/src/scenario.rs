//! Scenario builder: shapes vcsim's inventory through the vSphere API with vim_rs (never CloneVM, which
//! corrupts the source's disk; never CreateVM on a datastore the host does not mount, which crashes vcsim).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vim_rs::core::client::{Client, ClientBuilder, TransportMode, VimClient};
use vim_rs::mo::{Datastore, FileManager, Folder, HostDatastoreSystem, SessionManager, ViewManager, VirtualMachine};
use vim_rs::types::enums::{MoTypesEnum, TaskInfoStateEnum};
use vim_rs::types::structs::{HostNasVolumeSpec, ManagedObjectReference, VirtualMachineConfigSpec};

use crate::process::Vcsim;
use crate::spec::{ToolsState, VmSpec, tools_options};

pub type ScenarioError = anyhow::Error;
type Result<T> = std::result::Result<T, ScenarioError>;

/// A logged-in vim_rs session used only to build fixtures (separate from the session under test).
pub struct Scenario {
    client: Arc<Client>,
}

fn mo(kind: MoTypesEnum, value: &str) -> ManagedObjectReference {
    ManagedObjectReference { r#type: kind, value: value.to_string() }
}

fn vim(e: impl std::fmt::Debug) -> anyhow::Error {
    anyhow::anyhow!("{e:?}")
}

impl Scenario {
    pub async fn connect(vcsim: &Vcsim) -> Result<Scenario> {
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls::pki_types::pem::PemObject::pem_slice_iter(vcsim.ca_pem.as_bytes()) {
            roots.add(c?)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let http = reqwest13::Client::builder().cookie_store(true).tls_backend_preconfigured(tls).build()?;
        let client = ClientBuilder::new(&vcsim.server, http)
            .transport(TransportMode::Soap)
            .basic_authn(&vcsim.username, &vcsim.password)
            .build()
            .await
            .map_err(vim)?;
        Ok(Scenario { client })
    }

    pub fn client(&self) -> Arc<Client> {
        self.client.clone()
    }

    fn dyn_client(&self) -> Arc<dyn VimClient> {
        self.client.clone() as Arc<dyn VimClient>
    }

    /// Moref value of the managed entity of `kind` (e.g. "VirtualMachine") named `name`, if any.
    pub async fn find(&self, kind: &str, name: &str) -> Result<Option<String>> {
        let sc = self.client.service_content();
        let vm = ViewManager::new(self.dyn_client(), &sc.view_manager.as_ref().unwrap().value);
        let view = vm.create_container_view(&sc.root_folder, Some(&[kind.to_string()]), true).await.map_err(vim)?;
        let refs: Vec<ManagedObjectReference> = self.client.fetch_property(view.clone(), "view").await.unwrap_or_default();
        let mut found = None;
        for r in refs {
            let n: String = self.client.fetch_property(r.clone(), "name").await.map_err(vim)?;
            if n == name {
                found = Some(r.value);
                break;
            }
        }
        let _ = self.client.invoke_void("", "ContainerView", &view.value, "DestroyView", None).await;
        Ok(found)
    }

    async fn must_find(&self, kind: &str, name: &str) -> Result<String> {
        self.find(kind, name).await?.ok_or_else(|| anyhow::anyhow!("{kind} {name} not found"))
    }

    pub async fn vm(&self, name: &str) -> Result<String> {
        self.must_find("VirtualMachine", name).await
    }

    pub async fn host(&self, name: &str) -> Result<String> {
        self.must_find("HostSystem", name).await
    }

    pub async fn datastore(&self, name: &str) -> Result<String> {
        self.must_find("Datastore", name).await
    }

    async fn prop<T: miniserde::Deserialize + 'static>(&self, obj: ManagedObjectReference, path: &str) -> Result<T> {
        self.client.fetch_property(obj, path).await.map_err(vim)
    }

    /// Create a VM as described (CreateVM_Task on the given host, pool = host's parent resource pool), then
    /// apply Tools state, snapshots and power state. Returns the VM moref value.
    pub async fn create_vm(&self, spec: &VmSpec) -> Result<String> {
        let host = mo(MoTypesEnum::HostSystem, &self.host(&spec.host).await?);
        let parent: ManagedObjectReference = self.prop(host.clone(), "parent").await?;
        let pool: ManagedObjectReference = self.prop(parent, "resourcePool").await?;
        let dc = self.must_find("Datacenter", "DC0").await?;
        let folder: ManagedObjectReference = self.prop(mo(MoTypesEnum::Datacenter, &dc), "vmFolder").await?;
        let config = decode_spec(&spec.config_json())?;
        let task = Folder::new(self.dyn_client(), &folder.value).create_vm_task(&config, &pool, Some(&host)).await.map_err(vim)?;
        self.wait(&task).await?;
        let id = self.vm(&spec.name).await?;
        if spec.tools != ToolsState::NotInstalled {
            self.reconfig(&id, json!({"_typeName": "VirtualMachineConfigSpec", "extraConfig": tools_options(spec.tools)})).await?;
        }
        for i in 0..spec.snapshots {
            self.snapshot(&id, &format!("snap{i}")).await?;
        }
        if spec.powered_on {
            self.power_on(&id).await?;
        }
        Ok(id)
    }

    /// ReconfigVM_Task with a VI/JSON config spec.
    pub async fn reconfig(&self, vm: &str, spec: Value) -> Result<()> {
        let spec = decode_spec(&spec)?;
        let task = VirtualMachine::new(self.dyn_client(), vm).reconfig_vm_task(&spec).await.map_err(vim)?;
        self.wait(&task).await
    }

    /// Append an extraConfig entry (vcsim appends; the controller reads the last one).
    pub async fn set_extra_config(&self, vm: &str, key: &str, value: &str) -> Result<()> {
        self.reconfig(vm, json!({"_typeName": "VirtualMachineConfigSpec", "extraConfig": [crate::spec::option(key, value)]})).await
    }

    pub async fn set_tools(&self, vm: &str, tools: ToolsState) -> Result<()> {
        self.reconfig(vm, json!({"_typeName": "VirtualMachineConfigSpec", "extraConfig": tools_options(tools)})).await
    }

    pub async fn snapshot(&self, vm: &str, name: &str) -> Result<()> {
        let task = VirtualMachine::new(self.dyn_client(), vm).create_snapshot_task(name, None, false, false).await.map_err(vim)?;
        self.wait(&task).await
    }

    /// Start PowerOnVM_Task and return the task moref without waiting (for failure-mapping tests).
    pub async fn start_power_on(&self, vm: &str) -> Result<ManagedObjectReference> {
        VirtualMachine::new(self.dyn_client(), vm).power_on_vm_task(None).await.map_err(vim)
    }

    pub async fn power_on(&self, vm: &str) -> Result<()> {
        let task = self.start_power_on(vm).await?;
        self.wait(&task).await
    }

    pub async fn power_off(&self, vm: &str) -> Result<()> {
        let task = VirtualMachine::new(self.dyn_client(), vm).power_off_vm_task().await.map_err(vim)?;
        self.wait(&task).await
    }

    /// Power off if needed, then Destroy_Task.
    pub async fn delete_vm(&self, vm: &str) -> Result<()> {
        let _ = self.power_off(vm).await;
        let task = VirtualMachine::new(self.dyn_client(), vm).destroy_task().await.map_err(vim)?;
        self.wait(&task).await
    }

    /// Start Destroy_Task without waiting (fails with InvalidPowerState on a powered-on VM).
    pub async fn start_destroy(&self, vm: &str) -> Result<ManagedObjectReference> {
        VirtualMachine::new(self.dyn_client(), vm).destroy_task().await.map_err(vim)
    }

    /// Attach a NAS datastore named `name` with `summary.type` = `ds_type` ("VMFS", "NFS", ...) to `host`:
    /// a directory under LocalDS_0, mounted through HostDatastoreSystem.CreateNasDatastore.
    pub async fn add_datastore(&self, host: &str, name: &str, ds_type: &str) -> Result<String> {
        let host = mo(MoTypesEnum::HostSystem, &self.host(host).await?);
        let dc = mo(MoTypesEnum::Datacenter, &self.must_find("Datacenter", "DC0").await?);
        let fm = self.client.service_content().file_manager.clone().unwrap();
        FileManager::new(self.dyn_client(), &fm.value)
            .make_directory(&format!("[LocalDS_0] {name}"), Some(&dc), Some(true))
            .await
            .map_err(vim)?;
        let local = mo(MoTypesEnum::Datastore, &self.datastore("LocalDS_0").await?);
        let url: String = self.prop(local, "info.url").await?;
        let spec: HostNasVolumeSpec = miniserde::json::from_str(
            &json!({"_typeName": "HostNasVolumeSpec", "remoteHost": "nas.example", "remotePath": format!("/export/{name}"),
                    "localPath": format!("{url}/{name}"), "accessMode": "readWrite", "type": ds_type})
            .to_string(),
        )
        .map_err(|_| anyhow::anyhow!("cannot decode HostNasVolumeSpec"))?;
        let dss: ManagedObjectReference = self.prop(host, "configManager.datastoreSystem").await?;
        let ds = HostDatastoreSystem::new(self.dyn_client(), &dss.value).create_nas_datastore(&spec).await.map_err(vim)?;
        Ok(ds.value)
    }

    /// Destroy a datastore (no VMs may be on it): the nearest vcsim gets to "the account cannot see it".
    pub async fn remove_datastore(&self, ds: &str) -> Result<()> {
        let task = Datastore::new(self.dyn_client(), ds).destroy_task().await.map_err(vim)?;
        self.wait(&task).await
    }

    /// TerminateSession on another session's key (from this, a second, session).
    pub async fn terminate_session(&self, key: &str) -> Result<()> {
        let sm = self.client.service_content().session_manager.clone().unwrap();
        SessionManager::new(self.dyn_client(), &sm.value).terminate_session(&[key.to_string()]).await.map_err(vim)
    }

    /// Poll a task to completion (30 s). Failed tasks give an error (the fault type is not parsed here).
    pub async fn wait(&self, task: &ManagedObjectReference) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let state: TaskInfoStateEnum = self.prop(task.clone(), "info.state").await?;
            match state {
                TaskInfoStateEnum::Success => return Ok(()),
                TaskInfoStateEnum::Error => anyhow::bail!("task {} failed", task.value),
                _ if Instant::now() > deadline => anyhow::bail!("task {} timed out", task.value),
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }
}

fn decode_spec(v: &Value) -> Result<VirtualMachineConfigSpec> {
    miniserde::json::from_str(&v.to_string()).map_err(|_| anyhow::anyhow!("cannot decode VirtualMachineConfigSpec from {v}"))
}
