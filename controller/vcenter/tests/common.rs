//! Shared setup for the vcsim-backed tests: one vcsim per test, a fixture session and the session under test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failed test
#![allow(dead_code)]

use reprotect_vcenter::{ConnectionConfig, PoolOptions, VimVcenter};
use reprotect_vcsim_support::{Scenario, Vcsim};

pub struct Env {
    pub sim: Vcsim,
    pub scenario: Scenario,
    pub vc: VimVcenter,
}

pub fn config(sim: &Vcsim) -> ConnectionConfig {
    ConnectionConfig {
        server: sim.server.clone(),
        username: sim.username.clone(),
        password: sim.password.clone().into(),
        ca_bundle_pem: Some(sim.ca_pem.clone()),
        insecure_skip_verify: false,
        credentials_version: "1".into(),
    }
}

pub fn fast_options() -> PoolOptions {
    PoolOptions { task_poll_interval: std::time::Duration::from_millis(20), ..PoolOptions::default() }
}

pub async fn env() -> Env {
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("reprotect_vcenter=debug").try_init();
    let sim = Vcsim::start().expect("vcsim must start (set REPROTECT_TOOLS_BIN or provide tests/tools/build.sh)");
    let scenario = Scenario::connect(&sim).await.expect("fixture session");
    let vc = VimVcenter::connect(config(&sim), fast_options()).await.expect("session under test");
    Env { sim, scenario, vc }
}
