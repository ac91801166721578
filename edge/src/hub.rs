//! The analytics hub, platform-free: one [`DailyStats`] per day (`day:<YYYY-MM-DD>`, see
//! [`crate::layout::hub`]) and the handoff desk ([`crate::desk`]), over the hub object's
//! storage; and the calls the worker and the users' objects make to it.
//!
//! A call is a [`HubCall`] in JSON, the answer a [`HubAnswer`]: [`serve`] is the hub's side,
//! [`HubClient`] the callers' ([`crate::ports::AnalyticsStore`] over any [`HubTransport`]).
//! The worker's transport is a `fetch` to the one `AnalyticsHub` object, which hands the bytes
//! to [`serve_bytes`]; the tests' [`crate::memory::MemoryAnalytics`] is the same client over a
//! transport that calls [`serve_bytes`] on a map. So both sides, and the JSON between them,
//! run natively.

use crate::analytics::{DailyStats, Event};
use crate::desk::{Admission, Desk};
use crate::layout;
use crate::ports::{AnalyticsStore, DurableStore, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use switchboard_dialog::protocol::DeskEntry;

/// A call to the hub. Time comes with the call (`now`): the hub reads no clock of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum HubCall {
    /// Fold events into their days.
    Record {
        /// The events, of any days.
        events: Vec<Event>,
    },
    /// The stored days within `from..=to`.
    Days {
        /// First day, `YYYY-MM-DD`.
        from: String,
        /// Last day, `YYYY-MM-DD`.
        to: String,
    },
    /// Put a conversation on the desk, if the admission lets it.
    DeskPut {
        /// The entry.
        entry: Box<DeskEntry>,
        /// The rules it is admitted by.
        admission: Admission,
        /// The caller's time (ms since epoch).
        now: u64,
    },
    /// Take a conversation off the desk.
    DeskRemove {
        /// The conversation.
        conversation: String,
    },
    /// Every conversation on the desk.
    DeskList {
        /// The caller's time: expired waiting entries are not listed.
        now: u64,
    },
}

/// The hub's answer to a [`HubCall`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "answer", content = "value", rename_all = "snake_case")]
pub enum HubAnswer {
    /// Done (record, desk remove).
    Done,
    /// The days asked for.
    Days(Vec<DailyStats>),
    /// Whether the desk admitted the entry.
    Admitted(bool),
    /// The desk.
    Desk(Vec<DeskEntry>),
    /// The call failed in the hub (its storage, or bytes that were not a call).
    Failed(String),
}

/// What the host does after a call: answer, and when `alarm_in_ms` is set and the object has
/// no alarm yet, set one that far ahead (the sweep of waiting desk entries, [`sweep`]).
#[derive(Debug, PartialEq)]
pub struct Served {
    /// The answer's JSON.
    pub answer: String,
    /// An alarm the hub wants, in ms from now.
    pub alarm_in_ms: Option<u64>,
}

/// The hub's side of one call, from the bytes the caller sent to the bytes it answers.
pub async fn serve_bytes<D: DurableStore>(storage: &D, body: &[u8]) -> Served {
    let (answer, alarm_in_ms) = match serde_json::from_slice::<HubCall>(body) {
        Ok(call) => match serve(storage, call).await {
            Ok(served) => served,
            Err(e) => (HubAnswer::Failed(e.to_string()), None),
        },
        Err(e) => (HubAnswer::Failed(format!("not a hub call: {}", crate::error::json_fault(e))), None),
    };
    let answer = serde_json::to_string(&answer).unwrap_or_else(|_| r#"{"answer":"failed","value":"?"}"#.into());
    Served { answer, alarm_in_ms }
}

/// The hub's side of one call; with it the alarm the hub wants (see [`Served`]).
pub async fn serve<D: DurableStore>(storage: &D, call: HubCall) -> Result<(HubAnswer, Option<u64>), StoreError> {
    Ok(match call {
        HubCall::Record { events } => {
            record(storage, &events).await?;
            (HubAnswer::Done, None)
        }
        HubCall::Days { from, to } => (HubAnswer::Days(days(storage, &from, &to).await?), None),
        HubCall::DeskPut { entry, admission, now } => {
            let admitted = Desk::new(storage).put(&entry, &admission, now).await?;
            // The alarm sweeps waiting entries nobody claimed in time.
            (HubAnswer::Admitted(admitted), admitted.then_some(admission.timeout_ms.max(1000)))
        }
        HubCall::DeskRemove { conversation } => {
            Desk::new(storage).remove(&conversation).await?;
            (HubAnswer::Done, None)
        }
        HubCall::DeskList { now } => (HubAnswer::Desk(Desk::new(storage).list(now).await?), None),
    })
}

/// The hub's alarm at `now`: expired waiting entries leave the desk; the next alarm, in ms
/// from now, when some entry is still waiting.
pub async fn sweep<D: DurableStore>(storage: &D, now: u64) -> Result<Option<u64>, StoreError> {
    let next = Desk::new(storage).sweep(now).await?;
    Ok(next.map(|at| at.saturating_sub(now).max(1000)))
}

/// How a caller's bytes reach the hub and its answer comes back.
#[allow(async_fn_in_trait)]
pub trait HubTransport {
    /// Sends one call's JSON; the answer's JSON, or why none came.
    async fn send(&self, call: String) -> Result<String, StoreError>;
}

/// The callers' side: the hub as an [`AnalyticsStore`].
#[derive(Debug, Default)]
pub struct HubClient<T>(pub T);

impl<T: HubTransport> HubClient<T> {
    async fn call(&self, call: &HubCall) -> Result<HubAnswer, StoreError> {
        let body = serde_json::to_string(call).map_err(|e| StoreError(e.to_string()))?;
        let answer = self.0.send(body).await?;
        match serde_json::from_str(&answer) {
            Ok(HubAnswer::Failed(why)) => Err(StoreError(format!("the hub failed: {why}"))),
            Ok(answer) => Ok(answer),
            Err(e) => Err(StoreError(format!("the hub's answer: {}", crate::error::json_fault(e)))),
        }
    }
}

fn unexpected(answer: HubAnswer) -> StoreError {
    StoreError(format!("the hub answered {answer:?}").chars().take(200).collect())
}

impl<T: HubTransport> AnalyticsStore for HubClient<T> {
    async fn record(&self, events: &[Event]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        match self.call(&HubCall::Record { events: events.to_vec() }).await? {
            HubAnswer::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    async fn days(&self, from: &str, to: &str) -> Result<Vec<DailyStats>, StoreError> {
        match self.call(&HubCall::Days { from: from.to_owned(), to: to.to_owned() }).await? {
            HubAnswer::Days(days) => Ok(days),
            other => Err(unexpected(other)),
        }
    }

    async fn desk_put(&self, entry: &DeskEntry, admission: &Admission, now: u64) -> Result<bool, StoreError> {
        match self.call(&HubCall::DeskPut { entry: Box::new(entry.clone()), admission: admission.clone(), now }).await?
        {
            HubAnswer::Admitted(admitted) => Ok(admitted),
            other => Err(unexpected(other)),
        }
    }

    async fn desk_remove(&self, conversation: &str) -> Result<(), StoreError> {
        match self.call(&HubCall::DeskRemove { conversation: conversation.to_owned() }).await? {
            HubAnswer::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    async fn desk_list(&self, now: u64) -> Result<Vec<DeskEntry>, StoreError> {
        match self.call(&HubCall::DeskList { now }).await? {
            HubAnswer::Desk(entries) => Ok(entries),
            other => Err(unexpected(other)),
        }
    }
}

/// Folds `events` into their days: one read and one write per day, whatever the number of
/// events (a batch carries every turn of an isolate since the last one). A stored day that no
/// longer parses starts again from zero rather than refusing every later event.
pub async fn record<D: DurableStore>(storage: &D, events: &[Event]) -> Result<(), StoreError> {
    let mut by_day: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for event in events {
        by_day.entry(event.day()).or_default().push(event);
    }
    for (day, events) in by_day {
        let key = layout::hub::day(day);
        let mut stats = match storage.get(&key).await? {
            Some(raw) => serde_json::from_str(&raw).unwrap_or_else(|_| DailyStats::new(day)),
            None => DailyStats::new(day),
        };
        for event in events {
            stats.record(event);
        }
        storage.put(&key, &serde_json::to_string(&stats).map_err(|e| StoreError(e.to_string()))?).await?;
    }
    Ok(())
}

/// The stored days within `from..=to` (`YYYY-MM-DD`), oldest first; unreadable ones left out.
pub async fn days<D: DurableStore>(storage: &D, from: &str, to: &str) -> Result<Vec<DailyStats>, StoreError> {
    let stored = storage.list(layout::hub::DAY_PREFIX).await?;
    let mut days: Vec<DailyStats> = stored
        .into_iter()
        .filter(|(key, _)| layout::hub::day_of(key).is_some_and(|day| day >= from && day <= to))
        .filter_map(|(_, value)| serde_json::from_str::<DailyStats>(&value).ok())
        .collect();
    days.sort_by(|a, b| a.day.cmp(&b.day));
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryDurable;
    use futures_executor::block_on;

    fn started(day: &str) -> Event {
        Event::ConversationStarted { day: day.into(), channel: "web".into() }
    }

    #[test]
    fn events_fold_into_their_days_and_a_range_reads_them_back() {
        let storage = MemoryDurable::default();
        block_on(record(&storage, &[started("2026-12-01"), started("2026-12-02"), started("2026-12-02")])).unwrap();
        block_on(record(&storage, &[started("2026-12-02"), started("2026-12-03")])).unwrap();
        let days = block_on(days(&storage, "2026-12-02", "2026-12-03")).unwrap();
        let names: Vec<&str> = days.iter().map(|d| d.day.as_str()).collect();
        assert_eq!(names, ["2026-12-02", "2026-12-03"]);
        assert_eq!(days[0], {
            let mut expected = DailyStats::new("2026-12-02");
            for _ in 0..3 {
                expected.record(&started("2026-12-02"));
            }
            expected
        });
    }

    #[test]
    fn bytes_that_are_not_a_call_fail_the_call_not_the_hub() {
        let storage = MemoryDurable::default();
        for body in [&b"not json"[..], br#"{"call":"drop_everything"}"#, br#"{"call":"days","from":1}"#] {
            let served = block_on(serve_bytes(&storage, body));
            let answer: HubAnswer = serde_json::from_str(&served.answer).unwrap();
            assert!(matches!(answer, HubAnswer::Failed(_)), "{answer:?}");
            assert_eq!(served.alarm_in_ms, None);
        }
        assert!(storage.entries.borrow().is_empty());
    }

    #[test]
    fn a_corrupt_day_starts_again_and_other_keys_are_not_days() {
        let storage = MemoryDurable::default();
        block_on(storage.put(&layout::hub::day("2026-12-01"), "not json")).unwrap();
        block_on(storage.put(&layout::hub::desk("c-1"), "{}")).unwrap();
        block_on(record(&storage, &[started("2026-12-01")])).unwrap();
        let days = block_on(days(&storage, "0000-00-00", "9999-99-99")).unwrap();
        assert_eq!(days.len(), 1);
        let mut expected = DailyStats::new("2026-12-01");
        expected.record(&started("2026-12-01"));
        assert_eq!(days[0], expected);
    }
}
