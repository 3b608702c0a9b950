//! Custom resource types of the `reprotect.io/v1alpha1` API: one file per kind plus shared pieces.

pub mod check_status;
pub mod common;
pub mod machine;
pub mod master_target;
pub mod policy;
pub mod status_condition;
pub mod stored;

pub use check_status::{CheckEntry, CheckIdList, CheckStatus};
pub use common::*;
pub use machine::*;
pub use master_target::*;
pub use policy::*;
pub use reprotect_facts::SharedText;
pub use status_condition::{ConditionShape, StatusCondition};
pub use stored::{ShrinkToFit, queue_ref, without_version};

use kube::CustomResourceExt;

/// API group of every kind.
pub const GROUP: &str = "reprotect.io";

/// Every CRD of the API, in a stable order, rendered as one multi-document YAML stream.
// The CRDs are generated from our own types at build time, not from input: serialising them cannot fail.
#[allow(clippy::expect_used)]
pub fn all_crds_yaml() -> String {
    [ReprotectPolicy::crd(), MasterTarget::crd(), ProtectedMachine::crd()]
        .iter()
        .map(|crd| serde_saphyr::to_string(crd).expect("CRDs serialize to YAML"))
        .collect::<Vec<_>>()
        .join("---\n")
}

/// The committed file name for each CRD (`crds/<plural>.<group>.yaml`).
#[allow(clippy::expect_used)] // as above
pub fn crd_files() -> Vec<(String, String)> {
    [ReprotectPolicy::crd(), MasterTarget::crd(), ProtectedMachine::crd()]
        .into_iter()
        .map(|crd| {
            let name = crd.metadata.name.clone().unwrap_or_default();
            (format!("{name}.yaml"), serde_saphyr::to_string(&crd).expect("CRDs serialize to YAML"))
        })
        .collect()
}
