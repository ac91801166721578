//! The worker glue: turns `fetch` events into [`crate::api`] calls and implements the ports
//! with KV, Durable Objects, `fetch` and the JS clock. Deliberately thin; everything it calls
//! is tested natively.
//!
//! Requests that touch a user's context go to that user's Durable Object ([`UserSession`]),
//! which serialises them (an async lock held across the whole turn, webhook calls included)
//! and keeps KV's one-write-per-second-per-key rule ([`crate::write_behind`]). Analytics go
//! to the single [`AnalyticsHub`] object. Both find the agent that answers in this isolate's
//! [`AgentCache`] ([`crate::deployment`]): the file uploaded to KV, else the demo agent.

use crate::Edge;
use crate::analytics::{DailyStats, Event};
use crate::api::{self, ApiRequest, ApiResponse};
use crate::channels::{self, Envelope, Received};
use crate::config::{Config, bindings};
use crate::conversation::Limits;
use crate::deployment::{AGENT_KEY, AgentCache, BUILTIN_AGENT, KV_CACHE_SECONDS};
use crate::desk::Admission;
use crate::hub::{HubClient, HubTransport};
use crate::outbox::Outbox;
use crate::ports::{
    AnalyticsStore, Clock, ContextStore, DurableStore, HttpClient, HttpError, HttpRequest, HttpResponse, Redirect,
    StoreError,
};
use crate::write_behind::{WriteBehind, WriteState};
use futures_util::future::{Either, select};
use futures_util::lock::Mutex;
use futures_util::{Future, FutureExt, StreamExt};
use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::time::Duration;
use switchboard_dialog::agent::Agent;
use switchboard_dialog::protocol::DeskEntry;
use wasm_bindgen::{JsCast, JsValue};
use worker::{
    AbortController, ByteStream, Context, Delay, DurableObject, Env, Fetch, Headers, ListOptions, Method,
    ObjectNamespace, Request, RequestInit, RequestRedirect, Response, ResponseBody, Result, State, Storage,
    durable_object, event, kv::KvStore,
};

thread_local! {
    /// Per-IP limits of this isolate.
    static LIMITS: RefCell<Option<Rc<Limits>>> = const { RefCell::new(None) };
    /// This isolate's agent: the uploaded one, parsed and trained once per upload.
    static AGENT: RefCell<AgentCache> = RefCell::new(AgentCache::new(BUILTIN_AGENT));
}

/// The agent that answers this request: KV's `agent:current` (read through KV's cache), else
/// the built-in demo agent.
async fn agent(kv: &KvStore) -> Rc<Agent> {
    if let Some(agent) = AGENT.with_borrow(|cache| cache.pinned(JsClock.now_ms())) {
        return agent;
    }
    let stored = kv.get(AGENT_KEY).cache_ttl(KV_CACHE_SECONDS).text().await.map_err(|e| e.to_string());
    let (agent, logs) = AGENT.with_borrow_mut(|cache| {
        let selected = cache.select(stored);
        cache.recheck_after(JsClock.now_ms());
        selected
    });
    for line in logs {
        worker::console_log!("{line}");
    }
    agent
}

fn isolate_limits(config: &Config) -> Rc<Limits> {
    LIMITS.with(|l| l.borrow_mut().get_or_insert_with(|| Rc::new(Limits::new(config))).clone())
}

/// Settings from the worker's variables and secrets ([`Config::from_vars`]); `None` when
/// TOKEN_SECRET is missing or shorter than 32 bytes. Problems are logged.
fn config(env: &Env, agent: &Agent) -> Option<Config> {
    let read =
        |name: &str| env.secret(name).map(|s| s.to_string()).or_else(|_| env.var(name).map(|v| v.to_string())).ok();
    let (config, problems) = Config::from_vars(read, agent.secret_names());
    for line in problems {
        worker::console_error!("{line}");
    }
    config
}

fn misconfigured() -> Result<Response> {
    worker::console_error!("{}", r#"{"event":"error","detail":"TOKEN_SECRET is not set or too short"}"#);
    respond(ApiResponse {
        status: 500,
        headers: Vec::new(),
        body: r#"{"error":{"code":"internal","message":"server misconfigured"}}"#.into(),
        logs: Vec::new(),
    })
}

/// Where a request is read: in the worker, from the outside, or in a user's object, from
/// the worker (which also hands it a channel delivery's events there).
#[derive(Clone, Copy, PartialEq)]
enum Reader {
    Worker,
    UserObject,
}

/// The largest body a request to `path` may have: the limits the API and the relays check,
/// applied here before the body is read.
fn body_limit(path: &str, reader: Reader) -> usize {
    if path.trim_matches('/').split('/').eq(["v1", "admin", "agent"]) {
        crate::deployment::MAX_AGENT_BYTES
    } else if path.starts_with("/channels/") {
        channels::MAX_DELIVERY_BYTES
    } else if reader == Reader::UserObject && path == RELAY_PATH {
        // One event of a delivery under that limit, as JSON again: escaping (a form's `%01`
        // becomes `\u0001`) can make it longer than the delivery was.
        4 * channels::MAX_DELIVERY_BYTES
    } else {
        api::MAX_BODY_BYTES
    }
}

/// The request as the API reads it and, when its body is over its route's limit, that limit
/// (the body is then left empty). A `Content-Length` over the limit is refused before a byte
/// is read; a body without one (chunked) is read as it arrives and dropped past the limit, so
/// a client cannot make the isolate hold more than that.
async fn api_request(mut req: Request, reader: Reader) -> Result<(ApiRequest, Option<usize>)> {
    let url = req.url()?;
    let limit = body_limit(url.path(), reader);
    let body = match req.method() {
        Method::Get | Method::Head | Method::Options => Some(Vec::new()),
        _ => {
            let declared = req.headers().get("Content-Length")?.and_then(|v| v.trim().parse::<u64>().ok());
            if declared.is_some_and(|length| length > limit as u64) {
                // Cancelled unread, so the runtime need not wait for it.
                if req.inner().body().is_some() {
                    drop(req.stream()?);
                }
                None
            } else if req.inner().body().is_none() {
                Some(Vec::new())
            } else {
                read_capped(req.stream()?, limit).await?
            }
        }
    };
    let oversize = body.is_none().then_some(limit);
    let signatures =
        [channels::meta::SIGNATURE_HEADER, channels::twilio::SIGNATURE_HEADER, channels::telegram::SECRET_HEADER];
    let mut headers = Vec::new();
    for name in signatures {
        if let Some(value) = req.headers().get(name)? {
            headers.push((name.to_ascii_lowercase(), value));
        }
    }
    let request = ApiRequest {
        method: req.method().to_string(),
        path: url.path().to_owned(),
        query: url.query().unwrap_or_default().to_owned(),
        authorization: req.headers().get("Authorization")?,
        origin: req.headers().get("Origin")?,
        ip: req.headers().get("CF-Connecting-IP")?,
        url: url.to_string(),
        headers,
        body: body.unwrap_or_default(),
    };
    Ok((request, oversize))
}

/// The bytes of `stream`, or `None` as soon as they pass `limit` (the rest is never read:
/// dropping the stream cancels it).
async fn read_capped(mut stream: ByteStream, limit: usize) -> Result<Option<Vec<u8>>> {
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// 413 for a body over `limit`, readable by the site that sent it when its origin is allowed.
fn too_large(config: &Config, request: &ApiRequest, limit: usize) -> Result<Response> {
    let mut response = ApiResponse::error(&crate::error::ApiError::PayloadTooLarge(limit));
    if let Some(origin) = request.origin.as_deref() {
        response.headers.extend(allowed_origin(config, origin));
    }
    respond(response)
}

/// The CORS headers that let `origin` read an answer, when the configuration allows it.
fn allowed_origin(config: &Config, origin: &str) -> Vec<(String, String)> {
    if !config.allows_origin(origin) {
        return Vec::new();
    }
    vec![("Access-Control-Allow-Origin".to_owned(), origin.to_owned()), ("Vary".to_owned(), "Origin".to_owned())]
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let entry = Entry::of("fetch", &req);
    let cors_env = env.clone();
    guarded(entry, Some(&cors_env), serve(req, env)).await
}

/// The worker's answer to one request ([`fetch`] catches its panics).
async fn serve(req: Request, env: Env) -> Result<Response> {
    let (request, oversize) = api_request(req, Reader::Worker).await?;
    if request.path == TEST_PANIC_PATH && test_panics_enabled(&env) {
        return test_panic(&env, &request).await;
    }
    let kv = env.kv(bindings::CONTEXT)?;
    let agent = agent(&kv).await;
    let Some(config) = config(&env, &agent) else { return misconfigured() };
    if let Some(limit) = oversize {
        return too_large(&config, &request, limit);
    }
    let limits = isolate_limits(&config);
    let analytics = Hub::new(env.durable_object(bindings::ANALYTICS)?, None);
    let edge =
        Edge::new(&agent, config, Kv(kv), FetchClient, JsClock, analytics).with_limits(limits).outside_user_objects();
    if request.path.starts_with("/channels/") {
        return relay(&edge, &env, request).await;
    }
    let Some(user) = api::serialisation_key(&edge, &request).await else {
        let response = api::handle(&edge, request).await;
        // An upload answers from this isolate at once; others see it within KV's cache time.
        if let Some(deployed) = edge.take_deployed() {
            AGENT.with_borrow_mut(|cache| cache.install(deployed, JsClock.now_ms()));
        }
        return respond(response);
    };
    // The IP limit is counted here, once; the user's object counts the user's messages.
    if let Some(ip) = request.ip.as_deref()
        && let Err(seconds) = edge.limits.ip.check(ip, JsClock.now_ms())
    {
        return respond(ApiResponse::error(&crate::error::ApiError::RateLimited(seconds)));
    }
    let stub = env.durable_object(bindings::USERS)?.get_by_name(&user)?;
    let headers = Headers::new();
    // The client's address goes along for the per-IP limits the object applies (handoffs).
    for (name, value) in
        [("Authorization", &request.authorization), ("Origin", &request.origin), ("CF-Connecting-IP", &request.ip)]
    {
        if let Some(value) = value {
            headers.set(name, value)?;
        }
    }
    let mut init = RequestInit::new();
    init.with_method(Method::from(request.method.clone())).with_headers(headers);
    if !request.body.is_empty() {
        init.with_body(Some(js_sys::Uint8Array::from(request.body.as_slice()).into()));
    }
    let query = if request.query.is_empty() { String::new() } else { format!("?{}", request.query) };
    let forwarded = Request::new_with_init(&format!("https://user.internal{}{query}", request.path), &init)?;
    stub.fetch_with_request(forwarded).await
}

/// The path on which the worker hands a user's object one event of a channel delivery. Only
/// the worker reaches objects, and only with paths it chose: no client can post here.
const RELAY_PATH: &str = "/internal/relay";

/// A channel webhook: verified, parsed and identified here; each event then runs in its
/// user's object, in order; the answer (200, or TwiML) once all have.
async fn relay<S: ContextStore>(
    edge: &Edge<'_, S, FetchClient, JsClock, Hub>,
    env: &Env,
    request: ApiRequest,
) -> Result<Response> {
    let received = channels::receive(edge, &request).await;
    for line in edge.take_logs() {
        worker::console_log!("{line}");
    }
    let (channel, envelopes) = match received {
        Err(e) => return respond(e.response()),
        Ok(Received::Answer(response)) => return respond(response),
        Ok(Received::Events { channel, envelopes, .. }) => (channel, envelopes),
    };
    let users = env.durable_object(bindings::USERS)?;
    let mut answers = Vec::new();
    for envelope in envelopes {
        let mut init = RequestInit::new();
        let body = serde_json::to_string(&envelope).map_err(|e| worker::Error::RustError(e.to_string()))?;
        init.with_method(Method::Post).with_body(Some(JsValue::from_str(&body)));
        let forwarded = Request::new_with_init(&format!("https://user.internal{RELAY_PATH}"), &init)?;
        let mut response = users.get_by_name(&envelope.user)?.fetch_with_request(forwarded).await?;
        if response.status_code() != 200 {
            // The channel redelivers; what was done already is dropped as seen.
            return respond(ApiResponse::error(&crate::error::ApiError::Store(StoreError(format!(
                "{} event failed in the user's object: {}",
                channel.name(),
                response.status_code()
            )))));
        }
        let answer = response.text().await?;
        answers.push((!answer.is_empty()).then_some(answer));
    }
    respond(channels::acknowledge(channel, &edge.config.channels, &answers))
}

/// In the user's object: one event of a delivery. The typing indicator goes out at once, the
/// replies after the answer (`wait_until`), so the webhook is acknowledged without waiting
/// for the channel's API.
async fn relay_in_object<S: ContextStore, D: DurableStore>(
    state: &State,
    edge: &Edge<'_, S, FetchClient, JsClock, Hub>,
    seen: &D,
    request: &ApiRequest,
) -> ApiResponse {
    let envelope: Envelope = match serde_json::from_slice(&request.body) {
        Ok(envelope) => envelope,
        Err(e) => return ApiResponse::error(&crate::error::ApiError::BadJson(e.to_string())),
    };
    let channel = envelope.channel;
    let typing = |indicator| send_later(state, channel, vec![indicator]);
    let rendered = match channels::deliver(edge, seen, &envelope, typing).await {
        Ok(rendered) => rendered,
        Err(e) => return ApiResponse::error(&e),
    };
    if !rendered.sends.is_empty() {
        send_later(state, channel, rendered.sends);
    }
    let mut response = ApiResponse::text(200, "text/plain; charset=utf-8", rendered.answer.unwrap_or_default());
    response.logs = edge.take_logs();
    response
}

/// Sends `messages` on `channel` after the answer, failures logged.
fn send_later(state: &State, channel: channels::Channel, messages: Vec<HttpRequest>) {
    wait_until_caught(state, "relay.wait_until", async move {
        for line in channels::send_all(&FetchClient, channel, messages).await {
            worker::console_error!("{line}");
        }
    });
}

/// Runs `task` after the answer (`wait_until`); a panic in it is caught and logged as
/// [`caught`] does, never left to unwind through the runtime.
fn wait_until_caught(state: &State, entry: &'static str, task: impl Future<Output = ()> + 'static) {
    state.wait_until(caught(entry, None, task).map(drop));
}

fn respond(response: ApiResponse) -> Result<Response> {
    for line in &response.logs {
        worker::console_log!("{line}");
    }
    let headers = Headers::new();
    let typed = response.headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("Content-Type"));
    if response.status != 204 && !typed {
        headers.set("Content-Type", "application/json; charset=utf-8")?;
    }
    for (name, value) in &response.headers {
        headers.append(name, value)?;
    }
    headers.set("Cache-Control", "no-store")?;
    Ok(Response::from_bytes(response.body.into_bytes())?.with_status(response.status).with_headers(headers))
}

// A panic that still happens. The worker is built with `panic = "unwind"` (`cargo xtask
// build`: std rebuilt for it, wasm exception handling), so a panic unwinds to the entry point
// that was called (the worker's `fetch`, an object's `fetch` or `alarm`), which answers the
// JSON 500 of every internal error and logs one line. The isolate's other requests go on: with
// `panic = "abort"` a panic trapped, and the runtime failed every request in flight on the
// instance while it was instantiated again. Traps that are not panics (out of memory, stack
// overflow) still do that.

thread_local! {
    /// Where the panic being caught happened (`file:line:column`), set by [`panic_hook`].
    static PANICKED_AT: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Whether [`panic_hook`] replaced the hook the `worker` crate sets at start.
    static HOOKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Records where a panic happened, and nothing else. The hook it replaces prints the panic's
/// message, and a message may quote the input (a string sliced inside a character quotes the
/// string): the customer's words would reach the log. Installed at the first request rather
/// than at start, so that it replaces any hook a start function set, whatever their order.
fn panic_hook() {
    if HOOKED.replace(true) {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
        PANICKED_AT.with_borrow_mut(|p| *p = at);
    }));
}

/// The entry point a request came in by, for the panic log line.
struct Entry {
    name: &'static str,
    method: String,
    route: String,
    /// The `Origin` header: the 500 of a panic stays readable by the site that sent it.
    origin: Option<String>,
}

impl Entry {
    fn of(name: &'static str, req: &Request) -> Self {
        let origin = req.headers().get("Origin").ok().flatten();
        Entry { name, method: req.method().to_string(), route: route_of(&req.path()), origin }
    }
}

/// Path segments that are the API's own words; every other segment is logged as `*` (ids, and
/// whatever else a client put in the path).
const ROUTE_WORDS: &str = "v1 health openapi.json conversations messages identify feedback end analytics admin \
    agent queue claim resolve release demo fulfillment channels messenger whatsapp telegram twilio sms voice \
    internal relay record days desk __test panic";

/// `path` with every segment not in [`ROUTE_WORDS`] replaced by `*`, at most 8 segments.
fn route_of(path: &str) -> String {
    let word = |s: &str| ROUTE_WORDS.split_whitespace().any(|w| w == s);
    let segments = path.trim_start_matches('/').split('/').take(8);
    segments.map(|s| if word(s) { s } else { "*" }).fold(String::new(), |route, s| route + "/" + s)
}

/// `body`'s output, or `None` when it panicked: then one line is logged, with where the
/// request came in and where the panic happened; never the panic's message, the request's
/// body, query or ids.
async fn caught<T>(entry: &str, request: Option<&Entry>, body: impl Future<Output = T>) -> Option<T> {
    panic_hook();
    let outcome = AssertUnwindSafe(body).catch_unwind().await;
    if outcome.is_err() {
        let at = PANICKED_AT.with_borrow_mut(Option::take);
        let (method, route) = (request.map(|r| &r.method), request.map(|r| &r.route));
        let line = serde_json::json!({ "event": "panic", "entry": entry, "method": method, "route": route, "at": at });
        worker::console_error!("{line}");
    }
    outcome.ok()
}

/// Runs a request's `body`; a panic in it answers the JSON 500 of every internal error
/// (`{"error":{"code":"internal","message":"internal error; please retry"}}`), with the CORS
/// headers of an allowed origin so that the widget can read it and retry.
async fn guarded(entry: Entry, env: Option<&Env>, body: impl Future<Output = Result<Response>>) -> Result<Response> {
    match caught(entry.name, Some(&entry), body).await {
        Some(result) => result,
        None => {
            // The body `ApiError` gives every internal failure (store, corrupt record).
            let body = serde_json::to_string(&crate::error::ApiError::Corrupt(String::new()).body());
            let headers = match (env, entry.origin.as_deref()) {
                (Some(env), Some(origin)) => caught("cors", None, cors_headers(env, origin)).await.unwrap_or_default(),
                _ => Vec::new(),
            };
            respond(ApiResponse { status: 500, headers, body: body.unwrap_or_default(), logs: Vec::new() })
        }
    }
}

/// The CORS headers for `origin` when the configuration allows it.
async fn cors_headers(env: &Env, origin: &str) -> Vec<(String, String)> {
    let Ok(kv) = env.kv(bindings::CONTEXT) else { return Vec::new() };
    let agent = agent(&kv).await;
    config(env, &agent).map(|config| allowed_origin(&config, origin)).unwrap_or_default()
}

/// Runs an alarm's `body`; a panic in it fails the alarm, which the runtime retries.
async fn guarded_alarm(entry: &'static str, body: impl Future<Output = Result<Response>>) -> Result<Response> {
    caught(entry, None, body).await.unwrap_or_else(|| Err(worker::Error::RustError("the alarm panicked".into())))
}

// The route that panics on purpose, for the end-to-end test of the above (tests/tests/panics.rs):
// a panic needs a way in that no input reaches, since every known one is fixed. It answers only
// when the worker's variable SWITCHBOARD_TEST_PANIC_ROUTE is "1", which the test's worker sets and
// wrangler.toml does not (elsewhere it is 404, as any unknown path); it is no API route, so it is
// not in openapi.json.

/// The path of the deliberate panic: `POST /__test/panic` panics in the worker's `fetch`,
/// `POST /__test/panic?in=object` in a user's object, `?in=wait_until` in a task a user's
/// object runs after its answer.
const TEST_PANIC_PATH: &str = "/__test/panic";
/// The variable that opens [`TEST_PANIC_PATH`].
const TEST_PANIC_VAR: &str = "SWITCHBOARD_TEST_PANIC_ROUTE";

fn test_panics_enabled(env: &Env) -> bool {
    env.var(TEST_PANIC_VAR).is_ok_and(|v| v.to_string() == "1")
}

/// Panics here, or in the user object `panic-test` for `?in=object`.
async fn test_panic(env: &Env, request: &ApiRequest) -> Result<Response> {
    if request.query != "in=object" && request.query != "in=wait_until" {
        deliberate_panic(&request.body);
    }
    let headers = Headers::new();
    if let Some(origin) = &request.origin {
        headers.set("Origin", origin)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(js_sys::Uint8Array::from(request.body.as_slice()).into()));
    let url = format!("https://user.internal{TEST_PANIC_PATH}?{}", request.query);
    let forwarded = Request::new_with_init(&url, &init)?;
    env.durable_object(bindings::USERS)?.get_by_name("panic-test")?.fetch_with_request(forwarded).await
}

/// The deliberate panic. Its message quotes the request's body, as a slicing panic quotes the
/// text it cut: the test checks that none of it reaches the log.
#[allow(clippy::panic)]
fn deliberate_panic(body: &[u8]) -> ! {
    panic!("deliberate panic ({TEST_PANIC_VAR}) over {}", String::from_utf8_lossy(body))
}

/// One user's serialiser: every request touching the user's context runs here, one at a time.
#[durable_object]
pub struct UserSession {
    state: State,
    env: Env,
    turns: Mutex<()>,
    writes: RefCell<WriteState>,
    limits: RefCell<Option<Rc<Limits>>>,
}

// wasm-bindgen asks this of an exported class when panics unwind: a request that panicked
// must not leave the object broken for the next ones. The lock and the cells are released by
// their guards as the panic unwinds, and what they hold only paces and schedules KV writes
// (storage holds the parked values; `fetch` sets the alarm for them after a panic too).
impl std::panic::RefUnwindSafe for UserSession {}

impl DurableObject for UserSession {
    fn new(state: State, env: Env) -> Self {
        Self { state, env, turns: Mutex::new(()), writes: RefCell::default(), limits: RefCell::default() }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let entry = Entry::of("UserSession.fetch", &req);
        let response = guarded(entry, Some(&self.env), self.serve(req)).await;
        // After a panic too: a write the request parked before it is flushed by the alarm.
        self.schedule_flush().await?;
        response
    }

    async fn alarm(&self) -> Result<Response> {
        guarded_alarm("UserSession.alarm", self.flush()).await
    }
}

impl UserSession {
    /// One request in the user's object ([`DurableObject::fetch`] catches its panics).
    async fn serve(&self, req: Request) -> Result<Response> {
        let (mut request, oversize) = api_request(req, Reader::UserObject).await?;
        request.ip = None;
        let kv = Kv(self.env.kv(bindings::CONTEXT)?);
        let agent = agent(&kv.0).await;
        let Some(config) = config(&self.env, &agent) else { return misconfigured() };
        if let Some(limit) = oversize {
            return too_large(&config, &request, limit);
        }
        let limits = self.limits.borrow_mut().get_or_insert_with(|| Rc::new(Limits::new(&config))).clone();
        // Held across the whole turn, webhook calls included: the runtime lets other requests
        // in while this one awaits I/O, and they must wait for the context it will write.
        let _turn = self.turns.lock().await;
        // After the lock, so the end-to-end test also shows a panic releases it.
        if request.path == TEST_PANIC_PATH && test_panics_enabled(&self.env) {
            if request.query == "in=wait_until" {
                // Answered at once; the panic comes in the task that runs after the answer.
                let body = request.body.clone();
                wait_until_caught(&self.state, "UserSession.wait_until", async move { deliberate_panic(&body) });
                return respond(ApiResponse::text(202, "application/json", "{}".into()));
            }
            deliberate_panic(&request.body);
        }
        let durable = ObjectStorage(self.state.storage());
        let store = WriteBehind::new(&kv, &durable, &self.writes, JsClock.now_ms());
        // Events are sent after the answer, not before it (`wait_until` keeps the object at it).
        let deferred = Rc::new(RefCell::new(Vec::new()));
        let analytics = Hub::new(self.env.durable_object(bindings::ANALYTICS)?, Some(deferred.clone()));
        let edge = Edge::new(&agent, config, store, FetchClient, JsClock, analytics).with_limits(limits);
        let response = if request.path == RELAY_PATH {
            relay_in_object(&self.state, &edge, &durable, &request).await
        } else {
            api::handle(&edge, request).await
        };
        let events = std::mem::take(&mut *deferred.borrow_mut());
        if !events.is_empty() {
            Hub::send_after(&self.state, self.env.durable_object(bindings::ANALYTICS)?, events);
        }
        self.schedule_flush().await?;
        respond(response)
    }

    /// Sets the alarm for the writes parked so far, if any.
    async fn schedule_flush(&self) -> Result<()> {
        let flush_at = self.writes.borrow().flush_at_ms;
        if let Some(at) = flush_at {
            let offset = at.saturating_sub(JsClock.now_ms()).max(1) as i64;
            self.state.storage().set_alarm(offset).await?;
        }
        Ok(())
    }

    /// The alarm: parked KV writes are flushed ([`DurableObject::alarm`] catches its panics).
    async fn flush(&self) -> Result<Response> {
        let _turn = self.turns.lock().await;
        let kv = Kv(self.env.kv(bindings::CONTEXT)?);
        let durable = ObjectStorage(self.state.storage());
        let flushed = WriteBehind::new(&kv, &durable, &self.writes, JsClock.now_ms())
            .flush()
            .await
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        worker::console_log!("{}", serde_json::json!({ "event": "kv_flush", "keys": flushed }));
        Response::empty()
    }
}

/// The analytics store: one [`DailyStats`] per day in this object's storage.
#[durable_object]
pub struct AnalyticsHub {
    state: State,
}

impl DurableObject for AnalyticsHub {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn alarm(&self) -> Result<Response> {
        guarded_alarm("AnalyticsHub.alarm", self.sweep()).await
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let entry = Entry::of("AnalyticsHub.fetch", &req);
        guarded(entry, None, self.serve(req)).await
    }
}

impl AnalyticsHub {
    /// One call from the worker or a user's object ([`DurableObject::fetch`] catches its
    /// panics): the bytes go to [`crate::hub::serve_bytes`], its answer comes back.
    async fn serve(&self, mut req: Request) -> Result<Response> {
        let storage = ObjectStorage(self.state.storage());
        let served = crate::hub::serve_bytes(&storage, &req.bytes().await?).await;
        if let Some(ms) = served.alarm_in_ms
            && self.state.storage().get_alarm().await?.is_none()
        {
            self.state.storage().set_alarm(Duration::from_millis(ms)).await?;
        }
        let headers = Headers::new();
        headers.set("Content-Type", "application/json")?;
        Ok(Response::ok(served.answer)?.with_headers(headers))
    }

    /// The alarm: expired waiting entries leave the desk; the next sweep is set for the next
    /// one to expire.
    async fn sweep(&self) -> Result<Response> {
        let storage = ObjectStorage(self.state.storage());
        if let Some(wait) = crate::hub::sweep(&storage, JsClock.now_ms()).await? {
            self.state.storage().set_alarm(Duration::from_millis(wait)).await?;
        }
        Response::empty()
    }
}

impl From<StoreError> for worker::Error {
    fn from(e: StoreError) -> Self {
        worker::Error::RustError(e.to_string())
    }
}

thread_local! {
    /// The analytics events of this isolate's users' objects on their way to the hub
    /// ([`crate::outbox`]: one call in flight, the events recorded meanwhile in the next).
    static OUTBOX: Rc<RefCell<Outbox>> = Rc::default();
}

/// The analytics object, called from the worker and from users' objects. With `deferred`,
/// recorded events wait there for the caller to send them once it has answered.
struct Hub {
    client: HubClient<HubFetch>,
    deferred: Option<Rc<RefCell<Vec<Event>>>>,
}

impl Hub {
    fn new(namespace: ObjectNamespace, deferred: Option<Rc<RefCell<Vec<Event>>>>) -> Self {
        Hub { client: HubClient(HubFetch(namespace)), deferred }
    }
}

/// The one hub object, reached with `fetch`: a call's JSON posted, its answer read back.
struct HubFetch(ObjectNamespace);

impl HubTransport for HubFetch {
    async fn send(&self, call: String) -> std::result::Result<String, StoreError> {
        let store_error = |e: worker::Error| StoreError(e.to_string());
        let stub = self.0.get_by_name("analytics").map_err(store_error)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_body(Some(JsValue::from_str(&call)));
        let request = Request::new_with_init("https://analytics.internal/call", &init).map_err(store_error)?;
        let mut response = stub.fetch_with_request(request).await.map_err(store_error)?;
        match response.status_code() {
            200 => response.text().await.map_err(store_error),
            status => Err(StoreError(format!("the hub answered {status}"))),
        }
    }
}

impl Hub {
    /// Sends a turn's `events` to the hub once the caller has answered, through the isolate's
    /// outbox: at once when no call to the hub is in flight, else with the next call, which
    /// carries every event recorded meanwhile. The call runs in the `wait_until` of the request
    /// that started the sender; a failed batch is logged, not sent again.
    fn send_after(state: &State, namespace: ObjectNamespace, events: Vec<Event>) {
        let outbox = OUTBOX.with(Rc::clone);
        let Some(ticket) = outbox.borrow_mut().push(events, JsClock.now_ms()) else { return };
        let hub = Hub::new(namespace, None);
        let send = async move {
            let sent = crate::outbox::drain(
                &outbox,
                ticket,
                || JsClock.now_ms(),
                |batch| {
                    let hub = &hub;
                    async move {
                        if let Err(e) = hub.record(&batch).await {
                            let (events, detail) = (batch.len(), e.to_string());
                            let line =
                                serde_json::json!({ "event": "analytics_failed", "events": events, "detail": detail });
                            worker::console_error!("{line}");
                        }
                    }
                },
            );
            if caught("UserSession.wait_until", None, sent).await.is_none() {
                outbox.borrow_mut().abandon(ticket);
            }
            let dropped = outbox.borrow_mut().take_dropped();
            if dropped > 0 {
                worker::console_error!("{}", serde_json::json!({ "event": "analytics_dropped", "events": dropped }));
            }
        };
        state.wait_until(send);
    }
}

impl AnalyticsStore for Hub {
    async fn record(&self, events: &[Event]) -> std::result::Result<(), StoreError> {
        if let Some(deferred) = &self.deferred {
            deferred.borrow_mut().extend_from_slice(events);
            return Ok(());
        }
        self.client.record(events).await
    }

    async fn days(&self, from: &str, to: &str) -> std::result::Result<Vec<DailyStats>, StoreError> {
        self.client.days(from, to).await
    }

    async fn desk_put(
        &self,
        entry: &DeskEntry,
        admission: &Admission,
        now: u64,
    ) -> std::result::Result<bool, StoreError> {
        self.client.desk_put(entry, admission, now).await
    }

    async fn desk_remove(&self, conversation: &str) -> std::result::Result<(), StoreError> {
        self.client.desk_remove(conversation).await
    }

    async fn desk_list(&self, now: u64) -> std::result::Result<Vec<DeskEntry>, StoreError> {
        self.client.desk_list(now).await
    }
}

struct ObjectStorage(Storage);

impl DurableStore for ObjectStorage {
    async fn get(&self, key: &str) -> std::result::Result<Option<String>, StoreError> {
        self.0.get::<String>(key).await.map_err(|e| StoreError(e.to_string()))
    }

    async fn put(&self, key: &str, value: &str) -> std::result::Result<(), StoreError> {
        self.0.put(key, value).await.map_err(|e| StoreError(e.to_string()))
    }

    async fn delete(&self, key: &str) -> std::result::Result<(), StoreError> {
        self.0.delete(key).await.map(|_| ()).map_err(|e| StoreError(e.to_string()))
    }

    async fn list(&self, prefix: &str) -> std::result::Result<Vec<(String, String)>, StoreError> {
        let map =
            self.0.list_with_options(ListOptions::new().prefix(prefix)).await.map_err(|e| StoreError(e.to_string()))?;
        let mut out = Vec::new();
        for entry in map.entries() {
            let pair: js_sys::Array = entry.map_err(|e| StoreError(format!("{e:?}")))?.unchecked_into();
            if let (Some(k), Some(v)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
                out.push((k, v));
            }
        }
        Ok(out)
    }
}

struct Kv(KvStore);

impl ContextStore for Kv {
    async fn get(&self, key: &str) -> std::result::Result<Option<String>, StoreError> {
        self.0.get(key).text().await.map_err(|e| StoreError(e.to_string()))
    }

    async fn put(&self, key: &str, value: &str, ttl_seconds: Option<u64>) -> std::result::Result<(), StoreError> {
        let mut put = self.0.put(key, value).map_err(|e| StoreError(e.to_string()))?;
        if let Some(ttl) = ttl_seconds {
            put = put.expiration_ttl(ttl);
        }
        put.execute().await.map_err(|e| StoreError(e.to_string()))
    }
}

struct FetchClient;

impl HttpClient for FetchClient {
    async fn send(&self, request: HttpRequest) -> std::result::Result<HttpResponse, HttpError> {
        let headers = Headers::new();
        for (name, value) in &request.headers {
            headers.set(name, value).map_err(transport)?;
        }
        let (timeout_ms, max_body, redirect) = (request.timeout_ms, request.max_body, request.redirect);
        let mut init = RequestInit::new();
        init.with_method(Method::from(request.method.to_owned())).with_headers(headers).with_redirect(match redirect {
            // The 3xx itself comes back; its `Location` is never requested.
            Redirect::Refuse => RequestRedirect::Manual,
            Redirect::Follow => RequestRedirect::Follow,
        });
        if let Some(body) = request.body {
            init.with_body(Some(body.into()));
        }
        let outbound = Request::new_with_init(&request.url, &init).map_err(transport)?;
        let controller = AbortController::default();
        let signal = controller.signal();
        let exchange = async {
            let mut response = Fetch::Request(outbound).send_with_signal(&signal).await.map_err(transport)?;
            let status = response.status_code();
            if redirect == Redirect::Refuse && (300..400).contains(&status) {
                return Err(HttpError::Redirected(status));
            }
            let body = read_response(&mut response, max_body).await?;
            Ok(HttpResponse { status, body })
        };
        let timeout = Delay::from(Duration::from_millis(timeout_ms.into()));
        match select(Box::pin(exchange), timeout).await {
            Either::Left((Ok(response), _)) => Ok(response),
            Either::Left((Err(e), _)) => {
                // Whatever is still coming (a redirect's body, the rest of an oversize one) is
                // not wanted.
                controller.abort();
                Err(e)
            }
            Either::Right(_) => {
                controller.abort();
                Err(HttpError::Timeout(timeout_ms))
            }
        }
    }
}

fn transport(e: worker::Error) -> HttpError {
    HttpError::Transport(e.to_string())
}

/// The body of `response`, read chunk by chunk and given up on past `max_body` (or at once
/// when its `Content-Length` says it is larger): a server cannot push more than that into
/// the isolate's memory.
async fn read_response(response: &mut Response, max_body: usize) -> std::result::Result<Vec<u8>, HttpError> {
    let declared = response.headers().get("Content-Length").ok().flatten().and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > max_body as u64) {
        return Err(HttpError::TooLarge(max_body));
    }
    let stream = match response.body() {
        ResponseBody::Empty => return Ok(Vec::new()),
        ResponseBody::Body(bytes) if bytes.len() > max_body => return Err(HttpError::TooLarge(max_body)),
        ResponseBody::Body(bytes) => return Ok(bytes.clone()),
        ResponseBody::Stream(_) => response.stream().map_err(transport)?,
    };
    read_capped(stream, max_body).await.map_err(transport)?.ok_or(HttpError::TooLarge(max_body))
}

struct JsClock;

impl Clock for JsClock {
    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }

    // Every Workers runtime has crypto.getRandomValues; a predictable id (a visitor credential,
    // a conversation id) would be worse than a failed request.
    #[allow(clippy::expect_used)]
    fn random_id(&self) -> String {
        let mut bytes = [0u8; 16];
        let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
        scope
            .crypto()
            .and_then(|c| c.get_random_values_with_u8_array(&mut bytes))
            .expect("crypto.getRandomValues is available in workers");
        crate::keys::hex(&bytes)
    }
}
