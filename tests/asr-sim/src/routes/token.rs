//! Entra ID (Azure AD) v2.0: client-credentials token endpoint and OpenID discovery documents.

use super::json_response;
use crate::server::Shared;
use crate::state::new_guid;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

pub fn routes() -> axum::Router<Arc<Shared>> {
    axum::Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/{tenant}/v2.0/.well-known/openid-configuration", get(discovery))
        .route("/common/discovery/instance", get(instance_discovery))
}

/// An Entra ID error body (`error`, `error_description` with AADSTS code, `error_codes`, ...).
pub fn aad_error(status: u16, error: &str, code: u32, description: &str) -> Response {
    let (trace, corr) = (new_guid(), new_guid());
    let now = jiff::Timestamp::now();
    let stamp = now.strftime("%Y-%m-%d %H:%M:%SZ").to_string();
    json_response(
        status,
        json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {corr} Timestamp: {stamp}"),
            "error_codes": [code], "timestamp": stamp, "trace_id": trace, "correlation_id": corr,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

async fn token(State(sh): State<Arc<Shared>>, Path(tenant): Path<String>, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let cred = sh.world.read().unwrap().credentials.clone();
    if !tenant.eq_ignore_ascii_case(&cred.tenant_id) {
        return aad_error(
            400,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        Some(g) => return aad_error(400, "unsupported_grant_type", 70003, &format!("The app requested an unsupported grant type '{g}'.")),
        None => return aad_error(400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."),
    }
    let Some(client_id) = form.get("client_id") else {
        return aad_error(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.");
    };
    if !client_id.eq_ignore_ascii_case(&cred.client_id) {
        return aad_error(
            400,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        );
    }
    let assertion = form.get("client_assertion_type").is_some_and(|t| t == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        && form.get("client_assertion").is_some_and(|a| !a.is_empty());
    if !assertion && form.get("client_secret") != Some(&cred.client_secret) {
        return aad_error(
            401,
            "invalid_client",
            7000215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
        );
    }
    let scope = form.get("scope").cloned().unwrap_or_default();
    if !scope.split(' ').any(|s| s.ends_with("/.default")) {
        return aad_error(
            400,
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    }
    let lifetime = cred.token_lifetime_s;
    json_response(
        200,
        json!({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": sh.issue_token_for(client_id)}),
    )
}

async fn discovery(State(sh): State<Arc<Shared>>, Path(tenant): Path<String>) -> Response {
    let a = sh.base_url.as_str().trim_end_matches('/');
    json_response(
        200,
        json!({
            "token_endpoint": format!("{a}/{tenant}/oauth2/v2.0/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": format!("{a}/{tenant}/discovery/v2.0/keys"), "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"], "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"], "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": format!("{a}/{tenant}/v2.0"), "request_uri_parameter_supported": false,
            "authorization_endpoint": format!("{a}/{tenant}/oauth2/v2.0/authorize"),
            "device_authorization_endpoint": format!("{a}/{tenant}/oauth2/v2.0/devicecode"), "http_logout_supported": true,
            "frontchannel_logout_supported": true, "end_session_endpoint": format!("{a}/{tenant}/oauth2/v2.0/logout"),
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid"], "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com", "cloud_graph_host_name": "graph.windows.net", "msgraph_host": "graph.microsoft.com",
        }),
    )
}

async fn instance_discovery(State(sh): State<Arc<Shared>>) -> Response {
    let host = sh.base_url.host_str().unwrap_or("127.0.0.1").to_string();
    let a = sh.base_url.as_str().trim_end_matches('/');
    json_response(
        200,
        json!({
            "tenant_discovery_endpoint": format!("{a}/common/v2.0/.well-known/openid-configuration"), "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }),
    )
}
