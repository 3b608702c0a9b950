//! Azure Compute, the one read outside Site Recovery: whether a failed-over VM still exists after the commit.
//!
//! The VM's ARM id comes from Azure (`targetVmId`), not from a user; it is still checked to be exactly a
//! `Microsoft.Compute/virtualMachines` id and sent only as a path on the operator-allowed ARM endpoint.

use reprotect_facts::SiteRecoveryError;
use url::Url;

/// The Compute API version of the VM GET (generally available since July 2024).
pub const COMPUTE_API_VERSION: &str = "2024-07-01";

/// The URL of `GET {arm}/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}`,
/// or `Invalid` when `vm_id` is not such an id (nothing else, and no other host, is ever requested).
pub fn vm_url(arm_endpoint: &Url, vm_id: &str) -> Result<Url, SiteRecoveryError> {
    let invalid = || SiteRecoveryError::Invalid(format!("{vm_id:?} is not the ARM id of an Azure virtual machine"));
    let segs: Vec<&str> = vm_id.trim().trim_start_matches('/').trim_end_matches('/').split('/').collect();
    let [subscriptions, sub, resource_groups, rg, providers, namespace, kind, name] = segs.as_slice() else {
        return Err(invalid());
    };
    let literals = [
        (subscriptions, "subscriptions"),
        (resource_groups, "resourceGroups"),
        (providers, "providers"),
        (namespace, "Microsoft.Compute"),
        (kind, "virtualMachines"),
    ];
    let names_ok = [sub, rg, name].iter().all(|s| !s.is_empty() && **s != "." && **s != ".." && !s.contains(['?', '#', '%', '\\']));
    if !(literals.iter().all(|(s, l)| s.eq_ignore_ascii_case(l)) && names_ok) {
        return Err(invalid());
    }
    let mut url = arm_endpoint.clone();
    url.set_query(None);
    url.set_fragment(None);
    {
        let mut path = url.path_segments_mut().map_err(|()| invalid())?;
        path.pop_if_empty();
        path.extend(["subscriptions", sub, "resourceGroups", rg, "providers", "Microsoft.Compute", "virtualMachines", name]);
    }
    url.query_pairs_mut().append_pair("api-version", COMPUTE_API_VERSION);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm() -> Url {
        Url::parse("https://management.azure.com/").expect("static URL")
    }

    #[test]
    fn a_vm_id_in_any_casing_becomes_a_get_on_the_arm_endpoint_with_the_compute_api_version() {
        let url = vm_url(&arm(), "/Subscriptions/s-1/resourcegroups/RG-ASR/providers/microsoft.compute/virtualmachines/app-01").unwrap();
        assert_eq!(
            url.as_str(),
            "https://management.azure.com/subscriptions/s-1/resourceGroups/RG-ASR/providers/Microsoft.Compute/virtualMachines/app-01?api-version=2024-07-01"
        );
    }

    #[test]
    fn anything_but_a_virtual_machine_id_is_refused_and_nothing_is_requested() {
        for bad in [
            "",
            "https://evil.example/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/extensions/x",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa",
            "/subscriptions/s/resourceGroups/../providers/Microsoft.Compute/virtualMachines/vm",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm?api-version=1",
        ] {
            assert!(matches!(vm_url(&arm(), bad), Err(SiteRecoveryError::Invalid(_))), "{bad}");
        }
    }
}
