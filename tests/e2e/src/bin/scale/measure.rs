//! What the bench reads off the controller process (`/proc`, its `/metrics`) and the simulator's request log.

use std::collections::BTreeMap;

use asr_sim::LoggedRequest;

/// User plus system CPU seconds of a process, from `/proc/<pid>/stat` (clock ticks of 1/100 s).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// A memory figure of a process in KiB from `/proc/<pid>/status` (`VmHWM:` peak RSS, `RssAnon:`, `RssFile:`).
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix(field)).and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// The kind of an ARM request, for the breakdown: `POST reProtect`, `GET item`, `GET items` (a page of
/// the list), `GET job`, `GET jobs`, `GET fabric`, `GET policies`, `GET vCenters`, else the last segment.
pub fn arm_kind(r: &LoggedRequest) -> String {
    let path = r.path.to_ascii_lowercase();
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let kind = match segs.as_slice() {
        [.., "replicationprotecteditems"] => "items",
        [.., "replicationprotecteditems", _] => "item",
        [.., "replicationjobs"] => "jobs",
        [.., "replicationjobs", _] => "job",
        [.., "replicationfabrics", _] => "fabric",
        [.., "replicationpolicies"] => "policies",
        [.., "replicationvcenters"] => "vCenters",
        [.., "reprotect"] => "reProtect",
        [.., last] => last,
        [] => "other",
    };
    format!("{} {kind}", r.method)
}

/// ARM requests of the run's vaults (not the baseline's `vault-seq`), by kind.
pub fn arm_breakdown(requests: &[LoggedRequest]) -> BTreeMap<String, usize> {
    let mut by_kind = BTreeMap::new();
    for r in requests.iter().filter(|r| r.path.to_ascii_lowercase().starts_with("/subscriptions/") && !r.path.contains("/vault-seq/")) {
        *by_kind.entry(arm_kind(r)).or_default() += 1;
    }
    by_kind
}

/// Whether a request is to the vault named `vault` (`…/vaults/<vault>/…`), by path segment, whatever the case.
pub fn in_vault(r: &LoggedRequest, vault: &str) -> bool {
    let segs: Vec<&str> = r.path.trim_matches('/').split('/').collect();
    segs.windows(2).any(|w| w[0].eq_ignore_ascii_case("vaults") && w[1].eq_ignore_ascii_case(vault))
}

/// `reprotect_external_requests_total{service="<service>"}` in a classic-format scrape, summed by operation.
pub fn external_requests_by_operation(scrape: &str, service: &str) -> BTreeMap<String, f64> {
    let label = format!("service=\"{service}\"");
    let mut by_operation = BTreeMap::new();
    for line in scrape.lines().filter(|l| l.starts_with("reprotect_external_requests_total{") && l.contains(&label)) {
        let operation = line.split("operation=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or("other");
        if let Some(n) = line.rsplit_once(' ').and_then(|(_, n)| n.parse::<f64>().ok()) {
            *by_operation.entry(operation.to_string()).or_default() += n;
        }
    }
    by_operation
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> LoggedRequest {
        LoggedRequest { method: "GET".into(), path: path.into(), query: None, status: 200, at: jiff::Timestamp::UNIX_EPOCH }
    }

    #[test]
    fn a_request_is_in_the_vault_by_whole_segment_whatever_the_case() {
        let vault = |name: &str| format!("/Subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/{name}");
        assert!(in_vault(&get(&format!("{}/replicationJobs", vault("VAULT-DR-10"))), "vault-dr-10"));
        assert!(in_vault(&get(&vault("vault-dr-10")), "vault-dr-10"));
        assert!(!in_vault(&get(&format!("{}/replicationJobs", vault("vault-dr-1"))), "vault-dr-10"));
        assert!(!in_vault(&get(&format!("{}/replicationJobs", vault("vault-dr-100"))), "vault-dr-10"));
        assert!(!in_vault(&get("/subscriptions/s/resourceGroups/vault-dr-10"), "vault-dr-10"));
    }

    #[test]
    fn only_the_services_counters_are_summed() {
        let scrape = "reprotect_external_requests_total{service=\"kubernetes\",operation=\"get secrets\",status=\"200\"} 3\n\
                      reprotect_external_requests_total{service=\"arm\",operation=\"get_job\",status=\"200\"} 7\n\
                      reprotect_external_request_duration_seconds_count{service=\"kubernetes\",operation=\"get secrets\"} 3\n\
                      reprotect_external_requests_total{service=\"kubernetes\",operation=\"patch protectedmachines/status\",status=\"200\"} 2\n";
        let kube = external_requests_by_operation(scrape, "kubernetes");
        assert_eq!(kube.values().sum::<f64>(), 5.0);
        assert_eq!(kube.get("patch protectedmachines/status"), Some(&2.0));
        assert_eq!(external_requests_by_operation(scrape, "arm").values().sum::<f64>(), 7.0);
    }
}
