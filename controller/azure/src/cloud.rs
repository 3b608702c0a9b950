//! Which Azure cloud to talk to: ARM endpoint, Entra ID authority, token scope and api-version.

use url::Url;

/// Default Site Recovery api-version (newest stable in `tests/reference/specs/asr`).
pub const DEFAULT_API_VERSION: &str = "2026-11-01";

/// Endpoints of one Azure cloud (or of a simulator).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CloudConfig {
    /// Azure Resource Manager base URL, e.g. `https://management.azure.com`.
    pub arm_endpoint: Url,
    /// Entra ID authority host, e.g. `https://login.microsoftonline.com`. Must be https; any path
    /// on it is dropped by azure_identity (the token URL is `{host}/{tenant}/oauth2/v2.0/token`).
    pub authority_host: Url,
    /// OAuth scope requested for ARM, e.g. `https://management.azure.com/.default`.
    pub token_scope: String,
    /// `api-version` query parameter sent with every Site Recovery call.
    pub api_version: String,
}

/// Named presets for [`CloudConfig`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AzureCloud {
    AzurePublicCloud,
    AzureUSGovernment,
    AzureChinaCloud,
}

// Only called with the preset clouds' literal URLs below, which are valid.
#[allow(clippy::expect_used)]
fn url(s: &str) -> Url {
    Url::parse(s).expect("static URL")
}

impl CloudConfig {
    /// A preset cloud with the default api-version.
    pub fn preset(cloud: AzureCloud) -> Self {
        let (arm, login) = match cloud {
            AzureCloud::AzurePublicCloud => ("https://management.azure.com", "https://login.microsoftonline.com"),
            AzureCloud::AzureUSGovernment => ("https://management.usgovcloudapi.net", "https://login.microsoftonline.us"),
            AzureCloud::AzureChinaCloud => ("https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
        };
        Self {
            arm_endpoint: url(arm),
            authority_host: url(login),
            token_scope: format!("{arm}/.default"),
            api_version: DEFAULT_API_VERSION.to_string(),
        }
    }

    pub fn azure_public() -> Self {
        Self::preset(AzureCloud::AzurePublicCloud)
    }

    pub fn azure_us_government() -> Self {
        Self::preset(AzureCloud::AzureUSGovernment)
    }

    pub fn azure_china() -> Self {
        Self::preset(AzureCloud::AzureChinaCloud)
    }

    /// Explicit endpoints (Azure Stack, sovereign clouds, simulators). The scope defaults to
    /// `{arm_endpoint}/.default`.
    pub fn custom(arm_endpoint: Url, authority_host: Url, token_scope: Option<String>) -> Result<Self, String> {
        if authority_host.scheme() != "https" {
            return Err(format!("authority host must use https: {authority_host}"));
        }
        if !matches!(arm_endpoint.scheme(), "https" | "http") {
            return Err(format!("ARM endpoint must be an http(s) URL: {arm_endpoint}"));
        }
        let scope = token_scope.unwrap_or_else(|| format!("{}/.default", arm_endpoint.as_str().trim_end_matches('/')));
        Ok(Self { arm_endpoint, authority_host, token_scope: scope, api_version: DEFAULT_API_VERSION.to_string() })
    }

    /// Parse a preset name as used in configuration (`AzurePublicCloud`, `AzureUSGovernment`, `AzureChinaCloud`).
    pub fn from_name(name: &str) -> Option<Self> {
        let cloud = match name.to_ascii_lowercase().as_str() {
            "azurepubliccloud" | "public" | "azurecloud" => AzureCloud::AzurePublicCloud,
            "azureusgovernment" | "azureusgovernmentcloud" | "usgovernment" => AzureCloud::AzureUSGovernment,
            "azurechinacloud" | "china" => AzureCloud::AzureChinaCloud,
            _ => return None,
        };
        Some(Self::preset(cloud))
    }

    pub fn with_api_version(mut self, api_version: impl Into<String>) -> Self {
        self.api_version = api_version.into();
        self
    }

    /// Authority host as azure_identity uses it: scheme + host + port, path dropped.
    pub fn authority_origin(&self) -> String {
        self.authority_host.origin().ascii_serialization()
    }
}

impl Default for CloudConfig {
    fn default() -> Self {
        Self::azure_public()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_point_at_the_right_endpoints() {
        let gov = CloudConfig::azure_us_government();
        assert_eq!(gov.arm_endpoint.as_str(), "https://management.usgovcloudapi.net/");
        assert_eq!(gov.authority_host.host_str(), Some("login.microsoftonline.us"));
        assert_eq!(gov.token_scope, "https://management.usgovcloudapi.net/.default");
        let cn = CloudConfig::from_name("AzureChinaCloud").unwrap();
        assert_eq!(cn.authority_host.host_str(), Some("login.chinacloudapi.cn"));
        assert_eq!(CloudConfig::default().token_scope, "https://management.azure.com/.default");
        assert_eq!(CloudConfig::default().api_version, "2026-11-01");
    }

    #[test]
    fn custom_clouds_require_an_https_authority_and_drop_its_path() {
        let arm = Url::parse("https://127.0.0.1:8443/").unwrap();
        assert!(CloudConfig::custom(arm.clone(), Url::parse("http://login.local").unwrap(), None).is_err());
        let c = CloudConfig::custom(arm, Url::parse("https://login.local:9443/some/path").unwrap(), None).unwrap();
        assert_eq!(c.authority_origin(), "https://login.local:9443");
        assert_eq!(c.token_scope, "https://127.0.0.1:8443/.default");
    }
}
