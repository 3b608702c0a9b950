//! What the reprotect request must send, decided by the same functions the checks use: the failback policy, and
//! the retention volume and datastore in ASR's own spelling of the values that passed the checks.

use super::context::Ctx;
use super::input::{Desired, Observed};
use jiff::Timestamp;
use reprotect_facts::{ChosenFailbackPolicy, FailbackPolicyError, MasterTargetServerFacts, failback_policy};

/// The failback policy to validate and to send (`policyId`): `None` when policies were not observed.
pub fn chosen_failback_policy(observed: &Observed) -> Option<Result<ChosenFailbackPolicy<'_>, FailbackPolicyError>> {
    let policies = observed.policies.as_deref()?;
    Some(failback_policy(policies, observed.item.as_ref().and_then(|i| i.policy_id.as_deref())))
}

/// The retention volume to send (`retentionDrive`), as the master target's volume list spells it (`R:\` for a spec's
/// `r:`); `None` when it is not listed, so the check fails and nothing is sent.
pub fn retention_drive_as_listed<'o>(desired: &Desired, observed: &'o Observed) -> Option<&'o str> {
    // The same volume the retention-volume check verifies (explicit, else the master target OS default).
    let wanted = Ctx::new(desired, observed, Timestamp::UNIX_EPOCH).retention_volume()?.to_owned();
    Some(listed_master_target(desired, observed)?.retention_volume(&wanted)?.volume_name.as_str())
}

fn listed_master_target<'o>(desired: &Desired, observed: &'o Observed) -> Option<&'o MasterTargetServerFacts> {
    observed.fabric.as_ref()?.master_target(&desired.master_target.name_in_asr)
}

/// The datastore to send (`datastoreName`), as the configuration server lists it for the master target; `None`
/// when it is not listed (the datastore-visible check fails).
pub fn datastore_as_listed<'o>(desired: &Desired, observed: &'o Observed) -> Option<&'o str> {
    let wanted = desired.datastore.as_deref().map(str::trim).filter(|d| !d.is_empty())?;
    Some(listed_master_target(desired, observed)?.datastore(wanted)?.symbolic_name.as_str())
}

/// A run-as account is requested but the configuration server does not list it (or the fabric was not observed).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("run-as account {0} is not known to the configuration server")]
pub struct UnknownRunAsAccount(pub String);

/// The run-as account id to send (`runAsAccountId`): `Ok(None)` when none is requested, an error when it is
/// requested but not known (the run-as-account check fails): never drop it silently.
pub fn run_as_account_id<'o>(desired: &Desired, observed: &'o Observed) -> Result<Option<&'o str>, UnknownRunAsAccount> {
    let Some(want) = desired.run_as_account.as_deref().map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    match observed.fabric.as_ref().and_then(|f| f.run_as_account(want)) {
        Some(a) => Ok(Some(a.account_id.as_str())),
        None => Err(UnknownRunAsAccount(want.to_owned())),
    }
}
