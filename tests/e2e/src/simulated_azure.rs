//! The simulated Azure side: the knobs of the ASR simulator's scenario, and what tests read back from the simulator
//! (the jobs it created, the POSTs it received).

use crate::Env;

/// Knobs of the simulated Azure side.
pub struct SimKnobs {
    pub agent_delay: &'static str,
    pub job_duration: &'static str,
    pub failed_over_ago: &'static str,
    /// How long after a failback commit the on-premises agent takes to register (forward reprotect).
    pub forward_agent_delay: &'static str,
    /// Job errors carry this generic service code, ASR's own code only in the provider details.
    pub job_service_code: Option<&'static str>,
    /// The configuration server lists vCenter by an FQDN with its IP and port apart (not as the policy spells it).
    pub vcenter_discovered_by_fqdn: bool,
}

impl Default for SimKnobs {
    fn default() -> Self {
        SimKnobs {
            agent_delay: "0s",
            job_duration: "2s",
            failed_over_ago: "1m",
            forward_agent_delay: "15m",
            job_service_code: None,
            vcenter_discovered_by_fqdn: false,
        }
    }
}

/// The simulator scenario of the examples (vault-dr, cs-fabric-01, mt-win-01/mt-lin-01, app-01..03 + db-01), plus
/// the shapes of real installations: items named by GUID with friendly names (web-group, three members), two
/// items sharing one friendly name (dup-vm).
pub fn sim_scenario(vcenter: &str, k: &SimKnobs) -> String {
    let vcenters = if k.vcenter_discovered_by_fqdn {
        let port = vcenter.rsplit(':').next().unwrap_or("443");
        format!(r#"{{ name: vcsim.corp.local, ip_address: 127.0.0.1, port: "{port}", discovery_status: Completed }}"#)
    } else {
        format!(r#"{{ name: "{vcenter}", ip_address: 127.0.0.1, discovery_status: Completed }}"#)
    };
    format!(
        r#"
credentials: {{ tenant_id: 00000000-0000-0000-0000-0000000000aa, client_id: 11111111-2222-3333-4444-555555555555, client_secret: sim-secret }}
defaults: {{ agent_registration_delay: {delay}, job_duration: {job}, failed_over_ago: {ago}, page_size: 50, forward_agent_registration_delay: {fwd}, job_service_code: {svc} }}
vaults:
  - subscription: 00000000-0000-0000-0000-000000000001
    resource_group: rg-dr
    name: vault-dr
    fabrics:
      - name: cs-fabric-01
        container: cs-container-01
        host_name: cs-01.corp.local
        ip_address: 10.0.0.10
        heartbeat_age: 1m
        process_servers: [ {{ name: ps-01, ip_address: 10.0.0.11 }} ]
        master_targets:
          - {{ name: mt-win-01, os: Windows, ip_address: 10.0.0.21, retention_volumes: ["R:"], datastores: [ {{ name: ds-vmfs-01, type: VMFS }}, {{ name: ds-nfs-01, type: NFS }} ] }}
          - {{ name: mt-win-02, os: Windows, ip_address: 10.0.0.23, retention_volumes: ["R:"], datastores: [ {{ name: ds-vmfs-01, type: VMFS }} ] }}
          - {{ name: mt-lin-01, os: Linux, ip_address: 10.0.0.22, retention_volumes: [/mnt/retention], datastores: [ {{ name: ds-vmfs-01, type: VMFS }}, {{ name: ds-nfs-01, type: NFS }} ] }}
          - {{ name: mt-pv-01, os: Windows, ip_address: 10.0.0.24, retention_volumes: ["R:"], datastores: [ {{ name: ds-vmfs-01, type: VMFS }} ] }}
        run_as_accounts: [ {{ id: "1", name: vcenter-admin }} ]
        vcenters: [ {vcenters} ]
    items:
      - {{ name: app-01, os: Windows, os_name: Windows Server 2019 Datacenter, group: app-group }}
      - {{ name: app-02, os: Windows, os_name: Windows Server 2019 Datacenter, group: app-group }}
      - {{ name: app-03, os: Windows, os_name: Windows Server 2019 Datacenter, group: app-group }}
      - {{ name: db-01, os: Linux, os_name: Red Hat Enterprise Linux 8.6 }}
      - {{ name: web-legacy, os: Windows, os_name: Windows Server 2016 Datacenter }}
      - {{ name: bad-pv, os: Windows, os_name: Windows Server 2019 Datacenter }}
      - {{ name: bad-nfs, os: Windows, os_name: Windows Server 2019 Datacenter }}
      - {{ name: bad-os, os: Linux, os_name: Ubuntu 22.04 }}
      - {{ name: bad-ret, os: Windows, os_name: Windows Server 2019 Datacenter }}
      - {{ name: split-a, os: Windows, os_name: Windows Server 2019 Datacenter, group: split-group }}
      - {{ name: split-b, os: Windows, os_name: Windows Server 2019 Datacenter, group: split-group }}
      - {{ name: 7c1e55d0-5b7a-4f0e-9a51-0d6c7e3f9a01, friendly_name: web-01, os: Windows, group: web-group }}
      - {{ name: 7c1e55d0-5b7a-4f0e-9a51-0d6c7e3f9a02, friendly_name: web-02, os: Windows, group: web-group }}
      - {{ name: 7c1e55d0-5b7a-4f0e-9a51-0d6c7e3f9a03, friendly_name: web-03, os: Windows, group: web-group }}
      - {{ name: dup-a, friendly_name: dup-vm, os: Windows }}
      - {{ name: dup-b, friendly_name: dup-vm, os: Windows }}
"#,
        delay = k.agent_delay,
        job = k.job_duration,
        ago = k.failed_over_ago,
        fwd = k.forward_agent_delay,
        svc = k.job_service_code.unwrap_or("null"),
    )
}

impl Env {
    /// Reprotect jobs the simulator created for one item (accepted POSTs, whether or not the
    /// client saw the answer).
    pub fn reprotect_jobs(&self, item: &str) -> usize {
        self.sim.with_world(|w| w.vaults.iter().flat_map(|v| &v.jobs).filter(|j| j.item == item).count())
    }

    /// Whether the simulator has accepted a reprotect for the item (a job exists).
    pub fn reprotect_accepted(&self, item: &str) -> bool {
        self.reprotect_jobs(item) > 0
    }

    /// POSTs the simulator received whose path contains `route` (e.g. `replicationProtectedItems/db-01/unplannedFailover`).
    pub fn posts(&self, route: &str) -> usize {
        self.sim.count("POST", route)
    }

    /// Reprotect POSTs the simulator received for one item.
    pub fn reprotect_posts(&self, item: &str) -> usize {
        self.sim.count("POST", &format!("replicationProtectedItems/{item}/reProtect"))
    }
}
