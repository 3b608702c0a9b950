//! What an object gives back before a reflector store or a controller's queue keeps it: the spare places serde
//! left in its lists, and the uid and resource version a queued reference does not need.

use kube::runtime::reflector::ObjectRef;

use super::{MasterTarget, ProtectedMachine, ReprotectPolicy};

/// The object's reference as the controllers' queues, wakes and indexes keep it: name and namespace only.
/// `ObjectRef` equality and hashing ignore its uid and resource version, so the reference finds the same object;
/// kube-runtime's scheduler keeps two copies of every requeued reference (its map and its delay queue), and at
/// 10,000 settled machines those two strings were ~1.6 MiB of them (issue 13).
pub fn queue_ref<K: kube::Resource<DynamicType = ()>>(obj: &K) -> ObjectRef<K> {
    let mut key = ObjectRef::from_obj(obj);
    key.extra = Default::default();
    key
}

/// `obj` as a controller's trigger takes it: the controller queues `ObjectRef::from_obj` of what its trigger
/// yields, so an object without uid and resource version is queued as [`queue_ref`] would. Only for the trigger,
/// after the store and the predicate filter (which keys on the uid) have seen the object whole.
pub fn without_version<K: kube::Resource>(mut obj: K) -> K {
    obj.meta_mut().uid = None;
    obj.meta_mut().resource_version = None;
    obj
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{JobStatus, ProtectedMachineSpec, ProtectedMachineStatus};
    use std::mem::size_of;

    /// The reflector store holds every machine inline (in an `Arc`) for as long as the controller runs: at 10,000
    /// machines each byte here is ~10 KB of heap (issue 13). A field that grows a stored machine should be a choice.
    #[test]
    fn a_stored_machine_stays_within_the_inline_size_the_scale_bench_was_measured_with() {
        let sizes = [
            ("ProtectedMachine", size_of::<ProtectedMachine>(), 896),
            ("ProtectedMachineSpec", size_of::<ProtectedMachineSpec>(), 176),
            ("ProtectedMachineStatus", size_of::<ProtectedMachineStatus>(), 360),
            ("JobStatus", size_of::<JobStatus>(), 104),
        ];
        let over: Vec<String> = sizes
            .iter()
            .filter(|(_, size, budget)| size > budget)
            .map(|(name, size, budget)| format!("{name} is {size} bytes inline, over its budget of {budget}"))
            .collect();
        assert!(over.is_empty(), "{over:#?}");
    }
}
