//! The ProtectedMachine lifecycle (pure): inputs, `decide`, the one action it asks for, and `after_act` folding in what that action found.

pub mod decide;
#[cfg(test)]
mod decide_props;
#[cfg(test)]
mod decide_tests;
pub mod failback;
#[cfg(test)]
mod failback_tests;
pub mod owner;

pub use decide::*;
