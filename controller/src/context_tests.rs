//! The context's stores, scopes and submitted-job records.

use super::*;
use kube::ResourceExt;
use kube::runtime::{reflector::store::Writer, watcher::Event};

fn store<K>(objects: Vec<K>) -> Store<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + 'static,
{
    let mut writer = Writer::default();
    writer.apply_watcher_event(&Event::Init);
    for o in objects {
        writer.apply_watcher_event(&Event::InitApply(o));
    }
    writer.apply_watcher_event(&Event::InitDone);
    writer.as_reader()
}

fn machine(ns: &str, name: &str, policy: &str) -> ProtectedMachine {
    let mut pm: ProtectedMachine = crate::testing::example(include_str!("../../examples/03-machines.yaml"), "app-01");
    pm.metadata.namespace = Some(ns.into());
    pm.metadata.name = Some(name.into());
    pm.spec.policy_ref = policy.into();
    pm
}

fn policy(ns: &str, name: &str) -> ReprotectPolicy {
    let mut p: ReprotectPolicy = crate::testing::example(include_str!("../../examples/01-policy.yaml"), "dr-failback");
    p.metadata.namespace = Some(ns.into());
    p.metadata.name = Some(name.into());
    p
}

/// One scope's stores and claim index, as its watches would fill them.
fn scope(policies: Vec<ReprotectPolicy>, machines: Vec<ProtectedMachine>) -> Stores {
    let claims = crate::claim_index::ClaimIndex::default();
    claims.apply(&Event::Init);
    for m in &machines {
        claims.apply(&Event::InitApply(m.clone()));
    }
    claims.apply(&Event::InitDone);
    Stores { policies: store(policies), master_targets: store(vec![]), machines: store(machines), claims }
}

#[test]
fn the_machines_naming_an_item_are_found_in_every_scope_once_each_with_the_policy_of_its_own_namespace() {
    let named = |ns: &str, name: &str, policy: &str, item: &str| {
        let mut pm = machine(ns, name, policy);
        pm.spec.item.name = Some(item.into());
        pm
    };
    let a = scope(
        vec![policy("a", "dr"), policy("a", "other")],
        vec![named("a", "vm-1", "dr", "app-01"), named("a", "vm-2", "missing", "APP-01"), named("a", "vm-3", "dr", "app-02")],
    );
    let b = scope(vec![policy("b", "dr")], vec![named("b", "vm-1", "dr", "app-01")]);
    let all = AllScopes::of(&a);
    all.add(b);
    all.add(a.clone()); // registered twice, as tests do
    let policies = all.policies();
    let item = ProtectedItemFacts { id: "/x/app-01".into(), name: "app-01".into(), ..Default::default() };
    let me = ObjectRef::new("vm-1").within("a");
    let mut listed: Vec<(String, Option<String>)> = all
        .machines_naming(&item, &me)
        .iter()
        .map(|m| {
            (
                format!("{}/{}", m.namespace().unwrap_or_default(), m.name_any()),
                policy_of(&policies, m).map(|p| format!("{}/{}", p.namespace().unwrap_or_default(), p.name_any())),
            )
        })
        .collect();
    listed.sort();
    assert_eq!(listed, vec![("a/vm-2".into(), None), ("b/vm-1".into(), Some("b/dr".into()))]);
}

#[test]
fn submitted_jobs_are_found_whatever_the_case_of_the_item_id() {
    let jobs = SubmittedJobs::default();
    let at = Timestamp::from_second(1_800_000_000).unwrap();
    jobs.insert(&"/Subscriptions/S/x/App-01".into(), JobRef { job_name: "j1".into(), retry_after_seconds: None }, at);
    assert_eq!(jobs.get(&"/subscriptions/s/X/app-01".into()).map(|(j, t)| (j.job_name, t)), Some(("j1".into(), at)));
    jobs.remove(&"/SUBSCRIPTIONS/S/X/APP-01".into());
    assert!(jobs.get(&"/Subscriptions/S/x/App-01".into()).is_none());
}

#[test]
fn a_submitted_job_is_forgotten_once_the_stored_status_names_it_and_not_for_another_job() {
    let jobs = SubmittedJobs::default();
    let at = Timestamp::from_second(1_800_000_000).unwrap();
    jobs.insert(&"/subscriptions/s/x/app-01".into(), JobRef { job_name: "j2".into(), retry_after_seconds: None }, at);
    jobs.forget_recorded(&"/subscriptions/s/x/app-01".into(), "j1");
    assert_eq!(jobs.recorded(), 1, "status names an earlier job: the record of the new one stays");
    jobs.forget_recorded(&"/Subscriptions/S/x/App-01".into(), "J2");
    assert_eq!(jobs.recorded(), 0);
}
