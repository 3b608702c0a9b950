//! Building a vault of the world from its scenario: items get their fabric, policy, ids and timings, defaults filled in.

use super::{Item, Vault, stable_id};
use crate::scenario::{Defaults, PolicySpec, VaultSpec};
use jiff::Timestamp;

pub(super) fn vault_from_spec(v: VaultSpec, d: &Defaults, start: Timestamp) -> Vault {
    let policies = v.policies.clone().unwrap_or_else(|| {
        vec![
            PolicySpec::default(),
            PolicySpec {
                name: "forward-policy".into(),
                provider: "InMageAzureV2".into(),
                rpo_threshold_minutes: 15,
                recovery_point_history_minutes: 4320,
                app_consistent_frequency_minutes: 60,
            },
        ]
    });
    let fwd = policies.iter().find(|p| p.provider != "InMage").or(policies.first()).map(|p| p.name.clone()).unwrap_or_default();
    let first_fabric = v.fabrics.first().cloned().unwrap_or_default();
    let items: Vec<Item> = v
        .items
        .iter()
        .enumerate()
        .map(|(n, s)| {
            let fabric =
                s.fabric.as_deref().and_then(|f| v.fabrics.iter().find(|x| x.name.eq_ignore_ascii_case(f))).unwrap_or(&first_fabric);
            let failed_over = s.protection_state != "Protected" || s.active_location == "Recovery";
            let linux = s.os.eq_ignore_ascii_case("Linux");
            Item {
                name: s.name.clone(),
                friendly_name: s.friendly_name.clone().unwrap_or_else(|| s.name.clone()),
                os: s.os.clone(),
                os_name: s
                    .os_name
                    .clone()
                    .unwrap_or_else(|| if linux { "Ubuntu 22.04 LTS".into() } else { "Windows Server 2019 Datacenter".into() }),
                group: s.group.clone(),
                fabric: s.fabric.clone().unwrap_or_else(|| fabric.name.clone()),
                container: fabric.container.clone(),
                protection_state: s.protection_state.clone(),
                active_location: s.active_location.clone(),
                provider: s.provider.clone(),
                allowed_operations: s.allowed_operations.clone(),
                failover_time: failed_over.then(|| start - s.failed_over_ago.unwrap_or(d.failed_over_ago)),
                registration_delay: s.agent_registration_delay.unwrap_or(d.agent_registration_delay),
                agent_override: None,
                vm_id: Some(s.vm_id.clone().unwrap_or_else(|| stable_id(&format!("vm/{}/{}", v.name, s.name)))),
                ip_address: s.ip_address.clone().unwrap_or_else(|| format!("10.1.{}.{}", n / 200, n % 200 + 10)),
                policy: s.policy.clone().unwrap_or_else(|| fwd.clone()),
                current_job: None,
                reprotect: None,
                forward: None,
                forward_registration_delay: s.forward_agent_registration_delay.unwrap_or(d.forward_agent_registration_delay),
                azure_vm_present: true,
                fail_jobs: s.fail_jobs.clone(),
                last_recovery_point_type: None,
                job_state: s.job_state.clone(),
            }
        })
        .collect();
    let plans = crate::plans::plans_from_spec(v.recovery_plans.as_deref(), &items);
    Vault {
        subscription: v.subscription,
        resource_group: v.resource_group,
        name: v.name,
        location: v.location,
        fabrics: v.fabrics,
        policies,
        items,
        jobs: vec![],
        plans,
        job_service_code: d.job_service_code.clone(),
    }
}
