//! In-memory implementations of the [`crate::ports`] traits, for native tests and examples.

use crate::analytics::{DailyStats, Event};
use crate::ports::{
    AnalyticsStore, Clock, ContextStore, DurableStore, HttpClient, HttpError, HttpRequest, HttpResponse, StoreError,
};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use switchboard_dialog::protocol::DeskEntry;

/// A context store in a map. Records TTLs so tests can check them.
#[derive(Debug, Default)]
pub struct MemoryStore {
    /// Key → (value, ttl in seconds).
    pub entries: RefCell<BTreeMap<String, (String, Option<u64>)>>,
    /// Number of `put` calls, to count writes per turn.
    pub puts: Cell<usize>,
    /// Number of `get` calls, to count reads per turn.
    pub gets: Cell<usize>,
}

impl ContextStore for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.gets.set(self.gets.get() + 1);
        Ok(self.entries.borrow().get(key).map(|(v, _)| v.clone()))
    }

    async fn put(&self, key: &str, value: &str, ttl_seconds: Option<u64>) -> Result<(), StoreError> {
        self.puts.set(self.puts.get() + 1);
        self.entries.borrow_mut().insert(key.to_owned(), (value.to_owned(), ttl_seconds));
        Ok(())
    }
}

/// An HTTP client that must not be called: for agents whose webhooks are all built in.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHttp;

impl HttpClient for NoHttp {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        Err(HttpError::Transport(format!("no network in this test ({} {})", request.method, request.url)))
    }
}

/// An HTTP client that answers from a script and records what it was sent.
#[derive(Debug, Default)]
pub struct ScriptedHttp {
    /// Answers, first to last; an empty script is a transport error.
    pub answers: RefCell<VecDeque<Result<HttpResponse, HttpError>>>,
    /// `(url, body)` of each request (an empty body when there was none).
    pub requests: RefCell<Vec<(String, String)>>,
    /// Each request whole: method, headers, timeout.
    pub sent: RefCell<Vec<HttpRequest>>,
}

impl ScriptedHttp {
    /// A client that will give these answers in order.
    pub fn new(answers: impl IntoIterator<Item = Result<HttpResponse, HttpError>>) -> Self {
        Self { answers: RefCell::new(answers.into_iter().collect()), ..Self::default() }
    }
}

impl HttpClient for ScriptedHttp {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let max_body = request.max_body;
        self.requests.borrow_mut().push((request.url.clone(), request.body.clone().unwrap_or_default()));
        self.sent.borrow_mut().push(request);
        let answer = self.answers.borrow_mut().pop_front();
        match answer {
            Some(Ok(r)) if r.body.len() > max_body => Err(HttpError::TooLarge(max_body)),
            Some(answer) => answer,
            None => Err(HttpError::Transport("script exhausted".into())),
        }
    }
}

/// A clock that advances one second per reading and counts out ids.
#[derive(Debug)]
pub struct StepClock {
    now: Cell<u64>,
    ids: Cell<u64>,
}

impl Default for StepClock {
    fn default() -> Self {
        Self { now: Cell::new(1_764_000_000_000), ids: Cell::new(0) }
    }
}

impl Clock for StepClock {
    fn now_ms(&self) -> u64 {
        let now = self.now.get();
        self.now.set(now + 1000);
        now
    }

    fn random_id(&self) -> String {
        let n = self.ids.get() + 1;
        self.ids.set(n);
        format!("{n:032x}")
    }
}

/// Analytics days and the handoff desk in maps.
#[derive(Debug, Default)]
pub struct MemoryAnalytics {
    /// Day → figures.
    pub days: RefCell<BTreeMap<String, DailyStats>>,
    /// Conversation id → desk entry.
    pub desk: RefCell<BTreeMap<String, DeskEntry>>,
}

impl AnalyticsStore for MemoryAnalytics {
    async fn record(&self, events: &[Event]) -> Result<(), StoreError> {
        let mut days = self.days.borrow_mut();
        for event in events {
            days.entry(event.day().to_owned()).or_insert_with(|| DailyStats::new(event.day())).record(event);
        }
        Ok(())
    }

    async fn days(&self, from: &str, to: &str) -> Result<Vec<DailyStats>, StoreError> {
        Ok(self.days.borrow().range(from.to_owned()..=to.to_owned()).map(|(_, d)| d.clone()).collect())
    }

    async fn desk_put(&self, entry: &DeskEntry) -> Result<(), StoreError> {
        self.desk.borrow_mut().insert(entry.conversation_id.clone(), entry.clone());
        Ok(())
    }

    async fn desk_remove(&self, conversation: &str) -> Result<(), StoreError> {
        self.desk.borrow_mut().remove(conversation);
        Ok(())
    }

    async fn desk_list(&self) -> Result<Vec<DeskEntry>, StoreError> {
        Ok(self.desk.borrow().values().cloned().collect())
    }
}

/// A Durable Object's storage in a map.
#[derive(Debug, Default)]
pub struct MemoryDurable {
    /// Key → value.
    pub entries: RefCell<BTreeMap<String, String>>,
}

impl DurableStore for MemoryDurable {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.entries.borrow().get(key).cloned())
    }

    async fn put(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.entries.borrow_mut().insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.entries.borrow_mut().remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self
            .entries
            .borrow()
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

/// An edge entirely in memory: a fresh store, the scripted `http`, a stepping clock and
/// in-memory analytics (golden conversations and native tests).
pub fn edge(
    agent: &switchboard_dialog::agent::Agent,
    config: crate::Config,
    http: ScriptedHttp,
) -> crate::Edge<'_, MemoryStore, ScriptedHttp, StepClock, MemoryAnalytics> {
    crate::Edge::new(agent, config, MemoryStore::default(), http, StepClock::default(), MemoryAnalytics::default())
}
