//! Leader election on a coordination.k8s.io Lease (kube-lease-manager): only the leader reconciles, and only
//! while its lease is known to be valid.
//!
//! [`LeaderGuard`] carries the instant until which this replica's lease is known valid, read back from the Lease
//! itself (holder and renewTime) every [`CHECK_EVERY`]: a Lease deleted or taken over behind our back, or
//! renewals that stop succeeding, close the guard before another replica could take the lease. Writers call
//! [`LeaderGuard::ensure_valid`] right before each POST / power-off. A renewal error is retried while the
//! guard is still open; when it closes, the controllers are dropped. On shutdown the Lease is released so a
//! standby takes over at once.

use crate::cli::RunArgs;
use k8s_openapi::api::coordination::v1::Lease;
use kube::{Api, Client};
use kube_lease_manager::LeaseManagerBuilder;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio::time::Instant;

/// Lease validity; a standby takes over within about this long after the leader dies.
pub const LEASE_SECONDS: u64 = 15;
/// Renew this long before expiry: every 8 s, so a renewal is seen (within CHECK_EVERY) well before the
/// guard's deadline of renewTime + LEASE_SECONDS - SAFETY_MARGIN = 12 s runs out.
const GRACE_SECONDS: u64 = 7;
/// How often the Lease is read back to extend the guard.
const CHECK_EVERY: Duration = Duration::from_secs(2);
/// Stop acting this long before the lease could expire (clock skew, the write in flight).
const SAFETY_MARGIN: Duration = Duration::from_secs(3);

/// Refused write: this replica's lease is not known to be valid right now.
#[derive(Debug, thiserror::Error)]
#[error("this replica's leader lease is not known to be valid; not writing")]
pub struct NotLeader;

/// Whether this replica may write now. Cheap to clone and to check.
#[derive(Clone, Debug)]
pub struct LeaderGuard {
    /// `None`: not leader. Always `Some(far future)` for [`LeaderGuard::unconditional`].
    valid_until: Arc<watch::Sender<Option<Instant>>>,
}

impl LeaderGuard {
    /// Without leader election (a single replica): always valid.
    pub fn unconditional() -> LeaderGuard {
        let far = Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
        LeaderGuard { valid_until: Arc::new(watch::Sender::new(Some(far))) }
    }

    fn closed() -> LeaderGuard {
        LeaderGuard { valid_until: Arc::new(watch::Sender::new(None)) }
    }

    /// True when this replica holds the lease and it cannot have expired yet.
    pub fn is_valid_now(&self) -> bool {
        self.valid_until.borrow().is_some_and(|t| Instant::now() < t)
    }

    /// `Err(NotLeader)` unless [`LeaderGuard::is_valid_now`]: call right before each write to Azure or vCenter.
    pub fn ensure_valid(&self) -> Result<(), NotLeader> {
        if self.is_valid_now() { Ok(()) } else { Err(NotLeader) }
    }

    fn set(&self, until: Option<Instant>) {
        self.valid_until.send_replace(until);
    }

    /// Resolves once the guard is closed (validity passed without being extended, or leadership lost).
    pub async fn closed_now(&self) {
        let mut rx = self.valid_until.subscribe();
        loop {
            let until = *rx.borrow_and_update();
            match until {
                Some(t) if Instant::now() < t => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(t) => {}
                        r = rx.changed() => if r.is_err() { return },
                    }
                }
                _ => return,
            }
        }
    }
}

/// Which Lease and which holder identity.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    pub name: String,
    pub namespace: String,
    pub identity: String,
}

impl LeaseConfig {
    /// Identity from `--identity` / `POD_NAME` / `HOSTNAME`; namespace from `--lease-namespace`, else the pod's
    /// (kube reads it from the service-account mount) or the kubeconfig's.
    pub fn from_args(client: &Client, args: &RunArgs) -> LeaseConfig {
        let identity = args
            .identity
            .clone()
            .unwrap_or_else(|| std::env::var("HOSTNAME").unwrap_or_else(|_| format!("reprotect-{}", std::process::id())));
        let namespace = args.lease_namespace.clone().unwrap_or_else(|| client.default_namespace().to_string());
        LeaseConfig { name: args.lease_name.clone(), namespace, identity }
    }
}

/// Run `work` while this replica holds the lease (kept for callers without a guard or shutdown).
pub async fn run_when_leader<F, Fut>(client: Client, args: &RunArgs, work: F) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let config = LeaseConfig::from_args(&client, args);
    run_as_leader(client, config, std::future::pending(), |_| work()).await
}

/// Run `work(guard)` while this replica holds the lease; stop it when the guard closes; on `shutdown`, stop it,
/// release the Lease (a standby takes over at once) and return.
pub async fn run_as_leader<F, Fut, S>(client: Client, config: LeaseConfig, shutdown: S, work: F) -> anyhow::Result<()>
where
    F: Fn(LeaderGuard) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
    S: Future<Output = ()>,
{
    let LeaseConfig { name, namespace, identity } = config;
    let leases: Api<Lease> = Api::namespaced(client.clone(), &namespace);
    tokio::pin!(shutdown);
    'term: loop {
        // A fresh manager per term: after we stopped acting, its "was leader" flag must not hide that we
        // still (or again) hold the lease.
        let manager = LeaseManagerBuilder::new(client.clone(), &name)
            .with_namespace(&namespace)
            .with_identity(&identity)
            .with_duration(LEASE_SECONDS)
            .with_grace(GRACE_SECONDS)
            .build()
            .await?;
        tracing::info!(%identity, lease = %name, %namespace, "waiting for leadership");
        loop {
            tokio::select! {
                _ = &mut shutdown => return Ok(()),
                // The library caches the old holder's expiry and sleeps until it, even after a release or a
                // deletion; a fresh manager reads the Lease as it is now and takes a free one at once.
                _ = wait_until_free(&leases, &name) => continue 'term,
                r = manager.changed() => match r {
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "lease error while waiting; retrying");
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                },
            }
        }
        // The term is bound to this Lease object: one deleted and created again (by anyone) ends it.
        let Some((term, until)) = read_term(&leases, &name, &identity).await else {
            release(&manager, &identity).await;
            continue 'term;
        };
        let guard = LeaderGuard::closed();
        guard.set(Some(until));
        tracing::info!(%identity, "acquired leadership; starting controllers");
        let tracker = tokio::spawn(track_validity(leases.clone(), name.clone(), term, guard.clone()));
        // Boxed so that dropping it below really drops the controllers (a pinned reference would not).
        let mut work_done = Box::pin(work(guard.clone()));
        let outcome = loop {
            tokio::select! {
                r = &mut work_done => break Term::WorkEnded(r),
                _ = &mut shutdown => break Term::Shutdown,
                _ = guard.closed_now() => {
                    tracing::warn!(%identity, "leader lease not confirmed valid any more; stopping controllers");
                    break Term::Stopped;
                }
                changed = manager.changed() => match changed {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(%identity, "lost leadership; stopping controllers");
                        break Term::Stopped;
                    }
                    // Retried while the guard is open: a short API hiccup must not hand over the work.
                    Err(e) => {
                        tracing::warn!(%identity, error = %e, "cannot renew the lease; retrying while it is still valid");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                },
            }
        };
        guard.set(None);
        tracker.abort();
        // The work is dropped before the release, so nothing writes after the handover.
        drop(work_done);
        release(&manager, &identity).await;
        match outcome {
            Term::Stopped => {}
            Term::WorkEnded(r) => return r,
            Term::Shutdown => return Ok(()),
        }
    }
}

/// How a leadership term ended.
enum Term {
    WorkEnded(anyhow::Result<()>),
    Shutdown,
    Stopped,
}

async fn release(manager: &kube_lease_manager::LeaseManager, identity: &str) {
    match tokio::time::timeout(Duration::from_secs(3), manager.release()).await {
        Ok(Ok(())) => tracing::info!(%identity, "released the leader lease"),
        Ok(Err(e)) => tracing::warn!(%identity, error = %e, "cannot release the leader lease; it expires on its own"),
        Err(_) => tracing::warn!(%identity, "releasing the leader lease timed out; it expires on its own"),
    }
}

/// Resolves when the Lease has no holder (released) or is gone; polled every second by standbys.
async fn wait_until_free(leases: &Api<Lease>, name: &str) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        match leases.get_opt(name).await {
            Ok(None) => return,
            Ok(Some(l)) if l.spec.as_ref().and_then(|s| s.holder_identity.as_deref()).is_none_or(str::is_empty) => return,
            _ => {}
        }
    }
}

/// Who holds which Lease object: the holder identity and the Lease's uid at acquisition.
#[derive(Clone, Debug, PartialEq)]
struct TermId {
    identity: String,
    uid: Option<String>,
}

/// Keep extending the guard from the Lease as stored; a failed read leaves the deadline to run out.
async fn track_validity(leases: Api<Lease>, name: String, term: TermId, guard: LeaderGuard) {
    loop {
        tokio::time::sleep(CHECK_EVERY).await;
        match tokio::time::timeout(CHECK_EVERY, leases.get_opt(&name)).await {
            Ok(Ok(lease)) => guard.set(lease.and_then(|l| validity(&l, &term, SystemTime::now()))),
            Ok(Err(e)) => tracing::debug!(error = %e, "cannot read the leader lease; its validity runs out unless renewed"),
            Err(_) => tracing::debug!("reading the leader lease timed out"),
        }
    }
}

/// The term just acquired and until when it is valid, read back from the Lease as stored.
async fn read_term(leases: &Api<Lease>, name: &str, identity: &str) -> Option<(TermId, Instant)> {
    let lease = tokio::time::timeout(CHECK_EVERY, leases.get_opt(name)).await.ok()?.ok()??;
    let term = TermId { identity: identity.to_string(), uid: lease.metadata.uid.clone() };
    let until = validity(&lease, &term, SystemTime::now())?;
    Some((term, until))
}

/// Until when the Lease keeps the term's holder leader: renewTime + duration - margin, mapped onto the monotonic
/// clock; `None` when another holds it or the Lease is another object than the one acquired (deleted and created
/// again). The holder wrote renewTime with its own clock, the same clock that reads it here.
fn validity(lease: &Lease, term: &TermId, now: SystemTime) -> Option<Instant> {
    if term.uid.is_some() && lease.metadata.uid != term.uid {
        return None;
    }
    let spec = lease.spec.as_ref()?;
    if spec.holder_identity.as_deref() != Some(term.identity.as_str()) {
        return None;
    }
    let renewed = SystemTime::from(spec.renew_time.as_ref()?.0);
    let duration = Duration::from_secs(u64::try_from(spec.lease_duration_seconds?).ok()?);
    let age = now.duration_since(renewed).unwrap_or_default();
    let left = duration.checked_sub(age)?.checked_sub(SAFETY_MARGIN)?;
    Some(Instant::now() + left)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;

    fn term(identity: &str) -> TermId {
        TermId { identity: identity.into(), uid: Some("uid-1".into()) }
    }

    fn lease(holder: &str, renewed_secs_ago: u64, now: SystemTime) -> Lease {
        let renewed = now - Duration::from_secs(renewed_secs_ago);
        Lease {
            metadata: kube::api::ObjectMeta { uid: Some("uid-1".into()), ..Default::default() },
            spec: Some(LeaseSpec {
                holder_identity: Some(holder.into()),
                lease_duration_seconds: Some(15),
                renew_time: Some(MicroTime(renewed.try_into().unwrap())),
                ..LeaseSpec::default()
            }),
        }
    }

    #[test]
    fn the_guard_is_valid_until_renew_time_plus_duration_minus_the_margin_and_only_for_the_holder() {
        let now = SystemTime::now();
        let until = validity(&lease("me", 2, now), &term("me"), now).expect("valid");
        let left = until - Instant::now();
        assert!(left <= Duration::from_secs(10) && left > Duration::from_secs(9), "{left:?}");
        assert_eq!(validity(&lease("other", 0, now), &term("me"), now), None, "another holder");
        assert_eq!(validity(&lease("me", 13, now), &term("me"), now), None, "inside the safety margin");
        assert_eq!(validity(&Lease::default(), &term("me"), now), None, "no spec");
    }

    #[test]
    fn a_lease_deleted_and_created_again_ends_the_term_even_when_it_names_the_same_holder() {
        let now = SystemTime::now();
        let mut recreated = lease("me", 0, now);
        recreated.metadata.uid = Some("uid-2".into());
        assert_eq!(validity(&recreated, &term("me"), now), None);
    }

    #[tokio::test]
    async fn a_guard_closes_when_its_deadline_passes_and_unconditional_never_does() {
        let g = LeaderGuard::closed();
        assert!(g.ensure_valid().is_err());
        g.set(Some(Instant::now() + Duration::from_millis(50)));
        assert!(g.is_valid_now());
        tokio::time::timeout(Duration::from_secs(2), g.closed_now()).await.expect("closes after the deadline");
        assert!(g.ensure_valid().is_err());
        assert!(LeaderGuard::unconditional().ensure_valid().is_ok());
    }
}
