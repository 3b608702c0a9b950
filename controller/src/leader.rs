//! Leader election on a coordination.k8s.io Lease (kube-lease-manager): only the leader reconciles.
//!
//! A renewal error is treated as lost leadership: the controllers are dropped at once instead of
//! running on with a stale leader flag, and the replica goes back to waiting for the lease.

use crate::cli::RunArgs;
use kube::Client;
use kube_lease_manager::LeaseManagerBuilder;
use std::future::Future;

/// Lease validity; a standby takes over within about this long after the leader dies.
const LEASE_SECONDS: u64 = 15;
/// Renew this long before expiry.
const GRACE_SECONDS: u64 = 5;

/// Run `work` while this replica holds the lease; stop it the moment leadership is lost.
pub async fn run_when_leader<F, Fut>(client: Client, args: &RunArgs, work: F) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let identity =
        args.identity.clone().unwrap_or_else(|| std::env::var("HOSTNAME").unwrap_or_else(|_| format!("reprotect-{}", std::process::id())));
    // The pod's namespace: kube reads it from the service-account mount in a pod, else from the
    // kubeconfig context, so a standalone replica uses the namespace it was pointed at.
    let namespace = args.lease_namespace.clone().unwrap_or_else(|| client.default_namespace().to_string());
    let manager = LeaseManagerBuilder::new(client, &args.lease_name)
        .with_namespace(&namespace)
        .with_identity(&identity)
        .with_duration(LEASE_SECONDS)
        .with_grace(GRACE_SECONDS)
        .build()
        .await?;
    loop {
        tracing::info!(%identity, lease = %args.lease_name, %namespace, "waiting for leadership");
        loop {
            match manager.changed().await {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "lease error while waiting; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                }
            }
        }
        tracing::info!(%identity, "acquired leadership; starting controllers");
        tokio::select! {
            r = work() => return r,
            lost = manager.changed() => {
                match lost {
                    Ok(_) => tracing::warn!(%identity, "lost leadership; stopping controllers"),
                    Err(e) => tracing::warn!(%identity, error = %e, "cannot renew the lease; treating it as lost leadership"),
                }
            }
        }
    }
}
