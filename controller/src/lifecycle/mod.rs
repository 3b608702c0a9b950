//! The ProtectedMachine lifecycle (pure): inputs, `decide`, the one action it asks for, and `after_act` folding in what that action found.

pub mod decide;
mod decide_after_act;
mod decide_input;
mod decide_job;
#[cfg(test)]
mod decide_props;
mod decide_protected;
#[cfg(test)]
mod decide_tests;
pub mod failback;
mod failback_after_act;
mod failback_input;
mod failback_job;
mod failback_steps;
#[cfg(test)]
mod failback_tests;
pub mod owner;

pub use decide::*;
