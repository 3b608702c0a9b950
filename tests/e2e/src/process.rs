//! The controller binary as its own process (`reprotect-controller run`), for tests that need a
//! real process: another identity (a chart's ServiceAccount), leader election, being killed.

use anyhow::{Context as _, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `reprotect-controller` next to the test binaries (`cargo test --workspace` builds it), or
/// `REPROTECT_CONTROLLER_BIN`.
pub fn controller_binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("REPROTECT_CONTROLLER_BIN") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe()?;
    // target/debug/deps/<test> or target/debug/<bin>
    let candidates = exe.ancestors().skip(1).take(2).map(|dir| dir.join("reprotect-controller")).collect::<Vec<_>>();
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .context("reprotect-controller binary not found next to the tests; run `cargo build -p reprotect-controller` first")
}

/// A running controller process; killed (SIGKILL, nothing flushed) when dropped.
pub struct ControllerProcess {
    child: tokio::process::Child,
    pub identity: String,
    metrics_url: String,
    log: PathBuf,
}

impl ControllerProcess {
    /// Start `reprotect-controller run` with `kubeconfig`, lease identity `identity` and `args`.
    pub fn spawn(kubeconfig: &Path, identity: &str, args: &[&str]) -> Result<Self> {
        // A free port for /metrics: bind, read, release (the controller binds it right after).
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log = std::env::temp_dir().join(format!("reprotect-{identity}-{}.log", std::process::id()));
        let out = std::fs::File::create(&log)?;
        let child = tokio::process::Command::new(controller_binary()?)
            .arg("run")
            .args(["--http-addr", &format!("127.0.0.1:{port}"), "--log-format", "text", "--identity", identity])
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .env_remove("REPROTECT_LEASE_NAMESPACE")
            .stdout(out.try_clone()?)
            .stderr(out)
            .kill_on_drop(true)
            .spawn()
            .context("start reprotect-controller")?;
        Ok(ControllerProcess { child, identity: identity.into(), metrics_url: format!("http://127.0.0.1:{port}/metrics"), log })
    }

    /// `reprotect_reconciles_total{kind}` scraped from the process (0 before the first reconcile).
    pub async fn reconciles(&self, kind: &str) -> u64 {
        let Ok(resp) = reqwest::get(&self.metrics_url).await else { return 0 };
        crate::reconciles_in(&resp.text().await.unwrap_or_default(), kind)
    }

    /// The whole `/metrics` exposition (empty when it cannot be scraped).
    pub async fn metrics_text(&self) -> String {
        let Ok(resp) = reqwest::get(&self.metrics_url).await else { return String::new() };
        resp.text().await.unwrap_or_default()
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Ask it to stop as Kubernetes does (SIGTERM); `false` if the signal could not be sent.
    pub fn terminate(&self) -> bool {
        let Some(pid) = self.child.id() else { return false };
        std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().is_ok_and(|s| s.success())
    }

    /// Wait up to `within` for the process to exit; its exit status, or `None` if it is still running.
    pub async fn exited_within(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        tokio::time::timeout(within, self.child.wait()).await.ok()?.ok()
    }

    /// Kill it the hard way (a crashed node): the Lease is not released and must expire.
    pub async fn kill(&mut self) -> Result<()> {
        self.child.kill().await?;
        Ok(())
    }

    /// The last lines of its log, for assertion messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// Poll `probe` every 250 ms until it returns `Some` or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await {
            return Some(v);
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
