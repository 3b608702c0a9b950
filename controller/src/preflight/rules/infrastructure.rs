//! Infrastructure rules: configuration server, process server, network, vCenter discovery and ESXi licensing.

use super::{Outcome, Rule, list, src};
use crate::preflight::Severity::{Blocking, Info, Warning};
use crate::preflight::catalog::RuleInfo;
use crate::preflight::context::{Seen, Target, human};
use crate::preflight::input::{NetworkKind, ProcessServerLocation};
use reprotect_facts::HostFacts;

pub(super) const CS_HEARTBEAT: Rule = Rule {
    info: RuleInfo {
        id: "cs-heartbeat",
        severity: Blocking,
        description: "The on-premises configuration server is connected to the vault with a fresh heartbeat.",
        remedy: "Bring the on-premises configuration server back online and check its connectivity to Azure; if it was lost, restore it from backup with the same IP address (take regularly scheduled backups).",
        source: src::PREREQUISITES,
    },
    eval: |c| {
        let Some(fabric) = c.fabric else {
            return Outcome::unknown("configuration server fabric not observed");
        };
        let name = fabric.host_name.as_deref().unwrap_or(&fabric.name);
        let ip = fabric.ip_address.as_deref().unwrap_or("unknown IP");
        match fabric.last_heartbeat {
            None => Outcome::fail(format!("configuration server {name} ({ip}) has no heartbeat")),
            Some(hb) if !c.fresh(hb) => {
                Outcome::fail(format!("configuration server {name} ({ip}) last heartbeat {hb} is older than {}", human(c.d.heartbeat_max_age)))
            }
            Some(hb) => Outcome::pass(format!("configuration server {name} ({ip}) last heartbeat {hb}")),
        }
    },
};

pub(super) const PS_HEARTBEAT: Rule = Rule {
    info: RuleInfo {
        id: "ps-heartbeat",
        severity: Blocking,
        description: "The process server is registered with the configuration server, has a fresh heartbeat and is not in Critical health.",
        remedy: "Check that the process server reaches the configuration server on port 443 (telnet, ping) and that its services run; fix the health errors it reports.",
        source: src::PROBLEMS,
    },
    eval: |c| {
        let ps = match c.ps {
            Seen::Found(ps) => ps,
            Seen::Unobserved => {
                return Outcome::unknown(format!(
                    "configuration server fabric not observed; cannot see process server {}",
                    c.d.process_server
                ));
            }
            Seen::Missing => {
                let known: Vec<&str> =
                    c.fabric.map(|f| f.process_servers.iter().map(|p| p.friendly_name.as_str()).collect()).unwrap_or_default();
                return Outcome::fail(format!("process server {} is not registered with the configuration server (registered: {})", c.d.process_server, list(&known, 5)))
                    .remedy("Deploy the process server (in Azure when using a S2S VPN) and register it with the configuration server, or fix the name in the spec.");
            }
        };
        let health = ps.health.as_deref().unwrap_or("unreported");
        if health.eq_ignore_ascii_case("Critical") {
            let first = ps.health_errors.first().and_then(|e| e.message.as_deref()).unwrap_or("no details");
            return Outcome::fail(format!("process server {} health is Critical: {first}", ps.friendly_name));
        }
        match ps.last_heartbeat {
            None => Outcome::fail(format!("process server {} has no heartbeat (health {health})", ps.friendly_name)),
            Some(hb) if !c.fresh(hb) => Outcome::fail(format!(
                "process server {} last heartbeat {hb} is older than {} (health {health})",
                ps.friendly_name,
                human(c.d.heartbeat_max_age)
            )),
            Some(hb) => Outcome::pass(format!("process server {} last heartbeat {hb}, health {health}", ps.friendly_name)),
        }
    },
};

pub(super) const PS_PLACEMENT: Rule = Rule {
    info: RuleInfo {
        id: "ps-placement",
        severity: Info,
        description: "With only a S2S VPN, the process server should run in Azure (low latency to the failed-over VM); an on-premises one suits ExpressRoute.",
        remedy: "Deploy a process server in the Azure network of the failed-over VM and use it for reprotect; keep the on-premises process server for ExpressRoute private peering or a proof of concept.",
        source: src::FAQ_PROCESS_SERVER,
    },
    eval: |c| match (c.d.network, c.d.process_server_location) {
        (Some(NetworkKind::SiteToSiteVpn), Some(ProcessServerLocation::OnPremises)) => Outcome::fail(format!(
            "process server {} is on-premises and the network is a S2S VPN: replication latency will be high",
            c.d.process_server
        )),
        (Some(net), Some(loc)) => Outcome::pass(format!("process server {} is {loc:?} with {}", c.d.process_server, net.describe())),
        (net, loc) => Outcome::unknown(format!(
            "process server {} placement unknown (network {}, location {})",
            c.d.process_server,
            net.map_or("undeclared", NetworkKind::describe),
            loc.map_or("undeclared", |l| if l == ProcessServerLocation::Azure { "Azure" } else { "on-premises" })
        ))
        .remedy("Declare the network kind and where the process server runs in the spec."),
    },
};

pub(super) const REPLICATION_NETWORK: Rule = Rule {
    info: RuleInfo {
        id: "replication-network",
        severity: Blocking,
        description: "Reprotect and failback replicate over a S2S VPN or ExpressRoute private peering (not the Internet or public peering), so the Azure VM reaches the configuration server.",
        remedy: "Provide a S2S VPN or ExpressRoute private peering between the Azure network and on-premises with enough bandwidth, so the failed-over VM and the process server reach the configuration server.",
        source: src::FAQ_NETWORK,
    },
    eval: |c| match c.d.network {
        Some(net) if net.carries_failback() => {
            Outcome::pass(format!("replication back to on-premises goes over {}; make sure it has enough bandwidth", net.describe()))
        }
        Some(net) => Outcome::fail(format!("declared network is {}, which cannot carry reprotect/failback replication", net.describe())),
        // Undeclared is common and not observable: say so without blocking.
        None => Outcome::unknown("network between Azure and on-premises not declared (S2S VPN or ExpressRoute private peering required)")
            .severity(Warning)
            .remedy("Declare the network (SiteToSiteVpn or ExpressRoutePrivatePeering) in the spec after making sure it exists."),
    },
};

pub(super) const VCENTER_DISCOVERED: Rule = Rule {
    info: RuleInfo {
        id: "vcenter-discovered",
        severity: Blocking,
        description: "The target vCenter (also an alternate one) is discovered by the configuration server.",
        remedy: "Add the vCenter to the configuration server (with an account that has the required permissions) and wait for discovery; also make sure the master target is discovered.",
        source: src::PROBLEMS,
    },
    eval: |c| {
        let Some(vcenters) = c.o.discovered_vcenters.as_deref() else {
            return Outcome::unknown("the configuration server's discovered vCenters were not observed");
        };
        let wanted = c.d.vcenter_server.trim();
        if wanted.is_empty() {
            return Outcome::unknown("no target vCenter server in the spec").remedy("Set the vCenter server to fail back to in the spec.");
        }
        let matches = |v: &&reprotect_facts::DiscoveredVcenterFacts| {
            v.name.eq_ignore_ascii_case(wanted)
                || v.friendly_name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(wanted))
                || v.ip_address.as_deref().is_some_and(|ip| ip == wanted)
        };
        match vcenters.iter().find(matches) {
            Some(v) => {
                let status = v.discovery_status.as_deref().unwrap_or("status unreported");
                Outcome::pass(format!(
                    "vCenter {wanted} is discovered by the configuration server as {} ({status})",
                    v.friendly_name.as_deref().unwrap_or(&v.name)
                ))
            }
            None => {
                let known: Vec<&str> = vcenters.iter().map(|v| v.friendly_name.as_deref().unwrap_or(&v.name)).collect();
                Outcome::fail(format!("vCenter {wanted} is not discovered by the configuration server (discovered: {})", list(&known, 5)))
            }
        }
    },
};

pub(super) const VCENTER_PERMISSIONS: Rule = Rule {
    info: RuleInfo {
        id: "vcenter-permissions",
        severity: Blocking,
        description: "The vCenter account has the permissions needed to discover VMs and the master target host's datastores (a read-only account fails reprotect).",
        remedy: "Update the vCenter credentials on the configuration server with an account that has the required discovery permissions (not read-only), then retry.",
        source: src::PROBLEMS,
    },
    eval: |c| {
        let Some(perms) = c.vcenter.and_then(|v| v.permissions.as_ref()) else {
            return Outcome::unknown(format!("permissions of the vCenter {} account not observed", c.d.vcenter_server));
        };
        if perms.can_see_host_datastores && perms.missing_privileges.is_empty() {
            Outcome::pass(format!("vCenter {} account can see the master target host's datastores", c.d.vcenter_server))
        } else {
            Outcome::fail(format!(
                "vCenter {} account: host datastores {}visible, missing privileges: {}",
                c.d.vcenter_server,
                if perms.can_see_host_datastores { "" } else { "not " },
                list(&perms.missing_privileges, 5)
            ))
        }
    },
};

pub(super) const ESXI_EDITION: Rule = Rule {
    info: RuleInfo {
        id: "esxi-edition",
        severity: Blocking,
        description: "The ESXi hosts involved are not ESXi 5.5 free edition or vSphere 6 Hypervisor free edition (failback fails there).",
        remedy: "Upgrade the ESXi host to an evaluation or paid licence; free editions cannot be failed back to.",
        source: src::PROBLEMS,
    },
    eval: |c| {
        let Some(mt_host) = c.mt_host else {
            return Outcome::unknown(format!("ESXi host of master target {} not observed", c.mt_name()));
        };
        // The existing VM's host matters too: failback boots the VM there.
        let vm_host = match c.target {
            Target::Existing { vm: Seen::Found(vm), .. } => vm.host.as_deref().and_then(|h| c.vcenter.and_then(|v| v.hosts.get(h))),
            _ => None,
        };
        let hosts: Vec<&HostFacts> = std::iter::once(mt_host).chain(vm_host.filter(|h| h.moref != mt_host.moref)).collect();
        let edition = |h: &HostFacts| h.license_edition.clone().unwrap_or_else(|| "unreported".into());
        if let Some(free) = hosts.iter().find(|h| h.is_free_edition() == Some(true)) {
            return Outcome::fail(format!("ESXi host {} runs a free edition ({})", free.name, edition(free)));
        }
        if let Some(unknown) = hosts.iter().find(|h| h.is_free_edition().is_none()) {
            return Outcome::unknown(format!("licence edition of ESXi host {} not reported", unknown.name));
        }
        let shown: Vec<String> = hosts.iter().map(|h| format!("{} ({})", h.name, edition(h))).collect();
        Outcome::pass(format!("ESXi host licence: {}", list(&shown, 3)))
    },
};
