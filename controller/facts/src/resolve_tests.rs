//! Tests of the shared look-ups: item matching, failback policy choice, run-as accounts, listed spellings, vCenters.

use super::*;
use crate::HealthIssue;

fn item(name: &str, friendly: &str) -> ProtectedItemFacts {
    ProtectedItemFacts { name: name.into(), friendly_name: Some(friendly.into()), ..ProtectedItemFacts::default() }
}

fn policy(id: &str, name: &str, provider: &str) -> PolicyFacts {
    PolicyFacts { id: id.into(), name: name.into(), provider: Some(provider.into()), ..PolicyFacts::default() }
}

#[test]
fn an_item_name_wins_over_a_friendly_name_and_ignores_case() {
    let items = [item("a-1", "app"), item("a-2", "app")];
    assert_eq!(match_item(Some("A-2"), Some("app"), &items).map(|i| i.map(|i| &i.name)), Ok(Some(&"a-2".to_owned())));
    assert_eq!(match_item(Some("a-3"), None, &items), Ok(None));
}

#[test]
fn a_friendly_name_matching_one_item_finds_it() {
    let items = [item("a-1", "app"), item("b-1", "db")];
    assert_eq!(match_item(None, Some("DB"), &items).map(|i| i.map(|i| i.name.as_str())), Ok(Some("b-1")));
    assert_eq!(match_item(None, Some("web"), &items), Ok(None));
    assert_eq!(match_item(None, None, &items), Ok(None));
}

#[test]
fn a_friendly_name_matching_several_items_is_ambiguous_and_names_them() {
    let items = [item("a-1", "app"), item("b-1", "db"), item("a-2", "APP")];
    let err = match_item(None, Some("app"), &items).expect_err("ambiguous");
    assert_eq!(err.candidates, vec!["a-1".to_owned(), "a-2".to_owned()]);
    assert_eq!(err.to_string(), "friendly name app matches 2 protected items: a-1, a-2");
}

#[test]
fn the_failback_policy_is_the_one_created_with_the_items_forward_policy() {
    let policies = [
        policy("/s/replicationPolicies/other", "other", "InMageAzureV2"),
        policy("/s/replicationPolicies/other-failback", "other-failback", "InMage"),
        policy("/s/replicationPolicies/Policyv2a", "Policyv2a", "InMageAzureV2"),
        policy("/s/replicationPolicies/Policyv2a-failback", "Policyv2a-failback", "InMage"),
    ];
    let chosen = failback_policy(&policies, Some("/S/replicationPolicies/policyv2a")).expect("chosen");
    assert_eq!(chosen.policy.name, "Policyv2a-failback");
    assert_eq!(chosen.basis, FailbackPolicyBasis::CreatedWithForwardPolicy);
}

#[test]
fn an_item_already_on_an_inmage_policy_keeps_it() {
    let policies = [policy("p1", "fb-1", "InMage"), policy("p2", "fb-2", "InMage")];
    let chosen = failback_policy(&policies, Some("p2")).expect("chosen");
    assert_eq!((chosen.policy.name.as_str(), chosen.basis), ("fb-2", FailbackPolicyBasis::ItemPolicy));
}

#[test]
fn a_single_inmage_policy_is_chosen_and_several_unrelated_ones_are_ambiguous() {
    let one = [policy("p1", "forward", "InMageAzureV2"), policy("p2", "whatever", "InMage")];
    assert_eq!(failback_policy(&one, None).map(|c| c.basis), Ok(FailbackPolicyBasis::OnlyFailbackPolicy));
    let two = [policy("p1", "forward", "InMageAzureV2"), policy("p2", "a", "InMage"), policy("p3", "b", "InMage")];
    assert!(matches!(failback_policy(&two, Some("p1")), Err(FailbackPolicyError::Ambiguous { .. })));
    assert_eq!(failback_policy(&one[..1], None), Err(FailbackPolicyError::None(1)));
}

#[test]
fn a_run_as_account_is_found_by_name_or_id() {
    let fabric = FabricFacts {
        run_as_accounts: vec![RunAsAccountFacts { account_id: "2".into(), account_name: "vcenter-discovery".into() }],
        ..FabricFacts::default()
    };
    assert_eq!(fabric.run_as_account("VCenter-Discovery").map(|a| a.account_id.as_str()), Some("2"));
    assert_eq!(fabric.run_as_account("2").map(|a| a.account_name.as_str()), Some("vcenter-discovery"));
    assert_eq!(fabric.run_as_account("missing"), None);
}

#[test]
fn listed_values_are_found_in_asrs_own_spelling() {
    let mt = MasterTargetServerFacts {
        retention_volumes: vec![RetentionVolumeFacts { volume_name: "R:\\".into(), ..RetentionVolumeFacts::default() }],
        datastores: vec![AsrDatastoreFacts { symbolic_name: "DS-VMFS-01".into(), ..AsrDatastoreFacts::default() }],
        ..MasterTargetServerFacts::default()
    };
    for spelling in ["R", "r:", "R:\\"] {
        assert_eq!(mt.retention_volume(spelling).map(|v| v.volume_name.as_str()), Some("R:\\"), "{spelling}");
    }
    assert_eq!(mt.retention_volume("S:"), None);
    assert_eq!(mt.datastore("ds-vmfs-01").map(|d| d.symbolic_name.as_str()), Some("DS-VMFS-01"));
}

#[test]
fn a_discovered_vcenter_is_recognised_by_name_ip_and_separately_reported_port() {
    let vc = DiscoveredVcenterFacts {
        name: "vc01".into(),
        friendly_name: Some("vc01.contoso.local".into()),
        ip_address: Some("127.0.0.1".into()),
        port: Some(443),
        ..DiscoveredVcenterFacts::default()
    };
    for wanted in ["https://127.0.0.1/sdk", "127.0.0.1:443", "VC01.contoso.local", "vc01", "https://vc01.contoso.local:443/sdk"] {
        let addr = ServerAddress::parse(wanted).expect("parses");
        assert!(vc.is_server(&addr), "{wanted}");
    }
    for wanted in ["127.0.0.1:8443", "vc02", "10.0.0.1"] {
        assert!(!vc.is_server(&ServerAddress::parse(wanted).expect("parses")), "{wanted}");
    }
    let on_8443 = DiscoveredVcenterFacts { port: Some(8443), ..vc };
    assert!(on_8443.is_server(&ServerAddress::parse("127.0.0.1:8443").expect("parses")));
}

#[test]
fn a_failed_discovery_or_a_health_error_is_a_problem() {
    let ok = DiscoveredVcenterFacts { discovery_status: Some("Completed".into()), ..DiscoveredVcenterFacts::default() };
    assert_eq!(ok.discovery_problem(), None);
    let failed = DiscoveredVcenterFacts { discovery_status: Some("DiscoveryFailed".into()), ..DiscoveredVcenterFacts::default() };
    assert_eq!(failed.discovery_problem().as_deref(), Some("discovery status DiscoveryFailed"));
    let unhealthy = DiscoveredVcenterFacts {
        health_errors: vec![HealthIssue { message: Some("credentials expired".into()), ..HealthIssue::default() }],
        ..ok
    };
    assert_eq!(unhealthy.discovery_problem().as_deref(), Some("health error: credentials expired"));
}
