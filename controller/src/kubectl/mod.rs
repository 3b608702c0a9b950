//! `kubectl reprotect …`: the operator's commands on applied objects (status, check by name, pause/resume,
//! plan). The same binary serves as the kubectl plugin when it is on PATH as `kubectl-reprotect`.

pub mod pause;
pub mod plan;
pub mod status;

use crate::cli::{ClusterArgs, PauseArgs, PlanArgs, StatusArgs};
use anyhow::{Context as _, bail};
use kube::Client;
use std::path::Path;

/// A client for the kubeconfig and context the user chose, and the namespace to use (flag, else the context's).
pub async fn client(kubeconfig: Option<&Path>, context: Option<&str>) -> anyhow::Result<(Client, String)> {
    let options = kube::config::KubeConfigOptions { context: context.map(str::to_string), ..Default::default() };
    let config = match kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path).with_context(|| format!("cannot read kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &options).await?
        }
        // KUBECONFIG with several paths is merged as kubectl merges it.
        None if context.is_some() => kube::Config::from_kubeconfig(&options).await.context("cannot use the requested --context")?,
        None => kube::Config::infer().await.context("no kubeconfig found; pass --kubeconfig")?,
    };
    let ns = config.default_namespace.clone();
    Ok((Client::try_from(config)?, ns))
}

/// The client and namespace of the cluster flags.
pub async fn connect(args: &ClusterArgs) -> anyhow::Result<(Client, String)> {
    let (client, default_ns) = client(args.kubeconfig.as_deref(), args.context.as_deref()).await?;
    Ok((client, args.namespace.clone().unwrap_or(default_ns)))
}

/// `status`: print the page for the namespace, or every namespace with `-A`.
pub async fn print_status(args: &StatusArgs) -> anyhow::Result<()> {
    let (client, ns) = connect(&args.cluster).await?;
    print!("{}", status::run(&client, (!args.all_namespaces).then_some(ns.as_str())).await?);
    Ok(())
}

/// `pause` (`paused`) or `resume`: one line per machine.
pub async fn pause_or_resume(args: &PauseArgs, paused: bool) -> anyhow::Result<()> {
    let (client, ns) = connect(&args.cluster).await?;
    let names = args.machines.iter().map(|m| machine_name(m).map(str::to_string)).collect::<anyhow::Result<Vec<_>>>()?;
    for line in pause::set_paused(&client, &ns, &names, paused).await? {
        println!("{line}");
    }
    Ok(())
}

/// `plan`: with the same credential limits as `run`, since a plan reads Azure with the policy's credentials.
pub async fn print_plan(args: &PlanArgs) -> anyhow::Result<()> {
    let (client, ns) = connect(&args.cluster).await?;
    let policy = crate::connections::CredentialPolicy::from_args(&args.credentials)?;
    let connector = crate::connectors::RealConnector::new(std::time::Duration::from_secs(30), None).with_credential_policy(policy);
    let name = args.machine.as_deref().map(machine_name).transpose()?;
    print!("{}", plan::render(&plan::run(&client, &connector, &ns, name).await?));
    Ok(())
}

/// The name in `pm/NAME`, `protectedmachine/NAME`, `protectedmachines.reprotect.io/NAME` or plain `NAME`,
/// as kubectl accepts it; another kind is an error that says which kinds are accepted.
pub fn machine_name(target: &str) -> anyhow::Result<&str> {
    let name = match target.split_once('/') {
        None => target,
        Some((kind, name)) => {
            let kind = kind.to_ascii_lowercase();
            let kind = kind.strip_suffix(".reprotect.io").unwrap_or(&kind);
            if !matches!(kind, "pm" | "protectedmachine" | "protectedmachines") {
                bail!("{target}: only ProtectedMachines (pm/NAME) are accepted here");
            }
            name
        }
    };
    if name.is_empty() || name.contains('/') {
        bail!("{target}: expected pm/NAME or NAME");
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::machine_name;

    #[test]
    fn a_machine_is_named_as_kubectl_names_it_and_other_kinds_are_refused() {
        for target in ["pm/db-01", "protectedmachine/db-01", "ProtectedMachines.reprotect.io/db-01", "db-01"] {
            assert_eq!(machine_name(target).unwrap(), "db-01", "{target}");
        }
        let err = machine_name("deployment/db-01").unwrap_err().to_string();
        assert!(err.contains("only ProtectedMachines"), "{err}");
        assert!(machine_name("pm/").is_err());
        assert!(machine_name("pm/a/b").is_err());
    }
}
