//! The steady state: a converged run's machines held `Protected`, its ARM reads per hour, and how long a change in
//! Azure takes to show in status, measured inside the same hold (the change in one vault, the reads of the others).

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};

use crate::{
    measure,
    run::{Converged, kube_requests},
};

/// The first part of the hold, not counted: the run's last passes settle.
const SETTLE: Duration = Duration::from_secs(30);
/// The item that fails over again (in the run's last vault).
const CHANGED: &str = "vm-0001";
/// How long the bench waits for the change to show before it gives up.
const VISIBLE_WITHIN: Duration = Duration::from_secs(900);

pub struct Steady {
    /// The counted window: the hold less [`SETTLE`].
    pub seconds: f64,
    /// ARM reads per hour of all the run's vaults: the unchanged vaults' reads scaled to all vaults.
    pub arm_reads_per_hour: f64,
    /// The steady reads by kind (`GET items`, …), per hour, scaled the same way.
    pub reads_by_kind: BTreeMap<String, f64>,
    /// ARM requests in the window to the vault of the change, left out of the steady figures.
    pub caused_by_change: usize,
    /// The controller's API-server requests during the window, by operation, per hour.
    pub apiserver_per_hour: BTreeMap<String, f64>,
    pub change_visible_seconds: Option<f64>,
    /// The controller's resident memory at the end of the hold (MiB): all, anonymous (heap), file-backed (text).
    pub rss_mib: (f64, f64, f64),
}

/// Hold the run's machines `Protected` for `seconds` (the first [`SETTLE`] of it not counted). When the counted
/// window opens, the item `vm-0001` of the run's last vault fails over again in Azure; the bench measures how long
/// until its machine's status shows it, and counts the window's ARM reads of the other vaults, scaled to all of the
/// run's vaults. The controller's answer to a change is not steady state, and it is not confined to the item's own
/// requests (the vault watch lists the vault's items again, the new reprotect's job shows in the vault's job feed),
/// so the changed vault's requests are counted apart; every vault is read on the same schedules, so the others
/// stand for all. Measuring the change inside the hold, not after it, keeps the bench within the 30 minutes
/// (the 10,000-machine run's own limit is 1,040 s). With a single vault its requests are all counted.
pub async fn hold(run: &mut Converged, seconds: u64) -> Result<Steady> {
    let window = Duration::from_secs(seconds).saturating_sub(SETTLE).max(Duration::from_secs(1));
    tokio::time::sleep(SETTLE).await;
    run.sim.clear_requests();
    let kube_before = kube_requests(run.port).await.unwrap_or_default();
    let started = Instant::now();
    let vault = format!("vault-dr-{:02}", run.spec.vaults);
    anyhow::ensure!(run.sim.fail_over_again_in(&vault, CHANGED), "{CHANGED} not in {vault}");
    let changed = [format!("v{:02}-{CHANGED}", run.spec.vaults)];
    let total = run.spec.vaults * run.spec.per_vault;

    let mut visible = None;
    let mut counted = None;
    loop {
        run.peak.sample(run.pid);
        if visible.is_none() && shows_change(run, &changed).await? {
            visible = Some(started.elapsed().as_secs_f64());
        }
        if counted.is_none() && started.elapsed() >= window {
            counted = Some((started.elapsed().as_secs_f64(), run.sim.requests(), kube_requests(run.port).await.unwrap_or_default()));
        }
        if counted.is_some() && (visible.is_some() || started.elapsed() >= VISIBLE_WITHIN) {
            break;
        }
        match counted {
            None => eprint!("\rscale: holding {total} machines Protected, {:.0}/{}s   ", started.elapsed().as_secs_f64(), window.as_secs()),
            Some(_) => eprint!("\rscale: counted; waiting for the failover to show, {:.0}s   ", started.elapsed().as_secs_f64()),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    eprintln!();
    eprintln!("scale: the failover of {CHANGED} in {vault} shows after {visible:?} s");
    let (held, requests, kube_after) = counted.context("the hold ended before its window")?;

    let vaults = run.spec.vaults as f64;
    let (caused, steady): (Vec<_>, Vec<_>) = requests.into_iter().partition(|r| vaults > 1.0 && measure::in_vault(r, &vault));
    let to_all = if vaults > 1.0 { vaults / (vaults - 1.0) } else { 1.0 };
    let by_kind = measure::arm_breakdown(&steady);
    let reads: usize = by_kind.iter().filter(|(k, _)| k.starts_with("GET ")).map(|(_, n)| n).sum();
    let per_hour = |n: f64| n * 3600.0 / held;
    let arm_per_hour = |n: f64| per_hour(n) * to_all;
    let mib = |field| measure::status_kib(run.pid, field).unwrap_or(0) as f64 / 1024.0;
    Ok(Steady {
        seconds: held,
        arm_reads_per_hour: arm_per_hour(reads as f64),
        reads_by_kind: by_kind.into_iter().map(|(k, n)| (k, arm_per_hour(n as f64))).collect(),
        caused_by_change: measure::arm_breakdown(&caused).values().sum(),
        apiserver_per_hour: kube_after
            .into_iter()
            .map(|(op, n)| (op.clone(), per_hour(n - kube_before.get(&op).copied().unwrap_or(0.0))))
            .filter(|(_, n)| *n > 0.0)
            .collect(),
        change_visible_seconds: visible,
        rss_mib: (mib("VmRSS:"), mib("RssAnon:"), mib("RssFile:")),
    })
}

/// Whether the changed machines' status has left `Protected`.
async fn shows_change(run: &Converged, changed: &[String]) -> Result<bool> {
    for name in changed {
        if run.machines.get(name).await?.status.is_none_or(|s| s.phase == reprotect_controller::crd::Phase::Protected) {
            return Ok(false);
        }
    }
    Ok(true)
}
