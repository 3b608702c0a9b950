//! The machines' wake-ups and timed rechecks, queued compactly in front of kube-runtime's scheduler and handed to it
//! a few at a time.
//!
//! Why not kube-runtime's own queue alone: its scheduler keeps each request (a 128-byte `ReconcileRequest` with its
//! own strings) in a map, a delay queue and a set of due requests, and none of the three ever gives back its places.
//! With every machine woken at once (the initial list, an apply of 10,000 machines, a policy change) and every machine
//! requeued for its next check, all three grew to 16,384 places: 7.4 MB of 48.6 at the peak (heaptrack at 10,000
//! machines, issue 13). Here a machine is one shared pointer to its [`MachineKey`] (~70 bytes, once), in a FIFO of
//! due machines, tokio-util's `DelayQueue` of timed rechecks and a map from machine to its recheck; kube-runtime's
//! scheduler holds only the machines handed to it and not yet started ([`HANDED_AT_ONCE`]), and the retries its
//! error policy schedules.
//!
//! Every wake reaches a reconcile: a machine already waiting (due, or handed and not started) is not queued twice,
//! because the reconcile it waits for reads the store as it is then. A machine handed and never started (deleted
//! in between: kube-runtime skips a machine its store no longer holds) gives its place back after [`HANDED_FOR`].

use std::{
    collections::{HashMap, HashSet, VecDeque},
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard},
    task::{Context, Poll, Waker},
    time::Duration,
};

use futures::Stream;
use kube::runtime::{reflector::ObjectRef, watcher::Event};
use tokio::time::{Instant, Sleep};
use tokio_util::time::{DelayQueue, delay_queue};

use crate::crd::ProtectedMachine;
use crate::machine_key::MachineKey;

/// Machines handed to kube-runtime's scheduler whose reconcile has not started yet, at most: enough to keep every
/// reconcile slot busy (the controller's concurrency is 16 by default) with the next ones already waiting.
pub const HANDED_AT_ONCE: usize = 64;

/// How long a handed machine holds its place without its reconcile starting (it was deleted, or its reconcile
/// waits behind a running one of the same machine).
pub const HANDED_FOR: Duration = Duration::from_secs(60);

/// The machines' queue (one per controller set, as its store); clones share it.
#[derive(Clone)]
pub struct MachineWakes(Arc<Mutex<Queue>>);

struct Queue {
    /// Machines woken by a change, first woken first.
    woken: VecDeque<Arc<MachineKey>>,
    /// Machines whose recheck fell due, first due first.
    rechecks: VecDeque<Arc<MachineKey>>,
    /// Whether the next machine handed is a recheck when both lists have one: they take turns, so a burst of wakes
    /// (10,000 machines applied at once, each pass waiting its turn for ARM's write budget) never holds back the
    /// follow-up of a submitted job, nor the reverse.
    recheck_next: bool,
    /// The machines in `woken` and `rechecks`.
    queued: HashSet<Arc<MachineKey>>,
    /// Handed to the controller, reconcile not started yet: since when.
    handed: HashMap<Arc<MachineKey>, Instant>,
    /// Timed rechecks.
    timers: DelayQueue<Arc<MachineKey>>,
    /// Each machine's recheck in `timers`.
    timed: HashMap<Arc<MachineKey>, delay_queue::Key>,
    /// The controller's task, to wake when a machine becomes due.
    waker: Option<Waker>,
    /// When the oldest handed machine's place lapses (only while the handed places are full).
    lapse: Option<Pin<Box<Sleep>>>,
    limit: usize,
}

impl Default for MachineWakes {
    fn default() -> Self {
        Self::handing_at_once(HANDED_AT_ONCE)
    }
}

impl MachineWakes {
    /// The queue for a controller running `concurrency` reconciles at once (0: no limit): it hands at least
    /// [`HANDED_AT_ONCE`], and four per reconcile slot, so the slots never wait for it.
    pub fn for_concurrency(concurrency: u16) -> Self {
        match concurrency {
            0 => Self::handing_at_once(usize::MAX),
            n => Self::handing_at_once((usize::from(n) * 4).max(HANDED_AT_ONCE)),
        }
    }

    /// A queue that hands at most `limit` machines to the controller before their reconciles start.
    pub fn handing_at_once(limit: usize) -> Self {
        MachineWakes(Arc::new(Mutex::new(Queue {
            woken: VecDeque::new(),
            rechecks: VecDeque::new(),
            recheck_next: false,
            queued: HashSet::new(),
            handed: HashMap::new(),
            timers: DelayQueue::new(),
            timed: HashMap::new(),
            waker: None,
            lapse: None,
            limit: limit.max(1),
        })))
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        // A poisoned lock only means a panic elsewhere while updating: the queue's sets are still consistent enough to
        // hand machines on (at worst one is reconciled twice).
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reconcile `machine` soon.
    pub fn wake(&self, machine: &ObjectRef<ProtectedMachine>) {
        let mut queue = self.queue();
        let key = MachineKey::of_ref(machine);
        if !queue.waiting(&key) {
            let key = queue.shared(key);
            queue.push_due(key, Due::Woken);
        }
    }

    /// Reconcile `pm` again after `delay` (replacing the recheck it had).
    pub fn recheck_after(&self, pm: &ProtectedMachine, delay: Duration) {
        let mut queue = self.queue();
        let key = queue.shared(MachineKey::of(pm));
        if let Some(old) = queue.timed.remove(&key) {
            queue.timers.try_remove(&old);
        }
        let timer = queue.timers.insert(key.clone(), delay);
        queue.timed.insert(key, timer);
        queue.wake_controller();
    }

    /// `pm`'s reconcile started: its place among the handed machines is free.
    pub fn started(&self, pm: &ProtectedMachine) {
        let mut queue = self.queue();
        if queue.handed.remove(&MachineKey::of(pm)).is_some() {
            queue.wake_controller();
        }
    }

    /// Follow one event of the machines' watch: a deleted machine has nothing left to recheck, and if it was handed
    /// to the controller its reconcile will not start (kube-runtime skips a machine its store no longer holds).
    pub fn follow(&self, event: &Event<ProtectedMachine>) {
        if let Event::Delete(pm) = event {
            let mut queue = self.queue();
            let key = MachineKey::of(pm);
            if let Some(timer) = queue.timed.remove(&key) {
                queue.timers.try_remove(&timer);
            }
            if queue.handed.remove(&key).is_some() {
                queue.wake_controller();
            }
        }
    }

    /// The machines to reconcile, as the controller takes them (`Controller::reconcile_on`). Never ends.
    pub fn stream(&self) -> impl Stream<Item = ObjectRef<ProtectedMachine>> + Send + 'static {
        let wakes = self.clone();
        futures::stream::poll_fn(move |cx| wakes.queue().poll_hand(cx).map(Some))
    }

    /// How many machines are due, handed and timed (for tests and debugging).
    pub fn counts(&self) -> (usize, usize, usize) {
        let queue = self.queue();
        (queue.woken.len() + queue.rechecks.len(), queue.handed.len(), queue.timed.len())
    }
}

impl Queue {
    /// The queue's own pointer to `key` when it holds one (one allocation per machine, shared by its places).
    fn shared(&self, key: MachineKey) -> Arc<MachineKey> {
        let known = self.timed.get_key_value(&key).map(|(k, _)| k);
        let known = known.or_else(|| self.queued.get(&key)).or_else(|| self.handed.get_key_value(&key).map(|(k, _)| k));
        known.cloned().unwrap_or_else(|| Arc::new(key))
    }

    /// Due already, or handed and not started: the reconcile it waits for will see the store as it is then.
    fn waiting(&self, key: &MachineKey) -> bool {
        self.queued.contains(key) || self.handed.contains_key(key)
    }

    fn push_due(&mut self, key: Arc<MachineKey>, why: Due) {
        self.queued.insert(key.clone());
        match why {
            Due::Woken => self.woken.push_back(key),
            Due::Recheck => self.rechecks.push_back(key),
        }
        self.wake_controller();
    }

    /// The next due machine, rechecks and wakes taking turns.
    fn pop_due(&mut self) -> Option<Arc<MachineKey>> {
        let recheck = if self.recheck_next { !self.rechecks.is_empty() } else { self.woken.is_empty() };
        let key = if recheck { self.rechecks.pop_front() } else { self.woken.pop_front() }?;
        self.recheck_next = !recheck;
        Some(key)
    }

    fn wake_controller(&mut self) {
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    /// The next machine to hand to the controller, once one is due and fewer than `limit` are handed.
    fn poll_hand(&mut self, cx: &mut Context<'_>) -> Poll<ObjectRef<ProtectedMachine>> {
        while let Poll::Ready(Some(expired)) = self.timers.poll_expired(cx) {
            let key = expired.into_inner();
            self.timed.remove(&key);
            if !self.waiting(&key) {
                self.push_due(key, Due::Recheck);
            }
        }
        if self.handed.len() >= self.limit {
            let now = Instant::now();
            self.handed.retain(|_, since| now.duration_since(*since) < HANDED_FOR);
        }
        if self.handed.len() < self.limit
            && let Some(key) = self.pop_due()
        {
            self.queued.remove(&key);
            let next = key.object_ref();
            self.handed.insert(key, Instant::now());
            self.shrink_after_a_burst();
            return Poll::Ready(next);
        }
        self.waker = Some(cx.waker().clone());
        if self.handed.len() >= self.limit && !self.queued.is_empty() {
            // Look again when the oldest handed machine's place lapses, should its reconcile never start.
            let lapse = self.handed.values().min().copied().unwrap_or_else(Instant::now) + HANDED_FOR;
            let sleep = self.lapse.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(lapse)));
            sleep.as_mut().reset(lapse);
            if sleep.as_mut().poll(cx).is_ready() {
                cx.waker().wake_by_ref();
            }
        }
        Poll::Pending
    }

    /// Give back the places a burst of wakes took once it has drained (a `VecDeque` and a `HashSet` keep their
    /// capacity otherwise).
    fn shrink_after_a_burst(&mut self) {
        if self.queued.is_empty() && self.woken.capacity() + self.rechecks.capacity() > 8 * self.limit {
            self.woken.shrink_to_fit();
            self.rechecks.shrink_to_fit();
            self.queued.shrink_to_fit();
        }
    }
}

/// Why a machine is due.
#[derive(Clone, Copy)]
enum Due {
    Woken,
    Recheck,
}

#[cfg(test)]
#[path = "machine_wakes_tests.rs"]
mod tests;
