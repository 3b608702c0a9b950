//! A throw-away test CA (rcgen) and the server certificate for 127.0.0.1 / localhost.

use crate::Error;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The generated CA and server TLS configuration.
pub struct TestPki {
    pub ca_pem: String,
    pub ca_path: PathBuf,
    pub server_config: Arc<rustls::ServerConfig>,
}

fn e(x: impl std::fmt::Display) -> Error {
    Error::Tls(x.to_string())
}

/// Generate a CA and a leaf for `localhost`, `127.0.0.1`, `::1` (plus `extra_names`); write the
/// CA PEM into `dir`.
pub fn generate(dir: &Path, extra_names: &[String]) -> Result<TestPki, Error> {
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "asr-sim test CA");
    ca.distinguished_name.push(DnType::OrganizationName, "reprotect-controller tests");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_key = KeyPair::generate().map_err(e)?;
    let ca = CertifiedIssuer::self_signed(ca, ca_key).map_err(e)?;

    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    names.extend(extra_names.iter().cloned());
    let mut leaf = CertificateParams::new(names).map_err(e)?;
    leaf.distinguished_name.push(DnType::CommonName, "asr-sim");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    let leaf_key = KeyPair::generate().map_err(e)?;
    let leaf_cert = leaf.signed_by(&leaf_key, &ca).map_err(e)?;

    let ca_pem = ca.pem();
    std::fs::create_dir_all(dir).map_err(e)?;
    let ca_path = dir.join("asr-sim-ca.pem");
    std::fs::write(&ca_path, &ca_pem).map_err(e)?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(e)?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf_cert.der().to_vec()), ca.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .map_err(e)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TestPki { ca_pem, ca_path, server_config: Arc::new(cfg) })
}
