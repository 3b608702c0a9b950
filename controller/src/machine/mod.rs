//! The ProtectedMachine state machine: pure inputs, the `decide` function, and what it asks the reconciler to do.

pub mod decide;
#[cfg(test)]
mod decide_tests;

pub use decide::*;
