//! The handoff desk as the hub object keeps it: one entry per conversation waiting for or with
//! a human, in the hub's storage (`desk:<conversation id>`), platform-free so that the worker's
//! hub and the in-memory one for tests are the same code.
//!
//! It cannot be flooded: an entry put by a turn carries the client's *origin* (a keyed hash of
//! its IP address, never the address) and at most [`Admission::max_waiting`] conversations of
//! one origin wait at a time (more are refused: the bot keeps the conversation); a waiting
//! entry expires [`Admission::timeout_ms`] after its handoff (the hub's alarm sweeps, reads skip
//! expired ones), and the queue is read in pages.

use crate::layout::hub::{DESK_PREFIX as PREFIX, desk as key};
use crate::ports::{DurableStore, StoreError};
use serde::{Deserialize, Serialize};
use switchboard_dialog::protocol::{ConversationStatus, DeskEntry};

/// How a waiting entry is admitted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Admission {
    /// The client's origin (see [`crate::keys::Keys::origin`]); none: not counted (an agent's
    /// action, a channel delivery without an address).
    pub origin: Option<String>,
    /// Conversations of one origin that may wait at once.
    pub max_waiting: u32,
    /// How long a waiting entry stays on the desk unclaimed, in ms.
    pub timeout_ms: u64,
}

/// What the hub stores for an entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    entry: DeskEntry,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    origin: Option<String>,
    /// When a waiting entry leaves the desk unclaimed (ms since epoch; 0: never).
    #[serde(default)]
    expires_ms: u64,
}

impl Stored {
    fn live(&self, now: u64) -> bool {
        self.expires_ms == 0 || self.expires_ms > now || self.entry.status != ConversationStatus::Waiting
    }
}

/// The desk over a hub object's storage.
pub struct Desk<'a, D> {
    storage: &'a D,
}

impl<'a, D: DurableStore> Desk<'a, D> {
    /// The desk kept in `storage`.
    pub fn new(storage: &'a D) -> Self {
        Self { storage }
    }

    async fn all(&self) -> Result<Vec<Stored>, StoreError> {
        let stored = self.storage.list(PREFIX).await?;
        Ok(stored.into_iter().filter_map(|(_, v)| serde_json::from_str(&v).ok()).collect())
    }

    /// Puts (or replaces) a conversation's entry at `now`; `false` when its origin already has
    /// as many conversations waiting as it may (the entry is not stored).
    pub async fn put(&self, entry: &DeskEntry, admission: &Admission, now: u64) -> Result<bool, StoreError> {
        let all = self.all().await?;
        let known = all.iter().any(|s| s.entry.conversation_id == entry.conversation_id);
        if let Some(origin) =
            admission.origin.as_deref().filter(|_| !known && entry.status == ConversationStatus::Waiting)
        {
            let waiting = all
                .iter()
                .filter(|s| s.live(now) && s.entry.status == ConversationStatus::Waiting)
                .filter(|s| s.origin.as_deref() == Some(origin))
                .count();
            if waiting >= admission.max_waiting as usize {
                return Ok(false);
            }
        }
        let previous = all.into_iter().find(|s| s.entry.conversation_id == entry.conversation_id);
        let origin = admission.origin.clone().or_else(|| previous.and_then(|p| p.origin));
        let expires_ms = match entry.status {
            ConversationStatus::Waiting => entry.since_ms.saturating_add(admission.timeout_ms),
            _ => 0,
        };
        let stored = Stored { entry: entry.clone(), origin, expires_ms };
        let text = serde_json::to_string(&stored).map_err(|e| StoreError(e.to_string()))?;
        self.storage.put(&key(&entry.conversation_id), &text).await?;
        Ok(true)
    }

    /// Takes a conversation off the desk.
    pub async fn remove(&self, conversation: &str) -> Result<(), StoreError> {
        self.storage.delete(&key(conversation)).await
    }

    /// The entries on the desk at `now` (expired waiting ones are not).
    pub async fn list(&self, now: u64) -> Result<Vec<DeskEntry>, StoreError> {
        Ok(self.all().await?.into_iter().filter(|s| s.live(now)).map(|s| s.entry).collect())
    }

    /// Removes the waiting entries that expired by `now`; when the next one expires (for the
    /// hub's alarm), if any is waiting.
    pub async fn sweep(&self, now: u64) -> Result<Option<u64>, StoreError> {
        let mut next: Option<u64> = None;
        for stored in self.all().await? {
            if !stored.live(now) {
                self.remove(&stored.entry.conversation_id).await?;
            } else if stored.expires_ms > 0 && stored.entry.status == ConversationStatus::Waiting {
                next = Some(next.map_or(stored.expires_ms, |n| n.min(stored.expires_ms)));
            }
        }
        Ok(next)
    }
}

/// One page of the queue, waiting conversations first (longest waiting first), then those with
/// humans: at most `limit` entries after the conversation `after` (the previous page's last);
/// the page and the cursor of the next one.
pub fn page(mut entries: Vec<DeskEntry>, after: Option<&str>, limit: usize) -> (Vec<DeskEntry>, Option<String>) {
    entries.sort_by(|a, b| {
        (a.status != ConversationStatus::Waiting, a.since_ms, &a.conversation_id).cmp(&(
            b.status != ConversationStatus::Waiting,
            b.since_ms,
            &b.conversation_id,
        ))
    });
    let start = after.and_then(|a| entries.iter().position(|e| e.conversation_id == a)).map_or(0, |i| i + 1);
    let rest: Vec<DeskEntry> = entries.into_iter().skip(start).collect();
    let more = rest.len() > limit;
    let page: Vec<DeskEntry> = rest.into_iter().take(limit).collect();
    let next = if more { page.last().map(|e| e.conversation_id.clone()) } else { None };
    (page, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryDurable;
    use futures_executor::block_on;

    fn entry(id: &str, status: ConversationStatus, since_ms: u64) -> DeskEntry {
        DeskEntry {
            conversation_id: id.into(),
            user_id: format!("u-{id}"),
            channel: "web".into(),
            status,
            agent: None,
            profile: Default::default(),
            last_intent: None,
            parameters: Default::default(),
            reason: None,
            last_message: None,
            since_ms,
            updated_ms: since_ms,
        }
    }

    fn admission(origin: &str) -> Admission {
        Admission { origin: Some(origin.into()), max_waiting: 2, timeout_ms: 1000 }
    }

    #[test]
    fn one_origin_cannot_flood_the_desk() {
        let storage = MemoryDurable::default();
        let desk = Desk::new(&storage);
        let put = |id: &str, origin: &str| {
            block_on(desk.put(&entry(id, ConversationStatus::Waiting, 0), &admission(origin), 0))
        };
        assert_eq!((put("c1", "a"), put("c2", "a"), put("c3", "a")), (Ok(true), Ok(true), Ok(false)));
        assert_eq!(put("c4", "b"), Ok(true), "another origin is not held back");
        assert_eq!(put("c1", "a"), Ok(true), "an entry already on the desk is rewritten");
        // Claimed ones do not count; a claimed conversation is rewritten without its origin.
        let claimed = entry("c1", ConversationStatus::Human, 0);
        let agent = Admission { origin: None, ..admission("a") };
        assert_eq!(block_on(desk.put(&claimed, &agent, 0)), Ok(true));
        assert_eq!(put("c3", "a"), Ok(true));
        assert_eq!(block_on(desk.list(0)).unwrap().len(), 4);
    }

    #[test]
    fn waiting_entries_expire_and_the_sweep_says_when_next() {
        let storage = MemoryDurable::default();
        let desk = Desk::new(&storage);
        block_on(desk.put(&entry("old", ConversationStatus::Waiting, 0), &admission("a"), 0)).unwrap();
        block_on(desk.put(&entry("new", ConversationStatus::Waiting, 500), &admission("a"), 500)).unwrap();
        block_on(desk.put(&entry("human", ConversationStatus::Human, 0), &admission("b"), 0)).unwrap();
        assert_eq!(block_on(desk.list(1200)).unwrap().len(), 2, "the expired one is not listed");
        assert_eq!(block_on(desk.sweep(1200)), Ok(Some(1500)));
        assert_eq!(storage.entries.borrow().len(), 2, "and the sweep removed it");
        assert_eq!(block_on(desk.sweep(2000)), Ok(None));
        // Expired entries no longer count against their origin.
        assert_eq!(block_on(desk.put(&entry("c", ConversationStatus::Waiting, 2000), &admission("a"), 2000)), Ok(true));
    }

    #[test]
    fn the_queue_pages_waiting_first() {
        let entries: Vec<DeskEntry> = (0..5)
            .map(|i| {
                let status = if i % 2 == 0 { ConversationStatus::Waiting } else { ConversationStatus::Human };
                entry(&format!("c{i}"), status, 100 - i)
            })
            .collect();
        let (first, next) = page(entries.clone(), None, 2);
        let ids = |p: &[DeskEntry]| p.iter().map(|e| e.conversation_id.clone()).collect::<Vec<_>>();
        assert_eq!((ids(&first), next.as_deref()), (vec!["c4".to_owned(), "c2".to_owned()], Some("c2")));
        let (second, next) = page(entries.clone(), next.as_deref(), 2);
        assert_eq!((ids(&second), next.as_deref()), (vec!["c0".to_owned(), "c3".to_owned()], Some("c3")));
        let (last, next) = page(entries, next.as_deref(), 2);
        assert_eq!((ids(&last), next), (vec!["c1".to_owned()], None));
    }
}
