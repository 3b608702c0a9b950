//! A real etcd + kube-apiserver on free loopback ports, with a kubeconfig for kube, kubectl and helm.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::certs::{self, CertFiles};
use crate::process::{Owned, free_port, tail};
use crate::tools::tools_bin_dir;

/// The audience/issuer of service-account tokens minted by this control plane.
pub const SA_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// A running etcd + kube-apiserver. Dropping it kills both and removes its directory.
#[derive(Debug)]
pub struct ControlPlane {
    // Field order matters: the API server is killed before etcd, then the dir is removed.
    apiserver: Owned,
    etcd: Owned,
    dir: tempfile::TempDir,
    certs: CertFiles,
    url: String,
    kubeconfig: PathBuf,
    bin: PathBuf,
    startup: Duration,
}

/// Output of a kubectl/helm run.
#[derive(Debug, Clone)]
pub struct CmdOutput {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for CmdOutput {
    fn from(out: std::process::Output) -> Self {
        CmdOutput {
            success: out.status.success(),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl CmdOutput {
    /// stdout if the command succeeded, else an error carrying the exit code and stderr.
    pub fn ok(self) -> anyhow::Result<String> {
        anyhow::ensure!(self.success, "exit {:?}: {}{}", self.code, self.stderr, self.stdout);
        Ok(self.stdout)
    }
}

impl ControlPlane {
    /// Start etcd and kube-apiserver (RBAC, SA token issuer) and wait until `/readyz` is ok.
    /// Builds the tools first if needed (see [`crate::tools_bin_dir`]).
    pub async fn start() -> anyhow::Result<Self> {
        let bin = tools_bin_dir().to_path_buf();
        let t0 = Instant::now();
        let dir = tempfile::Builder::new().prefix("reprotect-cp-").tempdir()?;
        let d = dir.path();
        let certs = certs::generate(d)?;
        let (etcd_port, peer_port, api_port) = (free_port()?, free_port()?, free_port()?);
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");

        let mut etcd = Command::new(bin.join("etcd"));
        etcd.args(["--name", "default", "--log-level", "warn", "--unsafe-no-fsync"])
            .arg(format!("--data-dir={}", d.join("etcd").display()))
            .arg(format!("--listen-client-urls={etcd_url}"))
            .arg(format!("--advertise-client-urls={etcd_url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=default={peer_url}"));
        let etcd = Owned::spawn("etcd", etcd, &d.join("etcd.log"))?;

        let p = |path: &Path| path.display().to_string();
        let mut api = Command::new(bin.join("kube-apiserver"));
        api.arg(format!("--etcd-servers={etcd_url}"))
            .args(["--bind-address=127.0.0.1", "--advertise-address=127.0.0.1"])
            .arg(format!("--secure-port={api_port}"))
            .arg(format!("--tls-cert-file={}", p(&certs.serving_cert)))
            .arg(format!("--tls-private-key-file={}", p(&certs.serving_key)))
            .arg(format!("--client-ca-file={}", p(&certs.ca_cert)))
            .arg("--authorization-mode=Node,RBAC")
            .arg(format!("--service-account-issuer={SA_ISSUER}"))
            .arg(format!("--api-audiences={SA_ISSUER}"))
            .arg(format!("--service-account-key-file={}", p(&certs.sa_pub)))
            .arg(format!("--service-account-signing-key-file={}", p(&certs.sa_key)))
            .args(["--service-cluster-ip-range=10.0.0.0/24", "--profiling=false", "--endpoint-reconciler-type=none"])
            .arg(format!("--cert-dir={}", p(&d.join("apiserver-certs"))));
        let apiserver = Owned::spawn("kube-apiserver", api, &d.join("apiserver.log"))?;

        let url = format!("https://127.0.0.1:{api_port}");
        let kubeconfig = d.join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            kubeconfig_yaml(
                &url,
                &certs.ca_cert,
                &format!("client-certificate: {}\n    client-key: {}", p(&certs.admin_cert), p(&certs.admin_key)),
                "default",
            ),
        )?;
        let mut cp = Self { apiserver, etcd, dir, certs, url, kubeconfig, bin, startup: Duration::ZERO };
        cp.wait_ready(Duration::from_secs(90)).await?;
        cp.startup = t0.elapsed();
        tracing::info!(url = %cp.url, startup = ?cp.startup, "control plane ready");
        Ok(cp)
    }

    async fn wait_ready(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let mut last = String::from("not tried");
        while Instant::now() < deadline {
            for proc in [&self.etcd, &self.apiserver] {
                if let Some(status) = proc.exited() {
                    anyhow::bail!(
                        "{} exited ({status}) during start-up; error lines:\n{}\nlog tail:\n{}",
                        proc.name,
                        self.log_errors(&proc.name),
                        self.log_tail(&proc.name, 20)
                    );
                }
            }
            match self.readyz().await {
                Ok(()) => return Ok(()),
                Err(e) => last = format!("{e:#}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("kube-apiserver not ready after {timeout:?} (last: {last}); log tail:\n{}", self.log_tail("kube-apiserver", 40))
    }

    async fn readyz(&self) -> anyhow::Result<()> {
        let client = self.try_client().await?;
        let req = http::Request::get("/readyz").body(Vec::new())?;
        let body = client.request_text(req).await?;
        anyhow::ensure!(body.trim() == "ok", "readyz: {body}");
        Ok(())
    }

    /// A new admin (`system:masters`) client bound to the caller's tokio runtime.
    pub async fn client(&self) -> kube::Client {
        self.try_client().await.expect("build a kube::Client for the test control plane")
    }

    async fn try_client(&self) -> anyhow::Result<kube::Client> {
        client_from_kubeconfig(&std::fs::read_to_string(&self.kubeconfig)?).await
    }

    /// A client authenticated as ServiceAccount `ns/name` with a TokenRequest token (the SA is
    /// created if missing). It has only the permissions RBAC grants that ServiceAccount.
    pub async fn client_as_service_account(&self, ns: &str, name: &str) -> anyhow::Result<kube::Client> {
        client_from_kubeconfig(&self.service_account_kubeconfig_yaml(ns, name).await?).await
    }

    /// A kubeconfig file for ServiceAccount `ns/name` whose context namespace is `ns`, as a pod of
    /// that ServiceAccount sees it: for running the controller binary with a chart's identity.
    pub async fn service_account_kubeconfig(&self, ns: &str, name: &str) -> anyhow::Result<PathBuf> {
        let path = self.dir.path().join(format!("kubeconfig-{ns}-{name}"));
        std::fs::write(&path, self.service_account_kubeconfig_yaml(ns, name).await?)?;
        Ok(path)
    }

    async fn service_account_kubeconfig_yaml(&self, ns: &str, name: &str) -> anyhow::Result<String> {
        use k8s_openapi::api::authentication::v1::TokenRequest;
        use k8s_openapi::api::core::v1::ServiceAccount;
        use kube::api::{Api, PostParams};
        let sas: Api<ServiceAccount> = Api::namespaced(self.client().await, ns);
        let sa = serde_json::from_value(serde_json::json!({"metadata": {"name": name}}))?;
        match sas.create(&PostParams::default(), &sa).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
        let req: TokenRequest = serde_json::from_value(serde_json::json!({
            "spec": {"audiences": [SA_ISSUER], "expirationSeconds": 3600}
        }))?;
        let token = sas.create_token_request(name, &PostParams::default(), &req).await?;
        let token = token.status.and_then(|s| s.token).unwrap_or_default();
        anyhow::ensure!(!token.is_empty(), "TokenRequest for {ns}/{name} returned no token");
        Ok(kubeconfig_yaml(&self.url, &self.certs.ca_cert, &format!("token: {token}"), ns))
    }

    /// Run the real kubectl against this control plane.
    pub async fn kubectl(&self, args: &[&str]) -> anyhow::Result<CmdOutput> {
        self.run_tool("kubectl", args, None).await
    }

    /// Run kubectl with `stdin` piped in (e.g. `kubectl apply -f -`).
    pub async fn kubectl_stdin(&self, args: &[&str], stdin: &str) -> anyhow::Result<CmdOutput> {
        self.run_tool("kubectl", args, Some(stdin)).await
    }

    /// Run the real helm against this control plane (helm's config/cache live in the temp dir).
    pub async fn helm(&self, args: &[&str]) -> anyhow::Result<CmdOutput> {
        self.run_tool("helm", args, None).await
    }

    async fn run_tool(&self, tool: &str, args: &[&str], stdin: Option<&str>) -> anyhow::Result<CmdOutput> {
        use tokio::io::AsyncWriteExt;
        let mut cmd = tokio::process::Command::from(self.tool_command(tool));
        cmd.args(args).kill_on_drop(true);
        cmd.stdin(if stdin.is_some() { std::process::Stdio::piped() } else { std::process::Stdio::null() });
        cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| anyhow::anyhow!("cannot run {tool}: {e}"))?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(input.as_bytes()).await?;
        }
        Ok(child.wait_with_output().await?.into())
    }

    /// A `std::process::Command` for a tool with KUBECONFIG (and helm's homes) set.
    pub fn tool_command(&self, tool: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(tool));
        let d = self.dir.path();
        cmd.env("KUBECONFIG", &self.kubeconfig)
            .env("HELM_CACHE_HOME", d.join("helm/cache"))
            .env("HELM_CONFIG_HOME", d.join("helm/config"))
            .env("HELM_DATA_HOME", d.join("helm/data"));
        cmd
    }

    /// Path of the admin kubeconfig (usable by kubectl, helm and kube).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// `https://127.0.0.1:PORT` of the API server.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// PEM file of the CA that signed the serving and client certificates.
    pub fn ca_cert_path(&self) -> &Path {
        &self.certs.ca_cert
    }

    /// How long [`ControlPlane::start`] took (tools already built).
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// Last `lines` lines of `kube-apiserver` or `etcd`'s log.
    pub fn log_tail(&self, process: &str, lines: usize) -> String {
        let file = if process == "etcd" { "etcd.log" } else { "apiserver.log" };
        tail(&self.dir.path().join(file), lines)
    }

    /// Error/fatal lines of `kube-apiserver` or `etcd`'s log (the last 20).
    pub fn log_errors(&self, process: &str) -> String {
        let file = if process == "etcd" { "etcd.log" } else { "apiserver.log" };
        crate::process::error_lines(&self.dir.path().join(file), 20)
    }

    /// Kill both processes now (also done on drop and at process exit).
    pub fn stop(&self) {
        self.apiserver.kill();
        self.etcd.kill();
    }

    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }
}

fn kubeconfig_yaml(url: &str, ca: &Path, user: &str, namespace: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {url}\n    \
         certificate-authority: {}\nusers:\n- name: test\n  user:\n    {user}\ncontexts:\n- name: test\n  \
         context:\n    cluster: test\n    user: test\n    namespace: {namespace}\ncurrent-context: test\n",
        ca.display()
    )
}

async fn client_from_kubeconfig(yaml: &str) -> anyhow::Result<kube::Client> {
    let config = kube::Config::from_custom_kubeconfig(Kubeconfig::from_yaml(yaml)?, &KubeConfigOptions::default()).await?;
    Ok(kube::Client::try_from(config)?)
}
