//! Fault injection: per-route rules (429, 5xx, slow, dropped connection, and faults that look like
//! success: accepted-then-5xx, expired token, huge or malformed bodies, token endpoint errors) by
//! count or fraction. The responses themselves are built in [`crate::fault_responses`].

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::Mutex;
use std::time::Duration;

fn de_secs<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let sd = crate::scenario::de_duration(d)?;
    Ok(Duration::try_from(sd).unwrap_or_default())
}

fn ser_secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// What happens to a matching request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// 429 with an ARM `TooManyRequests` body and `Retry-After`.
    TooManyRequests { retry_after_s: u64 },
    /// 500/503/... with an ARM `InternalServerError`/`ServiceUnavailable` body.
    ServerError(u16),
    /// Delay the request, then answer normally. YAML: `slow: 2` (seconds) or `slow: 500ms`.
    Slow(#[serde(deserialize_with = "de_secs", serialize_with = "ser_secs")] Duration),
    /// Answer normally but hold the response back (the request has taken effect): models a
    /// client that dies after Azure accepted a POST but before it saw the answer.
    SlowResponse(#[serde(deserialize_with = "de_secs", serialize_with = "ser_secs")] Duration),
    /// Close the connection without any response.
    DropConnection,
    /// The request takes effect (a reProtect POST creates its job) but the answer is this 5xx
    /// with ARM's error body: "accepted, answer lost". Non-2xx answers pass unchanged.
    AcceptThenFail(u16),
    /// The bearer token presented expires now: the request (and any later one with that token)
    /// answers 401 `ExpiredAuthenticationToken` with `WWW-Authenticate`. A client must get a new
    /// token; a request refused with 401 was not executed.
    ExpireToken,
    /// Answer normally, padded to this many MiB (still valid JSON), streamed without `Content-Length`.
    HugeResponse(u32),
    /// Answer 200 with a body that is not what the spec says.
    MalformedJson(Malformed),
    /// The Entra ID token endpoint answers this status with Entra's error body (400/401:
    /// `invalid_client`, 429/5xx: `temporarily_unavailable`) instead of a token.
    TokenError(u16),
}

/// How [`FaultKind::MalformedJson`] spoils the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Malformed {
    /// The real body cut in the middle.
    Truncated,
    /// Valid JSON with the wrong types (`properties` a string, `value` an object, `name` a number).
    WrongType,
}

/// A rule: requests whose path contains `route_contains` (case-insensitive) and whose method
/// matches (any if `None`) get `kind`, `remaining` times (forever if `None`), each with
/// probability `fraction` (always if `None`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    pub route_contains: String,
    #[serde(default)]
    pub method: Option<String>,
    pub kind: FaultKind,
    #[serde(default)]
    pub remaining: Option<u32>,
    #[serde(default)]
    pub fraction: Option<f64>,
}

impl FaultRule {
    pub fn new(route_contains: impl Into<String>, kind: FaultKind) -> Self {
        FaultRule { route_contains: route_contains.into(), method: None, kind, remaining: None, fraction: None }
    }
    pub fn method(mut self, m: &str) -> Self {
        self.method = Some(m.to_string());
        self
    }
    pub fn times(mut self, n: u32) -> Self {
        self.remaining = Some(n);
        self
    }
    pub fn fraction(mut self, f: f64) -> Self {
        self.fraction = Some(f);
        self
    }
}

/// The active rules.
#[derive(Default)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
}

impl Faults {
    pub fn new(rules: Vec<FaultRule>) -> Self {
        Faults { rules: Mutex::new(rules) }
    }
    pub fn add(&self, rule: FaultRule) {
        self.rules.lock().unwrap().push(rule);
    }
    pub fn clear(&self) {
        self.rules.lock().unwrap().clear();
    }
    pub fn list(&self) -> Vec<FaultRule> {
        self.rules.lock().unwrap().clone()
    }
    pub fn is_empty(&self) -> bool {
        self.rules.lock().unwrap().is_empty()
    }

    /// The fault to apply to this request, if any (consumes one use of a counted rule).
    pub fn check(&self, method: &str, path_and_query: &str) -> Option<FaultKind> {
        let mut rules = self.rules.lock().unwrap();
        if rules.is_empty() {
            return None;
        }
        let path = path_and_query.to_ascii_lowercase();
        let mut hit = None;
        for (i, r) in rules.iter_mut().enumerate() {
            if !path.contains(&r.route_contains.to_ascii_lowercase()) {
                continue;
            }
            if r.method.as_deref().is_some_and(|m| !m.eq_ignore_ascii_case(method)) {
                continue;
            }
            if r.remaining == Some(0) {
                continue;
            }
            if let Some(f) = r.fraction
                && rand::random::<f64>() >= f
            {
                continue;
            }
            if let Some(n) = r.remaining.as_mut() {
                *n -= 1;
            }
            hit = Some((i, r.kind.clone()));
            break;
        }
        let (i, kind) = hit?;
        if rules.get(i).is_some_and(|r| r.remaining == Some(0)) {
            rules.remove(i);
        }
        Some(kind)
    }
}
