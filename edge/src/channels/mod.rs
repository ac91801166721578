//! Channel relays: Messenger, WhatsApp, Telegram, Twilio SMS and Twilio voice, each one module
//! behind one [`Relay`] trait.
//!
//! A webhook delivery goes through the same steps on every channel:
//! 1. **verify** the signature or secret over the raw bytes, in constant time, before anything
//!    else reads them (401 when missing, 403 when wrong; [`RelayError`]);
//! 2. **parse** every entry and event of the delivery into [`Event`]s (text, button payloads,
//!    media, silence, notices such as receipts and reactions);
//! 3. **identify** the sender as a [`ChannelIdentity`] (WhatsApp and Twilio numbers are
//!    `phone` identities, so a web user verified with that phone is the same user);
//! 4. **run the turn** through the [`Edge`] core in the user's Durable Object, which
//!    serialises the user's turns and drops deliveries it has seen ([`seen`]);
//! 5. **render** the replies for the channel's limits and **send** them through the channel's
//!    HTTP API (or answer synchronously, for voice).
//!
//! [`receive`] does steps 1 to 3 where the request arrives (the worker), [`deliver`] steps 4
//! and 5 in the user's object. Both are platform-free and tested natively.
//!
//! ```
//! use switchboard_edge::api::ApiRequest;
//! use switchboard_edge::channels::{self, Received};
//! use switchboard_edge::{Config, memory};
//! use switchboard_dialog::agent::Agent;
//!
//! let agent = Agent::from_json(include_str!("../../agents/retail-demo.json")).unwrap();
//! let mut config = Config::for_tests();
//! config.set("TELEGRAM_SECRET_TOKEN", "s3cret").unwrap();
//! config.set("TELEGRAM_BOT_TOKEN", "123:abc").unwrap();
//! let edge = memory::edge(&agent, config, memory::ScriptedHttp::default());
//! let update = r#"{"update_id":7,"message":{"message_id":1,"chat":{"id":42},"text":"hi"}}"#;
//! let request = ApiRequest::post("/channels/telegram", update);
//! let forged = request.clone().header("X-Telegram-Bot-Api-Secret-Token", "guess");
//! let received = futures_executor::block_on(channels::receive(&edge, &forged));
//! assert_eq!(received.unwrap_err().status(), 403);
//! let signed = request.header("X-Telegram-Bot-Api-Secret-Token", "s3cret");
//! let Ok(Received::Events { envelopes, .. }) = futures_executor::block_on(channels::receive(&edge, &signed)) else {
//!     panic!("a signed update is accepted")
//! };
//! assert_eq!(envelopes[0].event.id, "7");
//! ```

pub mod messenger;
pub mod meta;
pub mod seen;
pub mod settings;
pub mod sms;
pub mod telegram;
pub mod text;
pub mod twilio;
pub mod voice;
pub mod whatsapp;

use crate::api::{ApiRequest, ApiResponse};
use crate::context::{ReplyTo, UserContext};
use crate::conversation::{Edge, Exchange, Said, check_text};
use crate::error::ApiError;
use crate::identity::ChannelIdentity;
use crate::ids::UserId;
use crate::layout;
use crate::ports::{AnalyticsStore, Clock, ContextStore, DurableStore, HttpClient, HttpRequest};
use serde::{Deserialize, Serialize};
pub use settings::Settings;
use switchboard_dialog::protocol::Message;

/// Largest webhook body accepted: Meta batches several entries into one delivery.
pub const MAX_DELIVERY_BYTES: usize = 256 * 1024;

/// How long a send to a channel's API may take.
const SEND_TIMEOUT_MS: u32 = 10_000;

/// The channels with relays. Their names are those of the agent's `channels` overrides and
/// `privacy` sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Facebook Messenger (a page's inbox).
    Messenger,
    /// WhatsApp Cloud API.
    Whatsapp,
    /// A Telegram bot.
    Telegram,
    /// Twilio Programmable Messaging.
    Sms,
    /// Twilio Programmable Voice.
    Voice,
}

impl Channel {
    /// Every relay channel.
    pub const ALL: [Channel; 5] = [Self::Messenger, Self::Whatsapp, Self::Telegram, Self::Sms, Self::Voice];

    /// The channel's name: `messenger`, `whatsapp`, `telegram`, `sms`, `voice`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Messenger => "messenger",
            Self::Whatsapp => "whatsapp",
            Self::Telegram => "telegram",
            Self::Sms => "sms",
            Self::Voice => "voice",
        }
    }

    /// The channel whose webhook route `path` is.
    pub fn from_path(path: &str) -> Option<Self> {
        Some(match path.trim_end_matches('/') {
            "/channels/messenger" => Self::Messenger,
            "/channels/whatsapp" => Self::Whatsapp,
            "/channels/telegram" => Self::Telegram,
            "/channels/twilio/sms" => Self::Sms,
            "/channels/twilio/voice" => Self::Voice,
            _ => return None,
        })
    }
}

/// One thing a delivery says happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The channel's id for it (`mid`, `wamid`, `update_id`, Twilio SID): a redelivery has
    /// the same id.
    pub id: String,
    /// The sender in the channel's terms: a page-scoped id, a phone number, a chat id.
    pub from: String,
    /// What received it, and sends the replies: the page, the WhatsApp number's id, the Twilio
    /// number.
    pub to: String,
    /// What happened.
    pub kind: EventKind,
    /// Telegram: the button press to answer (`answerCallbackQuery`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_id: Option<String>,
    /// Voice: the number of this request within the call (0 when it was answered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_turn: Option<u32>,
    /// Voice: the carrier attested the caller's number (STIR/SHAKEN level A), so it is the
    /// customer's verified phone rather than a caller ID anyone can set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub attested: bool,
}

/// What an event is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// Words typed or spoken, or a button pressed (`payload` is what the agent hears).
    Text {
        /// What history shows.
        text: String,
        /// What the agent hears instead, for buttons.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        payload: Option<String>,
    },
    /// An image, file, sticker, location … : answered from its caption, else as `[kind]`.
    Media {
        /// `image`, `audio`, `sticker`, `location`, …
        media: String,
        /// Its caption, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caption: Option<String>,
    },
    /// The user opened the conversation (a call was answered, Telegram's `/start`): the agent
    /// greets.
    Opened,
    /// The caller said nothing before the timeout.
    Silence,
    /// Something to record, not to answer: receipts, reactions, echoes, edits, a hang-up.
    Notice {
        /// `delivered`, `read`, `reaction`, `echo`, `hangup`, …
        notice: String,
    },
}

impl Event {
    /// What the user did, for the turn; `None` for a notice.
    fn said(&self) -> Option<(String, Option<String>)> {
        match &self.kind {
            EventKind::Text { text, payload } => Some((text.clone(), payload.clone())),
            EventKind::Media { media, caption } => match caption.as_deref().map(str::trim) {
                Some(c) if !c.is_empty() => Some((format!("[{media}] {c}"), Some(c.to_owned()))),
                _ => Some((format!("[{media}]"), None)),
            },
            _ => None,
        }
    }
}

/// What a relay hands the user's Durable Object: one event of one delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The channel.
    pub channel: Channel,
    /// The user the sender resolved to (whose object serialises the turn).
    pub user: String,
    /// The sender's identity index key (`id:phone:+1…`), recorded on the user.
    pub identity: String,
    /// The event.
    pub event: Event,
}

/// What a relay does with the agent's answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rendered {
    /// Requests to the channel's API, in order (sent after the webhook was acknowledged).
    pub sends: Vec<HttpRequest>,
    /// The body of the webhook's answer, for channels that answer synchronously (TwiML).
    pub answer: Option<String>,
}

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RelayError {
    /// The channel has no credentials in this deployment.
    #[error("the {0} channel is not configured: set {1}")]
    NotConfigured(&'static str, &'static str),
    /// The signature or secret header is absent.
    #[error("missing {0} header")]
    MissingSignature(&'static str),
    /// The signature or secret does not match the delivery.
    #[error("{0} does not match the delivery")]
    BadSignature(&'static str),
    /// Verified, but not the payload the channel sends.
    #[error("malformed {0} delivery: {1}")]
    Malformed(&'static str, String),
    /// No such channel route, or not with this method.
    #[error("no channel route for {0}")]
    NoRoute(String),
    /// The identity index could not be read: the channel should redeliver.
    #[error("{0}")]
    Store(String),
}

impl RelayError {
    /// HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotConfigured(..) => 501,
            Self::MissingSignature(_) => 401,
            Self::BadSignature(_) => 403,
            Self::Malformed(..) => 400,
            Self::NoRoute(_) => 404,
            Self::Store(_) => 500,
        }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotConfigured(..) => "channel_not_configured",
            Self::MissingSignature(_) => "unauthorized",
            Self::BadSignature(_) => "forbidden",
            Self::Malformed(..) => "bad_request",
            Self::NoRoute(_) => "not_found",
            Self::Store(_) => "internal",
        }
    }

    /// The JSON error response (the one place relay errors become HTTP).
    pub fn response(&self) -> ApiResponse {
        // Internal failures hide their details (they go to the log).
        let message = match self {
            Self::Store(_) => "internal error; please retry".to_owned(),
            other => other.to_string(),
        };
        let body = serde_json::json!({ "error": { "code": self.code(), "message": message } });
        let mut response = ApiResponse::text(self.status(), "application/json; charset=utf-8", body.to_string());
        response.logs.push(
            serde_json::json!({ "event": "channel_rejected", "status": self.status(), "detail": self.to_string() })
                .to_string(),
        );
        response
    }
}

/// One channel's relay: verify → parse → identify → render → send.
pub trait Relay {
    /// The channel.
    fn channel(&self) -> Channel;
    /// Checks the delivery's signature or secret over its raw bytes, in constant time.
    fn verify(&self, request: &ApiRequest) -> Result<(), RelayError>;
    /// Every event of a verified delivery.
    fn parse(&self, request: &ApiRequest) -> Result<Vec<Event>, RelayError>;
    /// Who sent an event.
    fn identity(&self, event: &Event) -> ChannelIdentity;
    /// The typing indicator to show while the turn runs, where the channel has one.
    fn typing(&self, _event: &Event) -> Option<HttpRequest> {
        None
    }
    /// The agent's messages rendered for the channel's limits, as sends or an answer.
    fn render(&self, event: &Event, exchange: &Exchange) -> Rendered;
    /// The webhook's answer once every event was handed over: each event's synchronous
    /// answer, in order (`None` for events that had none or were not turns).
    fn acknowledge(&self, _answers: &[Option<String>]) -> ApiResponse {
        ApiResponse::text(200, "text/plain; charset=utf-8", "ok".into())
    }
    /// Answers a `GET` to the webhook route (Meta's subscription handshake).
    fn handshake(&self, request: &ApiRequest) -> Result<ApiResponse, RelayError> {
        Err(RelayError::NoRoute(format!("GET {}", request.path)))
    }
}

/// The relay for `channel`, built from the deployment's settings.
pub fn relay(channel: Channel, settings: &Settings) -> Result<Box<dyn Relay>, RelayError> {
    Ok(match channel {
        Channel::Messenger => Box::new(messenger::Messenger::new(settings)?),
        Channel::Whatsapp => Box::new(whatsapp::WhatsApp::new(settings)?),
        Channel::Telegram => Box::new(telegram::Telegram::new(settings)?),
        Channel::Sms => Box::new(sms::Sms::new(settings)?),
        Channel::Voice => Box::new(voice::Voice::new(settings)?),
    })
}

/// What [`receive`] made of a request.
#[derive(Debug)]
pub enum Received {
    /// Answer this at once (a handshake, or a delivery of notices only).
    Answer(ApiResponse),
    /// Hand each envelope to its user's object, in order, then answer with [`acknowledge`].
    Events {
        /// The channel.
        channel: Channel,
        /// The events to run as turns, with the users they resolved to.
        envelopes: Vec<Envelope>,
        /// Notices recorded (receipts, reactions, …), for the log.
        notices: usize,
    },
}

/// Where a channel request arrives: verify, parse and identify. Notices are logged here (no
/// turn, no Durable Object); every other event becomes an [`Envelope`] for its user.
pub async fn receive<S: ContextStore, H: HttpClient, C: Clock, A: AnalyticsStore>(
    edge: &Edge<'_, S, H, C, A>,
    request: &ApiRequest,
) -> Result<Received, RelayError> {
    let channel = Channel::from_path(&request.path).ok_or_else(|| RelayError::NoRoute(request.path.clone()))?;
    let relay = relay(channel, &edge.config.channels)?;
    match request.method.as_str() {
        "GET" => return relay.handshake(request).map(Received::Answer),
        "POST" => {}
        other => return Err(RelayError::NoRoute(format!("{other} {}", request.path))),
    }
    if request.body.len() > MAX_DELIVERY_BYTES {
        return Err(RelayError::Malformed(channel.name(), format!("body larger than {MAX_DELIVERY_BYTES} bytes")));
    }
    // Nothing reads the body before this line.
    relay.verify(request)?;
    let events = relay.parse(request)?;
    let (mut envelopes, mut notices) = (Vec::new(), 0);
    for event in events {
        if let EventKind::Notice { notice } = &event.kind {
            notices += 1;
            edge.log(serde_json::json!({ "event": "channel_notice", "channel": channel.name(), "notice": notice }));
            continue;
        }
        let identity = relay.identity(&event);
        let user = resolve(edge, &identity).await.map_err(|e| RelayError::Store(e.to_string()))?;
        envelopes.push(Envelope { channel, user: user.to_string(), identity: identity.index_key(), event });
    }
    if envelopes.is_empty() {
        return Ok(Received::Answer(relay.acknowledge(&[None])));
    }
    Ok(Received::Events { channel, envelopes, notices })
}

/// The user an identity resolves to, following merges (the object that serialises it).
async fn resolve<S: ContextStore, H: HttpClient, C: Clock, A: AnalyticsStore>(
    edge: &Edge<'_, S, H, C, A>,
    identity: &ChannelIdentity,
) -> Result<UserId, ApiError> {
    let user = edge.resolve(identity).await?;
    Ok(edge.load_context(&user).await?.0)
}

/// The webhook's answer after every envelope was delivered.
pub fn acknowledge(channel: Channel, settings: &Settings, answers: &[Option<String>]) -> ApiResponse {
    match relay(channel, settings) {
        Ok(relay) => relay.acknowledge(answers),
        Err(e) => e.response(),
    }
}

/// In the user's Durable Object: drops a delivery seen before (a voice request gets its
/// first answer again), else runs the turn (`typing` is handed the channel's typing
/// indicator first), renders it, and remembers the delivery.
pub async fn deliver<S, H, C, A, D>(
    edge: &Edge<'_, S, H, C, A>,
    seen: &D,
    envelope: &Envelope,
    typing: impl FnOnce(HttpRequest),
) -> Result<Rendered, ApiError>
where
    S: ContextStore,
    H: HttpClient,
    C: Clock,
    A: AnalyticsStore,
    D: DurableStore,
{
    let channel = envelope.channel;
    let relay = relay(channel, &edge.config.channels).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let event = &envelope.event;
    let now = edge.clock.now_ms();
    let mut recent = seen::Recent::load(seen, channel).await?;
    if let Some(answer) = recent.answer_of(&event.id, now) {
        edge.log(serde_json::json!({ "event": "duplicate_delivery", "channel": channel.name() }));
        return Ok(Rendered { sends: Vec::new(), answer });
    }
    let said = event.said();
    if said.is_some()
        && let Some(indicator) = relay.typing(event)
    {
        typing(indicator);
    }
    let (rendered, hidden) = match run(edge, envelope, said).await {
        Ok(exchange) => (relay.render(event, &exchange), exchange.hidden),
        // An event no turn can take (an overlong text) is dropped for good: redelivering it
        // would fail the same way.
        Err(ApiError::BadRequest(detail)) => {
            edge.log(
                serde_json::json!({ "event": "channel_event_refused", "channel": channel.name(), "detail": detail }),
            );
            (Rendered::default(), Vec::new())
        }
        Err(e) => return Err(e),
    };
    // What a retried request hears again is kept with hidden words masked (a redacted value
    // the caller heard once is not stored in the object either; TwiML escapes text).
    let escaped: Vec<String> = hidden.iter().map(|w| text::xml_escape(w)).collect();
    let kept = rendered.answer.as_deref().map(|a| crate::privacy::mask(&crate::privacy::mask(a, &hidden), &escaped));
    recent.remember(&event.id, kept, now);
    recent.store(seen, channel).await?;
    Ok(rendered)
}

/// The turn of one event: the user's context (a new conversation on a first contact, the
/// sender's identity recorded and indexed), then the engine.
async fn run<S: ContextStore, H: HttpClient, C: Clock, A: AnalyticsStore>(
    edge: &Edge<'_, S, H, C, A>,
    envelope: &Envelope,
    said: Option<(String, Option<String>)>,
) -> Result<Exchange, ApiError> {
    let channel = envelope.channel.name();
    let user = UserId::parse(&envelope.user).ok_or_else(|| ApiError::BadRequest("bad user id".into()))?;
    edge.limits.user.check(user.as_str(), edge.clock.now_ms()).map_err(ApiError::RateLimited)?;
    let (user, context) = edge.load_context(&user).await?;
    let (mut context, started) = match context {
        Some(context) => (context, false),
        None => (edge.fresh_context(None, channel, None), true),
    };
    let event = &envelope.event;
    context.reply_to = Some(ReplyTo { from: event.from.clone(), to: event.to.clone() });
    // The number a channel delivered from is the customer's (the agent console shows it):
    // verified when the channel vouches for it (WhatsApp, an attested call), not from an SMS
    // or plain caller ID.
    if let Some(phone) = layout::kv::identity_value(&envelope.identity, "phone") {
        context.profile.set("phone", Some(phone.to_owned()), true);
    } else if let Some(phone) = layout::kv::identity_value(&envelope.identity, "sms")
        .or_else(|| layout::kv::identity_value(&envelope.identity, "call"))
    {
        context.profile.set("phone", Some(phone.to_owned()), false);
    }
    if !context.identities.contains(&envelope.identity) {
        // Indexed when the context is saved, so a later verified identity with the same
        // phone finds this user.
        context.identities.push(envelope.identity.clone());
    }
    let said = match (&envelope.event.kind, &said) {
        (_, Some((text, payload))) => {
            let (text, heard) = (text.trim(), payload.as_deref().map_or(text.trim(), str::trim));
            check_text(text, heard)?;
            return edge.take_turn(&user, context, channel, Said::Text { text, heard }, started).await;
        }
        (EventKind::Silence, _) => Said::Nothing,
        _ => Said::Arrived,
    };
    edge.take_turn(&user, context, channel, said, started).await
}

/// Sends a human agent's message to the customer on the channel they last used, when it is a
/// relay's (web clients poll for it; a call was already transferred with `<Dial>`). A failure
/// is logged: the message is in the history either way.
pub async fn push<S: ContextStore, H: HttpClient, C: Clock, A: AnalyticsStore>(
    edge: &Edge<'_, S, H, C, A>,
    context: &UserContext,
    message: &Message,
) {
    let channel = Channel::ALL.into_iter().find(|c| c.name() == context.channel);
    let (Some(channel), Some(address)) = (channel.filter(|c| *c != Channel::Voice), &context.reply_to) else {
        return;
    };
    let relay = match relay(channel, &edge.config.channels) {
        Ok(relay) => relay,
        Err(e) => {
            edge.log(serde_json::json!({ "event": "channel_send_failed", "channel": channel.name(), "detail": e.to_string() }));
            return;
        }
    };
    let event = Event {
        id: message.id.clone(),
        from: address.from.clone(),
        to: address.to.clone(),
        kind: EventKind::Notice { notice: "agent_reply".into() },
        callback_id: None,
        call_turn: None,
        attested: false,
    };
    let rendered = relay.render(&event, &Exchange { messages: vec![message.clone()], ..Exchange::default() });
    for line in send_all(&edge.http, channel, rendered.sends).await {
        edge.log_line(line);
    }
}

/// Sends a turn's requests in order; a failure is logged (no text, no personal data) and the
/// rest are still tried. Returns the log lines.
pub async fn send_all<H: HttpClient>(http: &H, channel: Channel, sends: Vec<HttpRequest>) -> Vec<String> {
    let mut logs = Vec::new();
    for request in sends {
        let failure = match http.send(request).await {
            Ok(response) if (200..300).contains(&response.status) => continue,
            Ok(response) => format!("status {}", response.status),
            Err(e) => e.to_string(),
        };
        logs.push(
            serde_json::json!({ "event": "channel_send_failed", "channel": channel.name(), "detail": failure })
                .to_string(),
        );
    }
    logs
}

/// A JSON `POST` to a channel's API.
pub(crate) fn post_json(url: String, headers: Vec<(String, String)>, body: &serde_json::Value) -> HttpRequest {
    let mut headers = headers;
    headers.push(("Content-Type".into(), "application/json".into()));
    HttpRequest {
        method: "POST",
        url,
        headers,
        body: Some(body.to_string()),
        timeout_ms: SEND_TIMEOUT_MS,
        max_body: 64 * 1024,
        redirect: crate::ports::Redirect::Refuse,
    }
}

/// A form-encoded `POST` to a channel's API (Twilio).
pub(crate) fn post_form(url: String, headers: Vec<(String, String)>, fields: &[(&str, &str)]) -> HttpRequest {
    let mut headers = headers;
    headers.push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    let (timeout_ms, max_body, redirect) = (SEND_TIMEOUT_MS, 64 * 1024, crate::ports::Redirect::Refuse);
    HttpRequest { method: "POST", url, headers, body: Some(body), timeout_ms, max_body, redirect }
}

/// Sets `key` of a JSON object (a no-op on anything else, which the relays never build).
pub(crate) fn set(value: &mut serde_json::Value, key: &str, field: serde_json::Value) {
    if let Some(object) = value.as_object_mut() {
        object.insert(key.to_owned(), field);
    }
}

/// Equal in constant time (for equal lengths; a length is not secret).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    crate::keys::ct_eq(a, b)
}

/// Checks `HMAC-SHA256(key, body)` against a hex digest, in constant time.
pub(crate) fn verify_hmac_sha256_hex(key: &[u8], body: &[u8], hex: &str) -> bool {
    let Some(expected) = crate::keys::unhex(hex.trim()) else { return false };
    crate::keys::ct_eq(&crate::keys::hmac(key, body), &expected)
}

/// Decodes `application/x-www-form-urlencoded` text (a query string or a form body).
pub(crate) fn form(text: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(text).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The value of `name` in decoded form fields.
pub(crate) fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// A malformed-delivery error for `channel` from a JSON error.
pub(crate) fn malformed(channel: Channel) -> impl Fn(serde_json::Error) -> RelayError {
    move |e| RelayError::Malformed(channel.name(), crate::error::json_fault(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_name_channels() {
        assert_eq!(Channel::from_path("/channels/twilio/voice"), Some(Channel::Voice));
        assert_eq!(Channel::from_path("/channels/whatsapp/"), Some(Channel::Whatsapp));
        assert_eq!(Channel::from_path("/channels/fax"), None);
        for c in [Channel::Messenger, Channel::Whatsapp, Channel::Telegram, Channel::Sms, Channel::Voice] {
            assert!(switchboard_dialog::response::CHANNELS.contains(&c.name()), "{}", c.name());
        }
    }

    #[test]
    fn constant_time_comparison_and_hmac_hex() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        // ../shared/PROTOCOLS.md, Meta: HMAC-SHA256(key="secret", msg="test").
        let vector = "0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914";
        assert!(verify_hmac_sha256_hex(b"secret", b"test", vector));
        assert!(!verify_hmac_sha256_hex(b"secret", b"test ", vector));
        assert!(!verify_hmac_sha256_hex(b"secret", b"test", "zz"));
    }

    #[test]
    fn media_is_heard_by_its_caption() {
        let event = |kind| Event {
            id: "1".into(),
            from: "a".into(),
            to: "b".into(),
            kind,
            callback_id: None,
            call_turn: None,
            attested: false,
        };
        let sticker = event(EventKind::Media { media: "sticker".into(), caption: None });
        assert_eq!(sticker.said(), Some(("[sticker]".into(), None)));
        let photo = event(EventKind::Media { media: "image".into(), caption: Some("order 123456".into()) });
        assert_eq!(photo.said(), Some(("[image] order 123456".into(), Some("order 123456".into()))));
        assert_eq!(event(EventKind::Notice { notice: "read".into() }).said(), None);
    }
}
