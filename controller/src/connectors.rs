//! The real connector: Site Recovery clients from reprotect-azure, vCenter sessions from reprotect-vcenter, both pooled.

pub mod metered;

use crate::connections::{AzureCredentials, AzureSettings, ConnectError, Connector, CredentialPolicy, VcenterSettings};
use crate::crd::AzureCloudName;
use crate::metrics::Metrics;
use reprotect_azure::{ArmClientConfig, ArmClientPool, ArmLimits, AzureAuth, AzureCloud, BudgetConfig, CloudConfig};
use reprotect_facts::{SiteRecovery, Vcenter};
use reprotect_vcenter::{ConnectionConfig, PoolOptions, VcenterPool};
use std::sync::Arc;
use std::time::Duration;

/// Pools one ARM client per (cloud, identity, credentials version) and one vCenter session per
/// (server, user, credentials version, TLS settings). Enforces the operator's [`CredentialPolicy`] before any
/// Azure client is built, so a refused policy sends nothing.
pub struct RealConnector {
    arm: ArmClientPool,
    vcenters: VcenterPool,
    fabric_cache_ttl: Duration,
    /// How long per-vault answers are kept for machines with nothing in flight (see `Settings::settled_max_age`).
    settled_max_age: Duration,
    /// How long item lists are kept for them (see `Settings::settled_item_list_age`).
    settled_item_list_age: Duration,
    credential_policy: CredentialPolicy,
    /// Where ARM and vCenter requests are counted (none: `check`, which exposes no metrics).
    metrics: Option<Arc<Metrics>>,
}

impl RealConnector {
    /// `arm_requests_per_second`: `None` paces to Azure's published limits; a rate caps reads at it (and writes
    /// at the lower of it and Azure's).
    pub fn new(fabric_cache_ttl: Duration, arm_requests_per_second: Option<f64>) -> Self {
        let limits = match arm_requests_per_second {
            None => ArmLimits::azure(),
            Some(rate) => ArmLimits::from(BudgetConfig { rate_per_second: rate, burst: (rate * 2.0).max(1.0) as u32 }),
        };
        RealConnector {
            arm: ArmClientPool::new(limits),
            vcenters: VcenterPool::new(PoolOptions::default()),
            fabric_cache_ttl,
            settled_max_age: crate::context::Settings::default().settled_max_age(),
            settled_item_list_age: crate::context::Settings::default().settled_item_list_age(),
            credential_policy: CredentialPolicy::default(),
            metrics: None,
        }
    }

    /// Count every ARM attempt and vCenter call in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Keep per-vault answers as long as the passes of settled machines accept them (`settings`' vault watch).
    pub fn with_settled_ages(mut self, settings: &crate::context::Settings) -> Self {
        self.settled_max_age = settings.settled_max_age();
        self.settled_item_list_age = settings.settled_item_list_age();
        self
    }

    /// Allow what the operator allowed (default: no workload identity, no custom cloud endpoint).
    pub fn with_credential_policy(mut self, policy: CredentialPolicy) -> Self {
        self.credential_policy = policy;
        self
    }

    /// Login requests sent to vCenters so far (a rejected identity is retried only after a backoff).
    pub fn vcenter_login_attempts(&self) -> u64 {
        self.vcenters.login_attempts()
    }

    /// Requests made so far, by (operation, HTTP status).
    pub fn arm_stats(&self) -> std::collections::BTreeMap<(String, u16), u64> {
        self.arm.stats()
    }
}

fn cloud_config(s: &AzureSettings) -> Result<CloudConfig, ConnectError> {
    let build = |message: String| ConnectError::Build { service: "Site Recovery", message };
    let cloud = match s.cloud {
        AzureCloudName::AzurePublicCloud => CloudConfig::preset(AzureCloud::AzurePublicCloud),
        AzureCloudName::AzureUSGovernment => CloudConfig::preset(AzureCloud::AzureUSGovernment),
        AzureCloudName::AzureChinaCloud => CloudConfig::preset(AzureCloud::AzureChinaCloud),
        AzureCloudName::Custom => {
            let arm = s.arm_endpoint.as_deref().unwrap_or_default().parse().map_err(|e| build(format!("armEndpoint: {e}")))?;
            let authority = s.authority_host.as_deref().unwrap_or_default().parse().map_err(|e| build(format!("authorityHost: {e}")))?;
            CloudConfig::custom(arm, authority, None).map_err(build)?
        }
    };
    Ok(match &s.api_version {
        Some(v) => cloud.with_api_version(v.clone()),
        None => cloud,
    })
}

#[async_trait::async_trait]
impl Connector for RealConnector {
    async fn site_recovery(&self, settings: &AzureSettings) -> Result<Arc<dyn SiteRecovery>, ConnectError> {
        self.credential_policy.check(settings)?;
        let auth = match &settings.credentials {
            AzureCredentials::ClientSecret { tenant_id, client_id, client_secret } => AzureAuth::ClientSecret {
                tenant_id: tenant_id.clone(),
                client_id: client_id.clone(),
                client_secret: client_secret.expose().into(),
            },
            AzureCredentials::WorkloadIdentity => AzureAuth::WorkloadIdentity { tenant_id: None, client_id: None, token_file: None },
        };
        let mut config = ArmClientConfig::new(cloud_config(settings)?, auth);
        config.extra_ca_pem = settings.ca_pem.clone();
        config.fabric_cache_ttl = self.fabric_cache_ttl;
        config.settled_max_age = self.settled_max_age;
        config.settled_items_max_age = self.settled_item_list_age;
        config.observer = self.metrics.clone().map(|m| m as Arc<dyn reprotect_azure::RequestObserver>);
        self.arm
            .get(config, &settings.credentials_version)
            .map_err(|e| ConnectError::Build { service: "Site Recovery", message: e.to_string() })
    }

    async fn vcenter(&self, settings: &VcenterSettings) -> Result<Arc<dyn Vcenter>, ConnectError> {
        let config = ConnectionConfig {
            server: settings.server.clone(),
            username: settings.username.clone(),
            password: settings.password.0.clone(),
            ca_bundle_pem: settings.ca_pem.clone(),
            insecure_skip_verify: settings.insecure_skip_verify,
            credentials_version: settings.credentials_version.clone(),
        };
        // Login problems surface from the first call as typed VcenterErrors; this only builds.
        let vcenter = self.vcenters.connect(config).await?;
        Ok(match &self.metrics {
            Some(metrics) => Arc::new(metered::MeteredVcenter { inner: vcenter, metrics: metrics.clone() }),
            None => vcenter,
        })
    }
}
