//! In-memory implementations of the [`crate::ports`] traits, for native tests and examples.

use crate::analytics::{DailyStats, Event};
use crate::desk::Admission;
use crate::hub::{HubClient, HubTransport};
use crate::ports::{
    AnalyticsStore, Clock, ContextStore, DurableStore, HttpClient, HttpError, HttpRequest, HttpResponse, Redirect,
    StoreError,
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

/// An HTTP client that answers from a script and records what it was sent. Like the worker's
/// client it refuses an oversize body and, when the request refuses redirects, a 3xx.
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
        let (max_body, redirect) = (request.max_body, request.redirect);
        self.requests.borrow_mut().push((request.url.clone(), request.body.clone().unwrap_or_default()));
        self.sent.borrow_mut().push(request);
        let answer = self.answers.borrow_mut().pop_front();
        match answer {
            Some(Ok(r)) if (300..400).contains(&r.status) && redirect == Redirect::Refuse => {
                Err(HttpError::Redirected(r.status))
            }
            Some(Ok(r)) if r.body.len() > max_body => Err(HttpError::TooLarge(max_body)),
            Some(answer) => answer,
            None => Err(HttpError::Transport("script exhausted".into())),
        }
    }
}

/// What a site of a [`MemoryWeb`] answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A status and a body.
    Body(u16, Vec<u8>),
    /// A redirect: a 3xx status and the absolute URL of its `Location`.
    Redirect(u16, String),
    /// 200 and a body that never ends.
    Endless,
}

/// How a site answers a request.
pub type Site = Box<dyn Fn(&HttpRequest) -> Answer>;

/// Sites in memory, by origin (`https://shop.example`), and a client that behaves as the
/// worker's `fetch` does with them: it follows a redirect, resending the headers, unless the
/// request refuses redirects ([`Redirect::Refuse`]: the 3xx is [`HttpError::Redirected`]), and
/// it reads a body chunk by chunk, giving up past `max_body` ([`HttpError::TooLarge`]).
/// Records every request each origin received and how many body bytes were read.
#[derive(Default)]
pub struct MemoryWeb {
    sites: BTreeMap<String, Site>,
    /// `(origin, request)` of every request a site received, in order.
    pub received: RefCell<Vec<(String, HttpRequest)>>,
    /// Body bytes read, over all responses.
    pub bytes_read: Cell<usize>,
}

impl std::fmt::Debug for MemoryWeb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryWeb")
            .field("sites", &self.sites.keys().collect::<Vec<_>>())
            .field("received", &self.received)
            .field("bytes_read", &self.bytes_read)
            .finish()
    }
}

/// Redirects `fetch` follows before it gives up.
const MAX_REDIRECTS: usize = 20;
/// The size of the chunks a body arrives in.
const CHUNK: usize = 16 * 1024;

impl MemoryWeb {
    /// An empty web: every request is a transport error.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the site at `origin` (scheme, host and port, no path).
    pub fn site(mut self, origin: &str, answer: impl Fn(&HttpRequest) -> Answer + 'static) -> Self {
        self.sites.insert(origin.to_owned(), Box::new(answer));
        self
    }

    /// The requests the site at `origin` received.
    pub fn received_by(&self, origin: &str) -> Vec<HttpRequest> {
        self.received.borrow().iter().filter(|(o, _)| o == origin).map(|(_, r)| r.clone()).collect()
    }

    /// Reads `body` (or an endless one) chunk by chunk, as a stream arrives, up to `max`.
    fn read(&self, body: Option<&[u8]>, max: usize) -> Result<Vec<u8>, HttpError> {
        let endless = [b'x'; CHUNK];
        let mut chunks = body.map(|b| b.chunks(CHUNK));
        let mut read = Vec::new();
        loop {
            let chunk = match chunks.as_mut() {
                Some(chunks) => match chunks.next() {
                    Some(chunk) => chunk,
                    None => return Ok(read),
                },
                None => &endless[..],
            };
            self.bytes_read.set(self.bytes_read.get() + chunk.len());
            if read.len() + chunk.len() > max {
                return Err(HttpError::TooLarge(max));
            }
            read.extend_from_slice(chunk);
        }
    }
}

/// `scheme://host[:port]` of an absolute URL.
fn origin(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    url.get(..url.len() - rest.len() + host_end)
}

impl HttpClient for MemoryWeb {
    async fn send(&self, mut request: HttpRequest) -> Result<HttpResponse, HttpError> {
        for _ in 0..=MAX_REDIRECTS {
            let origin = origin(&request.url)
                .ok_or_else(|| HttpError::Transport(format!("not an absolute URL: {}", request.url)))?
                .to_owned();
            self.received.borrow_mut().push((origin.clone(), request.clone()));
            let site = self.sites.get(&origin).ok_or_else(|| HttpError::Transport(format!("no site at {origin}")))?;
            match site(&request) {
                Answer::Body(status, body) => {
                    return Ok(HttpResponse { status, body: self.read(Some(&body), request.max_body)? });
                }
                Answer::Endless => return Ok(HttpResponse { status: 200, body: self.read(None, request.max_body)? }),
                Answer::Redirect(status, _) if request.redirect == Redirect::Refuse => {
                    return Err(HttpError::Redirected(status));
                }
                Answer::Redirect(status, location) => {
                    // As fetch does: a 303, or a 301/302 after a POST, goes on as a GET.
                    if status == 303 || (matches!(status, 301 | 302) && request.method == "POST") {
                        request.method = "GET";
                        request.body = None;
                    }
                    request.url = location;
                }
            }
        }
        Err(HttpError::Transport("too many redirects".into()))
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

/// The hub in memory: analytics days and the handoff desk in one map, kept by the same code
/// as the worker's hub object ([`crate::hub`], [`Desk`]).
#[derive(Debug, Default)]
pub struct MemoryAnalytics {
    /// The hub object's storage.
    pub storage: MemoryDurable,
}

impl MemoryAnalytics {
    fn client(&self) -> HubClient<Loopback<'_>> {
        HubClient(Loopback(&self.storage))
    }

    /// Every stored day, by day.
    pub fn stats(&self) -> BTreeMap<String, DailyStats> {
        let days = futures_executor::block_on(crate::hub::days(&self.storage, "", "\u{10ffff}")).unwrap_or_default();
        days.into_iter().map(|d| (d.day.clone(), d)).collect()
    }
}

/// The hub's calls answered by [`crate::hub::serve_bytes`] over a map: the JSON both ways,
/// as between the worker and its hub object.
pub struct Loopback<'s>(pub &'s MemoryDurable);

impl HubTransport for Loopback<'_> {
    async fn send(&self, call: String) -> Result<String, StoreError> {
        Ok(crate::hub::serve_bytes(self.0, call.as_bytes()).await.answer)
    }
}

impl AnalyticsStore for MemoryAnalytics {
    async fn record(&self, events: &[Event]) -> Result<(), StoreError> {
        self.client().record(events).await
    }

    async fn days(&self, from: &str, to: &str) -> Result<Vec<DailyStats>, StoreError> {
        self.client().days(from, to).await
    }

    async fn desk_put(&self, entry: &DeskEntry, admission: &Admission, now: u64) -> Result<bool, StoreError> {
        self.client().desk_put(entry, admission, now).await
    }

    async fn desk_remove(&self, conversation: &str) -> Result<(), StoreError> {
        self.client().desk_remove(conversation).await
    }

    async fn desk_list(&self, now: u64) -> Result<Vec<DeskEntry>, StoreError> {
        self.client().desk_list(now).await
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
