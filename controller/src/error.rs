//! Reconcile errors with a stable category label and the retry policy each implies.

use reprotect_facts::{AsrErrorClass, SiteRecoveryError, VcenterError};

/// Why a reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API call failed: {0}")]
    Kube(#[source] kube::Error),
    #[error("credentials or connection settings are unusable: {0}")]
    Connection(#[from] crate::connections::ConnectError),
    #[error("Site Recovery: {0}")]
    SiteRecovery(#[from] SiteRecoveryError),
    #[error("vCenter: {0}")]
    Vcenter(#[from] VcenterError),
    #[error("invalid spec: {0}")]
    InvalidSpec(String),
    /// This replica is not (or no longer known to be) the leader: no write is sent.
    #[error("not the leader (or the lease could not be confirmed); no action sent")]
    NotLeader,
    /// A reconcile panicked; contained by the reconcile wrapper and reported on the object.
    #[error("internal error (a bug; please report it): {0}")]
    Panicked(String),
}

impl From<kube::Error> for Error {
    fn from(e: kube::Error) -> Self {
        Error::Kube(e)
    }
}

impl Error {
    /// Stable label for metrics and events.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Kube(_) => "kubernetes",
            Error::Connection(e) => e.category(),
            Error::SiteRecovery(e) => e.category(),
            Error::Vcenter(e) => e.category(),
            Error::InvalidSpec(_) => "invalid-spec",
            Error::Panicked(_) => "internal-error",
            Error::NotLeader => "not-leader",
        }
    }

    /// Condition reason for a permanent error (`asr-credentials` → `AsrCredentials`).
    pub fn reason(&self) -> String {
        crate::reasons::from_category(self.category())
    }

    /// Transient faults requeue with backoff; everything else waits for a change (plus a slow recheck).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Kube(_) | Error::NotLeader => true,
            Error::Connection(e) => e.is_transient(),
            Error::SiteRecovery(e) => matches!(e.class(), AsrErrorClass::Transient),
            Error::Vcenter(e) => e.is_transient(),
            Error::InvalidSpec(_) | Error::Panicked(_) => false,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connections::ConnectError;

    #[test]
    fn errors_map_to_stable_categories_and_retry_policies() {
        let table: Vec<(Error, &str, bool)> = vec![
            (Error::InvalidSpec("x".into()), "invalid-spec", false),
            (Error::Panicked("boom".into()), "internal-error", false),
            (Error::Connection(ConnectError::SecretMissing { name: "s".into() }), "credentials-secret", false),
            (Error::SiteRecovery(SiteRecoveryError::Transport { operation: "get".into(), message: "reset".into() }), "asr-transient", true),
            (Error::SiteRecovery(SiteRecoveryError::Auth("bad secret".into())), "asr-credentials", false),
            (Error::Vcenter(VcenterError::InvalidLogin { server: "vc".into() }), "vcenter-credentials", false),
            (Error::Vcenter(VcenterError::Connect { server: "vc".into(), message: "refused".into() }), "vcenter-connect", true),
        ];
        for (err, category, transient) in table {
            assert_eq!(err.category(), category, "{err}");
            assert_eq!(err.is_transient(), transient, "{err}");
        }
    }
}
