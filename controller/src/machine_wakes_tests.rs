//! The machines' wake queue as the controller takes from it: each wake handed once, a few at a time, rechecks on time.

use super::*;
use futures::{FutureExt, StreamExt};

fn machine(name: &str) -> ProtectedMachine {
    let mut pm: ProtectedMachine = crate::testing::example(include_str!("../../examples/03-machines.yaml"), "app-01");
    pm.metadata.name = Some(name.into());
    pm
}

fn named(name: &str) -> ObjectRef<ProtectedMachine> {
    ObjectRef::new(name).within("dr")
}

/// What the controller can take from the queue right now, without waiting.
fn take_ready(stream: &mut (impl Stream<Item = ObjectRef<ProtectedMachine>> + Unpin)) -> Vec<String> {
    let mut taken = Vec::new();
    while let Some(Some(next)) = stream.next().now_or_never() {
        taken.push(next.name);
    }
    taken
}

#[tokio::test(start_paused = true)]
async fn a_machine_woken_many_times_before_its_reconcile_starts_is_handed_once_then_again_after_it_started() {
    assert_eq!(machine("a").metadata.namespace.as_deref(), Some("dr"), "the example's namespace");
    let wakes = MachineWakes::default();
    let mut stream = Box::pin(wakes.stream());
    for _ in 0..3 {
        wakes.wake(&named("a"));
    }
    wakes.wake(&named("b"));
    assert_eq!(take_ready(&mut stream), ["a", "b"], "first woken first, each once");
    wakes.wake(&named("a"));
    assert_eq!(take_ready(&mut stream), Vec::<String>::new(), "handed and not started: its reconcile will see the change");
    wakes.started(&machine("a"));
    wakes.wake(&named("a"));
    assert_eq!(take_ready(&mut stream), ["a"], "woken again once its reconcile started");
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_wakes_at_once_are_handed_to_the_controller_only_as_their_reconciles_start() {
    let wakes = MachineWakes::handing_at_once(4);
    let mut stream = Box::pin(wakes.stream());
    for i in 0..10_000 {
        wakes.wake(&named(&format!("vm-{i:05}")));
    }
    let first = take_ready(&mut stream);
    assert_eq!(first, ["vm-00000", "vm-00001", "vm-00002", "vm-00003"]);
    assert_eq!(wakes.counts(), (9_996, 4, 0));
    wakes.started(&machine("vm-00001"));
    assert_eq!(take_ready(&mut stream), ["vm-00004"], "one place freed, one more handed");
    for name in ["vm-00000", "vm-00002", "vm-00003", "vm-00004"] {
        wakes.started(&machine(name));
    }
    let mut handed = 5;
    while handed < 10_000 {
        let next = take_ready(&mut stream);
        assert!(next.len() <= 4, "{} handed at once", next.len());
        for name in &next {
            wakes.started(&machine(name));
        }
        handed += next.len();
    }
    assert_eq!(wakes.counts(), (0, 0, 0), "every wake handed and started");
}

#[tokio::test(start_paused = true)]
async fn a_recheck_hands_the_machine_when_it_is_due_and_a_later_recheck_replaces_the_earlier() {
    let wakes = MachineWakes::default();
    let mut stream = Box::pin(wakes.stream());
    wakes.recheck_after(&machine("a"), Duration::from_secs(300));
    wakes.recheck_after(&machine("b"), Duration::from_secs(60));
    wakes.recheck_after(&machine("b"), Duration::from_secs(600));
    assert_eq!(wakes.counts(), (0, 0, 2), "one recheck per machine");
    assert_eq!(take_ready(&mut stream), Vec::<String>::new());
    tokio::time::advance(Duration::from_secs(120)).await;
    assert_eq!(take_ready(&mut stream), Vec::<String>::new(), "b's first recheck was replaced");
    let a = tokio::time::timeout(Duration::from_secs(200), stream.next()).await.expect("a's recheck is due at 300 s");
    assert_eq!(a.map(|r| r.name).as_deref(), Some("a"));
    let b = tokio::time::timeout(Duration::from_secs(400), stream.next()).await.expect("b's recheck is due at 600 s");
    assert_eq!(b.map(|r| r.name).as_deref(), Some("b"));
}

#[tokio::test(start_paused = true)]
async fn a_handed_machine_whose_reconcile_never_starts_gives_its_place_back_after_a_while() {
    let wakes = MachineWakes::handing_at_once(1);
    let mut stream = Box::pin(wakes.stream());
    wakes.wake(&named("deleted-before-its-reconcile"));
    wakes.wake(&named("b"));
    assert_eq!(take_ready(&mut stream), ["deleted-before-its-reconcile"]);
    let b = tokio::time::timeout(HANDED_FOR + Duration::from_secs(1), stream.next()).await.expect("b is handed once the place lapses");
    assert_eq!(b.map(|r| r.name).as_deref(), Some("b"));
}

#[tokio::test(start_paused = true)]
async fn a_deleted_machine_is_not_rechecked() {
    let wakes = MachineWakes::default();
    let mut stream = Box::pin(wakes.stream());
    wakes.recheck_after(&machine("a"), Duration::from_secs(60));
    wakes.follow(&Event::Delete(machine("a")));
    assert_eq!(wakes.counts(), (0, 0, 0));
    tokio::time::advance(Duration::from_secs(120)).await;
    assert_eq!(take_ready(&mut stream), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn a_machine_deleted_after_it_was_handed_gives_its_place_back_at_once() {
    let wakes = MachineWakes::handing_at_once(1);
    let mut stream = Box::pin(wakes.stream());
    wakes.wake(&named("a"));
    wakes.wake(&named("b"));
    assert_eq!(take_ready(&mut stream), ["a"]);
    wakes.follow(&Event::Delete(machine("a")));
    assert_eq!(take_ready(&mut stream), ["b"]);
}

#[test]
fn the_queue_hands_at_least_four_machines_per_reconcile_slot() {
    let limit = |concurrency| MachineWakes::for_concurrency(concurrency).queue().limit;
    assert_eq!(limit(16), HANDED_AT_ONCE);
    assert_eq!(limit(100), 400);
    assert_eq!(limit(0), usize::MAX, "no concurrency limit, no handing limit");
}

#[tokio::test(start_paused = true)]
async fn a_recheck_that_falls_due_during_a_burst_of_wakes_is_handed_next_not_after_the_burst() {
    let wakes = MachineWakes::handing_at_once(1);
    let mut stream = Box::pin(wakes.stream());
    for i in 0..1_000 {
        wakes.wake(&named(&format!("vm-{i:04}")));
    }
    assert_eq!(take_ready(&mut stream), ["vm-0000"]);
    wakes.recheck_after(&machine("submitted"), Duration::from_secs(30));
    wakes.started(&machine("vm-0000"));
    assert_eq!(take_ready(&mut stream), ["vm-0001"]);
    tokio::time::advance(Duration::from_secs(31)).await;
    wakes.started(&machine("vm-0001"));
    assert_eq!(take_ready(&mut stream), ["submitted"], "the recheck takes its turn before 998 wakes");
    wakes.started(&machine("submitted"));
    assert_eq!(take_ready(&mut stream), ["vm-0002"], "and the wakes theirs after it");
}
