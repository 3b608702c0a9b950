//! The Secrets and CA ConfigMaps a policy names, watched (`--watch-referenced-objects`) against a real API server:
//! read once per change, however many passes ask, the policy's verifying pass included; a rotation is seen
//! without a read; and an identity without `list`/`watch` still gets its answers by `get`.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams, PostParams};
use reprotect_controller::connections::{ObjectCache, Reads, vcenter_settings};
use reprotect_controller::crd::ReprotectPolicy;
use reprotect_controller::metrics::Metrics;
use reprotect_test_support::{parse_yaml_docs, shared, test_namespace};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn policy(ns: &str) -> ReprotectPolicy {
    let docs = parse_yaml_docs(include_str!("../../../examples/01-policy.yaml")).expect("example parses");
    let mut policy: ReprotectPolicy = serde_json::from_value(docs.into_iter().next().expect("one policy")).expect("a policy");
    policy.metadata.namespace = Some(ns.into());
    policy.spec.vcenter.tls.ca_bundle = Some(serde_json::from_value(serde_json::json!({"configMapName": "vc-ca"})).expect("reference"));
    policy
}

fn credentials(password: &str) -> Secret {
    serde_json::from_value(serde_json::json!({"metadata": {"name": "vcenter-credentials"},
        "stringData": {"username": "administrator@vsphere.local", "password": password}}))
    .expect("secret")
}

/// API-server requests of one operation (e.g. `get secrets`) the client made, from its metrics.
fn requests(metrics: &Metrics, operation: &str) -> u64 {
    let needle = format!("operation=\"{operation}\"");
    metrics
        .render()
        .lines()
        .filter(|l| l.starts_with("reprotect_external_requests_total") && l.contains(&needle))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_secret_is_read_once_per_change_however_many_passes_ask_and_a_rotation_needs_no_get() -> anyhow::Result<()> {
    let ns = test_namespace().await;
    let ns = ns.name();
    let admin = shared().client().await;
    let secrets: Api<Secret> = Api::namespaced(admin.clone(), ns);
    secrets.create(&PostParams::default(), &credentials("first")).await?;
    let ca = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "vc-ca"}, "data": {"ca.crt": "PEM"}});
    Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(admin.clone(), ns)
        .create(&PostParams::default(), &serde_json::from_value(ca)?)
        .await?;
    let metrics = Arc::new(Metrics::default());
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(shared().kubeconfig_path())?,
        &kube::config::KubeConfigOptions::default(),
    )
    .await?;
    let client = reprotect_controller::kube_client::metered(config, metrics.clone())?;
    let cache = ObjectCache::watching(Duration::from_secs(3600), client.clone());
    let policy = policy(ns);

    // A hundred passes of machines and of the policy (which reads fresh when nothing is watched).
    for i in 0..100 {
        let reads = if i % 2 == 0 { Reads::cached(&client, &cache) } else { Reads::refreshing(&client, &cache) };
        let settings = vcenter_settings(&reads, &policy).await?;
        assert_eq!(settings.password.expose(), "first");
        assert_eq!(settings.ca_pem.as_deref(), Some("PEM"));
    }
    assert_eq!(requests(&metrics, "get secrets"), 0, "the watch answered every pass");
    assert_eq!(requests(&metrics, "get configmaps"), 0, "the CA ConfigMap too");
    assert_eq!(requests(&metrics, "list secrets"), 1, "one initial list of the one named Secret");

    // A rotation arrives through the watch.
    let rotated = serde_json::json!({"stringData": {"password": "second"}});
    secrets.patch("vcenter-credentials", &PatchParams::default(), &Patch::Merge(&rotated)).await?;
    let started = Instant::now();
    loop {
        let settings = vcenter_settings(&Reads::cached(&client, &cache), &policy).await?;
        if settings.password.expose() == "second" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the rotation was not seen within 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(requests(&metrics, "get secrets"), 0, "the rotation came with the watch, not a read");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identity_allowed_only_to_get_secrets_reads_them_per_ttl_instead_of_watching() -> anyhow::Result<()> {
    let ns = test_namespace().await;
    let ns = ns.name();
    let admin = shared().client().await;
    Api::<Secret>::namespaced(admin.clone(), ns).create(&PostParams::default(), &credentials("first")).await?;
    let role = serde_json::json!({
        "apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "get-only", "namespace": ns}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "get-only", "namespace": ns},
             "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "get-only", "namespace": ns},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "get-only"},
             "subjects": [{"kind": "ServiceAccount", "name": "get-only", "namespace": ns}]}]});
    let applied = shared().kubectl_stdin(&["apply", "-f", "-"], &role.to_string()).await?;
    assert!(applied.success, "{}", applied.stderr);
    let client = shared().client_as_service_account(ns, "get-only").await?;
    let cache = ObjectCache::watching(Duration::from_secs(3600), client.clone());
    let mut policy = policy(ns);
    policy.spec.vcenter.tls.ca_bundle = None;
    let settings = vcenter_settings(&Reads::cached(&client, &cache), &policy).await?;
    assert_eq!(settings.password.expose(), "first", "the refused watch left the answer to a get");
    Ok(())
}
