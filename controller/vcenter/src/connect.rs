//! Connection settings and the TLS/HTTP client of one vCenter connection.

use std::sync::Arc;
use std::time::Duration;

use reprotect_facts::vcenter::VcenterError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use secrecy::SecretString;

/// How to reach and log in to one vCenter. The password is a [`SecretString`]: `Debug` prints it redacted.
#[derive(Clone, Debug)]
pub struct ConnectionConfig {
    /// `host`, `host:port` or `https://host[:port]/sdk`; reduced to `host[:port]` by [`ConnectionConfig::soap_server`]
    /// before connecting, since the SOAP endpoint is `https://{server}/sdk`.
    pub server: String,
    pub username: String,
    pub password: SecretString,
    /// PEM bundle of CAs to trust instead of the platform roots.
    pub ca_bundle_pem: Option<String>,
    /// Opt-in: skip certificate and hostname verification.
    pub insecure_skip_verify: bool,
    /// Changes whenever the credentials change (e.g. the Secret's resourceVersion); part of the cache key.
    pub credentials_version: String,
}

impl ConnectionConfig {
    /// The `host[:port]` the SOAP client puts between `https://` and `/sdk`, from any accepted spelling of `server`
    /// (the same normalisation the vcenter-discovered check compares with).
    pub fn soap_server(&self) -> String {
        reprotect_facts::vcenter_soap_server(&self.server)
    }
}

/// Limits shared by every connection of a pool.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    /// Operations (observe / power off / reconfigure) in flight per vCenter.
    pub max_concurrent_operations: usize,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// TCP + TLS connect timeout.
    pub connect_timeout: Duration,
    /// How long `power_off` / `enable_disk_uuid` wait for their task.
    pub task_timeout: Duration,
    /// Poll interval for task state.
    pub task_poll_interval: Duration,
    /// How long a host's licence edition is cached (it changes rarely and costs a call).
    pub license_cache_ttl: Duration,
    /// How old the VM name index (one row per VM in the vCenter) may be for an observation. Observations
    /// within this age share one read; a write (power off, disk UUID) always resolves its VM afresh.
    pub names_max_age: Duration,
    /// No login is sent for this long after vCenter rejected the credentials (doubling per rejection). vSphere
    /// locks an account after 5 failed logins in 180 s by default: 90 s keeps us to 2 in any 180 s.
    pub login_backoff_initial: Duration,
    /// Upper bound of the login backoff.
    pub login_backoff_max: Duration,
    /// A pooled connection unused for this long is dropped.
    pub idle_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_concurrent_operations: 8,
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            task_timeout: Duration::from_secs(300),
            task_poll_interval: Duration::from_millis(200),
            license_cache_ttl: Duration::from_secs(600),
            names_max_age: Duration::from_secs(5),
            login_backoff_initial: Duration::from_secs(90),
            login_backoff_max: Duration::from_secs(300),
            idle_timeout: Duration::from_secs(1800),
        }
    }
}

/// Build the reqwest client vim_rs uses: rustls with ring, our trust roots, cookies for the SOAP session.
pub(crate) fn http_client(config: &ConnectionConfig, options: &PoolOptions) -> Result<reqwest13::Client, VcenterError> {
    let tls_err = |message: String| VcenterError::Tls { server: config.server.clone(), message };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(e.to_string()))?;
    let tls = if config.insecure_skip_verify {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerify(provider))).with_no_client_auth()
    } else if let Some(pem) = &config.ca_bundle_pem {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| tls_err(format!("invalid CA bundle: {e}")))?;
            roots.add(cert).map_err(|e| tls_err(format!("invalid CA certificate: {e}")))?;
        }
        if roots.is_empty() {
            return Err(tls_err("CA bundle contains no certificate".into()));
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        use rustls_platform_verifier::BuilderVerifierExt;
        builder.with_platform_verifier().map_err(|e| tls_err(e.to_string()))?.with_no_client_auth()
    };
    reqwest13::Client::builder()
        .cookie_store(true)
        .tls_backend_preconfigured(tls)
        .timeout(options.request_timeout)
        .connect_timeout(options.connect_timeout)
        .build()
        .map_err(|e| VcenterError::Connect { server: config.server.clone(), message: e.to_string() })
}

/// Certificate verifier for `insecure_skip_verify`: accepts any certificate, still checks signatures.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod server_spelling_tests {
    use super::ConnectionConfig;

    fn config(server: &str) -> ConnectionConfig {
        ConnectionConfig {
            server: server.into(),
            username: "u".into(),
            password: "p".to_string().into(),
            ca_bundle_pem: None,
            insecure_skip_verify: false,
            credentials_version: "v".into(),
        }
    }

    #[test]
    fn every_server_spelling_the_crd_accepts_gives_the_host_and_port_once() {
        for (server, soap) in [
            ("https://127.0.0.1/sdk", "127.0.0.1"),
            ("https://127.0.0.1/sdk/", "127.0.0.1"),
            ("HTTPS://VC01.contoso.local:8443/sdk", "vc01.contoso.local:8443"),
            ("127.0.0.1:443", "127.0.0.1:443"),
            ("vc01.contoso.local", "vc01.contoso.local"),
            ("  vc01  ", "vc01"),
            ("https://[fd00::1]:443/sdk", "[fd00::1]:443"),
        ] {
            assert_eq!(config(server).soap_server(), soap, "{server}");
        }
    }
}
