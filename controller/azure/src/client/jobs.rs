//! The job side of `ArmClient`: submitting a reProtect and finding its job from the answer, reading
//! a job (patient with one this client just started), listing an item's jobs for adoption.

use std::sync::Arc;

use reprotect_facts::*;
use reqwest::Method;
use url::Url;

use super::{ArmClient, target_key, vault_key};
use crate::{
    accepted::{JobSource, job_from_headers},
    budget::Kind,
    http::Resend,
    mapping::{self, parse_retry_after},
    models,
};

impl ArmClient {
    /// POST reProtect (never resent once it may have been sent); the job from the answer's headers.
    pub(super) async fn submit_reprotect(&self, vault: &VaultRef, request: &ReprotectRequest) -> Result<JobRef, SiteRecoveryError> {
        for (field, value) in [
            ("masterTargetId", &request.master_target_id),
            ("processServerId", &request.process_server_id),
            ("retentionDrive", &request.retention_drive),
            ("profileId", &request.profile_id),
            ("datastoreName", &request.datastore_name),
        ] {
            if value.trim().is_empty() {
                return Err(SiteRecoveryError::Invalid(format!("reprotect of {}: {field} is empty", request.item_name)));
            }
        }
        let url = self.item_url(vault, &request.item_name, Some("reProtect")).await?;
        let body = serde_json::to_vec(&mapping::reprotect_body(request)).map_err(|e| SiteRecoveryError::Invalid(e.to_string()))?;
        self.post_lro("reprotect", vault, &url, &request.item_name, Some(body)).await
    }

    /// POST a long-running operation on `target` (an item or a recovery plan) once, never resent after it was sent,
    /// and name the job that tracks it. Cached lists of the vault are stale from the moment it is sent.
    pub(super) async fn post_lro(
        &self,
        op: &str,
        vault: &VaultRef,
        url: &Url,
        target: &str,
        body: Option<Vec<u8>>,
    ) -> Result<JobRef, SiteRecoveryError> {
        let vkey = vault_key(vault);
        let reply = self.http.send(op, Method::POST, url, body.as_deref(), &self.lane(vault, Kind::Write), Resend::NotAfterSent).await;
        // Whatever the answer (a lost one included), Azure may have acted: lists read before now are stale.
        self.target_writes.record(target_key(&vkey, target));
        self.writes.record(vkey);
        let reply = reply?;
        let retry_after_seconds = reply.header("retry-after").and_then(parse_retry_after);
        // Azure answers 202 with `Location` and/or `Azure-AsyncOperation` (its own example has only
        // the latter), recorded traffic also with `x-ms-request-id` naming the job.
        let named = job_from_headers(reply.header("location"), reply.header("azure-asyncoperation"), reply.header("x-ms-request-id"));
        let job = match named {
            Some((operation, JobSource::AsyncOperation)) => Some(self.job_of_operation(vault, target, operation).await),
            Some((job, _)) => Some(job),
            // A synchronous 200 carries the item; its current scenario names the job.
            None => reply.json::<models::ProtectedItem>(op).ok().map(mapping::protected_item_facts).and_then(|item| {
                let id = item.current_scenario?.job_id?;
                Some(arm_name(&id).to_string()).filter(|j| !j.is_empty() && !j.eq_ignore_ascii_case("None"))
            }),
        };
        match job {
            Some(job_name) => {
                self.recent_jobs.remember(&job_name);
                Ok(JobRef { job_name, retry_after_seconds })
            }
            None => Err(SiteRecoveryError::Decode {
                operation: op.into(),
                message: format!("HTTP {} without a Location or Azure-AsyncOperation header naming the job", reply.status),
            }),
        }
    }

    /// A job this client just started may answer 404 for some seconds: then ask again with
    /// backoff, and if it is still not readable answer a transient error (not "not found").
    pub(super) async fn read_job(&self, vault: &VaultRef, job_name: &str) -> Result<JobFacts, SiteRecoveryError> {
        let url = self.vault_url(vault, &["replicationJobs", arm_name(job_name)]);
        let mut delays = self.http.retry_delays();
        loop {
            let err = match self.get("get_job", vault, &url).await {
                Ok(job) => return Ok(mapping::job_facts(job)),
                Err(SiteRecoveryError::Service(e)) if e.status == 404 && self.recent_jobs.is_recent(job_name) => e,
                Err(e) => return Err(e),
            };
            match delays.next() {
                Some(d) => tokio::time::sleep(d).await,
                None => {
                    return Err(SiteRecoveryError::Decode {
                        operation: "get_job".into(),
                        message: format!("job {job_name} was accepted but is not readable yet (HTTP 404 {})", err.code),
                    });
                }
            }
        }
    }

    /// Lists the vault's jobs and filters client-side: the spec documents `$filter` only as
    /// "OData filter options", without the field names. The cached list serves every target except
    /// one this client wrote to after the list was fetched.
    pub(super) async fn jobs_for(&self, vault: &VaultRef, target_object_id: &str) -> Result<Vec<JobFacts>, SiteRecoveryError> {
        let vkey = vault_key(vault);
        let written = self.target_writes.last(&target_key(&vkey, target_object_id));
        // A list of many pages is reused for as many TTLs as it took pages: a vault of 1,000 jobs in ten pages
        // re-read every 10 s would take 40% of the subscription's read budget during a burst of reprotects.
        let pages = self.job_list_pages.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&vkey).copied();
        let max_age = self.jobs.ttl().saturating_mul(pages.unwrap_or(1).max(1));
        let all = self
            .jobs
            .get_within(vkey.clone(), max_age, written, std::time::Duration::ZERO, || async {
                let url = self.vault_url(vault, &["replicationJobs"]);
                let (jobs, pages) = self.get_pages("list_jobs", vault, url, |_| false, mapping::job_facts).await?;
                self.job_list_pages.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(vkey, pages);
                Ok::<_, SiteRecoveryError>(Arc::new(jobs))
            })
            .await?;
        let mut jobs: Vec<JobFacts> = all.iter().filter(|j| mapping::job_targets(j, target_object_id)).cloned().collect();
        jobs.sort_by_key(|j| std::cmp::Reverse(j.start_time));
        Ok(jobs)
    }

    /// The vault's jobs started at or after `since`, every page, never cached: the filter Azure PowerShell's
    /// `Get-AzRecoveryServicesAsrJob -StartTime` sends (`StartTime eq '<ISO 8601, UTC>'`, a lower bound whatever
    /// the `eq` says), spaces and quotes percent-encoded as the Azure SDKs write them.
    pub(super) async fn jobs_started_since(&self, vault: &VaultRef, since: jiff::Timestamp) -> Result<Vec<JobFacts>, SiteRecoveryError> {
        let mut url = self.vault_url(vault, &["replicationJobs"]);
        let query = format!("{}&{}", url.query().unwrap_or_default(), start_time_filter(since));
        url.set_query(Some(&query));
        self.get_pages("list_jobs", vault, url, |_| false, mapping::job_facts).await.map(|(jobs, _)| jobs)
    }

    /// The job of an accepted reProtect named only by `Azure-AsyncOperation`. Recorded traffic uses
    /// the job name as the operation id; Azure's examples a separate id. When the id is no job,
    /// the item's unfinished job is the one (ASR runs one operation per item at a time).
    async fn job_of_operation(&self, vault: &VaultRef, item: &str, operation_id: String) -> String {
        let url = self.vault_url(vault, &["replicationJobs", &operation_id]);
        match self.get::<models::Job>("get_job", vault, &url).await {
            Err(SiteRecoveryError::Service(e)) if e.status == 404 => {}
            _ => return operation_id,
        }
        match self.jobs_for(vault, item).await {
            Ok(jobs) => jobs.into_iter().find(|j| !j.is_finished()).map(|j| j.name).unwrap_or(operation_id),
            Err(_) => operation_id,
        }
    }
}

/// `$filter=StartTime eq '2026-11-29T17:00:00.0000000Z'` (whole seconds, rounded down: the bound may only be earlier).
pub(crate) fn start_time_filter(since: jiff::Timestamp) -> String {
    let whole = jiff::Timestamp::from_second(since.as_second()).unwrap_or(since);
    format!("$filter=StartTime%20eq%20%27{}.0000000Z%27", whole.strftime("%Y-%m-%dT%H:%M:%S"))
}
