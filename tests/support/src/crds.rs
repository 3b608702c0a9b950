//! Installing CustomResourceDefinitions from YAML files and waiting until they are Established.

use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};

use crate::shared::client;

/// Every non-empty document of a (multi-document) YAML text, parsed with serde-saphyr.
pub fn parse_yaml_docs(text: &str) -> anyhow::Result<Vec<serde_json::Value>> {
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(text)?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// Server-side-apply every CRD in every `*.yaml`/`*.yml` file of `dir` to the shared control
/// plane and wait (up to 30 s each) until it is Established. Returns the CRD names applied.
/// Fails if `dir` holds no CRD or a document is not a CustomResourceDefinition.
pub async fn install_crds(dir: impl AsRef<Path>) -> anyhow::Result<Vec<String>> {
    let dir = dir.as_ref();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let api: Api<CustomResourceDefinition> = Api::all(client().await);
    let params = PatchParams::apply("reprotect-test-support").force();
    let mut names = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)?;
        for doc in parse_yaml_docs(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))? {
            anyhow::ensure!(
                doc["kind"] == "CustomResourceDefinition",
                "{}: a document of kind {} is not a CustomResourceDefinition",
                file.display(),
                doc["kind"]
            );
            let crd: CustomResourceDefinition = serde_json::from_value(doc)?;
            let name = crd.metadata.name.clone().unwrap_or_default();
            api.patch(&name, &params, &Patch::Apply(&crd))
                .await
                .map_err(|e| anyhow::anyhow!("apply CRD {name} from {}: {e}", file.display()))?;
            names.push(name);
        }
    }
    anyhow::ensure!(!names.is_empty(), "no CustomResourceDefinition found in {}", dir.display());
    for name in &names {
        wait_established(&api, name, Duration::from_secs(30)).await?;
    }
    Ok(names)
}

async fn wait_established(api: &Api<CustomResourceDefinition>, name: &str, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let crd = api.get(name).await?;
        let conditions = crd.status.and_then(|s| s.conditions).unwrap_or_default();
        if conditions.iter().any(|c| c.type_ == "Established" && c.status == "True") {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("CRD {name} not Established after {timeout:?}; conditions: {conditions:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
