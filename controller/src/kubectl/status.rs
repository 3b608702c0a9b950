//! `kubectl reprotect status`: policies, master targets and machines of a namespace (or all) at a glance:
//! machines by phase, why the blocked ones are blocked, and the replication groups.

use crate::conditions::is_true;
use crate::crd::{MasterTarget, Phase, ProtectedMachine, ReprotectPolicy, StatusCondition, condition_types};
use comfy_table::{Table, presets};
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use std::collections::BTreeMap;

/// Read the three kinds (in `ns`, or everywhere when `None`) and render them.
pub async fn run(client: &Client, ns: Option<&str>) -> anyhow::Result<String> {
    async fn list<K>(client: &Client, ns: Option<&str>) -> anyhow::Result<Vec<K>>
    where
        K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        let api: Api<K> = match ns {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        };
        Ok(api.list(&ListParams::default()).await?.items)
    }
    let policies = list::<ReprotectPolicy>(client, ns).await?;
    let master_targets = list::<MasterTarget>(client, ns).await?;
    let machines = list::<ProtectedMachine>(client, ns).await?;
    Ok(render(&policies, &master_targets, &machines, ns.is_none()))
}

fn ready(conditions: &[StatusCondition]) -> (&'static str, String, String) {
    match conditions.iter().find(|c| c.type_ == condition_types::READY) {
        Some(c) => (if c.status == "True" { "True" } else { "False" }, c.reason.to_string(), c.message.to_string()),
        None => ("Unknown", String::new(), "not reconciled yet".into()),
    }
}

fn table(header: &[&str], all_namespaces: bool) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING);
    let mut h: Vec<&str> = if all_namespaces { vec!["NAMESPACE"] } else { Vec::new() };
    h.extend_from_slice(header);
    t.set_header(h);
    t
}

fn row(ns: Option<String>, all_namespaces: bool, cells: Vec<String>) -> Vec<String> {
    let mut r: Vec<String> = if all_namespaces { vec![ns.unwrap_or_default()] } else { Vec::new() };
    r.extend(cells);
    r
}

/// The status page: three tables, a count by phase, the blocked machines with their reason and message, and
/// the replication groups with their members' phases.
pub fn render(
    policies: &[ReprotectPolicy],
    master_targets: &[MasterTarget],
    machines: &[ProtectedMachine],
    all_namespaces: bool,
) -> String {
    let mut out = String::new();
    let mut t = table(&["POLICY", "MODE", "READY", "REASON"], all_namespaces);
    for p in policies {
        let (ok, reason, _) = ready(p.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default());
        let paused = if p.spec.paused { " (paused)" } else { "" };
        t.add_row(row(p.namespace(), all_namespaces, vec![p.name_any(), format!("{:?}{paused}", p.spec.mode), ok.into(), reason]));
    }
    out.push_str(&format!("{t}\n\n"));
    let mut t = table(&["MASTER TARGET", "READY", "REASON"], all_namespaces);
    for m in master_targets {
        let (ok, reason, _) = ready(m.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default());
        t.add_row(row(m.namespace(), all_namespaces, vec![m.name_any(), ok.into(), reason]));
    }
    out.push_str(&format!("{t}\n\n"));

    let mut t = table(&["MACHINE", "PHASE", "READY", "REASON", "CHECKS", "GROUP", "JOB"], all_namespaces);
    let mut by_phase: BTreeMap<Phase, usize> = BTreeMap::new();
    let mut blocked = Vec::new();
    let mut groups: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for m in machines {
        let st = m.status.clone().unwrap_or_default();
        let (ok, reason, message) = ready(&st.conditions);
        *by_phase.entry(st.phase).or_default() += 1;
        let findings: Vec<&str> =
            [condition_types::DEGRADED, condition_types::FAILBACK_AT_RISK].into_iter().filter(|c| is_true(&st.conditions, c)).collect();
        if st.phase == Phase::Blocked || !findings.is_empty() {
            let what = if findings.is_empty() { reason.clone() } else { findings.join(", ") };
            blocked.push(format!("  {}: {what}: {message}", m.name_any()));
        }
        let group = m.spec.replication_group.as_deref().unwrap_or_default().to_string();
        if !group.is_empty() {
            groups.entry((m.namespace().unwrap_or_default(), group.clone())).or_default().push(format!("{} {}", m.name_any(), st.phase));
        }
        let job = st.job.as_ref().and_then(|j| j.progress.clone().or_else(|| j.state.clone())).map(String::from).unwrap_or_default();
        let cells =
            vec![m.name_any(), st.phase.to_string(), ok.into(), reason, st.checks_passed.unwrap_or_default().to_string(), group, job];
        t.add_row(row(m.namespace(), all_namespaces, cells));
    }
    out.push_str(&format!("{t}\n\n"));
    let counts: Vec<String> = by_phase.iter().map(|(p, n)| format!("{n} {p}")).collect();
    out.push_str(&format!("{} machine(s): {}\n", machines.len(), if counts.is_empty() { "none".into() } else { counts.join(", ") }));
    if !blocked.is_empty() {
        out.push_str("\nNeeds attention:\n");
        out.push_str(&blocked.join("\n"));
        out.push('\n');
    }
    if !groups.is_empty() {
        out.push_str("\nReplication groups:\n");
        for ((ns, group), members) in groups {
            let prefix = if all_namespaces { format!("{ns}/") } else { String::new() };
            out.push_str(&format!("  {prefix}{group}: {}\n", members.join(", ")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::ProtectedMachineStatus;

    fn examples<K: serde::de::DeserializeOwned>(text: &str, kind: &str) -> Vec<K> {
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(text).unwrap();
        docs.into_iter().filter(|d| d["kind"] == kind).map(|d| serde_json::from_value(d).unwrap()).collect()
    }

    fn status(phase: Phase, reason: &str, message: &str) -> ProtectedMachineStatus {
        let ready = crate::conditions::ConditionSpec::new(condition_types::READY, phase == Phase::Protected, reason, message);
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        ProtectedMachineStatus {
            phase,
            conditions: crate::conditions::merge(&[], &[ready], Some(1), now),
            checks_passed: Some("41/46".into()),
            ..Default::default()
        }
    }

    #[test]
    fn status_counts_machines_by_phase_and_says_why_the_blocked_ones_are_blocked() {
        let policies: Vec<ReprotectPolicy> = examples(include_str!("../../../examples/01-policy.yaml"), "ReprotectPolicy");
        let mts: Vec<MasterTarget> = examples(include_str!("../../../examples/02-master-targets.yaml"), "MasterTarget");
        let mut machines: Vec<ProtectedMachine> = examples(include_str!("../../../examples/03-machines.yaml"), "ProtectedMachine");
        assert!(machines.len() >= 3, "the examples declare several machines");
        for m in machines.iter_mut() {
            m.status = Some(status(Phase::Protected, "Protected", "replicating"));
        }
        machines[0].status = Some(status(Phase::Blocked, "PreflightFailed", "mt-no-snapshots: remove the snapshots"));
        let out = render(&policies, &mts, &machines, false);
        let blocked_name = machines[0].name_any();
        assert!(out.contains(&format!("{} machine(s): {} Protected, 1 Blocked", machines.len(), machines.len() - 1)), "{out}");
        assert!(out.contains(&format!("{blocked_name}: PreflightFailed: mt-no-snapshots: remove the snapshots")), "{out}");
        assert!(out.contains("41/46"), "checks passed/total column: {out}");
        assert!(!out.contains("NAMESPACE"), "one namespace: no namespace column");
        for p in &policies {
            assert!(out.contains(&p.name_any()), "{out}");
        }
        if machines.iter().any(|m| m.spec.replication_group.is_some()) {
            assert!(out.contains("Replication groups:"), "{out}");
        }
        let all = render(&policies, &mts, &machines, true);
        assert!(all.contains("NAMESPACE"), "{all}");
    }
}
