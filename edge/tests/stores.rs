//! Property tests of the two stores between a user's object and the platform, over random
//! sequences of operations, as a race or a busy isolate would order them:
//!
//! - write-behind (`edge/src/write_behind.rs`): one user's object writing its keys at random
//!   times, another object writing the same keys straight to KV (linking), alarms early and
//!   late, the object evicted between requests. Every read returns the newest value anyone
//!   wrote, and after a flush KV holds it.
//! - the analytics outbox (`edge/src/outbox.rs`): turns of many objects pushing events while
//!   calls to the hub are in flight, complete out of order, are cancelled mid-call, or their
//!   sender panics. No event is sent twice, none is lost except by a counted drop or a
//!   cancelled call, while a live sender runs no second call is in flight, and what is pending
//!   always leaves once calls complete.
//!
//! `PROPTEST_CASES=5000 cargo test -p switchboard-edge --test stores` runs longer.

// Native only (proptest has no wasm32 randomness); tests may panic: a panic is a failed test.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use futures_executor::block_on;
use proptest::prelude::*;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use switchboard_edge::analytics::Event;
use switchboard_edge::memory::{MemoryDurable, MemoryStore};
use switchboard_edge::outbox::{self, MAX_PENDING, Outbox, STALE_MS, Ticket};
use switchboard_edge::ports::ContextStore;
use switchboard_edge::write_behind::{WriteBehind, WriteState};

// ---------------------------------------------------------------------------------------------
// Write-behind

const KEYS: [&str; 3] = ["ctx:u-a", "hist:c-1", "hist:c-2"];

#[derive(Debug, Clone)]
enum Write {
    /// Time passes (ms), from a few to a few thousand: writes within and past KV's second.
    Wait(u64),
    /// The object reads a key.
    Get(usize),
    /// The object writes a key (a fresh value each time).
    Put(usize),
    /// Another object writes the key straight to KV (linking writes another user's context).
    Foreign(usize),
    /// The object's alarm runs (early, on time or late: it runs whenever this comes).
    Flush,
    /// The object is evicted: its memory goes, its storage stays.
    Evict,
}

fn write_op() -> impl Strategy<Value = Write> {
    prop_oneof![
        3 => prop_oneof![1u64..400, 400u64..1200, 1200u64..5000].prop_map(Write::Wait),
        3 => (0..KEYS.len()).prop_map(Write::Get),
        4 => (0..KEYS.len()).prop_map(Write::Put),
        1 => (0..KEYS.len()).prop_map(Write::Foreign),
        1 => Just(Write::Flush),
        1 => Just(Write::Evict),
    ]
}

proptest! {
    #[test]
    fn write_behind_reads_the_newest_value_and_flushes_it(ops in prop::collection::vec(write_op(), 1..60)) {
        let (kv, durable) = (MemoryStore::default(), MemoryDurable::default());
        let mut state = RefCell::new(WriteState::default());
        let mut newest: BTreeMap<&str, String> = BTreeMap::new();
        let (mut now, mut serial) = (1_000_000u64, 0u32);
        block_on(async {
            for op in &ops {
                let store = WriteBehind::new(&kv, &durable, &state, now);
                match *op {
                    Write::Wait(ms) => now += ms,
                    Write::Get(k) => {
                        let got = store.get(KEYS[k]).await.unwrap();
                        prop_assert_eq!(got.as_ref(), newest.get(KEYS[k]), "read of {} after {:?}", KEYS[k], ops);
                    }
                    Write::Put(k) => {
                        serial += 1;
                        let value = format!("own-{serial}");
                        store.put(KEYS[k], &value, None).await.unwrap();
                        newest.insert(KEYS[k], value);
                    }
                    Write::Foreign(k) => {
                        serial += 1;
                        let value = format!("foreign-{serial}");
                        kv.put(KEYS[k], &value, None).await.unwrap();
                        newest.insert(KEYS[k], value);
                    }
                    Write::Flush => {
                        store.flush().await.unwrap();
                    }
                    Write::Evict => state = RefCell::new(WriteState::default()),
                }
            }
            // The last alarm, a second or more later: KV holds the newest of every key and
            // nothing stays parked.
            now += 2_000;
            WriteBehind::new(&kv, &durable, &state, now).flush().await.unwrap();
            for key in KEYS {
                let stored = kv.entries.borrow().get(key).map(|(v, _)| v.clone());
                prop_assert_eq!(stored.as_ref(), newest.get(key), "KV after the last flush, {:?}", ops);
            }
            prop_assert!(durable.entries.borrow().is_empty(), "parked values left: {:?}", durable.entries.borrow());
            Ok(())
        })?;
    }

    #[test]
    fn write_behind_writes_kv_at_most_once_a_second_per_key(
        waits in prop::collection::vec((0..KEYS.len(), 1u64..1500), 1..80)
    ) {
        let (kv, durable, state) = (MemoryStore::default(), MemoryDurable::default(), RefCell::default());
        let mut now = 1_000_000u64;
        let mut kv_writes: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
        block_on(async {
            for (n, &(k, wait)) in waits.iter().enumerate() {
                now += wait;
                let store = WriteBehind::new(&kv, &durable, &state, now);
                let before = kv.puts.get();
                // The alarm runs when it is due, as the host sets it.
                if state.borrow().flush_at_ms.is_some_and(|at| at <= now) {
                    store.flush().await.unwrap();
                }
                let flushed = kv.puts.get() - before;
                store.put(KEYS[k], &format!("v{n}"), None).await.unwrap();
                let direct = kv.puts.get() - before - flushed;
                if direct > 0 {
                    kv_writes.entry(KEYS[k]).or_default().push(now);
                }
            }
            for (key, times) in &kv_writes {
                for pair in times.windows(2) {
                    prop_assert!(pair[1] - pair[0] >= 1000, "{key} written to KV at {pair:?}");
                }
            }
            Ok(())
        })?;
    }
}

// ---------------------------------------------------------------------------------------------
// The analytics outbox

fn event(n: u64) -> Event {
    Event::Turn {
        day: "2026-12-03".into(),
        channel: "web".into(),
        intent: None,
        no_match: false,
        handoff: false,
        unmatched: None,
        duration_ms: n,
    }
}

fn number(event: &Event) -> u64 {
    match event {
        Event::Turn { duration_ms, .. } => *duration_ms,
        _ => u64::MAX,
    }
}

/// One call to the hub: in flight until the test completes it, or until its sender goes away
/// (then it never completes and its batch is lost).
struct Call {
    batch: Vec<u64>,
    done: Rc<Cell<bool>>,
    /// Alive while the sender's future holds the call.
    sender: std::rc::Weak<()>,
}

impl Call {
    fn live(&self) -> bool {
        !self.done.get() && self.sender.upgrade().is_some()
    }

    fn lost(&self) -> bool {
        !self.done.get() && self.sender.upgrade().is_none()
    }
}

/// The hub: calls made and the events it received.
#[derive(Default)]
struct Hub {
    calls: RefCell<Vec<Call>>,
    received: RefCell<Vec<u64>>,
}

impl Hub {
    /// Answers the `i`-th live call (modulo their number); `false` when none is live.
    fn complete(&self, i: usize) -> bool {
        let calls = self.calls.borrow();
        let live: Vec<&Call> = calls.iter().filter(|c| c.live()).collect();
        let Some(call) = live.get(i % live.len().max(1)) else { return false };
        call.done.set(true);
        self.received.borrow_mut().extend(call.batch.iter().copied());
        true
    }

    fn live(&self) -> usize {
        self.calls.borrow().iter().filter(|c| c.live()).count()
    }

    fn lost(&self) -> usize {
        self.calls.borrow().iter().filter(|c| c.lost()).map(|c| c.batch.len()).sum()
    }
}

#[derive(Debug, Clone)]
enum Send {
    /// Time passes (ms).
    Wait(u64),
    /// A turn ends with this many events.
    Push(usize),
    /// The host polls every sender (the isolate's event loop runs).
    Poll,
    /// The hub answers one call in flight (picked by index among them).
    Complete(usize),
    /// A sender's request is cancelled mid-call (picked by index): its batch is lost.
    Cancel(usize),
    /// A sender panics (picked by index): the glue abandons it.
    Panic(usize),
}

fn send_op() -> impl Strategy<Value = Send> {
    prop_oneof![
        2 => prop_oneof![1u64..1000, Just(STALE_MS), STALE_MS..STALE_MS * 2].prop_map(Send::Wait),
        4 => prop_oneof![0usize..4, Just(MAX_PENDING / 3)].prop_map(Send::Push),
        3 => Just(Send::Poll),
        3 => (0usize..4).prop_map(Send::Complete),
        1 => (0usize..4).prop_map(Send::Cancel),
        1 => (0usize..4).prop_map(Send::Panic),
    ]
}

type Sender<'a> = Pin<Box<dyn Future<Output = usize> + 'a>>;

fn poll_all(senders: &mut Vec<(Ticket, Sender<'_>)>) {
    let mut cx = Context::from_waker(Waker::noop());
    senders.retain_mut(|(_, sender)| sender.as_mut().poll(&mut cx).is_pending());
}

/// A sender as the glue starts it, its calls going to `hub`; `progress` is when a sender last
/// started or took a batch.
fn start<'a>(
    outbox: &'a RefCell<Outbox>,
    ticket: Ticket,
    hub: &'a Hub,
    now: &'a Cell<u64>,
    progress: &'a Cell<u64>,
) -> Sender<'a> {
    progress.set(now.get());
    Box::pin(outbox::drain(
        outbox,
        ticket,
        move || now.get(),
        move |batch: Vec<Event>| {
            progress.set(now.get());
            let (done, token) = (Rc::new(Cell::new(false)), Rc::new(()));
            let sender = Rc::downgrade(&token);
            hub.calls.borrow_mut().push(Call { batch: batch.iter().map(number).collect(), done: done.clone(), sender });
            std::future::poll_fn(move |_| {
                let _held = &token;
                if done.get() { Poll::Ready(()) } else { Poll::Pending }
            })
        },
    ))
}

/// The hub answers every call until the senders have nothing left to send.
fn run_down(senders: &mut Vec<(Ticket, Sender<'_>)>, hub: &Hub) {
    loop {
        poll_all(senders);
        if senders.is_empty() {
            return;
        }
        while hub.complete(0) {}
    }
}

proptest! {
    #[test]
    fn the_outbox_sends_each_event_once_and_one_call_at_a_time(ops in prop::collection::vec(send_op(), 1..80)) {
        let outbox = RefCell::new(Outbox::default());
        let hub = Hub::default();
        let (now, progress) = (Cell::new(0u64), Cell::new(0u64));
        let mut senders: Vec<(Ticket, Sender<'_>)> = Vec::new();
        let (mut pushed, mut dropped) = (0u64, 0usize);
        // Whether the outbox started a second sender beside a live one it presumed gone (after
        // STALE_MS without progress): from then on two calls may be in flight.
        let mut replaced_a_live_sender = false;
        // The sender last started, and whether it went away without the outbox knowing
        // (cancelled, not panicked).
        let (mut current, mut vanished): (Option<Ticket>, bool) = (None, false);
        let (mut seen, mut checked) = (std::collections::BTreeSet::new(), 0);
        for op in &ops {
            match *op {
                Send::Wait(ms) => now.set(now.get() + ms),
                Send::Push(n) => {
                    let events = (pushed..pushed + n as u64).map(event).collect();
                    pushed += n as u64;
                    let running_before = senders.iter().any(|(t, _)| Some(*t) == current);
                    let stale = now.get().saturating_sub(progress.get()) >= STALE_MS;
                    let started = outbox.borrow_mut().push(events, now.get());
                    if let Some(ticket) = started {
                        prop_assert!(
                            !running_before || stale,
                            "a second sender started beside a live one, {:?}", ops
                        );
                        replaced_a_live_sender |= running_before;
                        (current, vanished) = (Some(ticket), false);
                        senders.push((ticket, start(&outbox, ticket, &hub, &now, &progress)));
                        poll_all(&mut senders);
                    } else if !running_before && !outbox.borrow().is_empty() {
                        prop_assert!(
                            vanished && !stale,
                            "events wait with no sender to take them, {:?}", ops
                        );
                    }
                    dropped += outbox.borrow_mut().take_dropped();
                }
                Send::Poll => poll_all(&mut senders),
                Send::Complete(i) => {
                    hub.complete(i);
                }
                Send::Cancel(i) | Send::Panic(i) => {
                    if !senders.is_empty() {
                        let (ticket, sender) = senders.remove(i % senders.len());
                        drop(sender);
                        if matches!(op, Send::Panic(_)) {
                            outbox.borrow_mut().abandon(ticket);
                        } else if Some(ticket) == current {
                            vanished = true;
                        }
                    }
                }
            }
            // Each event reaches the hub at most once.
            for n in hub.received.borrow().iter().skip(checked) {
                prop_assert!(seen.insert(*n), "event {} received twice, {:?}", n, ops);
                prop_assert!(*n < pushed, "event {} was never pushed", n);
            }
            checked = hub.received.borrow().len();
            if !replaced_a_live_sender {
                prop_assert!(hub.live() <= 1, "{} calls in flight, {:?}", hub.live(), ops);
            }
            prop_assert!(outbox.borrow().len() <= MAX_PENDING);
        }
        // The end: the hub answers everything and the senders stop; a while later a last turn
        // pushes one event, and its sender takes whatever a cancelled one left behind.
        run_down(&mut senders, &hub);
        now.set(now.get() + STALE_MS + 1);
        let last = outbox.borrow_mut().push(vec![event(pushed)], now.get());
        if let Some(ticket) = last {
            senders.push((ticket, start(&outbox, ticket, &hub, &now, &progress)));
        }
        pushed += 1;
        run_down(&mut senders, &hub);
        dropped += outbox.borrow_mut().take_dropped();
        prop_assert!(outbox.borrow().is_empty(), "{} events left in the outbox, {:?}", outbox.borrow().len(), ops);
        // Everything pushed reached the hub, was dropped (counted), or was in a call whose sender
        // went away.
        let received = hub.received.borrow().len();
        let distinct: std::collections::BTreeSet<u64> = hub.received.borrow().iter().copied().collect();
        prop_assert_eq!(distinct.len(), received, "an event received twice at the end, {:?}", ops);
        prop_assert_eq!(received + dropped + hub.lost(), pushed as usize, "received + dropped + lost, {:?}", ops);
    }
}
