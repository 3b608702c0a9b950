//! `reprotect-controller check -f machine.yaml`: one observation and preflight for one machine,
//! against the real API server, vcsim and the simulator, without writing anything.

use reprotect_controller::check::{self, CheckReport};
use reprotect_controller::cli::{CheckArgs, CheckOutput};
use reprotect_e2e::{Env, MASTER_TARGETS_AND_MACHINES, SimKnobs, site};
use reprotect_test_support::{install_crds, shared, test_namespace};
use std::path::PathBuf;

const BAD_NFS: &str = r#"
apiVersion: reprotect.io/v1alpha1
kind: ProtectedMachine
metadata: { name: bad-nfs }
spec: { policyRef: dr-failback, item: { name: bad-nfs }, existingVm: { name: bad-nfs }, osType: Windows, datastore: ds-nfs-01 }
"#;

const DB_01: &str = r#"
apiVersion: reprotect.io/v1alpha1
kind: ProtectedMachine
metadata: { name: db-01 }
spec: { policyRef: dr-failback, item: { name: db-01 }, existingVm: { name: db-01 }, osType: Linux, masterTargetRef: mt-lin-01 }
"#;

async fn run_check(env: &Env, dir: &tempfile::TempDir, file: &str, manifest: &str) -> anyhow::Result<CheckReport> {
    let reports = run_checks(env, dir, file, manifest, None).await?;
    anyhow::ensure!(reports.len() == 1, "one machine in {file}, {} reports", reports.len());
    reports.into_iter().next().ok_or_else(|| anyhow::anyhow!("no report"))
}

async fn run_checks(
    env: &Env,
    dir: &tempfile::TempDir,
    file: &str,
    manifest: &str,
    context: Option<&str>,
) -> anyhow::Result<Vec<CheckReport>> {
    let path: PathBuf = dir.path().join(file);
    std::fs::write(&path, manifest)?;
    let args = CheckArgs {
        machine: None,
        filename: Some(path),
        policy_file: None,
        master_target_file: None,
        cluster: reprotect_controller::cli::ClusterArgs {
            kubeconfig: Some(shared().kubeconfig_path().to_path_buf()),
            context: context.map(str::to_string),
            namespace: Some(env.ns.clone()),
        },
        output: CheckOutput::Table,
        credentials: reprotect_controller::cli::CredentialArgs {
            allowed_custom_cloud_endpoints: vec![env.sim.base_url.to_string(), env.sim.authority_url.to_string()],
            ..Default::default()
        },
    };
    check::run(&args).await
}

fn arm_writes(env: &Env) -> Vec<String> {
    env.sim
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET" && r.path.contains("Microsoft.RecoveryServices"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn check_prints_the_failing_check_for_a_blocked_machine_and_passes_a_ready_one_without_writing() -> anyhow::Result<()> {
    install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    let ns = test_namespace().await;
    let env = Env::start(ns.name(), SimKnobs::default()).await?;
    site(&env, 0).await?;
    env.vc.create_vm(&env.vm("bad-nfs", reprotect_e2e::WINDOWS)).await?;
    env.apply_policy("Apply").await?;
    env.apply(MASTER_TARGETS_AND_MACHINES).await?;
    let dir = tempfile::tempdir()?;

    let blocked = run_check(&env, &dir, "bad-nfs.yaml", BAD_NFS).await?;
    assert!(blocked.blocked, "an NFS datastore blocks reprotect:\n{}", blocked.render(CheckOutput::Table));
    let table = blocked.render(CheckOutput::Table);
    let row = table.lines().find(|l| l.contains(" datastore-type ")).unwrap_or_else(|| panic!("no datastore-type row:\n{table}"));
    assert!(row.starts_with("FAIL"), "datastore-type fails: {row}");
    assert!(table.contains("BLOCKED"), "{table}");
    let json: serde_json::Value = serde_json::from_str(&blocked.render(CheckOutput::Json))?;
    assert_eq!(json["blocked"], true);
    assert!(json["checks"].as_array().is_some_and(|c| c.iter().any(|c| c["id"] == "datastore-type" && c["status"] == "Fail")));

    let ready = run_check(&env, &dir, "db-01.yaml", DB_01).await?;
    assert!(!ready.blocked, "db-01 meets every prerequisite:\n{}", ready.render(CheckOutput::Table));
    assert_eq!(ready.master_target, "mt-lin-01");

    // Several documents (master targets and machines, as in examples/), in the kubeconfig's context named explicitly:
    // one report per machine, in order; a context the kubeconfig lacks is an error, not a silent fallback.
    let kubeconfig = kube::config::Kubeconfig::read_from(shared().kubeconfig_path())?;
    let context = kubeconfig.current_context.clone().unwrap_or_default();
    let all = run_checks(&env, &dir, "all.yaml", MASTER_TARGETS_AND_MACHINES, Some(&context)).await?;
    let machines: Vec<&str> = all.iter().map(|r| r.machine.rsplit('/').next().unwrap_or_default()).collect();
    assert_eq!(machines.len(), MASTER_TARGETS_AND_MACHINES.matches("kind: ProtectedMachine").count(), "{machines:?}");
    assert!(machines.contains(&"db-01") && machines.contains(&"app-01"), "{machines:?}");
    assert!(run_checks(&env, &dir, "all.yaml", MASTER_TARGETS_AND_MACHINES, Some("no-such-context")).await.is_err());

    // Read-only: no write to Azure, the on-premises VMs are still on, and no status was written.
    assert_eq!(arm_writes(&env), Vec::<String>::new());
    let power = env.vm_power_states(&["db-01", "bad-nfs"]).await?;
    assert!(power.iter().all(|(_, on)| *on), "check must not power anything off: {power:?}");
    let stored = env.machine("db-01").await?;
    assert!(stored.status.is_none(), "check must not write status: {:?}", stored.status);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn check_names_the_missing_policy_instead_of_failing_obscurely() -> anyhow::Result<()> {
    install_crds(concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds")).await?;
    let ns = test_namespace().await;
    let env = Env::start(ns.name(), SimKnobs::default()).await?;
    let dir = tempfile::tempdir()?;
    let err = run_check(&env, &dir, "db-01.yaml", DB_01).await.expect_err("no policy in the namespace");
    let text = format!("{err:#}");
    assert!(text.contains("ReprotectPolicy dr-failback not found"), "{text}");
    Ok(())
}
