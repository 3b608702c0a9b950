//! Types shared by the three kinds: references, OS type, conditions and status helpers.

use super::StatusCondition;
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Operating system family of a machine or master target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum OsType {
    /// Windows: needs a Windows master target; default retention volume `R:`.
    Windows,
    /// Linux: needs a Linux master target; default retention volume `/mnt/retention`.
    Linux,
}

impl std::fmt::Display for OsType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OsType::Windows => "Windows",
            OsType::Linux => "Linux",
        })
    }
}

/// A reference to a key of a Secret in the object's namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretReference {
    /// Name of the Secret, in the same namespace as the object that references it.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// A reference to a key of a Secret or ConfigMap holding a PEM CA bundle.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.secretName) != has(self.configMapName)").message("set exactly one of secretName or configMapName"))]
pub struct CaBundleReference {
    /// Secret holding the CA bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// ConfigMap holding the CA bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_name: Option<String>,
    /// Key in the Secret or ConfigMap; defaults to `ca.crt`.
    #[serde(default = "default_ca_key")]
    pub key: String,
}

fn default_ca_key() -> String {
    "ca.crt".into()
}

/// Annotation that pauses any of the three kinds when set to `"true"`.
pub const PAUSED_ANNOTATION: &str = "reprotect.io/paused";

/// Whether an object carries `reprotect.io/paused: "true"`.
pub fn paused_by_annotation(meta: &kube::api::ObjectMeta) -> bool {
    meta.annotations.as_ref().and_then(|a| a.get(PAUSED_ANNOTATION)).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Condition types every kind reports (kstatus-compatible).
pub mod condition_types {
    /// The object has reached its desired state.
    pub const READY: &str = "Ready";
    /// The controller is working towards the desired state.
    pub const RECONCILING: &str = "Reconciling";
    /// The controller cannot make progress without a change from a person.
    pub const STALLED: &str = "Stalled";
    /// All preflight checks pass.
    pub const PREFLIGHT_PASSED: &str = "PreflightPassed";
    /// Replication health is degraded after protection.
    pub const DEGRADED: &str = "Degraded";
    /// A watchdog found something that will make failback fail.
    pub const FAILBACK_AT_RISK: &str = "FailbackAtRisk";
    /// Azure connection usable (policy).
    pub const AZURE_CONNECTED: &str = "AzureConnected";
    /// vCenter connection usable (policy).
    pub const VCENTER_CONNECTED: &str = "VCenterConnected";
    /// A warning, True while the policy turns TLS verification off (`vcenter.tls.insecureSkipVerify`).
    pub const INSECURE_TLS: &str = "InsecureTls";
}

/// Conditions list as stored in status: standard `metav1.Condition` (texts interned), merged by `type`.
pub type Conditions = Vec<StatusCondition>;
