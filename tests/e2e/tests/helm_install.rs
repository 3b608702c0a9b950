//! The Helm chart against the real API server: installed with `helm install`, the controller runs
//! as the chart's ServiceAccount (not admin) with leader election, brings machines to `Protected`
//! and is denied what it does not need; two replicas elect one leader and a standby takes over.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams};
use reprotect_controller::crd::{Phase, ProtectedMachine};
use reprotect_e2e::process::{ControllerProcess, eventually};
use reprotect_e2e::{Env, MASTER_TARGETS_AND_MACHINES, SimKnobs, site};
use reprotect_test_support::{client, install_crds, shared, test_namespace};
use std::time::{Duration, Instant};

const MACHINES: [&str; 4] = ["app-01", "app-02", "app-03", "db-01"];

async fn lease_holder(ns: &str, name: &str) -> Option<String> {
    let lease = Api::<Lease>::namespaced(client().await, ns).get_opt(name).await.ok()??;
    lease.spec?.holder_identity
}

fn forbidden<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> bool {
    matches!(r, Err(kube::Error::Api(s)) if s.code == 403)
}

async fn environment(ns: &str) -> anyhow::Result<Env> {
    install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    let env = Env::start(ns, SimKnobs::default()).await?;
    site(&env, 0).await?;
    env.apply_policy("Apply").await?;
    env.apply(MASTER_TARGETS_AND_MACHINES).await?;
    Ok(env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_controller_runs_as_the_charts_service_account_reaches_protected_and_is_denied_the_rest() -> anyhow::Result<()> {
    let ns = test_namespace().await;
    let ns = ns.name();
    let env = environment(ns).await?;
    let release_ns = format!("{ns}-system");
    let chart = concat!(env!("CARGO_MANIFEST_DIR"), "/../../charts/reprotect-controller");
    let install = shared()
        .helm(&[
            "install",
            "rp",
            chart,
            "--namespace",
            &release_ns,
            "--create-namespace",
            "--set",
            "fullnameOverride=rp-ctl",
            "--set",
            &format!("watchNamespaces={{{ns}}}"),
        ])
        .await?;
    assert!(install.success, "helm install failed:\n{}", install.stderr);

    // The chart's identity, as its pod would have it (context namespace = release namespace, so
    // the Lease lands there without --lease-namespace).
    let kubeconfig = shared().service_account_kubeconfig(&release_ns, "rp-ctl").await?;
    let endpoints = env.allowed_custom_cloud_endpoints();
    let controller = ControllerProcess::spawn(
        &kubeconfig,
        "rp-ctl-0",
        &["--namespaces", ns, "--leader-election", "--lease-name", "rp-ctl", "--allowed-custom-cloud-endpoints", &endpoints],
    )?;
    let phases = env.wait_for_phases(&MACHINES, &[Phase::Protected, Phase::Blocked], Duration::from_secs(180)).await;
    let phases = phases.unwrap_or_else(|e| panic!("{e}\ncontroller log:\n{}", controller.log_tail(40)));
    assert!(phases.iter().all(|(_, p)| *p == Phase::Protected), "{phases:?}\n{}", controller.log_tail(40));
    for m in MACHINES {
        assert_eq!(env.reprotect_posts(m), 1, "{m}: one reprotect POST");
    }
    assert_eq!(lease_holder(&release_ns, "rp-ctl").await.as_deref(), Some("rp-ctl-0"), "Lease in the release namespace");

    let sa = shared().client_as_service_account(&release_ns, "rp-ctl").await?;
    let secrets = |n: &str| Api::<Secret>::namespaced(sa.clone(), n);
    assert!(secrets(ns).get("azure-sp").await.is_ok(), "reading the Secret the policy names is allowed");
    assert!(forbidden(secrets("default").list(&ListParams::default()).await), "listing Secrets elsewhere is denied");
    // secrets.watch (the default) grants list/watch where the controller watches, so it can watch the Secrets
    // policies name; the controller, running on exactly these rights, never fell back to reading them.
    assert!(secrets(ns).list(&ListParams::default()).await.is_ok(), "secrets.watch: the watched namespace's Secrets can be watched");
    assert!(!controller.log_tail(10_000).contains("cannot watch a referenced object"), "{}", controller.log_tail(40));
    assert!(forbidden(secrets(ns).delete("azure-sp", &DeleteParams::default()).await), "deleting a Secret is denied");
    let machines = Api::<ProtectedMachine>::namespaced(sa.clone(), ns);
    assert!(forbidden(machines.delete("db-01", &DeleteParams::default()).await), "deleting a ProtectedMachine is denied");
    let elsewhere = Api::<ProtectedMachine>::namespaced(sa.clone(), "default");
    assert!(forbidden(elsewhere.list(&ListParams::default()).await), "namespace-scoped mode: no access outside watched namespaces");
    let leases = Api::<Lease>::namespaced(sa, ns);
    assert!(forbidden(leases.delete("rp-ctl", &DeleteParams::default()).await), "no Lease rights outside the release namespace");

    let uninstall = shared().helm(&["uninstall", "rp", "--namespace", &release_ns]).await?;
    assert!(uninstall.success, "helm uninstall failed:\n{}", uninstall.stderr);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_elect_one_leader_that_alone_reconciles_and_a_standby_takes_over_when_it_dies() -> anyhow::Result<()> {
    let ns = test_namespace().await;
    let ns = ns.name();
    let env = environment(ns).await?;
    let kubeconfig = shared().kubeconfig_path().to_path_buf();
    let endpoints = env.allowed_custom_cloud_endpoints();
    let args = [
        "--namespaces",
        ns,
        "--leader-election",
        "--lease-namespace",
        ns,
        "--lease-name",
        "rc",
        "--allowed-custom-cloud-endpoints",
        &endpoints,
    ];
    let mut a = ControllerProcess::spawn(&kubeconfig, "replica-a", &args)?;
    let held = eventually(Duration::from_secs(30), || async { lease_holder(ns, "rc").await.filter(|h| h == "replica-a") }).await;
    assert!(held.is_some(), "replica-a never took the Lease:\n{}", a.log_tail(30));
    let mut b = ControllerProcess::spawn(&kubeconfig, "replica-b", &args)?;

    env.wait_for_phases(&MACHINES, &[Phase::Protected], Duration::from_secs(180)).await?;
    assert!(a.reconciles("ProtectedMachine").await > 0, "the leader reconciles");
    assert_eq!(b.reconciles("ProtectedMachine").await, 0, "the standby does not reconcile:\n{}", b.log_tail(20));
    assert!(b.running(), "the standby waits, it does not exit:\n{}", b.log_tail(20));

    a.kill().await?;
    let killed = Instant::now();
    let took_over = eventually(Duration::from_secs(45), || async {
        let holder = lease_holder(ns, "rc").await;
        (holder.as_deref() == Some("replica-b") && b.reconciles("ProtectedMachine").await > 0).then(Instant::now)
    })
    .await;
    let took_over = took_over.unwrap_or_else(|| panic!("replica-b did not take over:\n{}", b.log_tail(30)));
    let handover = took_over - killed;
    // Lease of 15 s: a standby acquires it once it expires, plus one polling round.
    assert!(handover < Duration::from_secs(30), "handover took {handover:?}");
    eprintln!("leader handover after SIGKILL: {:.1}s", handover.as_secs_f64());

    // The new leader re-reads every machine, finds it Protected and does nothing twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for m in MACHINES {
        assert_eq!(env.reprotect_posts(m), 1, "{m}: still exactly one reprotect POST after the handover");
    }
    Ok(())
}
