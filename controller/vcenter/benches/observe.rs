//! Round trips and wall time of `observe` for 1 MT + 1 VM and 1 MT + 100 VMs against vcsim on loopback.
//! Run: `REPROTECT_TOOLS_BIN=<dir with vcsim> cargo bench -p reprotect-vcenter --bench observe`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failed test

use std::time::{Duration, Instant};

use reprotect_facts::vcenter::{ObserveRequest, Vcenter, VmSelector};
use reprotect_vcenter::{ConnectionConfig, PoolOptions, VimVcenter};
use reprotect_vcsim_support::{Scenario, ToolsState, Vcsim, VmSpec};

const ITERATIONS: usize = 20;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sim = Vcsim::start().expect("vcsim (set REPROTECT_TOOLS_BIN)");
    let scenario = Scenario::connect(&sim).await.unwrap();
    scenario.create_vm(&VmSpec { disk_enable_uuid: Some(true), ..VmSpec::new("mt", "DC0_H0") }).await.unwrap();
    let names: Vec<String> = (0..100).map(|i| format!("onprem-{i:03}")).collect();
    let hosts = ["DC0_H0", "DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2"];
    let started = Instant::now();
    for (i, n) in names.iter().enumerate() {
        let spec = VmSpec { powered_on: i % 2 == 0, tools: ToolsState::NotInstalled, ..VmSpec::new(n, hosts[i % hosts.len()]) };
        scenario.create_vm(&spec).await.unwrap();
    }
    eprintln!("fixture: 101 VMs created in {:?}", started.elapsed());
    let cfg = ConnectionConfig {
        server: sim.server.clone(),
        username: sim.username.clone(),
        password: sim.password.clone().into(),
        ca_bundle_pem: Some(sim.ca_pem.clone()),
        insecure_skip_verify: false,
        credentials_version: "bench".into(),
    };
    let vc = VimVcenter::connect(cfg, PoolOptions::default()).await.unwrap();
    for count in [1usize, 100] {
        let request = ObserveRequest {
            master_target_vm: Some(VmSelector::Name("mt".into())),
            on_premises_vms: names[..count].iter().map(|n| VmSelector::Name(n.clone())).collect(),
        };
        let cold = Instant::now();
        let first = vc.observe(&request).await.unwrap();
        let cold = cold.elapsed();
        let mut times: Vec<Duration> = Vec::new();
        let mut trips = 0;
        for _ in 0..ITERATIONS {
            let t = Instant::now();
            let f = vc.observe(&request).await.unwrap();
            times.push(t.elapsed());
            trips = f.round_trips;
            assert_eq!(f.on_premises_vms.values().filter(|v| v.is_some()).count(), count);
        }
        times.sort();
        println!(
            "observe 1 MT + {count:>3} VMs: first call {} round trips in {:?}; steady state {trips} round trips, median {:?}, p90 {:?}, max {:?} (n={ITERATIONS}, inventory 105 VMs)",
            first.round_trips,
            cold,
            times[ITERATIONS / 2],
            times[ITERATIONS * 9 / 10],
            times[ITERATIONS - 1]
        );
    }
}
