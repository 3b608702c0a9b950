//! Which ProtectedMachines name which protected item, kept current from the machines' watch events, so a pass finds
//! the few machines that may claim its item (`item-owner`) without reading every machine of every scope. At 10,000
//! machines that scan (a cache miss and a string comparison per machine, on every pass) was 58% of the controller's
//! CPU (perf, issue 13).
//!
//! The index is a first cut, never the answer: it may name a machine that no longer claims the item (the caller
//! reads the machine from the store and applies `lifecycle::owner::may_claim`), and it names every machine whose
//! last watch event claimed it, as the store holds them.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, MutexGuard},
};

use kube::runtime::{reflector::ObjectRef, watcher::Event};
use reprotect_facts::{ProtectedItemFacts, hash_ignoring_case};
use smallvec::SmallVec;

use crate::crd::ProtectedMachine;
use crate::machine_key::MachineKey;

/// A claim: the hash of a tag and a lower-case item id, item name or friendly name (equal texts, whatever their case,
/// give equal claims; a collision only adds a machine the caller then rules out).
type Claim = u64;

/// The claims of one machine's scope (one per controller set, as its store).
#[derive(Clone, Default)]
pub struct ClaimIndex(Arc<Mutex<Index>>);

#[derive(Default)]
struct Index {
    /// The machines of each claim: almost always one, kept in place.
    by_claim: HashMap<Claim, SmallVec<[Arc<MachineKey>; 1]>>,
    claims_of: HashMap<Arc<MachineKey>, [Option<Claim>; 2]>,
    /// During a relist: the machines it listed so far (the others are gone once it is done).
    relisted: Option<HashSet<Arc<MachineKey>>>,
}

fn claim(tag: u8, text: &str) -> Claim {
    hash_ignoring_case(tag, text.bytes())
}

const ITEM_ID: u8 = b'i';
const ITEM_NAME: u8 = b'n';
const FRIENDLY_NAME: u8 = b'f';

/// What `pm` claims, as `lifecycle::owner::may_claim` reads it: the item id its status recorded, and its declared
/// item name (or, without one, its friendly name).
fn claims(pm: &ProtectedMachine) -> [Option<Claim>; 2] {
    let id = pm.status.as_ref().and_then(|s| s.protected_item_id.as_ref()).map(|id| hash_ignoring_case(ITEM_ID, id.bytes()));
    let name = match (&pm.spec.item.name, &pm.spec.item.friendly_name) {
        (Some(name), _) => Some(claim(ITEM_NAME, name)),
        (None, friendly) => friendly.as_deref().map(|f| claim(FRIENDLY_NAME, f)),
    };
    [id, name]
}

impl ClaimIndex {
    fn index(&self) -> MutexGuard<'_, Index> {
        // A poisoned lock only means a panic elsewhere while updating: the index is a first cut, still usable.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Follow one event of the machines' watch (the same events their store follows).
    pub fn apply(&self, event: &Event<ProtectedMachine>) {
        let mut index = self.index();
        match event {
            Event::Apply(pm) => {
                index.set(pm);
            }
            Event::Delete(pm) => index.remove(&MachineKey::of(pm)),
            Event::Init => index.relisted = Some(HashSet::new()),
            Event::InitApply(pm) => {
                let key = index.set(pm);
                if let Some(relisted) = index.relisted.as_mut() {
                    relisted.insert(key);
                }
            }
            Event::InitDone => {
                if let Some(relisted) = index.relisted.take() {
                    let gone: Vec<_> = index.claims_of.keys().filter(|k| !relisted.contains(*k)).cloned().collect();
                    for key in gone {
                        index.remove(&key);
                    }
                }
            }
        }
    }

    /// The machines that may claim `item`: those whose recorded item id, item name or friendly name is the item's.
    pub fn naming(&self, item: &ProtectedItemFacts) -> Vec<ObjectRef<ProtectedMachine>> {
        let wanted = [
            Some(hash_ignoring_case(ITEM_ID, item.id.bytes())),
            Some(claim(ITEM_NAME, &item.name)),
            item.friendly_name.as_deref().map(|f| claim(FRIENDLY_NAME, f)),
        ];
        let index = self.index();
        let mut found: Vec<&Arc<MachineKey>> = Vec::new();
        for keys in wanted.into_iter().flatten().filter_map(|c| index.by_claim.get(&c)) {
            for key in keys {
                if !found.contains(&key) {
                    found.push(key);
                }
            }
        }
        found.into_iter().map(|key| key.object_ref()).collect()
    }

    /// How many machines the index holds (tests).
    #[cfg(test)]
    pub fn indexed(&self) -> usize {
        self.index().claims_of.len()
    }
}

impl Index {
    fn set(&mut self, pm: &ProtectedMachine) -> Arc<MachineKey> {
        let key = MachineKey::of(pm);
        let claims = claims(pm);
        if let Some((known, before)) = self.claims_of.get_key_value(&key)
            && *before == claims
        {
            return known.clone();
        }
        self.remove(&key);
        let key = Arc::new(key);
        for c in claims.into_iter().flatten() {
            let refs = self.by_claim.entry(c).or_default();
            if !refs.contains(&key) {
                refs.push(key.clone());
            }
        }
        self.claims_of.insert(key.clone(), claims);
        key
    }

    fn remove(&mut self, key: &MachineKey) {
        let Some((key, claims)) = self.claims_of.remove_entry(key) else { return };
        for c in claims.into_iter().flatten() {
            if let Some(refs) = self.by_claim.get_mut(&c) {
                refs.retain(|r| r != &key);
                if refs.is_empty() {
                    self.by_claim.remove(&c);
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "claim_index_tests.rs"]
mod tests;
