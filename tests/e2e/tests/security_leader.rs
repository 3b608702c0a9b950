//! Leader lease against the real API server, two replicas in-process: a leader whose Lease is deleted behind its
//! back stops acting within seconds and someone leads again; on shutdown the leader releases the Lease, returns at
//! once and the standby takes over without waiting for the lease to expire.

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, DeleteParams};
use reprotect_controller::leader::{LEASE_SECONDS, LeaderGuard, LeaseConfig, run_as_leader};
use reprotect_e2e::process::{ControllerProcess, eventually};
use reprotect_test_support::test_namespace;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// One replica: its current guard (while its work runs), the guards of every term it led, and a way to shut it
/// down.
struct Replica {
    guard: Arc<Mutex<Option<LeaderGuard>>>,
    terms: Arc<Mutex<Vec<LeaderGuard>>>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Clears the replica's guard slot when its work is dropped (the controllers stopped).
struct ClearOnDrop(Arc<Mutex<Option<LeaderGuard>>>);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        *self.0.lock().unwrap() = None;
    }
}

impl Replica {
    fn start(client: kube::Client, ns: &str, identity: &str) -> Replica {
        let guard = Arc::new(Mutex::new(None));
        let terms = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = oneshot::channel::<()>();
        let config = LeaseConfig { name: "security-leader".into(), namespace: ns.into(), identity: identity.into() };
        let slot = guard.clone();
        let history = terms.clone();
        let task = tokio::spawn(run_as_leader(
            client,
            config,
            async move {
                let _ = rx.await;
            },
            move |g: LeaderGuard| {
                let slot = slot.clone();
                history.lock().unwrap().push(g.clone());
                async move {
                    *slot.lock().unwrap() = Some(g);
                    let _clear = ClearOnDrop(slot);
                    std::future::pending::<anyhow::Result<()>>().await
                }
            },
        ));
        Replica { guard, terms, shutdown: Some(tx), task }
    }

    /// Acting: its work runs and its lease is known valid.
    fn acting(&self) -> bool {
        self.guard.lock().unwrap().as_ref().is_some_and(|g| g.is_valid_now())
    }

    /// The guards of the terms led so far, oldest first.
    fn terms(&self) -> Vec<LeaderGuard> {
        self.terms.lock().unwrap().clone()
    }
}

async fn leader<'a>(replicas: &'a [&'a Replica], within: Duration) -> Option<usize> {
    eventually(within, || async { replicas.iter().position(|r| r.acting()) }).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_leader_whose_lease_is_deleted_stops_acting_and_someone_leads_again() -> anyhow::Result<()> {
    let ns = test_namespace().await;
    let client = reprotect_test_support::client().await;
    let a = Replica::start(client.clone(), ns.name(), "replica-a");
    leader(&[&a], Duration::from_secs(20)).await.expect("a leads");
    let first_term = a.terms().first().cloned().expect("a's first term");
    let b = Replica::start(client.clone(), ns.name(), "replica-b");

    let leases: Api<Lease> = Api::namespaced(client.clone(), ns.name());
    leases.delete("security-leader", &DeleteParams::default()).await?;
    let deleted = Instant::now();
    // The term bound to the deleted Lease ends; `a` may well win the next term at once (the new Lease is free),
    // so what must stop is the old term, not the replica.
    let stopped = eventually(Duration::from_secs(LEASE_SECONDS), || async { (!first_term.is_valid_now()).then_some(()) }).await;
    assert!(stopped.is_some(), "the old leader's term ends within the lease duration");
    let who = leader(&[&a, &b], Duration::from_secs(30)).await;
    assert!(who.is_some(), "someone leads again within 30 s of the deletion ({:?})", deleted.elapsed());
    a.task.abort();
    b.task.abort();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_shutdown_the_leader_releases_the_lease_returns_at_once_and_the_standby_takes_over() -> anyhow::Result<()> {
    let ns = test_namespace().await;
    let client = reprotect_test_support::client().await;
    let mut a = Replica::start(client.clone(), ns.name(), "replica-a");
    leader(&[&a], Duration::from_secs(20)).await.expect("a leads");
    let b = Replica::start(client.clone(), ns.name(), "replica-b");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(a.acting() && !b.acting(), "one leader");

    let stop = Instant::now();
    let _ = a.shutdown.take().unwrap().send(());
    tokio::time::timeout(Duration::from_secs(10), &mut a.task).await.expect("the leader exits within 10 s")??;
    assert!(!a.acting());
    let took_over = leader(&[&b], Duration::from_secs(LEASE_SECONDS)).await;
    assert!(took_over.is_some(), "the standby leads");
    assert!(stop.elapsed() < Duration::from_secs(6), "without waiting for the lease to expire: {:?}", stop.elapsed());
    b.task.abort();
    Ok(())
}

/// The holder of a Lease, if any.
async fn holder(client: &kube::Client, ns: &str, name: &str) -> Option<String> {
    let lease = Api::<Lease>::namespaced(client.clone(), ns).get_opt(name).await.ok()??;
    lease.spec?.holder_identity.filter(|h| !h.is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_controller_process_given_sigterm_exits_within_ten_seconds_and_its_standby_takes_the_lease_at_once() -> anyhow::Result<()> {
    let ns = test_namespace().await;
    let ns = ns.name();
    reprotect_test_support::install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    let client = reprotect_test_support::client().await;
    let kubeconfig = reprotect_test_support::shared().kubeconfig_path().to_path_buf();
    let args = ["--namespaces", ns, "--leader-election", "--lease-namespace", ns, "--lease-name", "term"];
    let mut a = ControllerProcess::spawn(&kubeconfig, "term-a", &args)?;
    let led = eventually(Duration::from_secs(30), || async { holder(&client, ns, "term").await.filter(|h| h == "term-a") }).await;
    assert!(led.is_some(), "term-a never led:\n{}", a.log_tail(30));
    let b = ControllerProcess::spawn(&kubeconfig, "term-b", &args)?;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let stop = Instant::now();
    assert!(a.terminate(), "SIGTERM sent");
    let status = a.exited_within(Duration::from_secs(10)).await;
    assert!(status.is_some(), "still running 10 s after SIGTERM:\n{}", a.log_tail(30));
    let took_over =
        eventually(Duration::from_secs(LEASE_SECONDS), || async { holder(&client, ns, "term").await.filter(|h| h == "term-b") }).await;
    assert!(took_over.is_some(), "the standby did not take the Lease:\n{}", b.log_tail(30));
    assert!(stop.elapsed() < Duration::from_secs(8), "the standby waited for the Lease to expire: {:?}", stop.elapsed());
    Ok(())
}
