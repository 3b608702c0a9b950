//! Heap a stored ProtectedMachine costs (issue 13: 64 MiB at 10,000 machines): deserializes one machine the
//! scale bench left `Protected` (46 checks passed, listed by id) N times, each with its own machine and item names as the
//! real store would hold them (as `store_feed::slim_for_store` leaves them), and reports the growth of the process's anonymous memory per machine.
//!
//! `cargo bench -p reprotect-controller --bench store_footprint [-- N]` (N defaults to 10,000).

use reprotect_controller::{crd::ProtectedMachine, store_feed::slim_for_store};

/// The process's anonymous resident memory in KiB (`RssAnon` in `/proc/self/status`): the scale bench's
/// "heap" figure. The workspace forbids `unsafe`, so no counting allocator.
fn rss_anon_kib() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("RssAnon:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

const FIXTURE: &str = include_str!("fixtures/protected-machine.json");

fn main() -> Result<(), serde_json::Error> {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    // Per machine: its own names and ids, so only what real machines share (check ids, outcomes, the same
    // observation of the same configuration server) is the same text.
    let texts: Vec<String> = (0..n)
        .map(|i| {
            FIXTURE
                .replace("vm-0001", &format!("vm-{i:05}"))
                .replace("5377227d-e924-eebc-fb4d", &format!("{i:08x}-e924-eebc-fb4d"))
                .replace("f957d69f-c0b9-4d0b", &format!("{i:08x}-c0b9-4d0b"))
        })
        .collect();
    let before = rss_anon_kib();
    let stored = |text: &String| -> Result<ProtectedMachine, serde_json::Error> {
        let mut machine = serde_json::from_str(text)?;
        slim_for_store(&mut machine);
        Ok(machine)
    };
    let store: Vec<ProtectedMachine> = texts.iter().map(stored).collect::<Result<_, _>>()?;
    let after = rss_anon_kib();
    let checks = store.first().and_then(|m| m.status.as_ref()).map_or(0, |s| s.checks.len() + s.passed_check_ids.len());
    let grown = (after - before) as f64;
    println!(
        "store_footprint: {n} machines ({checks} checks each): {:.1} KiB per machine, {:.1} MiB in all",
        grown / n as f64,
        grown / 1024.0
    );
    Ok(())
}
