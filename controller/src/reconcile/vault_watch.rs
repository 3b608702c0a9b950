//! The vault watch, Azure's side of the machines' watch: every interval it reads each policy's recent
//! jobs (the vault's change feed: one page when nothing happens) and, when a job started or changed state
//! (or the sweep interval passed), the vault's item list, and wakes the machines whose item changed in a
//! way that matters (protection state, health, current job, failover). A settled machine's own passes
//! reuse that list (`Settings::settled_item_list_age`), so steady-state ARM reads grow with vaults, not
//! machines, and a change a job makes in Azure still shows within about one interval.

use std::{
    collections::{HashMap, VecDeque},
    hash::{DefaultHasher, Hash, Hasher},
    sync::Arc,
    time::Duration,
};

use futures::Stream;
use jiff::{SignedDuration, Timestamp};
use kube::{ResourceExt, runtime::reflector::ObjectRef};
use reprotect_facts::{JobFacts, ProtectedItemFacts, SharedText, hash_ignoring_case};

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
    let lower = |s: Option<&str>| s.map(str::to_ascii_lowercase);
    (
        lower(item.protection_state.as_deref()),
        lower(item.replication_health.as_deref()),
        lower(item.active_location.as_deref()),
        lower(item.provider.as_deref()),
    )
        .hash(&mut h);
    (lower(item.failover_health.as_deref()), lower(item.vm_protection_state.as_deref()), lower(item.active_site_type.as_deref()))
        .hash(&mut h);
    item.last_successful_failover_time.map(|t| t.as_second()).hash(&mut h);
    let scenario = item.current_scenario.as_ref();
    (scenario.and_then(|s| lower(s.scenario_name.as_deref())), scenario.and_then(|s| lower(s.job_id.as_deref()))).hash(&mut h);
    let mut errors: Vec<_> = item.health_errors.iter().map(|e| format!("{e:?}")).collect();
    errors.sort();
    errors.hash(&mut h);
    h.finish()
}

/// An item's name as the fingerprints are keyed: the hash of its lower-case ARM name. Kept for every item of every
/// vault between reads, so 8 bytes, not the name (issue 13); two names of one vault hashing alike (64 bits) would
/// at worst wake a machine for nothing or leave a change to the machine's own timed pass.
pub type ItemKey = u64;

fn item_key(name: &str) -> ItemKey {
    hash_ignoring_case(b'n', name.bytes())
}

/// A job's name as the feed remembers it: the hash of its lower-case ARM name (see [`ItemKey`]).
pub type JobKey = u64;

fn job_key(name: &str) -> JobKey {
    hash_ignoring_case(b'j', name.bytes())
}

/// The items whose fingerprint differs from the previous read (new items too), and the new fingerprints.
/// Without a previous read nothing has changed: the machines' own first passes read the list themselves.
pub fn changed_items(
    previous: Option<&HashMap<ItemKey, u64>>,
    items: &[ProtectedItemFacts],
) -> (HashMap<ItemKey, u64>, Vec<ProtectedItemFacts>) {
    let now: HashMap<ItemKey, u64> = items.iter().map(|i| (item_key(&i.name), fingerprint(i))).collect();
    let changed = match previous {
        None => Vec::new(),
        Some(before) => items
            .iter()
            .filter(|i| {
                let key = item_key(&i.name);
                before.get(&key) != now.get(&key)
            })
            .cloned()
            .collect(),
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
        .map(crate::crd::queue_ref)
        .collect()
}

/// How far before the newest job it saw the feed reads again: jobs show in the list some time after they start,
/// and a job's start is Azure's clock, not ours.
const FEED_OVERLAP: SignedDuration = SignedDuration::from_mins(5);
/// How far back an unfinished job keeps the feed reading (one that runs longer is left to the sweep).
const FEED_HORIZON: SignedDuration = SignedDuration::from_hours(6);

/// A job as the feed last saw it: its state as the job list's interned text (compared whatever its case).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenJob {
    state: Option<SharedText>,
    start: Option<Timestamp>,
    finished: bool,
}

/// What the watch remembers of one policy's vault.
#[derive(Default)]
pub struct VaultWatchState {
    /// Fingerprints of the items at the last listing (`None`: never listed).
    items: Option<HashMap<ItemKey, u64>>,
    /// When the items were last listed.
    listed_at: Option<Timestamp>,
    /// Jobs the feed saw, by the hash of their lower-case name (as items, [`ItemKey`]: ten vaults' jobs of a mass
    /// reprotect are 10,000 names, ~0.7 MB kept as texts; issue 13).
    jobs: HashMap<JobKey, SeenJob>,
    /// The latest start among them (Azure's clock) and when the feed first saw it (ours): the feed's anchor.
    newest: Option<(Timestamp, Timestamp)>,
    /// When the feed was last read (ours).
    last_read: Option<Timestamp>,
}

/// The lower bound of the next job read: `FEED_OVERLAP` before Azure's time at the previous read, reckoned from the
/// newest job seen plus the time since we saw it (our `now` when none was), earlier for a job seen unfinished (its end
/// is a change too), never more than `FEED_HORIZON` back. Only differences of our clock are used: Azure's may differ.
/// From the previous read, not from now: a job that started up to `FEED_OVERLAP` before that read and shows only now
/// (ASR lists a job some time after it starts; a failover's job may start minutes before it changes the item) is still
/// read. Bounded by now instead, a job that started three minutes before it showed was missed whenever the next read
/// came more than two minutes later (the 10,000-machine bench: a failover showed after 507 s, not within one interval).
pub fn feed_since(state: &VaultWatchState, now: Timestamp) -> Timestamp {
    let anchor = state.newest.map_or(now, |(start, seen)| start + now.duration_since(seen).max(SignedDuration::ZERO));
    let since_read = state.last_read.map_or(SignedDuration::ZERO, |read| now.duration_since(read).max(SignedDuration::ZERO));
    let bound = anchor - since_read - FEED_OVERLAP;
    let unfinished = state.jobs.values().filter(|j| !j.finished).filter_map(|j| j.start).min();
    let since = unfinished.map_or(bound, |u| u.min(bound));
    since.max(anchor - FEED_HORIZON)
}

/// Whether `jobs` (read from `since` on, at `now`) hold a job not seen before or in another state; remembers
/// them and forgets the jobs that started before `since`.
pub fn note_jobs(state: &mut VaultWatchState, jobs: &[JobFacts], since: Timestamp, now: Timestamp) -> bool {
    let mut moved = false;
    for j in jobs {
        let seen = SeenJob { state: j.state.clone(), start: j.start_time, finished: j.is_finished() };
        let name = job_key(&j.name);
        let same_state =
            |before: &SeenJob| before.state.as_deref().unwrap_or_default().eq_ignore_ascii_case(seen.state.as_deref().unwrap_or_default());
        moved |= state.jobs.get(&name).is_none_or(|before| !same_state(before));
        if let Some(start) = j.start_time.filter(|s| state.newest.is_none_or(|(newest, _)| *s > newest)) {
            state.newest = Some((start, now));
        }
        state.jobs.insert(name, seen);
    }
    state.jobs.retain(|_, j| j.start.is_some_and(|s| s >= since));
    state.last_read = Some(now);
    moved
}

/// Whether this look lists the vault's items: never listed, listed longer than `every` ago, or the feed showed a
/// job that moved or could not be read (`feed`: `Some(moved)` when read).
pub fn listing_due(state: &VaultWatchState, now: Timestamp, every: Duration, feed: Option<bool>) -> bool {
    let every = SignedDuration::try_from(every).unwrap_or(SignedDuration::MAX);
    let stale = state.listed_at.is_none_or(|at| now.duration_since(at) >= every);
    stale || feed != Some(false)
}

/// The machines to reconcile because their item changed in Azure, one look per policy per `interval`.
pub fn wakes(ctx: Arc<Context>, interval: Duration) -> impl Stream<Item = ObjectRef<ProtectedMachine>> + Send + 'static {
    let state = (ctx, HashMap::<(Option<String>, String), VaultWatchState>::new(), VecDeque::new());
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

/// One round: every policy that has machines, its jobs and (when due) its item list read afresh, its changed machines.
async fn read_all(ctx: &Context, seen: &mut HashMap<(Option<String>, String), VaultWatchState>) -> Vec<ObjectRef<ProtectedMachine>> {
    let machines = ctx.stores.machines.state();
    let mut wake = Vec::new();
    for policy in ctx.stores.policies.state() {
        let key = (policy.namespace(), policy.name_any());
        if !machines.iter().any(|m| m.namespace() == key.0 && m.spec.policy_ref == key.1) {
            seen.remove(&key);
            continue;
        }
        let state = seen.entry(key.clone()).or_default();
        let changed = match look(ctx, &policy, state).await {
            Ok(changed) => changed,
            // The machines' own passes report what is wrong with the connection.
            Err(e) => {
                tracing::debug!(policy = %key.1, error = %e, "vault watch: vault not read");
                continue;
            }
        };
        wake.extend(machines_to_wake(machines.iter().map(|m| m.as_ref()), &policy, &changed));
    }
    if !wake.is_empty() {
        tracing::info!(machines = wake.len(), "vault watch: items changed in Azure");
    }
    wake
}

/// One look at a policy's vault: the jobs since the last look (unless every look lists the items anyway), then the
/// item list when due. The items that changed since the previous listing.
async fn look(ctx: &Context, policy: &ReprotectPolicy, state: &mut VaultWatchState) -> anyhow::Result<Vec<ProtectedItemFacts>> {
    let reads = Reads::cached(&ctx.client, &ctx.objects);
    let sr = ctx.connector.site_recovery(&connections::azure_settings(&reads, policy).await?).await?;
    let vault = super::vault_ref(policy);
    let now = Timestamp::now();
    let every = ctx.settings.vault_sweep_every();
    let feed = if every <= ctx.settings.vault_watch_interval {
        None
    } else {
        let since = feed_since(state, now);
        match sr.list_jobs_started_since(&vault, since).await {
            Ok(jobs) => Some(note_jobs(state, &jobs, since, now)),
            // An implementation without the feed (or a failed read) lists the items instead.
            Err(e) => {
                tracing::debug!(error = %e, "vault watch: jobs not read");
                None
            }
        }
    };
    if !listing_due(state, now, every, feed) {
        return Ok(Vec::new());
    }
    let items = match sr.shared_protected_items(&vault, Some(Duration::ZERO)).await {
        Ok(items) => items,
        Err(e) => {
            // The jobs that made this listing due are noted as seen: the next look must list the items instead.
            state.listed_at = None;
            return Err(e.into());
        }
    };
    let (fingerprints, changed) = changed_items(state.items.as_ref(), &items);
    (state.items, state.listed_at) = (Some(fingerprints), Some(now));
    Ok(changed)
}

#[cfg(test)]
#[path = "vault_watch_tests.rs"]
mod tests;
