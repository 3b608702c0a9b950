//! Locating the pinned Go test tools: `REPROTECT_TOOLS_BIN` or `tests/tools/build.sh`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The tools every control-plane test needs; checked after building.
const REQUIRED: &[&str] = &["kube-apiserver", "etcd", "kubectl", "helm"];

/// The directory holding the test tools (kube-apiserver, kubectl, etcd, helm, kubeconform,
/// vcsim, vcsim-ext, kstatus-check).
///
/// Uses `$REPROTECT_TOOLS_BIN` when set; otherwise runs `tests/tools/build.sh` once per
/// process (cheap when its cache is complete, minutes the first time). Panics with a clear
/// message when the tools cannot be built: tests never skip silently.
pub fn tools_bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| match resolve() {
        Ok(dir) => dir,
        Err(e) => panic!(
            "reprotect-test-support: the Go test tools are not available: {e:#}\n\
             Build them with `tests/tools/build.sh` (needs Go >= 1.26 and the Go module proxy \
             or a warm module cache), or point REPROTECT_TOOLS_BIN at a directory holding them."
        ),
    })
}

/// Full path of one tool in [`tools_bin_dir`], e.g. `tool_path("vcsim-ext")`.
/// Panics if that tool is missing.
pub fn tool_path(name: &str) -> PathBuf {
    let path = tools_bin_dir().join(name);
    assert!(path.is_file(), "test tool {name} is missing: {} does not exist", path.display());
    path
}

fn resolve() -> anyhow::Result<PathBuf> {
    let dir = match std::env::var_os("REPROTECT_TOOLS_BIN") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => run_build_script()?,
    };
    for tool in REQUIRED {
        anyhow::ensure!(dir.join(tool).is_file(), "{} has no {tool} (REPROTECT_TOOLS_BIN or build.sh output is wrong)", dir.display());
    }
    Ok(dir)
}

/// `tests/tools/build.sh` of this checkout.
pub(crate) fn build_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/build.sh")
}

fn run_build_script() -> anyhow::Result<PathBuf> {
    let script = build_script();
    // stderr is inherited so the "building kube-apiserver..." progress is visible.
    let out = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", script.display()))?;
    anyhow::ensure!(out.status.success(), "{} failed ({}); its progress and the Go error are printed above", script.display(), out.status);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty());
    let dir = last.ok_or_else(|| anyhow::anyhow!("{} printed no directory", script.display()))?;
    Ok(PathBuf::from(dir.trim()))
}
