//! The bench's report: the table with its breakdowns, and the JSON.

use crate::run::{RunResult, Settings};

/// The table (all runs so far plus `current`), with the breakdowns under it.
pub fn print_table(done: &[RunResult], current: Option<&RunResult>, settings: &Settings) {
    let rows: Vec<&RunResult> = done.iter().chain(current).collect();
    println!(
        "\nscale: jobs {} s, simulator throttling on (Azure's figures), controller {}",
        settings.job_seconds,
        settings.controller_bin.display()
    );
    if settings.steady_seconds > 0 && rows.len() > 1 {
        println!("(the last run went first; the others ran while it held its machines)");
    }
    println!(
        "| machines | vaults | subs | time s | limit s | ratio | 429s | ARM reads/machine | ARM writes/machine | API-server req/machine | peak RSS MiB (heap, text) | CPU s | sequential s (ratio) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in &rows {
        println!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.2} | {} | {:.2} | {:.2} | {:.2} | {:.1} ({:.1}, {:.1}) | {} | {} |",
            r.machines(),
            r.spec.vaults,
            r.spec.subscriptions,
            r.seconds,
            r.limit_seconds,
            r.seconds / r.limit_seconds,
            r.throttled_429,
            r.arm_per_machine(true),
            r.arm_per_machine(false),
            r.apiserver_per_machine(),
            r.peak_rss_mib,
            r.heap_mib,
            r.text_mib,
            r.cpu_seconds.map(|c| format!("{c:.1}")).unwrap_or_else(|| "n/a".into()),
            r.sequential_seconds.map(|s| format!("{s:.0} ({:.0}x)", s / r.seconds)).unwrap_or_else(|| "not run".into()),
        );
    }
    for r in &rows {
        let arm: Vec<String> = r.arm.iter().map(|(k, n)| format!("{k} {:.2}", *n as f64 / r.machines())).collect();
        let mut kube: Vec<(&String, &f64)> = r.apiserver.iter().collect();
        kube.sort_by(|a, b| b.1.total_cmp(a.1));
        let kube: Vec<String> = kube.iter().take(6).map(|(k, n)| format!("{k} {:.2}", *n / r.machines())).collect();
        println!("  {} machines, per machine: ARM {}; API server (top) {}", r.machines(), arm.join(", "), kube.join(", "));
        if let Some(s) = &r.steady {
            println!(
                "  steady: {} machines held, {:.0} s counted: {:.0} ARM reads/hour (the vaults without the change, scaled to all); \
                 a failover in Azure at the start of the count showed in status after {} ({} ARM requests to its vault left out)",
                r.machines(),
                s.seconds,
                s.arm_reads_per_hour,
                s.change_visible_seconds.map(|v| format!("{v:.0} s")).unwrap_or_else(|| "not within 15 min".into()),
                s.caused_by_change
            );
            let kinds: Vec<String> = s.reads_by_kind.iter().map(|(k, n)| format!("{k} {n:.0}")).collect();
            println!("  steady, per hour: {}", kinds.join(", "));
            let (rss, heap, text) = s.rss_mib;
            println!("  steady, RSS at the end of the hold: {rss:.1} MiB (heap {heap:.1}, text {text:.1})");
            let kube: Vec<String> = s.apiserver_per_hour.iter().map(|(k, n)| format!("{k} {n:.0}")).collect();
            println!("  steady, API-server requests per hour: {}", if kube.is_empty() { "none".into() } else { kube.join(", ") });
        }
    }
}

/// The JSON: one object per run, and the steady state of the run that held.
pub fn to_json(results: &[RunResult], bench_seconds: f64) -> serde_json::Value {
    let runs: Vec<_> = results
        .iter()
        .map(|r| {
            serde_json::json!({
                "machines": r.machines(), "vaults": r.spec.vaults, "subscriptions": r.spec.subscriptions, "seconds": r.seconds,
                "limit_seconds": r.limit_seconds, "throttled_429": r.throttled_429, "arm_reads_per_machine": r.arm_per_machine(true),
                "arm_writes_per_machine": r.arm_per_machine(false), "apiserver_requests_per_machine": r.apiserver_per_machine(),
                "peak_rss_mib": r.peak_rss_mib, "heap_mib": r.heap_mib, "text_mib": r.text_mib, "cpu_seconds": r.cpu_seconds,
                "sequential_seconds": r.sequential_seconds,
            })
        })
        .collect();
    let steady = results.iter().find_map(|r| Some((r, r.steady.as_ref()?)));
    serde_json::json!({
        "bench_seconds": bench_seconds,
        "runs": runs,
        "steady": {
            "machines": steady.map(|(r, _)| r.machines()),
            "arm_reads_per_hour": steady.map(|(_, s)| s.arm_reads_per_hour),
            "change_visible_seconds": steady.and_then(|(_, s)| s.change_visible_seconds),
            "requests_caused_by_change": steady.map(|(_, s)| s.caused_by_change),
            "rss_mib": steady.map(|(_, s)| s.rss_mib.0),
            "heap_mib": steady.map(|(_, s)| s.rss_mib.1),
            "text_mib": steady.map(|(_, s)| s.rss_mib.2),
        },
    })
}
