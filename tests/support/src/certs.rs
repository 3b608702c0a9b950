//! Certificates for a throwaway control plane, generated at start with rcgen.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

/// PEM files written into the control plane's directory.
#[derive(Debug, Clone)]
pub(crate) struct CertFiles {
    pub ca_cert: PathBuf,
    pub serving_cert: PathBuf,
    pub serving_key: PathBuf,
    pub admin_cert: PathBuf,
    pub admin_key: PathBuf,
    /// Service-account token signing key and its public half.
    pub sa_key: PathBuf,
    pub sa_pub: PathBuf,
}

fn name(cn: &str, org: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    if let Some(org) = org {
        dn.push(DnType::OrganizationName, org);
    }
    dn
}

/// Writes a CA, an API-server serving cert (127.0.0.1, localhost, kubernetes.default...),
/// an admin client cert (CN=reprotect-test-admin, O=system:masters) and an SA signing key.
pub(crate) fn generate(dir: &Path) -> anyhow::Result<CertFiles> {
    let write = |file: &str, pem: String| -> anyhow::Result<PathBuf> {
        let path = dir.join(file);
        std::fs::write(&path, pem)?;
        Ok(path)
    };

    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.distinguished_name = name("reprotect-test-ca", None);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let sans = [
        "127.0.0.1",
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "10.0.0.1",
    ];
    let mut serving = CertificateParams::new(sans.map(String::from).to_vec())?;
    serving.distinguished_name = name("kube-apiserver", None);
    serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let serving_key = KeyPair::generate()?;
    let serving_cert = serving.signed_by(&serving_key, &ca)?;

    let mut admin = CertificateParams::new(Vec::<String>::new())?;
    admin.distinguished_name = name("reprotect-test-admin", Some("system:masters"));
    admin.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let admin_key = KeyPair::generate()?;
    let admin_cert = admin.signed_by(&admin_key, &ca)?;

    let sa = KeyPair::generate()?;
    Ok(CertFiles {
        ca_cert: write("ca.crt", ca.pem())?,
        serving_cert: write("apiserver.crt", serving_cert.pem())?,
        serving_key: write("apiserver.key", serving_key.serialize_pem())?,
        admin_cert: write("admin.crt", admin_cert.pem())?,
        admin_key: write("admin.key", admin_key.serialize_pem())?,
        sa_key: write("sa.key", sa.serialize_pem())?,
        sa_pub: write("sa.pub", sa.public_key_pem())?,
    })
}
