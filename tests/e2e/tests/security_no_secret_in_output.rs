//! No credential in any output: the controller runs as its own process at `trace` log level through a full
//! reprotect with known secret values, and every log line, event, status and metric is searched for them.

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, DynamicObject, ListParams};
use kube::discovery::ApiResource;
use reprotect_controller::crd::Phase;
use reprotect_e2e::process::ControllerProcess;
use reprotect_e2e::{Env, MASTER_TARGETS_AND_MACHINES, SimKnobs, site};
use reprotect_test_support::{install_crds, shared, test_namespace};
use std::time::Duration;

const MACHINES: [&str; 4] = ["app-01", "app-02", "app-03", "db-01"];

/// Everything the cluster shows about the run: events, and the three kinds with their status, as JSON text.
async fn cluster_output(env: &Env) -> anyhow::Result<String> {
    let mut out = String::new();
    let events: Api<Event> = Api::namespaced(env.client.clone(), &env.ns);
    for e in events.list(&ListParams::default()).await? {
        out.push_str(&serde_json::to_string(&e)?);
    }
    for kind in ["ReprotectPolicy", "MasterTarget", "ProtectedMachine"] {
        let plural = format!("{}s", kind.to_lowercase()).replace("policys", "policies");
        let ar = ApiResource {
            group: "reprotect.io".into(),
            version: "v1alpha1".into(),
            api_version: "reprotect.io/v1alpha1".into(),
            kind: kind.into(),
            plural,
        };
        let api: Api<DynamicObject> = Api::namespaced_with(env.client.clone(), &env.ns, &ar);
        for o in api.list(&ListParams::default()).await? {
            out.push_str(&serde_json::to_string(&o.data)?);
        }
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_trace_level_run_through_a_full_reprotect_prints_no_credential_in_logs_events_status_or_metrics() -> anyhow::Result<()> {
    let ns = test_namespace().await;
    install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    let env = Env::start(ns.name(), SimKnobs::default()).await?;
    site(&env, 0).await?;
    env.apply_policy("Apply").await?;
    env.apply(MASTER_TARGETS_AND_MACHINES).await?;
    let (_, _, client_secret) = env.sim.credentials();
    let secrets = [env.vcsim.password.clone(), client_secret.to_string()];

    let kubeconfig = shared().kubeconfig_path().to_path_buf();
    let mut args = vec!["--namespaces".to_string(), ns.name().to_string(), "--log-level".into(), "trace".into()];
    args.extend(env.credential_flags());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let controller = ControllerProcess::spawn(&kubeconfig, "secret-grep", &args)?;
    let phases = env.wait_for_phases(&MACHINES, &[Phase::Protected], Duration::from_secs(180)).await;
    phases.unwrap_or_else(|e| panic!("{e}\ncontroller log:\n{}", controller.log_tail(40)));

    let log = controller.log_tail(usize::MAX);
    assert!(log.lines().count() > 100, "a trace-level run logs a lot ({} lines): is the level applied?", log.lines().count());
    assert!(log.contains("TRACE"), "trace lines are written");
    let metrics = controller.metrics_text().await;
    assert!(metrics.contains("reprotect_reconciles_total"), "metrics were scraped");
    let cluster = cluster_output(&env).await?;
    for secret in &secrets {
        assert!(!secret.is_empty());
        for (what, text) in [("the log", &log), ("metrics", &metrics), ("events and status", &cluster)] {
            let line = text.lines().find(|l| l.contains(secret.as_str()));
            assert!(line.is_none(), "a credential appears in {what}: {}", line.unwrap_or_default());
        }
    }
    Ok(())
}
