//! The edge's view of its platform: a key-value store, outbound HTTP, and a clock.
//!
//! The worker implements these with KV, `fetch` and `Date.now()`/`crypto` (see `glue`);
//! tests use [`crate::memory`]. Futures need not be `Send`: a worker isolate is single-threaded.
#![allow(async_fn_in_trait)]

use switchboard_dialog::protocol::DeskEntry;

/// A failure of the backing store, with the platform's own words.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("context store: {0}")]
pub struct StoreError(pub String);

/// Where conversation context lives (the `CONTEXT` KV namespace in the worker).
pub trait ContextStore {
    /// The value under `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Stores `value` under `key`, to expire `ttl_seconds` from now when given.
    async fn put(&self, key: &str, value: &str, ttl_seconds: Option<u64>) -> Result<(), StoreError>;
}

/// An HTTP response as the edge needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Body bytes, at most the limit the caller asked for: a longer body is never a
    /// response but [`HttpError::TooLarge`], whatever the server sends.
    pub body: Vec<u8>,
}

/// Why an outbound request produced no response.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum HttpError {
    /// No answer within the timeout.
    #[error("timed out after {0} ms")]
    Timeout(u32),
    /// The body was larger than allowed: the client stopped reading at the limit (or at a
    /// `Content-Length` over it), so a server cannot push more than that into memory.
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    /// A 3xx answer to a request that refuses redirects ([`Redirect::Refuse`]); where it
    /// pointed is not kept (a `Location` may carry anything).
    #[error("answered a redirect (HTTP {0}), not followed")]
    Redirected(u16),
    /// Connection or protocol failure.
    #[error("transport: {0}")]
    Transport(String),
}

/// An outbound HTTP request.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Absolute URL.
    pub url: String,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<String>,
    /// Give up after this long.
    pub timeout_ms: u32,
    /// Give up when the response body is larger than this.
    pub max_body: usize,
    /// What to do with a redirect.
    pub redirect: Redirect,
}

/// What the client does with a redirect (a 3xx answer).
///
/// Every request the edge sends carries credentials or personal data (a bearer token or
/// secret header, session parameters, a signed transcript), so it refuses redirects: a
/// webhook that answers 302 to another host would otherwise receive the same headers there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Redirect {
    /// A 3xx is [`HttpError::Redirected`]; its `Location` is never requested.
    #[default]
    Refuse,
    /// The platform follows redirects, resending the headers (what `fetch` does by default).
    /// Only for a request that carries nothing another host may not see.
    Follow,
}

/// Outbound HTTP (fulfillment webhooks and lookups).
pub trait HttpClient {
    /// Sends `request`; a timeout, an oversize body, a refused redirect or a transport failure
    /// is an [`HttpError`], any other status is a response. The body is read incrementally and
    /// never beyond `request.max_body`.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError>;
}

/// The platform's time and randomness: the two things a pure function cannot make.
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// A fresh unguessable identifier: lowercase hex, at least 128 bits.
    fn random_id(&self) -> String;
}

/// The hub of what spans users: analytics, one [`DailyStats`](crate::analytics::DailyStats)
/// per day, and the handoff desk, one [`DeskEntry`] per conversation waiting for or with a
/// human (the worker's single hub Durable Object; [`crate::memory::MemoryAnalytics`] in tests).
pub trait AnalyticsStore {
    /// Folds events into their days.
    async fn record(&self, events: &[crate::analytics::Event]) -> Result<(), StoreError>;
    /// The stored days within `from..=to` (`YYYY-MM-DD`).
    async fn days(&self, from: &str, to: &str) -> Result<Vec<crate::analytics::DailyStats>, StoreError>;
    /// Puts a conversation on the desk at `now`, replacing its earlier entry; `false` when
    /// the admission refuses it (its origin has too many waiting, see [`crate::desk`]).
    async fn desk_put(
        &self,
        entry: &DeskEntry,
        admission: &crate::desk::Admission,
        now: u64,
    ) -> Result<bool, StoreError>;
    /// Takes a conversation off the desk.
    async fn desk_remove(&self, conversation: &str) -> Result<(), StoreError>;
    /// Every conversation on the desk at `now` (expired waiting ones are not).
    async fn desk_list(&self, now: u64) -> Result<Vec<DeskEntry>, StoreError>;
}

/// A Durable Object's own storage: strongly consistent, no per-key write limit, local to the
/// object. Holds writes that KV must not take yet (see [`crate::write_behind`]).
pub trait DurableStore {
    /// The value under `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Stores `value` under `key`.
    async fn put(&self, key: &str, value: &str) -> Result<(), StoreError>;
    /// Removes `key`.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Keys and values under `prefix`.
    async fn list(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError>;
}
