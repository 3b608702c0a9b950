//! Replication policies (the InMage failback policy and the forward policy).

use super::{Ctx, json_response};
use axum::response::Response;

pub fn list(c: &Ctx<'_>, vi: usize) -> Response {
    let (vals, ps) = c.sh.read_world(|w| {
        let v = &w.vaults[vi];
        (v.policies.iter().map(|p| crate::json::policy(v, p)).collect(), w.defaults.page_size)
    });
    c.paged(vals, ps)
}

pub fn get(c: &Ctx<'_>, vi: usize, name: &str) -> Response {
    c.sh.read_world(|w| {
        let v = &w.vaults[vi];
        match v.policy(name) {
            Some(p) => json_response(200, crate::json::policy(v, p)),
            None => super::asr_error_response(&crate::validate::AsrError::not_found("Policy", name), c.headers),
        }
    })
}
