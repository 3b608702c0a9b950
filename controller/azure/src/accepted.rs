//! What the answer to a reProtect says about its job (from `Location`, `Azure-AsyncOperation` or
//! `x-ms-request-id`), and the jobs this client started recently: a 404 on one of those means
//! "not readable yet", not "gone".

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::mapping::{job_name_from_async_operation, job_name_from_location};

/// Which header named the job of an accepted reProtect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobSource {
    /// `Location: .../operationresults/{job}`: the job name by the spec's `final-state-via: location`.
    Location,
    /// `Azure-AsyncOperation: .../replicationOperationStatus/{id}`: the job name in recorded
    /// traffic, a separate operation id in Azure's examples.
    AsyncOperation,
    /// `x-ms-request-id: /Subscriptions/.../replicationJobs/{job}` (recorded traffic).
    RequestId,
}

/// The job named by the headers of an accepted reProtect, most reliable header first.
pub fn job_from_headers(location: Option<&str>, async_operation: Option<&str>, request_id: Option<&str>) -> Option<(String, JobSource)> {
    location
        .and_then(job_name_from_location)
        .map(|j| (j, JobSource::Location))
        .or_else(|| async_operation.and_then(job_name_from_async_operation).map(|j| (j, JobSource::AsyncOperation)))
        .or_else(|| request_id.filter(|v| v.contains('/')).and_then(job_name_from_location).map(|j| (j, JobSource::RequestId)))
}

/// Jobs this client's reProtects started, kept for `grace`.
#[derive(Debug)]
pub(crate) struct RecentJobs {
    grace: Duration,
    started: Mutex<HashMap<String, Instant>>,
}

impl RecentJobs {
    pub(crate) fn new(grace: Duration) -> Self {
        Self { grace, started: Mutex::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.started.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn remember(&self, job_name: &str) {
        let now = Instant::now();
        let mut m = self.lock();
        m.retain(|_, at| now.duration_since(*at) < self.grace);
        m.insert(job_name.to_ascii_lowercase(), now);
    }

    /// Did this client start the job within the grace?
    pub(crate) fn is_recent(&self, job_name: &str) -> bool {
        self.lock().get(&job_name.to_ascii_lowercase()).is_some_and(|at| at.elapsed() < self.grace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOC: &str = "https://m/Subscriptions/s/x/replicationProtectedItems/i/operationresults/job-1?api-version=2026-11-01";
    const AAO: &str = "https://m/Subscriptions/s/x/vaults/v/replicationOperationStatus/op-1?api-version=2026-11-01";
    const RID: &str = "/Subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/replicationJobs/job-3";

    #[test]
    fn location_wins_then_azure_asyncoperation_then_the_request_id() {
        assert_eq!(job_from_headers(Some(LOC), Some(AAO), Some(RID)), Some(("job-1".into(), JobSource::Location)));
        assert_eq!(job_from_headers(None, Some(AAO), Some(RID)), Some(("op-1".into(), JobSource::AsyncOperation)));
        assert_eq!(job_from_headers(Some("https://m/odd"), None, Some(RID)), Some(("job-3".into(), JobSource::RequestId)));
        assert_eq!(job_from_headers(None, None, Some("5b3c-guid")), None, "a plain request id names no job");
        assert_eq!(job_from_headers(None, None, None), None);
    }

    #[test]
    fn recent_jobs_are_remembered_case_insensitively_for_the_grace_only() {
        let r = RecentJobs::new(Duration::from_millis(50));
        r.remember("Job-A");
        assert!(r.is_recent("job-a"));
        assert!(!r.is_recent("job-b"));
        std::thread::sleep(Duration::from_millis(60));
        assert!(!r.is_recent("job-a"));
    }
}
