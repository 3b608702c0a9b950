//! `kubectl reprotect pause|resume pm/NAME|--all`: set or remove the `reprotect.io/paused` annotation.
//!
//! An annotation rather than `spec.paused` on purpose: GitOps tools (Argo CD, Flux) own the spec they apply
//! and would undo a spec change at the next sync, while they leave an annotation they do not manage alone.

use crate::crd::{PAUSED_ANNOTATION, ProtectedMachine};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};

/// Pause (`true`) or resume (`false`) the named machines, or every machine of the namespace when `names` is
/// empty; returns one line per machine saying what changed.
pub async fn set_paused(client: &Client, ns: &str, names: &[String], paused: bool) -> anyhow::Result<Vec<String>> {
    let api: Api<ProtectedMachine> = Api::namespaced(client.clone(), ns);
    let targets: Vec<String> = if names.is_empty() {
        api.list(&ListParams::default()).await?.items.iter().map(ResourceExt::name_any).collect()
    } else {
        names.to_vec()
    };
    if targets.is_empty() {
        anyhow::bail!("no ProtectedMachine in namespace {ns}");
    }
    // A JSON merge patch: `null` removes the annotation; other annotations are untouched.
    let value = if paused { serde_json::Value::String("true".into()) } else { serde_json::Value::Null };
    let patch = serde_json::json!({"metadata": {"annotations": {PAUSED_ANNOTATION: value}}});
    let verb = if paused { "paused" } else { "resumed" };
    let mut lines = Vec::with_capacity(targets.len());
    for name in targets {
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| anyhow::anyhow!("protectedmachine/{name} in {ns}: {e}"))?;
        lines.push(format!("protectedmachine.reprotect.io/{name} {verb}"));
    }
    Ok(lines)
}
