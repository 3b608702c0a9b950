//! Log targets that may carry secrets, and the filter directive that caps them whatever level the operator asks for.
//!
//! vim_rs logs every SOAP request body at `trace` (target `vim_rs::xml::client`), and the `Login` body carries
//! the vCenter password in clear text. The HTTP stack below it is capped too, because its `trace` output can
//! include headers (the SOAP session cookie).

/// Targets (and their children) never logged below `info`.
pub const REDACTED_LOG_TARGETS: &[&str] = &["vim_rs", "reqwest", "hyper", "hyper_util", "h2"];

/// `filter` (tracing `EnvFilter` syntax) with every directive for a redacted target removed and
/// `<target>=info` appended for each, so `trace` or `vim_rs=trace` cannot turn secret-bearing logs on.
pub fn redacted_log_filter(filter: &str) -> String {
    let mut directives: Vec<String> =
        filter.split(',').map(str::trim).filter(|d| !d.is_empty() && !targets_redacted(d)).map(str::to_string).collect();
    directives.extend(REDACTED_LOG_TARGETS.iter().map(|t| format!("{t}=info")));
    directives.join(",")
}

/// Whether a directive names a redacted target (`vim_rs`, `vim_rs::xml[span]=trace`, …); bare levels do not.
fn targets_redacted(directive: &str) -> bool {
    let Some((target, _level)) = directive.rsplit_once('=') else {
        // A bare level (`trace`) or a bare target (`vim_rs` means "vim_rs at trace").
        return is_redacted(directive);
    };
    is_redacted(target.split('[').next().unwrap_or(target))
}

fn is_redacted(target: &str) -> bool {
    REDACTED_LOG_TARGETS.iter().any(|t| target == *t || target.strip_prefix(t).is_some_and(|rest| rest.starts_with("::")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operators_levels_stay_and_secret_bearing_targets_are_capped_at_info() {
        let f = redacted_log_filter("trace,reprotect_controller=debug,vim_rs=trace,vim_rs::xml::client[x]=trace,hyper,vim_rsx=debug");
        assert_eq!(f, "trace,reprotect_controller=debug,vim_rsx=debug,vim_rs=info,reqwest=info,hyper=info,hyper_util=info,h2=info");
    }

    #[test]
    fn an_empty_filter_gets_only_the_caps() {
        assert_eq!(redacted_log_filter(""), "vim_rs=info,reqwest=info,hyper=info,hyper_util=info,h2=info");
    }
}
