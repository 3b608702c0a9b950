//! Prometheus metrics (prometheus-client): reconciles, errors, durations, phases per namespace and policy, actions, ARM/vCenter requests, leader, build info.
//!
//! Every family is registered here and recorded only through the methods below, so the names the
//! chart's PrometheusRule and Grafana dashboard use can be checked against one place (see tests).

use crate::crd::{Phase, ProtectedMachine};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::collections::{BTreeMap, BTreeSet};
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

/// `reprotect_machines`: one series per namespace, policy and phase.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MachinePhaseLabels {
    pub namespace: String,
    pub policy: String,
    pub phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    pub action: String,
    pub result: String,
}

/// `service` is `arm` or `vcenter`; `status` the HTTP status code, or `error` without a response.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub service: String,
    pub operation: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub service: String,
    pub operation: String,
}

/// One ProtectedMachine (per-machine series are few: one per machine with an open agent window or a finding).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MachineLabels {
    pub namespace: String,
    pub name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConditionLabels {
    pub namespace: String,
    pub name: String,
    pub condition: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

/// Every phase, so a policy's series exist (at 0) for phases no machine is in. The match below
/// stops the build when a phase is added without being listed here.
pub const PHASES: [Phase; 14] = [
    Phase::Pending,
    Phase::Validating,
    Phase::WaitingForFailover,
    Phase::WaitingForAgent,
    Phase::Reprotecting,
    Phase::Protected,
    Phase::Blocked,
    Phase::Paused,
    Phase::FailingBack,
    Phase::CommitPending,
    Phase::Committing,
    Phase::WaitingForForwardAgent,
    Phase::ReprotectingToAzure,
    Phase::ProtectedToAzure,
];
const _: fn(Phase) = |p| match p {
    Phase::Pending
    | Phase::Validating
    | Phase::WaitingForFailover
    | Phase::WaitingForAgent
    | Phase::Reprotecting
    | Phase::Protected
    | Phase::Blocked
    | Phase::Paused
    | Phase::FailingBack
    | Phase::CommitPending
    | Phase::Committing
    | Phase::WaitingForForwardAgent
    | Phase::ReprotectingToAzure
    | Phase::ProtectedToAzure => {}
};

/// Every family `/metrics` exposes once it has data, with its type, as in the exposition's `# TYPE` lines. A test
/// keeps this list equal to what is registered; the e2e scrape asserts each has samples in a real run.
pub const FAMILIES: [(&str, &str); 13] = [
    ("reprotect_reconciles", "counter"),
    ("reprotect_reconcile_errors", "counter"),
    ("reprotect_reconcile_duration_seconds", "histogram"),
    ("reprotect_machines", "gauge"),
    ("reprotect_actions", "counter"),
    ("reprotect_external_requests", "counter"),
    ("reprotect_external_request_duration_seconds", "histogram"),
    ("reprotect_reprotect_duration_seconds", "histogram"),
    ("reprotect_agent_wait_duration_seconds", "histogram"),
    ("reprotect_agent_window_deadline_timestamp_seconds", "gauge"),
    ("reprotect_machine_condition", "gauge"),
    ("reprotect_leader", "gauge"),
    ("reprotect_build_info", "gauge"),
];

/// All metrics of the controller, registered once.
pub struct Metrics {
    registry: Mutex<Registry>,
    pub reconciles: Family<KindLabels, Counter>,
    pub errors: Family<ErrorLabels, Counter>,
    pub duration: Family<KindLabels, Histogram>,
    /// `reprotect_machines{namespace,policy,phase}`, written by [`Metrics::set_machine_phases`].
    pub machines: Family<MachinePhaseLabels, Gauge>,
    pub actions: Family<ActionLabels, Counter>,
    pub requests: Family<RequestLabels, Counter>,
    pub request_duration: Family<OperationLabels, Histogram>,
    pub reprotect_duration: Histogram,
    pub agent_wait_duration: Histogram,
    pub agent_window_deadline: Family<MachineLabels, Gauge>,
    pub machine_conditions: Family<ConditionLabels, Gauge>,
    pub leader: Gauge,
    /// (namespace, policy) pairs with `machines` series, to drop a policy's series when it has no machine left.
    phase_series: Mutex<BTreeSet<(String, String)>>,
}

impl Default for Metrics {
    fn default() -> Self {
        let m = Metrics {
            registry: Mutex::new(Registry::with_prefix("reprotect")),
            reconciles: Family::default(),
            errors: Family::default(),
            duration: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.005, 2.0, 14))),
            machines: Family::default(),
            actions: Family::default(),
            requests: Family::default(),
            request_duration: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.01, 2.0, 12))),
            reprotect_duration: Histogram::new(exponential_buckets(1.0, 2.0, 16)),
            agent_wait_duration: Histogram::new(exponential_buckets(1.0, 2.0, 14)),
            agent_window_deadline: Family::default(),
            machine_conditions: Family::default(),
            leader: Gauge::default(),
            phase_series: Mutex::new(BTreeSet::new()),
        };
        let mut r = m.registry.lock().unwrap_or_else(|e| e.into_inner());
        r.register("reconciles", "Reconciles by kind", m.reconciles.clone());
        r.register("reconcile_errors", "Reconcile errors by kind and category", m.errors.clone());
        r.register("reconcile_duration_seconds", "Reconcile duration by kind", m.duration.clone());
        r.register("machines", "ProtectedMachines by namespace, policy and phase", m.machines.clone());
        r.register("actions", "Actions taken by type and result", m.actions.clone());
        r.register("external_requests", "ARM and vCenter requests by service, operation and status code", m.requests.clone());
        r.register(
            "external_request_duration_seconds",
            "ARM and vCenter request latency by service and operation",
            m.request_duration.clone(),
        );
        r.register("reprotect_duration_seconds", "Reprotect job duration: submission to Protected", m.reprotect_duration.clone());
        r.register("agent_wait_duration_seconds", "Time spent waiting for the mobility agent", m.agent_wait_duration.clone());
        r.register(
            "agent_window_deadline_timestamp_seconds",
            "Unix time at which a machine's agent registration window closes (machines waiting for the agent)",
            m.agent_window_deadline.clone(),
        );
        r.register(
            "machine_condition",
            "1 for each true watchdog condition of a ProtectedMachine (Degraded, FailbackAtRisk)",
            m.machine_conditions.clone(),
        );
        r.register("leader", "1 when this replica leads (or runs without leader election), else 0", m.leader.clone());
        // A gauge fixed at 1, as `go_build_info` and most exporters do, rather than an OpenMetrics `info`: the
        // classic text format (and `promtool check metrics`) has no info type.
        let build: Family<BuildLabels, Gauge> = Family::default();
        build.get_or_create(&BuildLabels { version: env!("CARGO_PKG_VERSION").into() }).set(1);
        r.register("build_info", "Build information (always 1)", build);
        drop(r);
        m
    }
}

impl Metrics {
    /// Text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        // Writing to a String cannot fail; an encoder error would only truncate the page.
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }

    /// The classic Prometheus text format (0.0.4), for clients that do not ask for OpenMetrics (`curl`,
    /// `promtool check metrics`, older scrapers). prometheus-client only writes OpenMetrics; the two differ only
    /// in that a counter family is named with its `_total` suffix and there is no `# EOF` or `# UNIT` line.
    pub fn render_classic(&self) -> String {
        classic_text(&self.render())
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

    /// One ARM or vCenter request: `service` `arm`/`vcenter`, `status` the HTTP code (None: no response).
    pub fn external_request(&self, service: &str, operation: &str, status: Option<u16>, seconds: f64) {
        let status = status.map(|s| s.to_string()).unwrap_or_else(|| "error".into());
        self.requests.get_or_create(&RequestLabels { service: service.into(), operation: operation.into(), status }).inc();
        self.request_duration.get_or_create(&OperationLabels { service: service.into(), operation: operation.into() }).observe(seconds);
    }

    /// A reprotect job ended in Protected `seconds` after it was submitted.
    pub fn reprotect_finished(&self, seconds: f64) {
        self.reprotect_duration.observe(seconds);
    }

    /// The mobility agent registered (or the window closed) `seconds` after failover.
    pub fn agent_waited(&self, seconds: f64) {
        self.agent_wait_duration.observe(seconds);
    }

    /// The agent window of a machine closes at `deadline` (Unix seconds); `None` once it is no longer waiting.
    pub fn agent_window(&self, namespace: &str, name: &str, deadline: Option<i64>) {
        let labels = MachineLabels { namespace: namespace.into(), name: name.into() };
        match deadline {
            Some(t) => {
                self.agent_window_deadline.get_or_create(&labels).set(t);
            }
            None => {
                self.agent_window_deadline.remove(&labels);
            }
        }
    }

    /// A watchdog condition (`Degraded`, `FailbackAtRisk`) of a machine is true or not.
    pub fn machine_condition(&self, namespace: &str, name: &str, condition: &str, on: bool) {
        let labels = ConditionLabels { namespace: namespace.into(), name: name.into(), condition: condition.into() };
        if on {
            self.machine_conditions.get_or_create(&labels).set(1);
        } else {
            self.machine_conditions.remove(&labels);
        }
    }

    /// A machine was deleted: drop its per-machine series.
    pub fn machine_gone(&self, namespace: &str, name: &str) {
        self.agent_window(namespace, name, None);
        for condition in ["Degraded", "FailbackAtRisk"] {
            self.machine_condition(namespace, name, condition, false);
        }
    }

    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// Recount `reprotect_machines` from a watch cache covering `scope` (one namespace, or `None`
    /// for all): every phase of every (namespace, policy) seen is set, zeros included, and the
    /// series of policies in scope with no machine left are dropped. Caches of other namespaces
    /// (one controller set per watched namespace) keep their series.
    pub fn set_machine_phases<'a>(&self, scope: Option<&str>, machines: impl IntoIterator<Item = &'a ProtectedMachine>) {
        let mut counts: BTreeMap<(String, String), BTreeMap<Phase, i64>> = BTreeMap::new();
        for m in machines {
            let key = (m.metadata.namespace.clone().unwrap_or_default(), m.spec.policy_ref.to_string());
            let phase = m.status.as_ref().map(|s| s.phase).unwrap_or_default();
            *counts.entry(key).or_default().entry(phase).or_default() += 1;
        }
        let mut known = self.phase_series.lock().unwrap_or_else(|e| e.into_inner());
        let stale: Vec<(String, String)> =
            known.iter().filter(|(ns, _)| scope.is_none_or(|s| s == ns)).filter(|k| !counts.contains_key(*k)).cloned().collect();
        for key in stale {
            for phase in PHASES {
                self.machines.remove(&MachinePhaseLabels { namespace: key.0.clone(), policy: key.1.clone(), phase: phase.to_string() });
            }
            known.remove(&key);
        }
        for ((namespace, policy), by_phase) in counts {
            for phase in PHASES {
                let labels = MachinePhaseLabels { namespace: namespace.clone(), policy: policy.clone(), phase: phase.to_string() };
                self.machines.get_or_create(&labels).set(by_phase.get(&phase).copied().unwrap_or(0));
            }
            known.insert((namespace, policy));
        }
    }
}

/// OpenMetrics text to the classic text format (see [`Metrics::render_classic`]).
pub fn classic_text(openmetrics: &str) -> String {
    let counters: BTreeSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .filter(|name| !name.contains(' '))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "].into_iter().find_map(|p| line.strip_prefix(p).map(|rest| (p, rest)));
        match meta.and_then(|(p, rest)| rest.split_once(' ').map(|(name, tail)| (p, name, tail))) {
            Some((prefix, name, tail)) if counters.contains(name) => out.push_str(&format!("{prefix}{name}_total {tail}")),
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
