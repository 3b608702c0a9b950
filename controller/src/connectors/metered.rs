//! Request metrics for the external services: ARM through the Azure client's per-attempt observer,
//! vCenter by timing each call of the `Vcenter` trait (one call = one SOAP exchange or task).

use crate::metrics::Metrics;
use reprotect_facts::{ObserveRequest, Vcenter, VcenterError, VcenterFacts, VmSelector};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Every ARM attempt (retries included, as ARM counts them against the budget) becomes one sample.
impl reprotect_azure::RequestObserver for Metrics {
    fn on_request(&self, operation: &str, status: u16, elapsed: Duration) {
        self.external_request("arm", operation, (status != 0).then_some(status), elapsed.as_secs_f64());
    }
}

/// The HTTP status a vCenter call ended with: SOAP answers 200, or 500 with a fault (a refused login,
/// a failed call); no status when no answer came (connection or TLS failure). Not-found and ambiguous
/// VMs, and a task that failed, were answered normally (200): the fault is in the answer's content.
pub fn vcenter_status(result: Result<(), &VcenterError>) -> Option<u16> {
    match result {
        Ok(()) => Some(200),
        Err(VcenterError::Connect { .. } | VcenterError::Tls { .. }) => None,
        Err(VcenterError::InvalidLogin { .. } | VcenterError::Call { .. }) => Some(500),
        Err(
            VcenterError::VmNotFound(_)
            | VcenterError::AmbiguousVm { .. }
            | VcenterError::TaskFailed { .. }
            | VcenterError::TaskTimeout { .. },
        ) => Some(200),
    }
}

/// A `Vcenter` that records `reprotect_external_requests_total{service="vcenter"}` and its latency.
pub struct MeteredVcenter {
    pub inner: Arc<dyn Vcenter>,
    pub metrics: Arc<Metrics>,
}

impl MeteredVcenter {
    fn record<T>(&self, operation: &str, started: Instant, result: &Result<T, VcenterError>) {
        let status = vcenter_status(result.as_ref().map(|_| ()));
        self.metrics.external_request("vcenter", operation, status, started.elapsed().as_secs_f64());
    }
}

#[async_trait::async_trait]
impl Vcenter for MeteredVcenter {
    async fn observe(&self, request: &ObserveRequest) -> Result<VcenterFacts, VcenterError> {
        let started = Instant::now();
        let result = self.inner.observe(request).await;
        self.record("observe", started, &result);
        result
    }

    async fn power_off(&self, vm: &VmSelector) -> Result<(), VcenterError> {
        let started = Instant::now();
        let result = self.inner.power_off(vm).await;
        self.record("power-off", started, &result);
        result
    }

    async fn enable_disk_uuid(&self, vm: &VmSelector) -> Result<(), VcenterError> {
        let started = Instant::now();
        let result = self.inner.enable_disk_uuid(vm).await;
        self.record("enable-disk-uuid", started, &result);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeVcenter;

    #[tokio::test]
    async fn every_vcenter_call_is_counted_by_operation_and_status_with_its_latency() {
        let metrics = Arc::new(Metrics::default());
        let fake = FakeVcenter::default();
        let metered = MeteredVcenter { inner: Arc::new(fake), metrics: metrics.clone() };
        let vm = VmSelector::Name("web".into());
        let _ = metered.power_off(&vm).await;
        let _ = metered.observe(&ObserveRequest::default()).await;
        let text = metrics.render();
        assert!(text.contains(r#"reprotect_external_requests_total{service="vcenter",operation="power-off",status="#), "{text}");
        assert!(text.contains(r#"reprotect_external_requests_total{service="vcenter",operation="observe",status="#), "{text}");
        assert!(text.contains(r#"reprotect_external_request_duration_seconds_count{service="vcenter",operation="observe"} 1"#), "{text}");
    }

    #[test]
    fn an_arm_attempt_without_an_answer_is_counted_as_error() {
        let metrics = Metrics::default();
        reprotect_azure::RequestObserver::on_request(&metrics, "listJobs", 0, Duration::from_millis(3));
        reprotect_azure::RequestObserver::on_request(&metrics, "reprotect", 202, Duration::from_millis(3));
        let text = metrics.render();
        assert!(text.contains(r#"reprotect_external_requests_total{service="arm",operation="listJobs",status="error"} 1"#), "{text}");
        assert!(text.contains(r#"reprotect_external_requests_total{service="arm",operation="reprotect",status="202"} 1"#), "{text}");
    }

    #[test]
    fn a_soap_fault_is_a_500_and_a_missing_answer_has_no_status() {
        assert_eq!(vcenter_status(Ok(())), Some(200));
        assert_eq!(vcenter_status(Err(&VcenterError::InvalidLogin { server: "vc".into() })), Some(500));
        assert_eq!(vcenter_status(Err(&VcenterError::Connect { server: "vc".into(), message: "refused".into() })), None);
        assert_eq!(vcenter_status(Err(&VcenterError::VmNotFound("web".into()))), Some(200));
    }
}
