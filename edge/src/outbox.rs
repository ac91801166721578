//! Analytics events on their way to the hub object, coalesced per isolate.
//!
//! Every turn of every user yields events for the one analytics object. Sent one call per
//! turn, each turn cost a subrequest and a storage write in that object; under load those
//! calls are most of what the object does, and one object takes only so many a second. Here
//! the users' objects of one isolate share an outbox: at most one call to the hub is in flight,
//! and the events recorded while it is go together in the next call, sent as soon as it
//! returns. A lone turn's events still leave at once (nothing waits for a timer); under load,
//! one call carries the events of every turn that finished during the previous one.
//!
//! The outbox is memory: events in it when the isolate goes away are lost, as they were when
//! a call failed. It holds at most [`MAX_PENDING`] events (the rest are counted and dropped),
//! and a sender that has made no progress for [`STALE_MS`] (its request was cancelled, say)
//! is presumed gone: the next events start another one.

use crate::analytics::Event;
use std::cell::RefCell;
use std::future::Future;

/// Events the outbox keeps at most while a call is in flight.
pub const MAX_PENDING: usize = 10_000;
/// After this long without a batch sent, the running sender is presumed gone.
pub const STALE_MS: u64 = 30_000;

/// The events waiting for the hub, and whether a sender is taking them there.
#[derive(Debug, Default)]
pub struct Outbox {
    pending: Vec<Event>,
    /// The running sender and when it last took a batch; `None`: no sender runs.
    sender: Option<(Ticket, u64)>,
    /// The ticket of the last sender started.
    issued: u64,
    dropped: usize,
}

/// Which sender a caller runs: only the current one takes batches. A sender presumed gone and
/// replaced that comes back after all finds it is no longer current and stops, so it neither
/// runs beside its successor nor, by finding the outbox empty, marks the successor stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

impl Outbox {
    /// Queues `events`; a ticket when the caller must start a sender ([`drain`]): none runs,
    /// or the running one is stale.
    pub fn push(&mut self, events: Vec<Event>, now_ms: u64) -> Option<Ticket> {
        let room = MAX_PENDING.saturating_sub(self.pending.len());
        self.dropped += events.len().saturating_sub(room);
        self.pending.extend(events.into_iter().take(room));
        let running = self.sender.is_some_and(|(_, seen)| now_ms.saturating_sub(seen) < STALE_MS);
        if running || self.pending.is_empty() {
            return None;
        }
        self.issued += 1;
        let ticket = Ticket(self.issued);
        self.sender = Some((ticket, now_ms));
        Some(ticket)
    }

    /// The next batch for the sender holding `ticket`: everything pending; `None` when nothing
    /// is (the sender stops, and the next events start another) or when another sender has
    /// replaced this one (it stops, and the other goes on).
    pub fn next_batch(&mut self, ticket: Ticket, now_ms: u64) -> Option<Vec<Event>> {
        if self.sender.map(|(current, _)| current) != Some(ticket) {
            return None;
        }
        if self.pending.is_empty() {
            self.sender = None;
            return None;
        }
        self.sender = Some((ticket, now_ms));
        Some(std::mem::take(&mut self.pending))
    }

    /// The sender holding `ticket` stopped without draining (it panicked): the next events
    /// start another one. A replaced sender's ticket changes nothing.
    pub fn abandon(&mut self, ticket: Ticket) {
        if self.sender.map(|(current, _)| current) == Some(ticket) {
            self.sender = None;
        }
    }

    /// How many events were dropped because the outbox was full, since the last call.
    pub fn take_dropped(&mut self) -> usize {
        std::mem::take(&mut self.dropped)
    }

    /// How many events wait.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether no event waits.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// The sender: sends batch after batch with `send` until the outbox is empty (or another
/// sender replaced it); returns how many calls it made. Started by the caller whose
/// [`Outbox::push`] returned `ticket`; `send` reports its own failures (the batch is not sent
/// again).
pub async fn drain<F, Fut>(outbox: &RefCell<Outbox>, ticket: Ticket, now_ms: impl Fn() -> u64, mut send: F) -> usize
where
    F: FnMut(Vec<Event>) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut calls = 0;
    loop {
        // Its own statement: the borrow ends before the call, and other requests push while it
        // is in flight (a `while let` would hold it across the await).
        let batch = outbox.borrow_mut().next_batch(ticket, now_ms());
        let Some(batch) = batch else { return calls };
        send(batch).await;
        calls += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    fn turn(n: u64) -> Event {
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

    fn numbers(batch: &[Event]) -> Vec<u64> {
        batch.iter().map(|e| if let Event::Turn { duration_ms, .. } = e { *duration_ms } else { 0 }).collect()
    }

    /// A hub whose calls stay in flight until `open` is set.
    #[derive(Default)]
    struct SlowHub {
        open: Cell<bool>,
        batches: RefCell<Vec<Vec<u64>>>,
    }

    impl SlowHub {
        async fn record(&self, batch: Vec<Event>) {
            std::future::poll_fn(|_| if self.open.get() { Poll::Ready(()) } else { Poll::Pending }).await;
            self.batches.borrow_mut().push(numbers(&batch));
        }
    }

    #[test]
    fn events_recorded_while_a_call_is_in_flight_go_together_in_the_next_one() {
        let outbox = RefCell::new(Outbox::default());
        let hub = SlowHub::default();
        let ticket = outbox.borrow_mut().push(vec![turn(1)], 0).expect("the first events start a sender");
        let mut sender = pin!(drain(&outbox, ticket, || 5, |batch| hub.record(batch)));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(sender.as_mut().poll(&mut cx).is_pending(), "the first call is in flight");
        for n in 2..=200 {
            assert!(outbox.borrow_mut().push(vec![turn(n)], 10).is_none(), "a sender runs already");
        }
        hub.open.set(true);
        assert_eq!(sender.as_mut().poll(&mut cx), Poll::Ready(2), "two calls for 200 turns");
        let batches = hub.batches.borrow();
        assert_eq!(batches[0], [1]);
        assert_eq!(batches[1], (2..=200).collect::<Vec<_>>(), "in order, none lost or twice");
        assert!(outbox.borrow().is_empty());
        assert!(
            outbox.borrow_mut().push(vec![turn(201)], 20).is_some(),
            "the sender stopped: the next events start one"
        );
    }

    #[test]
    fn a_lone_turn_is_sent_at_once() {
        let outbox = RefCell::new(Outbox::default());
        let sent = RefCell::new(Vec::new());
        for n in 1..=3 {
            let ticket = outbox.borrow_mut().push(vec![turn(n)], n * 1000).expect("no sender runs");
            let calls = futures_executor::block_on(drain(
                &outbox,
                ticket,
                || n * 1000,
                |batch| {
                    sent.borrow_mut().push(numbers(&batch));
                    async {}
                },
            ));
            assert_eq!(calls, 1);
        }
        assert_eq!(*sent.borrow(), [vec![1], vec![2], vec![3]]);
    }

    #[test]
    fn the_outbox_is_bounded_and_counts_what_it_dropped() {
        let mut outbox = Outbox::default();
        assert!(outbox.push((0..MAX_PENDING as u64 - 1).map(turn).collect(), 0).is_some());
        assert!(outbox.push((0..11).map(turn).collect(), 1).is_none());
        assert_eq!(outbox.len(), MAX_PENDING);
        assert_eq!(outbox.take_dropped(), 10);
        assert_eq!(outbox.take_dropped(), 0);
    }

    #[test]
    fn a_sender_that_went_away_is_replaced() {
        let mut outbox = Outbox::default();
        let first = outbox.push(vec![turn(1)], 0).expect("no sender runs");
        // Its request was cancelled mid-call: it never takes another batch.
        assert!(outbox.push(vec![turn(2)], STALE_MS - 1).is_none());
        let second = outbox.push(vec![turn(3)], STALE_MS + 1).expect("stale: a new sender takes over");
        assert_eq!(numbers(&outbox.next_batch(second, STALE_MS + 2).unwrap_or_default()), [1, 2, 3]);
        assert!(outbox.push(vec![turn(4)], STALE_MS + 3).is_none(), "the new sender runs");
        // The first one comes back after all: it stops, and neither takes the second's events
        // nor marks it stopped.
        assert!(outbox.next_batch(first, STALE_MS + 4).is_none());
        outbox.abandon(first);
        assert!(outbox.push(vec![turn(5)], STALE_MS + 5).is_none(), "the second still runs");
        assert_eq!(numbers(&outbox.next_batch(second, STALE_MS + 6).unwrap_or_default()), [4, 5]);
        // It panicked: the glue says so at once, and the next events start another.
        outbox.abandon(second);
        assert!(outbox.push(vec![turn(6)], STALE_MS + 7).is_some());
    }
}
