//! `make demo`: a real API server, vcsim shaped as an on-premises site, the ASR simulator and the controller, with live progress.
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

const EXPECTED: [(&str, Phase); 5] = [
    ("app-01", Phase::Protected),
    ("app-02", Phase::Protected),
    ("app-03", Phase::Protected),
    ("db-01", Phase::Protected),
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

    let names: Vec<&str> = EXPECTED.iter().map(|(n, _)| *n).collect();
    let mut first_seen: BTreeMap<String, Duration> = BTreeMap::new();
    let deadline = Instant::now() + if short { Duration::from_secs(240) } else { Duration::from_secs(900) };
    let mut lines_printed = 0;
    let machines = loop {
        let mut rows = Vec::new();
        for n in &names {
            rows.push(env.machine(n).await?);
        }
        lines_printed = render(&rows, lines_printed);
        for pm in &rows {
            let phase = phase(pm);
            if matches!(phase, Phase::Protected | Phase::Blocked) {
                first_seen.entry(pm.metadata.name.clone().unwrap_or_default()).or_insert(started.elapsed());
            }
        }
        if rows.iter().all(|pm| matches!(phase(pm), Phase::Protected | Phase::Blocked)) || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };

    println!("\nSummary:");
    let mut ok = true;
    for ((name, expected), pm) in EXPECTED.iter().zip(&machines) {
        let phase = phase(pm);
        let reason = ready_message(pm);
        let took = first_seen.get(*name).map(|d| format!("{:.0}s", d.as_secs_f64())).unwrap_or_else(|| "-".into());
        let mark = if phase == *expected { "ok" } else { "UNEXPECTED" };
        ok &= phase == *expected;
        println!("  {name:<11} {phase:<13} {took:>5}  [{mark}] {reason}");
    }
    println!("  reprotect POSTs: {}", names.iter().map(|n| env.reprotect_posts(n)).sum::<usize>());
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
    println!("{:<11} {:<13} {:<6} {:<10} MESSAGE", "MACHINE", "PHASE", "READY", "MT");
    for pm in rows {
        let ready =
            pm.status.as_ref().and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready")).map(|c| c.status.clone()).unwrap_or_default();
        let mt = pm.status.as_ref().and_then(|s| s.master_target.clone()).unwrap_or_default();
        let msg: String = ready_message(pm).chars().take(70).collect();
        println!("{:<11} {:<13} {:<6} {:<10} {}", pm.metadata.name.as_deref().unwrap_or(""), phase(pm).to_string(), ready, mt, msg);
    }
    if !tty {
        println!();
    }
    rows.len() + 1
}
