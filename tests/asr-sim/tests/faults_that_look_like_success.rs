//! Faults real Azure shows that look like success: a POST accepted but answered 5xx, a job not
//! readable right after the 202, the 202's header variants, a token expiring mid-run, huge and
//! malformed bodies, and a failing token endpoint.

mod common;

use asr_sim::{FaultKind, FaultRule, Malformed, Scenario};
use common::{Harness, small, start};
use serde_json::Value;
use std::time::Duration;

async fn reprotect(h: &Harness, item: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let (win, _, ps) = h.ids().await;
    h.post(&format!("{}/reProtect", h.item_url(item)), &h.reprotect_body(&win, &ps, "R:", "ds-vmfs-01")).await
}

async fn jobs_for(h: &Harness, item: &str) -> Vec<Value> {
    let (s, _, list) = h.get(&format!("{}/replicationJobs?$filter=targetObjectId eq '{item}'", h.vault_url("vault-dr"))).await;
    assert_eq!(s, 200);
    list["value"].as_array().unwrap().clone()
}

fn with_defaults(yaml_defaults: &str) -> Scenario {
    let mut sc = small();
    let d: Scenario = Scenario::from_yaml(&format!("defaults: {yaml_defaults}")).unwrap();
    sc.defaults.lro_headers = d.defaults.lro_headers;
    sc.defaults.async_operation_id = d.defaults.async_operation_id;
    sc.defaults.job_visible_after = d.defaults.job_visible_after;
    sc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reprotect_answered_with_503_by_accept_then_fail_still_created_exactly_one_job() {
    let h = start(small(), 1.0).await;
    h.sim.inject_fault(FaultRule::new("/reProtect", FaultKind::AcceptThenFail(503)).method("POST").times(1));
    let (s, _, b) = reprotect(&h, "app-01").await;
    assert_eq!((s, b["error"]["code"].as_str()), (503, Some("ServiceUnavailable")));
    let jobs = jobs_for(&h, "app-01").await;
    assert_eq!(jobs.len(), 1, "the POST took effect");
    assert_eq!(jobs[0]["properties"]["state"], "InProgress");
    let (_, _, item) = h.get(&h.item_url("app-01")).await;
    assert!(item["properties"]["currentScenario"]["jobId"].as_str().unwrap().ends_with(jobs[0]["name"].as_str().unwrap()));
    // A refused POST is passed through unchanged: the fault only spoils successes.
    h.sim.inject_fault(FaultRule::new("/reProtect", FaultKind::AcceptThenFail(500)).method("POST").times(1));
    assert_eq!(reprotect(&h, "app-01").await.0, 409, "a job is already running on app-01");
    assert_eq!(jobs_for(&h, "app-01").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_job_answers_404_with_asr_not_found_until_job_visible_after_has_passed() {
    let h = start(with_defaults("{job_visible_after: 30s, lro_headers: both}"), 1.0).await;
    let (s, hd, _) = reprotect(&h, "app-01").await;
    assert_eq!(s, 202);
    let loc = hd["location"].to_str().unwrap().to_string();
    let job = loc.split("/operationresults/").nth(1).unwrap().split('?').next().unwrap().to_string();
    let (s, _, b) = h.get(&format!("{}/replicationJobs/{job}", h.vault_url("vault-dr"))).await;
    assert_eq!((s, b["error"]["code"].as_str(), b["error"]["details"][0]["code"].as_str()), (404, Some("NotFound"), Some("JobNotFound")));
    assert!(jobs_for(&h, "app-01").await.is_empty(), "nor listed");
    assert_eq!(h.get(&loc).await.0, 404);
    h.sim.advance_time(Duration::from_secs(31));
    let (s, _, b) = h.get(&format!("{}/replicationJobs/{job}", h.vault_url("vault-dr"))).await;
    assert_eq!((s, b["name"].as_str()), (200, Some(job.as_str())));
    assert_eq!(jobs_for(&h, "app-01").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_202_rotates_through_both_headers_async_operation_only_and_location_only() {
    let h = start(small(), 1.0).await;
    let mut seen = vec![];
    for item in ["app-01", "app-02", "app-03"] {
        let (s, hd, _) = reprotect(&h, item).await;
        assert_eq!(s, 202);
        assert!(hd.contains_key("retry-after"));
        let job = jobs_for(&h, item).await[0]["name"].as_str().unwrap().to_string();
        if let Some(aao) = hd.get("azure-asyncoperation") {
            assert!(aao.to_str().unwrap().contains(&format!("/replicationOperationStatus/{job}?")), "names the job by default");
        }
        if let Some(loc) = hd.get("location") {
            assert!(loc.to_str().unwrap().contains(&format!("/operationresults/{job}?")));
        }
        seen.push((hd.contains_key("location"), hd.contains_key("azure-asyncoperation")));
    }
    assert_eq!(seen, [(true, true), (false, true), (true, false)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_header_variants_and_a_distinct_operation_id_can_be_chosen_per_scenario() {
    let h = start(with_defaults("{lro_headers: async_operation, async_operation_id: distinct}"), 1.0).await;
    for item in ["app-01", "app-02"] {
        let (_, hd, _) = reprotect(&h, item).await;
        assert!(!hd.contains_key("location"));
        let aao = hd["azure-asyncoperation"].to_str().unwrap().to_string();
        let job = jobs_for(&h, item).await[0]["name"].as_str().unwrap().to_string();
        assert!(!aao.contains(&job), "as in Azure's example, the operation id is not the job");
        let (s, _, op) = h.get(&aao).await;
        assert_eq!((s, op["status"].as_str()), (200, Some("InProgress")));
    }
    let h = start(with_defaults("{lro_headers: location}"), 1.0).await;
    let (_, hd, _) = reprotect(&h, "app-01").await;
    assert!(hd.contains_key("location") && !hd.contains_key("azure-asyncoperation"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expire_token_answers_401_expired_authentication_token_until_a_new_token_is_used() {
    let mut h = start(small(), 1.0).await;
    let url = format!("{}/replicationFabrics/cs-fabric-01", h.vault_url("vault-dr"));
    assert_eq!(h.get(&url).await.0, 200);
    h.sim.inject_fault(FaultRule::new("/replicationFabrics", FaultKind::ExpireToken).times(1));
    let r = h.http.get(format!("{url}?api-version=2026-11-01")).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "ExpiredAuthenticationToken");
    let (s, _, b) = h.get(&format!("{}/replicationPolicies", h.vault_url("vault-dr"))).await;
    assert_eq!((s, b["error"]["code"].as_str()), (401, Some("ExpiredAuthenticationToken")), "the token stays expired");
    h.token = h.sim.issue_token();
    assert_eq!(h.get(&url).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_responses_are_valid_json_of_the_size_asked_and_malformed_ones_are_not_what_the_spec_says() {
    let h = start(small(), 1.0).await;
    let url = format!("{}/replicationPolicies?api-version=2026-11-01", h.vault_url("vault-dr"));
    h.sim.inject_fault(FaultRule::new("/replicationPolicies", FaultKind::HugeResponse(3)).method("GET").times(1));
    let r = h.http.get(&url).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.content_length().is_none(), "streamed without Content-Length");
    let b = r.bytes().await.unwrap();
    assert!(b.len() > 3 * 1024 * 1024, "{}", b.len());
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(v["value"].as_array().unwrap().len(), 2, "the real answer is still there");
    h.sim.inject_fault(FaultRule::new("/replicationPolicies", FaultKind::MalformedJson(Malformed::Truncated)).times(1));
    let b = h.http.get(&url).bearer_auth(&h.token).send().await.unwrap().bytes().await.unwrap();
    assert!(!b.is_empty() && serde_json::from_slice::<Value>(&b).is_err());
    h.sim.inject_fault(FaultRule::new("/replicationPolicies", FaultKind::MalformedJson(Malformed::WrongType)).times(1));
    let (s, _, v) = h.get(&url).await;
    assert_eq!(s, 200);
    assert!(v["properties"].is_string() && v["value"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_endpoint_fails_as_configured_and_every_token_request_is_counted() {
    let sc = Scenario::from_yaml(
        r#"
faults:
  - {route_contains: /oauth2/v2.0/token, kind: {token_error: 503}, remaining: 2}
  - {route_contains: /oauth2/v2.0/token, kind: {token_error: 400}, remaining: 1}
  - {route_contains: reProtect, method: POST, kind: {accept_then_fail: 500}, remaining: 1}
  - {route_contains: replicationJobs, kind: expire_token, remaining: 1}
  - {route_contains: replicationvCenters, kind: {huge_response: 1}, remaining: 1}
  - {route_contains: replicationPolicies, kind: {malformed_json: wrong_type}, remaining: 1}
"#,
    )
    .unwrap();
    assert_eq!(sc.faults.len(), 6, "every new kind parses from YAML");
    let h = start(sc, 1.0).await;
    let (tenant, client, secret) = h.sim.credentials();
    let form = [("grant_type", "client_credentials"), ("client_id", &client), ("client_secret", &secret), ("scope", "x/.default")];
    let url = format!("{}{tenant}/oauth2/v2.0/token", h.sim.authority_url);
    let mut answers = vec![];
    for _ in 0..4 {
        let r = h.http.post(&url).form(&form).send().await.unwrap();
        let s = r.status().as_u16();
        let b: Value = r.json().await.unwrap();
        answers.push((s, b["error"].as_str().map(str::to_string)));
    }
    let e = |s: &str| Some(s.to_string());
    assert_eq!(
        answers,
        [(503, e("temporarily_unavailable")), (503, e("temporarily_unavailable")), (400, e("invalid_client")), (200, None)]
    );
    assert_eq!(h.sim.count("POST", "/oauth2/v2.0/token"), 4);
    // Faults added through the admin API use the same spelling.
    let admin = format!("{}_admin/faults", h.sim.base_url);
    let r = h.http.post(&admin).json(&serde_json::json!({"route_contains": "x", "kind": "expire_token"})).send().await.unwrap();
    assert_eq!(r.status(), 201);
}
