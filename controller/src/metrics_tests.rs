//! Tests of the metrics: labels, per-namespace phase counts, and that the chart's alerts and dashboard only use metrics that exist.

use super::*;
use crate::crd::{ProtectedMachine, ProtectedMachineStatus};

fn machine(ns: &str, name: &str, policy: &str, phase: Phase) -> ProtectedMachine {
    let mut pm: ProtectedMachine = serde_json::from_value(serde_json::json!({
        "apiVersion": "reprotect.io/v1alpha1", "kind": "ProtectedMachine",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"policyRef": policy, "item": {"name": name}, "osType": "Windows", "existingVm": {"name": name}},
    }))
    .expect("a valid ProtectedMachine");
    pm.status = Some(ProtectedMachineStatus { phase, ..Default::default() });
    pm
}

fn sample(text: &str, series: &str) -> Option<i64> {
    text.lines().find_map(|l| l.strip_prefix(series)).and_then(|v| v.trim().parse().ok())
}

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

#[test]
fn external_requests_are_counted_by_service_operation_and_status_with_a_latency_histogram() {
    let m = Metrics::default();
    m.external_request("arm", "reProtect", Some(202), 0.2);
    m.external_request("arm", "reProtect", None, 1.5);
    m.external_request("vcenter", "PowerOffVM_Task", Some(200), 0.05);
    let text = m.render();
    assert_eq!(sample(&text, r#"reprotect_external_requests_total{service="arm",operation="reProtect",status="202"} "#), Some(1), "{text}");
    assert_eq!(
        sample(&text, r#"reprotect_external_requests_total{service="arm",operation="reProtect",status="error"} "#),
        Some(1),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"reprotect_external_request_duration_seconds_count{service="arm",operation="reProtect"} "#),
        Some(2),
        "{text}"
    );
    assert!(
        text.contains(r#"reprotect_external_request_duration_seconds_bucket{le="0.08",service="vcenter",operation="PowerOffVM_Task"} 1"#),
        "{text}"
    );
}

#[test]
fn machines_are_counted_per_namespace_and_policy_and_each_namespace_keeps_its_own_series() {
    let m = Metrics::default();
    let dr =
        [machine("dr", "a", "p1", Phase::Protected), machine("dr", "b", "p1", Phase::Blocked), machine("dr", "c", "p2", Phase::Protected)];
    let dr2 = [machine("dr2", "a", "p1", Phase::Reprotecting)];
    // One controller set per watched namespace, each recounting its own cache.
    m.set_machine_phases(Some("dr"), &dr);
    m.set_machine_phases(Some("dr2"), &dr2);
    let text = m.render();
    let series = |ns: &str, policy: &str, phase: &str| {
        sample(&text, &format!(r#"reprotect_machines{{namespace="{ns}",policy="{policy}",phase="{phase}"}} "#))
    };
    assert_eq!(series("dr", "p1", "Protected"), Some(1), "{text}");
    assert_eq!(series("dr", "p1", "Blocked"), Some(1));
    assert_eq!(series("dr", "p1", "Pending"), Some(0), "every phase exists, at 0");
    assert_eq!(series("dr", "p2", "Protected"), Some(1));
    assert_eq!(series("dr2", "p1", "Reprotecting"), Some(1));

    // p2's last machine is deleted in dr: its series go; dr2 is untouched by dr's recount.
    m.set_machine_phases(Some("dr"), &dr[..2]);
    let text = m.render();
    assert!(!text.contains(r#"policy="p2""#), "{text}");
    assert!(text.contains(r#"reprotect_machines{namespace="dr2",policy="p1",phase="Reprotecting"} 1"#), "{text}");
}

#[test]
fn leader_build_info_agent_window_and_watchdog_conditions_are_exposed() {
    let m = Metrics::default();
    m.set_leader(true);
    m.agent_window("dr", "app-01", Some(1_800_000_000));
    m.machine_condition("dr", "app-02", "FailbackAtRisk", true);
    m.reprotect_finished(600.0);
    m.agent_waited(120.0);
    let text = m.render();
    assert_eq!(sample(&text, "reprotect_leader "), Some(1), "{text}");
    assert!(text.contains(&format!(r#"reprotect_build_info{{version="{}"}} 1"#, env!("CARGO_PKG_VERSION"))), "{text}");
    assert_eq!(sample(&text, r#"reprotect_agent_window_deadline_timestamp_seconds{namespace="dr",name="app-01"} "#), Some(1_800_000_000));
    assert_eq!(sample(&text, r#"reprotect_machine_condition{namespace="dr",name="app-02",condition="FailbackAtRisk"} "#), Some(1));
    assert_eq!(sample(&text, "reprotect_reprotect_duration_seconds_count "), Some(1), "{text}");
    assert_eq!(sample(&text, "reprotect_agent_wait_duration_seconds_count "), Some(1), "{text}");
    m.machine_gone("dr", "app-01");
    m.machine_gone("dr", "app-02");
    m.set_leader(false);
    let text = m.render();
    assert!(!text.contains(r#"name="app-0"#), "{text}");
    assert_eq!(sample(&text, "reprotect_leader "), Some(0));
}

/// Metric names (`reprotect_...`) in a text, without the `_total`/`_bucket`/`_sum`/`_count` series suffixes.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("reprotect_") {
        let tail = &rest[i..];
        let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        names.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}

/// A `Metrics` with every family recorded once.
fn fully_recorded() -> Metrics {
    let m = Metrics::default();
    m.reconciled("ProtectedMachine", 0.1);
    m.failed("ProtectedMachine", "asr-transient");
    m.action("reprotect", true);
    m.external_request("arm", "get", Some(200), 0.1);
    m.set_machine_phases(None, &[machine("dr", "a", "p", Phase::Blocked)]);
    m.reprotect_finished(1.0);
    m.agent_waited(1.0);
    m.agent_window("dr", "a", Some(1));
    m.machine_condition("dr", "a", "Degraded", true);
    m.set_leader(true);
    m
}

/// Every series name of a fully recorded `Metrics`, as Prometheus sees them.
fn exposed_series() -> BTreeSet<String> {
    fully_recorded()
        .render()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_list_of_families_is_exactly_what_is_registered() {
    let text = fully_recorded().render();
    let typed: BTreeSet<(String, String)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(n, k)| (n.to_string(), k.to_string()))
        .collect();
    let listed: BTreeSet<(String, String)> = FAMILIES.iter().map(|(n, k)| (n.to_string(), k.to_string())).collect();
    assert_eq!(typed, listed, "metrics::FAMILIES must list every registered family with its type");
}

#[test]
fn every_metric_the_chart_alerts_and_dashboard_use_is_exposed() {
    let rules = include_str!("../../charts/reprotect-controller/files/prometheus-rules.yaml");
    let dashboard = include_str!("../../charts/reprotect-controller/files/grafana-dashboard.json");
    let parsed: serde_json::Value = serde_json::from_str(dashboard).expect("the dashboard is JSON");
    let exprs: Vec<&str> = parsed["panels"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter_map(|t| t["expr"].as_str())
        .collect();
    assert!(exprs.len() >= 8, "the dashboard has {} queries", exprs.len());
    let exposed = exposed_series();
    let mut used = metric_names(rules);
    used.extend(exprs.iter().flat_map(|e| metric_names(e)));
    assert!(used.len() >= 8, "{used:?}");
    let missing: Vec<_> = used.iter().filter(|n| !exposed.contains(*n)).collect();
    assert!(missing.is_empty(), "used by the chart but not exposed by metrics.rs: {missing:?}\nexposed: {exposed:?}");
    for alert in [
        "ReprotectMachineBlocked",
        "ReprotectAgentWindowClosing",
        "ReprotectFailbackAtRisk",
        "ReprotectReconcileErrors",
        "ReprotectNoLeader",
    ] {
        assert!(rules.contains(&format!("alert: {alert}")), "no {alert} alert");
    }
}

#[test]
fn the_classic_text_format_names_counter_families_with_total_and_has_no_eof() {
    let m = fully_recorded();
    let classic = m.render_classic();
    assert!(classic.contains("# TYPE reprotect_reconciles_total counter\n"), "{classic}");
    assert!(classic.contains("# HELP reprotect_reconciles_total Reconciles by kind.\n"), "{classic}");
    assert!(classic.contains("# TYPE reprotect_reconcile_duration_seconds histogram\n"), "histograms keep their name: {classic}");
    assert!(!classic.contains("# EOF"), "{classic}");
    let samples = |t: &str| t.lines().filter(|l| !l.starts_with('#')).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(samples(&classic), samples(&m.render()), "the samples are the same in both formats");
}
