//! A list of texts that many machines or items repeat whole, kept once in memory.

use std::{fmt, ops::Deref};

use internment::ArcIntern;
use serde::{Deserialize, Serialize};

use crate::SharedText;

/// A list of [`SharedText`] interned whole (internment's `ArcIntern`): the machines or items that hold the same
/// list (the ids of the checks that passed, the master target's datastores recorded at reprotect time, an item's
/// allowed operations) share one copy and each holds one pointer, where a `Vec` cost 24 bytes inline and its own
/// allocation each (issue 13: 64 MiB at 10,000 machines). On the wire and in the schema a list of strings.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SharedTextList(ArcIntern<Vec<SharedText>>);

impl SharedTextList {
    /// For `skip_serializing_if`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Default for SharedTextList {
    fn default() -> Self {
        SharedTextList(ArcIntern::new(Vec::new()))
    }
}

impl Deref for SharedTextList {
    type Target = [SharedText];
    fn deref(&self) -> &[SharedText] {
        &self.0
    }
}

impl<T: Into<SharedText>> FromIterator<T> for SharedTextList {
    fn from_iter<I: IntoIterator<Item = T>>(texts: I) -> Self {
        SharedTextList(ArcIntern::new(texts.into_iter().map(Into::into).collect()))
    }
}

impl<T: Into<SharedText>> From<Vec<T>> for SharedTextList {
    fn from(texts: Vec<T>) -> Self {
        texts.into_iter().collect()
    }
}

impl fmt::Debug for SharedTextList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.deref(), f)
    }
}

crate::schema_as!(SharedTextList => Vec<String>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_holders_of_the_same_list_share_one_copy_which_is_a_plain_list_on_the_wire() {
        let a: SharedTextList = serde_json::from_str(r#"["cs-heartbeat","ps-heartbeat"]"#).unwrap();
        let b: SharedTextList = ["cs-heartbeat", "ps-heartbeat"].into_iter().collect();
        assert!(std::ptr::eq(a.deref(), b.deref()));
        assert_eq!(serde_json::to_string(&b).unwrap(), r#"["cs-heartbeat","ps-heartbeat"]"#);
        let other: SharedTextList = vec!["cs-heartbeat"].into();
        assert!(!std::ptr::eq(a.deref(), other.deref()));
        assert!(SharedTextList::default().is_empty() && !a.is_empty());
        assert_eq!(format!("{other:?}"), r#"["cs-heartbeat"]"#);
    }
}
