//! Condition and event reasons: one constant per reason so code, tests, alerts and docs agree on the spelling.

// kstatus defaults for conditions that are False.
pub const IDLE: &str = "Idle";
pub const NOT_STALLED: &str = "NotStalled";

// Lookups (a reference that does not resolve).
pub const POLICY_NOT_FOUND: &str = "PolicyNotFound";
pub const MASTER_TARGET_NOT_SET: &str = "MasterTargetNotSet";
pub const MASTER_TARGET_NOT_FOUND: &str = "MasterTargetNotFound";
/// A reconcile panicked; the panic was contained and reported on the object.
pub const INTERNAL_ERROR: &str = "InternalError";

// ProtectedMachine lifecycle.
pub const PAUSED: &str = "Paused";
pub const PROTECTED_ITEM_NOT_FOUND: &str = "ProtectedItemNotFound";
pub const NOT_FAILED_OVER: &str = "NotFailedOver";
pub const WAITING_FOR_GROUP: &str = "WaitingForGroup";
pub const PROTECTED: &str = "Protected";
pub const NO_RISK_FOUND: &str = "NoRiskFound";
pub const FAILBACK_AT_RISK: &str = "FailbackAtRisk";
pub const REPLICATION_HEALTH_CRITICAL: &str = "ReplicationHealthCritical";
pub const REPLICATION_HEALTHY: &str = "ReplicationHealthy";
pub const JOB_SUBMITTED: &str = "JobSubmitted";
pub const JOB_RUNNING: &str = "JobRunning";
pub const JOB_ADOPTED: &str = "JobAdopted";
pub const AGENT_NOT_REGISTERED: &str = "AgentNotRegistered";
pub const REPROTECT_JOB_FAILED: &str = "ReprotectJobFailed";
pub const PREFLIGHT_FAILED: &str = "PreflightFailed";
/// Blocked by `vm-unambiguous`: a VM name matches several VMs in vCenter.
pub const AMBIGUOUS_VM: &str = "AmbiguousVm";
/// Blocked by `item-owner`: an older ProtectedMachine names the same protected item.
pub const DUPLICATE_ITEM: &str = "DuplicateItem";
/// Blocked by `item-unique`: the spec's friendly name matches several protected items.
pub const AMBIGUOUS_ITEM: &str = "AmbiguousItem";
/// Blocked by `group-complete`: Site Recovery has group members that no ProtectedMachine declares.
pub const INCOMPLETE_GROUP: &str = "IncompleteGroup";
pub const PREFLIGHT_PASSED: &str = "PreflightPassed";
pub const PREFLIGHT_INCOMPLETE: &str = "PreflightIncomplete";
pub const WAITING_FOR_AGENT: &str = "WaitingForAgent";
pub const INPUT_INCOMPLETE: &str = "InputIncomplete";
pub const PLANNED: &str = "Planned";
pub const ACTING: &str = "Acting";
pub const ALREADY_PROTECTED: &str = "AlreadyProtected";
pub const JOB_STATE_UNKNOWN: &str = "JobStateUnknown";
pub const RETRIES_EXHAUSTED: &str = "RetriesExhausted";
pub const REPROTECT_REJECTED: &str = "ReprotectRejected";
pub const PROTECTED_TO_AZURE: &str = "ProtectedToAzure";
pub const ITEM_BUSY: &str = "ItemBusy";
pub const NOT_READY_TO_FAIL_BACK: &str = "NotReadyToFailBack";
pub const FAILBACK_STEP_FAILED: &str = "FailbackStepFailed";
pub const FAILBACK_PREFLIGHT_FAILED: &str = "FailbackPreflightFailed";
pub const RECOVERY_PLAN_NOT_FOUND: &str = "RecoveryPlanNotFound";
pub const WAITING_FOR_ON_PREMISES_VM: &str = "WaitingForOnPremisesVm";
pub const FAILBACK_REJECTED: &str = "FailbackRejected";

// MasterTarget.
pub const NOT_REGISTERED: &str = "NotRegistered";
pub const CHECK_FAILED: &str = "CheckFailed";
pub const USABLE: &str = "Usable";

// ReprotectPolicy connections.
pub const CONNECTIONS_VERIFIED: &str = "ConnectionsVerified";
pub const CONNECTION_FAILED: &str = "ConnectionFailed";
pub const CONNECTED: &str = "Connected";
/// `InsecureTls` True: the user opted out of certificate verification.
pub const INSECURE_SKIP_VERIFY: &str = "InsecureSkipVerify";
/// `InsecureTls` False.
pub const TLS_VERIFIED: &str = "TlsVerified";
pub const TRANSIENT: &str = "Transient";

/// The reason for a machine blocked by these failing checks: a specific one when a check has its own (a person
/// searching events for `DuplicateItem` finds it), else `PreflightFailed`.
pub fn for_blocking_checks<'a>(ids: impl IntoIterator<Item = &'a str>) -> &'static str {
    let ids: Vec<&str> = ids.into_iter().collect();
    if ids.contains(&"item-owner") {
        DUPLICATE_ITEM
    } else if ids.contains(&"vm-unambiguous") {
        AMBIGUOUS_VM
    } else if ids.contains(&"item-unique") {
        AMBIGUOUS_ITEM
    } else if ids.contains(&"group-complete") {
        INCOMPLETE_GROUP
    } else {
        PREFLIGHT_FAILED
    }
}

/// Kubernetes-style reason from an error category (`asr-credentials` → `AsrCredentials`).
pub fn from_category(category: &str) -> String {
    category
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_check_with_its_own_reason_names_the_block_and_the_rest_are_preflight_failed() {
        use super::*;
        assert_eq!(for_blocking_checks(["mt-heartbeat", "item-unique"]), AMBIGUOUS_ITEM);
        assert_eq!(for_blocking_checks(["group-complete"]), INCOMPLETE_GROUP);
        assert_eq!(for_blocking_checks(["group-complete", "item-owner"]), DUPLICATE_ITEM);
        assert_eq!(for_blocking_checks(["mt-heartbeat"]), PREFLIGHT_FAILED);
    }

    #[test]
    fn error_categories_become_condition_reasons() {
        assert_eq!(super::from_category("asr-credentials"), "AsrCredentials");
        assert_eq!(super::from_category("invalid-spec"), "InvalidSpec");
    }
}
