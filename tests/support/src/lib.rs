//! Test support for reprotect-controller: pinned Go tools and a real control plane.
//!
//! * [`tools_bin_dir`] builds (once, cached outside the clone) kube-apiserver, kubectl, etcd,
//!   helm, kubeconform, vcsim, vcsim-ext and kstatus-check via `tests/tools/build.sh`.
//! * [`ControlPlane::start`] runs etcd + kube-apiserver (RBAC, service-account tokens) on free
//!   loopback ports; [`shared`] gives one per test binary, shared by its tests and killed at exit.
//! * [`test_namespace`] makes a throwaway namespace that dumps diagnostics if the test panics.
//! * [`install_crds`], [`ControlPlane::kubectl`], [`ControlPlane::helm`],
//!   [`ControlPlane::client_as_service_account`].
//! * [`CountingServer`]: a local HTTP server counting the connections a client opens and keeps (pool tests).
//!
//! Each `#[tokio::test]` has its own runtime, so clients are never shared across tests:
//! [`ControlPlane::client`] builds a fresh `kube::Client` on the caller's runtime.

mod certs;
mod control_plane;
mod counting_server;
mod crds;
mod process;
mod shared;
mod tools;

pub use control_plane::{CmdOutput, ControlPlane};
pub use counting_server::CountingServer;
pub use crds::{install_crds, parse_yaml_docs};
pub use shared::{TestNamespace, client, shared, test_namespace};
pub use tools::{tool_path, tools_bin_dir};
