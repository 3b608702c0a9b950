//! `kubectl reprotect …`: the controller binary found by the real kubectl as the plugin `kubectl-reprotect`,
//! against the real API server, vcsim and the simulator: plan, pause/resume, check by name, status, completions.

use reprotect_controller::crd::{PAUSED_ANNOTATION, Phase};
use reprotect_e2e::process::controller_binary;
use reprotect_e2e::{Env, MASTER_TARGETS_AND_MACHINES, SimKnobs, site};
use reprotect_test_support::{CmdOutput, install_crds, shared, test_namespace};
use std::time::Duration;

const MACHINES: [&str; 4] = ["app-01", "app-02", "app-03", "db-01"];

/// `kubectl reprotect ARGS` with the plugin on PATH (a symlink named as kubectl looks for it).
struct Plugin {
    dir: tempfile::TempDir,
}

impl Plugin {
    fn install() -> anyhow::Result<Plugin> {
        let dir = tempfile::tempdir()?;
        std::os::unix::fs::symlink(controller_binary()?, dir.path().join("kubectl-reprotect"))?;
        Ok(Plugin { dir })
    }

    async fn run(&self, args: &[&str]) -> anyhow::Result<CmdOutput> {
        let mut cmd = shared().tool_command("kubectl");
        let path = format!("{}:{}", self.dir.path().display(), std::env::var("PATH").unwrap_or_default());
        cmd.env("PATH", path).arg("reprotect").args(args);
        Ok(tokio::process::Command::from(cmd).output().await?.into())
    }
}

fn ok(what: &str, out: &CmdOutput) -> String {
    assert!(out.success, "kubectl reprotect {what} failed ({:?}):\n{}\n{}", out.code, out.stdout, out.stderr);
    out.stdout.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kubectl_reprotect_plans_pauses_resumes_checks_and_shows_machines_protected() -> anyhow::Result<()> {
    let ns = test_namespace().await;
    install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    let mut env = Env::start(ns.name(), SimKnobs::default()).await?;
    site(&env, 0).await?;
    env.apply_policy("Plan").await?;
    env.apply(MASTER_TARGETS_AND_MACHINES).await?;
    env.start_controller();
    let plugin = Plugin::install()?;
    let n = ns.name();
    let endpoints = env.allowed_custom_cloud_endpoints();

    // plan: what Apply would do now, for every machine and for one; nothing is sent.
    env.wait_for_phases(&MACHINES, &[Phase::Validating], Duration::from_secs(120)).await?;
    let posts_before = env.sim.count("POST", "reProtect");
    let plan = ok("plan", &plugin.run(&["plan", "-n", n, "--allowed-custom-cloud-endpoints", &endpoints]).await?);
    for m in MACHINES {
        assert!(plan.lines().any(|l| l.contains(m) && l.contains("act")), "{m} would act:\n{plan}");
    }
    assert!(plan.to_lowercase().contains("reprotect"), "the reprotect step is listed:\n{plan}");
    let one = ok("plan pm/db-01", &plugin.run(&["plan", "pm/db-01", "-n", n, "--allowed-custom-cloud-endpoints", &endpoints]).await?);
    assert!(one.contains("db-01") && !one.contains("app-01"), "{one}");
    assert_eq!(env.sim.count("POST", "reProtect"), posts_before, "plan sends nothing");

    // pause one machine, switch to Apply: the others are reprotected, the paused one waits; resume it.
    let paused = ok("pause", &plugin.run(&["pause", "pm/db-01", "-n", n]).await?);
    assert!(paused.contains("protectedmachine.reprotect.io/db-01 paused"), "{paused}");
    let pm = env.machine("db-01").await?;
    assert_eq!(pm.metadata.annotations.unwrap_or_default().get(PAUSED_ANNOTATION).map(String::as_str), Some("true"));
    env.wait_for_phases(&["db-01"], &[Phase::Paused], Duration::from_secs(60)).await?;
    env.apply_policy("Apply").await?;
    env.wait_for_phases(&["app-01", "app-02", "app-03"], &[Phase::Protected], Duration::from_secs(180)).await?;
    assert_eq!(env.machine("db-01").await?.status.map(|s| s.phase), Some(Phase::Paused), "a paused machine takes no action");
    let refused = plugin.run(&["pause", "deployment/db-01", "-n", n]).await?;
    assert!(!refused.success && refused.stderr.contains("only ProtectedMachines"), "{refused:?}");
    ok("resume", &plugin.run(&["resume", "--all", "-n", n]).await?);
    assert!(!env.machine("db-01").await?.metadata.annotations.unwrap_or_default().contains_key(PAUSED_ANNOTATION));
    env.wait_for_phases(&MACHINES, &[Phase::Protected], Duration::from_secs(180)).await?;

    // check by name, status, completions.
    let check = plugin.run(&["check", "pm/app-01", "-n", n, "--allowed-custom-cloud-endpoints", &endpoints]).await?;
    assert!(check.success && check.stdout.contains("READY"), "{check:?}");
    let missing = plugin.run(&["check", "pm/nope", "-n", n]).await?;
    assert_eq!(missing.code, Some(2), "{missing:?}");
    assert!(missing.stderr.contains("protectedmachine/nope not found"), "{missing:?}");
    let status = ok("status", &plugin.run(&["status", "-n", n]).await?);
    let machines = kube::Api::<reprotect_controller::crd::ProtectedMachine>::namespaced(env.client.clone(), n)
        .list(&Default::default())
        .await?
        .items
        .len();
    assert!(status.contains(&format!("{machines} machine(s)")), "{status}");
    for m in MACHINES {
        assert!(status.lines().any(|l| l.trim_start().starts_with(m) && l.contains("Protected")), "{m} Protected:\n{status}");
    }
    assert!(status.contains("dr-failback") && status.contains("mt-win-01"), "policies and master targets:\n{status}");
    let all = ok("status -A", &plugin.run(&["status", "-A"]).await?);
    assert!(all.contains("NAMESPACE") && all.contains(n), "{all}");
    let completion = ok("completions", &plugin.run(&["completions", "bash"]).await?);
    assert!(completion.contains("kubectl-reprotect") && completion.contains("pause"), "bash completion for the plugin name");
    Ok(())
}
