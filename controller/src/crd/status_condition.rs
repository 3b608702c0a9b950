//! A condition in status: `metav1.Condition` on the wire and in the schema, its texts interned in memory.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use serde::{Deserialize, Serialize};

use super::SharedText;

/// A condition as every kind's status lists it: the fields, JSON and schema of `metav1.Condition`, with its type,
/// status, reason and message as [`SharedText`]. Ten thousand machines repeat the same six types, two statuses, a
/// dozen reasons and mostly the same or empty messages; as plain strings the conditions were a fifth of a stored
/// machine's heap (issue 13: 64 MiB at 10,000 machines).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusCondition {
    /// When the condition last changed from one status to another.
    pub last_transition_time: Time,
    /// Human-readable details of the transition (may be empty).
    #[serde(default)]
    pub message: SharedText,
    /// The `.metadata.generation` the condition was set for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// CamelCase reason for the last transition.
    #[serde(default)]
    pub reason: SharedText,
    /// `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: SharedText,
    /// Condition type, e.g. `Ready`.
    #[serde(rename = "type")]
    pub type_: SharedText,
}

impl StatusCondition {
    /// Whether this is a condition of `type_` whose status is `True`.
    pub fn is_true(&self, type_: &str) -> bool {
        self.type_ == type_ && self.status == "True"
    }
}

reprotect_facts::schema_as!(StatusCondition => Condition);

#[cfg(test)]
mod tests {
    use super::*;

    const READY: &str = r#"{"lastTransitionTime":"2026-11-29T14:21:05Z","message":"vm-0001 is replicating","observedGeneration":3,"reason":"Protected","status":"True","type":"Ready"}"#;

    #[test]
    fn a_condition_reads_and_writes_the_same_json_as_metav1_condition() {
        let ours: StatusCondition = serde_json::from_str(READY).unwrap();
        let theirs: Condition = serde_json::from_str(READY).unwrap();
        assert_eq!(serde_json::to_value(&ours).unwrap(), serde_json::to_value(&theirs).unwrap());
        assert!(ours.is_true("Ready"));
        let empty = r#"{"lastTransitionTime":"2026-11-29T14:21:05Z","message":"","reason":"Idle","status":"False","type":"Reconciling"}"#;
        let ours: StatusCondition = serde_json::from_str(empty).unwrap();
        let theirs: Condition = serde_json::from_str(empty).unwrap();
        assert_eq!(serde_json::to_value(&ours).unwrap(), serde_json::to_value(&theirs).unwrap());
    }

    #[test]
    fn two_machines_with_the_same_condition_share_its_texts() {
        let a: StatusCondition = serde_json::from_str(READY).unwrap();
        let b: StatusCondition = serde_json::from_str(READY).unwrap();
        assert!(std::ptr::eq(a.reason.as_str(), b.reason.as_str()));
        assert!(std::ptr::eq(a.message.as_str(), b.message.as_str()));
    }

    #[test]
    fn the_schema_is_metav1_conditions() {
        let mut generator = schemars::SchemaGenerator::default();
        let ours = <StatusCondition as schemars::JsonSchema>::json_schema(&mut generator);
        let theirs = <Condition as schemars::JsonSchema>::json_schema(&mut generator);
        assert_eq!(ours, theirs);
    }
}
