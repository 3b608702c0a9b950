//! The vault watch, Azure's side of the machines' watch: every interval it reads each policy's item
//! list (one listing per vault, however many machines) and wakes the machines whose item changed in
//! a way that matters (protection state, health, current job, failover). A settled machine's own
//! passes reuse that list (`Settings::settled_max_age`), so steady-state ARM reads grow with vaults,
//! not machines, and a change in Azure still shows within about one interval.

use std::{
    collections::{HashMap, VecDeque},
    hash::{DefaultHasher, Hash, Hasher},
    sync::Arc,
    time::Duration,
};

use futures::Stream;
use kube::{ResourceExt, runtime::reflector::ObjectRef};
use reprotect_facts::ProtectedItemFacts;

use crate::{
    connections::{self, Reads},
    context::Context,
    crd::{ProtectedMachine, ReprotectPolicy},
    preflight,
};

/// What of an item matters to its machine: a change here wakes the machine. RPO figures and
/// heartbeats move on every read and are left to the machine's own timed passes.
pub fn fingerprint(item: &ProtectedItemFacts) -> u64 {
    let mut h = DefaultHasher::new();
    let lower = |s: &Option<String>| s.as_deref().map(str::to_ascii_lowercase);
    (lower(&item.protection_state), lower(&item.replication_health), lower(&item.active_location), lower(&item.provider)).hash(&mut h);
    (lower(&item.failover_health), lower(&item.vm_protection_state), lower(&item.active_site_type)).hash(&mut h);
    item.last_successful_failover_time.map(|t| t.as_second()).hash(&mut h);
    let scenario = item.current_scenario.as_ref();
    (scenario.and_then(|s| lower(&s.scenario_name)), scenario.and_then(|s| lower(&s.job_id))).hash(&mut h);
    let mut errors: Vec<_> = item.health_errors.iter().map(|e| format!("{e:?}")).collect();
    errors.sort();
    errors.hash(&mut h);
    h.finish()
}

/// The items whose fingerprint differs from the previous read (new items too), and the new fingerprints.
/// Without a previous read nothing has changed: the machines' own first passes read the list themselves.
pub fn changed_items(
    previous: Option<&HashMap<String, u64>>,
    items: &[ProtectedItemFacts],
) -> (HashMap<String, u64>, Vec<ProtectedItemFacts>) {
    let now: HashMap<String, u64> = items.iter().map(|i| (i.name.to_ascii_lowercase(), fingerprint(i))).collect();
    let changed = match previous {
        None => Vec::new(),
        Some(before) => {
            items.iter().filter(|i| before.get(&i.name.to_ascii_lowercase()) != now.get(&i.name.to_ascii_lowercase())).cloned().collect()
        }
    };
    (now, changed)
}

/// The machines of `policy` (in its namespace) whose item is among `changed`; an ambiguous match wakes the
/// machine too (its pass reports the ambiguity).
pub fn machines_to_wake<'a>(
    machines: impl IntoIterator<Item = &'a ProtectedMachine>,
    policy: &ReprotectPolicy,
    changed: &[ProtectedItemFacts],
) -> Vec<ObjectRef<ProtectedMachine>> {
    if changed.is_empty() {
        return Vec::new();
    }
    let (ns, name) = (policy.namespace(), policy.name_any());
    machines
        .into_iter()
        .filter(|m| m.namespace() == ns && m.spec.policy_ref == name)
        .filter(|m| !matches!(preflight::match_item(m.spec.item.name.as_deref(), m.spec.item.friendly_name.as_deref(), changed), Ok(None)))
        .map(ObjectRef::from_obj)
        .collect()
}

/// The machines to reconcile because their item changed in Azure, one read per policy per `interval`.
pub fn wakes(ctx: Arc<Context>, interval: Duration) -> impl Stream<Item = ObjectRef<ProtectedMachine>> + Send + 'static {
    let state = (ctx, HashMap::<(Option<String>, String), HashMap<String, u64>>::new(), VecDeque::new());
    futures::stream::unfold(state, move |(ctx, mut seen, mut pending)| async move {
        loop {
            if let Some(next) = pending.pop_front() {
                return Some((next, (ctx, seen, pending)));
            }
            tokio::time::sleep(interval).await;
            pending.extend(read_all(&ctx, &mut seen).await);
        }
    })
}

/// One round: every policy that has machines, its item list read afresh, its changed machines.
async fn read_all(ctx: &Context, seen: &mut HashMap<(Option<String>, String), HashMap<String, u64>>) -> Vec<ObjectRef<ProtectedMachine>> {
    let machines = ctx.stores.machines.state();
    let mut wake = Vec::new();
    for policy in ctx.stores.policies.state() {
        let key = (policy.namespace(), policy.name_any());
        if !machines.iter().any(|m| m.namespace() == key.0 && m.spec.policy_ref == key.1) {
            seen.remove(&key);
            continue;
        }
        let items = match read_items(ctx, &policy).await {
            Ok(items) => items,
            // The machines' own passes report what is wrong with the connection.
            Err(e) => {
                tracing::debug!(policy = %key.1, error = %e, "vault watch: item list not read");
                continue;
            }
        };
        let (now, changed) = changed_items(seen.get(&key), &items);
        seen.insert(key, now);
        wake.extend(machines_to_wake(machines.iter().map(|m| m.as_ref()), &policy, &changed));
    }
    if !wake.is_empty() {
        tracing::info!(machines = wake.len(), "vault watch: items changed in Azure");
    }
    wake
}

async fn read_items(ctx: &Context, policy: &ReprotectPolicy) -> anyhow::Result<std::sync::Arc<Vec<ProtectedItemFacts>>> {
    let reads = Reads::cached(&ctx.client, &ctx.objects);
    let sr = ctx.connector.site_recovery(&connections::azure_settings(&reads, policy).await?).await?;
    Ok(sr.shared_protected_items(&super::vault_ref(policy), Some(Duration::ZERO)).await?)
}

#[cfg(test)]
#[path = "vault_watch_tests.rs"]
mod tests;
