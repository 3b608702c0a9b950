//! Text that thousands of observations and statuses repeat, kept once in memory.

use std::{fmt, ops::Deref};

use internment::ArcIntern;
use serde::{Deserialize, Serialize};

/// A text many machines share: in a status (a check's id, severity and outcome, the same observation of the same
/// configuration server) and in what Azure lists (an item's protection state, policy, process server; a job's
/// scenario and task names). Interned (internment's `ArcIntern`), so the reflector store and the cached vault
/// lists hold one copy for all machines instead of one each. At 10,000 machines those copies were most of the
/// heap (issue 13). On the wire and in the schema it is a plain string.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SharedText(ArcIntern<String>);

impl SharedText {
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// For `skip_serializing_if`.
    pub fn is_empty_text(&self) -> bool {
        self.0.is_empty()
    }
}

impl Deref for SharedText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for SharedText {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for SharedText {
    fn from(s: String) -> Self {
        SharedText(ArcIntern::new(s))
    }
}

impl From<&str> for SharedText {
    fn from(s: &str) -> Self {
        SharedText(ArcIntern::from_ref(s))
    }
}

impl From<SharedText> for String {
    fn from(s: SharedText) -> Self {
        s.as_str().to_string()
    }
}

impl PartialEq<str> for SharedText {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for SharedText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for SharedText {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl fmt::Display for SharedText {
    // Through `str`'s own Display, so width and alignment (`{:<6}`) apply as they do to a `String`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl fmt::Debug for SharedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

// In the CRDs' schemas it is what it is on the wire: a string.
crate::schema_as!(SharedText => String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_in_two_statuses_is_one_allocation_and_still_a_plain_string_on_the_wire() {
        let a: SharedText = serde_json::from_str("\"configuration server cs-01 sent a heartbeat\"").unwrap();
        let b: SharedText = serde_json::from_str("\"configuration server cs-01 sent a heartbeat\"").unwrap();
        assert!(std::ptr::eq(a.as_str(), b.as_str()), "two deserialized copies share one text");
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"configuration server cs-01 sent a heartbeat\"");
        let other: SharedText = "vm-0002 is protected item vm-0002".into();
        assert!(!std::ptr::eq(a.as_str(), other.as_str()));
        assert_eq!(a, "configuration server cs-01 sent a heartbeat");
    }

    #[test]
    fn a_shared_text_pads_in_a_table_column_as_a_string_does() {
        let text: SharedText = "True".into();
        assert_eq!(format!("[{text:<6}]"), "[True  ]");
        assert_eq!(format!("[{text:>6}]"), format!("[{:>6}]", "True"));
    }
}
