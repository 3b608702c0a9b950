//! Pure condition bookkeeping: merge desired conditions into the recorded ones, keeping `lastTransitionTime`.

use crate::crd::{ConditionShape, StatusCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// A condition as a reconciler wants it; time and generation are filled in by [`merge`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionSpec {
    pub type_: &'static str,
    pub status: bool,
    pub reason: String,
    pub message: String,
}

impl ConditionSpec {
    pub fn new(type_: &'static str, status: bool, reason: impl Into<String>, message: impl Into<String>) -> Self {
        ConditionSpec { type_, status, reason: reason.into(), message: message.into() }
    }
}

/// Where an object stands in kstatus terms; decides the Ready/Reconciling/Stalled triple.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KState {
    /// Done and healthy: Ready=True.
    Ready,
    /// Work in progress (or waiting on something that will happen by itself): Reconciling=True.
    Reconciling,
    /// Needs a person: Stalled=True.
    Stalled,
    /// Nothing to do by design (paused, plan only): all three False.
    Idle,
}

/// The kstatus triple (`Ready`, `Reconciling`, `Stalled`) for one state, with the reason and
/// message on the condition(s) that are True (and on Ready, which always says why).
pub fn kstatus(state: KState, reason: &str, message: &str) -> Vec<ConditionSpec> {
    use crate::crd::condition_types as ct;
    use crate::reasons;
    let (ready, reconciling, stalled) = match state {
        KState::Ready => (true, false, false),
        KState::Reconciling => (false, true, false),
        KState::Stalled => (false, false, true),
        KState::Idle => (false, false, false),
    };
    let when = |on: bool, idle: &str| if on { (reason.to_string(), message.to_string()) } else { (idle.to_string(), String::new()) };
    let (rec_reason, rec_message) = when(reconciling, reasons::IDLE);
    let (st_reason, st_message) = when(stalled, reasons::NOT_STALLED);
    vec![
        ConditionSpec::new(ct::READY, ready, reason, message),
        ConditionSpec::new(ct::RECONCILING, reconciling, rec_reason, rec_message),
        ConditionSpec::new(ct::STALLED, stalled, st_reason, st_message),
    ]
}

/// Build the new condition list.
///
/// A condition whose status is unchanged keeps its `lastTransitionTime` (kstatus and people rely on
/// it to tell how long something has been true); reason and message are always refreshed; every
/// condition gets the current `observedGeneration`. Conditions not in `desired` are dropped, so the
/// list always describes the current spec. Output order follows `desired`.
pub fn merge(
    existing: &[StatusCondition],
    desired: &[ConditionSpec],
    generation: Option<i64>,
    now: jiff::Timestamp,
) -> Vec<StatusCondition> {
    desired
        .iter()
        .map(|d| {
            let status = if d.status { "True" } else { "False" };
            let last_transition_time = existing
                .iter()
                .find(|c| c.type_ == d.type_ && c.status == status)
                .map(|c| c.last_transition_time.clone())
                .unwrap_or(Time(now));
            let shape = ConditionShape {
                type_: d.type_.into(),
                status: status.into(),
                reason: sanitize_reason(&d.reason).into(),
                message: truncate(&d.message, 32 * 1024).into(),
                observed_generation: generation,
            };
            StatusCondition::new(shape, last_transition_time)
        })
        .collect()
}

/// Reasons must match `^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$` (metav1.Condition validation).
fn sanitize_reason(reason: &str) -> String {
    let cleaned: String = reason.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    match cleaned.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => cleaned,
        _ => format!("R{cleaned}"),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Look up a condition's status by type.
pub fn is_true(conditions: &[StatusCondition], type_: &str) -> bool {
    conditions.iter().any(|c| c.is_true(type_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn ready(status: bool, reason: &str) -> ConditionSpec {
        ConditionSpec::new("Ready", status, reason, "msg")
    }

    #[test]
    fn merging_keeps_the_transition_time_when_the_status_is_unchanged_and_resets_it_otherwise() {
        let first = merge(&[], &[ready(false, "AwaitingObservation")], Some(1), at(100));
        let table = [
            ("same status, new reason keeps time", ready(false, "PolicyNotFound"), at(100)),
            ("flipped status takes now", ready(true, "Protected"), at(200)),
        ];
        for (name, desired, expected) in table {
            let merged = merge(&first, &[desired], Some(2), at(200));
            assert_eq!(merged[0].last_transition_time.0, expected, "{name}");
            assert_eq!(merged[0].observed_generation, Some(2), "{name}");
        }
    }

    #[test]
    fn conditions_no_longer_desired_are_dropped() {
        let first = merge(&[], &[ready(true, "A"), ConditionSpec::new("Stalled", true, "B", "m")], None, at(1));
        let merged = merge(&first, &[ready(true, "A")], None, at(2));
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].type_, "Ready");
    }

    #[test]
    fn reasons_are_made_valid_for_the_api_server() {
        let table = [("Agent-Not Registered", "AgentNotRegistered"), ("95226", "R95226"), ("Ok_1", "Ok_1")];
        for (input, expected) in table {
            assert_eq!(sanitize_reason(input), expected, "{input}");
        }
    }

    #[test]
    fn kstatus_sets_exactly_one_condition_true_per_state_and_idle_sets_none() {
        let table = [
            (KState::Ready, [true, false, false]),
            (KState::Reconciling, [false, true, false]),
            (KState::Stalled, [false, false, true]),
            (KState::Idle, [false, false, false]),
        ];
        for (state, expected) in table {
            let c = kstatus(state, "Why", "because");
            let got: Vec<bool> = c.iter().map(|c| c.status).collect();
            assert_eq!(got, expected, "{state:?}");
            assert_eq!(c[0].reason, "Why", "Ready always carries the reason ({state:?})");
            for (cond, on) in c.iter().zip(expected).skip(1) {
                assert_eq!(cond.message.is_empty(), !on, "{state:?} {}", cond.type_);
            }
        }
    }

    #[test]
    fn very_long_messages_are_truncated_on_a_char_boundary() {
        let long = "é".repeat(40_000);
        let merged = merge(&[], &[ConditionSpec::new("Ready", false, "X", long)], None, at(1));
        assert!(merged[0].message.len() <= 32 * 1024 + 3);
    }
}
