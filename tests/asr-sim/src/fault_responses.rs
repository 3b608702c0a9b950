//! Responses of the faults that look like success: accepted-then-5xx, expired token, huge and
//! malformed bodies, Entra ID token endpoint errors.

use crate::faults::Malformed;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;

/// A 5xx with ARM's error body in place of a 2xx answer (the request has taken effect).
pub fn accept_then_fail(resp: Response, status: u16) -> Response {
    if !resp.status().is_success() {
        return resp;
    }
    server_error(status)
}

/// ARM's answer to a 5xx fault.
pub fn server_error(status: u16) -> Response {
    let code = match status {
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        502 => "BadGateway",
        _ => "InternalServerError",
    };
    crate::routes::fault_response(status, code, "The server encountered an internal error. Please retry the request.", None)
}

/// ARM's 401 for a bearer token that has expired.
pub fn expired_token() -> Response {
    let now = jiff::Timestamp::now();
    let fmt = |t: jiff::Timestamp| t.strftime("%m/%d/%Y %H:%M:%S").to_string();
    let message = format!(
        "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
        fmt(now - jiff::SignedDuration::from_secs(1)),
        fmt(now)
    );
    let mut r = crate::routes::json_response(401, crate::json::arm_error("ExpiredAuthenticationToken", &message));
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(
            "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\", error_description=\"The access token has expired.\"",
        ),
    );
    r
}

/// Entra ID's error for a failing token request.
pub fn entra_error(status: u16) -> Response {
    match status {
        400 => crate::routes::token::aad_error(
            400,
            "invalid_client",
            7000222,
            "The provided client secret keys for app '11111111-2222-3333-4444-555555555555' are expired. Visit the Azure portal to create new keys for your app.",
        ),
        401 => crate::routes::token::aad_error(401, "invalid_client", 7000215, "Invalid client secret provided."),
        s => {
            let mut r =
                crate::routes::token::aad_error(s, "temporarily_unavailable", 90033, "A transient error has occurred. Please try again.");
            if s == 429 || s == 503 {
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            r
        }
    }
}

async fn body_of(resp: Response) -> (axum::http::response::Parts, Bytes) {
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    (parts, bytes)
}

/// The real answer with a `padding` member of `mib` MiB, sent in 64 KiB chunks without `Content-Length`.
pub async fn huge(resp: Response, mib: u32) -> Response {
    let (mut parts, bytes) = body_of(resp).await;
    let rest = match bytes.strip_prefix(b"{") {
        Some(r) if r.len() > 1 => [b",".as_slice(), r].concat(),
        _ => b"}".to_vec(),
    };
    const CHUNK: usize = 64 * 1024;
    let total = mib as usize * 1024 * 1024;
    let pad = Bytes::from(vec![b'a'; CHUNK]);
    let mut chunks = vec![Bytes::from_static(b"{\"padding\":\"")];
    chunks.extend(std::iter::repeat_n(pad, total.div_ceil(CHUNK)));
    chunks.push(Bytes::from_static(b"\""));
    chunks.push(Bytes::from(rest));
    parts.headers.remove(header::CONTENT_LENGTH);
    let stream = futures::stream::iter(chunks.into_iter().map(Ok::<_, std::convert::Infallible>));
    Response::from_parts(parts, Body::from_stream(stream))
}

/// A 200 whose body is truncated or has the wrong types.
pub async fn malformed(resp: Response, how: Malformed) -> Response {
    let (mut parts, bytes) = body_of(resp).await;
    let body = match how {
        Malformed::Truncated => bytes.slice(..bytes.len() / 2),
        Malformed::WrongType => Bytes::from_static(br#"{"id":42,"name":{"n":1},"properties":"InProgress","value":{"0":"x"},"nextLink":7}"#),
    };
    parts.status = axum::http::StatusCode::OK;
    parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    Response::from_parts(parts, Body::from(body))
}
