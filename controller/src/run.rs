//! Wire the three controllers together: shared context, watches with mappers, readiness, metrics server and graceful shutdown.

use crate::claim_index::ClaimIndex;
use crate::cli::{LogFormat, RunArgs};
use crate::connections::Connector;
use crate::context::{Context, Settings, Shared, Stores};
use crate::crd::{MasterTarget, ProtectedMachine, ReprotectPolicy, queue_ref};
use crate::http::{self, Readiness};
use crate::leader::LeaderGuard;
use crate::machine_wakes::MachineWakes;
use crate::metrics::Metrics;
use crate::reconcile::{self, error_policy, master_target_name};
use crate::store_feed::{STORE_CATCH_UP, controller_for, machine_controller, until_stored};
use futures::{FutureExt, StreamExt, TryStreamExt};
use kube::runtime::controller::Config as ControllerConfig;
use kube::runtime::{Predicate, WatchStreamExt, predicates, watcher};
use kube::{Api, Client, ResourceExt};
use std::sync::Arc;

/// Set up logging from the flags (already validated by the CLI). Targets that would log request
/// bodies (vim_rs logs the SOAP `Login` with its password at trace) are always capped at `info`.
pub fn init_tracing(format: LogFormat, filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(reprotect_vcenter::redacted_log_filter(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// `reprotect-controller run`.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    init_tracing(args.log_format, &args.log_level);
    let metrics = Arc::new(Metrics::default());
    let client = crate::kube_client::metered(kube::Config::infer().await?, metrics.clone())?;
    let settings = Settings {
        watchdog_interval: args.watchdog_interval,
        secret_cache_ttl: args.secret_cache_ttl,
        watch_referenced_objects: args.watch_referenced_objects,
        vault_watch_interval: args.vault_watch_interval,
        vault_sweep_interval: args.vault_sweep_interval,
        ..Settings::default()
    };
    let credential_policy = crate::connections::CredentialPolicy::from_args(&args.credentials)?;
    let connector: Arc<dyn Connector> = Arc::new(
        crate::connectors::RealConnector::new(args.fabric_cache_ttl, args.arm_requests_per_second)
            .with_settled_ages(&settings)
            .with_credential_policy(credential_policy)
            .with_metrics(metrics.clone()),
    );
    let ready = Readiness::default();
    let shutdown = shutdown_signal().shared();
    let server = tokio::spawn(http::serve(args.http_addr, metrics.clone(), ready.clone(), shutdown.clone()));
    // One item, one owner and one POST across every watched namespace.
    let shared = Shared::default();
    // Every reference (policy, master target, Secret) stays inside one namespace, so a set of
    // watched namespaces is simply one controller set per namespace.
    let scopes: Vec<Option<String>> =
        if args.namespaces.is_empty() { vec![None] } else { args.namespaces.iter().cloned().map(Some).collect() };
    let all = |guard: LeaderGuard| {
        let runs: Vec<_> = scopes
            .iter()
            .map(|ns| {
                run_controllers_guarded(
                    client.clone(),
                    ns.clone(),
                    connector.clone(),
                    metrics.clone(),
                    settings.clone(),
                    args.concurrency,
                    ready.clone(),
                    guard.clone(),
                    shared.clone(),
                )
            })
            .collect();
        futures::future::try_join_all(runs)
    };
    if args.leader_election {
        // The leader loop owns shutdown: it stops the controllers, then releases the Lease so a
        // standby takes over at once (racing it here could skip the release).
        let lease = crate::leader::LeaseConfig::from_args(&client, &args);
        let (ready_standby, metrics_leader) = (ready.clone(), metrics.clone());
        crate::leader::run_as_leader(client.clone(), lease, shutdown.clone(), |guard| {
            metrics_leader.set_leader(true);
            let work = all(guard);
            let (ready, metrics) = (ready_standby.clone(), metrics_leader.clone());
            async move {
                let r = work.await.map(|_| ());
                metrics.set_leader(false);
                ready.set_standby();
                r
            }
        })
        .await?;
    } else {
        metrics.set_leader(true);
        tokio::select! {
            r = all(LeaderGuard::unconditional()) => { r?; }
            _ = shutdown.clone() => tracing::info!("shutting down"),
        }
    }
    ready.set(false);
    server.abort();
    Ok(())
}

async fn shutdown_signal() {
    // Without a SIGTERM handler (never seen on Linux) Ctrl-C still works; Kubernetes then kills after the grace period.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let term = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
}

fn api<K>(client: &Client, namespace: &Option<String>) -> Api<K>
where
    K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Check that the CRDs are served; a clear log line when they are not.
async fn crds_present(client: &Client, namespace: &Option<String>) -> bool {
    let lp = kube::api::ListParams::default().limit(1);
    let checks = [
        api::<ReprotectPolicy>(client, namespace).list_metadata(&lp).await.err(),
        api::<MasterTarget>(client, namespace).list_metadata(&lp).await.err(),
        api::<ProtectedMachine>(client, namespace).list_metadata(&lp).await.err(),
    ];
    let missing: Vec<String> = checks.into_iter().flatten().map(|e| e.to_string()).collect();
    if !missing.is_empty() {
        tracing::error!(errors = ?missing, "reprotect.io CRDs are not installed or not readable; install crds/ (or the Helm chart) and check RBAC");
    }
    missing.is_empty()
}

/// Run the three controllers for one namespace (`None`: all namespaces), acting unconditionally.
pub async fn run_controllers_in(
    client: Client,
    namespace: Option<String>,
    connector: Arc<dyn Connector>,
    metrics: Arc<Metrics>,
    settings: Settings,
    concurrency: u16,
    ready: Readiness,
) -> anyhow::Result<()> {
    let (guard, shared) = (LeaderGuard::unconditional(), Shared::default());
    run_controllers_guarded(client, namespace, connector, metrics, settings, concurrency, ready, guard, shared).await
}

/// Run the three controllers for one namespace, writing to Azure and vCenter only while `leader` is valid.
#[allow(clippy::too_many_arguments)]
pub async fn run_controllers_guarded(
    client: Client,
    namespace: Option<String>,
    connector: Arc<dyn Connector>,
    metrics: Arc<Metrics>,
    settings: Settings,
    concurrency: u16,
    ready: Readiness,
    leader: LeaderGuard,
    shared: Shared,
) -> anyhow::Result<()> {
    while !crds_present(&client, &namespace).await {
        ready.set(false);
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    }
    let wc = watcher::Config::default().any_semantic();
    let config = ControllerConfig::default().concurrency(concurrency);
    let claims = ClaimIndex::default();
    let wakes = MachineWakes::for_concurrency(concurrency);
    let (claims_followed, wakes_followed) = (claims.clone(), wakes.clone());
    let follow = move |e: &watcher::Event<ProtectedMachine>| {
        claims_followed.apply(e);
        wakes_followed.follow(e);
    };
    let (machines, machine_feed) = machine_controller(api::<ProtectedMachine>(&client, &namespace), wc.clone(), follow, wakes.clone());
    let machines = machines.with_config(config.clone());
    let masters = controller_for(api::<MasterTarget>(&client, &namespace), wc.clone(), |_| ()).with_config(config.clone());
    let policies = controller_for(api::<ReprotectPolicy>(&client, &namespace), wc.clone(), |_| ()).with_config(config);
    let stores = Stores { policies: policies.store(), master_targets: masters.store(), machines: machines.store(), claims };
    let ctx = Arc::new(
        Context::new(client.clone(), connector, metrics, stores.clone(), settings)
            .with_scope(namespace.clone())
            .with_leader(leader)
            .with_shared(&shared)
            .with_machine_wakes(wakes.clone()),
    );

    // Every wake of a machine goes through `wakes` (see `machine_wakes`: kube-runtime's scheduler would keep each
    // one of a fan-out to thousands of machines in three tables that never shrink).
    // A change to a policy or master target re-evaluates every machine that uses it, so fixing a
    // cause unblocks machines without a restart.
    let (by_policy, by_master) = (stores.clone(), stores.clone());
    // Only spec changes (generation) of a policy or master target matter to machines: their status
    // changes often (aggregated counts, heartbeats) and fanning each one out to every machine of a
    // policy would turn one phase change into N reconciles.
    // These watches are not the stores' own: a machine they wake reads the policy or master target from the store,
    // which may not have the change yet (a policy switched to `Apply` was then evaluated as `Plan`, and the machine
    // waited for its next timed pass). So the wake waits, briefly, until the store holds what woke it.
    let (policy_store, master_target_store) = (stores.policies.clone(), stores.master_targets.clone());
    let policy_specs = watcher(api::<ReprotectPolicy>(&client, &namespace), wc.clone())
        .touched_objects()
        .predicate_filter(predicates::generation.combine(reconcile::policy::connections_state), Default::default())
        .and_then(move |p| until_stored(policy_store.clone(), p, STORE_CATCH_UP).map(Ok));
    let master_target_specs = watcher(api::<MasterTarget>(&client, &namespace), wc.clone())
        .touched_objects()
        .predicate_filter(predicates::generation, Default::default())
        .and_then(move |mt| until_stored(master_target_store.clone(), mt, STORE_CATCH_UP).map(Ok));
    let policy_wakes = wake_each(&wakes, policy_specs, move |p: ReprotectPolicy| {
        let (ns, name) = (p.namespace(), p.name_any());
        by_policy
            .machines
            .state()
            .into_iter()
            .filter(move |m| m.namespace() == ns && m.spec.policy_ref == name)
            .map(|m| queue_ref(m.as_ref()))
            .collect::<Vec<_>>()
    });
    let master_target_wakes = wake_each(&wakes, master_target_specs, move |mt: MasterTarget| {
        let (ns, name) = (mt.namespace(), mt.name_any());
        let stores = by_master.clone();
        stores
            .machines
            .state()
            .into_iter()
            .filter(|m| m.namespace() == ns)
            .filter(|m| reconcile::find_policy_in(&stores, m).and_then(|p| master_target_name(m, &p)).as_deref() == Some(name.as_str()))
            .map(|m| queue_ref(m.as_ref()))
            .collect::<Vec<_>>()
    });
    // Group members are gated on each other's status; status changes do not trigger reconciles
    // (see `controller_for`), so a member that becomes ready (or starts its reprotect) wakes its
    // waiting peers directly and the group goes together instead of on the next timed recheck.
    let by_group = stores.clone();
    let group_readiness = watcher(api::<ProtectedMachine>(&client, &namespace), wc.clone())
        .touched_objects()
        .try_filter(|m| std::future::ready(m.spec.replication_group.is_some()))
        .predicate_filter(reconcile::protected_machine::group_readiness, Default::default());
    let group_wakes = wake_each(&wakes, group_readiness, move |m: ProtectedMachine| {
        let (ns, name, group) = (m.namespace(), m.name_any(), m.spec.replication_group.clone());
        by_group
            .machines
            .state()
            .into_iter()
            .filter(|peer| peer.namespace() == ns && peer.spec.replication_group == group && peer.name_any() != name)
            .map(|peer| queue_ref(peer.as_ref()))
            .collect::<Vec<_>>()
    });
    // Azure's side: changed items wake their machines, so settled machines can reuse the vault's list.
    let vault_wakes = {
        let wakes = wakes.clone();
        let interval = ctx.settings.vault_watch_interval;
        let changed = (!interval.is_zero()).then(|| reconcile::vault_watch::wakes(ctx.clone(), interval));
        async move {
            match changed {
                Some(changed) => {
                    changed
                        .for_each(|m| {
                            wakes.wake(&m);
                            std::future::ready(())
                        })
                        .await
                }
                None => std::future::pending().await,
            }
        }
    };
    let readiness_stores = stores.clone();
    let mark_ready = async move {
        readiness_stores.synced().await;
        tracing::info!("watches synced; ready");
        ready.set(true);
    };
    tokio::join!(
        mark_ready,
        machine_feed,
        policy_wakes,
        master_target_wakes,
        group_wakes,
        vault_wakes,
        machines.run(reconcile::protected_machine::reconcile, error_policy, ctx.clone()).for_each(log_result),
        masters.run(reconcile::master_target::reconcile, error_policy, ctx.clone()).for_each(log_result),
        policies.run(reconcile::policy::reconcile, error_policy, ctx.clone()).for_each(log_result),
    );
    Ok(())
}

/// Wake the machines `map` names for each object `objects` yields (a watch's errors are retried by its backoff).
fn wake_each<T>(
    wakes: &MachineWakes,
    objects: impl futures::Stream<Item = Result<T, watcher::Error>> + Send + 'static,
    map: impl Fn(T) -> Vec<kube::runtime::reflector::ObjectRef<ProtectedMachine>> + Send + 'static,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let wakes = wakes.clone();
    objects.for_each(move |object| {
        match object {
            Ok(object) => map(object).iter().for_each(|m| wakes.wake(m)),
            Err(e) => tracing::debug!(error = %e, "watch of what wakes machines"),
        }
        std::future::ready(())
    })
}

async fn log_result<T: std::fmt::Debug, E: std::fmt::Display>(r: Result<T, E>) {
    if let Err(e) = r {
        tracing::debug!(error = %e, "reconcile ended with an error");
    }
}
