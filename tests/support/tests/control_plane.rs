//! The real kube-apiserver started by reprotect-test-support works end to end.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use reprotect_test_support::{client, shared, test_namespace};
use serde_json::json;

fn from_json<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("valid object")
}

#[tokio::test]
async fn a_configmap_written_to_the_api_server_reads_back_unchanged() {
    let ns = test_namespace().await;
    let api: Api<ConfigMap> = Api::namespaced(client().await, &ns);
    let cm: ConfigMap = from_json(json!({
        "metadata": {"name": "round-trip"},
        "data": {"greeting": "hello", "multi": "line one\nline two\n"}
    }));
    api.create(&PostParams::default(), &cm).await.expect("create configmap");

    let got = api.get("round-trip").await.expect("get configmap");
    assert_eq!(got.data, cm.data);
    assert!(got.metadata.uid.is_some(), "the server assigns a uid");
    assert!(got.metadata.resource_version.is_some(), "the server assigns a resourceVersion");
}

#[tokio::test]
async fn server_side_apply_records_the_field_manager_and_merges_two_managers() {
    let ns = test_namespace().await;
    let api: Api<ConfigMap> = Api::namespaced(client().await, &ns);
    let first = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "1"}});
    let second = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"b": "2"}});
    api.patch("ssa", &PatchParams::apply("manager-one"), &Patch::Apply(&first)).await.expect("first apply");
    let got = api.patch("ssa", &PatchParams::apply("manager-two"), &Patch::Apply(&second)).await.expect("second apply");

    let data = got.data.expect("data");
    assert_eq!(data.get("a").map(String::as_str), Some("1"), "manager-one still owns a");
    assert_eq!(data.get("b").map(String::as_str), Some("2"));
    let managers: Vec<_> = got
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.operation.as_deref() == Some("Apply"))
        .filter_map(|m| m.manager)
        .collect();
    assert!(managers.contains(&"manager-one".to_string()), "managers: {managers:?}");
    assert!(managers.contains(&"manager-two".to_string()), "managers: {managers:?}");

    // A conflicting apply by a third manager without force is rejected with 409.
    let conflict = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "changed"}});
    let err =
        api.patch("ssa", &PatchParams::apply("manager-three"), &Patch::Apply(&conflict)).await.expect_err("conflicting apply must fail");
    assert!(matches!(err, kube::Error::Api(ref s) if s.code == 409), "got {err:?}");
}

#[tokio::test]
async fn a_service_account_without_rbac_is_forbidden_to_list_secrets_until_a_role_allows_it() {
    let ns = test_namespace().await;
    let sa_client = shared().client_as_service_account(&ns, "no-rights").await.expect("SA client");
    let secrets: Api<Secret> = Api::namespaced(sa_client.clone(), &ns);
    let err = secrets.list(&ListParams::default()).await.expect_err("listing secrets must be forbidden");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 403, "{s:?}");
            assert!(s.message.contains(&format!("system:serviceaccount:{}:no-rights", ns.name())), "{}", s.message);
        }
        other => panic!("expected 403 Forbidden, got {other:?}"),
    }

    // Granting exactly list on secrets makes the same client succeed: the token is real and RBAC decides.
    let admin = client().await;
    let role: Role = from_json(json!({
        "metadata": {"name": "list-secrets"},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]
    }));
    let binding: RoleBinding = from_json(json!({
        "metadata": {"name": "list-secrets"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "list-secrets"},
        "subjects": [{"kind": "ServiceAccount", "name": "no-rights", "namespace": ns.name()}]
    }));
    Api::<Role>::namespaced(admin.clone(), &ns).create(&PostParams::default(), &role).await.expect("role");
    Api::<RoleBinding>::namespaced(admin, &ns).create(&PostParams::default(), &binding).await.expect("binding");
    // The RBAC authorizer sees a new RoleBinding through its informer, a moment after the create returns.
    let mut listed = secrets.list(&ListParams::default()).await;
    for _ in 0..50 {
        if listed.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        listed = secrets.list(&ListParams::default()).await;
    }
    let listed = listed.expect("list allowed after the RoleBinding");
    assert!(listed.items.is_empty());
    // ...and nothing broader: it still may not read ConfigMaps.
    let cms: Api<ConfigMap> = Api::namespaced(sa_client, &ns);
    assert!(matches!(cms.list(&ListParams::default()).await, Err(kube::Error::Api(s)) if s.code == 403));
}

#[tokio::test]
async fn the_real_kubectl_and_helm_work_with_the_written_kubeconfig() {
    let ns = test_namespace().await;
    let cp = shared();
    let manifest = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-kubectl\n  namespace: {}\ndata:\n  k: v\n", ns.name());
    cp.kubectl_stdin(&["apply", "--server-side", "-f", "-"], &manifest).await.unwrap().ok().expect("kubectl apply");
    let value =
        cp.kubectl(&["get", "configmap", "from-kubectl", "-n", &ns, "-o", "jsonpath={.data.k}"]).await.unwrap().ok().expect("kubectl get");
    assert_eq!(value, "v");

    let missing = cp.kubectl(&["get", "configmap", "does-not-exist", "-n", &ns]).await.unwrap();
    assert!(!missing.success && missing.stderr.contains("NotFound"), "{missing:?}");

    let releases = cp.helm(&["list", "-n", &ns, "-o", "json"]).await.unwrap().ok().expect("helm list");
    assert_eq!(releases.trim(), "[]");
    let version = cp.kubectl(&["version", "-o", "json"]).await.unwrap().ok().expect("kubectl version");
    let version: serde_json::Value = serde_json::from_str(&version).unwrap();
    assert_eq!(version["serverVersion"]["gitVersion"], "v1.37.2", "{version}");
}
