//! The pure simulated world: items, jobs, agent registration and reprotect validation.
//!
//! Nothing here reads a clock: every time-dependent call takes an explicit simulated `now`.

mod from_scenario;
mod ids;
mod pokes;
mod records;

pub use crate::validate::{AsrError, ReprotectInput};
pub use ids::{mt_id, new_guid, stable_id};
pub use records::{Item, Job, JobState, REPROTECT_FRIENDLY, REPROTECT_SCENARIO, REPROTECT_TASKS, Vault};

use crate::scenario::{Credentials, Defaults, Scenario};
use from_scenario::vault_from_spec;
use jiff::Timestamp;

/// A job in progress: its vault's and its own index, and whether its prerequisites check has passed.
#[derive(Clone, Copy, Debug)]
struct Running {
    vault: usize,
    job: usize,
    checked: bool,
}

/// The whole simulated world.
#[derive(Clone, Debug)]
pub struct World {
    pub vaults: Vec<Vault>,
    pub defaults: Defaults,
    pub credentials: Credentials,
    pub api_versions: Vec<String>,
    /// Jobs still in progress.
    running: Vec<Running>,
    /// Reprotects accepted so far (picks the 202's headers when they rotate).
    pub accepted: u64,
}

impl World {
    /// Build the world; `start` is the simulated time the simulator starts at.
    pub fn new(sc: &Scenario, start: Timestamp) -> World {
        let vaults = sc.expanded_vaults().into_iter().map(|v| vault_from_spec(v, &sc.defaults, start)).collect();
        World {
            vaults,
            defaults: sc.defaults.clone(),
            credentials: sc.credentials.clone(),
            api_versions: sc.api_versions.clone(),
            running: vec![],
            accepted: 0,
        }
    }

    /// Find a vault (subscription and resource group compared case-insensitively).
    pub fn vault_index(&self, sub: &str, rg: &str, name: &str) -> Option<usize> {
        self.vaults.iter().position(|v| {
            v.subscription.eq_ignore_ascii_case(sub) && v.resource_group.eq_ignore_ascii_case(rg) && v.name.eq_ignore_ascii_case(name)
        })
    }

    /// Validate and accept a reprotect: creates the job and marks the item.
    pub fn reprotect(
        &mut self,
        vi: usize,
        fabric: &str,
        container: &str,
        item: &str,
        body: &serde_json::Value,
        now: Timestamp,
    ) -> Result<Job, AsrError> {
        self.advance(now);
        let inmage_item = self.vaults[vi]
            .item_index(item)
            .and_then(|i| self.vaults[vi].items.get(i))
            .is_some_and(|i| i.provider.eq_ignore_ascii_case("InMage"));
        if inmage_item && crate::validate_failback::is_forward_reprotect(body) {
            return self.forward_reprotect(vi, fabric, container, item, body, now);
        }
        let v = &self.vaults[vi];
        let input = crate::validate::check_reprotect(v, fabric, container, item, body, self.defaults.missing_fabric)?;
        let ii = v.item_index(item).expect("validated");
        let duration = self.defaults.job_duration;
        let v = &mut self.vaults[vi];
        let it = &mut v.items[ii];
        let name = new_guid();
        let planned_error = crate::failback::take_failure(it, crate::failback::JobKind::Reprotect);
        let job = Job {
            kind: crate::failback::JobKind::Reprotect,
            plan: None,
            members: vec![it.name.clone()],
            name: name.clone(),
            operation_id: match self.defaults.async_operation_id {
                crate::scenario::AsyncOperationId::JobName => name.clone(),
                crate::scenario::AsyncOperationId::Distinct => new_guid(),
            },
            activity_id: format!("{} ActivityId: {}", new_guid(), new_guid()),
            item: it.name.clone(),
            item_friendly: it.friendly_name.clone(),
            fabric: it.fabric.clone(),
            container: it.container.clone(),
            start: now,
            duration,
            state: JobState::InProgress,
            end: None,
            error: None,
            prev_allowed: vec![(it.name.clone(), it.allowed_operations.clone())],
            planned_error,
        };
        it.allowed_operations.retain(|o| !o.eq_ignore_ascii_case("ReverseReplicate"));
        it.current_job = Some((job.name.clone(), now));
        it.reprotect = Some(input);
        v.jobs.push(job.clone());
        let ji = v.jobs.len() - 1;
        self.push_running(vi, ji);
        Ok(job)
    }

    /// Move jobs forward to `now`: the end of the first task (the prerequisites check) decides on
    /// agent registration and planned failures, the end of the last task applies the job's effect.
    pub fn advance(&mut self, now: Timestamp) {
        if self.running.is_empty() {
            return;
        }
        let running = std::mem::take(&mut self.running);
        let variants = self.defaults.state_variants;
        for mut r in running {
            let (vi, ji) = (r.vault, r.job);
            let v = &mut self.vaults[vi];
            let Some(job) = v.jobs.get(ji) else { continue };
            let check_at = job.task_span(0).1;
            let end_at = job.start + job.duration;
            // The check decides once, as of its end: a job past it is not checked again on every request (with
            // hundreds of jobs running, re-checking each against its vault's items was most of a 10,000-machine
            // bench's simulator CPU, taken from the controller it measures).
            if now >= check_at && !r.checked {
                if let Some(err) = crate::failback::check_failure(v, ji, check_at) {
                    crate::failback::fail_job(v, ji, err, check_at);
                    continue;
                }
                r.checked = true;
            }
            if now >= end_at {
                crate::failback::succeed_job(v, ji, end_at, variants);
            } else {
                self.running.push(r);
            }
        }
    }

    /// Register a newly accepted job as running.
    pub(crate) fn push_running(&mut self, vi: usize, ji: usize) {
        self.running.push(Running { vault: vi, job: ji, checked: false });
    }

    /// Are any jobs still in progress (so `advance` may change something)?
    pub fn has_running(&self) -> bool {
        !self.running.is_empty()
    }
}
