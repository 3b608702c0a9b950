//! HTTP-level behaviour: token endpoint, bearer checks, api-version, paging, reprotect LRO, jobs,
//! errors, fault injection, request log and admin API.

mod common;

use asr_sim::{FaultKind, FaultRule};
use common::{SUB, small, start};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn token_form(h: &common::Harness, tenant: &str, client: &str, secret: &str, scope: &str) -> (u16, Value) {
    let url = format!("{}{tenant}/oauth2/v2.0/token", h.sim.authority_url);
    let r = h
        .http
        .post(url)
        .form(&[("grant_type", "client_credentials"), ("client_id", client), ("client_secret", secret), ("scope", scope)])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_endpoint_issues_bearer_tokens_for_the_scenario_credentials_only() {
    let h = start(small(), 1.0).await;
    let (tenant, client, secret) = h.sim.credentials();
    let scope = "https://management.azure.com/.default";
    let (s, b) = token_form(&h, &tenant, &client, &secret, scope).await;
    assert_eq!(s, 200);
    assert_eq!(b["token_type"], "Bearer");
    assert!(b["expires_in"].as_i64().unwrap() >= 600 && b["ext_expires_in"].as_i64().is_some());
    let tok = b["access_token"].as_str().unwrap();
    let r =
        h.http.get(format!("{}/replicationFabrics?api-version=2026-11-01", h.vault_url("vault-dr"))).bearer_auth(tok).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (s, b) = token_form(&h, &tenant, &client, "wrong", scope).await;
    assert_eq!(s, 401);
    assert_eq!(b["error"], "invalid_client");
    assert!(b["error_description"].as_str().unwrap().starts_with("AADSTS7000215: Invalid client secret provided."));
    assert_eq!(b["error_codes"], json!([7000215]));
    for k in ["timestamp", "trace_id", "correlation_id"] {
        assert!(b[k].is_string(), "{k}");
    }
    let (s, b) = token_form(&h, &tenant, "someone-else", &secret, scope).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("unauthorized_client")));
    let (s, _) = token_form(&h, "other-tenant", &client, &secret, scope).await;
    assert_eq!(s, 400);
    let (s, b) = token_form(&h, &tenant, &client, &secret, "https://management.azure.com").await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_scope")));
    let (s, _, d) = h.get(&format!("{}{tenant}/v2.0/.well-known/openid-configuration", h.sim.authority_url)).await;
    assert_eq!(s, 200);
    assert!(d["token_endpoint"].as_str().unwrap().ends_with("/oauth2/v2.0/token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arm_routes_require_a_valid_bearer_and_a_supported_api_version() {
    let h = start(small(), 1.0).await;
    let url = format!("{}/replicationFabrics?api-version=2026-11-01", h.vault_url("vault-dr"));
    let r = h.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "AuthenticationFailed");
    let r = h.http.get(&url).bearer_auth("forged").send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "InvalidAuthenticationToken");
    let bare = url.replace("?api-version=2026-11-01", "");
    let r = h.http.get(&bare).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "MissingApiVersionParameter");
    let (s, _, b) = h.get(&url.replace("2026-11-01", "2099-01-01")).await;
    assert_eq!((s, b["error"]["code"].as_str()), (400, Some("NoRegisteredProviderFound")));
    let lower = url.replace("/Subscriptions/", "/subscriptions/").replace("/replicationFabrics", "/replicationfabrics");
    assert_eq!(h.get(&lower).await.0, 200, "path literals are case-insensitive");
    let (s, _, b) = h.get(&url.replace("vault-dr", "vault-nope")).await;
    assert_eq!((s, b["error"]["code"].as_str()), (404, Some("ResourceNotFound")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_items_are_paged_with_next_link() {
    let h = start(small(), 1.0).await; // page_size 2
    let mut url = format!("{}/replicationProtectedItems", h.container_url());
    let (mut names, mut pages) = (vec![], 0);
    loop {
        let (s, _, b) = h.get(&url).await;
        assert_eq!(s, 200);
        pages += 1;
        names.extend(b["value"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_string()));
        match b["nextLink"].as_str() {
            Some(n) => url = n.to_string(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["app-01", "app-02", "app-03", "db-01", "web-legacy"]);
    let (_, _, b) = h.get(&format!("{}/replicationProtectedItems", h.vault_url("vault-dr"))).await;
    assert_eq!(b["value"].as_array().unwrap().len(), 2);
    assert!(b["nextLink"].as_str().unwrap().contains("api-version=2026-11-01"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_list_filtered_by_start_time_as_powershell_sends_it_holds_only_jobs_started_since_and_a_bad_time_is_refused() {
    let h = start(small(), 1.0).await;
    assert!(h.sim.fail_over_again("app-01"));
    let jobs = format!("{}/replicationJobs", h.vault_url("vault-dr"));
    // `Get-AzRecoveryServicesAsrJob -StartTime`: `ToUniversalTime().ToString("o")` inside `StartTime eq '…'`.
    let since =
        |ago: jiff::SignedDuration| format!("{jobs}?$filter=StartTime eq '{}'", (h.sim.now() - ago).strftime("%Y-%m-%dT%H:%M:%S.0000000Z"));
    let (s, _, recent) = h.get(&since(jiff::SignedDuration::from_mins(10))).await;
    assert_eq!(s, 200);
    let recent = recent["value"].as_array().unwrap().clone();
    assert_eq!(recent.len(), 1, "the failover's job: {recent:?}");
    assert_eq!(recent[0]["properties"]["scenarioName"], "UnplannedFailover");
    assert_eq!(recent[0]["properties"]["targetObjectId"], "app-01");
    assert_eq!(recent[0]["properties"]["state"], "Succeeded");
    let (_, _, later) = h.get(&since(jiff::SignedDuration::from_mins(1))).await;
    assert!(later["value"].as_array().unwrap().is_empty(), "the failover job started three minutes ago: {later}");
    // Combined with another clause, and with the `+` a form encoder writes for spaces.
    let (_, _, both) = h
        .get(&format!(
            "{jobs}?$filter=StartTime+eq+'{}'+and+targetObjectId+eq+'db-01'",
            (h.sim.now() - jiff::SignedDuration::from_mins(10)).strftime("%Y-%m-%dT%H:%M:%SZ")
        ))
        .await;
    assert!(both["value"].as_array().unwrap().is_empty(), "{both}");
    let (s, _, refused) = h.get(&format!("{jobs}?$filter=StartTime eq 'yesterday'")).await;
    assert_eq!((s, refused["error"]["code"].as_str()), (400, Some("BadRequest")), "{refused}");
    h.sim.shutdown().await;
}

async fn poll_job(h: &common::Harness, job: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, _, j) = h.get(&format!("{}/replicationJobs/{job}", h.vault_url("vault-dr"))).await;
        if j["properties"]["state"] != "InProgress" || Instant::now() > deadline {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reprotect_answers_202_with_lro_headers_and_the_job_runs_to_succeeded() {
    let h = start(small(), 60.0).await; // 2 min job in 2 s
    let (win, _, ps) = h.ids().await;
    let (s, hd, _) = h.post(&format!("{}/reProtect", h.item_url("app-01")), &h.reprotect_body(&win, &ps, "R:", "ds-vmfs-01")).await;
    assert_eq!(s, 202);
    let loc = hd["location"].to_str().unwrap().to_string();
    let aao = hd["azure-asyncoperation"].to_str().unwrap().to_string();
    assert!(loc.starts_with(&format!("{}Subscriptions/{SUB}/", h.sim.base_url)));
    assert!(loc.contains("/replicationFabrics/cs-fabric-01/") && loc.contains("api-version=2026-11-01"));
    let job = loc.split("/operationresults/").nth(1).unwrap().split('?').next().unwrap().to_string();
    assert!(aao.contains(&format!("/replicationOperationStatus/{job}?")), "Azure-AsyncOperation names the job, as in recorded traffic");
    assert_eq!(hd["retry-after"], "1", "10 s scaled by 60");
    let (_, _, item) = h.get(&h.item_url("app-01")).await;
    assert_eq!(item["properties"]["currentScenario"]["scenarioName"], "ReverseReplicate");
    assert!(item["properties"]["currentScenario"]["jobId"].as_str().unwrap().ends_with(&job));
    let (s, _, _) = h.get(&loc).await;
    assert_eq!(s, 202);
    let (_, _, j) = h.get(&format!("{}/replicationJobs/{job}", h.vault_url("vault-dr"))).await;
    assert_eq!(j["properties"]["state"], "InProgress");
    assert_eq!(j["properties"]["targetObjectId"], "app-01");
    let j = poll_job(&h, &job).await;
    assert_eq!(j["properties"]["state"], "Succeeded");
    assert!(j["properties"]["tasks"].as_array().unwrap().iter().all(|t| t["state"] == "Succeeded"));
    let (s, _, done) = h.get(&loc).await;
    assert_eq!(s, 200);
    let p = &done["properties"];
    assert_eq!(
        (
            p["protectionState"].as_str(),
            p["providerSpecificDetails"]["instanceType"].as_str(),
            p["currentScenario"]["scenarioName"].as_str()
        ),
        (Some("Protected"), Some("InMage"), Some("None"))
    );
    assert_eq!(p["providerSpecificDetails"]["masterTargetId"], win.as_str());
    let (s, _, op) = h.get(&aao).await;
    assert_eq!((s, op["status"].as_str()), (200, Some("Succeeded")));
    // Jobs can be found by target object.
    let (_, _, list) = h.get(&format!("{}/replicationJobs?$filter=targetObjectId eq 'app-01'", h.vault_url("vault-dr"))).await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    let (_, _, list) = h.get(&format!("{}/replicationJobs?$filter=targetObjectId eq 'db-01'", h.vault_url("vault-dr"))).await;
    assert!(list["value"].as_array().unwrap().is_empty());
    h.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reprotect_before_the_agent_registered_fails_with_95226_and_succeeds_later() {
    let mut sc = small();
    sc.defaults.lro_headers = asr_sim::LroHeaders::Both; // this test follows `Location` twice
    let h = start(sc, 60.0).await;
    let (win, _, ps) = h.ids().await;
    h.sim.set_agent_registered("app-02", false);
    let (_, _, item) = h.get(&h.item_url("app-02")).await;
    let hb: jiff::Timestamp = item["properties"]["providerSpecificDetails"]["lastHeartbeat"].as_str().unwrap().parse().unwrap();
    let fo: jiff::Timestamp = item["properties"]["lastSuccessfulFailoverTime"].as_str().unwrap().parse().unwrap();
    assert!(hb < fo, "heartbeat older than failover until the agent registers");
    let body = h.reprotect_body(&win, &ps, "R:", "ds-vmfs-01");
    let (_, hd, _) = h.post(&format!("{}/reProtect", h.item_url("app-02")), &body).await;
    let loc = hd["location"].to_str().unwrap().to_string();
    let job = loc.split("/operationresults/").nth(1).unwrap().split('?').next().unwrap().to_string();
    let j = poll_job(&h, &job).await;
    assert_eq!(j["properties"]["state"], "Failed");
    let err = &j["properties"]["errors"][0]["serviceErrorDetails"];
    assert_eq!(err["code"], "95226");
    assert!(err["message"].as_str().unwrap().contains("agent is not installed"));
    assert!(err["possibleCauses"].is_string() && err["recommendedAction"].is_string());
    let (s, _, e) = h.get(&loc).await;
    assert_eq!((s, e["error"]["details"][0]["code"].as_str()), (400, Some("95226")));
    h.sim.set_agent_registered("app-02", true);
    let (s, hd, _) = h.post(&format!("{}/reProtect", h.item_url("app-02")), &body).await;
    assert_eq!(s, 202);
    let job = hd["location"].to_str().unwrap().split("/operationresults/").nth(1).unwrap().split('?').next().unwrap().to_string();
    assert_eq!(poll_job(&h, &job).await["properties"]["state"], "Succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_reprotect_inputs_answer_400_with_the_asr_error_body() {
    let h = start(small(), 1.0).await;
    let (win, lin, ps) = h.ids().await;
    let cases = [
        ("app-01", h.reprotect_body(&lin, &ps, "/mnt/retention", "ds-vmfs-01"), "MasterTargetOsTypeMismatch"),
        ("app-01", h.reprotect_body(&win, &ps, "E:", "ds-vmfs-01"), "RetentionVolumeNotFound"),
        ("app-01", h.reprotect_body(&win, &ps, "R:", "ds-nfs-01"), "DatastoreTypeNotSupported"),
        ("app-01", h.reprotect_body("00000000-dead-beef-0000-000000000000", &ps, "R:", "ds-vmfs-01"), "MasterTargetServerNotFound"),
    ];
    for (item, body, code) in cases {
        let r = h
            .http
            .post(format!("{}/reProtect?api-version=2026-11-01", h.item_url(item)))
            .bearer_auth(&h.token)
            .header("x-ms-client-request-id", "crid-1")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{code}");
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["error"]["code"], "BadRequest");
        let d = &b["error"]["details"][0];
        assert_eq!(d["code"], code);
        assert_eq!(d["clientRequestId"], "crid-1");
        for k in ["message", "possibleCauses", "recommendedAction", "activityId"] {
            assert!(d[k].as_str().is_some_and(|s| !s.is_empty()), "{code}: {k}");
        }
    }
    let missing_fabric = h.item_url("app-01").replace("cs-fabric-01", "cs-gone");
    let (s, _, b) = h.post(&format!("{missing_fabric}/reProtect"), &h.reprotect_body(&win, &ps, "R:", "ds-vmfs-01")).await;
    assert_eq!((s, b["error"]["details"][0]["code"].as_str()), (400, Some("SubscriptionIdNotRegisteredWithSrs")));
    let r = h
        .http
        .post(format!("{}/reProtect?api-version=2026-11-01", h.item_url("app-01")))
        .bearer_auth(&h.token)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(h.sim.count("POST", "/reProtect"), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_throttle_fail_slow_down_and_drop_requests() {
    let h = start(small(), 1.0).await;
    let url = h.item_url("app-01");
    h.sim.inject_fault(
        FaultRule::new("/replicationProtectedItems/app-01", FaultKind::TooManyRequests { retry_after_s: 7 }).method("GET").times(2),
    );
    for _ in 0..2 {
        let (s, hd, b) = h.get(&url).await;
        assert_eq!((s, hd["retry-after"].to_str().unwrap(), b["error"]["code"].as_str()), (429, "7", Some("TooManyRequests")));
    }
    assert_eq!(h.get(&url).await.0, 200, "count exhausted");
    h.sim.inject_fault(FaultRule::new("app-01", FaultKind::ServerError(503)).fraction(1.0).times(1));
    assert_eq!(h.get(&url).await.0, 503);
    h.sim.inject_fault(FaultRule::new("app-01", FaultKind::Slow(Duration::from_millis(400))).times(1));
    let t = Instant::now();
    assert_eq!(h.get(&url).await.0, 200);
    assert!(t.elapsed() >= Duration::from_millis(400));
    h.sim.inject_fault(FaultRule::new("app-01", FaultKind::DropConnection).times(1));
    let r = h.http.get(format!("{url}?api-version=2026-11-01")).bearer_auth(&h.token).send().await;
    assert!(r.is_err(), "connection dropped: {r:?}");
    h.sim.inject_fault(FaultRule::new("app-01", FaultKind::ServerError(500)));
    assert_eq!(h.get(&url).await.0, 500);
    h.sim.clear_faults();
    assert_eq!(h.get(&url).await.0, 200);
    // Faults through the admin API.
    let admin = format!("{}_admin/faults", h.sim.base_url);
    let r =
        h.http.post(&admin).json(&json!({"route_contains": "app-02", "kind": {"server_error": 500}, "remaining": 1})).send().await.unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(h.get(&h.item_url("app-02")).await.0, 500);
    assert_eq!(h.get(&h.item_url("app-02")).await.0, 200);
    let log = h.sim.requests();
    assert!(log.iter().any(|r| r.status == 0), "dropped requests are logged with status 0");
    assert_eq!(h.sim.count("GET", "/replicationProtectedItems/app-01"), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_faults_and_admin_endpoints_work() {
    let sc = asr_sim::Scenario::from_yaml(
        r#"
defaults: {page_size: 10, agent_registration_delay: 1h, failed_over_ago: 1m}
vaults: [{items: [{name: app-01}]}]
faults:
  - {route_contains: replicationPolicies, method: GET, kind: {too_many_requests: {retry_after_s: 1}}, remaining: 1}
"#,
    )
    .unwrap();
    let h = start(sc, 1.0).await;
    let pol = format!("{}/replicationPolicies", h.vault_url("vault-dr"));
    assert_eq!(h.get(&pol).await.0, 429);
    assert_eq!(h.get(&pol).await.0, 200);
    let a = format!("{}_admin", h.sim.base_url);
    let st: Value = h.http.get(format!("{a}/state")).send().await.unwrap().json().await.unwrap();
    assert_eq!(st["vaults"][0]["items"][0]["agentRegistered"], false);
    h.http.post(format!("{a}/time/advance")).json(&json!({"seconds": 3600})).send().await.unwrap();
    let st: Value = h.http.get(format!("{a}/state")).send().await.unwrap().json().await.unwrap();
    assert_eq!(st["vaults"][0]["items"][0]["agentRegistered"], true);
    let r = h.http.post(format!("{a}/items/app-01/agent")).json(&json!({"registered": false})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let st: Value = h.http.get(format!("{a}/state")).send().await.unwrap().json().await.unwrap();
    assert_eq!(st["vaults"][0]["items"][0]["agentRegistered"], false);
    let counts: Value = h.http.get(format!("{a}/counts")).send().await.unwrap().json().await.unwrap();
    assert_eq!(counts["total"], 2, "admin calls are not logged... only ARM/token ones");
    let reqs: Value = h.http.get(format!("{a}/requests")).send().await.unwrap().json().await.unwrap();
    assert_eq!(reqs.as_array().unwrap().len(), 2);
}
