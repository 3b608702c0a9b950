//! Kubernetes objects the tests apply: the Secrets and the policy pointed at vcsim and the simulator, master targets
//! and machines as in `examples/`, and the approval that sends machines home.

use crate::Env;
use anyhow::Result;

impl Env {
    /// Secrets and the policy, pointed at vcsim and the simulator.
    pub async fn apply_policy(&self, mode: &str) -> Result<()> {
        self.apply_policy_with_vcenter(mode, &self.vcsim.server.clone()).await
    }

    /// Like [`Env::apply_policy`], with vCenter spelled as given (e.g. `https://127.0.0.1:PORT/sdk`).
    pub async fn apply_policy_with_vcenter(&self, mode: &str, vcenter_server: &str) -> Result<()> {
        let (tenant, client_id, secret) = self.sim.credentials();
        let secrets = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "azure-sp"}, "stringData": {"tenantId": tenant, "clientId": client_id, "clientSecret": secret}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "vcenter-credentials"}, "stringData": {"username": self.vcsim.username, "password": self.vcsim.password}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sim-ca"}, "stringData": {"ca.crt": self.sim.ca_pem}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "vc-ca"}, "stringData": {"ca.crt": self.vcsim.ca_pem}},
        ]});
        self.apply(&secrets.to_string()).await?;
        self.apply(&format!(
            r#"
apiVersion: reprotect.io/v1alpha1
kind: ReprotectPolicy
metadata: {{ name: dr-failback }}
spec:
  siteRecovery:
    subscriptionId: 00000000-0000-0000-0000-000000000001
    resourceGroup: rg-dr
    vaultName: vault-dr
    fabricName: cs-fabric-01
    protectionContainer: cs-container-01
    credentialsSecretRef: {{ name: azure-sp }}
    cloud: Custom
    armEndpoint: "{arm}"
    authorityHost: "{authority}"
    caBundle: {{ secretName: sim-ca }}
  vcenter:
    server: "{vc}"
    credentialsSecretRef: {{ name: vcenter-credentials }}
    tls: {{ caBundle: {{ secretName: vc-ca }} }}
  defaults: {{ masterTargetRef: mt-win-01, processServer: ps-01, datastore: ds-vmfs-01 }}
  mode: {mode}
  retry: {{ initialBackoff: 500ms, maxBackoff: 5s }}
  network: {{ connectivity: SiteToSiteVpn, processServerLocation: Azure }}
"#,
            arm = self.sim.base_url,
            authority = self.sim.authority_url,
            vc = vcenter_server,
        ))
        .await
    }

    /// Replace the Azure credentials Secret (e.g. with a wrong client secret).
    pub async fn set_azure_client_secret(&self, secret: &str) -> Result<()> {
        let (tenant, client_id, _) = self.sim.credentials();
        let s = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "azure-sp"},
            "stringData": {"tenantId": tenant, "clientId": client_id, "clientSecret": secret}});
        self.apply(&s.to_string()).await
    }

    /// Approve the way home for machines of [`MASTER_TARGETS_AND_MACHINES`]: the same manifest with
    /// `desiredState: ProtectedToAzure` and `failback.approval`.
    pub fn approved_manifest(names: &[&str], approval: &str) -> String {
        let docs = MASTER_TARGETS_AND_MACHINES.split("---").filter(|doc| {
            doc.contains("kind: ProtectedMachine") && names.iter().any(|n| doc.contains(&format!("metadata: {{ name: {n} }}")))
        });
        let extra = format!(", desiredState: ProtectedToAzure, failback: {{ approval: {approval} }} }}");
        docs.map(|doc| {
            doc.lines()
                .map(|l| match l.strip_prefix("spec: {").and_then(|rest| rest.strip_suffix(" }")) {
                    Some(inner) => format!("spec: {{{inner}{extra}"),
                    None => l.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n---\n")
    }
}

/// Master targets and machines as in `examples/`, minus the Secrets and policy.
pub const MASTER_TARGETS_AND_MACHINES: &str = r#"
apiVersion: reprotect.io/v1alpha1
kind: MasterTarget
metadata: { name: mt-win-01 }
spec: { policyRef: dr-failback, asrName: mt-win-01, vcenterVmName: mt-win-01, osType: Windows }
---
apiVersion: reprotect.io/v1alpha1
kind: MasterTarget
metadata: { name: mt-win-02 }
spec: { policyRef: dr-failback, asrName: mt-win-02, vcenterVmName: mt-win-02, osType: Windows }
---
apiVersion: reprotect.io/v1alpha1
kind: MasterTarget
metadata: { name: mt-lin-01 }
spec: { policyRef: dr-failback, asrName: mt-lin-01, vcenterVmName: mt-lin-01, osType: Linux }
---
apiVersion: reprotect.io/v1alpha1
kind: ProtectedMachine
metadata: { name: app-01 }
spec: { policyRef: dr-failback, item: { name: app-01 }, existingVm: { name: app-01 }, osType: Windows, replicationGroup: app-group }
---
apiVersion: reprotect.io/v1alpha1
kind: ProtectedMachine
metadata: { name: app-02 }
spec: { policyRef: dr-failback, item: { name: app-02 }, existingVm: { name: app-02 }, osType: Windows, replicationGroup: app-group }
---
apiVersion: reprotect.io/v1alpha1
kind: ProtectedMachine
metadata: { name: app-03 }
spec: { policyRef: dr-failback, item: { name: app-03 }, existingVm: { name: app-03 }, osType: Windows, replicationGroup: app-group }
---
apiVersion: reprotect.io/v1alpha1
kind: ProtectedMachine
metadata: { name: db-01 }
spec: { policyRef: dr-failback, item: { name: db-01 }, existingVm: { name: db-01 }, osType: Linux, masterTargetRef: mt-lin-01 }
"#;

/// A machine whose master target has a snapshot: it must end `Blocked`.
pub const BLOCKED_MACHINE: &str = r#"
apiVersion: reprotect.io/v1alpha1
kind: ProtectedMachine
metadata: { name: web-legacy }
spec: { policyRef: dr-failback, item: { friendlyName: web-legacy }, alternateLocation: { datastore: ds-vmfs-01 }, osType: Windows, masterTargetRef: mt-win-02 }
"#;
