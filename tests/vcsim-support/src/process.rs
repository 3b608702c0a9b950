//! Running vcsim as a child process: free port, TLS with a generated CA, fixed credentials, killed on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::certs::TestCa;

/// A running vcsim (VPX model: DC0, hosts DC0_H0 and DC0_C0_H0..2, datastore LocalDS_0).
pub struct Vcsim {
    child: Child,
    /// `127.0.0.1:<port>`.
    pub server: String,
    pub username: String,
    pub password: String,
    /// PEM of the CA that signed vcsim's certificate.
    pub ca_pem: String,
    /// `http://127.0.0.1:PORT` of vcsim-ext's admin endpoint (`None` for plain vcsim).
    pub admin_url: Option<String>,
    _dir: tempfile::TempDir,
}

/// Directory holding `vcsim` (and `vcsim-ext`): `$REPROTECT_TOOLS_BIN`, else the last stdout line of
/// `tests/tools/build.sh`.
pub fn tools_bin_dir() -> anyhow::Result<PathBuf> {
    if let Ok(dir) = std::env::var("REPROTECT_TOOLS_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/build.sh");
    if !script.exists() {
        bail!("vcsim not found: set REPROTECT_TOOLS_BIN to a directory containing `vcsim`, or provide {}", script.display());
    }
    let out = Command::new("bash").arg(&script).stderr(Stdio::inherit()).output().context("running tests/tools/build.sh")?;
    if !out.status.success() {
        bail!("tests/tools/build.sh failed with {}", out.status);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).context("tests/tools/build.sh printed nothing")?;
    Ok(PathBuf::from(last.trim()))
}

impl Vcsim {
    /// Start vcsim with user `reprotect` / a fixed password. Panics-free: returns an error if the binary is
    /// missing or does not come up within 30 s.
    pub fn start() -> anyhow::Result<Vcsim> {
        Self::start_with("reprotect", "S3cretPass")
    }

    pub fn start_with(username: &str, password: &str) -> anyhow::Result<Vcsim> {
        Self::spawn("vcsim", username, password, &[])
    }

    /// Start `vcsim-ext` (same inventory and credentials) with extra flags for facts the API cannot set, e.g.
    /// `["-edition", "esxBasic"]`, `["-readonly-datastore", "LocalDS_0@DC0_H0"]`,
    /// `["-deny-privilege", "System.View@LocalDS_0"]`.
    pub fn start_ext(extra_args: &[&str]) -> anyhow::Result<Vcsim> {
        Self::spawn("vcsim-ext", "reprotect", "S3cretPass", extra_args)
    }

    fn spawn(binary: &str, username: &str, password: &str, extra_args: &[&str]) -> anyhow::Result<Vcsim> {
        let bin = tools_bin_dir()?.join(binary);
        if !bin.exists() {
            bail!("vcsim binary missing at {} (build it with tests/tools/build.sh)", bin.display());
        }
        let dir = tempfile::tempdir()?;
        let ca = TestCa::generate("reprotect test CA")?;
        let cert = dir.path().join("server.pem");
        let key = dir.path().join("server.key");
        std::fs::write(&cert, &ca.server_cert_pem)?;
        std::fs::write(&key, &ca.server_key_pem)?;
        let mut child = Command::new(&bin)
            .args(["-l", "127.0.0.1:0", "-username", username, "-password", password])
            .arg("-tlscert")
            .arg(&cert)
            .arg("-tlskey")
            .arg(&key)
            .args(extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let sent = if let Some(server) = parse_govc_url(&line) {
                    tx.send(Started::Server(server))
                } else if let Some(admin) = line.trim().strip_prefix("VCSIM_ADMIN_URL=") {
                    tx.send(Started::Admin(admin.to_string()))
                } else if line.trim() == "VCSIM_READY" {
                    tx.send(Started::Ready)
                } else {
                    Ok(())
                };
                if sent.is_err() {
                    break;
                }
            }
        });
        // Plain vcsim is up once it prints its URL; vcsim-ext prints its URLs, then VCSIM_READY.
        let ext = binary == "vcsim-ext";
        let deadline = Instant::now() + Duration::from_secs(30);
        let (mut server, mut admin_url) = (None, None);
        let server = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Started::Server(s)) if !ext => break s,
                Ok(Started::Server(s)) => server = Some(s),
                Ok(Started::Admin(a)) => admin_url = Some(a),
                Ok(Started::Ready) => {
                    if let Some(s) = server.take() {
                        break s;
                    }
                }
                Err(_) => {}
            }
            if let Some(status) = child.try_wait()? {
                bail!("vcsim exited early with {status}");
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("vcsim did not print GOVC_URL within 30s");
            }
        };
        Ok(Vcsim { child, server, username: username.into(), password: password.into(), ca_pem: ca.ca_cert_pem, admin_url, _dir: dir })
    }

    /// Process id (to kill it from a test).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// What the simulator prints while it starts.
enum Started {
    Server(String),
    Admin(String),
    Ready,
}

/// `export GOVC_URL=https://u:p@127.0.0.1:PORT/sdk GOVC_SIM_PID=…` (vcsim) or `VCSIM_URL=https://127.0.0.1:PORT/sdk`
/// (vcsim-ext) → `127.0.0.1:PORT`.
fn parse_govc_url(line: &str) -> Option<String> {
    let url = line.split_whitespace().find_map(|w| w.strip_prefix("GOVC_URL=").or_else(|| w.strip_prefix("VCSIM_URL=")))?;
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let host_port = rest.split('/').next()?;
    let host_port = host_port.rsplit('@').next()?;
    Some(host_port.to_string())
}

impl Drop for Vcsim {
    fn drop(&mut self) {
        // SIGINT lets vcsim remove its /tmp/govcsim-* folders; fall back to SIGKILL.
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_server_address_is_taken_from_govc_url() {
        let line = "export GOVC_URL=https://u:p@127.0.0.1:40123/sdk GOVC_SIM_PID=77";
        assert_eq!(super::parse_govc_url(line).as_deref(), Some("127.0.0.1:40123"));
        assert_eq!(super::parse_govc_url("VCSIM_URL=https://127.0.0.1:5/sdk").as_deref(), Some("127.0.0.1:5"));
    }
}
