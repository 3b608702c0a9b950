//! A condition in status: `metav1.Condition` on the wire and in the schema; in memory its time and a pointer to its
//! interned shape (type, status, reason, message, generation).

use std::{fmt, ops::Deref};

use internment::ArcIntern;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::SharedText;

/// A condition as every kind's status lists it: the JSON and schema of `metav1.Condition`. Ten thousand machines
/// repeat the same six types, two statuses, a dozen reasons and mostly the same or empty messages at the same
/// generation; only the transition time is their own. So a condition is that time and a pointer to its
/// [`ConditionShape`], interned (internment's `ArcIntern`): 24 bytes where the flat condition was 64, six times per
/// machine in the reflector store (issue 13: 64 MiB at 10,000 machines). Its shape's fields read through it
/// (`condition.reason`), as they did when they were its own.
#[derive(Clone, PartialEq, Eq)]
pub struct StatusCondition {
    /// When the condition last changed from one status to another.
    pub last_transition_time: Time,
    shape: ArcIntern<ConditionShape>,
}

/// What a condition says, apart from when it last changed: shared by every condition that says the same.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ConditionShape {
    /// Condition type, e.g. `Ready`.
    pub type_: SharedText,
    /// `True`, `False` or `Unknown`.
    pub status: SharedText,
    /// CamelCase reason for the last transition.
    pub reason: SharedText,
    /// Human-readable details of the transition (may be empty).
    pub message: SharedText,
    /// The `.metadata.generation` the condition was set for.
    pub observed_generation: Option<i64>,
}

impl StatusCondition {
    /// A condition saying `shape` since `last_transition_time`.
    pub fn new(shape: ConditionShape, last_transition_time: Time) -> Self {
        StatusCondition { last_transition_time, shape: ArcIntern::new(shape) }
    }

    /// Whether this is a condition of `type_` whose status is `True`.
    pub fn is_true(&self, type_: &str) -> bool {
        self.type_ == type_ && self.status == "True"
    }
}

impl Deref for StatusCondition {
    type Target = ConditionShape;
    fn deref(&self) -> &ConditionShape {
        &self.shape
    }
}

impl fmt::Debug for StatusCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusCondition")
            .field("type_", &self.type_)
            .field("status", &self.status)
            .field("reason", &self.reason)
            .field("message", &self.message)
            .field("observed_generation", &self.observed_generation)
            .field("last_transition_time", &self.last_transition_time)
            .finish()
    }
}

/// The condition as `metav1.Condition` writes it (same fields, names and order).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireOut<'a> {
    last_transition_time: &'a Time,
    message: &'a SharedText,
    #[serde(skip_serializing_if = "Option::is_none")]
    observed_generation: Option<i64>,
    reason: &'a SharedText,
    status: &'a SharedText,
    #[serde(rename = "type")]
    type_: &'a SharedText,
}

/// The condition as `metav1.Condition` reads it (message, reason and status may be missing in what a person wrote).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireIn {
    last_transition_time: Time,
    #[serde(default)]
    message: SharedText,
    #[serde(default)]
    observed_generation: Option<i64>,
    #[serde(default)]
    reason: SharedText,
    #[serde(default)]
    status: SharedText,
    #[serde(rename = "type")]
    type_: SharedText,
}

impl Serialize for StatusCondition {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        WireOut {
            last_transition_time: &self.last_transition_time,
            message: &self.message,
            observed_generation: self.observed_generation,
            reason: &self.reason,
            status: &self.status,
            type_: &self.type_,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for StatusCondition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = WireIn::deserialize(deserializer)?;
        let shape = ConditionShape {
            type_: wire.type_,
            status: wire.status,
            reason: wire.reason,
            message: wire.message,
            observed_generation: wire.observed_generation,
        };
        Ok(StatusCondition::new(shape, wire.last_transition_time))
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
    fn conditions_that_say_the_same_at_different_times_share_one_shape_and_keep_their_own_times() {
        let a: StatusCondition = serde_json::from_str(READY).unwrap();
        let later = READY.replace("2026-11-29T14:21:05Z", "2026-11-30T08:00:00Z");
        let b: StatusCondition = serde_json::from_str(&later).unwrap();
        assert!(std::ptr::eq::<ConditionShape>(&*a, &*b), "one shape for both");
        assert_ne!(a.last_transition_time, b.last_transition_time);
        assert_ne!(a, b);
        let other_generation = READY.replace("\"observedGeneration\":3", "\"observedGeneration\":4");
        let c: StatusCondition = serde_json::from_str(&other_generation).unwrap();
        assert!(!std::ptr::eq::<ConditionShape>(&*a, &*c));
        assert!(std::mem::size_of::<StatusCondition>() <= 24, "{} bytes", std::mem::size_of::<StatusCondition>());
    }

    #[test]
    fn the_schema_is_metav1_conditions() {
        let mut generator = schemars::SchemaGenerator::default();
        let ours = <StatusCondition as schemars::JsonSchema>::json_schema(&mut generator);
        let theirs = <Condition as schemars::JsonSchema>::json_schema(&mut generator);
        assert_eq!(ours, theirs);
    }
}
