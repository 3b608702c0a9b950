//! Turning a ReprotectPolicy and its Secrets into connection settings, and the factory trait that builds clients from them.

use crate::crd::{AzureCloudName, CaBundleReference, ReprotectPolicy};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::{Api, Client, ResourceExt};
use reprotect_facts::{SiteRecovery, Vcenter};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;

mod credential_policy;
pub mod object_cache;
pub mod watched_objects;
pub use credential_policy::{AllowedEndpoint, CredentialPolicy, InvalidEndpoint};
pub use object_cache::ObjectCache;

/// How a pass reads the Secrets and ConfigMaps a policy names: from the API server, through a cache or not.
#[derive(Clone, Copy)]
pub struct Reads<'a> {
    pub client: &'a Client,
    pub cache: Option<&'a ObjectCache>,
    /// Read from the API server even when cached, and refresh the cache (the policy's own reconcile).
    pub fresh: bool,
}

impl<'a> Reads<'a> {
    /// Straight from the API server (one-shot commands).
    pub fn direct(client: &'a Client) -> Self {
        Reads { client, cache: None, fresh: true }
    }
    /// Through the cache (machine and master-target passes).
    pub fn cached(client: &'a Client, cache: &'a ObjectCache) -> Self {
        Reads { client, cache: Some(cache), fresh: false }
    }
    /// From the API server, refreshing the cache (the policy's reconcile, which verifies the connections).
    pub fn refreshing(client: &'a Client, cache: &'a ObjectCache) -> Self {
        Reads { client, cache: Some(cache), fresh: true }
    }
}

/// A secret string ([`secrecy::SecretString`]: never printed, zeroed on drop), comparable so settings can be diffed.
#[derive(Clone, Debug)]
pub struct Sensitive(pub SecretString);

impl Sensitive {
    pub fn new(value: impl Into<String>) -> Sensitive {
        Sensitive(SecretString::from(value.into()))
    }
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl PartialEq for Sensitive {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for Sensitive {}

/// How to authenticate to Azure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AzureCredentials {
    ClientSecret { tenant_id: String, client_id: String, client_secret: Sensitive },
    WorkloadIdentity,
}

/// Everything needed to build a Site Recovery client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AzureSettings {
    /// Namespace of the policy (workload identity is allowed per namespace).
    pub namespace: String,
    pub cloud: AzureCloudName,
    pub arm_endpoint: Option<String>,
    pub authority_host: Option<String>,
    pub api_version: Option<String>,
    pub credentials: AzureCredentials,
    pub ca_pem: Option<String>,
    /// Changes whenever the Secret changes, so cached clients are rebuilt.
    pub credentials_version: String,
}

/// Everything needed to build a vCenter client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VcenterSettings {
    pub server: String,
    pub username: String,
    pub password: Sensitive,
    pub ca_pem: Option<String>,
    pub insecure_skip_verify: bool,
    pub credentials_version: String,
}

/// Problems with connection settings; never includes secret values.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("Secret {name} not found in the policy's namespace")]
    SecretMissing { name: String },
    #[error("Secret {name} has no key {key}")]
    SecretKeyMissing { name: String, key: String },
    #[error("CA bundle {source_kind} {name} not found or has no key {key}")]
    CaBundleMissing { source_kind: &'static str, name: String, key: String },
    #[error("cannot read {what}: {source}")]
    Read {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot build the {service} client: {message}")]
    Build { service: &'static str, message: String },
    #[error(
        "policies in namespace {namespace} may not use the controller's workload identity; set credentialsSecretRef or ask the operator to allow the namespace"
    )]
    WorkloadIdentityNotAllowed { namespace: String },
    #[error("{field} {origin} is not among the custom cloud endpoints the operator allowed")]
    EndpointNotAllowed { field: &'static str, origin: String },
    #[error(transparent)]
    Vcenter(#[from] reprotect_facts::VcenterError),
}

impl ConnectError {
    pub fn category(&self) -> &'static str {
        match self {
            ConnectError::SecretMissing { .. } | ConnectError::SecretKeyMissing { .. } => "credentials-secret",
            ConnectError::CaBundleMissing { .. } => "ca-bundle",
            ConnectError::Read { .. } => "kubernetes",
            ConnectError::Build { .. } => "client-build",
            ConnectError::WorkloadIdentityNotAllowed { .. } => "workload-identity-not-allowed",
            ConnectError::EndpointNotAllowed { .. } => "endpoint-not-allowed",
            ConnectError::Vcenter(e) => e.category(),
        }
    }
    pub fn is_transient(&self) -> bool {
        match self {
            ConnectError::Read { .. } => true,
            ConnectError::Vcenter(e) => e.is_transient(),
            _ => false,
        }
    }
}

/// Builds (and caches) clients from settings. The real one uses reprotect-azure and reprotect-vcenter.
#[async_trait::async_trait]
pub trait Connector: Send + Sync {
    async fn site_recovery(&self, settings: &AzureSettings) -> Result<Arc<dyn SiteRecovery>, ConnectError>;
    async fn vcenter(&self, settings: &VcenterSettings) -> Result<Arc<dyn Vcenter>, ConnectError>;
}

async fn secret(reads: &Reads<'_>, ns: &str, name: &str) -> Result<Secret, ConnectError> {
    let read = async {
        Api::<Secret>::namespaced(reads.client.clone(), ns)
            .get_opt(name)
            .await
            .map_err(|source| ConnectError::Read { what: format!("Secret {name}"), source })?
            .ok_or_else(|| ConnectError::SecretMissing { name: name.into() })
    };
    // A watched Secret is as fresh as a read: the policy's reconcile need not read it either.
    if let Some(cache) = reads.cache
        && let Some(watched) = cache.watched_secret(ns, name).await
    {
        return Ok(watched.as_ref().clone());
    }
    match reads.cache {
        Some(cache) if !reads.fresh => cache.secret(ns, name, read).await,
        Some(cache) => {
            let s = read.await?;
            cache.refresh_secret(ns, name, s.clone()).await;
            Ok(s)
        }
        None => read.await,
    }
}

fn key(secret: &Secret, name: &str, key: &str) -> Result<String, ConnectError> {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|b| String::from_utf8_lossy(&b.0).trim().to_string())
        .or_else(|| secret.string_data.as_ref().and_then(|d| d.get(key)).cloned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ConnectError::SecretKeyMissing { name: name.into(), key: key.into() })
}

async fn ca_bundle(reads: &Reads<'_>, ns: &str, r: &CaBundleReference) -> Result<String, ConnectError> {
    if let Some(name) = &r.secret_name {
        let s = secret(reads, ns, name).await?;
        return key(&s, name, &r.key).map_err(|_| ConnectError::CaBundleMissing {
            source_kind: "Secret",
            name: name.clone(),
            key: r.key.clone(),
        });
    }
    let name = r.config_map_name.clone().unwrap_or_default();
    let read = || async {
        Api::<ConfigMap>::namespaced(reads.client.clone(), ns)
            .get_opt(&name)
            .await
            .map_err(|source| ConnectError::Read { what: format!("ConfigMap {name}"), source })
    };
    let watched = match reads.cache {
        Some(cache) => cache.watched_config_map(ns, &name).await,
        None => None,
    };
    let cm = match reads.cache {
        _ if watched.is_some() => watched.map(|c| c.as_ref().clone()),
        Some(cache) if !reads.fresh => cache.config_map(ns, &name, read()).await?,
        _ => read().await?,
    };
    let pem = cm.and_then(|c| c.data.and_then(|d| d.get(&r.key).cloned()));
    pem.ok_or(ConnectError::CaBundleMissing { source_kind: "ConfigMap", name, key: r.key.clone() })
}

/// Read the Azure settings of a policy.
pub async fn azure_settings(reads: &Reads<'_>, policy: &ReprotectPolicy) -> Result<AzureSettings, ConnectError> {
    let ns = policy.namespace().unwrap_or_default();
    let sr = &policy.spec.site_recovery;
    let (credentials, version) = match &sr.credentials_secret_ref {
        Some(r) => {
            let s = secret(reads, &ns, &r.name).await?;
            let creds = AzureCredentials::ClientSecret {
                tenant_id: key(&s, &r.name, "tenantId")?,
                client_id: key(&s, &r.name, "clientId")?,
                client_secret: Sensitive::new(key(&s, &r.name, "clientSecret")?),
            };
            (creds, format!("{}@{}", r.name, s.resource_version().unwrap_or_default()))
        }
        None => (AzureCredentials::WorkloadIdentity, "workload-identity".to_string()),
    };
    let ca_pem = match &sr.ca_bundle {
        Some(r) => Some(ca_bundle(reads, &ns, r).await?),
        None => None,
    };
    Ok(AzureSettings {
        namespace: ns,
        cloud: sr.cloud,
        arm_endpoint: sr.arm_endpoint.clone(),
        authority_host: sr.authority_host.clone(),
        api_version: sr.api_version.clone(),
        credentials,
        ca_pem,
        credentials_version: version,
    })
}

/// Read the vCenter settings of a policy.
pub async fn vcenter_settings(reads: &Reads<'_>, policy: &ReprotectPolicy) -> Result<VcenterSettings, ConnectError> {
    let ns = policy.namespace().unwrap_or_default();
    let vc = &policy.spec.vcenter;
    let name = &vc.credentials_secret_ref.name;
    let s = secret(reads, &ns, name).await?;
    let ca_pem = match &vc.tls.ca_bundle {
        Some(r) => Some(ca_bundle(reads, &ns, r).await?),
        None => None,
    };
    Ok(VcenterSettings {
        server: vc.server.clone(),
        username: key(&s, name, "username")?,
        password: Sensitive::new(key(&s, name, "password")?),
        ca_pem,
        insecure_skip_verify: vc.tls.insecure_skip_verify,
        credentials_version: format!("{name}@{}", s.resource_version().unwrap_or_default()),
    })
}

/// Objects a policy reads, as (kind, name) in the policy's namespace: `("Secret", n)` / `("ConfigMap", n)`.
/// For a watch that re-reconciles the policy (and its machines) when one of them changes, so a corrected
/// Secret is used at once instead of at the next periodic recheck.
pub fn referenced_objects(policy: &ReprotectPolicy) -> Vec<(&'static str, String)> {
    let sr = &policy.spec.site_recovery;
    let vc = &policy.spec.vcenter;
    let mut out = vec![("Secret", vc.credentials_secret_ref.name.clone())];
    out.extend(sr.credentials_secret_ref.as_ref().map(|r| ("Secret", r.name.clone())));
    for ca in [&sr.ca_bundle, &vc.tls.ca_bundle].into_iter().flatten() {
        out.extend(ca.secret_name.clone().map(|n| ("Secret", n)));
        out.extend(ca.config_map_name.clone().map(|n| ("ConfigMap", n)));
    }
    out.sort();
    out.dedup();
    out
}

/// Message for a `Warning` condition on the policy when it turns TLS verification off for vCenter, else `None`.
pub fn insecure_tls_warning(policy: &ReprotectPolicy) -> Option<String> {
    policy.spec.vcenter.tls.insecure_skip_verify.then(|| {
        format!(
            "vcenter.tls.insecureSkipVerify is set: the certificate of {} is not verified, so anyone on the path can read the vCenter password; set tls.caBundle instead",
            policy.spec.vcenter.server
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_references_its_credential_and_ca_objects_and_skipping_tls_verification_warns() {
        let policy: ReprotectPolicy = serde_json::from_value(serde_json::json!({
            "apiVersion": "reprotect.io/v1alpha1", "kind": "ReprotectPolicy", "metadata": {"name": "p", "namespace": "ns"},
            "spec": {
                "siteRecovery": {"subscriptionId": "00000000-0000-0000-0000-000000000001", "resourceGroup": "rg", "vaultName": "v",
                    "fabricName": "f", "protectionContainer": "c", "credentialsSecretRef": {"name": "azure-sp"},
                    "caBundle": {"configMapName": "sim-ca"}},
                "vcenter": {"server": "vc", "credentialsSecretRef": {"name": "vc-creds"}, "tls": {"caBundle": {"secretName": "vc-ca"}}},
                "defaults": {"masterTargetRef": "mt", "processServer": "ps", "datastore": "ds"},
                "network": {"connectivity": "SiteToSiteVpn", "processServerLocation": "Azure"}
            }
        }))
        .unwrap();
        assert_eq!(insecure_tls_warning(&policy), None);
        let got = referenced_objects(&policy);
        let want = [("ConfigMap", "sim-ca"), ("Secret", "azure-sp"), ("Secret", "vc-ca"), ("Secret", "vc-creds")];
        assert_eq!(got, want.map(|(k, n)| (k, n.to_string())));
        let mut insecure = policy.clone();
        insecure.spec.vcenter.tls.insecure_skip_verify = true;
        assert!(insecure_tls_warning(&insecure).is_some_and(|m| m.contains("insecureSkipVerify")));
    }

    #[test]
    fn sensitive_values_never_print() {
        let s = VcenterSettings {
            server: "vc".into(),
            username: "u".into(),
            password: Sensitive::new("hunter2"),
            ca_pem: None,
            insecure_skip_verify: false,
            credentials_version: "v".into(),
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
