//! `kubectl reprotect plan [pm/NAME]`: what `Apply` would do now for applied machines, decided exactly as the
//! reconciler decides in `Plan` mode from a fresh observation. Nothing is written or sent.

use crate::check::{self, Prepared};
use crate::connectors::RealConnector;
use crate::context::Settings;
use crate::crd::ProtectedMachine;
use crate::reconcile::protected_machine::{Preview, plan_once};
use comfy_table::{Table, presets};
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};

/// The preview of one machine, or why it could not be made.
pub type Planned = (String, Result<Preview, String>);

/// Plan the named machine, or every machine of the namespace.
pub async fn run(client: &Client, connector: &RealConnector, ns: &str, name: Option<&str>) -> anyhow::Result<Vec<Planned>> {
    let api: Api<ProtectedMachine> = Api::namespaced(client.clone(), ns);
    let machines = match name {
        Some(n) => vec![api.get_opt(n).await?.ok_or_else(|| anyhow::anyhow!("protectedmachine/{n} not found in namespace {ns}"))?],
        None => api.list(&ListParams::default()).await?.items,
    };
    if machines.is_empty() {
        anyhow::bail!("no ProtectedMachine in namespace {ns}");
    }
    let settings = Settings::default();
    let mut out = Vec::with_capacity(machines.len());
    for pm in machines {
        let name = pm.name_any();
        let preview = match check::prepare(client, connector, ns, &pm, None, None).await {
            Ok(Prepared { lookup, conn, .. }) => plan_once(&pm, &lookup, &conn, &settings).await.map_err(|e| format!("{e:#}")),
            Err(e) => Err(format!("{e:#}")),
        };
        out.push((name, preview));
    }
    Ok(out)
}

/// One row per machine: the steps `Apply` would take now, or why it would take none.
pub fn render(planned: &[Planned]) -> String {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING);
    t.set_header(vec!["MACHINE", "WOULD", "STEPS OR REASON"]);
    for (name, preview) in planned {
        let (would, what) = match preview {
            Ok(p) if !p.actions.is_empty() => {
                ("act", p.actions.iter().enumerate().map(|(i, a)| format!("{}. {a}", i + 1)).collect::<Vec<_>>().join("\n"))
            }
            Ok(p) => ("wait", format!("{} ({}): {}", p.phase, p.reason, p.message)),
            Err(e) => ("error", e.clone()),
        };
        t.add_row(vec![name.clone(), would.into(), what]);
    }
    format!("{t}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::Phase;

    #[test]
    fn the_plan_lists_each_step_in_order_or_says_why_a_machine_would_wait() {
        let ready = Preview {
            phase: Phase::Validating,
            reason: "Planned".into(),
            message: "plan mode".into(),
            actions: vec!["power off on-premises VM db-01".into(), "reprotect db-01".into()],
        };
        let waiting =
            Preview { phase: Phase::Blocked, reason: "PreflightFailed".into(), message: "mt-no-snapshots".into(), actions: vec![] };
        let out = render(&[("db-01".into(), Ok(ready)), ("web".into(), Ok(waiting)), ("x".into(), Err("policy p not found".into()))]);
        assert!(out.contains("1. power off on-premises VM db-01") && out.contains("2. reprotect db-01"), "{out}");
        assert!(out.contains("Blocked (PreflightFailed): mt-no-snapshots"), "{out}");
        assert!(out.contains("policy p not found"), "{out}");
    }
}
