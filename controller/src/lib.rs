//! reprotect-controller: declarative Azure Site Recovery reprotect for VMware VMs failed over to Azure.
//!
//! Layout: `crd` (API types, one file per kind), `preflight` (pure prerequisite rules),
//! `lifecycle` (the pure ProtectedMachine state machine), `conditions` (pure condition building),
//! `reasons` (condition and event reasons), `reconcile` (one reconciler per kind: look up, connect,
//! observe, evaluate, decide, act, build status, apply), `machine_wakes` (the machines' queue of
//! wakes and timed rechecks, in front of kube-runtime's scheduler), `metrics`, `http`, `cli`, `check`
//! (the read-only `check` subcommand). Per-vault reads are cached by the Site Recovery client.

// Errors keep the ASR error body (code, causes, recommended action) by value on purpose so the
// controller can classify and report it; reconciles are not a hot path.
#![allow(clippy::result_large_err, clippy::large_enum_variant)]

pub mod allocator;
pub mod check;
pub mod claim_index;
pub mod cli;
pub mod conditions;
pub mod connections;
pub mod connectors;
pub mod context;
pub mod crd;
pub mod error;
pub mod event_recorder;
pub mod http;
pub mod kube_client;
pub mod kubectl;
pub mod leader;
pub mod lifecycle;
pub(crate) mod machine_key;
pub mod machine_wakes;
pub mod metrics;
pub mod preflight;
pub mod reasons;
pub mod reconcile;
pub mod run;
pub mod store_feed;
#[cfg(test)]
pub(crate) mod testing;
