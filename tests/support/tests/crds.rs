//! Our CRDs against the real kube-apiserver: install, examples accepted/rejected, explain, columns.
//!
//! CRDs come from the committed `crds/*.yaml`; while that folder is still empty they are
//! generated from the controller's types (`reprotect_controller::crd::crd_files`), so the
//! tests always run against real CRDs.

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use reprotect_test_support::{client, install_crds, parse_yaml_docs, shared};
use tokio::sync::OnceCell;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// CRDs installed once per test binary (plus the `dr` namespace the examples use).
async fn crds() -> &'static Vec<serde_json::Value> {
    static CRDS: OnceCell<Vec<serde_json::Value>> = OnceCell::const_new();
    CRDS.get_or_init(|| async {
        let committed = repo().join("crds");
        let dir = if yaml_files(&committed).is_empty() {
            let tmp = tempfile::tempdir().unwrap().keep();
            for (name, yaml) in reprotect_controller::crd::crd_files() {
                std::fs::write(tmp.join(name), yaml).unwrap();
            }
            tmp
        } else {
            committed
        };
        let names = install_crds(&dir).await.expect("install CRDs");
        assert_eq!(names.len(), 3, "expected 3 CRDs, got {names:?}");
        let ns: Namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": "dr"}})).unwrap();
        Api::<Namespace>::all(client().await).create(&PostParams::default(), &ns).await.expect("namespace dr");
        yaml_files(&dir).iter().flat_map(|f| parse_yaml_docs(&std::fs::read_to_string(f).unwrap()).unwrap()).collect()
    })
    .await
}

#[tokio::test]
async fn every_crd_installs_and_becomes_established() {
    let crds = crds().await;
    let out = shared().kubectl(&["get", "crd", "-o", "name"]).await.unwrap().ok().unwrap();
    for crd in crds {
        let name = crd["metadata"]["name"].as_str().unwrap();
        assert!(out.contains(name), "{name} missing from `kubectl get crd`: {out}");
        let cond = shared()
            .kubectl(&["get", "crd", name, "-o", "jsonpath={.status.conditions[?(@.type==\"Established\")].status}"])
            .await
            .unwrap()
            .ok()
            .unwrap();
        assert_eq!(cond, "True", "{name} is not Established");
    }
}

#[tokio::test]
async fn every_example_manifest_is_accepted_by_the_api_server() {
    crds().await;
    let files = yaml_files(&repo().join("examples"));
    assert!(!files.is_empty(), "examples/ has no manifests");
    for file in files {
        let out = shared().kubectl(&["apply", "--server-side", "-f", file.to_str().unwrap()]).await.unwrap();
        assert!(out.success, "{} rejected:\n{}", file.display(), out.stderr);
    }
}

#[tokio::test]
async fn every_invalid_example_is_rejected_with_the_message_in_its_expect_line() {
    crds().await;
    let files = yaml_files(&repo().join("examples/invalid"));
    assert!(!files.is_empty(), "examples/invalid/ has no manifests");
    let mut failures = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect:"))
            .unwrap_or_else(|| panic!("{} has no leading `# expect:` line", file.display()))
            .trim()
            .to_string();
        let out = shared().kubectl(&["apply", "--server-side", "--dry-run=server", "-f", file.to_str().unwrap()]).await.unwrap();
        if out.success {
            failures.push(format!("{}: accepted, expected rejection with {expect:?}", file.display()));
        } else if !out.stderr.contains(&expect) {
            failures.push(format!("{}: rejected without {expect:?}:\n{}", file.display(), out.stderr));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn kubectl_explain_shows_the_documented_fields_of_protectedmachine_spec() {
    let crds = crds().await;
    let pm = crds.iter().find(|c| c["spec"]["names"]["kind"] == "ProtectedMachine").expect("ProtectedMachine CRD");
    let props =
        pm["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"].as_object().expect("spec properties");
    // An Established CRD reaches the API server's published OpenAPI a moment later (the
    // OpenAPI controller runs asynchronously), so explain may briefly not know the resource.
    let mut attempt = 0;
    let out = loop {
        let out = shared().kubectl(&["explain", "protectedmachine.spec"]).await.unwrap();
        attempt += 1;
        if out.success || attempt >= 60 || !out.stderr.contains("couldn't find resource") {
            break out.ok().unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    assert!(out.contains("FIELDS:"), "{out}");
    for (field, schema) in props {
        assert!(out.contains(field.as_str()), "explain lacks {field}:\n{out}");
        let doc = schema["description"].as_str().unwrap_or("");
        assert!(!doc.is_empty(), "spec.{field} has no description");
        let first_words: String = doc.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
        assert!(out.contains(&first_words), "explain lacks the doc of {field} ({first_words:?}):\n{out}");
    }
}

#[tokio::test]
async fn kubectl_get_pm_shows_the_printer_columns() {
    let crds = crds().await;
    let pm = crds.iter().find(|c| c["spec"]["names"]["kind"] == "ProtectedMachine").unwrap();
    let columns = pm["spec"]["versions"][0]["additionalPrinterColumns"].as_array().expect("printer columns");
    let manifest = "apiVersion: reprotect.io/v1alpha1\nkind: ProtectedMachine\nmetadata: {name: columns-check, namespace: dr}\n\
                    spec:\n  policyRef: dr-failback\n  item: {name: columns-check}\n  existingVm: {name: columns-check}\n  osType: Linux\n";
    shared().kubectl_stdin(&["apply", "--server-side", "-f", "-"], manifest).await.unwrap().ok().expect("apply pm");
    let out = shared().kubectl(&["get", "pm", "-n", "dr", "columns-check"]).await.unwrap().ok().unwrap();
    let wide = shared().kubectl(&["get", "pm", "-n", "dr", "columns-check", "-o", "wide"]).await.unwrap().ok().unwrap();
    let (header, wide_header) = (out.lines().next().unwrap_or(""), wide.lines().next().unwrap_or(""));
    for col in columns {
        let name = col["name"].as_str().unwrap().to_uppercase();
        // Priority 0 columns are in the default view; higher ones (the long message) only with -o wide.
        let default_view = col["priority"].as_i64().unwrap_or(0) == 0;
        assert_eq!(header.contains(&name), default_view, "column {name} in header {header:?}");
        assert!(wide_header.contains(&name), "column {name} missing from the wide header {wide_header:?}");
    }
    assert!(out.contains("dr-failback"), "policy column value missing:\n{out}");
}
