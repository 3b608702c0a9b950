//! Prometheus metrics (prometheus-client): reconciles, errors by category, durations, phases, actions, external requests.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Mutex;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub kind: String,
    pub category: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseLabels {
    pub phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    pub action: String,
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub service: String,
    pub operation: String,
    pub status: String,
}

/// All metrics of the controller, registered once.
pub struct Metrics {
    registry: Mutex<Registry>,
    pub reconciles: Family<KindLabels, Counter>,
    pub errors: Family<ErrorLabels, Counter>,
    pub duration: Family<KindLabels, Histogram>,
    pub machines_by_phase: Family<PhaseLabels, Gauge>,
    pub actions: Family<ActionLabels, Counter>,
    pub requests: Family<RequestLabels, Counter>,
    pub reprotect_duration: Histogram,
    pub agent_wait_duration: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("reprotect");
        let reconciles = Family::<KindLabels, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        let duration = Family::<KindLabels, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.005, 2.0, 14)));
        let machines_by_phase = Family::<PhaseLabels, Gauge>::default();
        let actions = Family::<ActionLabels, Counter>::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let reprotect_duration = Histogram::new(exponential_buckets(1.0, 2.0, 16));
        let agent_wait_duration = Histogram::new(exponential_buckets(1.0, 2.0, 14));
        registry.register("reconciles", "Reconciles by kind", reconciles.clone());
        registry.register("reconcile_errors", "Reconcile errors by kind and category", errors.clone());
        registry.register("reconcile_duration_seconds", "Reconcile duration by kind", duration.clone());
        registry.register("machines", "ProtectedMachines by phase", machines_by_phase.clone());
        registry.register("actions", "Actions taken by type and result", actions.clone());
        registry.register("external_requests", "ARM and vCenter requests by operation and status", requests.clone());
        registry.register("reprotect_duration_seconds", "Time from reprotect submission to Protected", reprotect_duration.clone());
        registry.register("agent_wait_duration_seconds", "Time spent waiting for the mobility agent", agent_wait_duration.clone());
        Metrics {
            registry: Mutex::new(registry),
            reconciles,
            errors,
            duration,
            machines_by_phase,
            actions,
            requests,
            reprotect_duration,
            agent_wait_duration,
        }
    }
}

impl Metrics {
    /// Text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().expect("metrics registry lock");
        prometheus_client::encoding::text::encode(&mut out, &registry).expect("encoding metrics to a String cannot fail");
        out
    }

    pub fn reconciled(&self, kind: &str, seconds: f64) {
        let labels = KindLabels { kind: kind.into() };
        self.reconciles.get_or_create(&labels).inc();
        self.duration.get_or_create(&labels).observe(seconds);
    }

    pub fn failed(&self, kind: &str, category: &str) {
        self.errors.get_or_create(&ErrorLabels { kind: kind.into(), category: category.into() }).inc();
    }

    pub fn action(&self, action: &str, ok: bool) {
        let result = if ok { "success" } else { "failure" };
        self.actions.get_or_create(&ActionLabels { action: action.into(), result: result.into() }).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_metrics_carry_kind_and_category_labels() {
        let m = Metrics::default();
        m.reconciled("ProtectedMachine", 0.01);
        m.failed("ProtectedMachine", "asr-transient");
        m.action("reprotect", true);
        let text = m.render();
        assert!(text.contains(r#"reprotect_reconciles_total{kind="ProtectedMachine"} 1"#), "{text}");
        assert!(text.contains(r#"category="asr-transient""#), "{text}");
        assert!(text.contains(r#"reprotect_actions_total{action="reprotect",result="success"} 1"#), "{text}");
    }
}
