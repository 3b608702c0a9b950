//! One control plane per test binary, shared by its tests, plus throwaway test namespaces.

use std::sync::OnceLock;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};

use crate::control_plane::ControlPlane;

/// The start-up result, kept even when it failed so that every test reports the same error
/// instead of retrying a start that will fail again.
static SHARED: OnceLock<Result<ControlPlane, String>> = OnceLock::new();

extern "C" fn stop_shared_at_exit() {
    if let Some(Ok(cp)) = SHARED.get() {
        cp.stop();
        let _ = std::fs::remove_dir_all(cp.dir());
    }
}

/// The control plane of this test binary, started on first use (on a dedicated thread with
/// its own runtime, so it works from any `#[tokio::test]`), stopped when the process exits.
/// Panics with the start-up error (and API server log tail) if it cannot start.
pub fn shared() -> &'static ControlPlane {
    let started = SHARED.get_or_init(|| {
        let started = std::thread::spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(start_retrying_taken_ports())
        })
        .join()
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the start-up thread panicked (see above)")));
        let cp = started.map_err(|e| format!("{e:#}"))?;
        // Statics are never dropped: kill etcd/apiserver and remove the temp dir at exit.
        // (PR_SET_PDEATHSIG covers abnormal exits.)
        // SAFETY: registering a plain extern "C" fn with libc's atexit.
        unsafe { libc::atexit(stop_shared_at_exit) };
        eprintln!(
            "test control plane: {} ready in {:.1}s (kubeconfig {})",
            cp.url(),
            cp.startup_time().as_secs_f64(),
            cp.kubeconfig_path().display()
        );
        Ok(cp)
    });
    match started {
        Ok(cp) => cp,
        Err(e) => panic!("test control plane failed to start: {e}"),
    }
}

/// Start the control plane, again (up to three times) when a port it was given was taken before its server bound it:
/// the free ports are picked by binding port 0 and releasing it, and test binaries start side by side.
async fn start_retrying_taken_ports() -> anyhow::Result<ControlPlane> {
    let mut attempt = 1;
    loop {
        match ControlPlane::start().await {
            Err(e) if attempt < 3 && format!("{e:#}").contains("address already in use") => {
                eprintln!("test control plane: a port was taken while it started (attempt {attempt}), starting again");
                attempt += 1;
            }
            started => return started,
        }
    }
}

/// A fresh admin client for the shared control plane, bound to the caller's runtime.
pub async fn client() -> kube::Client {
    shared().client().await
}

/// A namespace that exists for one test. If the test panics while this guard is alive,
/// its drop prints the API server log tail and a YAML dump of the namespace's objects.
#[derive(Debug)]
pub struct TestNamespace {
    name: String,
}

impl TestNamespace {
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl std::ops::Deref for TestNamespace {
    type Target = str;
    fn deref(&self) -> &str {
        &self.name
    }
}

/// Create `test-<random>` in the shared control plane.
pub async fn test_namespace() -> TestNamespace {
    use rand::Rng;
    let suffix: String = rand::rng().sample_iter(rand::distr::Alphanumeric).take(8).map(|c| (c as char).to_ascii_lowercase()).collect();
    let name = format!("test-{suffix}");
    let ns: Namespace = serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "labels": {"reprotect.test/throwaway": "true"}}
    }))
    .expect("namespace object");
    Api::<Namespace>::all(client().await)
        .create(&PostParams::default(), &ns)
        .await
        .unwrap_or_else(|e| panic!("create test namespace {name}: {e}"));
    TestNamespace { name }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            // No namespace controller runs here, so deleting would only leave it Terminating.
            return;
        }
        let Some(Ok(cp)) = SHARED.get() else { return };
        eprintln!("\n===== test failed: kube-apiserver log tail =====\n{}", cp.log_tail("kube-apiserver", 40));
        // Our kinds first; fall back to built-in kinds when the CRDs are not installed.
        for kinds in [
            "all,configmaps,secrets,serviceaccounts,roles,rolebindings,pm,mt,rpp",
            "all,configmaps,secrets,serviceaccounts,roles,rolebindings",
        ] {
            let out = cp.tool_command("kubectl").args(["get", kinds, "-o", "yaml", "-n", &self.name]).output();
            match out {
                Ok(out) if out.status.success() => {
                    eprintln!("===== objects in namespace {} =====\n{}", self.name, String::from_utf8_lossy(&out.stdout));
                    return;
                }
                Ok(_) => continue,
                Err(e) => {
                    eprintln!("(cannot run kubectl to dump namespace {}: {e})", self.name);
                    return;
                }
            }
        }
    }
}
