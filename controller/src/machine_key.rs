//! A ProtectedMachine as the controller's own indexes and queues name it: its namespace and name, nothing else.

use kube::runtime::reflector::ObjectRef;
use reprotect_facts::SharedText;

use crate::crd::ProtectedMachine;

/// A machine as the claim index and the wake queue hold it: its namespace (one interned copy for all its machines)
/// and name. An `ObjectRef` is 96 bytes and two strings of its own, and these are kept for every machine (issue 13).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct MachineKey {
    namespace: Option<SharedText>,
    name: Box<str>,
}

impl MachineKey {
    pub(crate) fn of(pm: &ProtectedMachine) -> Self {
        Self::named(pm.metadata.namespace.as_deref(), pm.metadata.name.as_deref().unwrap_or_default())
    }

    pub(crate) fn of_ref(r: &ObjectRef<ProtectedMachine>) -> Self {
        Self::named(r.namespace.as_deref(), &r.name)
    }

    fn named(namespace: Option<&str>, name: &str) -> Self {
        MachineKey { namespace: namespace.map(SharedText::from), name: name.into() }
    }

    /// The reference a controller's queue and store look the machine up by (no uid or resource version: their
    /// equality and hashing ignore them).
    pub(crate) fn object_ref(&self) -> ObjectRef<ProtectedMachine> {
        let r = ObjectRef::new(&self.name);
        match &self.namespace {
            Some(ns) => r.within(ns),
            None => r,
        }
    }
}
