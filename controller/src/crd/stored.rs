//! What an object gives back before a reflector store keeps it: the spare places serde left in its lists.

use super::{MasterTarget, ProtectedMachine, ReprotectPolicy};

/// A list deserialized from JSON grows by doubling (46 checks: 64 places of 8 bytes; 6 conditions: 8 of 64), and a
/// store keeps each object until it changes: at 10,000 machines the spare places were ~3 MiB (issue 13).
pub trait ShrinkToFit {
    /// Drop the spare capacity of every list the object holds.
    fn shrink_to_fit(&mut self);
}

impl ShrinkToFit for ProtectedMachine {
    fn shrink_to_fit(&mut self) {
        let Some(status) = self.status.as_mut() else { return };
        status.conditions.shrink_to_fit();
        status.checks.shrink_to_fit();
        status.planned_actions.shrink_to_fit();
        status.recorded_master_target_datastores.shrink_to_fit();
    }
}

impl ShrinkToFit for MasterTarget {
    fn shrink_to_fit(&mut self) {
        let Some(status) = self.status.as_mut() else { return };
        status.conditions.shrink_to_fit();
        status.checks.shrink_to_fit();
        status.retention_volumes.shrink_to_fit();
        status.datastores.shrink_to_fit();
    }
}

impl ShrinkToFit for ReprotectPolicy {
    fn shrink_to_fit(&mut self) {
        let Some(status) = self.status.as_mut() else { return };
        status.conditions.shrink_to_fit();
        status.groups.shrink_to_fit();
    }
}
