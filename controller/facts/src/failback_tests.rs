//! Tests of the failback stage, running site and replication-group rules read from item facts.

use super::*;
use crate::{AsrErrorClass, unsupported};

fn item(provider: &str, state: &str, location: &str, ops: &[&str]) -> ProtectedItemFacts {
    ProtectedItemFacts {
        provider: Some(provider.into()),
        protection_state: Some(state.into()),
        active_location: Some(location.into()),
        allowed_operations: ops.iter().copied().collect(),
        ..ProtectedItemFacts::default()
    }
}

#[test]
fn each_step_of_the_round_trip_is_read_from_the_provider_and_the_allowed_operations() {
    let cases = [
        (
            item("InMageAzureV2", "UnplannedFailoverCommitted", "Recovery", &["ReverseReplicate", "DisableProtection"]),
            FailbackStage::FailedOverToAzure,
        ),
        (item("InMage", "Protected", "Primary", &["UnplannedFailover", "DisableProtection"]), FailbackStage::ReadyToFailBack),
        (
            item("InMage", "UnplannedFailoverCommitPendingStatesBegin", "Recovery", &["CompleteMigration", "Commit", "ChangePit"]),
            FailbackStage::CommitPending,
        ),
        (item("InMage", "SomethingNew", "Recovery", &["commit"]), FailbackStage::CommitPending),
        (
            item("InMage", "UnplannedFailoverCommitted", "Recovery", &["CompleteMigration", "DisableProtection", "SwitchProtection"]),
            FailbackStage::ReadyForForwardReprotect,
        ),
        (
            item("InMageAzureV2", "ProtectedStatesBegin", "Primary", &["PlannedFailover", "UnplannedFailover"]),
            FailbackStage::ProtectedToAzure,
        ),
        (item("InMageRcm", "Protected", "Primary", &["UnplannedFailover"]), FailbackStage::Other),
    ];
    for (it, want) in cases {
        assert_eq!(it.failback_stage(), want, "{it:?}");
    }
}

#[test]
fn a_running_job_makes_the_item_busy_whatever_its_allowed_operations_say() {
    let mut it = item("InMage", "Protected", "Primary", &["UnplannedFailover"]);
    it.current_scenario = Some(CurrentScenarioFacts { scenario_name: Some("UnplannedFailover".into()), ..Default::default() });
    assert_eq!(it.failback_stage(), FailbackStage::Busy);
    it.current_scenario = Some(CurrentScenarioFacts { scenario_name: Some("None".into()), ..Default::default() });
    assert_eq!(it.failback_stage(), FailbackStage::ReadyToFailBack);
}

#[test]
fn the_running_site_prefers_active_site_type_and_else_reads_active_location_per_provider() {
    assert_eq!(item("InMage", "Protected", "Primary", &[]).running_site(), Some(Site::Azure), "the reprotect flipped primary");
    assert_eq!(item("InMage", "X", "Recovery", &[]).running_site(), Some(Site::OnPremises));
    assert_eq!(item("InMageAzureV2", "Protected", "Primary", &[]).running_site(), Some(Site::OnPremises));
    assert_eq!(item("InMageAzureV2", "X", "Recovery", &[]).running_site(), Some(Site::Azure));
    let mut it = item("InMage", "X", "Recovery", &[]);
    it.active_site_type = Some("Azure".into());
    assert_eq!(it.running_site(), Some(Site::Azure));
    assert_eq!(item("InMageRcm", "X", "Primary", &[]).running_site(), None);
}

#[test]
fn only_a_group_named_at_protection_time_forces_the_recovery_plan() {
    let mut it = item("InMage", "Protected", "Primary", &[]);
    assert!(!it.in_named_replication_group());
    it.multi_vm_group_name = Some("web-group".into());
    it.multi_vm_group_id = Some("0b9e3c52-0000-0000-0000-000000000001".into());
    assert!(it.in_named_replication_group());
    it.multi_vm_group_name = Some("0B9E3C52-0000-0000-0000-000000000001".into());
    assert!(!it.in_named_replication_group(), "item-level group: name is the id");
}

#[test]
fn the_rpo_is_compared_with_the_policy_threshold_in_minutes() {
    let mut it = item("InMage", "Protected", "Primary", &[]);
    assert_eq!(it.rpo_within(15), None);
    it.rpo_seconds = Some(900);
    assert_eq!(it.rpo_within(15), Some(true));
    it.rpo_seconds = Some(901);
    assert_eq!(it.rpo_within(15), Some(false));
}

#[test]
fn a_plan_finds_its_members_by_id_in_any_case_or_by_name() {
    let plan = RecoveryPlanFacts {
        members: vec![RecoveryPlanMember {
            id: "/Subscriptions/s/x/replicationProtectedItems/web-01".into(),
            name: "web-01".into(),
            virtual_machine_id: None,
        }],
        allowed_operations: vec!["unplannedFailover".into()],
        ..RecoveryPlanFacts::default()
    };
    assert!(plan.contains("/subscriptions/S/x/replicationProtectedItems/WEB-01"));
    assert!(plan.contains("web-01"));
    assert!(!plan.contains("web-02"));
    assert!(plan.allows("UnplannedFailover"));
    assert!(!plan.is_busy());
}

#[test]
fn the_wire_values_of_the_request_enums_are_asrs() {
    assert_eq!((RecoveryPointType::LatestTime.as_str(), RecoveryPointType::LatestTag.as_str()), ("LatestTime", "LatestTag"));
    assert_eq!(SourceSiteOperations::default().as_str(), "NotRequired");
    assert!(unsupported("fail_back", "app-01").to_string().contains("not supported"));
    assert_eq!(unsupported("x", "y").class(), AsrErrorClass::Blocking);
}
