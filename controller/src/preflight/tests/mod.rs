//! Preflight tests: the rule table, determinism, the healthy fixture, severities, summary and rendering.

mod request;
mod table;
mod table_failback;
mod table_issue15;
mod table_storage;

use super::fixtures::*;
use super::input::*;
use super::*;
use std::collections::BTreeSet;

fn rows() -> impl Iterator<Item = &'static table::Row> {
    table::ROWS.iter().chain(table_storage::ROWS).chain(table_issue15::ROWS).chain(table_failback::ROWS)
}

fn run(mutate: fn(&mut Desired, &mut Observed)) -> Vec<CheckResult> {
    let (mut d, mut o) = (healthy_desired(), healthy_observed());
    mutate(&mut d, &mut o);
    evaluate(&d, &o, now())
}

fn find<'a>(results: &'a [CheckResult], id: &str) -> &'a CheckResult {
    results.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("no result for {id}"))
}

#[test]
fn each_table_row_gives_its_rule_the_expected_status() {
    let mut wrong = Vec::new();
    for (name, mutate, id, expected) in rows() {
        let results = run(*mutate);
        let r = find(&results, id);
        if r.status != *expected {
            wrong.push(format!("{name}: {id} is {:?}, expected {expected:?} ({})", r.status, r.message));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_rule_has_failing_and_unknown_rows_and_passes_on_the_healthy_fixture() {
    let healthy = evaluate(&healthy_desired(), &healthy_observed(), now());
    for rule in catalog() {
        let id = rule.id.as_str();
        assert_eq!(find(&healthy, id).status, Status::Pass, "{id} on the healthy fixture");
        assert!(rows().any(|r| r.2 == id && r.3 == Status::Fail), "no failing row for {id}");
        // Whether a datastore was specified is a fact of the spec alone: it cannot be unknown.
        if rule.id != RuleId::DatastoreSpecified {
            assert!(rows().any(|r| r.2 == id && r.3 == Status::Unknown), "no unknown row for {id}");
        }
    }
}

#[test]
fn a_fully_healthy_machine_passes_every_check_and_nothing_blocks() {
    let results = evaluate(&healthy_desired(), &healthy_observed(), now());
    let not_passing: Vec<_> = results.iter().filter(|r| r.status != Status::Pass).map(|r| (&r.id, &r.message)).collect();
    assert!(not_passing.is_empty(), "{not_passing:?}");
    assert!(!blocks_reprotect(&results));
    assert_eq!(blocking(&results).count(), 0);
    assert_eq!(summarize(&results).reason, PreflightReason::PreflightPassed);
}

#[test]
fn results_are_deterministic_and_in_catalog_order() {
    let ids: Vec<&str> = catalog().iter().map(|r| r.id.as_str()).collect();
    for (name, mutate, ..) in rows() {
        let first = run(*mutate);
        assert_eq!(first, run(*mutate), "{name} is not deterministic");
        assert_eq!(first.iter().map(|r| r.id.as_ref()).collect::<Vec<_>>(), ids, "{name}");
    }
}

#[test]
fn every_result_that_is_not_a_pass_has_a_remedy_and_every_message_is_one_line() {
    for (name, mutate, ..) in rows() {
        for r in run(*mutate) {
            assert!(r.status == Status::Pass || !r.remedy.trim().is_empty(), "{name}: {} has no remedy", r.id);
            assert!(!r.message.is_empty() && !r.message.contains('\n'), "{name}: {} message {:?}", r.id, r.message);
            assert!(!r.source.is_empty());
        }
    }
}

#[test]
fn an_empty_observation_is_incomplete_never_passing_or_failing_what_needs_data() {
    let results = evaluate(&healthy_desired(), &Observed::default(), now());
    assert!(
        results.iter().all(|r| r.status != Status::Fail),
        "{:?}",
        results.iter().filter(|r| r.status == Status::Fail).collect::<Vec<_>>()
    );
    // Only rules that read nothing but the spec may pass.
    let spec_only: BTreeSet<&str> = [
        "ps-placement",
        "replication-network",
        "run-as-account",
        "os-match",
        "mt-storage-vmotion",
        "datastore-specified",
        "linux-failback-notes",
        // No failback approved in the spec: nothing to check.
        "fb-item-healthy",
        "fb-rpo-within-threshold",
        "fb-recovery-point",
    ]
    .into();
    for r in &results {
        assert!(r.status == Status::Unknown || spec_only.contains(r.id.as_ref()), "{} is {:?} without observation", r.id, r.status);
    }
    assert!(blocks_reprotect(&results));
    assert_eq!(summarize(&results).reason, PreflightReason::PreflightIncomplete);
}

#[test]
fn master_target_with_a_snapshot_fails_mt_no_snapshots() {
    let results = run(|_, o| mt_vm(o).snapshot_count = Some(2));
    let r = find(&results, "mt-no-snapshots");
    assert_eq!((r.status, r.severity), (Status::Fail, Severity::Blocking));
    assert!(r.message.contains("mt-win-01") && r.message.contains('2'), "{}", r.message);
    assert!(blocks_reprotect(&results));
}

#[test]
fn a_missing_disk_enable_uuid_is_a_remediable_warning_when_remediation_is_allowed() {
    let results = run(|d, o| {
        d.master_target.allow_enable_disk_uuid = true;
        mt_vm(o).disk_enable_uuid = None;
    });
    let r = find(&results, "mt-disk-enable-uuid");
    assert_eq!((r.status, r.severity, r.remediable), (Status::Fail, Severity::Warning, true));
    assert!(!blocks_reprotect(&results));
    let strict = run(|_, o| mt_vm(o).disk_enable_uuid = None);
    let r = find(&strict, "mt-disk-enable-uuid");
    assert_eq!((r.severity, r.remediable), (Severity::Blocking, false));
    assert!(blocks_reprotect(&strict));
}

#[test]
fn an_existing_vm_missing_from_vcenter_warns_that_a_new_vm_would_be_created() {
    let results = run(|_, o| {
        vc(o).on_premises_vms.insert("name:app-01".into(), None);
    });
    let r = find(&results, "alternate-location");
    assert_eq!((r.status, r.severity), (Status::Fail, Severity::Warning));
    assert!(r.message.contains("new VM") && r.message.contains("esx01.contoso.local"), "{}", r.message);
    let alternate = run(|d, _| d.on_premises = OnPremisesTarget::AlternateLocation);
    let r = find(&alternate, "alternate-location");
    assert_eq!(r.severity, Severity::Info);
    assert!(r.message.contains("esx01.contoso.local") && r.message.contains("ds-vmfs-01"), "{}", r.message);
}

#[test]
fn an_agent_inside_its_registration_window_is_unknown_with_the_deadline_then_fails_with_causes() {
    let waiting = run(|_, o| {
        it(o).last_successful_failover_time = Some(ago(5));
        it(o).agent_last_heartbeat = None;
    });
    let r = find(&waiting, "agent-registered");
    assert_eq!(r.status, Status::Unknown);
    assert!(r.message.contains(&(ago(5) + jiff::SignedDuration::from_mins(15)).to_string()), "{}", r.message);
    let late = run(|_, o| it(o).agent_last_heartbeat = None);
    let r = find(&late, "agent-registered");
    assert_eq!(r.status, Status::Fail);
    for cause in ["S2S VPN", "ExpressRoute private peering", "443", "process server"] {
        assert!(r.remedy.contains(cause), "remedy lacks {cause}: {}", r.remedy);
    }
}

#[test]
fn an_unlisted_retention_volume_explains_the_fifteen_minute_listing_delay() {
    let results = run(|d, _| d.master_target.retention_volume = Some("S:".into()));
    let r = find(&results, "retention-volume");
    assert_eq!(r.status, Status::Unknown);
    assert!(r.message.contains("15 minutes") && r.remedy.contains("refresh the configuration server"), "{r:?}");
}

#[test]
fn a_differing_failback_policy_only_warns_but_a_missing_one_blocks() {
    let differing = run(|_, o| {
        if let Some(p) = o.policies.as_mut().and_then(|p| p.get_mut(1)) {
            p.recovery_point_history_minutes = Some(720);
        }
    });
    assert_eq!(find(&differing, "failback-policy").severity, Severity::Warning);
    assert!(!blocks_reprotect(&differing));
    let missing = run(|_, o| o.policies = Some(Vec::new()));
    assert_eq!(find(&missing, "failback-policy").severity, Severity::Blocking);
    assert!(blocks_reprotect(&missing));
}

#[test]
fn summary_names_failing_and_unknown_ids_and_the_first_remedy() {
    let results = run(|_, o| {
        mt_vm(o).snapshot_count = Some(1);
        o.policies = None;
    });
    let s = summarize(&results);
    assert!(!s.passed);
    assert_eq!(s.reason, PreflightReason::PreflightFailed);
    assert!(s.message.starts_with("failing: mt-no-snapshots; unknown: failback-policy;"), "{}", s.message);
    assert!(s.message.contains("Delete all snapshots"), "{}", s.message);
    let warned = summarize(&run(|d, _| d.network = None));
    assert!(warned.passed && warned.message.contains("warnings: replication-network"), "{}", warned.message);
}

#[test]
fn render_table_aligns_the_message_column_and_shows_remedies_under_failures() {
    let results = run(|_, o| mt_vm(o).snapshot_count = Some(1));
    let table = render_table(&results);
    let col = table.lines().next().and_then(|l| l.find("MESSAGE")).expect("header");
    let rows: Vec<&str> = table.lines().skip(1).filter(|l| !l.trim_start().starts_with("remedy:")).collect();
    assert_eq!(rows.len(), results.len());
    for (line, r) in rows.iter().zip(&results) {
        assert_eq!(&line[col..], r.message, "misaligned: {line}");
    }
    assert_eq!(table.lines().filter(|l| l.trim_start().starts_with("remedy:")).count(), 1);
}

#[test]
fn check_results_serialise_in_camel_case_with_pascal_case_enums_and_round_trip() {
    let results = run(|d, o| {
        d.master_target.allow_enable_disk_uuid = true;
        mt_vm(o).disk_enable_uuid = Some(false);
    });
    let r = find(&results, "mt-disk-enable-uuid");
    let json = serde_json::to_value(r).expect("serialises");
    assert_eq!(json["severity"], "Warning");
    assert_eq!(json["status"], "Fail");
    assert_eq!(json["remediable"], true);
    assert_eq!(json["source"], "Prerequisites");
    let back: CheckResult = serde_json::from_value(json).expect("deserialises");
    assert_eq!(&back, r);
    let passed = serde_json::to_value(find(&results, "cs-heartbeat")).expect("serialises");
    assert!(passed.get("remedy").is_none() && passed.get("remediable").is_none(), "{passed}");
    let schema = serde_json::to_value(schemars::schema_for!(CheckResult)).expect("schema");
    assert!(schema["properties"]["severity"].is_object() && schema["properties"]["remediable"].is_object(), "{schema}");
}

#[test]
fn desired_defaults_follow_the_document() {
    let d = Desired::default();
    assert_eq!(d.agent_registration_window, jiff::SignedDuration::from_mins(15));
    assert_eq!(d.heartbeat_max_age, jiff::SignedDuration::from_mins(15));
    assert_eq!(
        (
            d.expected_failback_policy.rpo_threshold_minutes,
            d.expected_failback_policy.recovery_point_retention_minutes,
            d.expected_failback_policy.app_consistent_frequency_minutes
        ),
        (15, 1440, 60)
    );
    assert_eq!(d.on_premises, OnPremisesTarget::AlternateLocation);
    assert_eq!(d.master_target.retention_volume_for(Some(OsType::Windows)), Some("R:"));
    assert_eq!(d.master_target.retention_volume_for(Some(OsType::Linux)), Some("/mnt/retention"));
    assert_eq!(d.master_target.retention_volume_for(None), None);
}

#[test]
fn os_strings_from_asr_and_guests_are_classified() {
    assert_eq!(OsType::parse("Windows"), Some(OsType::Windows));
    assert_eq!(OsType::parse(" windows Server 2016"), Some(OsType::Windows));
    assert_eq!(OsType::parse("LINUX"), Some(OsType::Linux));
    assert_eq!(OsType::parse("Ubuntu 20.04"), Some(OsType::Linux));
    assert_eq!(OsType::parse(""), None);
    assert_eq!(OsType::parse("Solaris"), None);
}

#[test]
fn volume_names_compare_drive_letters_loosely_and_paths_exactly() {
    use reprotect_facts::same_volume;
    for (a, b) in [("R:", "r"), ("R:\\", "R"), ("r:/", "R:"), ("/mnt/retention/", "/mnt/retention")] {
        assert!(same_volume(a, b), "{a} vs {b}");
    }
    for (a, b) in [("R:", "S:"), ("/mnt/retention", "/mnt/Retention"), ("R:", "/mnt/r"), ("RR", "R")] {
        assert!(!same_volume(a, b), "{a} vs {b}");
    }
}

#[test]
fn durations_in_messages_are_human() {
    use super::context::human;
    assert_eq!(human(jiff::SignedDuration::from_secs(42)), "42s");
    assert_eq!(human(jiff::SignedDuration::from_secs(200)), "3m 20s");
    assert_eq!(human(jiff::SignedDuration::from_mins(125)), "2h 5m");
    assert_eq!(human(jiff::SignedDuration::from_secs(-30)), "-30s");
}

#[test]
fn a_partial_group_is_a_warning_only_when_the_policy_allows_it_and_names_the_undeclared_members() {
    let partial = |allow: bool| {
        run_with(|d, o| {
            d.replication_group = Some("rg-web".into());
            d.group_members = vec![GroupMember { item_name: Some("web-02".into()), ..member("web-02", "mt-win-01", None) }];
            d.allow_partial_group = allow;
            o.group_items = Some(vec![
                GroupItem { name: "app-01".into(), friendly_name: None },
                GroupItem { name: "web-02".into(), friendly_name: None },
                GroupItem { name: "4cf82a59-db".into(), friendly_name: Some("db-01".into()) },
            ]);
        })
    };
    let blocked = partial(false);
    let r = find(&blocked, "group-complete");
    assert_eq!((r.status, r.severity), (Status::Fail, Severity::Blocking));
    assert!(r.message.contains("db-01") && !r.message.contains("4cf82a59"), "friendly name, not the item name: {}", r.message);
    assert!(blocks_reprotect(&blocked));
    let allowed = partial(true);
    let r = find(&allowed, "group-complete");
    assert_eq!((r.status, r.severity), (Status::Fail, Severity::Warning));
    assert!(!blocking(&allowed).any(|b| b.id == "group-complete"));
}

fn run_with(mutate: impl FnOnce(&mut Desired, &mut Observed)) -> Vec<CheckResult> {
    let (mut d, mut o) = (healthy_desired(), healthy_observed());
    mutate(&mut d, &mut o);
    evaluate(&d, &o, now())
}

#[test]
fn messages_name_the_machine_by_the_items_friendly_name_when_the_spec_names_it_by_its_guid() {
    const GUID: &str = "4cf82a59-0b1c-4e8e-9d7a-3f1f0c9e2b11";
    let results = run_with(|d, o| {
        d.machine_name = GUID.into();
        d.datastore = None;
        d.os_type = Some(OsType::Linux);
        if let Some(item) = o.item.as_mut() {
            item.name = GUID.into();
        }
    });
    let failing: Vec<&CheckResult> = results.iter().filter(|r| r.status != Status::Pass).collect();
    assert!(failing.iter().any(|r| r.id == "datastore-specified" && r.message.contains("app-01")), "{failing:?}");
    let with_guid: Vec<_> = failing.iter().filter(|r| r.message.contains(GUID)).map(|r| (&r.id, &r.message)).collect();
    assert!(with_guid.is_empty(), "{with_guid:?}");
}

/// Azure moves heartbeats every few minutes; a passing check that quoted them would change every machine's
/// status (a write per machine per heartbeat) while nothing a person acts on changed.
#[test]
fn heartbeats_that_move_but_stay_fresh_leave_every_check_as_it_was() {
    let (d, o) = (healthy_desired(), healthy_observed());
    let before = evaluate(&d, &o, now());
    let mut later = o.clone();
    fab(&mut later).last_heartbeat = Some(now());
    ps(&mut later).last_heartbeat = Some(now());
    mt_asr(&mut later).last_heartbeat = Some(now());
    it(&mut later).agent_last_heartbeat = Some(now());
    let after = evaluate(&d, &later, now());
    let changed: Vec<String> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b != a)
        .map(|(b, a)| format!("{}: {:?} became {:?}", b.id, b.message, a.message))
        .collect();
    assert!(changed.is_empty(), "{}", changed.join("\n"));
}
