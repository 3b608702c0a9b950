//! Router: token endpoint, admin API, and the ARM dispatcher (case-insensitive path segments,
//! bearer check, `api-version` check) handing off to the per-resource modules.

pub mod admin;
pub mod compute;
pub mod fabric;
pub mod failback;
pub mod items;
pub mod jobs;
pub mod policies;
pub mod token;
pub mod vcenters;

use crate::server::Shared;
use crate::state::Vault;
use crate::validate::AsrError;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::Value;
use std::sync::Arc;

pub fn router(sh: Arc<Shared>) -> axum::Router {
    axum::Router::new().merge(token::routes()).merge(admin::routes()).fallback(arm).with_state(sh)
}

/// A JSON response with the usual ARM headers. `null` members are dropped.
pub fn json_response(status: u16, mut body: Value) -> Response {
    strip_nulls(&mut body);
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .header("x-ms-request-id", crate::state::new_guid())
        .header("x-ms-correlation-request-id", crate::state::new_guid())
        .body(Body::from(bytes))
        .unwrap()
}

pub fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

pub fn fault_response(status: u16, code: &str, message: &str, retry_after: Option<u64>) -> Response {
    let mut r = json_response(status, crate::json::arm_error(code, message));
    if let Some(s) = retry_after {
        r.headers_mut().insert(header::RETRY_AFTER, s.to_string().parse().unwrap());
    }
    r
}

pub fn asr_error_response(e: &AsrError, headers: &HeaderMap) -> Response {
    let crid =
        headers.get("x-ms-client-request-id").and_then(|v| v.to_str().ok()).map(str::to_string).unwrap_or_else(crate::state::new_guid);
    json_response(e.status, crate::json::asr_error(e, &crid))
}

/// What an ARM handler gets: the parsed request.
pub struct Ctx<'a> {
    pub sh: &'a Arc<Shared>,
    pub method: Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub body: Bytes,
    pub api_version: String,
    /// Path segments after `.../vaults/{vault}/`, as sent.
    pub rest: Vec<String>,
}

impl Ctx<'_> {
    pub fn query(&self, key: &str) -> Option<String> {
        url::form_urlencoded::parse(self.uri.query().unwrap_or("").as_bytes())
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.into_owned())
    }
    /// Is rest segment `i` equal to `lit` (case-insensitive)?
    pub fn is(&self, i: usize, lit: &str) -> bool {
        self.rest.get(i).is_some_and(|s| s.eq_ignore_ascii_case(lit))
    }
    /// A page of `values` honouring `$skiptoken` and the scenario page size, with `nextLink`.
    pub fn paged(&self, values: Vec<Value>, page_size: usize) -> Response {
        let skip: usize = self.query("$skiptoken").or_else(|| self.query("skipToken")).and_then(|s| s.parse().ok()).unwrap_or(0);
        let size = page_size.max(1);
        let total = values.len();
        let page: Vec<Value> = values.into_iter().skip(skip).take(size).collect();
        let next = (skip + size < total).then(|| {
            let mut u = self.sh.base_url.join(self.uri.path().trim_start_matches('/')).unwrap();
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in url::form_urlencoded::parse(self.uri.query().unwrap_or("").as_bytes()) {
                    if !k.eq_ignore_ascii_case("$skiptoken") && !k.eq_ignore_ascii_case("skipToken") {
                        q.append_pair(&k, &v);
                    }
                }
                q.append_pair("$skiptoken", &(skip + size).to_string());
            }
            u.to_string()
        });
        json_response(200, crate::json::page(page, next))
    }
}

fn unauthorized(code: &str, message: &str) -> Response {
    let mut r = json_response(401, crate::json::arm_error(code, message));
    r.headers_mut().insert(header::WWW_AUTHENTICATE, "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\", error_description=\"The authentication failed because of missing 'Authorization' header.\"".parse().unwrap());
    r
}

pub fn not_found_arm(what: &str) -> Response {
    json_response(
        404,
        crate::json::arm_error(
            "ResourceNotFound",
            &format!("The Resource '{what}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"),
        ),
    )
}

async fn arm(State(sh): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let client = match headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        None => return unauthorized("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."),
        Some(v) => {
            let tok = v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).unwrap_or("");
            if tok.is_empty() {
                return unauthorized(
                    "AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is provided in an invalid format.",
                );
            }
            match sh.token_client(tok) {
                Some(client) => client,
                None if sh.token_known(tok) => return crate::fault_responses::expired_token(),
                None => return unauthorized("InvalidAuthenticationToken", "The access token is invalid."),
            }
        }
    };
    let segs: Vec<String> = uri
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    // ARM throttles every authenticated request within a subscription, whatever the route.
    let kind = crate::throttle::Kind::of(&method);
    let decision = match segs.as_slice() {
        [first, sub, ..] if first.eq_ignore_ascii_case("subscriptions") => sh.throttle.check(sub, &client, kind),
        _ => None,
    };
    let mut resp = match &decision {
        Some(crate::throttle::Decision::Throttled { retry_after_s, message }) => {
            fault_response(429, "TooManyRequests", message, Some(*retry_after_s))
        }
        _ => arm_route(&sh, method, &uri, &headers, body, segs),
    };
    let remaining = match decision {
        Some(crate::throttle::Decision::Allowed { remaining }) => Some(remaining),
        Some(crate::throttle::Decision::Throttled { .. }) => Some(0),
        None => None,
    };
    if let Some(r) = remaining {
        resp.headers_mut().insert(kind.header(), r.into());
    }
    resp
}

/// The request's `api-version` query parameter.
pub fn api_version(uri: &Uri) -> Option<String> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).find(|(k, _)| k == "api-version").map(|(_, v)| v.into_owned())
}

/// An authenticated ARM request that passed throttling: vault lookup, `api-version`, dispatch.
fn arm_route(sh: &Arc<Shared>, method: Method, uri: &Uri, headers: &HeaderMap, body: Bytes, segs: Vec<String>) -> Response {
    let lit = |i: usize, l: &str| segs.get(i).is_some_and(|s| s.eq_ignore_ascii_case(l));
    if method == Method::GET && compute::is_vm_path(&segs) {
        return compute::get_vm(sh, uri, &segs);
    }
    if !(segs.len() >= 8
        && lit(0, "subscriptions")
        && lit(2, "resourceGroups")
        && lit(4, "providers")
        && lit(5, "Microsoft.RecoveryServices")
        && lit(6, "vaults"))
    {
        return json_response(
            404,
            crate::json::arm_error(
                "InvalidResourceType",
                &format!("The resource type could not be found in the namespace for api version. Path: '{}'", uri.path()),
            ),
        );
    }
    let Some(api_version) = api_version(uri) else {
        return json_response(
            400,
            crate::json::arm_error(
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            ),
        );
    };
    let (vi, supported) = {
        let w = sh.world.read().unwrap();
        (w.vault_index(&segs[1], &segs[3], &segs[7]), w.api_versions.clone())
    };
    if !supported.iter().any(|v| v == &api_version) {
        return json_response(
            400,
            crate::json::arm_error(
                "NoRegisteredProviderFound",
                &format!(
                    "No registered resource provider found for location 'westeurope' and API version '{api_version}' for type 'vaults'. The supported api-versions are '{}'. The supported locations are 'westeurope, northeurope, eastus, westus'.",
                    supported.join(", ")
                ),
            ),
        );
    }
    let Some(vi) = vi else {
        return not_found_arm(&format!("Microsoft.RecoveryServices/vaults/{}", segs[7]));
    };
    let ctx = Ctx { sh, method, uri, headers, body, api_version, rest: segs[8..].to_vec() };
    dispatch(&ctx, vi)
}

fn dispatch(c: &Ctx<'_>, vi: usize) -> Response {
    let get = c.method == Method::GET;
    let n = c.rest.len();
    if n >= 2 && c.is(n - 2, "operationresults") && get {
        return items::operation_result(c, vi, &c.rest[n - 1]);
    }
    let r = if c.is(0, "replicationFabrics") {
        match n {
            1 if get => Some(fabric::list(c, vi)),
            2 if get => Some(fabric::get(c, vi, &c.rest[1])),
            3 if get && c.is(2, "replicationProtectionContainers") => Some(fabric::list_containers(c, vi, &c.rest[1])),
            4 if get && c.is(2, "replicationProtectionContainers") => Some(fabric::get_container(c, vi, &c.rest[1], &c.rest[3])),
            5 if get && c.is(4, "replicationProtectedItems") => Some(items::list_by_container(c, vi, &c.rest[1], &c.rest[3])),
            6 if get && c.is(4, "replicationProtectedItems") => Some(items::get(c, vi, &c.rest[1], &c.rest[3], &c.rest[5])),
            7 if c.method == Method::POST && c.is(4, "replicationProtectedItems") && c.is(6, "reProtect") => {
                Some(items::reprotect(c, vi, &c.rest[1], &c.rest[3], &c.rest[5]))
            }
            7 if c.method == Method::POST && c.is(4, "replicationProtectedItems") && c.is(6, "unplannedFailover") => {
                Some(failback::unplanned_failover(c, vi, &c.rest[1], &c.rest[3], &c.rest[5]))
            }
            7 if c.method == Method::POST && c.is(4, "replicationProtectedItems") && c.is(6, "failoverCommit") => {
                Some(failback::failover_commit(c, vi, &c.rest[1], &c.rest[3], &c.rest[5]))
            }
            7 if c.method == Method::POST && c.is(4, "replicationProtectedItems") && c.is(6, "plannedFailover") => {
                Some(failback::planned_failover(c, vi, &c.rest[1], &c.rest[3], &c.rest[5]))
            }
            3 if get && c.is(2, "replicationvCenters") => Some(vcenters::list_by_fabric(c, vi, &c.rest[1])),
            4 if get && c.is(2, "replicationvCenters") => Some(vcenters::get(c, vi, &c.rest[1], &c.rest[3])),
            _ => None,
        }
    } else if c.is(0, "replicationRecoveryPlans") {
        let post = c.method == Method::POST;
        match n {
            1 if get => Some(failback::list_plans(c, vi)),
            2 if get => Some(failback::get_plan(c, vi, &c.rest[1])),
            3 if post && c.is(2, "unplannedFailover") => Some(failback::plan_unplanned_failover(c, vi, &c.rest[1])),
            3 if post && c.is(2, "failoverCommit") => Some(failback::plan_failover_commit(c, vi, &c.rest[1])),
            3 if post && c.is(2, "plannedFailover") => Some(failback::plan_planned_failover(c, vi, &c.rest[1])),
            _ => None,
        }
    } else {
        match (n, get) {
            (1, true) if c.is(0, "replicationJobs") => Some(jobs::list(c, vi)),
            (2, true) if c.is(0, "replicationJobs") => Some(jobs::get(c, vi, &c.rest[1])),
            (2, true) if c.is(0, "replicationOperationStatus") => Some(jobs::operation_status(c, vi, &c.rest[1])),
            (1, true) if c.is(0, "replicationPolicies") => Some(policies::list(c, vi)),
            (2, true) if c.is(0, "replicationPolicies") => Some(policies::get(c, vi, &c.rest[1])),
            (1, true) if c.is(0, "replicationProtectedItems") => Some(items::list_vault(c, vi)),
            (1, true) if c.is(0, "replicationvCenters") => Some(vcenters::list_vault(c, vi)),
            _ => None,
        }
    };
    r.unwrap_or_else(|| {
        if n == 0 {
            not_found_arm("Microsoft.RecoveryServices/vaults")
        } else {
            json_response(404, crate::json::arm_error("NotFound", &format!("No route for {} {}", c.method, c.uri.path())))
        }
    })
}

/// Missing fabric error for GETs and POSTs (scenario decides 400 vs 404).
pub fn fabric_or_err<'v>(
    c: &Ctx<'_>,
    v: &'v Vault,
    fabric: &str,
    mode: crate::scenario::MissingFabricMode,
) -> Result<&'v crate::scenario::FabricSpec, Response> {
    v.fabric(fabric).ok_or_else(|| asr_error_response(&AsrError::missing_fabric(fabric, mode), c.headers))
}

pub fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
