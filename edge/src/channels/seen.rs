//! Deliveries a user's Durable Object has already answered, so that a redelivery (Meta,
//! Telegram and Twilio all deliver at least once) yields no second reply.
//!
//! Kept in the object's own storage, not KV: the object runs the user's deliveries one at a
//! time and its storage is strongly consistent, so "seen?" and "remember" cannot race; KV's
//! reads may be a minute stale. One record per channel, `seen:<channel>`, bounded in count
//! ([`MAX_IDS`]) and age ([`KEEP_MS`], WhatsApp's longest retry window). Synchronous answers
//! (TwiML) are kept for the latest few, so a retried voice request gets the same answer
//! instead of a second turn.

use super::Channel;
use crate::ports::{DurableStore, StoreError};
use serde::{Deserialize, Serialize};

/// Ids remembered per user and channel.
pub const MAX_IDS: usize = 200;
/// How long an id is remembered: 7 days.
pub const KEEP_MS: u64 = 7 * 24 * 3600 * 1000;
/// How many of the latest answers are kept.
const MAX_ANSWERS: usize = 8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Delivery {
    id: String,
    at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    answer: Option<String>,
}

/// The recent deliveries of one channel, oldest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Recent(Vec<Delivery>);

fn key(channel: Channel) -> String {
    crate::layout::user_object::seen(channel.name())
}

impl Recent {
    /// Reads the record; an unreadable one counts as empty (a redelivery may then be
    /// answered twice, which beats refusing every delivery).
    pub async fn load(store: &impl DurableStore, channel: Channel) -> Result<Self, StoreError> {
        let raw = store.get(&key(channel)).await?;
        Ok(Self(raw.and_then(|r| serde_json::from_str(&r).ok()).unwrap_or_default()))
    }

    /// `Some(answer)` when `id` was delivered within [`KEEP_MS`] of `now`.
    pub fn answer_of(&self, id: &str, now: u64) -> Option<Option<String>> {
        self.0.iter().find(|d| d.id == id && now.saturating_sub(d.at) < KEEP_MS).map(|d| d.answer.clone())
    }

    /// Remembers `id`, dropping what is too old or beyond the bounds.
    pub fn remember(&mut self, id: &str, answer: Option<String>, now: u64) {
        self.0.retain(|d| d.id != id && now.saturating_sub(d.at) < KEEP_MS);
        self.0.push(Delivery { id: id.to_owned(), at: now, answer });
        let excess = self.0.len().saturating_sub(MAX_IDS);
        self.0.drain(..excess);
        let old = self.0.len().saturating_sub(MAX_ANSWERS);
        for d in self.0.iter_mut().take(old) {
            d.answer = None;
        }
    }

    /// Writes the record back.
    pub async fn store(&self, store: &impl DurableStore, channel: Channel) -> Result<(), StoreError> {
        // Plain structs: serialising cannot fail.
        store.put(&key(channel), &serde_json::to_string(&self.0).unwrap_or_default()).await
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryDurable;
    use futures_executor::block_on;

    #[test]
    fn ids_are_remembered_within_bounds_and_per_channel() {
        let store = MemoryDurable::default();
        let mut recent = block_on(Recent::load(&store, Channel::Whatsapp)).unwrap();
        assert_eq!(recent.answer_of("wamid.1", 0), None);
        recent.remember("wamid.1", None, 1_000);
        block_on(recent.store(&store, Channel::Whatsapp)).unwrap();
        let back = block_on(Recent::load(&store, Channel::Whatsapp)).unwrap();
        assert_eq!(back.answer_of("wamid.1", 2_000), Some(None));
        assert_eq!(back.answer_of("wamid.1", 1_000 + KEEP_MS), None, "forgotten after a week");
        assert!(block_on(Recent::load(&store, Channel::Messenger)).unwrap().is_empty(), "per channel");

        let mut many = Recent::default();
        for i in 0..MAX_IDS + 50 {
            many.remember(&format!("id{i}"), Some(format!("answer {i}")), i as u64);
        }
        assert_eq!(many.len(), MAX_IDS);
        assert_eq!(many.answer_of("id0", 300), None, "the oldest fell off");
        let last = MAX_IDS + 49;
        assert_eq!(many.answer_of(&format!("id{last}"), 300), Some(Some(format!("answer {last}"))));
        assert_eq!(many.answer_of("id100", 300), Some(None), "old answers are not kept");
    }

    #[test]
    fn an_unreadable_record_counts_as_empty() {
        let store = MemoryDurable::default();
        block_on(store.put("seen:sms", "not json")).unwrap();
        assert!(block_on(Recent::load(&store, Channel::Sms)).unwrap().is_empty());
    }
}
