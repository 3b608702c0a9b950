//! What the operator lets a ReprotectPolicy do with credentials: use the pod's workload identity, and send
//! tokens or secrets to a custom cloud's authority and ARM hosts.
//!
//! A policy author controls the policy's fields, not the controller's identity: without this check, a policy with
//! no `credentialsSecretRef` would borrow the pod's federated token, and `cloud: Custom` with an `authorityHost` of
//! the author's choosing would receive it. Both are denied unless the operator allowed them on the command line.

use super::{AzureCredentials, AzureSettings, ConnectError};
use crate::crd::AzureCloudName;

/// One allowed custom endpoint: an https origin (host and port; a path in the flag value is ignored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedEndpoint {
    host: String,
    port: u16,
}

/// A `--allowed-custom-cloud-endpoints` entry that is not `host`, `host:port` or an https URL.
#[derive(Debug, thiserror::Error)]
#[error("invalid custom cloud endpoint {value:?}: expected host, host:port or https://host[:port]")]
pub struct InvalidEndpoint {
    value: String,
}

impl AllowedEndpoint {
    /// Parse `host`, `host:port` or `https://host[:port][/path]` (port 443 when omitted).
    pub fn parse(value: &str) -> Result<AllowedEndpoint, InvalidEndpoint> {
        let invalid = || InvalidEndpoint { value: value.to_string() };
        let with_scheme = if value.contains("://") { value.to_string() } else { format!("https://{value}") };
        let url = url::Url::parse(&with_scheme).map_err(|_| invalid())?;
        if url.scheme() != "https" || !url.username().is_empty() || url.password().is_some() {
            return Err(invalid());
        }
        let host = url.host_str().ok_or_else(invalid)?.to_ascii_lowercase();
        Ok(AllowedEndpoint { host, port: url.port_or_known_default().unwrap_or(443) })
    }

    /// Whether `url` (a policy's `armEndpoint` / `authorityHost`) is https on this host and port.
    fn allows(&self, url: &url::Url) -> bool {
        url.scheme() == "https"
            && url.host_str().is_some_and(|h| h.eq_ignore_ascii_case(&self.host))
            && url.port_or_known_default() == Some(self.port)
    }
}

/// The operator's decision on credential use, from the command line; the default allows neither.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CredentialPolicy {
    /// Namespaces whose policies may use the pod's workload identity; `*` allows every namespace.
    pub workload_identity_namespaces: Vec<String>,
    /// Origins a `cloud: Custom` policy may use as `armEndpoint` or `authorityHost`.
    pub allowed_custom_endpoints: Vec<AllowedEndpoint>,
}

impl CredentialPolicy {
    /// From the values of `--workload-identity-namespaces` and `--allowed-custom-cloud-endpoints`.
    pub fn new(workload_identity_namespaces: &[String], allowed_custom_endpoints: &[String]) -> Result<Self, InvalidEndpoint> {
        Ok(CredentialPolicy {
            workload_identity_namespaces: workload_identity_namespaces
                .iter()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .collect(),
            allowed_custom_endpoints: allowed_custom_endpoints
                .iter()
                .map(|e| e.trim())
                .filter(|e| !e.is_empty())
                .map(AllowedEndpoint::parse)
                .collect::<Result<_, _>>()?,
        })
    }

    /// From the parsed flags (`run` and `check` share them).
    pub fn from_args(args: &crate::cli::CredentialArgs) -> Result<Self, InvalidEndpoint> {
        Self::new(&args.workload_identity_namespaces, &args.allowed_custom_cloud_endpoints)
    }

    fn workload_identity_allowed(&self, namespace: &str) -> bool {
        self.workload_identity_namespaces.iter().any(|n| n == "*" || n == namespace)
    }

    /// Decide before anything is sent: `WorkloadIdentityNotAllowed` / `EndpointNotAllowed` (not transient) or Ok.
    pub fn check(&self, settings: &AzureSettings) -> Result<(), ConnectError> {
        if settings.credentials == AzureCredentials::WorkloadIdentity && !self.workload_identity_allowed(&settings.namespace) {
            return Err(ConnectError::WorkloadIdentityNotAllowed { namespace: settings.namespace.clone() });
        }
        if settings.cloud != AzureCloudName::Custom {
            // Presets ignore armEndpoint/authorityHost: tokens only go to Microsoft's hosts of that cloud.
            return Ok(());
        }
        for (field, value) in [("authorityHost", &settings.authority_host), ("armEndpoint", &settings.arm_endpoint)] {
            let value = value.as_deref().unwrap_or_default();
            let allowed = url::Url::parse(value).is_ok_and(|u| self.allowed_custom_endpoints.iter().any(|e| e.allows(&u)));
            if !allowed {
                let origin = url::Url::parse(value).map(|u| u.origin().ascii_serialization()).unwrap_or_else(|_| format!("{value:?}"));
                return Err(ConnectError::EndpointNotAllowed { field, origin });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connections::Sensitive;

    fn settings(ns: &str, cloud: AzureCloudName, creds: AzureCredentials, authority: &str, arm: &str) -> AzureSettings {
        AzureSettings {
            namespace: ns.into(),
            cloud,
            arm_endpoint: Some(arm.into()),
            authority_host: Some(authority.into()),
            api_version: None,
            credentials: creds,
            ca_pem: None,
            credentials_version: "v".into(),
        }
    }

    fn sp() -> AzureCredentials {
        AzureCredentials::ClientSecret { tenant_id: "t".into(), client_id: "c".into(), client_secret: Sensitive::new("s") }
    }

    fn policy(wi: &[&str], endpoints: &[&str]) -> CredentialPolicy {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        CredentialPolicy::new(&s(wi), &s(endpoints)).unwrap()
    }

    #[test]
    fn workload_identity_is_refused_by_default_and_allowed_only_in_the_listed_namespaces() {
        let wi = |ns| settings(ns, AzureCloudName::AzurePublicCloud, AzureCredentials::WorkloadIdentity, "", "");
        let err = CredentialPolicy::default().check(&wi("team-a")).unwrap_err();
        assert!(matches!(err, ConnectError::WorkloadIdentityNotAllowed { .. }), "{err}");
        assert_eq!(err.category(), "workload-identity-not-allowed");
        assert!(!err.is_transient());
        let p = policy(&["dr-ops"], &[]);
        p.check(&wi("dr-ops")).expect("listed namespace");
        assert!(p.check(&wi("team-a")).is_err());
        policy(&["*"], &[]).check(&wi("team-a")).expect("* allows every namespace");
        CredentialPolicy::default().check(&settings("team-a", AzureCloudName::AzurePublicCloud, sp(), "", "")).expect("own secret");
    }

    #[test]
    fn a_custom_cloud_may_only_name_endpoints_the_operator_listed() {
        let p = policy(&["*"], &["login.sovereign.example", "https://arm.sovereign.example:8443/ignored/path"]);
        let custom = |creds, authority: &str, arm: &str| settings("ns", AzureCloudName::Custom, creds, authority, arm);
        p.check(&custom(sp(), "https://LOGIN.sovereign.example/tenant", "https://arm.sovereign.example:8443/")).expect("both listed");
        p.check(&custom(AzureCredentials::WorkloadIdentity, "https://login.sovereign.example", "https://arm.sovereign.example:8443"))
            .expect("workload identity to listed hosts");
        let table = [
            ("https://attacker.example/", "https://arm.sovereign.example:8443", "authorityHost"),
            ("https://login.sovereign.example:444", "https://arm.sovereign.example:8443", "authorityHost"),
            ("https://login.sovereign.example", "https://arm.sovereign.example", "armEndpoint"),
            ("https://login.sovereign.example.attacker.example", "https://arm.sovereign.example:8443", "authorityHost"),
            ("http://login.sovereign.example", "https://arm.sovereign.example:8443", "authorityHost"),
            ("", "https://arm.sovereign.example:8443", "authorityHost"),
        ];
        for (authority, arm, bad) in table {
            let err = p.check(&custom(AzureCredentials::WorkloadIdentity, authority, arm)).unwrap_err();
            assert!(matches!(&err, ConnectError::EndpointNotAllowed { field, .. } if *field == bad), "{authority} {arm}: {err}");
            assert_eq!(err.category(), "endpoint-not-allowed");
            assert!(!err.is_transient());
        }
        let err = CredentialPolicy::default().check(&custom(sp(), "https://login.sovereign.example", "https://a")).unwrap_err();
        assert!(matches!(err, ConnectError::EndpointNotAllowed { .. }), "no custom endpoint is allowed by default: {err}");
    }

    #[test]
    fn preset_clouds_ignore_the_endpoint_fields() {
        let s = settings("ns", AzureCloudName::AzureUSGovernment, sp(), "https://attacker.example", "https://attacker.example");
        CredentialPolicy::default().check(&s).expect("presets never use armEndpoint/authorityHost");
    }

    #[test]
    fn endpoint_flags_must_be_https_hosts() {
        for bad in ["http://x.example", "https://user:pw@x.example", "ftp://x", "https://"] {
            assert!(AllowedEndpoint::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(AllowedEndpoint::parse("127.0.0.1:8443").unwrap(), AllowedEndpoint { host: "127.0.0.1".into(), port: 8443 });
    }
}
