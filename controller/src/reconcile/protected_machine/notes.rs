//! What a pass tells people and Prometheus besides its status: events for a phase change and for each
//! watchdog finding that appears or clears, and the agent wait that just ended. Pure functions of the
//! old status, the new status and `now`.

use crate::conditions::is_true;
use crate::crd::{Phase, ProtectedMachine, ProtectedMachineStatus, condition_types};
use crate::reconcile::Note;
use jiff::Timestamp;

/// A `Phase<New>` event when the phase changed, carrying the Ready message.
pub fn phase_change(pm: &ProtectedMachine, new: &ProtectedMachineStatus) -> Option<Note> {
    let old = pm.status.as_ref().map(|s| s.phase).unwrap_or_default();
    (old != new.phase).then(|| Note {
        warning: new.phase == Phase::Blocked,
        reason: format!("Phase{}", new.phase),
        action: "PhaseChange".into(),
        message: format!("{old} -> {}: {}", new.phase, message_of(new, condition_types::READY)),
    })
}

/// One event per watchdog condition (`Degraded`, `FailbackAtRisk`) that became true (a warning named after
/// it) or false again (`<Condition>Resolved`), so an alert on events sees the finding without polling status.
pub fn watchdog_findings(pm: &ProtectedMachine, new: &ProtectedMachineStatus) -> Vec<Note> {
    let old = pm.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default();
    [condition_types::DEGRADED, condition_types::FAILBACK_AT_RISK]
        .into_iter()
        .filter_map(|condition| {
            let (was, is) = (is_true(old, condition), is_true(&new.conditions, condition));
            (was != is).then(|| Note {
                warning: is,
                reason: if is { condition.to_string() } else { format!("{condition}Resolved") },
                action: "Watchdog".into(),
                message: if is { message_of(new, condition) } else { format!("{condition} no longer applies") },
            })
        })
        .collect()
}

/// Seconds from the failover until the mobility agent was found registered, for a machine whose pass ends
/// its wait (it was `WaitingForAgent` and no longer is, other than by being paused).
pub fn agent_wait_ended(
    pm: &ProtectedMachine,
    new: &ProtectedMachineStatus,
    failed_over_at: Option<Timestamp>,
    now: Timestamp,
) -> Option<f64> {
    let was_waiting = pm.status.as_ref().is_some_and(|s| s.phase == Phase::WaitingForAgent);
    let ended = was_waiting && !matches!(new.phase, Phase::WaitingForAgent | Phase::Paused);
    ended.then(|| failed_over_at.map(|t| now.duration_since(t).as_secs_f64().max(0.0))).flatten()
}

fn message_of(st: &ProtectedMachineStatus, condition: &str) -> String {
    st.conditions.iter().find(|c| c.type_ == condition).map(|c| c.message.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conditions::ConditionSpec;

    fn status(phase: Phase, conditions: &[(&'static str, bool)]) -> ProtectedMachineStatus {
        let now = Timestamp::from_second(1_800_000_000).unwrap_or_default();
        let specs: Vec<ConditionSpec> = conditions
            .iter()
            .map(|(t, on)| ConditionSpec::new(t, *on, if *on { "Found" } else { "Clear" }, "replication is critical"))
            .collect();
        ProtectedMachineStatus { phase, conditions: crate::conditions::merge(&[], &specs, Some(1), now), ..Default::default() }
    }

    fn machine(old: Option<ProtectedMachineStatus>) -> ProtectedMachine {
        let mut pm: ProtectedMachine = serde_json::from_value(serde_json::json!({
            "apiVersion": "reprotect.io/v1alpha1", "kind": "ProtectedMachine",
            "metadata": {"name": "web-01", "namespace": "dr"},
            "spec": {"policyRef": "p", "item": {"name": "web-01"}, "osType": "Windows", "existingVm": {"name": "web-01"}},
        }))
        .expect("a valid ProtectedMachine");
        pm.status = old;
        pm
    }

    #[test]
    fn a_degraded_finding_is_a_warning_event_once_and_its_end_a_normal_one() {
        let healthy = status(Phase::Protected, &[(condition_types::DEGRADED, false)]);
        let degraded = status(Phase::Protected, &[(condition_types::DEGRADED, true)]);
        let notes = watchdog_findings(&machine(Some(healthy.clone())), &degraded);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].warning && notes[0].reason == "Degraded" && notes[0].message == "replication is critical", "{notes:?}");
        assert!(watchdog_findings(&machine(Some(degraded.clone())), &degraded).is_empty(), "no event while it lasts");
        let cleared = watchdog_findings(&machine(Some(degraded)), &healthy);
        assert_eq!(cleared.len(), 1);
        assert!(!cleared[0].warning && cleared[0].reason == "DegradedResolved", "{cleared:?}");
    }

    #[test]
    fn failback_at_risk_is_reported_as_its_own_event() {
        let risky = status(Phase::Protected, &[(condition_types::FAILBACK_AT_RISK, true)]);
        let notes = watchdog_findings(&machine(None), &risky);
        assert_eq!(notes.iter().map(|n| n.reason.as_str()).collect::<Vec<_>>(), ["FailbackAtRisk"]);
    }

    #[test]
    fn the_agent_wait_is_measured_from_the_failover_when_the_wait_ends_and_not_before() {
        let failover = Timestamp::from_second(1_800_000_000).unwrap_or_default();
        let now = failover.checked_add(jiff::SignedDuration::from_secs(90)).unwrap_or_default();
        let waiting = machine(Some(status(Phase::WaitingForAgent, &[])));
        assert_eq!(agent_wait_ended(&waiting, &status(Phase::Reprotecting, &[]), Some(failover), now), Some(90.0));
        assert_eq!(agent_wait_ended(&waiting, &status(Phase::WaitingForAgent, &[]), Some(failover), now), None);
        assert_eq!(agent_wait_ended(&waiting, &status(Phase::Paused, &[]), Some(failover), now), None, "a pause does not end the wait");
        let validating = machine(Some(status(Phase::Validating, &[])));
        assert_eq!(agent_wait_ended(&validating, &status(Phase::Reprotecting, &[]), Some(failover), now), None, "it never waited");
    }
}
