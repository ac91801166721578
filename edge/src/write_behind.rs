//! KV behind a Durable Object: the user's object is the only writer of that user's keys, so
//! it can keep KV's rules for it.
//!
//! KV takes at most one write per second per key and is eventually consistent. Two messages
//! of one user a few hundred milliseconds apart would break both rules if each turn wrote KV
//! directly. Here a write that comes within a second of the last write of its key is parked
//! in the object's own storage (durable, consistent) and flushed to KV by an alarm at the end
//! of the second; reads see parked values first. Turns are serialised by the object, so
//! read-modify-write is safe and nothing is lost.
//!
//! One writer per key is the rule, with one exception: linking identities writes another
//! user's context from the object that served the request. So a parked value remembers the KV
//! value it was parked over (a digest); if KV holds something else by the time it would be
//! read or flushed, another writer came in between and its newer value wins (compare-and-swap,
//! made possible by KV being consistent within the location of the object). Reads are not
//! cached in memory for the same reason.

use crate::layout::user_object::{PARKED_PREFIX as PARKED, parked as parked_key};
use crate::ports::{ContextStore, DurableStore, StoreError};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

/// What the store found under a parked key.
enum Found {
    /// The parked value still stands on the KV value it was parked over.
    Parked(Parked),
    /// Someone else wrote KV since: their value is newer.
    Superseded(Option<String>),
    /// Nothing parked.
    None,
}

/// The minimum time between two KV writes of one key.
pub const KV_WRITE_INTERVAL_MS: u64 = 1000;

#[derive(Serialize, Deserialize)]
struct Parked {
    value: String,
    ttl: Option<u64>,
    /// Digest of the KV value this one was parked over.
    over: String,
}

fn digest(value: Option<&str>) -> String {
    use sha2::Digest;
    match value {
        Some(v) => crate::keys::hex(sha2::Sha256::digest(v.as_bytes()).get(..12).unwrap_or_default()),
        None => "none".into(),
    }
}

/// What the object remembers between requests (it lives as long as the object stays in memory).
#[derive(Debug, Default)]
pub struct WriteState {
    last_write_ms: HashMap<String, u64>,
    /// When parked writes must be flushed; the host sets its alarm to it.
    pub flush_at_ms: Option<u64>,
    /// Keys known to have nothing parked: this object looked (or removed what was there) and
    /// parked nothing since. Only this object parks its keys, so their reads go straight to KV
    /// and their direct writes delete nothing. Empty after an eviction: then it looks again.
    clear: HashSet<String>,
}

/// A [`ContextStore`] that writes KV at most once per second per key.
pub struct WriteBehind<'a, K, D> {
    kv: &'a K,
    durable: &'a D,
    state: &'a RefCell<WriteState>,
    now_ms: u64,
}

impl<'a, K: ContextStore, D: DurableStore> WriteBehind<'a, K, D> {
    /// The store for one request at `now_ms`.
    pub fn new(kv: &'a K, durable: &'a D, state: &'a RefCell<WriteState>, now_ms: u64) -> Self {
        Self { kv, durable, state, now_ms }
    }

    /// Writes every parked value to KV (the alarm's work); returns how many.
    pub async fn flush(&self) -> Result<usize, StoreError> {
        let parked = self.durable.list(PARKED).await?;
        let mut written = 0;
        for (key, _) in &parked {
            let key = &key[PARKED.len()..];
            if let Found::Parked(p) = self.parked(key).await? {
                self.kv.put(key, &p.value, p.ttl).await?;
                self.durable.delete(&parked_key(key)).await?;
                let mut state = self.state.borrow_mut();
                state.last_write_ms.insert(key.to_owned(), self.now_ms);
                state.clear.insert(key.to_owned());
                written += 1;
            }
        }
        self.state.borrow_mut().flush_at_ms = None;
        Ok(written)
    }

    /// The parked value of `key`, checked against KV; a superseded one is dropped.
    async fn parked(&self, key: &str) -> Result<Found, StoreError> {
        if self.state.borrow().clear.contains(key) {
            return Ok(Found::None);
        }
        let Some(raw) = self.durable.get(&parked_key(key)).await? else {
            self.state.borrow_mut().clear.insert(key.to_owned());
            return Ok(Found::None);
        };
        let current = self.kv.get(key).await?;
        match serde_json::from_str::<Parked>(&raw) {
            Ok(p) if p.over == digest(current.as_deref()) => Ok(Found::Parked(p)),
            _ => {
                self.durable.delete(&parked_key(key)).await?;
                self.state.borrow_mut().clear.insert(key.to_owned());
                Ok(Found::Superseded(current))
            }
        }
    }
}

impl<K: ContextStore, D: DurableStore> ContextStore for WriteBehind<'_, K, D> {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        match self.parked(key).await? {
            Found::Parked(p) => Ok(Some(p.value)),
            Found::Superseded(current) => Ok(current),
            Found::None => self.kv.get(key).await,
        }
    }

    async fn put(&self, key: &str, value: &str, ttl_seconds: Option<u64>) -> Result<(), StoreError> {
        let last = self.state.borrow().last_write_ms.get(key).copied();
        match last {
            Some(last) if self.now_ms < last + KV_WRITE_INTERVAL_MS => {
                let over = digest(self.kv.get(key).await?.as_deref());
                // A plain struct: serialising cannot fail.
                let parked = serde_json::to_string(&Parked { value: value.to_owned(), ttl: ttl_seconds, over })
                    .unwrap_or_default();
                self.state.borrow_mut().clear.remove(key);
                self.durable.put(&parked_key(key), &parked).await?;
                let due = last + KV_WRITE_INTERVAL_MS;
                let mut state = self.state.borrow_mut();
                state.flush_at_ms = Some(state.flush_at_ms.map_or(due, |at| at.max(due)));
            }
            _ => {
                self.kv.put(key, value, ttl_seconds).await?;
                // A value parked earlier is now older than the one just written.
                if !self.state.borrow().clear.contains(key) {
                    self.durable.delete(&parked_key(key)).await?;
                }
                let mut state = self.state.borrow_mut();
                state.last_write_ms.insert(key.to_owned(), self.now_ms);
                state.clear.insert(key.to_owned());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{MemoryDurable, MemoryStore};
    use futures_executor::block_on;
    use std::cell::Cell;

    /// The object's storage, counting the operations that reach it.
    #[derive(Default)]
    struct Counted {
        inner: MemoryDurable,
        ops: Cell<usize>,
    }

    impl DurableStore for Counted {
        async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
            self.ops.set(self.ops.get() + 1);
            self.inner.get(key).await
        }

        async fn put(&self, key: &str, value: &str) -> Result<(), StoreError> {
            self.ops.set(self.ops.get() + 1);
            self.inner.put(key, value).await
        }

        async fn delete(&self, key: &str) -> Result<(), StoreError> {
            self.ops.set(self.ops.get() + 1);
            self.inner.delete(key).await
        }

        async fn list(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
            self.ops.set(self.ops.get() + 1);
            self.inner.list(prefix).await
        }
    }

    #[test]
    fn keys_known_to_have_nothing_parked_skip_the_objects_storage() {
        let (kv, durable, state) = (MemoryStore::default(), Counted::default(), RefCell::default());
        block_on(async {
            // The object's first turn looks for parked values once per key, and deletes none.
            let first = WriteBehind::new(&kv, &durable, &state, 10_000);
            assert_eq!(first.get("ctx:u").await.unwrap(), None);
            assert_eq!(first.get("hist:c").await.unwrap(), None);
            first.put("hist:c", "h1", None).await.unwrap();
            first.put("ctx:u", "one", None).await.unwrap();
            assert_eq!(durable.ops.get(), 2, "one look per key");
            // Its next turns, more than a second apart, do not touch its storage at all.
            let next = WriteBehind::new(&kv, &durable, &state, 12_000);
            assert_eq!(next.get("ctx:u").await.unwrap().as_deref(), Some("one"));
            next.put("ctx:u", "two", None).await.unwrap();
            assert_eq!(durable.ops.get(), 2);
            // A write within the second is parked, and read back until the alarm flushes it.
            let soon = WriteBehind::new(&kv, &durable, &state, 12_300);
            soon.put("ctx:u", "three", None).await.unwrap();
            assert_eq!(soon.get("ctx:u").await.unwrap().as_deref(), Some("three"));
            assert_eq!(kv.entries.borrow()["ctx:u"].0, "two");
            assert_eq!(WriteBehind::new(&kv, &durable, &state, 13_000).flush().await.unwrap(), 1);
            assert_eq!(kv.entries.borrow()["ctx:u"].0, "three");
            let ops = durable.ops.get();
            let later = WriteBehind::new(&kv, &durable, &state, 15_000);
            assert_eq!(later.get("ctx:u").await.unwrap().as_deref(), Some("three"));
            later.put("ctx:u", "four", None).await.unwrap();
            assert_eq!(durable.ops.get(), ops, "flushed: nothing parked again");
            // A new instance of the object (evicted, or another one) knows nothing: it looks.
            let fresh = RefCell::default();
            assert_eq!(
                WriteBehind::new(&kv, &durable, &fresh, 15_100).get("ctx:u").await.unwrap().as_deref(),
                Some("four")
            );
            assert_eq!(durable.ops.get(), ops + 1);
        });
    }

    #[test]
    fn writes_within_a_second_are_parked_then_flushed_and_nothing_is_lost() {
        let (kv, durable, state) = (MemoryStore::default(), MemoryDurable::default(), RefCell::default());
        block_on(async {
            WriteBehind::new(&kv, &durable, &state, 10_000).put("ctx:u", "one", Some(60)).await.unwrap();
            let second = WriteBehind::new(&kv, &durable, &state, 10_300);
            second.put("ctx:u", "two", Some(60)).await.unwrap();
            assert_eq!(kv.puts.get(), 1, "KV took one write in that second");
            assert_eq!(second.get("ctx:u").await.unwrap().as_deref(), Some("two"), "reads see the parked value");
            assert_eq!(state.borrow().flush_at_ms, Some(11_000));

            // The object was evicted: its memory is gone, the parked value is not.
            let fresh = RefCell::default();
            let after = WriteBehind::new(&kv, &durable, &fresh, 10_400);
            assert_eq!(after.get("ctx:u").await.unwrap().as_deref(), Some("two"));

            let alarm = WriteBehind::new(&kv, &durable, &state, 11_000);
            assert_eq!(alarm.flush().await.unwrap(), 1);
            assert_eq!(kv.entries.borrow()["ctx:u"], ("two".to_owned(), Some(60)));
            assert!(durable.entries.borrow().is_empty());
            assert_eq!(state.borrow().flush_at_ms, None);

            // Another writer (linking, from another object) wins over a value parked before it.
            let parker = WriteBehind::new(&kv, &durable, &state, 12_100);
            parker.put("ctx:u", "four", None).await.unwrap();
            parker.put("ctx:u", "five", None).await.unwrap();
            kv.entries.borrow_mut().insert("ctx:u".into(), ("from elsewhere".into(), None));
            assert_eq!(parker.get("ctx:u").await.unwrap().as_deref(), Some("from elsewhere"));
            assert_eq!(parker.flush().await.unwrap(), 0);
            assert_eq!(kv.entries.borrow()["ctx:u"].0, "from elsewhere");

            // A second later, writes go straight through again.
            let puts = kv.puts.get();
            WriteBehind::new(&kv, &durable, &state, 13_500).put("ctx:u", "three", None).await.unwrap();
            assert_eq!(kv.puts.get(), puts + 1);
        });
    }
}
