//! Entra ID authentication with azure_identity: credential choice, SDK transport over our reqwest client, error mapping.

use std::{
    fmt,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use azure_core::{
    cloud::{CloudConfiguration, CustomConfiguration},
    credentials::{Secret, TokenCredential},
    error::ErrorKind,
    http::{
        AsyncRawResponse, Body, ClientOptions, ExponentialRetryOptions, HttpClient, Method, Request, RetryOptions, Transport,
        headers::{HeaderName, HeaderValue, Headers},
    },
    time::Duration as SdkDuration,
};
use azure_identity::{
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use reprotect_facts::SiteRecoveryError;

use crate::{
    cloud::CloudConfig,
    token_backoff::{TokenBackoff, TokenBackoffConfig},
};

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

/// Where bearer tokens for ARM come from: the credential (rebuilt, with an empty cache, when ARM
/// refuses its token), behind a backoff so a failing token request is not repeated in a loop.
pub(crate) struct TokenSource {
    build: Option<Builder>,
    fixed: Option<SecretString>,
    scope: String,
    current: Mutex<Current>,
    /// One token request at a time: concurrent callers share its outcome (cache or backoff).
    turn: tokio::sync::Mutex<()>,
    backoff: TokenBackoff,
}

/// What rebuilds the credential.
struct Builder {
    auth: AzureAuth,
    cloud: CloudConfig,
    http: reqwest::Client,
    sdk_retries: u32,
}

struct Current {
    credential: Option<Arc<dyn TokenCredential>>,
    /// Hash of the last token handed out (not the token: no second copy of a secret).
    last_token: Option<u64>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource").field("scope", &self.scope).finish_non_exhaustive()
    }
}

fn token_hash(token: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    token.hash(&mut h);
    h.finish()
}

impl Builder {
    /// The credential. Its HTTP goes through `http` (so a custom CA applies) with at most
    /// `sdk_retries` quick retries, instead of the SDK default (8 retries, up to a minute).
    fn credential(&self) -> Result<Arc<dyn TokenCredential>, SiteRecoveryError> {
        let cloud = &self.cloud;
        let options = || {
            let mut custom = CustomConfiguration::default();
            custom.authority_host = cloud.authority_origin();
            ClientOptions {
                transport: Some(Transport::new(Arc::new(SdkHttp(self.http.clone())))),
                retry: RetryOptions::exponential(ExponentialRetryOptions {
                    initial_delay: SdkDuration::milliseconds(200),
                    max_retries: self.sdk_retries,
                    max_total_elapsed: SdkDuration::seconds(10),
                    max_delay: SdkDuration::seconds(2),
                }),
                cloud: Some(Arc::new(CloudConfiguration::Custom(custom))),
                ..Default::default()
            }
        };
        let credential: Arc<dyn TokenCredential> = match &self.auth {
            AzureAuth::StaticToken(_) => return Err(SiteRecoveryError::Invalid("a static token has no credential".into())),
            AzureAuth::ClientSecret { tenant_id, client_id, client_secret } => ClientSecretCredential::new(
                tenant_id,
                client_id.clone(),
                Secret::new(client_secret.expose().to_string()),
                Some(ClientSecretCredentialOptions { client_options: options() }),
            )
            .map_err(|e| SiteRecoveryError::Auth(format!("client secret credential: {e}")))?,
            AzureAuth::WorkloadIdentity { tenant_id, client_id, token_file } => {
                WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                    credential_options: ClientAssertionCredentialOptions { client_options: options() },
                    client_id: client_id.clone(),
                    tenant_id: tenant_id.clone(),
                    token_file_path: token_file.clone(),
                }))
                .map_err(|e| SiteRecoveryError::Auth(format!("workload identity credential: {e}")))?
            }
            AzureAuth::ManagedIdentity { user_assigned } => {
                let user_assigned_id = user_assigned.as_ref().map(|u| match u {
                    UserAssigned::ClientId(v) => UserAssignedId::ClientId(v.clone()),
                    UserAssigned::ObjectId(v) => UserAssignedId::ObjectId(v.clone()),
                    UserAssigned::ResourceId(v) => UserAssignedId::ResourceId(v.clone()),
                });
                ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions { user_assigned_id, client_options: options() }))
                    .map_err(|e| SiteRecoveryError::Auth(format!("managed identity credential: {e}")))?
            }
        };
        Ok(credential)
    }
}

impl TokenSource {
    /// Build the credential (see [`Builder::credential`]); failing token requests back off per `backoff`.
    pub(crate) fn new(
        auth: &AzureAuth,
        cloud: &CloudConfig,
        http: reqwest::Client,
        sdk_retries: u32,
        backoff: TokenBackoffConfig,
    ) -> Result<Self, SiteRecoveryError> {
        let scope = cloud.token_scope.clone();
        let current = |credential| Mutex::new(Current { credential, last_token: None });
        let (turn, backoff) = (tokio::sync::Mutex::new(()), TokenBackoff::new(backoff));
        if let AzureAuth::StaticToken(t) = auth {
            return Ok(Self { build: None, fixed: Some(t.clone()), scope, current: current(None), turn, backoff });
        }
        let build = Builder { auth: auth.clone(), cloud: cloud.clone(), http, sdk_retries };
        let credential = build.credential()?;
        Ok(Self { build: Some(build), fixed: None, scope, current: current(Some(credential)), turn, backoff })
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A bearer token (cached by azure_identity, refreshed within 300 s of expiry). After a failed
    /// token request, the same error comes back at once until the backoff has passed.
    pub(crate) async fn bearer(&self) -> Result<String, SiteRecoveryError> {
        if let Some(t) = &self.fixed {
            return Ok(t.expose().to_string());
        }
        let _turn = self.turn.lock().await;
        self.backoff.check()?;
        let Some(cred) = self.current().credential.clone() else {
            return Err(SiteRecoveryError::Auth("no credential configured".into()));
        };
        match cred.get_token(&[self.scope.as_str()], None).await {
            Ok(token) => {
                self.backoff.succeeded();
                let t = token.token.secret().to_string();
                self.current().last_token = Some(token_hash(&t));
                Ok(t)
            }
            Err(e) => {
                let err = map_identity_error(&e);
                let wait = self.backoff.failed(&err);
                tracing::warn!(error = %err, next_attempt_in = ?wait, "token request failed; backing off");
                Err(err)
            }
        }
    }

    /// Can a refused token be replaced (not a static token)?
    pub(crate) fn can_refresh(&self) -> bool {
        self.build.is_some()
    }

    /// ARM refused `token` (401): drop the credential and its cache so the next [`bearer`](Self::bearer)
    /// asks Entra ID for a new one. A no-op when a newer token was handed out since.
    pub(crate) fn reject(&self, token: &str) {
        let Some(build) = &self.build else { return };
        let mut cur = self.current();
        if cur.last_token != Some(token_hash(token)) {
            return;
        }
        match build.credential() {
            Ok(c) => {
                cur.credential = Some(c);
                cur.last_token = None;
            }
            Err(e) => tracing::warn!(error = %e, "cannot rebuild the credential after ARM refused its token"),
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
