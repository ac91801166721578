//! The HTTP API v1, platform-free: an [`ApiRequest`] in, an [`ApiResponse`] out. The OpenAPI 3
//! document (`edge/openapi.json`, served at `/v1/openapi.json`) is the reference; a test keeps
//! it and the router in step. Bodies are limited to [`MAX_BODY_BYTES`], an agent file to
//! [`MAX_AGENT_BYTES`].
//!
//! | method | path | body | reply |
//! |---|---|---|---|
//! | GET | `/v1/health` | | `{"status":"ok"}` |
//! | GET | `/v1/openapi.json` | | the OpenAPI document |
//! | POST | `/v1/conversations` | `CreateConversation` | 201 new / 200 resumed `ConversationCreated` |
//! | POST | `/v1/conversations/{id}/messages` | `SendMessage` | `Messages` (the bot's replies) |
//! | GET | `/v1/conversations/{id}/messages?after=&before=&limit=` | | `Messages` (history) |
//! | POST | `/v1/conversations/{id}/identify` | `Identify` | `ConversationCreated` |
//! | POST | `/v1/conversations/{id}/feedback` | `Feedback` | 204 |
//! | POST | `/v1/conversations/{id}/end` | | 204 |
//! | GET | `/v1/analytics?from=&to=` (admin) | | `Report` |
//! | PUT | `/v1/admin/agent` (admin) | agent file, JSON or YAML, ≤ 1 MiB | `AgentSummary` |
//! | GET | `/v1/admin/agent` (admin) | | `StoredAgentFile`; 404 while the built-in agent answers |
//! | GET | `/v1/agent/queue?after=&limit=` (agent) | | `Queue`: a page of the conversations waiting for or with a human |
//! | GET | `/v1/agent/conversations/{id}?after=` (agent) | | `AgentConversation`; 404 when not on the desk |
//! | POST | `/v1/agent/conversations/{id}/claim` (agent) | | `DeskEntry`; 409 when another agent has it |
//! | POST | `/v1/agent/conversations/{id}/messages` (agent) | `AgentReply` | `Message` (role `agent`, `author`) |
//! | POST | `/v1/agent/conversations/{id}/resolve` (agent) | | 204: resolved, off the desk |
//! | POST | `/v1/agent/conversations/{id}/release` (agent) | | 204: back to the bot, off the desk |
//! | POST | `/demo/fulfillment` | CX `WebhookRequest` | CX `WebhookResponse` |

use crate::analytics;
use crate::channels;
use crate::conversation::{Edge, HistoryPage};
use crate::demo;
use crate::deployment::MAX_AGENT_BYTES;
use crate::error::ApiError;
use crate::ports::{AnalyticsStore, Clock, ContextStore, HttpClient};
use serde::de::DeserializeOwned;
use switchboard_dialog::entity::Date;
use switchboard_dialog::protocol::{
    AgentReply, ConversationCreated, CreateConversation, Feedback, Identify, Messages, Queue, SendMessage,
};
use switchboard_dialog::webhook::WebhookRequest;

/// Largest request body accepted, but for an agent file ([`MAX_AGENT_BYTES`]).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The OpenAPI document.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// An HTTP request, reduced to what the API reads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiRequest {
    /// Upper-case method.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// Query string without `?`.
    pub query: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The `Origin` header (browsers send it on cross-origin calls).
    pub origin: Option<String>,
    /// The client's IP address (`CF-Connecting-IP`).
    pub ip: Option<String>,
    /// The full URL as requested (channel signatures cover it).
    pub url: String,
    /// Other headers the channel relays read (signatures), names in lower case.
    pub headers: Vec<(String, String)>,
    /// Raw body.
    pub body: Vec<u8>,
}

impl ApiRequest {
    /// A POST with a JSON body.
    pub fn post(path: &str, body: &str) -> Self {
        Self { method: "POST".into(), path: path.into(), body: body.as_bytes().to_vec(), ..Self::default() }
    }

    /// A GET; a `?query` in `path` is split off.
    pub fn get(path: &str) -> Self {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        Self { method: "GET".into(), path: path.into(), query: query.into(), ..Self::default() }
    }

    /// The same request with `Authorization: Bearer <token>`.
    pub fn bearer(mut self, token: &str) -> Self {
        self.authorization = Some(format!("Bearer {token}"));
        self
    }

    /// The same request from a browser page at `origin`.
    pub fn from_origin(mut self, origin: &str) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// The same request with a header (names are compared in lower case).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// The value of header `name`, if sent.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.query.split('&').filter_map(|p| p.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
    }
}

/// An HTTP response: status, headers and JSON body, plus log lines for the host to emit.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    /// Status code.
    pub status: u16,
    /// Headers beyond `Content-Type` (CORS, `Retry-After`).
    pub headers: Vec<(String, String)>,
    /// JSON text (empty for 204).
    pub body: String,
    /// Structured log lines (JSON, no personal data).
    pub logs: Vec<String>,
}

impl ApiResponse {
    fn json(status: u16, value: &impl serde::Serialize) -> Self {
        Self {
            status,
            headers: Vec::new(),
            // The API's types have string keys only: serialising cannot fail.
            body: serde_json::to_string(value).unwrap_or_default(),
            logs: Vec::new(),
        }
    }

    /// A response of another media type (TwiML, a handshake's plain text).
    pub fn text(status: u16, content_type: &str, body: String) -> Self {
        Self { status, headers: vec![("Content-Type".into(), content_type.into())], body, logs: Vec::new() }
    }

    fn empty(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: String::new(), logs: Vec::new() }
    }

    /// The JSON error response for `error`.
    pub fn error(error: &ApiError) -> Self {
        let mut response = Self::json(error.status(), &error.body());
        if error.status() >= 500 {
            response.logs.push(serde_json::json!({ "event": "error", "detail": error.to_string() }).to_string());
        }
        if let ApiError::RateLimited(seconds) = error {
            response.headers.push(("Retry-After".into(), seconds.to_string()));
        }
        response
    }
}

/// The user whose Durable Object must serialise this request, when it touches a user's
/// context: the token's user for conversation routes, the visitor's for resuming. Linking a
/// verified identity (an identified open, `identify`) runs in the object of the user that
/// survives the link ([`Edge::survivor`]), so that user's context is read where it is
/// written. `None`: the request touches no existing user (a new visitor, a bad request) and
/// runs where it arrived.
pub async fn serialisation_key<S, H, C, A>(edge: &Edge<'_, S, H, C, A>, request: &ApiRequest) -> Option<String>
where
    S: ContextStore,
    H: HttpClient,
    C: Clock,
    A: AnalyticsStore,
{
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    let (fallback, claims) = match segments.as_slice() {
        // Agents act on a conversation in its user's object; the desk says which user.
        ["v1", "agent", "conversations", id, ..] => {
            agent_name(edge, request).ok()?;
            let user = edge.desk_user(id).await.ok()?;
            // The desk may name a user merged into another since: the survivor serialises.
            return edge.load_context(&user).await.ok().map(|(survivor, _)| survivor.to_string());
        }
        ["v1", "conversations", id, rest] => {
            let (_, user) = edge.authorise(id, request.authorization.as_deref()).ok()?;
            match *rest {
                "identify" => (Some(user), serde_json::from_slice::<Identify>(&request.body).ok()),
                _ => return Some(user.to_string()),
            }
        }
        ["v1", "conversations"] if request.method == "POST" => {
            let create: CreateConversation = serde_json::from_slice(&request.body).ok()?;
            let claims = create.identity.filter(Identify::is_present);
            let visitor = match (&claims, create.visitor_id.as_deref()) {
                (None, Some(given)) => edge.visitor_user(given, false).await.ok().flatten().map(|v| v.user),
                _ => None,
            };
            (visitor, claims)
        }
        _ => return None,
    };
    match claims.and_then(|c| edge.verify(&c).ok()) {
        Some(verified) => edge.survivor(&verified).await.ok().map(|u| u.to_string()),
        None => fallback.map(|u| u.to_string()),
    }
}

/// Routes a request: CORS and rate limits first, then the endpoint.
pub async fn handle<S: ContextStore, H: HttpClient, C: Clock, A: AnalyticsStore>(
    edge: &Edge<'_, S, H, C, A>,
    request: ApiRequest,
) -> ApiResponse {
    edge.client_ip.replace(request.ip.clone());
    let cors = match request.origin.as_deref() {
        Some(origin) if !edge.config.allows_origin(origin) => {
            return ApiResponse::error(&ApiError::OriginNotAllowed(origin.to_owned()));
        }
        Some(origin) => vec![
            ("Access-Control-Allow-Origin".to_owned(), origin.to_owned()),
            ("Vary".to_owned(), "Origin".to_owned()),
        ],
        None => Vec::new(),
    };
    let mut response = if request.method == "OPTIONS" {
        let mut r = ApiResponse::empty(204);
        r.headers.push(("Access-Control-Allow-Methods".into(), "GET, POST, PUT, OPTIONS".into()));
        r.headers.push(("Access-Control-Allow-Headers".into(), "Authorization, Content-Type".into()));
        r.headers.push(("Access-Control-Max-Age".into(), "86400".into()));
        r
    } else {
        let limited = request.ip.as_deref().map(|ip| edge.limits.ip.check(ip, edge.clock.now_ms()));
        match limited {
            Some(Err(seconds)) => ApiResponse::error(&ApiError::RateLimited(seconds)),
            _ => match route(edge, &request).await {
                Ok(response) => response,
                Err(error) => ApiResponse::error(&error),
            },
        }
    };
    response.headers.extend(cors);
    response.logs.extend(edge.take_logs());
    response
}

async fn route<S: ContextStore, H: HttpClient, C: Clock, A: AnalyticsStore>(
    edge: &Edge<'_, S, H, C, A>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    let limit = if segments == ["v1", "admin", "agent"] { MAX_AGENT_BYTES } else { MAX_BODY_BYTES };
    if request.body.len() > limit {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let method = request.method.as_str();
    let authorise = |id: &str| edge.authorise(id, request.authorization.as_deref());
    match (method, segments.as_slice()) {
        ("GET", ["v1", "health"]) => Ok(ApiResponse::json(200, &serde_json::json!({ "status": "ok" }))),
        ("GET", ["v1", "openapi.json"]) => {
            Ok(ApiResponse { status: 200, headers: Vec::new(), body: OPENAPI.to_owned(), logs: Vec::new() })
        }
        ("POST", ["v1", "conversations"]) => {
            let create: CreateConversation = parse(&request.body)?;
            if create.channel != "web" {
                return Err(ApiError::BadRequest(format!("unsupported channel '{}'; expected 'web'", create.channel)));
            }
            if let Some(name) =
                create.agent.as_deref().map(str::trim).filter(|n| !n.eq_ignore_ascii_case(&edge.agent.name))
            {
                return Err(ApiError::NotFound(format!(
                    "agent '{name}' is not deployed here; this endpoint serves '{}'",
                    edge.agent.name
                )));
            }
            let identity = create.identity.as_ref().filter(|i| i.is_present());
            let Some(claims) = identity else {
                let (created, new) = edge.open(create.visitor_id.as_deref()).await?;
                return Ok(ApiResponse::json(if new { 201 } else { 200 }, &created));
            };
            // Verify before anything is written: a forged identity creates nothing.
            let verified = edge.verify(claims)?;
            let anonymous = match create.visitor_id.as_deref() {
                Some(given) => edge.visitor_user(given, true).await?.map(|v| v.user),
                None => None,
            };
            let linked = edge.link(anonymous, &verified, claims).await?;
            // The visitor credential rotates: what the browser held before no longer resumes
            // this person's conversation (it needs the identity again).
            let visitor_id = edge.new_visitor().credential;
            Ok(ApiResponse::json(200, &ConversationCreated { visitor_id, ..linked }))
        }
        ("POST", ["v1", "conversations", id, "messages"]) => {
            let (conversation, user) = authorise(id)?;
            let send: SendMessage = parse(&request.body)?;
            let exchange = edge.send(&conversation, &user, &send).await?;
            let messages = Messages { messages: exchange.messages, previous: None, status: exchange.status };
            Ok(ApiResponse::json(200, &messages))
        }
        ("GET", ["v1", "conversations", id, "messages"]) => {
            let (conversation, user) = authorise(id)?;
            let seq = |name: &str| message_seq(request, name);
            let limit = request
                .param("limit")
                .map(|v| v.parse::<usize>().ok().filter(|n| (1..=200).contains(n)))
                .map(|v| v.ok_or_else(|| ApiError::BadRequest("'limit' must be 1 to 200".into())))
                .transpose()?;
            let page = HistoryPage { after: seq("after")?, before: seq("before")?, limit };
            let (messages, previous, status) = edge.history(&conversation, &user, &page).await?;
            Ok(ApiResponse::json(200, &Messages { messages, previous, status }))
        }
        ("POST", ["v1", "conversations", id, "identify"]) => {
            let (conversation, user) = authorise(id)?;
            let claims: Identify = parse(&request.body)?;
            let linked = edge.identify(&conversation, &user, &claims).await?;
            Ok(ApiResponse::json(200, &ConversationCreated { visitor_id: edge.new_visitor().credential, ..linked }))
        }
        ("POST", ["v1", "conversations", id, "feedback"]) => {
            let (conversation, user) = authorise(id)?;
            let feedback: Feedback = parse(&request.body)?;
            edge.feedback(&conversation, &user, &feedback).await?;
            Ok(ApiResponse::empty(204))
        }
        ("POST", ["v1", "conversations", id, "end"]) => {
            let (conversation, user) = authorise(id)?;
            edge.end(&conversation, &user).await?;
            Ok(ApiResponse::empty(204))
        }
        ("GET", ["v1", "analytics"]) => {
            admin(edge, request)?;
            let today = Date::from_unix_ms(edge.clock.now_ms());
            let date = |name: &str, default: Date| -> Result<Date, ApiError> {
                match request.param(name) {
                    None => Ok(default),
                    Some(v) => parse_date(v).ok_or_else(|| {
                        ApiError::BadRequest(format!("'{name}' must be a date like 2026-11-25, not '{v}'"))
                    }),
                }
            };
            let (from, to) = (date("from", today.add_days(-29))?, date("to", today)?);
            if from > to || to.unix_days() - from.unix_days() > 366 {
                return Err(ApiError::BadRequest(
                    "'from' must not be after 'to', nor more than 366 days before it".into(),
                ));
            }
            let (from, to) = (from.iso(), to.iso());
            let days = edge.analytics.days(&from, &to).await?;
            Ok(ApiResponse::json(200, &analytics::report(&from, &to, &days)))
        }
        ("PUT", ["v1", "admin", "agent"]) => {
            admin(edge, request)?;
            Ok(ApiResponse::json(200, &edge.deploy(&request.body).await?))
        }
        ("GET", ["v1", "admin", "agent"]) => {
            admin(edge, request)?;
            let file = edge
                .deployed_file()
                .await?
                .ok_or_else(|| ApiError::NotFound("no agent was uploaded; the built-in demo agent answers".into()))?;
            Ok(ApiResponse::json(200, &file))
        }
        ("GET", ["v1", "agent", "queue"]) => {
            agent_name(edge, request)?;
            let limit = match request.param("limit") {
                None => 50,
                Some(v) => v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=200).contains(n))
                    .ok_or_else(|| ApiError::BadRequest("'limit' must be 1 to 200".into()))?,
            };
            let (conversations, next) = edge.queue(request.param("after"), limit).await?;
            Ok(ApiResponse::json(200, &Queue { conversations, next }))
        }
        ("GET", ["v1", "agent", "conversations", id]) => {
            agent_name(edge, request)?;
            let after = message_seq(request, "after")?;
            Ok(ApiResponse::json(200, &edge.agent_view(id, after).await?))
        }
        ("POST", ["v1", "agent", "conversations", id, "claim"]) => {
            let agent = agent_name(edge, request)?;
            Ok(ApiResponse::json(200, &edge.claim(id, agent).await?))
        }
        ("POST", ["v1", "agent", "conversations", id, "messages"]) => {
            let agent = agent_name(edge, request)?;
            let reply: AgentReply = parse(&request.body)?;
            let (message, context) = edge.agent_reply(id, agent, &reply.text).await?;
            channels::push(edge, &context, &message).await;
            Ok(ApiResponse::json(200, &message))
        }
        ("POST", ["v1", "agent", "conversations", id, action @ ("resolve" | "release")]) => {
            let agent = agent_name(edge, request)?;
            edge.finish_handoff(id, agent, *action == "resolve").await?;
            Ok(ApiResponse::empty(204))
        }
        ("POST", ["demo", "fulfillment"]) => {
            let webhook: WebhookRequest = parse(&request.body)?;
            Ok(ApiResponse::json(200, &demo::fulfill(&webhook)))
        }
        (
            _,
            ["v1", "health"]
            | ["v1", "openapi.json"]
            | ["v1", "conversations"]
            | ["v1", "conversations", _, "messages" | "identify" | "feedback" | "end"]
            | ["v1", "analytics"]
            | ["v1", "admin", "agent"]
            | ["v1", "agent", "queue"]
            | ["v1", "agent", "conversations", _]
            | ["v1", "agent", "conversations", _, "claim" | "messages" | "resolve" | "release"]
            | ["demo", "fulfillment"],
        ) => Err(ApiError::MethodNotAllowed),
        _ => Err(ApiError::NotFound(format!("no route for {method} {}", request.path))),
    }
}

/// The human agent whose bearer token the request carries (`AGENT_TOKENS`, constant time).
fn agent_name<'e, S, H, C, A>(edge: &'e Edge<'_, S, H, C, A>, request: &ApiRequest) -> Result<&'e str, ApiError> {
    if edge.config.agents.is_empty() {
        return Err(ApiError::Unauthorized("agent endpoints are closed (set AGENT_TOKENS)".into()));
    }
    let given = request.authorization.as_deref().and_then(|h| h.strip_prefix("Bearer ")).unwrap_or_default();
    let given = token_mac(given.trim());
    // Every token is compared, so the time taken says nothing about which one matched.
    let mut found = None;
    for (name, token) in &edge.config.agents {
        if token_mac(token) == given {
            found = Some(name.as_str());
        }
    }
    found.ok_or_else(|| ApiError::Unauthorized("agent token required".into()))
}

/// A MAC of a bearer token: comparing MACs compares equal-length values in constant time.
fn token_mac(token: &str) -> [u8; 32] {
    crate::keys::hmac(b"bearer", token.as_bytes())
}

/// A message id parameter (`m12`) as its sequence number.
fn message_seq(request: &ApiRequest, name: &str) -> Result<Option<u64>, ApiError> {
    request
        .param(name)
        .map(|v| v.trim_start_matches('m').parse::<u64>())
        .transpose()
        .map_err(|_| ApiError::BadRequest(format!("'{name}' must be a message id like m12")))
}

/// Checks the admin bearer token (constant time); closed when none is configured.
fn admin<S, H, C, A>(edge: &Edge<'_, S, H, C, A>, request: &ApiRequest) -> Result<(), ApiError> {
    let expected = edge
        .config
        .admin_token
        .as_deref()
        .ok_or_else(|| ApiError::Unauthorized("admin endpoints are closed (set ADMIN_TOKEN)".into()))?;
    let given = request.authorization.as_deref().and_then(|h| h.strip_prefix("Bearer ")).unwrap_or_default();
    if token_mac(given.trim()) != token_mac(expected) {
        return Err(ApiError::Unauthorized("admin token required".into()));
    }
    Ok(())
}

/// A real calendar date written `YYYY-MM-DD`.
fn parse_date(v: &str) -> Option<Date> {
    let digits =
        |r: std::ops::Range<usize>| v.get(r).filter(|p| p.bytes().all(|c| c.is_ascii_digit()))?.parse::<u32>().ok();
    if v.len() != 10 || v.get(4..5) != Some("-") || v.get(7..8) != Some("-") {
        return None;
    }
    Date::new(digits(0..4)? as i32, digits(5..7)?, digits(8..10)?)
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadJson(crate::error::json_fault(e)))
}
