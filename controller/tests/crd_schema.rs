//! Offline checks of the generated CRDs: the committed YAML is current, examples validate, invalid examples fail as documented.
//!
//! Types, enums and bounds are checked with a JSON-schema validator; CEL rules with kube's
//! client-side CEL evaluator. The real API server is the final word (see tests/support).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failed test

use kube::CustomResourceExt;
use reprotect_controller::crd::{MasterTarget, ProtectedMachine, ReprotectPolicy, crd_files};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("controller/ has a parent").to_path_buf()
}

fn schema_of(kind: &str) -> Value {
    let crd = match kind {
        "ReprotectPolicy" => ReprotectPolicy::crd(),
        "MasterTarget" => MasterTarget::crd(),
        "ProtectedMachine" => ProtectedMachine::crd(),
        other => panic!("unknown kind {other}"),
    };
    serde_json::to_value(crd.spec.versions[0].schema.as_ref().unwrap().open_api_v3_schema.as_ref().unwrap()).unwrap()
}

/// All problems the schema and CEL rules find in one object.
fn problems(obj: &Value) -> Vec<String> {
    let kind = obj["kind"].as_str().unwrap_or_default();
    let schema = schema_of(kind);
    let mut found: Vec<String> = match jsonschema::options().with_draft(jsonschema::Draft::Draft4).build(&schema) {
        Ok(v) => v.iter_errors(obj).map(|e| format!("{} at {}", e, e.instance_path())).collect(),
        Err(e) => panic!("schema of {kind} does not compile: {e}"),
    };
    if let Err(errors) = kube::core::cel::Validator::new().validate(&schema, obj, None) {
        found.push(errors.to_string());
    }
    found
}

fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_multiple::<Value>(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "yaml")).collect();
    files.sort();
    files
}

#[test]
fn committed_crds_match_the_rust_types() {
    for (name, generated) in crd_files() {
        let path = repo().join("crds").join(&name);
        if std::env::var_os("UPDATE_CRDS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(committed == generated, "crds/{name} is stale: run `make crds` (or UPDATE_CRDS=1 cargo test --test crd_schema)");
    }
}

#[test]
fn every_field_of_every_crd_has_a_description() {
    fn walk(path: &str, schema: &Value, missing: &mut Vec<String>) {
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, sub) in props {
                let here = format!("{path}.{name}");
                let skip = path.is_empty() && ["apiVersion", "kind", "metadata"].contains(&name.as_str()) || here.contains(".conditions.");
                if !skip && sub.get("description").is_none() {
                    missing.push(here.clone());
                }
                walk(&here, sub, missing);
            }
        }
        if let Some(items) = schema.get("items") {
            walk(&format!("{path}[]"), items, missing);
        }
    }
    for kind in ["ReprotectPolicy", "MasterTarget", "ProtectedMachine"] {
        let mut missing = Vec::new();
        walk("", &schema_of(kind), &mut missing);
        assert!(missing.is_empty(), "{kind}: fields without a doc comment: {missing:?}");
    }
}

#[test]
fn every_example_is_valid() {
    let mut checked = 0;
    for file in yaml_files(&repo().join("examples")) {
        for doc in documents(&file) {
            if doc["apiVersion"].as_str().is_some_and(|v| v.starts_with("reprotect.io/")) {
                let p = problems(&doc);
                assert!(p.is_empty(), "{} {}: {p:?}", file.display(), doc["metadata"]["name"]);
                checked += 1;
            }
        }
    }
    assert!(checked >= 8, "expected a complete example set, checked {checked}");
}

#[test]
fn every_invalid_example_is_rejected_with_its_documented_message() {
    let files = yaml_files(&repo().join("examples/invalid"));
    assert!(files.len() >= 8);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let expect =
            text.lines().find_map(|l| l.strip_prefix("# expect: ")).unwrap_or_else(|| panic!("{} lacks '# expect:'", file.display()));
        let problems = problems(&documents(&file)[0]).join(" | ");
        assert!(problems.contains(expect), "{}: expected {expect:?} in {problems:?}", file.display());
    }
}

#[test]
fn kubectl_get_pm_answers_what_is_wrong_at_a_glance_and_every_column_points_at_a_status_field() {
    let crd = ProtectedMachine::crd();
    let columns = crd.spec.versions[0].additional_printer_columns.clone().unwrap_or_default();
    let by_name = |n: &str| columns.iter().find(|c| c.name == n).unwrap_or_else(|| panic!("no column {n}"));
    for (name, path) in
        [("Reason", ".status.conditions[?(@.type==\"Ready\")].reason"), ("Checks", ".status.checksPassed"), ("Job", ".status.job.progress")]
    {
        let c = by_name(name);
        assert_eq!((c.json_path.as_str(), c.priority), (path, None), "{name} is in the default view");
    }
    assert_eq!(by_name("Message").priority, Some(1), "the long message only with -o wide");
    // Each status path exists in the schema (a typo would leave the column empty forever).
    let status = &schema_of("ProtectedMachine")["properties"]["status"]["properties"];
    for field in ["checksPassed", "job", "conditions", "masterTarget", "phase"] {
        assert!(status.get(field).is_some(), "status.{field} not in the schema");
    }
    assert!(status["job"]["properties"].get("progress").is_some());
}
