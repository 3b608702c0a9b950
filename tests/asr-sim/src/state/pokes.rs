//! Test pokes: changes a test makes to the world directly (a second disaster, a scripted job failure, a forced agent
//! registration), as no ARM request could.

use super::{Job, World};
use crate::scenario::JobFailureSpec;
use jiff::Timestamp;

impl World {
    /// A new disaster: the item fails over to Azure again at `now` (months after it was protected), as an
    /// unplanned failover to Azure would leave it, its finished `UnplannedFailover` job included. Returns whether
    /// the item was found.
    pub fn fail_over_again(&mut self, item: &str, now: Timestamp) -> bool {
        self.fail_over_again_in(None, item, now)
    }

    /// [`World::fail_over_again`] in the vault named `vault` only (`None`: in every vault that has the item).
    pub fn fail_over_again_in(&mut self, vault: Option<&str>, item: &str, now: Timestamp) -> bool {
        self.advance(now);
        let mut found = false;
        for v in self.vaults.iter_mut().filter(|v| vault.is_none_or(|n| v.name.eq_ignore_ascii_case(n))) {
            let failed_over: Vec<Job> = v
                .items
                .iter()
                .filter(|i| i.name.eq_ignore_ascii_case(item))
                .map(|i| crate::failback::finished_failover_job(i, now))
                .collect();
            v.jobs.extend(failed_over);
            for it in v.items.iter_mut().filter(|i| i.name.eq_ignore_ascii_case(item)) {
                it.provider = "InMageAzureV2".into();
                it.protection_state = "UnplannedFailoverCommitted".into();
                it.active_location = "Recovery".into();
                it.allowed_operations = vec!["ReverseReplicate".into(), "DisableProtection".into()];
                it.failover_time = Some(now);
                it.agent_override = None;
                it.current_job = None;
                it.reprotect = None;
                it.forward = None;
                it.azure_vm_present = true;
                found = true;
            }
        }
        found
    }

    /// Script the next job of `scenario` on `item` (any vault) to fail with `code`. Returns whether it was found.
    pub fn fail_next_job(&mut self, item: &str, scenario: &str, code: &str) -> bool {
        let mut found = false;
        for it in self.vaults.iter_mut().flat_map(|v| v.items.iter_mut()).filter(|i| i.name.eq_ignore_ascii_case(item)) {
            it.fail_jobs.push(JobFailureSpec { scenario: scenario.into(), code: code.into(), message: None });
            found = true;
        }
        found
    }

    /// Force the agent of `item` (in any vault) registered or not. Returns whether it was found.
    pub fn set_agent_registered(&mut self, item: &str, registered: Option<bool>) -> bool {
        let mut found = false;
        for v in &mut self.vaults {
            for it in v.items.iter_mut().filter(|i| i.name.eq_ignore_ascii_case(item)) {
                it.agent_override = registered;
                found = true;
            }
        }
        found
    }
}
