//! Bearer tokens for ARM: the azure_identity credential (rebuilt with an empty cache when ARM
//! refuses its token), one token request at a time, behind a per-credential backoff.

use std::{
    fmt,
    sync::{Arc, Mutex},
    time::Duration,
};

use azure_core::{
    cloud::{CloudConfiguration, CustomConfiguration},
    credentials::{Secret, TokenCredential},
    http::{ClientOptions, ExponentialRetryOptions, RetryOptions, Transport},
    time::Duration as SdkDuration,
};
use azure_identity::{
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use reprotect_facts::SiteRecoveryError;
use tokio::time::Instant;

use crate::{
    auth::{AzureAuth, SdkHttp, SecretString, UserAssigned, map_identity_error},
    cloud::CloudConfig,
    token_backoff::{TokenBackoff, TokenBackoffConfig},
};

/// Where bearer tokens for ARM come from: the credential (rebuilt, with an empty cache, when ARM
/// refuses its token), behind a backoff so a failing token request is not repeated in a loop.
pub(crate) struct TokenSource {
    build: Option<Builder>,
    fixed: Option<SecretString>,
    /// Least time between two renewals forced by a 401 (the token backoff's first delay): a 401
    /// that a new token does not cure (wrong tenant, revoked app) must not cost a token request per call.
    renew_interval: Duration,
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
    /// When the credential was last rebuilt because ARM refused its token.
    renewed_at: Option<Instant>,
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
        let current = |credential| Mutex::new(Current { credential, last_token: None, renewed_at: None });
        let (turn, renew_interval, backoff) = (tokio::sync::Mutex::new(()), backoff.min_delay, TokenBackoff::new(backoff));
        if let AzureAuth::StaticToken(t) = auth {
            return Ok(Self { build: None, fixed: Some(t.clone()), renew_interval, scope, current: current(None), turn, backoff });
        }
        let build = Builder { auth: auth.clone(), cloud: cloud.clone(), http, sdk_retries };
        let credential = build.credential()?;
        Ok(Self { build: Some(build), fixed: None, renew_interval, scope, current: current(Some(credential)), turn, backoff })
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

    /// ARM refused `token` (401). Returns whether sending again may help: a newer token exists
    /// already, or the credential was rebuilt (empty cache) so the next [`bearer`](Self::bearer)
    /// asks Entra ID for a new one. Not for a static token, nor twice within `renew_interval`.
    pub(crate) fn reject(&self, token: &str) -> bool {
        let Some(build) = &self.build else { return false };
        let mut cur = self.current();
        if cur.last_token != Some(token_hash(token)) {
            return true;
        }
        if cur.renewed_at.is_some_and(|at| at.elapsed() < self.renew_interval) {
            return false;
        }
        match build.credential() {
            Ok(c) => {
                cur.credential = Some(c);
                cur.last_token = None;
                cur.renewed_at = Some(Instant::now());
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot rebuild the credential after ARM refused its token");
                false
            }
        }
    }
}
