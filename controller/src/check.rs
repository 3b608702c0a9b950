//! `reprotect-controller check -f machines.yaml`: observe and preflight each machine of a manifest once and print
//! the check tables. It never writes (no status, no events, no action in Azure or vCenter).

use crate::cli::{CheckArgs, CheckOutput};
use crate::connectors::RealConnector;
use crate::crd::{MasterTarget, ProtectedMachine, ReprotectPolicy};
use crate::preflight::{self, CheckResult};
use crate::reconcile::protected_machine::{check_once, lookup};
use crate::reconcile::{connect, master_target_name};
use anyhow::{Context as _, anyhow};
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// What `check` found for one machine.
#[derive(Debug)]
pub struct CheckReport {
    /// `namespace/name` of the machine.
    pub machine: String,
    pub master_target: String,
    pub results: Vec<CheckResult>,
    /// Something prevents reprotect (a blocking check failed or could not be verified).
    pub blocked: bool,
}

impl CheckReport {
    /// The report as the user asked for it.
    pub fn render(&self, output: CheckOutput) -> String {
        match output {
            CheckOutput::Json => serde_json::to_string_pretty(&serde_json::json!({
                "machine": self.machine,
                "masterTarget": self.master_target,
                "blocked": self.blocked,
                "checks": self.results,
            }))
            .unwrap_or_default(),
            CheckOutput::Table => {
                let summary = preflight::summarize(&self.results);
                let verdict = if self.blocked { "BLOCKED" } else { "READY" };
                format!(
                    "{}\n{verdict}: {} (machine {}, master target {})\n",
                    preflight::render_table(&self.results),
                    summary.message,
                    self.machine,
                    self.master_target
                )
            }
        }
    }
}

fn read_yaml<K: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<K> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_saphyr::from_str(&text).with_context(|| format!("{} is not a valid manifest of this kind", path.display()))
}

/// The text of `-f`: a file, or stdin for `-`.
fn read_manifest(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        return std::io::read_to_string(std::io::stdin()).context("cannot read the manifest from stdin");
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Every ProtectedMachine document of a manifest, in order (`---`-separated documents; other kinds, such as the
/// Secrets and policy of `examples/`, are skipped). `source` names the manifest in errors.
pub fn machines_from(text: &str, source: &str) -> anyhow::Result<Vec<ProtectedMachine>> {
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(text).with_context(|| format!("{source} is not valid YAML"))?;
    let machines = docs
        .into_iter()
        .enumerate()
        .filter(|(_, d)| d.get("kind").and_then(|k| k.as_str()) == Some("ProtectedMachine"))
        .map(|(i, d)| serde_json::from_value(d).with_context(|| format!("document {} of {source} is not a valid ProtectedMachine", i + 1)))
        .collect::<anyhow::Result<Vec<ProtectedMachine>>>()?;
    if machines.is_empty() {
        anyhow::bail!("{source} contains no ProtectedMachine");
    }
    Ok(machines)
}

/// From a file when given, else from the cluster.
async fn load<K>(client: &Client, ns: &str, name: &str, file: Option<&Path>) -> anyhow::Result<K>
where
    K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    if let Some(path) = file {
        let mut obj: K = read_yaml(path)?;
        obj.meta_mut().namespace = Some(ns.to_string());
        return Ok(obj);
    }
    Api::<K>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await?
        .ok_or_else(|| anyhow!("{} {name} not found in namespace {ns}; create it or pass it with a file flag", K::kind(&())))
}

/// Observe and check every machine of the manifest. Secrets (credentials, CA bundles) are read from the cluster.
pub async fn run(args: &CheckArgs) -> anyhow::Result<Vec<CheckReport>> {
    let (client, default_ns) = crate::kubectl::client(args.cluster.kubeconfig.as_deref(), args.cluster.context.as_deref()).await?;
    let machines = match (&args.filename, &args.machine) {
        (Some(file), _) => machines_from(&read_manifest(file)?, &file.display().to_string())?,
        (None, Some(target)) => {
            let name = crate::kubectl::machine_name(target)?;
            let ns = args.cluster.namespace.clone().unwrap_or_else(|| default_ns.clone());
            let pm = Api::<ProtectedMachine>::namespaced(client.clone(), &ns).get_opt(name).await?;
            vec![pm.ok_or_else(|| anyhow!("protectedmachine/{name} not found in namespace {ns}"))?]
        }
        (None, None) => anyhow::bail!("pass a machine (pm/NAME) or a manifest (-f FILE)"),
    };
    let credential_policy = crate::connections::CredentialPolicy::from_args(&args.credentials)?;
    let connector = RealConnector::new(Duration::from_secs(30), None).with_credential_policy(credential_policy);
    let mut reports = Vec::with_capacity(machines.len());
    for pm in machines {
        let name = pm.name_any();
        let report = check_machine(args, &client, &connector, &default_ns, pm).await.with_context(|| format!("machine {name}"))?;
        reports.push(report);
    }
    Ok(reports)
}

async fn check_machine(
    args: &CheckArgs,
    client: &Client,
    connector: &RealConnector,
    default_ns: &str,
    mut pm: ProtectedMachine,
) -> anyhow::Result<CheckReport> {
    let ns = args.cluster.namespace.clone().or_else(|| pm.namespace()).unwrap_or_else(|| default_ns.to_string());
    pm.metadata.namespace = Some(ns.clone());
    let Prepared { lookup, conn, master_target } =
        prepare(client, connector, &ns, &pm, args.policy_file.as_deref(), args.master_target_file.as_deref()).await?;
    let results = check_once(&pm, &lookup, &conn).await?;
    let blocked = preflight::blocks_reprotect(&results);
    Ok(CheckReport { machine: format!("{ns}/{}", pm.name_any()), master_target, results, blocked })
}

/// What a one-shot read of a machine needs: its look-up (policy, master target, group peers) and connections.
pub struct Prepared {
    pub lookup: lookup::Lookup,
    pub conn: crate::reconcile::Connection,
    pub master_target: String,
}

/// Look up a machine's policy and master target (from files when given, else from the cluster in `ns`) and its
/// group peers, and connect to Azure and vCenter with the policy's credentials.
pub async fn prepare(
    client: &Client,
    connector: &RealConnector,
    ns: &str,
    pm: &ProtectedMachine,
    policy_file: Option<&Path>,
    master_target_file: Option<&Path>,
) -> anyhow::Result<Prepared> {
    let policy: ReprotectPolicy = load(client, ns, &pm.spec.policy_ref, policy_file).await?;
    let mt_name = master_target_name(pm, &policy)
        .ok_or_else(|| anyhow!("no master target: set spec.masterTargetRef or the policy's spec.defaults.masterTargetRef"))?;
    let mt: MasterTarget = load(client, ns, &mt_name, master_target_file).await?;

    // Replication-group checks compare with the other members, so a group member's namespace is
    // read when the cluster allows it; the machine from the file replaces its cluster copy.
    let others = match &pm.spec.replication_group {
        Some(_) => {
            Api::<ProtectedMachine>::namespaced(client.clone(), ns).list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default()
        }
        None => Vec::new(),
    };
    let peers = lookup::peers(others.into_iter().map(Arc::new).collect(), pm);
    let conn = connect(crate::connections::Reads::direct(client), connector, &policy).await?;
    let master_target_asr_names = [(mt.name_any(), mt.spec.asr_name.clone())].into();
    // One-shot: the other machines that could own the item are not listed (the reconciler checks `item-owner`).
    let lookup = lookup::Lookup {
        policy: Arc::new(policy),
        master_target: Arc::new(mt),
        peers,
        master_target_asr_names,
        others: lookup::OtherMachines::Listed(Vec::new()),
        policies_in_scope: Vec::new(),
    };
    Ok(Prepared { lookup, conn, master_target: mt_name })
}

#[cfg(test)]
mod tests {
    use super::machines_from;

    #[test]
    fn every_machine_of_a_multi_document_manifest_is_checked_and_other_kinds_are_skipped() {
        let examples = concat!(include_str!("../../examples/01-policy.yaml"), "\n---\n", include_str!("../../examples/03-machines.yaml"));
        let names: Vec<String> =
            machines_from(examples, "examples").unwrap().iter().map(|m| m.metadata.name.clone().unwrap_or_default()).collect();
        let expected = include_str!("../../examples/03-machines.yaml").matches("kind: ProtectedMachine").count();
        assert!(expected >= 2, "the examples declare several machines");
        assert_eq!(names.len(), expected, "{names:?}");
        assert!(names.iter().all(|n| !n.is_empty()));
    }

    #[test]
    fn a_manifest_without_machines_or_with_a_broken_machine_is_a_clear_error() {
        let err = machines_from(include_str!("../../examples/01-policy.yaml"), "policy.yaml").unwrap_err();
        assert!(format!("{err:#}").contains("policy.yaml contains no ProtectedMachine"), "{err:#}");
        let broken = "apiVersion: reprotect.io/v1alpha1\nkind: ProtectedMachine\nmetadata: { name: x }\nspec: { policyRef: 7 }\n";
        let err = machines_from(broken, "m.yaml").unwrap_err();
        assert!(format!("{err:#}").contains("document 1 of m.yaml is not a valid ProtectedMachine"), "{err:#}");
    }
}
