//! Scale bench: machines in vaults from applied to `Protected` against the real API server, vcsim
//! and the ASR simulator, with the controller as its own process (`reprotect-controller run`).
//!
//! The simulator throttles like ARM (reads 250 + 25/s, writes 200 + 10/s per subscription and
//! principal) and the controller runs with its default budgets, so each run shows how close it
//! comes to the physical limit `max(0, N_s - 200) / 10 + job time` (N_s: machines of the busiest
//! subscription) and how many 429s it provokes. A script-style sequential loop (POST, poll the job
//! every 30 s) runs on a few machines of another vault alongside the first run, extrapolated to N.
//! The last run goes first and then holds its machines `Protected` for `SCALE_STEADY_SECONDS`, measuring ARM reads
//! per hour and, inside the same hold, how long a change in Azure (the item `vm-0001` of the last vault fails over
//! again; the steady reads are the other vaults', scaled to all) takes to show in status; the other runs run during
//! its hold (their own namespaces, simulators and controllers; the holding controller only keeps its machines).
//! Prints a table and the bench's time, and writes `target/bench-scale.json`.
//!
//! Usage: `scale [RUN...]`, a run being `VxM` (V vaults of M machines, one subscription) or `VxM/S`
//! (the vaults spread over S subscriptions); default `10x100 10x100/10 10x1000` (the matrix). Environment:
//! `SCALE_JOB_SECONDS` (default 60), `SCALE_STEADY_SECONDS` (default 600, 0 skips),
//! `SCALE_SEQUENTIAL` (baseline machines, default 2, 0 skips), `REPROTECT_CONTROLLER_BIN` (the
//! controller measured; default the release build next to this binary's profile, as shipped; it runs with the image's
//! `GLIBC_TUNABLES`, `reprotect_controller::allocator`, unless the environment sets its own). `make bench-scale`
//! builds this bench in release too: the simulator runs in its process, and a debug simulator (and a debug
//! reader of 10,000 machines every 2 s) was the bottleneck of the 10,000-machine run, not the controller.

mod baseline;
mod hold;
mod measure;
mod report;
mod run;

use std::time::Instant;

use anyhow::{Context as _, Result};
use reprotect_test_support::ControlPlane;
use reprotect_vcsim_support::{Scenario as Vc, Vcsim, VmSpec};

/// One run of the table.
#[derive(Clone, Copy, Debug)]
pub struct RunSpec {
    pub vaults: usize,
    pub per_vault: usize,
    pub subscriptions: usize,
}

impl std::str::FromStr for RunSpec {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        let (shape, subs) = s.split_once('/').map_or((s, "1"), |(a, b)| (a, b));
        let (v, m) = shape.split_once('x').with_context(|| format!("run {s:?}: expected VxM or VxM/S"))?;
        let spec = RunSpec { vaults: v.parse()?, per_vault: m.parse()?, subscriptions: subs.parse()? };
        anyhow::ensure!(spec.vaults > 0 && spec.per_vault > 0 && (1..=spec.vaults).contains(&spec.subscriptions), "run {s:?}");
        Ok(spec)
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> Result<()> {
    let mut runs: Vec<RunSpec> = std::env::args().skip(1).map(|a| a.parse()).collect::<Result<_>>()?;
    if runs.is_empty() {
        runs = ["10x100", "10x100/10", "10x1000"].iter().map(|r| r.parse()).collect::<Result<_>>()?;
    }
    let settings = run::Settings {
        job_seconds: env_or("SCALE_JOB_SECONDS", 60),
        steady_seconds: env_or("SCALE_STEADY_SECONDS", 600),
        sequential: env_or("SCALE_SEQUENTIAL", 2),
        controller_bin: match std::env::var_os("REPROTECT_CONTROLLER_BIN") {
            Some(path) => path.into(),
            None => std::env::current_exe()?.with_file_name("reprotect-controller"),
        },
    };
    anyhow::ensure!(
        settings.controller_bin.exists(),
        "build the controller first: cargo build -p reprotect-controller ({})",
        settings.controller_bin.display()
    );

    let cp = reprotect_test_support::shared();
    reprotect_test_support::install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    let vcsim = Vcsim::start()?;
    let vc = Vc::connect(&vcsim).await?;
    vc.add_datastore(reprotect_e2e::HOST, "ds-vmfs-01", "VMFS").await?;
    let mut mt = VmSpec { datastore: "ds-vmfs-01".into(), ..VmSpec::new("mt-win-01", reprotect_e2e::HOST) };
    mt.disk_enable_uuid = Some(true);
    vc.create_vm(&mt).await?;

    let bench = Instant::now();
    let results = if settings.steady_seconds > 0 {
        // The run that holds goes first; the others run while it holds (each with its own simulator and controller,
        // beside a controller that only keeps its machines), so the bench fits the 30 minutes.
        let (held, others) = runs.split_last().context("no run")?;
        let last = runs.len() - 1;
        let mut converged = run::converge(cp, &vcsim, *held, last, &settings, last == 0).await?;
        let (steady, others) = tokio::join!(hold::hold(&mut converged, settings.steady_seconds), in_order(cp, &vcsim, others, &settings));
        let mut results = others?;
        results.push(converged.finish(Some(steady?)).await?);
        results
    } else {
        in_order(cp, &vcsim, &runs, &settings).await?
    };
    let bench_seconds = bench.elapsed().as_secs_f64();
    println!();
    report::print_table(&results, None, &settings);
    println!("scale: the runs took {:.1} min", bench_seconds / 60.0);
    let json = report::to_json(&results, bench_seconds);
    let out =
        std::env::var_os("CARGO_TARGET_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| "target".into()).join("bench-scale.json");
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&json)?)?;
    cp.stop();
    println!("{}", out.display());
    Ok(())
}

/// The runs one after the other (the first with the sequential baseline), the table printed after each.
async fn in_order(cp: &ControlPlane, vcsim: &Vcsim, runs: &[RunSpec], settings: &run::Settings) -> Result<Vec<run::RunResult>> {
    let mut done = Vec::new();
    for (i, spec) in runs.iter().enumerate() {
        let result = run::one(cp, vcsim, *spec, i, settings, i == 0).await?;
        report::print_table(&done, Some(&result), settings);
        done.push(result);
    }
    Ok(done)
}
