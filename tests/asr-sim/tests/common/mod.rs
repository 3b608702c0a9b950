//! Shared helpers for HTTP-level tests: start a simulator, an HTTPS client trusting its CA, tokens.
#![allow(dead_code)]

use asr_sim::{RunningSim, Scenario, SimOptions};
use serde_json::Value;

pub const SUB: &str = "00000000-0000-0000-0000-000000000001";

pub fn small() -> Scenario {
    Scenario::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/small.yaml")).unwrap()
}

pub struct Harness {
    pub sim: RunningSim,
    pub http: reqwest::Client,
    pub token: String,
}

pub async fn start(sc: Scenario, time_scale: f64) -> Harness {
    let sim = asr_sim::start(sc, SimOptions { time_scale, ..Default::default() }).await.unwrap();
    let http =
        reqwest::Client::builder().add_root_certificate(reqwest::Certificate::from_pem(sim.ca_pem.as_bytes()).unwrap()).build().unwrap();
    let token = sim.issue_token();
    Harness { sim, http, token }
}

impl Harness {
    pub fn vault_url(&self, vault: &str) -> String {
        format!("{}Subscriptions/{SUB}/resourceGroups/rg-dr/providers/Microsoft.RecoveryServices/vaults/{vault}", self.sim.base_url)
    }
    pub fn container_url(&self) -> String {
        format!("{}/replicationFabrics/cs-fabric-01/replicationProtectionContainers/cs-container-01", self.vault_url("vault-dr"))
    }
    pub fn item_url(&self, item: &str) -> String {
        format!("{}/replicationProtectedItems/{item}", self.container_url())
    }
    fn with_api(url: &str) -> String {
        if url.contains("api-version=") {
            url.to_string()
        } else if url.contains('?') {
            format!("{url}&api-version=2026-11-01")
        } else {
            format!("{url}?api-version=2026-11-01")
        }
    }
    pub async fn get(&self, url: &str) -> (u16, reqwest::header::HeaderMap, Value) {
        let r = self.http.get(Self::with_api(url)).bearer_auth(&self.token).send().await.unwrap();
        let (s, h) = (r.status().as_u16(), r.headers().clone());
        let b = r.bytes().await.unwrap();
        (s, h, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }
    pub async fn post(&self, url: &str, body: &Value) -> (u16, reqwest::header::HeaderMap, Value) {
        let r = self.http.post(Self::with_api(url)).bearer_auth(&self.token).json(body).send().await.unwrap();
        let (s, h) = (r.status().as_u16(), r.headers().clone());
        let b = r.bytes().await.unwrap();
        (s, h, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }
    /// The ids the client would read from the fabric: (windows MT, linux MT, PS).
    pub async fn ids(&self) -> (String, String, String) {
        let (_, _, f) = self.get(&format!("{}/replicationFabrics/cs-fabric-01", self.vault_url("vault-dr"))).await;
        let d = &f["properties"]["customDetails"];
        let mt = |n: &str| {
            d["masterTargetServers"].as_array().unwrap().iter().find(|m| m["name"] == n).unwrap()["id"].as_str().unwrap().to_string()
        };
        (mt("mt-win-01"), mt("mt-lin-01"), d["processServers"][0]["id"].as_str().unwrap().to_string())
    }
    pub fn reprotect_body(&self, mt: &str, ps: &str, retention: &str, ds: &str) -> Value {
        serde_json::json!({"properties": {"failoverDirection": "RecoveryToPrimary", "providerSpecificDetails": {
            "instanceType": "InMage", "masterTargetId": mt, "processServerId": ps, "retentionDrive": retention,
            "datastoreName": ds, "runAsAccountId": "1",
            "profileId": format!("/Subscriptions/{SUB}/resourceGroups/rg-dr/providers/Microsoft.RecoveryServices/vaults/vault-dr/replicationPolicies/failback-policy")}}})
    }
}
