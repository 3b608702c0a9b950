//! Preflight tests.
