//! Fabrics (configuration servers) and their protection containers.

use super::{Ctx, fabric_or_err, json_response};
use axum::response::Response;

pub fn list(c: &Ctx<'_>, vi: usize) -> Response {
    let now = c.sh.clock.now();
    let (vals, ps) = c.sh.read_world(|w| {
        let v = &w.vaults[vi];
        (v.fabrics.iter().map(|f| crate::json::fabric(v, f, now)).collect(), w.defaults.page_size)
    });
    c.paged(vals, ps)
}

pub fn get(c: &Ctx<'_>, vi: usize, fabric: &str) -> Response {
    let now = c.sh.clock.now();
    c.sh.read_world(|w| {
        let v = &w.vaults[vi];
        match fabric_or_err(c, v, fabric, w.defaults.missing_fabric) {
            Ok(f) => json_response(200, crate::json::fabric(v, f, now)),
            Err(r) => r,
        }
    })
}

/// Not in the extract (it is in the full spec): the fabric's single container, for discovery.
pub fn list_containers(c: &Ctx<'_>, vi: usize, fabric: &str) -> Response {
    let r = c.sh.read_world(|w| {
        let v = &w.vaults[vi];
        fabric_or_err(c, v, fabric, w.defaults.missing_fabric).map(|f| vec![crate::json::container(v, f)])
    });
    match r {
        Ok(vals) => c.paged(vals, usize::MAX),
        Err(r) => r,
    }
}

pub fn get_container(c: &Ctx<'_>, vi: usize, fabric: &str, container: &str) -> Response {
    c.sh.read_world(|w| {
        let v = &w.vaults[vi];
        match fabric_or_err(c, v, fabric, w.defaults.missing_fabric) {
            Ok(f) if f.container.eq_ignore_ascii_case(container) => json_response(200, crate::json::container(v, f)),
            Ok(_) => super::asr_error_response(&crate::validate::AsrError::not_found("ProtectionContainer", container), c.headers),
            Err(r) => r,
        }
    })
}
