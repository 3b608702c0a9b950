//! vCenters discovered by the configuration server.

use super::{Ctx, fabric_or_err, json_response};
use axum::response::Response;
use serde_json::Value;

fn all(c: &Ctx<'_>, vi: usize, fabric: Option<&str>) -> Result<(Vec<Value>, usize), Response> {
    let now = c.sh.clock.now();
    c.sh.read_world(|w| {
        let v = &w.vaults[vi];
        let fabrics: Vec<_> = match fabric {
            Some(f) => vec![fabric_or_err(c, v, f, w.defaults.missing_fabric)?],
            None => v.fabrics.iter().collect(),
        };
        let vals = fabrics.iter().flat_map(|f| f.vcenters.iter().map(|vc| crate::json::vcenter(v, f, vc, now))).collect();
        Ok((vals, w.defaults.page_size))
    })
}

pub fn list_by_fabric(c: &Ctx<'_>, vi: usize, fabric: &str) -> Response {
    match all(c, vi, Some(fabric)) {
        Ok((v, ps)) => c.paged(v, ps),
        Err(r) => r,
    }
}

pub fn list_vault(c: &Ctx<'_>, vi: usize) -> Response {
    match all(c, vi, None) {
        Ok((v, ps)) => c.paged(v, ps),
        Err(r) => r,
    }
}

pub fn get(c: &Ctx<'_>, vi: usize, fabric: &str, name: &str) -> Response {
    match all(c, vi, Some(fabric)) {
        Ok((vals, _)) => match vals.into_iter().find(|v| v["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name))) {
            Some(v) => json_response(200, v),
            None => super::asr_error_response(&crate::validate::AsrError::not_found("VCenter", name), c.headers),
        },
        Err(r) => r,
    }
}
