//! The on-premises site in vcsim: shaping it (master targets, VMs), reading it back, and playing ASR's part of a
//! failback there (powering the VMs on).

use crate::Env;
use anyhow::{Context as _, Result};
use reprotect_facts::{ObserveRequest, PowerState, VmSelector};
use std::sync::Arc;

pub const WINDOWS: &str = "windows9Server64Guest";
pub const LINUX: &str = "rhel7_64Guest";

/// Shape the on-premises site: master targets (mt-win-01 with `mt_win_snapshots` snapshots,
/// mt-lin-01, mt-win-02 with a snapshot) and the on-premises VMs, all powered on.
pub async fn site(env: &Env, mt_win_snapshots: u32) -> Result<()> {
    let mut mt_win = env.vm("mt-win-01", WINDOWS);
    mt_win.disk_enable_uuid = Some(true);
    mt_win.snapshots = mt_win_snapshots;
    env.vc.create_vm(&mt_win).await?;
    let mut mt_win2 = env.vm("mt-win-02", WINDOWS);
    mt_win2.disk_enable_uuid = Some(true);
    mt_win2.snapshots = 1;
    env.vc.create_vm(&mt_win2).await?;
    let mut mt_lin = env.vm("mt-lin-01", LINUX);
    mt_lin.disk_enable_uuid = Some(true);
    env.vc.create_vm(&mt_lin).await?;
    for name in ["app-01", "app-02", "app-03"] {
        env.vc.create_vm(&env.vm(name, WINDOWS)).await?;
    }
    env.vc.create_vm(&env.vm("db-01", LINUX)).await?;
    Ok(())
}

impl Env {
    /// SOAP `Login` calls vcsim-ext has seen so far: (attempts, failed). Needs `Vcsim::start_ext`.
    pub async fn vcenter_logins(&self) -> Result<(u64, u64)> {
        let admin = self.vcsim.admin_url.as_deref().context("vcsim-ext has no admin endpoint (start it with Vcsim::start_ext)")?;
        let counts: serde_json::Value = reqwest::get(format!("{admin}/logins")).await?.json().await?;
        Ok((counts["attempts"].as_u64().unwrap_or(0), counts["failed"].as_u64().unwrap_or(0)))
    }

    /// Remove every snapshot of a VM (the fix for `mt-no-snapshots`).
    pub async fn remove_all_snapshots(&self, vm_name: &str) -> Result<()> {
        let moref = self.vc.vm(vm_name).await?;
        let client = self.vc.client() as Arc<dyn vim_rs::core::client::VimClient>;
        let task = vim_rs::mo::VirtualMachine::new(client, &moref)
            .remove_all_snapshots_task(None, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        self.vc.wait(&task).await
    }

    /// Power state of VMs, read through the product's own vCenter client: `(name, powered_on)`.
    pub async fn vm_power_states(&self, names: &[&str]) -> Result<Vec<(String, bool)>> {
        let pool = reprotect_vcenter::VcenterPool::new(reprotect_vcenter::PoolOptions::default());
        let vc = pool
            .connect(reprotect_vcenter::ConnectionConfig {
                server: self.vcsim.server.clone(),
                username: self.vcsim.username.clone(),
                password: self.vcsim.password.clone().into(),
                ca_bundle_pem: Some(self.vcsim.ca_pem.clone()),
                insecure_skip_verify: false,
                credentials_version: "e2e".into(),
            })
            .await?;
        let selectors: Vec<VmSelector> = names.iter().map(|n| VmSelector::Name(n.to_string())).collect();
        let facts = vc.observe(&ObserveRequest { master_target_vm: None, on_premises_vms: selectors.clone() }).await?;
        Ok(selectors
            .iter()
            .map(|s| {
                let on = facts.on_premises_vms.get(&s.key()).and_then(|f| f.as_ref()).and_then(|f| f.power_state.clone())
                    == Some(PowerState::PoweredOn);
                (s.key(), on)
            })
            .collect())
    }

    /// Emulate ASR's failback on the on-premises side: power on in vcsim the VMs of every failback job that
    /// succeeded (`done` remembers the jobs already handled).
    pub async fn power_on_failed_back_vms(&self, done: &mut std::collections::HashSet<String>) -> Result<()> {
        let finished: Vec<(String, Vec<String>)> = self.sim.with_world(|w| {
            w.vaults
                .iter()
                .flat_map(|v| &v.jobs)
                .filter(|j| j.kind == asr_sim::failback::JobKind::Failback && j.state == asr_sim::state::JobState::Succeeded)
                .map(|j| (j.name.clone(), j.members.clone()))
                .collect()
        });
        for (job, members) in finished {
            if done.insert(job) {
                for vm in members {
                    let moref = self.vc.vm(&vm).await?;
                    // Already on (an earlier call handled this job): fine.
                    if let Err(e) = self.vc.power_on(&moref).await
                        && !self.vm_power_states(&[vm.as_str()]).await?.iter().all(|(_, on)| *on)
                    {
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }
}
