//! Tests of job error classification and provider support.

use super::*;

fn err(code: Option<&str>, provider: Option<&str>) -> JobErrorFacts {
    JobErrorFacts {
        code: code.map(Into::into),
        provider_code: provider.map(Into::into),
        message: Some("The operation failed.".into()),
        ..JobErrorFacts::default()
    }
}

#[test]
fn an_agent_code_behind_a_generic_service_code_is_agent_not_registered() {
    assert_eq!(classify_job_error(&err(Some("539"), Some("95226"))), AsrErrorClass::AgentNotRegistered);
    assert_eq!(classify_job_error(&err(Some("78093"), None)), AsrErrorClass::AgentNotRegistered);
    assert_eq!(classify_job_error(&err(Some("539"), Some("8061"))), AsrErrorClass::Blocking);
}

#[test]
fn a_job_is_classified_from_all_its_errors_not_only_the_first() {
    let errors = [err(Some("539"), Some("8061")), err(Some("539"), Some(" 95226 "))];
    assert_eq!(classify_job_errors(&errors), AsrErrorClass::AgentNotRegistered);
    assert_eq!(classify_job_errors(&errors[..1]), AsrErrorClass::Blocking);
    assert_eq!(classify_job_errors(&[]), AsrErrorClass::Blocking);
}

#[test]
fn only_the_known_replication_providers_are_supported() {
    let with = |p: Option<&str>| ProtectedItemFacts { provider: p.map(Into::into), ..ProtectedItemFacts::default() };
    assert_eq!(with(Some("InMageAzureV2")).provider_supported(), Some(true));
    assert_eq!(with(Some("inmage")).provider_supported(), Some(true));
    assert_eq!(with(Some("InMageRcm")).provider_supported(), Some(false));
    assert_eq!(with(None).provider_supported(), None);
}
