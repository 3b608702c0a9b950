//! Infrastructure rules: configuration server, process server, network, vCenter discovery and ESXi licensing.

use super::{Outcome, Rule, list, src};
use crate::preflight::Severity::{Blocking, Info, Warning};
use crate::preflight::context::{Seen, Target, human};
use crate::preflight::ids::{RuleId, RuleInfo};
use crate::preflight::input::{NetworkKind, ProcessServerLocation};
use reprotect_facts::{DiscoveredVcenterFacts, HostFacts, ServerAddress};

pub(super) const CS_HEARTBEAT: Rule = Rule {
    info: RuleInfo::new(
        RuleId::CsHeartbeat,
        Blocking,
        "The on-premises configuration server is connected to the vault with a fresh heartbeat.",
        "Bring the on-premises configuration server back online and check its connectivity to Azure; if it was lost, restore it from backup with the same IP address (take regularly scheduled backups).",
        src::PREREQUISITES,
    ),
    eval: |c| {
        let Some(fabric) = c.fabric else {
            return Outcome::unknown("configuration server fabric not observed");
        };
        let name = fabric.host_name.as_deref().unwrap_or(&fabric.name);
        let ip = fabric.ip_address.as_deref().unwrap_or("unknown IP");
        match fabric.last_heartbeat {
            None => Outcome::fail(format!("configuration server {name} ({ip}) has no heartbeat")),
            Some(hb) if !c.fresh(hb) => Outcome::fail(format!(
                "configuration server {name} ({ip}) last heartbeat {hb} is older than {}",
                human(c.d.heartbeat_max_age)
            )),
            // Not the time itself: it moves every few minutes and would rewrite every machine's status.
            Some(_) => Outcome::pass(format!(
                "configuration server {name} ({ip}) sent a heartbeat within the last {}",
                human(c.d.heartbeat_max_age)
            )),
        }
    },
};

pub(super) const PS_HEARTBEAT: Rule = Rule {
    info: RuleInfo::new(
        RuleId::PsHeartbeat,
        Blocking,
        "The process server is registered with the configuration server, has a fresh heartbeat and is not in Critical health.",
        "Check that the process server reaches the configuration server on port 443 (telnet, ping) and that its services run; fix the health errors it reports.",
        src::PROBLEMS,
    ),
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
            Some(_) => Outcome::pass(format!(
                "process server {} sent a heartbeat within the last {}, health {health}",
                ps.friendly_name,
                human(c.d.heartbeat_max_age)
            )),
        }
    },
};

pub(super) const PS_PLACEMENT: Rule = Rule {
    info: RuleInfo::new(
        RuleId::PsPlacement,
        Info,
        "With only a S2S VPN, the process server should run in Azure (low latency to the failed-over VM); an on-premises one suits ExpressRoute.",
        "Deploy a process server in the Azure network of the failed-over VM and use it for reprotect; keep the on-premises process server for ExpressRoute private peering or a proof of concept.",
        src::FAQ_PROCESS_SERVER,
    ),
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
    info: RuleInfo::new(
        RuleId::ReplicationNetwork,
        Blocking,
        "Reprotect and failback replicate over a S2S VPN or ExpressRoute private peering (not the Internet or public peering), so the Azure VM reaches the configuration server.",
        "Provide a S2S VPN or ExpressRoute private peering between the Azure network and on-premises with enough bandwidth, so the failed-over VM and the process server reach the configuration server.",
        src::FAQ_NETWORK,
    ),
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
    info: RuleInfo::new(
        RuleId::VcenterDiscovered,
        Blocking,
        "The target vCenter (also an alternate one) is discovered by the configuration server (by name, FQDN or IP, on the same port), its discovery reports no failure or health error, and the discovery account Azure reports for it is one the configuration server still lists.",
        "Add the vCenter to the configuration server (with an account that has the required permissions) and wait for discovery; also make sure the master target is discovered.",
        src::PROBLEMS,
    ),
    eval: |c| {
        let Some(vcenters) = c.o.discovered_vcenters.as_deref() else {
            return Outcome::unknown("the configuration server's discovered vCenters were not observed");
        };
        let spelled = c.d.vcenter_server.trim();
        let Some(wanted) = ServerAddress::parse(spelled) else {
            return Outcome::unknown(format!("no usable target vCenter server in the spec ({spelled:?})"))
                .remedy("Set the vCenter server to fail back to in the spec: host, host:port or https://host/sdk.");
        };
        let Some(v) = vcenters.iter().find(|v| v.is_server(&wanted)) else {
            let known: Vec<String> = vcenters.iter().map(describe).collect();
            return Outcome::fail(format!(
                "vCenter {wanted} is not discovered by the configuration server (discovered: {})",
                list(&known, 5)
            ));
        };
        let shown = describe(v);
        if let Some(problem) = v.discovery_problem() {
            return Outcome::fail(format!("vCenter {wanted} is discovered as {shown} but its discovery is unhealthy: {problem}")).remedy(
                "Fix the vCenter discovery on the configuration server: update the vCenter credentials (an account with the required permissions, not read-only), check the configuration server reaches the vCenter, then refresh the configuration server.",
            );
        }
        // The discovery account Azure reports must be one the configuration server still has.
        let account = match (v.run_as_account_id.as_deref(), c.fabric) {
            (Some(id), Some(fabric)) => match fabric.run_as_account(id) {
                Some(a) => format!("; discovery account {}", a.account_name),
                None => {
                    let known: Vec<&str> = fabric.run_as_accounts.iter().map(|a| a.account_id.as_str()).collect();
                    return Outcome::fail(format!(
                        "vCenter {wanted} is discovered as {shown} with run-as account id {id}, which the configuration server does not list (account ids: {})",
                        list(&known, 5)
                    ))
                    .remedy("Add the vCenter discovery account again on the configuration server (Manage accounts), then update the vCenter's account on the configuration server and refresh it.");
                }
            },
            _ => String::new(),
        };
        match v.discovery_status.as_deref().map(str::trim) {
            Some(s) if s.eq_ignore_ascii_case("Pending") || s.eq_ignore_ascii_case("InProgress") => {
                Outcome::unknown(format!("vCenter {wanted} is being discovered as {shown} (status {s})"))
                    .remedy("Wait for the configuration server to finish discovering the vCenter, then check again.")
            }
            status => Outcome::pass(format!(
                "vCenter {wanted} is discovered by the configuration server as {shown} ({}{account})",
                status.unwrap_or("status unreported")
            )),
        }
    },
};

/// A discovered vCenter for messages: `name (ip:port)`.
fn describe(v: &DiscoveredVcenterFacts) -> String {
    let name = v.friendly_name.as_deref().unwrap_or(&v.name);
    match (v.ip_address.as_deref(), v.port) {
        (Some(ip), Some(port)) => format!("{name} ({ip}:{port})"),
        (Some(ip), None) => format!("{name} ({ip})"),
        (None, _) => name.to_owned(),
    }
}

pub(super) const VCENTER_PERMISSIONS: Rule = Rule {
    info: RuleInfo::new(
        RuleId::VcenterPermissions,
        Blocking,
        "The controller's own vCenter account (the policy's vCenter credentials) can list the master target host's datastores and holds the datastore privileges reprotect needs; the configuration server's discovery account is judged by vcenter-discovered and datastore-visible.",
        "Grant the controller's vCenter account (the policy's vCenter credentials Secret) read access to the master target's ESXi host and its datastores, including the missing privileges named in the message. If datastores are missing in the Reprotect dialog, also update the configuration server's vCenter discovery account (not read-only).",
        src::PROBLEMS,
    ),
    eval: |c| {
        let Some(perms) = c.vcenter.and_then(|v| v.permissions.as_ref()) else {
            return Outcome::unknown(format!("permissions of the controller's account on vCenter {} not observed", c.d.vcenter_server));
        };
        if perms.can_see_host_datastores && perms.missing_privileges.is_empty() {
            Outcome::pass(format!(
                "the controller's account on vCenter {} can list the datastores of host {} and holds the checked privileges",
                c.d.vcenter_server,
                c.mt_host_name()
            ))
        } else {
            Outcome::fail(format!(
                "the controller's account on vCenter {}: datastores of host {} {}visible, missing privileges: {}",
                c.d.vcenter_server,
                c.mt_host_name(),
                if perms.can_see_host_datastores { "" } else { "not " },
                list(&perms.missing_privileges, 5)
            ))
        }
    },
};

pub(super) const RUN_AS_ACCOUNT: Rule = Rule {
    info: RuleInfo::new(
        RuleId::RunAsAccount,
        Blocking,
        "A run-as account named in the spec is known to the configuration server (otherwise the request would be sent without it).",
        "Use the name or id of an account the configuration server lists (Manage accounts on the configuration server), or remove the run-as account from the spec.",
        src::STEPS,
    ),
    eval: |c| {
        let Some(want) = c.d.run_as_account.as_deref().map(str::trim).filter(|a| !a.is_empty()) else {
            return Outcome::pass("no run-as account requested");
        };
        let Some(fabric) = c.fabric else {
            return Outcome::unknown(format!("configuration server fabric not observed; run-as account {want} unverified"));
        };
        match fabric.run_as_account(want) {
            Some(a) => Outcome::pass(format!("run-as account {want} is {} (id {})", a.account_name, a.account_id)),
            None => {
                let known: Vec<&str> = fabric.run_as_accounts.iter().map(|a| a.account_name.as_str()).collect();
                Outcome::fail(format!(
                    "run-as account {want} is not known to configuration server {} (known: {})",
                    fabric.host_name.as_deref().unwrap_or(&fabric.name),
                    list(&known, 5)
                ))
            }
        }
    },
};

pub(super) const ESXI_EDITION: Rule = Rule {
    info: RuleInfo::new(
        RuleId::EsxiEdition,
        Blocking,
        "The ESXi hosts involved are not ESXi 5.5 free edition or vSphere 6 Hypervisor free edition (failback fails there).",
        "Upgrade the ESXi host to an evaluation or paid licence; free editions cannot be failed back to.",
        src::PROBLEMS,
    ),
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
