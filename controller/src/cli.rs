//! Command-line interface: every flag also comes from an environment variable; parsed once in `main`.

use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;

/// Kubernetes controller for Azure Site Recovery reprotect (Azure to on-premises VMware).
#[derive(Parser, Debug)]
#[command(name = "reprotect-controller", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the controller.
    Run(RunArgs),
    /// Print the CustomResourceDefinitions as YAML (or write one file per CRD).
    Crd {
        /// Write `<name>.yaml` files into this directory instead of printing.
        #[arg(long)]
        output_dir: Option<std::path::PathBuf>,
    },
    /// List every preflight check: id, severity, what it verifies, remedy and source section.
    Checks {
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
    /// Observe and preflight machines once (from a manifest, or an applied `pm/NAME`) and print the check
    /// tables; never writes. Exits 1 when something blocks reprotect, 2 when the check could not run.
    Check(CheckArgs),
    /// Policies, master targets and machines by phase, blocked reasons and groups (`kubectl reprotect status`).
    Status(StatusArgs),
    /// Pause machines: the `reprotect.io/paused` annotation stops every action until resumed.
    Pause(PauseArgs),
    /// Resume paused machines (removes the `reprotect.io/paused` annotation).
    Resume(PauseArgs),
    /// What Apply would do now for applied machines (decided as in Plan mode); sends nothing.
    Plan(PlanArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the version.
    Version,
}

/// Which cluster and namespace, as kubectl takes them.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ClusterArgs {
    /// Kubeconfig to use; default: `KUBECONFIG` (several paths merged, as kubectl does), `~/.kube/config`, or in-cluster.
    #[arg(long)]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long)]
    pub context: Option<String>,
    /// Namespace (default: the context's).
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
}

/// Flags of `status`.
#[derive(clap::Args, Debug, Clone)]
pub struct StatusArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Every namespace.
    #[arg(long, short = 'A', conflicts_with = "namespace")]
    pub all_namespaces: bool,
}

/// Flags of `pause` and `resume`.
#[derive(clap::Args, Debug, Clone)]
pub struct PauseArgs {
    /// Machines as `pm/NAME` (or `NAME`).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub machines: Vec<String>,
    /// Every machine of the namespace.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Flags of `plan`.
#[derive(clap::Args, Debug, Clone)]
pub struct PlanArgs {
    /// One machine as `pm/NAME` (default: every machine of the namespace).
    pub machine: Option<String>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The same credential limits as `run` (a plan reads Azure with the policy's credentials).
    #[command(flatten)]
    pub credentials: CredentialArgs,
}

/// Flags of `check`.
#[derive(clap::Args, Debug, Clone)]
pub struct CheckArgs {
    /// An applied machine to check, as `pm/NAME` (or `NAME`), read from the cluster.
    #[arg(required_unless_present = "filename", conflicts_with = "filename")]
    pub machine: Option<String>,
    /// The manifest to check: every ProtectedMachine document in it (other kinds are skipped); `-` reads stdin.
    #[arg(long, short = 'f')]
    pub filename: Option<std::path::PathBuf>,
    /// Read the ReprotectPolicy from this file instead of the cluster.
    #[arg(long)]
    pub policy_file: Option<std::path::PathBuf>,
    /// Read the MasterTarget from this file instead of the cluster.
    #[arg(long)]
    pub master_target_file: Option<std::path::PathBuf>,
    /// The cluster (Secrets are always read from it) and the namespace of a machine whose manifest has none.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = CheckOutput::Table)]
    pub output: CheckOutput,
    /// The same credential limits as `run` (a check sends the policy's credentials too).
    #[command(flatten)]
    pub credentials: CredentialArgs,
}

/// What ReprotectPolicies may do with credentials (see README "Security model"); both deny by default.
/// Flattened into `run`; `check` can flatten it too.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CredentialArgs {
    /// Namespaces whose policies may use the pod's workload identity when they omit `credentialsSecretRef`
    /// (comma separated; `*` = every namespace). Empty (default): no policy may use it.
    #[arg(long, env = "REPROTECT_WORKLOAD_IDENTITY_NAMESPACES", value_delimiter = ',')]
    pub workload_identity_namespaces: Vec<String>,
    /// Hosts a `cloud: Custom` policy may use as `authorityHost` / `armEndpoint` (comma separated
    /// `host`, `host:port` or `https://host[:port]`). Empty (default): no custom cloud.
    #[arg(long, env = "REPROTECT_ALLOWED_CUSTOM_CLOUD_ENDPOINTS", value_delimiter = ',')]
    pub allowed_custom_cloud_endpoints: Vec<String>,
}

/// Output format of `check`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum CheckOutput {
    Table,
    Json,
}

/// Output format of `checks`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Output {
    Table,
    Json,
    Markdown,
}

/// Log line format.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// Flags of `run`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Address of the /healthz, /readyz and /metrics endpoints.
    #[arg(long, env = "REPROTECT_HTTP_ADDR", default_value = "0.0.0.0:8080")]
    pub http_addr: SocketAddr,
    /// Log format.
    #[arg(long, env = "REPROTECT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
    /// Log filter (tracing EnvFilter syntax), e.g. `info,reprotect_controller=debug`; rejected at start-up when it does not parse.
    #[arg(long, env = "REPROTECT_LOG_LEVEL", default_value = "info", value_parser = parse_log_filter)]
    pub log_level: String,
    /// Only watch these namespaces (comma separated); all namespaces when empty.
    #[arg(long, env = "REPROTECT_NAMESPACES", value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// Elect a leader through a coordination.k8s.io Lease so several replicas can run.
    #[arg(long, env = "REPROTECT_LEADER_ELECTION", default_value_t = false)]
    pub leader_election: bool,
    /// Namespace of the leader-election Lease (default: the pod's namespace, or the kubeconfig's).
    #[arg(long, env = "REPROTECT_LEASE_NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// Name of the leader-election Lease.
    #[arg(long, env = "REPROTECT_LEASE_NAME", default_value = "reprotect-controller")]
    pub lease_name: String,
    /// Identity of this replica in the Lease (defaults to the host name).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// Interval of the protected-machine watchdog (on-premises VM powered on, master target snapshots).
    #[arg(long, env = "REPROTECT_WATCHDOG_INTERVAL", default_value = "5m", value_parser = parse_duration)]
    pub watchdog_interval: std::time::Duration,
    /// How long a fabric read is shared between machines of one vault.
    #[arg(long, env = "REPROTECT_FABRIC_CACHE_TTL", default_value = "30s", value_parser = parse_duration)]
    pub fabric_cache_ttl: std::time::Duration,
    /// How long a Secret or CA ConfigMap a policy names is shared by the machines' passes when it is not watched
    /// (the policy's own reconcile then reads it fresh).
    #[arg(long, env = "REPROTECT_SECRET_CACHE_TTL", default_value = "60s", value_parser = parse_duration)]
    pub secret_cache_ttl: std::time::Duration,
    /// Watch each Secret and CA ConfigMap a policy names (a field selector on its name), so it is read once per
    /// change. Needs `list` and `watch` on Secrets and ConfigMaps in the watched namespaces (chart `secrets.watch`);
    /// `false` reads them with `get` only, once per `--secret-cache-ttl`.
    #[arg(long, env = "REPROTECT_WATCH_REFERENCED_OBJECTS", default_value_t = true, action = clap::ArgAction::Set)]
    pub watch_referenced_objects: bool,
    /// How often the vault watch looks at each policy's vault: it reads the jobs started since its last look
    /// (one page when nothing happens) and, when one started or changed state, the vault's item list, waking the
    /// machines whose item changed in Azure. A change made by a job shows within about one interval. `0s` turns
    /// the watch off.
    #[arg(long, env = "REPROTECT_VAULT_WATCH_INTERVAL", default_value = "4m", value_parser = parse_duration)]
    pub vault_watch_interval: std::time::Duration,
    /// How often the vault watch reads each vault's whole item list even when no job moved: what changes
    /// without a job (replication health, an agent's heartbeat) shows within this interval. `Protected`
    /// machines' own passes reuse that list. At most `--vault-watch-interval` lists every look.
    #[arg(long, env = "REPROTECT_VAULT_SWEEP_INTERVAL", default_value = "15m", value_parser = parse_duration)]
    pub vault_sweep_interval: std::time::Duration,
    /// ARM read requests per second per subscription and identity (token bucket, burst twice the rate; writes at
    /// most Azure's 10/s). Default: Azure Resource Manager's own limits (reads 25/s burst 250, writes 10/s burst 200),
    /// so the controller paces to what ARM allows without drawing 429s. Lower it to leave room for other clients.
    #[arg(long, env = "REPROTECT_ARM_RATE")]
    pub arm_requests_per_second: Option<f64>,
    /// Maximum concurrent reconciles per kind.
    #[arg(long, env = "REPROTECT_CONCURRENCY", default_value_t = 16)]
    pub concurrency: u16,
    #[command(flatten)]
    pub credentials: CredentialArgs,
}

/// Parse `15m`, `30s`, `1h30m`, `250ms`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let d: jiff::SignedDuration = s.parse().map_err(|e| format!("invalid duration {s:?}: {e}"))?;
    if d.is_negative() {
        return Err(format!("duration {s:?} must not be negative"));
    }
    Ok(d.unsigned_abs())
}

/// Validate a tracing `EnvFilter` (`info`, `warn,reprotect_controller=debug`, `kube=off`).
///
/// EnvFilter itself accepts a bare word as a target name (`debgu` would mean "everything from
/// target debgu"), which turns a typo into silence; a bare directive must therefore be a level.
pub fn parse_log_filter(s: &str) -> Result<String, String> {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    for directive in s.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let bare = !directive.contains(['=', '[', ':']);
        if bare && !LEVELS.contains(&directive.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "invalid log filter {s:?}: {directive:?} is not a level (trace, debug, info, warn, error, off); use target=level for a module"
            ));
        }
    }
    tracing_subscriber::EnvFilter::builder().parse(s).map_err(|e| format!("invalid log filter {s:?}: {e}"))?;
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_the_kubernetes_style() {
        let table = [("15m", Some(900)), ("1h30m", Some(5400)), ("30s", Some(30)), ("-5m", None), ("soon", None)];
        for (input, secs) in table {
            assert_eq!(parse_duration(input).ok().map(|d| d.as_secs()), secs, "{input}");
        }
    }

    #[test]
    fn log_filters_that_do_not_parse_are_rejected() {
        let table = [
            ("info", true),
            ("warn,reprotect_controller=debug", true),
            ("kube=off,reprotect_controller::reconcile=trace", true),
            ("DEBUG", true),
            ("verbose", false),
            ("info,reprotect_controller=loud", false),
            ("debgu", false),
        ];
        for (input, ok) in table {
            assert_eq!(parse_log_filter(input).is_ok(), ok, "{input}: {:?}", parse_log_filter(input));
        }
    }

    #[test]
    fn an_unparsable_log_level_stops_the_run_command_at_start_up() {
        let bad = Cli::try_parse_from(["reprotect-controller", "run", "--log-level", "info,reprotect_controller=loud"]);
        let err = bad.expect_err("must be rejected").to_string();
        assert!(err.contains("invalid log filter"), "{err}");
        let good = Cli::try_parse_from(["reprotect-controller", "run", "--log-level", "debug"]).expect("valid");
        let Command::Run(args) = good.command else { panic!("not run") };
        assert_eq!(args.log_level, "debug");
    }

    #[test]
    fn credential_flags_are_off_by_default_and_take_comma_separated_lists() {
        let run = |args: &[&str]| match Cli::try_parse_from([&["reprotect-controller", "run"], args].concat()).unwrap().command {
            Command::Run(r) => r.credentials,
            other => panic!("{other:?}"),
        };
        let none = run(&[]);
        assert!(none.workload_identity_namespaces.is_empty() && none.allowed_custom_cloud_endpoints.is_empty());
        let some = run(&["--workload-identity-namespaces", "a,b", "--allowed-custom-cloud-endpoints", "login.x:8443,https://arm.x"]);
        assert_eq!(some.workload_identity_namespaces, ["a", "b"]);
        assert_eq!(some.allowed_custom_cloud_endpoints, ["login.x:8443", "https://arm.x"]);
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
