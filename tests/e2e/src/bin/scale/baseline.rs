//! The script-style sequential baseline: what a PowerShell or CLI user writes, one machine at a time.

use anyhow::{Context as _, Result};
use std::time::{Duration, Instant};

/// For each of `k` machines of `vault-seq`: read the fabric and policies, POST reprotect, then poll
/// its job every 30 s until it ends. Returns seconds per machine (`None` when `k` is 0).
pub async fn sequential(base: String, ca_pem: String, token: String, subscription: String, k: usize) -> Result<Option<f64>> {
    if k == 0 {
        return Ok(None);
    }
    let http = reqwest::Client::builder().add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes())?).build()?;
    let vault = format!("{base}subscriptions/{subscription}/resourceGroups/rg-dr/providers/Microsoft.RecoveryServices/vaults/vault-seq");
    let api = "api-version=2026-11-01";
    let get = |url: String| {
        let (http, token) = (http.clone(), token.clone());
        async move { anyhow::Ok(http.get(url).bearer_auth(token).send().await?.error_for_status()?.json::<serde_json::Value>().await?) }
    };
    let started = Instant::now();
    for i in 1..=k {
        // Update-AzRecoveryServicesAsrProtectionDirection reads the fabric and policy first.
        let fabric = get(format!("{vault}/replicationFabrics/cs-fabric-01?{api}")).await?;
        let policies = get(format!("{vault}/replicationPolicies?{api}")).await?;
        let cd = &fabric["properties"]["customDetails"];
        let mt = &cd["masterTargetServers"][0];
        let body = serde_json::json!({"properties": {"failoverDirection": "RecoveryToPrimary", "providerSpecificDetails": {
            "instanceType": "InMage", "masterTargetId": mt["id"], "processServerId": cd["processServers"][0]["id"],
            "retentionDrive": mt["retentionVolumes"][0]["volumeName"], "runAsAccountId": cd["runAsAccounts"][0]["accountId"],
            "datastoreName": mt["dataStores"][0]["symbolicName"], "profileId": policies["value"][0]["id"]}}});
        let url = format!(
            "{vault}/replicationFabrics/cs-fabric-01/replicationProtectionContainers/cs-container-01/replicationProtectedItems/seq-{i:04}/reProtect?{api}"
        );
        let rsp = http.post(url).bearer_auth(&token).json(&body).send().await?.error_for_status()?;
        // The simulator's 202 carries `Location`, `Azure-AsyncOperation` or both (as Azure does);
        // either URL ends with the job name.
        let job = ["location", "azure-asyncoperation"]
            .into_iter()
            .find_map(|h| rsp.headers().get(h))
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.split('?').next()?.rsplit('/').next())
            .map(str::to_string)
            .context("Location or Azure-AsyncOperation")?;
        loop {
            tokio::time::sleep(Duration::from_secs(30)).await;
            let j = get(format!("{vault}/replicationJobs/{job}?{api}")).await?;
            if !matches!(j["properties"]["state"].as_str(), Some("InProgress" | "NotStarted" | "Suspended")) {
                break;
            }
        }
    }
    Ok(Some(started.elapsed().as_secs_f64() / k as f64))
}
