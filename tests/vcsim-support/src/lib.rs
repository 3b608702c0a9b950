//! Test support: start vcsim over real TLS with a generated CA ([`Vcsim`]) and shape its inventory
//! through the vSphere API with vim_rs ([`Scenario`]).
//!
//! Binary lookup: `$REPROTECT_TOOLS_BIN/vcsim` (a directory), else the last stdout line of
//! `tests/tools/build.sh` (the shared tools cache), else the test fails loudly.

mod certs;
mod process;
mod scenario;
mod spec;

pub use certs::TestCa;
pub use process::{Vcsim, tools_bin_dir};
pub use scenario::{Scenario, ScenarioError};
pub use spec::{DiskSpec, ScsiKind, ToolsState, VmSpec, uuid_for};
