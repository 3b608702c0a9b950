//! The scenario file: vaults, configuration-server fabrics, items, credentials, timings, faults.
//!
//! Every field has a small default so scenario files stay short; unknown fields are ignored.
//! Durations are written as seconds (`30`, `0.5`) or jiff friendly/ISO strings (`15m`, `2s`, `PT1H`).

use crate::Error;
use crate::faults::FaultRule;
use jiff::SignedDuration;
use serde::{Deserialize, Deserializer};
use std::path::Path;

/// Deserialise a duration from seconds (number) or a jiff string (`15m`, `1h 30m`, `PT2S`).
pub fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<SignedDuration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(f64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Secs(s) => Ok(SignedDuration::from_secs_f64(s)),
        Raw::Text(t) => t.trim().parse::<SignedDuration>().map_err(serde::de::Error::custom),
    }
}

fn de_opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SignedDuration>, D::Error> {
    de_duration(d).map(Some)
}

macro_rules! dflt {
    ($($f:ident: $t:ty = $e:expr;)*) => { $(fn $f() -> $t { $e })* };
}
dflt! {
    d_tenant: String = "00000000-0000-0000-0000-0000000000aa".into();
    d_client: String = "11111111-2222-3333-4444-555555555555".into();
    d_secret: String = "sim-secret".into();
    d_sub: String = "00000000-0000-0000-0000-000000000001".into();
    d_rg: String = "rg-dr".into();
    d_vault: String = "vault-dr".into();
    d_location: String = "westeurope".into();
    d_fabric: String = "cs-fabric-01".into();
    d_container: String = "cs-container-01".into();
    d_page: usize = 50;
    d_reg: SignedDuration = SignedDuration::from_mins(15);
    d_job: SignedDuration = SignedDuration::from_secs(120);
    d_fo_ago: SignedDuration = SignedDuration::from_hours(1);
    d_hb_age: SignedDuration = SignedDuration::from_secs(60);
    d_retry: u64 = 10;
    d_windows: String = "Windows".into();
    d_state: String = "UnplannedFailoverCommitted".into();
    d_api: Vec<String> = ["2026-11-01", "2026-10-01", "2026-08-01", "2026-07-01", "2026-05-01", "2025-08-01", "2025-01-01", "2024-10-01", "2024-04-01", "2024-02-01", "2023-08-01", "2023-06-01", "2023-04-01", "2023-02-01", "2023-01-01", "2022-10-01", "2022-09-10", "2022-05-01", "2022-03-01", "2022-02-01", "2021-12-01", "2021-11-01", "2021-10-01", "2021-08-01", "2021-07-01", "2021-06-01", "2021-04-01", "2021-03-01", "2021-02-10", "2018-07-10", "2018-01-10"].iter().map(|s| s.to_string()).collect();
    d_ops: Vec<String> = ["ReverseReplicate", "DisableProtection"].iter().map(|s| s.to_string()).collect();
    d_vaults: Vec<VaultSpec> = vec![VaultSpec::default()];
}

/// How a reprotect against a missing fabric answers (both seen in the wild).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingFabricMode {
    /// 400 `BadRequest` with inner `SubscriptionIdNotRegisteredWithSrs`.
    #[default]
    BadRequest,
    /// 404 `FabricArmEntityMissing`.
    NotFound,
}

/// A job of this scenario on this item fails once (consumed by the next such job).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default)]
pub struct JobFailureSpec {
    /// Job scenario name: `UnplannedFailover`, `CommitFailover`, `SwitchReplicationGroupProtection`, `ReverseReplicate`.
    pub scenario: String,
    /// ASR error code, e.g. `8038` (no host memory to boot the VM at failback).
    pub code: String,
    pub message: Option<String>,
}

/// A recovery plan: a named set of items that fail over and commit together.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RecoveryPlanSpec {
    pub name: String,
    /// Item names.
    pub items: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Credentials {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    /// Lifetime of issued tokens.
    pub token_lifetime_s: u64,
}
impl Default for Credentials {
    fn default() -> Self {
        Credentials { tenant_id: d_tenant(), client_id: d_client(), client_secret: d_secret(), token_lifetime_s: 3599 }
    }
}

/// Timing and behaviour defaults applied to every vault/item unless overridden.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Defaults {
    #[serde(deserialize_with = "de_duration")]
    pub agent_registration_delay: SignedDuration,
    #[serde(deserialize_with = "de_duration")]
    pub job_duration: SignedDuration,
    #[serde(deserialize_with = "de_duration")]
    pub failed_over_ago: SignedDuration,
    pub page_size: usize,
    /// `Retry-After` seconds on the 202 of reProtect (before time scaling).
    pub retry_after_s: u64,
    pub missing_fabric: MissingFabricMode,
    /// Which long-running-operation headers the reProtect 202 carries.
    pub lro_headers: LroHeaders,
    /// What the `Azure-AsyncOperation` URL names.
    pub async_operation_id: AsyncOperationId,
    /// A new job answers 404 (GET and list) for this long after it was created.
    #[serde(deserialize_with = "de_duration")]
    pub job_visible_after: SignedDuration,
    /// After a failback commit, how long the on-premises VM's mobility agent takes to register with the
    /// configuration server again (a forward reprotect before that fails with the agent-not-registered error).
    #[serde(deserialize_with = "de_duration")]
    pub forward_agent_registration_delay: SignedDuration,
    /// Where real ASR's state names are unknown ("inferred" in the spec README), answer with one of
    /// several plausible spellings per item (stable per item name). `false`: always the documented one.
    pub state_variants: bool,
    /// Job errors carry this code in `serviceErrorDetails.code` and the ASR code (e.g. 95226) only in
    /// `providerErrorDetails.errorCode`, as real ASR does for provider failures. `None`: the same code in both.
    pub job_service_code: Option<String>,
}

/// The headers of the reProtect 202. Real traffic carries both (REC-FB, REC-RP); Azure's own
/// example only `Azure-AsyncOperation`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LroHeaders {
    /// `Location` and `Azure-AsyncOperation`.
    Both,
    /// `Location` only.
    Location,
    /// `Azure-AsyncOperation` only (as in Azure's own examples).
    #[serde(alias = "async_operation_only")]
    AsyncOperation,
    /// Both, then `Azure-AsyncOperation` only, then `Location` only, round robin over the
    /// simulator's accepted reProtects (the first answer carries both).
    #[default]
    Rotate,
}

impl LroHeaders {
    /// (with `Location`, with `Azure-AsyncOperation`) for the `n`-th accepted POST (from 0).
    pub fn pick(self, n: u64) -> (bool, bool) {
        match self {
            LroHeaders::Both => (true, true),
            LroHeaders::Location => (true, false),
            LroHeaders::AsyncOperation => (false, true),
            LroHeaders::Rotate => [(true, true), (false, true), (true, false)].get((n % 3) as usize).copied().unwrap_or((true, true)),
        }
    }
}

/// The id at the end of the `Azure-AsyncOperation` URL (`.../replicationOperationStatus/{id}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AsyncOperationId {
    /// The job name, as recorded real traffic shows (REC-FB, REC-RP).
    #[default]
    JobName,
    /// A separate GUID, as in Azure's examples.
    Distinct,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            agent_registration_delay: d_reg(),
            job_duration: d_job(),
            failed_over_ago: d_fo_ago(),
            page_size: d_page(),
            retry_after_s: d_retry(),
            missing_fabric: MissingFabricMode::default(),
            lro_headers: LroHeaders::default(),
            async_operation_id: AsyncOperationId::default(),
            job_visible_after: SignedDuration::ZERO,
            forward_agent_registration_delay: d_reg(),
            state_variants: true,
            job_service_code: None,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct DatastoreSpec {
    pub name: String,
    /// `VMFS`, `NFS`, `vsan`.
    #[serde(rename = "type", alias = "datastore_type")]
    pub kind: String,
    pub capacity_gb: u64,
    pub free_gb: u64,
}
impl Default for DatastoreSpec {
    fn default() -> Self {
        DatastoreSpec { name: "ds-vmfs-01".into(), kind: "VMFS".into(), capacity_gb: 2048, free_gb: 1024 }
    }
}

/// A health or validation error attached to a server.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct HealthErrorSpec {
    pub code: String,
    pub message: String,
    pub possible_causes: String,
    pub recommended_action: String,
    pub severity: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct MasterTargetSpec {
    pub name: String,
    /// Defaults to a stable GUID-like id derived from the name.
    pub id: Option<String>,
    pub os: String,
    pub ip_address: String,
    pub retention_volumes: Vec<String>,
    pub datastores: Vec<DatastoreSpec>,
    #[serde(deserialize_with = "de_duration")]
    pub heartbeat_age: SignedDuration,
    pub validation_errors: Vec<HealthErrorSpec>,
    pub health_errors: Vec<HealthErrorSpec>,
    pub agent_version: String,
}
impl Default for MasterTargetSpec {
    fn default() -> Self {
        MasterTargetSpec {
            name: "mt-win-01".into(),
            id: None,
            os: d_windows(),
            ip_address: "10.0.0.21".into(),
            retention_volumes: vec![],
            datastores: vec![],
            heartbeat_age: d_hb_age(),
            validation_errors: vec![],
            health_errors: vec![],
            agent_version: "9.60.0.0".into(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct ProcessServerSpec {
    pub name: String,
    pub id: Option<String>,
    pub ip_address: String,
    #[serde(deserialize_with = "de_duration")]
    pub heartbeat_age: SignedDuration,
    pub health: String,
    pub health_errors: Vec<HealthErrorSpec>,
}
impl Default for ProcessServerSpec {
    fn default() -> Self {
        ProcessServerSpec {
            name: "ps-01".into(),
            id: None,
            ip_address: "10.0.0.11".into(),
            heartbeat_age: d_hb_age(),
            health: "Normal".into(),
            health_errors: vec![],
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RunAsSpec {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct VcenterSpec {
    pub name: String,
    pub friendly_name: Option<String>,
    pub ip_address: String,
    pub port: String,
    pub discovery_status: String,
    pub run_as_account_id: Option<String>,
    #[serde(deserialize_with = "de_duration")]
    pub heartbeat_age: SignedDuration,
    pub health_errors: Vec<HealthErrorSpec>,
}
impl Default for VcenterSpec {
    fn default() -> Self {
        VcenterSpec {
            name: "vc-01".into(),
            friendly_name: None,
            ip_address: "10.0.0.5".into(),
            port: "443".into(),
            discovery_status: "Completed".into(),
            run_as_account_id: Some("1".into()),
            heartbeat_age: d_hb_age(),
            health_errors: vec![],
        }
    }
}

/// A configuration-server fabric (VMware) with its single protection container.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct FabricSpec {
    pub name: String,
    pub container: String,
    pub host_name: String,
    pub ip_address: String,
    #[serde(deserialize_with = "de_duration")]
    pub heartbeat_age: SignedDuration,
    pub agent_version: String,
    pub process_servers: Vec<ProcessServerSpec>,
    pub master_targets: Vec<MasterTargetSpec>,
    pub run_as_accounts: Vec<RunAsSpec>,
    pub vcenters: Vec<VcenterSpec>,
    pub health_errors: Vec<HealthErrorSpec>,
}
impl Default for FabricSpec {
    fn default() -> Self {
        let ds = || vec![DatastoreSpec::default(), DatastoreSpec { name: "ds-nfs-01".into(), kind: "NFS".into(), ..Default::default() }];
        FabricSpec {
            name: d_fabric(),
            container: d_container(),
            host_name: "cs-01.corp.local".into(),
            ip_address: "10.0.0.10".into(),
            heartbeat_age: d_hb_age(),
            agent_version: "9.60.0.0".into(),
            process_servers: vec![ProcessServerSpec::default()],
            master_targets: vec![
                MasterTargetSpec { retention_volumes: vec!["R:".into()], datastores: ds(), ..Default::default() },
                MasterTargetSpec {
                    name: "mt-lin-01".into(),
                    os: "Linux".into(),
                    ip_address: "10.0.0.22".into(),
                    retention_volumes: vec!["/mnt/retention".into()],
                    datastores: ds(),
                    ..Default::default()
                },
            ],
            run_as_accounts: vec![RunAsSpec { id: "1".into(), name: "vcenter-admin".into() }],
            vcenters: vec![VcenterSpec::default()],
            health_errors: vec![],
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct PolicySpec {
    pub name: String,
    /// `InMage` (failback) or `InMageAzureV2` (forward).
    pub provider: String,
    pub rpo_threshold_minutes: i32,
    pub recovery_point_history_minutes: i32,
    pub app_consistent_frequency_minutes: i32,
}
impl Default for PolicySpec {
    fn default() -> Self {
        PolicySpec {
            name: "failback-policy".into(),
            provider: "InMage".into(),
            rpo_threshold_minutes: 15,
            recovery_point_history_minutes: 1440,
            app_consistent_frequency_minutes: 60,
        }
    }
}

/// A VM failed over to Azure (or, with other states, anything else).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct ItemSpec {
    pub name: String,
    pub friendly_name: Option<String>,
    pub os: String,
    pub os_name: Option<String>,
    pub group: Option<String>,
    /// Fabric name; default: the vault's first fabric.
    pub fabric: Option<String>,
    pub protection_state: String,
    pub active_location: String,
    /// `InMageAzureV2` (failed over, forward provider) or `InMage` (already reprotected).
    pub provider: String,
    pub allowed_operations: Vec<String>,
    #[serde(deserialize_with = "de_opt_duration")]
    pub failed_over_ago: Option<SignedDuration>,
    #[serde(deserialize_with = "de_opt_duration")]
    pub agent_registration_delay: Option<SignedDuration>,
    /// The VM is known to the configuration server database.
    pub vm_id: Option<String>,
    pub ip_address: Option<String>,
    /// Forward policy name.
    pub policy: Option<String>,
    /// Per-item override of `defaults.forward_agent_registration_delay`.
    #[serde(deserialize_with = "de_opt_duration")]
    pub forward_agent_registration_delay: Option<SignedDuration>,
    /// Jobs that fail once each, in order.
    pub fail_jobs: Vec<JobFailureSpec>,
    /// While running, this item's jobs report this `state` instead of `InProgress` (job states are free strings;
    /// ASR also answers e.g. `Suspended`, `Other`).
    pub job_state: Option<String>,
}
impl Default for ItemSpec {
    fn default() -> Self {
        ItemSpec {
            name: "app-01".into(),
            friendly_name: None,
            os: d_windows(),
            os_name: None,
            group: None,
            fabric: None,
            protection_state: d_state(),
            active_location: "Recovery".into(),
            provider: "InMageAzureV2".into(),
            allowed_operations: d_ops(),
            failed_over_ago: None,
            agent_registration_delay: None,
            vm_id: None,
            ip_address: None,
            policy: None,
            forward_agent_registration_delay: None,
            fail_jobs: vec![],
            job_state: None,
        }
    }
}

/// Generate many items compactly.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct GenerateItems {
    pub count: usize,
    pub prefix: String,
    /// Every n-th item is Linux (0: none).
    pub linux_every: usize,
    /// Items per replication group (0: no groups).
    pub group_size: usize,
    /// Template for every generated item (name/os overridden).
    pub template: ItemSpec,
}
impl Default for GenerateItems {
    fn default() -> Self {
        GenerateItems { count: 0, prefix: "vm-".into(), linux_every: 4, group_size: 0, template: ItemSpec::default() }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct VaultSpec {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub fabrics: Vec<FabricSpec>,
    /// Default: an `InMage` failback policy and an `InMageAzureV2` forward policy.
    pub policies: Option<Vec<PolicySpec>>,
    pub items: Vec<ItemSpec>,
    pub generate: Option<GenerateItems>,
    /// Default (absent): one plan per replication group, named after the group.
    pub recovery_plans: Option<Vec<RecoveryPlanSpec>>,
}
impl Default for VaultSpec {
    fn default() -> Self {
        VaultSpec {
            subscription: d_sub(),
            resource_group: d_rg(),
            name: d_vault(),
            location: d_location(),
            fabrics: vec![FabricSpec::default()],
            policies: None,
            items: vec![],
            generate: None,
            recovery_plans: None,
        }
    }
}

/// Generate many vaults (each a copy of `template` named `{prefix}{i:02}`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct GenerateVaults {
    pub count: usize,
    pub prefix: String,
    pub template: VaultSpec,
}
impl Default for GenerateVaults {
    fn default() -> Self {
        GenerateVaults { count: 0, prefix: "vault-dr-".into(), template: VaultSpec::default() }
    }
}

/// A whole simulated world.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Scenario {
    pub credentials: Credentials,
    pub api_versions: Vec<String>,
    pub defaults: Defaults,
    pub vaults: Vec<VaultSpec>,
    pub generate: Option<GenerateVaults>,
    pub faults: Vec<FaultRule>,
    /// ARM throttling (on by default, with Azure's figures).
    pub throttling: crate::throttle::ThrottlingSpec,
}
impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            credentials: Credentials::default(),
            api_versions: d_api(),
            defaults: Defaults::default(),
            vaults: d_vaults(),
            generate: None,
            faults: vec![],
            throttling: crate::throttle::ThrottlingSpec::default(),
        }
    }
}

impl Scenario {
    pub fn from_yaml(s: &str) -> Result<Scenario, Error> {
        let sc: Scenario = serde_saphyr::from_str(s).map_err(|e| Error::Scenario(e.to_string()))?;
        Ok(sc)
    }

    pub fn from_file(p: impl AsRef<Path>) -> Result<Scenario, Error> {
        let p = p.as_ref();
        let s = std::fs::read_to_string(p).map_err(|e| Error::Scenario(format!("{}: {e}", p.display())))?;
        Self::from_yaml(&s)
    }

    /// Vaults with every `generate:` section expanded.
    pub fn expanded_vaults(&self) -> Vec<VaultSpec> {
        let mut out = self.vaults.clone();
        if let Some(g) = &self.generate {
            if !self.vaults.is_empty()
                && g.count > 0
                && self.vaults.len() == 1
                && self.vaults[0].items.is_empty()
                && self.vaults[0].generate.is_none()
            {
                out.clear(); // only the default vault: replace it
            }
            for i in 1..=g.count {
                let mut v = g.template.clone();
                v.name = format!("{}{i:02}", g.prefix);
                out.push(v);
            }
        }
        for v in &mut out {
            if let Some(g) = v.generate.take() {
                for i in 1..=g.count {
                    let mut it = g.template.clone();
                    it.name = format!("{}{i:04}", g.prefix);
                    it.friendly_name = None;
                    if g.linux_every > 0 && i % g.linux_every == 0 {
                        it.os = "Linux".into();
                        it.os_name = None;
                    }
                    if let Some(n) = (i - 1).checked_div(g.group_size) {
                        it.group = Some(format!("{}group-{:03}", g.prefix, n + 1));
                    }
                    v.items.push(it);
                }
            }
            if v.fabrics.is_empty() {
                v.fabrics.push(FabricSpec::default());
            }
        }
        out
    }
}
