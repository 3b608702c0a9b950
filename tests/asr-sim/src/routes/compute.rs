//! Azure Compute's VM GET, for the failed-over VMs: present until a failback commit removes them, then 404 as ARM
//! answers it (`ResourceNotFound`; `ResourceGroupNotFound` when no vault's target group has that name).

use super::{json_response, not_found_arm};
use crate::server::Shared;
use axum::http::Uri;
use axum::response::Response;
use serde_json::json;
use std::sync::Arc;

/// Compute API versions this simulator accepts for `virtualMachines` (others: `NoRegisteredProviderFound`).
const API_VERSIONS: &[&str] = &["2023-09-01", "2024-03-01", "2024-07-01", "2024-11-01"];

/// Whether the path is `subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}`.
pub fn is_vm_path(segs: &[String]) -> bool {
    let lit = |i: usize, l: &str| segs.get(i).is_some_and(|s| s.eq_ignore_ascii_case(l));
    segs.len() == 8
        && lit(0, "subscriptions")
        && lit(2, "resourceGroups")
        && lit(4, "providers")
        && lit(5, "Microsoft.Compute")
        && lit(6, "virtualMachines")
}

/// GET one VM. The failed-over VM of item `x` lives in `{vault resource group}-asr` under the item's friendly name.
pub fn get_vm(sh: &Arc<Shared>, uri: &Uri, segs: &[String]) -> Response {
    let api_version = super::api_version(uri).unwrap_or_default();
    if !API_VERSIONS.contains(&api_version.as_str()) {
        let message = format!(
            "No registered resource provider found for location 'westeurope' and API version '{api_version}' for type 'virtualMachines'. The supported api-versions are '{}'.",
            API_VERSIONS.join(", ")
        );
        return json_response(400, crate::json::arm_error("NoRegisteredProviderFound", &message));
    }
    let (sub, rg, name) = (&segs[1], &segs[3], &segs[7]);
    let w = sh.world.read().unwrap();
    let vaults: Vec<_> = w
        .vaults
        .iter()
        .filter(|v| v.subscription.eq_ignore_ascii_case(sub) && format!("{}-asr", v.resource_group).eq_ignore_ascii_case(rg))
        .collect();
    if vaults.is_empty() {
        let message = format!("Resource group '{rg}' could not be found.");
        return json_response(404, crate::json::arm_error("ResourceGroupNotFound", &message));
    }
    let vm = vaults.iter().find_map(|v| {
        let item = v.items.iter().find(|i| i.azure_vm_present && i.friendly_name.eq_ignore_ascii_case(name))?;
        Some((v, item))
    });
    let Some((v, item)) = vm else {
        return not_found_arm(&format!("Microsoft.Compute/virtualMachines/{name}' under resource group '{rg}"));
    };
    let id = format!(
        "/subscriptions/{}/resourceGroups/{}-asr/providers/Microsoft.Compute/virtualMachines/{}",
        v.subscription, v.resource_group, item.friendly_name
    );
    json_response(
        200,
        json!({
            "id": id, "name": item.friendly_name, "type": "Microsoft.Compute/virtualMachines", "location": v.location,
            "properties": {
                "vmId": crate::state::stable_id(&format!("azure-vm/{}", item.name)),
                "hardwareProfile": {"vmSize": "Standard_D2s_v3"},
                "provisioningState": "Succeeded",
            },
        }),
    )
}
