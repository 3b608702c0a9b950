//! No password in the logs: vim_rs logs SOAP bodies (the `Login` body carries the password) at `trace`;
//! with [`redacted_log_filter`] applied, a `trace`-level run never prints the password.
//! One test per binary: it installs the process-wide subscriber (and the `log` bridge vim_rs needs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failed test

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use reprotect_facts::vcenter::ObserveRequest;
use reprotect_vcenter::{ConnectionConfig, VcenterPool, redacted_log_filter};
use reprotect_vcsim_support::Vcsim;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, reload};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    fn take(&self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut *self.0.lock().unwrap())).into_owned()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn login_and_observe(sim: &Vcsim, password: &str) {
    let pool = VcenterPool::new(common::fast_options());
    let cfg = ConnectionConfig { password: password.into(), ..common::config(sim) };
    if let Ok(vc) = pool.connect(cfg).await {
        vc.observe(&ObserveRequest::default()).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trace_level_run_with_the_redacted_filter_never_prints_the_password() {
    let capture = Capture::default();
    let (filter, handle) = reload::Layer::new(EnvFilter::new("trace"));
    let writer = capture.clone();
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(move || writer.clone()))
        .init();

    let sim = Vcsim::start_with("admin", "pw-7f3a9c-correct").unwrap();
    // Without the cap, vim_rs prints the Login body: this is what the filter must prevent.
    login_and_observe(&sim, "pw-7f3a9c-wrong-unfiltered").await;
    let unfiltered = capture.take();
    assert!(unfiltered.contains("pw-7f3a9c-wrong-unfiltered"), "vim_rs no longer logs SOAP bodies at trace?");

    handle.reload(EnvFilter::new(redacted_log_filter("trace"))).unwrap();
    login_and_observe(&sim, "pw-7f3a9c-wrong").await;
    login_and_observe(&sim, "pw-7f3a9c-correct").await;
    let filtered = capture.take();
    assert!(filtered.contains("TRACE"), "the run was logged at trace level:\n{filtered}");
    assert!(filtered.contains("vCenter login"), "our own debug lines are kept");
    assert!(!filtered.contains("pw-7f3a9c"), "a password was logged:\n{filtered}");
}
