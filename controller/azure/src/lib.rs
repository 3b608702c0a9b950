//! Azure Site Recovery over Azure Resource Manager: the `SiteRecovery` implementation used by the reprotect controller.
//!
//! * [`ArmClient`] implements [`reprotect_facts::SiteRecovery`] with reqwest and azure_identity.
//! * [`ArmClientPool`] hands out one client per (cloud, identity, credentials version).
//! * Retries use backon (5xx/connection faults: capped exponential backoff with jitter; 429:
//!   `Retry-After`; 4xx: never; the reprotect POST is never resent once it may have been sent).
//! * A per-subscription token bucket ([`BudgetConfig`]) and a short-lived single-flight fabric
//!   cache keep thousands of machines in one vault cheap.

// `SiteRecoveryError` (owned by reprotect-facts) is large; boxing it is the lead's call.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod budget;
pub mod cache;
pub mod client;
pub mod cloud;
pub mod config;
pub mod http;
pub mod mapping;
pub mod models;
pub mod pool;

pub use auth::{AzureAuth, SecretString, UserAssigned};
pub use budget::{BudgetConfig, Budgets, TokenBucket};
pub use client::ArmClient;
pub use cloud::{AzureCloud, CloudConfig, DEFAULT_API_VERSION};
pub use config::ArmClientConfig;
pub use http::{RequestObserver, RequestStats, RetryConfig};
pub use pool::ArmClientPool;

#[cfg(test)]
mod tests;
