//! Entra ID authentication with azure_identity: credential choice, SDK transport over our reqwest client, error mapping.

use std::{fmt, path::PathBuf};

use azure_core::{
    error::ErrorKind,
    http::{
        AsyncRawResponse, Body, HttpClient, Method, Request,
        headers::{HeaderName, HeaderValue, Headers},
    },
};
use reprotect_facts::SiteRecoveryError;

pub(crate) use crate::token_source::TokenSource;

/// A secret string whose `Debug`/`Display` never shows the value.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The value; only for handing to the credential.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        Self(s.to_string())
    }
}

/// Which user-assigned managed identity to use.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UserAssigned {
    ClientId(String),
    ObjectId(String),
    ResourceId(String),
}

/// How the client authenticates to Entra ID. There is no "default chain": pick one explicitly.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AzureAuth {
    /// Service principal with a client secret.
    ClientSecret { tenant_id: String, client_id: String, client_secret: SecretString },
    /// AKS workload identity (federated token file). `None` fields come from the
    /// `AZURE_TENANT_ID` / `AZURE_CLIENT_ID` / `AZURE_FEDERATED_TOKEN_FILE` environment.
    WorkloadIdentity { tenant_id: Option<String>, client_id: Option<String>, token_file: Option<PathBuf> },
    /// Managed identity (system-assigned when `user_assigned` is `None`).
    ManagedIdentity { user_assigned: Option<UserAssigned> },
    /// A bearer token obtained elsewhere (tools, tests). Not refreshed.
    StaticToken(SecretString),
}

impl AzureAuth {
    /// Identity without secrets, for cache keys, logs and events.
    pub fn identity(&self) -> String {
        match self {
            AzureAuth::ClientSecret { tenant_id, client_id, .. } => format!("client-secret:{tenant_id}/{client_id}"),
            AzureAuth::WorkloadIdentity { tenant_id, client_id, .. } => format!(
                "workload-identity:{}/{}",
                tenant_id.as_deref().unwrap_or("$AZURE_TENANT_ID"),
                client_id.as_deref().unwrap_or("$AZURE_CLIENT_ID")
            ),
            AzureAuth::ManagedIdentity { user_assigned: None } => "managed-identity:system".to_string(),
            AzureAuth::ManagedIdentity { user_assigned: Some(u) } => format!("managed-identity:{u:?}"),
            AzureAuth::StaticToken(_) => "static-token".to_string(),
        }
    }
}

/// Connection problems and 5xx/429 from Entra are transient; everything else is a credentials problem.
pub(crate) fn map_identity_error(err: &azure_core::Error) -> SiteRecoveryError {
    let mut transient = false;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(ae) = e.downcast_ref::<azure_core::Error>() {
            match ae.kind() {
                ErrorKind::Io | ErrorKind::Connection => transient = true,
                ErrorKind::HttpResponse { status, .. } => {
                    let s = u16::from(*status);
                    transient |= s == 429 || s >= 500;
                }
                _ => {}
            }
        }
        if e.downcast_ref::<reqwest::Error>().is_some() {
            transient = true;
        }
        cur = e.source();
    }
    let message = without_request_ids(err.to_string().lines().next().unwrap_or_default());
    if transient { SiteRecoveryError::Transport { operation: "acquire token".into(), message } } else { SiteRecoveryError::Auth(message) }
}

/// Entra ID appends `Trace ID: … Correlation ID: … Timestamp: …` to every error description. They
/// differ on each attempt, and a message that changes on every reconcile rewrites status every
/// time, which re-triggers the watch: a requeue storm. The AADSTS code and text before them stay.
fn without_request_ids(message: &str) -> String {
    message.split(" Trace ID:").next().unwrap_or(message).trim_end().to_string()
}

/// azure_core transport over our own reqwest client (custom CA, timeouts, no redirects).
#[derive(Clone)]
pub(crate) struct SdkHttp(pub(crate) reqwest::Client);

impl fmt::Debug for SdkHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SdkHttp")
    }
}

#[async_trait::async_trait]
impl HttpClient for SdkHttp {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let method = match request.method() {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
            Method::Head => reqwest::Method::HEAD,
            other => return Err(azure_core::Error::with_message(ErrorKind::Other, format!("unsupported method {other:?}"))),
        };
        let mut req = self.0.request(method, request.url().clone());
        for (name, value) in request.headers().iter() {
            req = req.header(name.as_str(), value.as_str());
        }
        req = match request.body() {
            Body::Bytes(b) => req.body(b.to_vec()),
            #[allow(unreachable_patterns)]
            _ => return Err(azure_core::Error::with_message(ErrorKind::Other, "streaming bodies are not supported")),
        };
        let rsp = req.send().await.map_err(|e| {
            let kind = if e.is_connect() { ErrorKind::Connection } else { ErrorKind::Io };
            azure_core::Error::with_error(kind, e, "token request failed")
        })?;
        let status = rsp.status().as_u16();
        let mut headers = Headers::new();
        for (k, v) in rsp.headers() {
            if let Ok(v) = v.to_str() {
                headers.insert(HeaderName::from(k.as_str().to_owned()), HeaderValue::from(v.to_owned()));
            }
        }
        let body = rsp.bytes().await.map_err(|e| azure_core::Error::with_error(ErrorKind::Io, e, "reading token response"))?;
        Ok(AsyncRawResponse::from_bytes(status.into(), headers, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_request_ids_are_dropped_from_error_messages_so_they_stay_stable() {
        let m = "AADSTS7000215: Invalid client secret provided. Trace ID: 1 Correlation ID: 2 Timestamp: 2026-11-27 05:00:00Z";
        assert_eq!(super::without_request_ids(m), "AADSTS7000215: Invalid client secret provided.");
        assert_eq!(super::without_request_ids("connection refused"), "connection refused");
    }

    #[test]
    fn debug_output_never_contains_the_secret() {
        let auth = AzureAuth::ClientSecret { tenant_id: "t".into(), client_id: "c".into(), client_secret: "s3cr3t-value".into() };
        assert!(!format!("{auth:?}").contains("s3cr3t-value"));
        assert_eq!(auth.identity(), "client-secret:t/c");
        assert!(!format!("{:?}", AzureAuth::StaticToken("eyJtoken".into())).contains("eyJtoken"));
    }
}
