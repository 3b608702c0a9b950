//! `ReprotectPolicy`: what a team declares once for a set of machines (connections, defaults, pacing, mode).

use super::common::{CaBundleReference, Conditions, SecretReference};
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// Desired replication direction after reprotect.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Direction {
    /// Replicate from the failed-over VM in Azure back to the on-premises VMware site (the only value in v1alpha1).
    #[default]
    AzureToOnPremises,
}

/// Whether the controller acts or only reports what it would do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Mode {
    /// Observe, check, and act (power off, remediate, reprotect).
    #[default]
    Apply,
    /// Observe, check and list planned actions in status; never write to Azure or vCenter.
    Plan,
}

/// Azure cloud whose endpoints to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum AzureCloudName {
    /// management.azure.com / login.microsoftonline.com.
    #[default]
    AzurePublicCloud,
    /// management.usgovcloudapi.net / login.microsoftonline.us.
    AzureUSGovernment,
    /// management.chinacloudapi.cn / login.chinacloudapi.cn.
    AzureChinaCloud,
    /// Explicit `armEndpoint` and `authorityHost` (e.g. a sovereign cloud or a simulator).
    Custom,
}

/// Network that connects the failed-over VMs in Azure with the on-premises site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Connectivity {
    /// Site-to-site VPN: an Azure-based process server is recommended.
    SiteToSiteVpn,
    /// ExpressRoute with private peering: an on-premises process server is fine.
    ExpressRoutePrivatePeering,
}

/// Where the process server used for failback runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum ProcessServerLocation {
    /// A process server deployed in the Azure network of the failed-over VMs.
    Azure,
    /// The on-premises process server.
    OnPremises,
}

/// The Azure Site Recovery vault and configuration server to work with.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.cloud != 'Custom' || (has(self.armEndpoint) && has(self.authorityHost))").message("cloud Custom needs both armEndpoint and authorityHost"))]
pub struct SiteRecoveryTarget {
    /// Azure subscription id (a GUID).
    #[x_kube(validation = Rule::new("self.matches('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')").message("subscriptionId must be a GUID"))]
    pub subscription_id: String,
    /// Resource group of the Recovery Services vault.
    #[schemars(length(min = 1, max = 90))]
    pub resource_group: String,
    /// Name of the Recovery Services vault.
    #[schemars(length(min = 2, max = 50))]
    pub vault_name: String,
    /// Name of the configuration server's fabric in the vault (Site Recovery infrastructure > Configuration servers).
    #[schemars(length(min = 1))]
    pub fabric_name: String,
    /// Protection container of the fabric; discovered when omitted (a configuration server has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protection_container: Option<String>,
    /// Secret with keys `tenantId`, `clientId`, `clientSecret` for a service principal. When omitted, workload identity (AZURE_* environment of the pod) is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret_ref: Option<SecretReference>,
    /// Azure cloud; `Custom` requires `armEndpoint` and `authorityHost`.
    #[serde(default)]
    pub cloud: AzureCloudName,
    /// Azure Resource Manager endpoint for `cloud: Custom`, e.g. `https://management.example.net/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.startsWith('https://')").message("armEndpoint must be an https URL"))]
    pub arm_endpoint: Option<String>,
    /// Microsoft Entra authority host for `cloud: Custom` (https; any path is ignored by the SDK).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.startsWith('https://')").message("authorityHost must be an https URL"))]
    pub authority_host: Option<String>,
    /// CA bundle to trust for the ARM and authority endpoints (for private endpoints or test environments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<CaBundleReference>,
    /// Site Recovery REST api-version; defaults to the newest the controller was built against (2026-11-01).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^[0-9]{4}-[0-9]{2}-[0-9]{2}(-preview)?$')").message("apiVersion looks like 2026-11-01"))]
    pub api_version: Option<String>,
}

/// TLS settings of the vCenter connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(has(self.caBundle) && self.insecureSkipVerify)").message("set caBundle or insecureSkipVerify, not both"))]
pub struct VcenterTls {
    /// CA bundle that signed the vCenter certificate; the system roots are used when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<CaBundleReference>,
    /// Skip certificate verification. Off by default; only for labs.
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// How to reach the vCenter that manages the on-premises site.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct VcenterConnection {
    /// vCenter address: host name, `host:port`, or `https://host/sdk`.
    #[schemars(length(min = 1))]
    pub server: String,
    /// Secret with keys `username` and `password`. The account needs the permissions for datastore discovery (a read-only account cannot see datastores during reprotect).
    pub credentials_secret_ref: SecretReference,
    /// TLS verification settings.
    #[serde(default)]
    pub tls: VcenterTls,
}

/// Values used by every machine of the policy unless the machine overrides them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct MachineDefaults {
    /// Name of the `MasterTarget` (same namespace) that receives failback data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_target_ref: Option<String>,
    /// Process server, by friendly name or ASR id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_server: Option<String>,
    /// Datastore to recover disks to (VMFS or vSAN). Required by Azure even when the disks already exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datastore: Option<String>,
    /// Retention volume on the master target; defaults from the master target's OS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_volume: Option<String>,
    /// Run-as account (name or id) the configuration server uses to push the mobility agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_account: Option<String>,
}

/// The failback policy Azure creates automatically; the controller verifies it and never edits it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailbackPolicyExpectation {
    /// Expected RPO threshold in minutes (Azure's auto-created value: 15).
    #[serde(default = "d15")]
    #[schemars(range(min = 1))]
    pub rpo_threshold_minutes: i32,
    /// Expected recovery point retention in hours (Azure's auto-created value: 24).
    #[serde(default = "d24")]
    #[schemars(range(min = 1))]
    pub recovery_point_retention_hours: i32,
    /// Expected app-consistent snapshot frequency in minutes (Azure's auto-created value: 60).
    #[serde(default = "d60")]
    #[schemars(range(min = 1))]
    pub app_consistent_frequency_minutes: i32,
}

fn d15() -> i32 {
    15
}
fn d24() -> i32 {
    24
}
fn d60() -> i32 {
    60
}

impl Default for FailbackPolicyExpectation {
    fn default() -> Self {
        Self { rpo_threshold_minutes: 15, recovery_point_retention_hours: 24, app_consistent_frequency_minutes: 60 }
    }
}

/// Bounds of the requeue backoff used while waiting or after transient faults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryBounds {
    /// First retry delay, e.g. `10s`.
    #[serde(default = "default_initial_backoff")]
    #[x_kube(validation = Rule::new("self.matches('^([0-9]+(ms|s|m|h))+$')").message("initialBackoff must be a positive duration such as 10s"))]
    #[x_kube(validation = Rule::new("self.matches('^([0-9]+(ms|s|m|h))+$') && duration(self) <= duration('1h')").message("initialBackoff must be at most 1h"))]
    #[schemars(length(max = 32))]
    pub initial_backoff: String,
    /// Largest retry delay, e.g. `5m`.
    #[serde(default = "default_max_backoff")]
    #[x_kube(validation = Rule::new("self.matches('^([0-9]+(ms|s|m|h))+$')").message("maxBackoff must be a positive duration such as 5m"))]
    #[x_kube(validation = Rule::new("self.matches('^([0-9]+(ms|s|m|h))+$') && duration(self) <= duration('24h')").message("maxBackoff must be at most 24h"))]
    #[schemars(length(max = 32))]
    pub max_backoff: String,
    /// Reprotect submissions per failover when ASR fails them because the mobility agent had not
    /// registered yet: retried automatically once the agent registers, at most this many times in all.
    #[serde(default = "default_max_attempts")]
    #[schemars(range(min = 1, max = 10))]
    pub max_attempts: u32,
}

fn default_max_attempts() -> u32 {
    3
}

fn default_initial_backoff() -> String {
    "10s".into()
}
fn default_max_backoff() -> String {
    "5m".into()
}

impl RetryBounds {
    /// (initial, max) delays; `None` when either does not parse (the schema makes that unlikely).
    pub fn parse(&self) -> Option<(std::time::Duration, std::time::Duration)> {
        let d = |s: &str| s.parse::<jiff::SignedDuration>().ok().and_then(|d| std::time::Duration::try_from(d).ok());
        let (initial, max) = (d(&self.initial_backoff)?, d(&self.max_backoff)?);
        Some((initial, max.max(initial)))
    }
}

impl Default for RetryBounds {
    fn default() -> Self {
        Self { initial_backoff: default_initial_backoff(), max_backoff: default_max_backoff(), max_attempts: default_max_attempts() }
    }
}

/// Network facts the controller cannot observe but uses for advice.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkHints {
    /// How Azure reaches the on-premises site. Reprotect needs a site-to-site VPN or ExpressRoute private peering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connectivity: Option<Connectivity>,
    /// Where the failback process server runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_server_location: Option<ProcessServerLocation>,
}

/// Reprotect a set of failed-over VMware machines from Azure back to the on-premises site.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "reprotect.io",
    version = "v1alpha1",
    kind = "ReprotectPolicy",
    namespaced,
    status = "ReprotectPolicyStatus",
    shortname = "rpp",
    category = "reprotect",
    cel,
    printcolumn = r#"{"name":"Mode","type":"string","jsonPath":".spec.mode"}"#,
    printcolumn = r#"{"name":"Machines","type":"integer","jsonPath":".status.machines.total"}"#,
    printcolumn = r#"{"name":"Protected","type":"integer","jsonPath":".status.machines.protected"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ReprotectPolicySpec {
    /// Desired replication direction; only `AzureToOnPremises` in v1alpha1.
    #[serde(default)]
    pub direction: Direction,
    /// Site Recovery vault and configuration server.
    pub site_recovery: SiteRecoveryTarget,
    /// vCenter managing the on-premises site (master targets and failback VMs).
    pub vcenter: VcenterConnection,
    /// Defaults for every machine of this policy.
    #[serde(default)]
    pub defaults: MachineDefaults,
    /// The failback policy values to verify.
    #[serde(default)]
    pub failback_policy: FailbackPolicyExpectation,
    /// How long after failover the mobility agent may take to register back with the configuration server (default 15m).
    #[serde(default = "default_window")]
    #[x_kube(validation = Rule::new("self.matches('^([0-9]+(ms|s|m|h))+$')").message("agentRegistrationWindow must be a positive duration such as 15m"))]
    #[x_kube(validation = Rule::new("self.matches('^([0-9]+(ms|s|m|h))+$') && duration(self) <= duration('24h')").message("agentRegistrationWindow must be at most 24h (the document's window is 15m)"))]
    #[schemars(length(max = 32))]
    pub agent_registration_window: String,
    /// Retry bounds.
    #[serde(default)]
    pub retry: RetryBounds,
    /// `Apply` acts; `Plan` only reports planned actions.
    #[serde(default)]
    pub mode: Mode,
    /// Stop all actions for this policy's machines (also: annotation `reprotect.io/paused: "true"`).
    #[serde(default)]
    pub paused: bool,
    /// Turn the on-premises VM off before reprotect and keep it off while protected (the source document requires it).
    #[serde(default = "default_true")]
    pub power_off_on_premises_vm: bool,
    /// Reprotect a replication group even when Site Recovery has members that no ProtectedMachine declares: they
    /// are left out, without a common point in time with the rest, and `group-complete` warns instead of blocking.
    #[serde(default)]
    pub allow_partial_groups: bool,
    /// Network facts used for advice (process server placement).
    #[serde(default)]
    pub network: NetworkHints,
}

fn default_window() -> String {
    "15m".into()
}
fn default_true() -> bool {
    true
}

/// Machines of the policy by phase.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhaseCounts {
    /// All machines referencing this policy.
    pub total: u32,
    /// Machines in `Pending` or `Validating`.
    pub pending: u32,
    /// Machines waiting for failover.
    pub waiting_for_failover: u32,
    /// Machines waiting for the mobility agent to register.
    pub waiting_for_agent: u32,
    /// Machines with a reprotect job running.
    pub reprotecting: u32,
    /// Machines protected in the desired direction.
    pub protected: u32,
    /// Machines blocked by a failing check or job.
    pub blocked: u32,
    /// Machines paused.
    pub paused: u32,
    /// Machines on the way home (failing back, committing, waiting for the forward agent, reprotecting to Azure).
    #[serde(default)]
    pub failing_back: u32,
    /// Machines running on-premises and protected to Azure again.
    #[serde(default)]
    pub protected_to_azure: u32,
}

/// Progress of one replication group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupSummary {
    /// Replication group name.
    pub name: String,
    /// Number of members.
    pub members: u32,
    /// Members protected.
    pub protected: u32,
    /// Members blocked.
    pub blocked: u32,
}

/// Observed state of a ReprotectPolicy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReprotectPolicyStatus {
    /// Generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Reconciling`, `Stalled`, `AzureConnected`, `VCenterConnected`.
    #[serde(default)]
    pub conditions: Conditions,
    /// Machines by phase.
    #[serde(default)]
    pub machines: PhaseCounts,
    /// Replication groups and their progress.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupSummary>,
}
