//! Tests of what the request sends (same functions as the checks), the retention volume choice, typed ids and messages.

use super::{find, run};
use crate::preflight::fixtures::*;
use crate::preflight::input::*;
use crate::preflight::*;
use reprotect_facts::{FailbackPolicyBasis, RunAsAccountFacts};

#[test]
fn a_machine_override_wins_then_the_master_targets_volume() {
    assert_eq!(effective_retention_volume(Some("S:"), Some("T:"), Some("U:"), Some(OsType::Windows)).as_deref(), Some("S:"));
    assert_eq!(effective_retention_volume(None, Some("T:"), Some("U:"), Some(OsType::Windows)).as_deref(), Some("U:"));
    assert_eq!(effective_retention_volume(Some("  "), Some("T:"), None, Some(OsType::Windows)).as_deref(), Some("T:"));
}

#[test]
fn a_policy_default_never_gives_a_linux_master_target_a_drive_letter() {
    assert_eq!(effective_retention_volume(None, Some("R:"), None, Some(OsType::Linux)).as_deref(), Some("/mnt/retention"));
    assert_eq!(effective_retention_volume(None, Some("/mnt/r2"), None, Some(OsType::Windows)).as_deref(), Some("R:"));
    assert_eq!(effective_retention_volume(None, Some("/mnt/r2"), None, Some(OsType::Linux)).as_deref(), Some("/mnt/r2"));
    assert_eq!(effective_retention_volume(None, Some("R:"), None, None).as_deref(), Some("R:"));
    assert_eq!(effective_retention_volume(None, None, None, None), None);
}

#[test]
fn the_request_sends_asrs_spelling_of_the_retention_volume_that_passed() {
    let o = healthy_observed();
    for spelling in ["R", "r:", "R:\\"] {
        let d = Desired {
            master_target: DesiredMasterTarget { retention_volume: Some(spelling.into()), ..healthy_desired().master_target },
            ..healthy_desired()
        };
        assert_eq!(retention_drive_as_listed(&d, &o), Some("R:\\"), "{spelling}");
        assert_eq!(find(&evaluate(&d, &o, now()), "retention-volume").status, Status::Pass);
    }
    let unlisted = Desired {
        master_target: DesiredMasterTarget { retention_volume: Some("S:".into()), ..healthy_desired().master_target },
        ..healthy_desired()
    };
    assert_eq!(retention_drive_as_listed(&unlisted, &o), None);
}

#[test]
fn the_request_sends_the_datastore_as_the_configuration_server_lists_it() {
    let d = Desired { datastore: Some("DS-VMFS-01".into()), ..healthy_desired() };
    assert_eq!(datastore_as_listed(&d, &healthy_observed()), Some("ds-vmfs-01"));
    let unlisted = Desired { datastore: Some("nfs-01".into()), ..healthy_desired() };
    assert_eq!(datastore_as_listed(&unlisted, &healthy_observed()), None);
}

#[test]
fn a_requested_run_as_account_is_sent_by_id_or_refused_never_dropped() {
    let mut o = healthy_observed();
    fab(&mut o).run_as_accounts = vec![RunAsAccountFacts { account_id: "2".into(), account_name: "vc-admin".into() }];
    let d = Desired { run_as_account: Some("VC-ADMIN".into()), ..healthy_desired() };
    assert_eq!(run_as_account_id(&d, &o), Ok(Some("2")));
    assert_eq!(run_as_account_id(&healthy_desired(), &o), Ok(None));
    let missing = Desired { run_as_account: Some("other".into()), ..healthy_desired() };
    assert_eq!(run_as_account_id(&missing, &o), Err(UnknownRunAsAccount("other".into())));
}

#[test]
fn the_check_and_the_request_use_the_same_failback_policy_and_the_message_names_it() {
    let o = healthy_observed();
    let chosen = chosen_failback_policy(&o).and_then(Result::ok).expect("a policy");
    assert_eq!((chosen.policy.id.as_str(), chosen.basis), ("p2", FailbackPolicyBasis::OnlyFailbackPolicy));
    let r = find(&evaluate(&healthy_desired(), &o, now()), "failback-policy").clone();
    assert!(r.message.contains("failback-policy (the vault's only InMage policy)"), "{}", r.message);
    assert!(chosen_failback_policy(&Observed::default()).is_none());
}

#[test]
fn check_results_expose_their_typed_id_and_subject() {
    let results = evaluate(&healthy_desired(), &healthy_observed(), now());
    let r = find(&results, "mt-no-snapshots");
    assert_eq!(r.rule_id(), Some(RuleId::MtNoSnapshots));
    assert!(r.is(RuleId::MtNoSnapshots) && !r.is(RuleId::OsMatch));
    assert_eq!(r.subject(), Some(Subject::MasterTarget));
    assert_eq!(find(&results, "group-os-match").subject(), Some(Subject::Group));
}

#[test]
fn a_group_mismatch_names_both_the_kubernetes_and_the_asr_master_target() {
    let results = run(|d, _| {
        d.replication_group = Some("mvg-app".into());
        d.group_members = vec![member_via("app-win-02", "mt-win", "mt-win-02", Some(OsType::Windows))];
    });
    let r = find(&results, "group-same-master-target");
    assert_eq!(r.status, Status::Fail);
    assert!(r.message.contains("app-win-02 uses MasterTarget mt-win (ASR name mt-win-02)"), "{}", r.message);
    assert!(r.message.contains("master target mt-win-01"), "{}", r.message);
}

#[test]
fn vcenter_permissions_says_it_checks_the_controllers_own_account() {
    let r = find(&evaluate(&healthy_desired(), &healthy_observed(), now()), "vcenter-permissions").clone();
    assert!(r.message.contains("the controller's account"), "{}", r.message);
    let info = catalog().into_iter().find(|i| i.id == RuleId::VcenterPermissions).expect("in catalog");
    assert!(info.description.contains("controller's own vCenter account") && info.remedy.contains("controller's vCenter account"));
}

#[test]
fn an_unknown_provider_is_reported_as_such_and_not_as_a_configuration_server_failure() {
    let results = run(|_, o| {
        it(o).provider = Some("InMageRcm".into());
        it(o).vm_id = None;
    });
    let provider = find(&results, "supported-provider");
    assert_eq!(provider.status, Status::Fail);
    assert!(provider.message.contains("InMageRcm"), "{}", provider.message);
    assert_ne!(find(&results, "cs-knows-vm").status, Status::Fail);
    assert_eq!(blocking(&results).next().map(|r| r.id.as_ref()), Some("supported-provider"));
}
