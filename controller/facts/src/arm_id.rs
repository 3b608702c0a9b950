//! An ARM resource id kept as its parent's path, interned, and its own last segment.

use std::{borrow::Cow, fmt};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::SharedText;

/// An ARM id as the cached vault lists and the stored statuses keep it. The thousand items of a protection
/// container share everything up to their own name (`/subscriptions/…/replicationProtectedItems/`, ~220 bytes), so
/// that part is a [`SharedText`] and each id holds only its last segment: 10,000 items' ids, their jobs' targets and
/// the stored statuses' copies were ~250 bytes each (issue 13: 64 MiB at 10,000 machines). The text is kept exactly
/// as Azure spelled it (case included); on the wire and in a schema it is a plain string.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct ArmId {
    /// Everything up to and including the last `/` (empty for an id without one).
    parent: SharedText,
    leaf: Box<str>,
}

impl ArmId {
    pub fn new(id: &str) -> Self {
        let split = id.rfind('/').map_or(0, |i| i + 1);
        ArmId { parent: SharedText::from(&id[..split]), leaf: id[split..].into() }
    }

    /// The whole id (borrowed when it has no parent).
    pub fn text(&self) -> Cow<'_, str> {
        match self.parent.is_empty() {
            true => Cow::Borrowed(&self.leaf),
            false => Cow::Owned(format!("{}{}", self.parent.as_str(), self.leaf)),
        }
    }

    /// The same resource as `other` (an id in any case, with or without a trailing `/`: [`crate::same_arm_id`]).
    pub fn same_as(&self, other: &str) -> bool {
        crate::same_arm_id(&self.text(), other)
    }

    /// The resource's name, its last segment ([`crate::arm_name`]).
    pub fn name(&self) -> Cow<'_, str> {
        match self.leaf.is_empty() {
            false => Cow::Borrowed(&self.leaf),
            true => Cow::Owned(crate::arm_name(&self.text()).to_string()),
        }
    }

    /// The same id in any case, compared without assembling either text (a first cut over every stored machine).
    pub fn eq_ignore_ascii_case(&self, other: &ArmId) -> bool {
        self.parent.len() + self.leaf.len() == other.parent.len() + other.leaf.len()
            && self.bytes().zip(other.bytes()).all(|(a, b)| a.eq_ignore_ascii_case(&b))
    }

    /// Its bytes in order, without assembling the text.
    pub fn bytes(&self) -> impl Iterator<Item = u8> + '_ {
        self.parent.bytes().chain(self.leaf.bytes())
    }
}

impl From<&str> for ArmId {
    fn from(id: &str) -> Self {
        ArmId::new(id)
    }
}

impl From<String> for ArmId {
    fn from(id: String) -> Self {
        ArmId::new(&id)
    }
}

impl PartialEq<str> for ArmId {
    fn eq(&self, other: &str) -> bool {
        other.len() == self.parent.len() + self.leaf.len() && other.starts_with(self.parent.as_str()) && other.ends_with(&*self.leaf)
    }
}

impl PartialEq<&str> for ArmId {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

impl fmt::Display for ArmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.text())
    }
}

impl fmt::Debug for ArmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.text(), f)
    }
}

impl Serialize for ArmId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text())
    }
}

impl<'de> Deserialize<'de> for ArmId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Cow::<'de, str>::deserialize(deserializer).map(|id| ArmId::new(&id))
    }
}

crate::schema_as!(ArmId => String);

#[cfg(test)]
mod tests {
    use super::*;

    const ITEM: &str = "/Subscriptions/s1/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/replicationFabrics/f/replicationProtectionContainers/c/replicationProtectedItems/vm-0001";

    #[test]
    fn an_id_reads_and_writes_exactly_as_azure_spelled_it_and_items_of_one_container_share_its_path() {
        let a = ArmId::new(ITEM);
        assert_eq!(a.text(), ITEM);
        assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{ITEM}\""));
        let b: ArmId = serde_json::from_str(&format!("\"{}\"", ITEM.replace("vm-0001", "vm-0002"))).unwrap();
        assert!(std::ptr::eq(a.parent.as_str(), b.parent.as_str()), "one copy of the container's path");
        assert_ne!(a, b);
        assert!(a == ITEM && a != ITEM.to_lowercase().as_str() && a != ITEM[1..]);
        assert_eq!(a.bytes().collect::<Vec<u8>>(), ITEM.as_bytes());
        assert_eq!(format!("{a}"), ITEM);
        assert!(a.same_as(&ITEM.to_uppercase()) && a.same_as(&format!("{ITEM}/")) && !b.same_as(ITEM));
        assert_eq!((a.name(), ArmId::new("x/vm-1/").name()), ("vm-0001".into(), "vm-1".into()));
        let upper = ArmId::new(&ITEM.to_uppercase());
        assert!(a.eq_ignore_ascii_case(&upper) && !a.eq_ignore_ascii_case(&b) && !a.eq_ignore_ascii_case(&ArmId::new(&ITEM[1..])));
    }

    #[test]
    fn an_id_without_a_slash_or_empty_is_kept_whole() {
        for id in ["vm-0001", "", "/", "/x", "x/"] {
            let a = ArmId::new(id);
            assert_eq!((a.text().as_ref(), a == id), (id, true), "{id:?}");
            assert_eq!(serde_json::from_str::<ArmId>(&serde_json::to_string(&a).unwrap()).unwrap(), a);
        }
    }
}
