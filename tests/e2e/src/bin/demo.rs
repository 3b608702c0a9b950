//! `make demo`: a real API server, vcsim shaped as an on-premises site, the ASR simulator and the controller, with live progress.
//!
//! The demo goes the whole way home. Act 1: every machine is reprotected to on-premises (one is
//! blocked by a prerequisite, as designed). Act 2: the demo approves the way home for one machine
//! (db-01) and one three-member group (app-01..03), as a person would in Git: the same manifests
//! with `desiredState: ProtectedToAzure` and `failback.approval`; the controller fails them back
//! (the group through its recovery plan), commits, waits for the agent and reprotects them to Azure.
//!
//! `demo short` is bounded and non-interactive (CI): it exits 0 only when every machine ended in
//! its expected phase. `demo full` then keeps everything running until Ctrl-C so you can poke at it.
//!
//! Every exit path returns from `main` (never `std::process::exit`), so vcsim, the simulator and
//! the controller are dropped and stopped; etcd/kube-apiserver stop at exit (test-support's atexit
//! hook and parent-death signal). Ctrl-C or SIGTERM at any moment ends the run the same way.

use reprotect_controller::crd::{Phase, ProtectedMachine};
use reprotect_e2e::{BLOCKED_MACHINE, Env, MASTER_TARGETS_AND_MACHINES, SimKnobs, site};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Act 1: reprotected to on-premises (web-legacy is blocked by `mt-no-snapshots`, as designed).
const REPROTECTED: [(&str, Phase); 5] = [
    ("app-01", Phase::Protected),
    ("app-02", Phase::Protected),
    ("app-03", Phase::Protected),
    ("db-01", Phase::Protected),
    ("web-legacy", Phase::Blocked),
];

/// Act 2: the machines whose way home the demo approves: one machine and one replication group.
const GOING_HOME: [&str; 4] = ["db-01", "app-01", "app-02", "app-03"];

/// Act 2: home and protected to Azure again.
const HOME: [(&str, Phase); 5] = [
    ("app-01", Phase::ProtectedToAzure),
    ("app-02", Phase::ProtectedToAzure),
    ("app-03", Phase::ProtectedToAzure),
    ("db-01", Phase::ProtectedToAzure),
    ("web-legacy", Phase::Blocked),
];

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> ExitCode {
    let short = std::env::args().nth(1).as_deref() == Some("short");
    // Dropping the demo future (on a signal) drops its `Env`: vcsim and the controller stop.
    let code = tokio::select! {
        r = demo(short) => match r {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("demo: {e:#}");
                ExitCode::from(2)
            }
        },
        signal = interrupted() => {
            eprintln!("\ndemo: {signal}; stopping everything");
            ExitCode::from(130)
        }
    };
    // Returning (not `process::exit` mid-run) also runs test-support's atexit hook: etcd and
    // kube-apiserver stop and their directory is removed.
    code
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM (what `make demo`'s wrapper forwards), naming it.
async fn interrupted() -> &'static str {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted",
        _ = term => "terminated",
    }
}

/// The demo itself: `Ok(true)` when every machine ended in its expected phase. `full` returns
/// only through `interrupted` (the caller's select drops this future).
async fn demo(short: bool) -> anyhow::Result<bool> {
    let started = Instant::now();
    eprintln!("demo: starting etcd + kube-apiserver, vcsim and the ASR simulator...");
    let cp = reprotect_test_support::shared();
    reprotect_test_support::install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    cp.kubectl(&["create", "namespace", "dr"]).await?;
    let knobs = if short {
        SimKnobs { agent_delay: "5s", job_duration: "3s", failed_over_ago: "1s", forward_agent_delay: "5s", ..SimKnobs::default() }
    } else {
        SimKnobs { agent_delay: "30s", job_duration: "10s", failed_over_ago: "1s", forward_agent_delay: "30s", ..SimKnobs::default() }
    };
    let mut env = Env::start("dr", knobs).await?;
    site(&env, 0).await?;
    env.apply_policy("Apply").await?;
    env.apply(MASTER_TARGETS_AND_MACHINES).await?;
    env.apply(BLOCKED_MACHINE).await?;
    env.start_controller();
    eprintln!("demo: environment up after {:.1}s; controller running\n", started.elapsed().as_secs_f64());

    let budget = if short { Duration::from_secs(240) } else { Duration::from_secs(900) };
    println!("Act 1: reprotect every machine to on-premises\n");
    let ok_reprotected = act(&env, &REPROTECTED, started, budget).await?;
    println!("  reprotect POSTs: {}", REPROTECTED.iter().map(|(n, _)| env.reprotect_posts(n)).sum::<usize>());
    if !ok_reprotected {
        env.stop_controller();
        return Ok(false);
    }

    println!("\nAct 2: approve the way home for db-01 and the app group (desiredState: ProtectedToAzure, failback.approval: return-dc1)");
    println!("  failback shuts the Azure VMs down and boots the on-premises VMs; commit removes the Azure VMs; then the");
    println!("  agent registers again and each machine is reprotected to Azure. The group goes through its recovery plan.\n");
    env.apply(&Env::approved_manifest(&GOING_HOME, "return-dc1")).await?;
    let ok_home = act(&env, &HOME, started, budget).await?;
    let item = |op: &str| GOING_HOME.iter().map(|n| env.posts(&format!("replicationProtectedItems/{n}/{op}"))).sum::<usize>();
    let plan = |op: &str| env.posts(&format!("replicationRecoveryPlans/app-group/{op}"));
    println!(
        "  failback POSTs: {} item + {} plan; commit POSTs: {} item + {} plan; reprotect POSTs (both directions): {}",
        item("unplannedFailover"),
        plan("unplannedFailover"),
        item("failoverCommit"),
        plan("failoverCommit"),
        item("reProtect")
    );
    let gone: Vec<&str> = GOING_HOME.iter().copied().filter(|n| env.sim.azure_vm_exists(n) == Some(false)).collect();
    println!("  Azure VMs removed by the commit: {}", gone.join(", "));
    let ok = ok_home && gone.len() == GOING_HOME.len();
    if short {
        env.stop_controller();
        return Ok(ok);
    }
    println!("\nPoke at it (Ctrl-C stops everything):");
    println!("  export KUBECONFIG={}", cp.kubeconfig_path().display());
    println!("  {} get rpp,mt,pm -n dr", reprotect_test_support::tool_path("kubectl").display());
    println!("  {} describe pm web-legacy -n dr", reprotect_test_support::tool_path("kubectl").display());
    let _ = std::io::stdout().flush();
    std::future::pending::<()>().await;
    Ok(ok)
}

/// Run one act: redraw the table until every machine is in its expected phase (or the budget is spent), powering
/// on the VMs that a finished failback boots (as ASR does on-premises); print a summary. `true` when all arrived.
async fn act(env: &Env, expected: &[(&str, Phase)], started: Instant, budget: Duration) -> anyhow::Result<bool> {
    let deadline = Instant::now() + budget;
    let mut first_seen: BTreeMap<String, Duration> = BTreeMap::new();
    let mut powered_on = std::collections::HashSet::new();
    let mut lines_printed = 0;
    let machines = loop {
        env.power_on_failed_back_vms(&mut powered_on).await?;
        let mut rows = Vec::new();
        for (n, _) in expected {
            rows.push(env.machine(n).await?);
        }
        lines_printed = render(&rows, lines_printed);
        for (pm, (name, want)) in rows.iter().zip(expected) {
            if phase(pm) == *want {
                first_seen.entry((*name).to_owned()).or_insert(started.elapsed());
            }
        }
        if rows.iter().zip(expected).all(|(pm, (_, want))| phase(pm) == *want) || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    println!("\nSummary:");
    let mut ok = true;
    for ((name, expected), pm) in expected.iter().zip(&machines) {
        let phase = phase(pm);
        let took = first_seen.get(*name).map(|d| format!("{:.0}s", d.as_secs_f64())).unwrap_or_else(|| "-".into());
        let mark = if phase == *expected { "ok" } else { "UNEXPECTED" };
        ok &= phase == *expected;
        println!("  {name:<11} {:<19} {took:>5}  [{mark}] {}", phase.to_string(), ready_message(pm));
    }
    Ok(ok)
}

fn phase(pm: &ProtectedMachine) -> Phase {
    pm.status.as_ref().map(|s| s.phase).unwrap_or_default()
}

fn ready_message(pm: &ProtectedMachine) -> String {
    let msg =
        pm.status.as_ref().and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready")).map(|c| c.message.clone()).unwrap_or_default();
    msg.chars().take(110).collect()
}

/// Print a compact table, redrawing it in place on a terminal.
fn render(rows: &[ProtectedMachine], previous_lines: usize) -> usize {
    use std::io::IsTerminal;
    let tty = std::io::stdout().is_terminal();
    if tty && previous_lines > 0 {
        print!("\x1b[{previous_lines}A\x1b[J");
    }
    println!("{:<11} {:<19} {:<6} {:<10} MESSAGE", "MACHINE", "PHASE", "READY", "MT");
    for pm in rows {
        let ready = pm
            .status
            .as_ref()
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
            .map(|c| c.status.to_string())
            .unwrap_or_default();
        let mt = pm.status.as_ref().and_then(|s| s.master_target.clone()).unwrap_or_default();
        let msg: String = ready_message(pm).chars().take(70).collect();
        println!("{:<11} {:<19} {:<6} {:<10} {}", pm.metadata.name.as_deref().unwrap_or(""), phase(pm).to_string(), ready, mt, msg);
    }
    if !tty {
        println!();
    }
    rows.len() + 1
}
