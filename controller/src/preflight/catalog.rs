//! The rule catalog: what every check verifies, rendered as a table, JSON, or the README's troubleshooting Markdown.

use super::ids::RuleInfo;
use super::rules::ALL;

/// Every rule, in evaluation order.
pub fn catalog() -> Vec<RuleInfo> {
    ALL.iter().map(|r| r.info).collect()
}

/// The catalog as an aligned text table: `ID  SEVERITY  WHAT IT VERIFIES`.
pub fn catalog_table() -> String {
    let rules = catalog();
    let id_w = rules.iter().map(|r| r.id.as_str().len()).max().unwrap_or(0).max("ID".len());
    let sev_w = "SEVERITY".len();
    let mut out = format!("{:<id_w$}  {:<sev_w$}  WHAT IT VERIFIES\n", "ID", "SEVERITY");
    for r in &rules {
        out.push_str(&format!("{:<id_w$}  {:<sev_w$}  {}\n", r.id.as_str(), r.severity.as_str(), r.description));
    }
    out
}

/// The catalog as a JSON array of `{id, subject, severity, description, remedy, source}`.
pub fn catalog_json() -> String {
    // Serialising static strings and a unit enum cannot fail; fall back to an empty array rather than panic.
    let mut json = serde_json::to_string_pretty(&catalog()).unwrap_or_else(|_| "[]".to_owned());
    json.push('\n');
    json
}

/// The troubleshooting table the README embeds between `<!-- BEGIN TROUBLESHOOTING -->` and `<!-- END TROUBLESHOOTING -->`.
pub fn troubleshooting_markdown() -> String {
    let mut out = String::from("| Check | Severity | What it verifies | Remedy |\n|---|---|---|---|\n");
    for r in catalog() {
        out.push_str(&format!("| `{}` | {} | {} | {} |\n", r.id, r.severity.as_str(), cell(r.description), cell(r.remedy)));
    }
    out
}

/// Escape what would break a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_rule_id_is_unique_kebab_case_and_documented() {
        let rules = catalog();
        let ids: BTreeSet<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), rules.len(), "duplicate rule id");
        for r in &rules {
            assert!(r.id.as_str().chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{} is not kebab-case", r.id);
            assert!(!r.description.is_empty() && !r.remedy.is_empty() && !r.source.is_empty(), "{} lacks text", r.id);
        }
    }

    #[test]
    fn the_rules_the_issue_names_are_all_in_the_catalog() {
        let ids: BTreeSet<&str> = catalog().iter().map(|r| r.id.as_str()).collect();
        for id in [
            "mt-disk-enable-uuid",
            "mt-no-snapshots",
            "mt-scsi-controller",
            "mt-vmware-tools",
            "mt-vmfs-datastore",
            "mt-storage-vmotion",
            "mt-heartbeat",
            "os-match",
            "retention-volume",
            "datastore-specified",
            "datastore-type",
            "datastore-visible",
            "vm-datastore-access",
            "alternate-location",
            "disk-uuid-unique",
            "cs-heartbeat",
            "ps-heartbeat",
            "ps-placement",
            "vcenter-permissions",
            "vcenter-discovered",
            "esxi-edition",
            "failed-over",
            "cs-knows-vm",
            "agent-registered",
            "unsupported-source",
            "group-same-master-target",
            "failback-policy",
            "linux-failback-notes",
            "failback-possible",
            "run-as-account",
            "item-unique",
            "supported-provider",
            "datastore-writable",
        ] {
            assert!(ids.contains(id), "missing rule {id}");
        }
    }

    #[test]
    fn catalog_json_is_an_array_with_the_documented_keys() {
        let value: serde_json::Value = serde_json::from_str(&catalog_json()).expect("valid JSON");
        let items = value.as_array().expect("an array");
        assert_eq!(items.len(), catalog().len());
        for item in items {
            let keys: BTreeSet<&str> = item.as_object().expect("objects").keys().map(String::as_str).collect();
            assert_eq!(keys, BTreeSet::from(["id", "subject", "severity", "description", "remedy", "source"]));
        }
        assert_eq!(items[0]["severity"], "Blocking");
        assert_eq!(items[0]["id"], "cs-heartbeat");
        assert_eq!(items[0]["subject"], "Infrastructure");
    }

    #[test]
    fn the_catalog_has_one_rule_per_typed_id_in_id_order_with_its_subject() {
        let rules = catalog();
        assert_eq!(rules.iter().map(|r| r.id).collect::<Vec<_>>(), crate::preflight::RuleId::ALL);
        assert!(rules.iter().all(|r| r.subject == r.id.subject()));
    }

    #[test]
    fn troubleshooting_markdown_has_the_header_and_one_row_per_rule() {
        let md = troubleshooting_markdown();
        let mut lines = md.lines();
        assert_eq!(lines.next(), Some("| Check | Severity | What it verifies | Remedy |"));
        assert_eq!(md.lines().count(), catalog().len() + 2);
        assert!(md.lines().skip(2).all(|l| l.starts_with("| `") && l.ends_with(" |")));
    }

    /// Set `UPDATE_DOCS=1` to rewrite the table in `docs/troubleshooting.md` instead of failing.
    #[test]
    fn docs_troubleshooting_embeds_the_current_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/troubleshooting.md");
        let doc = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        let (begin, end) = ("<!-- BEGIN TROUBLESHOOTING -->\n", "<!-- END TROUBLESHOOTING -->");
        let start = doc.find(begin).map(|i| i + begin.len()).expect("begin marker");
        let stop = doc.find(end).expect("end marker");
        let table = troubleshooting_markdown();
        if doc[start..stop] == table {
            return;
        }
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(path, format!("{}{table}{}", &doc[..start], &doc[stop..])).expect("write docs");
            return;
        }
        let drift = doc[start..stop].lines().zip(table.lines()).find(|(a, b)| a != b);
        panic!("docs/troubleshooting.md is out of date (rerun with UPDATE_DOCS=1); first difference: {drift:?}");
    }

    #[test]
    fn catalog_table_lists_every_rule_under_an_aligned_header() {
        let table = catalog_table();
        assert!(table.starts_with("ID"));
        assert_eq!(table.lines().count(), catalog().len() + 1);
        let col = table.lines().next().and_then(|l| l.find("SEVERITY")).expect("header");
        assert!(table.lines().skip(1).all(|l| ["Blocking", "Warning", "Info"].iter().any(|s| l[col..].starts_with(s))));
    }
}
