//! Every metric family the controller declares has samples in a real run: the controller runs as its own
//! process through a reprotect with an agent wait, a lost POST answer and a watchdog finding, `/metrics`
//! is scraped all along, and Prometheus' own `promtool check metrics` accepts the exposition.

use asr_sim::{FaultKind, FaultRule};
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams};
use reprotect_controller::crd::Phase;
use reprotect_controller::metrics::FAMILIES;
use reprotect_e2e::process::ControllerProcess;
use reprotect_e2e::{Env, MASTER_TARGETS_AND_MACHINES, SimKnobs, site};
use reprotect_test_support::{install_crds, shared, test_namespace};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const MACHINES: [&str; 4] = ["app-01", "app-02", "app-03", "db-01"];

/// The families the controller declares (kept equal to the registry by a unit test).
fn declared_families() -> BTreeMap<String, String> {
    FAMILIES.iter().map(|(n, k)| (n.to_string(), k.to_string())).collect()
}

/// Families with at least one sample that shows activity: a non-zero value for counters, gauges and info,
/// a non-zero `_count` for histograms.
fn active_families(text: &str, declared: &BTreeMap<String, String>) -> BTreeSet<String> {
    let mut active = BTreeSet::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let Some((series, value)) = line.rsplit_once(' ') else { continue };
        let name = series.split('{').next().unwrap_or_default();
        let Ok(value) = value.parse::<f64>() else { continue };
        for (family, kind) in declared {
            let sample_of_family = match kind.as_str() {
                "histogram" => name == format!("{family}_count"),
                "counter" => name == format!("{family}_total"),
                "info" => name == format!("{family}_info"),
                _ => name == family,
            };
            if sample_of_family && (value != 0.0 || kind == "gauge" && family.ends_with("leader")) {
                active.insert(family.clone());
            }
        }
    }
    active
}

fn promtool() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("REPROTECT_PROMTOOL") {
        return Ok(p);
    }
    let out = std::process::Command::new("bash").arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../promtool/build.sh")).output()?;
    anyhow::ensure!(out.status.success(), "tests/promtool/build.sh failed: {}", String::from_utf8_lossy(&out.stderr));
    Ok(String::from_utf8(out.stdout)?.lines().last().unwrap_or_default().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_declared_metric_family_has_samples_in_a_real_run_and_promtool_accepts_the_exposition() -> anyhow::Result<()> {
    let ns = test_namespace().await;
    install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    // Failed over a minute ago; the agents register 15 s into the run: every machine waits for them. (At 4 s a
    // loaded machine, with make test's four executables at a time, started the controller after they had registered.)
    let env = Env::start(ns.name(), SimKnobs { agent_delay: "75s", ..SimKnobs::default() }).await?;
    site(&env, 0).await?;
    // db-01's reprotect takes effect but its answer is lost: one reconcile fails (an error of a category).
    env.sim
        .inject_fault(FaultRule::new("replicationProtectedItems/db-01/reProtect", FaultKind::AcceptThenFail(503)).method("POST").times(1));
    env.apply_policy("Apply").await?;
    env.apply(MASTER_TARGETS_AND_MACHINES).await?;

    let kubeconfig = shared().kubeconfig_path().to_path_buf();
    let mut args = vec!["--namespaces".to_string(), ns.name().to_string(), "--watchdog-interval".into(), "2s".into()];
    args.extend(env.credential_flags());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let controller = ControllerProcess::spawn(&kubeconfig, "metrics-scrape", &args)?;

    let declared = declared_families();
    let mut seen = BTreeSet::new();
    let mut last = String::new();
    let mut snapshot_taken = false;
    let deadline = Instant::now() + Duration::from_secs(240);
    while seen.len() < declared.len() && Instant::now() < deadline {
        last = controller.metrics_text().await;
        seen.extend(active_families(&last, &declared));
        let phases = env.wait_for_phases(&MACHINES, &[Phase::Protected], Duration::ZERO).await;
        if phases.is_ok() && !snapshot_taken {
            // A snapshot on the Windows master target after protection puts failback at risk (watchdog finding).
            let moref = env.vc.vm("mt-win-01").await?;
            env.vc.snapshot(&moref, "someone-took-a-snapshot").await?;
            snapshot_taken = true;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let missing: Vec<&String> = declared.keys().filter(|f| !seen.contains(*f)).collect();
    assert!(missing.is_empty(), "families without samples: {missing:?}\nlast scrape:\n{last}\nlog:\n{}", controller.log_tail(30));

    // The controller's own API-server requests, named as the audit log names them.
    for (service, operation) in [("arm", "reprotect"), ("vcenter", "observe"), ("kubernetes", "patch protectedmachines/status")] {
        let series = format!(r#"reprotect_external_requests_total{{service="{service}",operation="{operation}","#);
        assert!(last.contains(&series), "{series} in\n{last}");
    }
    assert!(last.contains(r#"status="503""#), "the lost answer is counted with its status:\n{last}");
    let events: Api<Event> = Api::namespaced(env.client.clone(), ns.name());
    let reasons: BTreeSet<String> = events.list(&ListParams::default()).await?.into_iter().filter_map(|e| e.reason).collect();
    assert!(reasons.contains("FailbackAtRisk"), "the watchdog finding is an event: {reasons:?}");

    let promtool = promtool()?;
    let mut child = std::process::Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    std::io::Write::write_all(child.stdin.as_mut().ok_or_else(|| anyhow::anyhow!("stdin"))?, last.as_bytes())?;
    drop(child.stdin.take());
    let out = child.wait_with_output()?;
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
