//! The failback rules: what the way home needs of a reprotected item (healthy, within the failback policy's RPO, a
//! recovery point of the requested type). They are evaluated only for an approved failback and only once the item
//! is reprotected and ready to fail back; they never hold back a reprotect (see `Subject::Failback`).

use super::{Outcome, Rule, src};
use crate::preflight::Severity::{Blocking, Info};
use crate::preflight::context::Ctx;
use crate::preflight::ids::{RuleId, RuleInfo};
use reprotect_facts::{FailbackStage, PolicyFacts, ProtectedItemFacts, RecoveryPointType, policy_is};

pub(super) const FB_ITEM_HEALTHY: Rule = Rule {
    info: RuleInfo::new(
        RuleId::FbItemHealthy,
        Blocking,
        "Before an approved failback: the reprotected item is protected and its replication health is not Critical.",
        "Resolve the item's health errors in the vault; Microsoft: the VMs should be protected and their health OK before failback.",
        src::NEXT_STEPS,
    ),
    eval: fb_item_healthy,
};

pub(super) const FB_RPO_WITHIN_THRESHOLD: Rule = Rule {
    info: RuleInfo::new(
        RuleId::FbRpoWithinThreshold,
        Blocking,
        "Before an approved failback: the item's RPO is within the failback policy's RPO threshold (15 minutes by default).",
        "Wait for replication to catch up (check the process server and the network to on-premises), then fail back.",
        src::FAILBACK_POLICY,
    ),
    eval: fb_rpo_within_threshold,
};

pub(super) const FB_RECOVERY_POINT: Rule = Rule {
    info: RuleInfo::new(
        RuleId::FbRecoveryPoint,
        Blocking,
        "Before an approved failback: a recovery point of the requested type exists (LatestTime: any; LatestTag: an app-consistent one, i.e. a retention window at least one app-consistent interval long); for a recovery plan, every member has one.",
        "A VM needs at least one recovery point to fail back: wait for replication to create one (LatestTag needs an app-consistent point, one per app-consistent interval), or use LatestTime.",
        src::FAILBACK_POLICY,
    ),
    eval: fb_recovery_point,
};

/// The item and the requested recovery point when the rule applies, else the outcome that says why it does not.
fn applicable<'a>(c: &Ctx<'a>) -> Result<(&'a ProtectedItemFacts, RecoveryPointType), Outcome> {
    let Some(failback) = c.d.failback else {
        return Err(Outcome::pass("no failback approved: the machine stays reprotected to on-premises"));
    };
    let Some(item) = c.item else {
        return Err(Outcome::unknown(format!("protected item {} not observed", c.machine())));
    };
    match item.failback_stage() {
        FailbackStage::ReadyToFailBack => Ok((item, failback.recovery_point)),
        // Before the reprotect, or once the failback has started, these facts are not the failback's: say so, never block.
        stage => Err(Outcome::unknown(format!(
            "checked when {} is reprotected and ready to fail back (now {stage:?}, state {})",
            c.machine(),
            item.protection_state.as_deref().unwrap_or("unreported")
        ))
        .severity(Info)),
    }
}

/// The item's failback (`InMage`) policy as the vault lists it.
fn item_policy<'a>(c: &Ctx<'a>, item: &ProtectedItemFacts) -> Option<&'a PolicyFacts> {
    let id = item.policy_id.as_deref()?;
    c.o.policies.iter().flatten().find(|p| policy_is(p, id))
}

fn fb_item_healthy(c: &Ctx<'_>) -> Outcome {
    let (item, _) = match applicable(c) {
        Ok(v) => v,
        Err(outcome) => return outcome,
    };
    match item.replication_health.as_deref() {
        Some(h) if h.eq_ignore_ascii_case("Critical") => {
            let errors: Vec<&str> = item.health_errors.iter().filter_map(|e| e.message.as_deref()).filter(|m| !m.is_empty()).collect();
            Outcome::fail(format!(
                "replication health of {} is Critical{}",
                item.display_name(),
                if errors.is_empty() { String::new() } else { format!(": {}", super::list(&errors, 3)) }
            ))
        }
        Some(h) => Outcome::pass(format!("{} is protected, replication health {h}", item.display_name())),
        None => Outcome::pass(format!("{} is protected (replication health not reported)", item.display_name())),
    }
}

fn fb_rpo_within_threshold(c: &Ctx<'_>) -> Outcome {
    let (item, _) = match applicable(c) {
        Ok(v) => v,
        Err(outcome) => return outcome,
    };
    let threshold =
        item_policy(c, item).and_then(|p| p.rpo_threshold_minutes).unwrap_or(c.d.expected_failback_policy.rpo_threshold_minutes);
    match (item.rpo_seconds, item.rpo_within(threshold)) {
        (Some(rpo), Some(false)) => {
            Outcome::fail(format!("RPO of {} is {rpo}s, above the failback policy's threshold of {threshold} minutes", item.display_name()))
        }
        (Some(rpo), _) => Outcome::pass(format!("RPO of {} is {rpo}s, within {threshold} minutes", item.display_name())),
        // Not reported is not a reason to hold a failback back (as before this was a rule): unknown, never a gate.
        (None, _) => Outcome::unknown(format!("RPO of {} is not reported; threshold {threshold} minutes", item.display_name())),
    }
}

fn fb_recovery_point(c: &Ctx<'_>) -> Outcome {
    let (item, point) = match applicable(c) {
        Ok(v) => v,
        Err(outcome) => return outcome,
    };
    // ASR's spec has no recovery-point list for these providers: the retention window says what exists.
    let window = item.retention_window_start.zip(item.retention_window_end);
    let app_minutes = item_policy(c, item)
        .and_then(|p| p.app_consistent_frequency_minutes)
        .unwrap_or(c.d.expected_failback_policy.app_consistent_frequency_minutes);
    let has_point = match (window, point) {
        (None, _) => false,
        (Some((start, end)), RecoveryPointType::LatestTime) => end >= start,
        (Some((start, end)), RecoveryPointType::LatestTag) => {
            end.duration_since(start) >= jiff::SignedDuration::from_mins(i64::from(app_minutes))
        }
    };
    let described = window.map(|(s, e)| format!("{s} .. {e}")).unwrap_or_else(|| "not reported".into());
    if has_point {
        Outcome::pass(format!("a {} recovery point exists for {} (retention window {described})", point.as_str(), item.display_name()))
    } else {
        Outcome::fail(format!(
            "no {} recovery point is known for {}: the retention window is {described}",
            point.as_str(),
            item.display_name()
        ))
    }
}
