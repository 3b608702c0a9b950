//! A check's result as status lists it: one interned copy per distinct result, an object on the wire; and the ids
//! of the checks that passed, one interned list per distinct set.

use std::{fmt, ops::Deref};

use internment::ArcIntern;
use serde::{Deserialize, Serialize};

use super::SharedText;

/// A check result in status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckEntry {
    /// Stable check id, e.g. `mt-no-snapshots`.
    pub id: SharedText,
    /// `Blocking`, `Warning` or `Info`.
    pub severity: SharedText,
    /// `Pass`, `Fail` or `Unknown`.
    pub status: SharedText,
    /// What was observed.
    pub message: SharedText,
    /// What to do about it.
    #[serde(default, skip_serializing_if = "SharedText::is_empty_text")]
    pub remedy: SharedText,
}

/// A [`CheckEntry`] as a stored status holds it: interned whole (internment's `ArcIntern`), so the machines whose
/// check came out the same (most of the 46, for machines of one policy and master target) share one copy and a
/// machine holds a pointer per check. As five interned texts a check still cost 40 bytes per machine, 1.8 KiB for a
/// machine's 46 checks (issue 13: 64 MiB at 10,000 machines). On the wire and in the schema it is the plain object.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CheckStatus(ArcIntern<CheckEntry>);

impl Deref for CheckStatus {
    type Target = CheckEntry;
    fn deref(&self) -> &CheckEntry {
        &self.0
    }
}

impl From<CheckEntry> for CheckStatus {
    fn from(entry: CheckEntry) -> Self {
        CheckStatus(ArcIntern::new(entry))
    }
}

impl fmt::Debug for CheckStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.deref(), f)
    }
}

reprotect_facts::schema_as!(CheckStatus => CheckEntry);

/// The ids of the checks that passed, as a stored status holds them: one interned list shared by every machine whose
/// checks passed alike, so a machine holds one pointer. Their evidence stays out of status: 46 passing checks with
/// their messages were 3.4 KiB of every stored machine, 34 MiB at 10,000 (issue 13), and as much again in the API
/// server's watch cache and etcd; `reprotect-controller check` shows it. On the wire and in the schema a list of strings.
pub type CheckIdList = reprotect_facts::SharedTextList;

#[cfg(test)]
mod tests {
    use super::*;

    const CHECK: &str =
        r#"{"id":"cs-heartbeat","severity":"Blocking","status":"Pass","message":"configuration server cs-01 sent a heartbeat"}"#;

    #[test]
    fn the_same_check_in_two_statuses_is_one_allocation_and_still_a_plain_object_on_the_wire() {
        let a: CheckStatus = serde_json::from_str(CHECK).unwrap();
        let b: CheckStatus = serde_json::from_str(CHECK).unwrap();
        assert!(std::ptr::eq(a.deref(), b.deref()));
        assert_eq!(serde_json::to_string(&a).unwrap(), CHECK);
        assert_eq!(a.status, "Pass");
        let other: CheckStatus = serde_json::from_str(&CHECK.replace("Pass", "Fail")).unwrap();
        assert!(!std::ptr::eq(a.deref(), other.deref()));
    }
}
