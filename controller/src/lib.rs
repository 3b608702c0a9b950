//! reprotect-controller: declarative Azure Site Recovery reprotect for VMware VMs failed over to Azure.
//!
//! Layout: `crd` (API types, one file per kind), `preflight` (pure prerequisite rules),
//! `machine` (the pure state machine), `conditions` (pure condition merging), `reconcile`
//! (one reconciler per kind: observe, decide, act, write status), `metrics`, `http`, `cli`.

pub mod cache;
pub mod cli;
pub mod conditions;
pub mod connections;
pub mod connectors;
pub mod context;
pub mod crd;
pub mod error;
pub mod http;
pub mod leader;
pub mod machine;
pub mod metrics;
pub mod preflight;
pub mod reconcile;
pub mod run;
