//! Mapping vim_rs errors onto [`VcenterError`], and reading a task's fault type from raw SOAP XML.
//!
//! vim_rs 0.7 models `TaskInfo.error` and `MissingProperty.fault` as a bare `MethodFault`, but every server
//! (vcsim, vCenter, ESXi) sends a `LocalizedMethodFault` wrapper (`<fault xsi:type="X">…</fault><localizedMessage>`),
//! so typed parsing fails. We read those properties as raw XML instead (see `UPSTREAM-vim_rs.md`).

use std::error::Error as _;

use reprotect_facts::vcenter::VcenterError;
use vim_rs::core::client::Error as VimError;

/// A fault as found in raw XML: the `xsi:type` of the inner `<fault>` and the localized message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawFault {
    pub fault: String,
    pub message: String,
}

/// Extract the first `LocalizedMethodFault` from a SOAP body: the `*:type` attribute of the first `<fault …>`
/// element, and the text of the following `<localizedMessage>` (empty when absent).
pub fn fault_from_task_error_xml(xml: &str) -> Option<RawFault> {
    let start = find_tag(xml, "fault")?;
    let tag_end = start + xml[start..].find('>')?;
    let tag = &xml[start..tag_end];
    let fault = attr_ending_with(tag, ":type").unwrap_or_else(|| "MethodFault".to_string());
    let rest = &xml[tag_end..];
    let message = find_tag(rest, "localizedMessage")
        .and_then(|s| {
            let open_end = s + rest[s..].find('>')? + 1;
            let close = open_end + rest[open_end..].find('<')?;
            Some(unescape(&rest[open_end..close]))
        })
        .unwrap_or_default();
    Some(RawFault { fault, message })
}

/// Position of `<name` or `<prefix:name` followed by whitespace, `>` or `/`.
fn find_tag(xml: &str, name: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(rel) = xml[from..].find('<') {
        let at = from + rel;
        let after = &xml[at + 1..];
        let local_start = after.find(|c: char| c.is_whitespace() || c == '>' || c == '/').unwrap_or(after.len());
        let qname = &after[..local_start];
        let local = qname.rsplit(':').next().unwrap_or(qname);
        if local == name && !qname.starts_with('/') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn attr_ending_with(tag: &str, suffix: &str) -> Option<String> {
    for part in tag.split_whitespace() {
        let Some((name, value)) = part.split_once('=') else { continue };
        if name.ends_with(suffix) {
            let v = value.trim_end_matches('/').trim_matches('"').trim_matches('\'');
            return Some(v.rsplit(':').next().unwrap_or(v).to_string());
        }
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// The fault type name of a typed vim_rs error, if any.
pub(crate) fn fault_name(err: &VimError) -> Option<String> {
    match err {
        VimError::MethodFault(f) => Some(f.type_.map(|t| t.as_str().to_string()).unwrap_or_else(|| "MethodFault".into())),
        _ => None,
    }
}

/// True when the error says the session is gone (method calls give a typed `NotAuthenticated`).
pub(crate) fn is_not_authenticated(err: &VimError) -> bool {
    fault_name(err).as_deref() == Some("NotAuthenticated")
}

/// True when the error could be a lost session in disguise: property reads of a logged-out session carry
/// a `NotAuthenticated` inside `missingSet`, which vim_rs 0.7 fails to parse (`ParseError`).
pub(crate) fn maybe_not_authenticated(err: &VimError) -> bool {
    is_not_authenticated(err) || matches!(err, VimError::ParseError(_))
}

/// Whether a transport error is a TLS verification / handshake failure.
pub(crate) fn is_tls(err: &VimError) -> bool {
    let VimError::ReqwestError(e) = err else { return false };
    let mut source: Option<&(dyn std::error::Error + 'static)> = e.source();
    while let Some(s) = source {
        if s.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        let text = s.to_string().to_ascii_lowercase();
        if text.contains("certificate") || text.contains("handshake") || text.contains("tls") {
            return true;
        }
        source = s.source();
    }
    false
}

/// Map an error from connecting / logging in.
pub(crate) fn connect_error(server: &str, err: VimError) -> VcenterError {
    if is_tls(&err) {
        return VcenterError::Tls { server: server.to_string(), message: chain(&err) };
    }
    if fault_name(&err).as_deref() == Some("InvalidLogin") {
        return VcenterError::InvalidLogin { server: server.to_string() };
    }
    VcenterError::Connect { server: server.to_string(), message: chain(&err) }
}

/// Map an error from an API call.
pub(crate) fn call_error(server: &str, call: &str, err: VimError) -> VcenterError {
    match &err {
        VimError::ReqwestError(_) => connect_error(server, err),
        VimError::MethodFault(_) => {
            VcenterError::Call { call: call.to_string(), message: format!("{}: {}", fault_name(&err).unwrap_or_default(), chain(&err)) }
        }
        _ => VcenterError::Call { call: call.to_string(), message: chain(&err) },
    }
}

/// Error text with its source chain (reqwest hides the interesting part in sources).
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_error_wrapper_yields_the_inner_fault_type_and_message() {
        let xml = r#"<returnval><obj type="Task">task-1</obj><propSet><name>info.error</name><val xsi:type="LocalizedMethodFault"><fault xsi:type="InvalidPowerState"><requestedState>poweredOn</requestedState><existingState>poweredOn</existingState></fault><localizedMessage>The attempted operation cannot be performed in the current state (Powered on).</localizedMessage></val></propSet></returnval>"#;
        let f = fault_from_task_error_xml(xml).unwrap();
        assert_eq!(f.fault, "InvalidPowerState");
        assert!(f.message.starts_with("The attempted operation"));
    }

    #[test]
    fn a_fault_without_message_or_type_still_parses() {
        let f = fault_from_task_error_xml(r#"<val><fault></fault></val>"#).unwrap();
        assert_eq!(f, RawFault { fault: "MethodFault".into(), message: String::new() });
        assert_eq!(fault_from_task_error_xml("<val/>"), None);
    }

    #[test]
    fn prefixed_elements_and_escaped_messages_are_handled() {
        let xml =
            r#"<vim:fault xmlns:vim="urn:vim25" xsi:type="vim:InvalidArgument"/><vim:localizedMessage>a &amp; b</vim:localizedMessage>"#;
        let f = fault_from_task_error_xml(xml).unwrap();
        assert_eq!(f, RawFault { fault: "InvalidArgument".into(), message: "a & b".into() });
    }
}
