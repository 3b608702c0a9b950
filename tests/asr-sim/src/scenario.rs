//! The scenario file: vaults, configuration-server fabrics, items, credentials, timings, faults.
//!
//! Every field has a small default so scenario files stay short; unknown fields are ignored.
//! Durations are written as seconds (`30`, `0.5`) or jiff friendly/ISO strings (`15m`, `2s`, `PT1H`).

use crate::Error;
use crate::faults::FaultRule;
use jiff::SignedDuration;
use serde::{Deserialize, Deserializer};
use std::path::Path;

mod behaviour;
mod fabric_spec;
mod item_spec;
mod vault_spec;

pub use behaviour::{AsyncOperationId, Defaults, LroHeaders, MissingFabricMode};
pub use fabric_spec::{DatastoreSpec, FabricSpec, HealthErrorSpec, MasterTargetSpec, ProcessServerSpec, RunAsSpec, VcenterSpec};
pub use item_spec::{GenerateItems, ItemSpec, JobFailureSpec};
pub use vault_spec::{GenerateVaults, PolicySpec, RecoveryPlanSpec, VaultSpec};

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

// The defaults live here rather than next to their structs: several submodules share them (`d_windows`, `d_hb_age`).
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
