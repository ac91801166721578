//! Telegram Bot API: updates pushed to the webhook set with `setWebhook(secret_token)`,
//! replies through `sendMessage`/`sendPhoto`.
//!
//! Every update carries the secret in `X-Telegram-Bot-Api-Secret-Token`. Quick replies and
//! card buttons become an inline keyboard (one button per row; `callback_data` ≤ 64 bytes), a
//! press arrives as a `callback_query`, answered with `answerCallbackQuery` so the client stops
//! its spinner. `/start` opens the conversation (the agent greets). Text ≤ 4,096 characters
//! (split), captions ≤ 1,024. Stickers and edits are recorded, not answered.

use super::settings::{Settings, names};
use super::text::{shorten, shorten_bytes, split};
use super::{Channel, Event, EventKind, Relay, RelayError, Rendered, constant_time_eq, malformed, post_json};
use crate::api::ApiRequest;
use crate::conversation::Exchange;
use crate::identity::ChannelIdentity;
use crate::ports::HttpRequest;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_dialog::protocol::Message;

/// The secret header.
pub const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";
/// Longest text message.
pub const MAX_TEXT: usize = 4096;
/// Longest photo caption.
pub const MAX_CAPTION: usize = 1024;
/// Longest `callback_data`, in bytes.
pub const MAX_CALLBACK_DATA: usize = 64;

const NAME: &str = "telegram";

/// Media an update may carry instead of text.
const MEDIA: &[&str] =
    &["photo", "document", "video", "voice", "audio", "animation", "location", "contact", "video_note"];

/// The Telegram relay.
#[derive(Debug, Clone)]
pub struct Telegram {
    secret: String,
    api: String,
}

impl Telegram {
    /// Needs the webhook secret and the bot token.
    pub fn new(settings: &Settings) -> Result<Self, RelayError> {
        let secret = Settings::require(NAME, &settings.telegram_secret_token, names::TELEGRAM_SECRET_TOKEN)?.to_owned();
        let token = Settings::require(NAME, &settings.telegram_bot_token, names::TELEGRAM_BOT_TOKEN)?;
        Ok(Self { secret, api: format!("{}/bot{token}", settings.telegram_api_url) })
    }

    fn call(&self, method: &str, body: Value) -> HttpRequest {
        post_json(format!("{}/{method}", self.api), Vec::new(), &body)
    }
}

#[derive(Deserialize)]
struct Update {
    update_id: i64,
    #[serde(default)]
    message: Option<Inbound>,
    #[serde(default)]
    callback_query: Option<CallbackQuery>,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
struct Inbound {
    chat: Chat,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    caption: Option<String>,
    #[serde(default)]
    sticker: Option<Value>,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
struct Chat {
    id: i64,
    /// `private`, `group`, `supergroup` or `channel` (Telegram always sends it).
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

impl Chat {
    /// A group's members all write from the group's chat id: one identity for several
    /// people, so each would read the others' context. Only private chats are served.
    fn is_shared(&self) -> bool {
        self.kind.as_deref().is_some_and(|k| k != "private")
    }
}

#[derive(Deserialize)]
struct CallbackQuery {
    id: String,
    from: Chat,
    #[serde(default)]
    message: Option<CallbackMessage>,
    #[serde(default)]
    data: Option<String>,
}

#[derive(Deserialize)]
struct CallbackMessage {
    chat: Chat,
}

impl Relay for Telegram {
    fn channel(&self) -> Channel {
        Channel::Telegram
    }

    fn verify(&self, request: &ApiRequest) -> Result<(), RelayError> {
        let given = request.header_value(SECRET_HEADER).ok_or(RelayError::MissingSignature(SECRET_HEADER))?;
        if !constant_time_eq(given.as_bytes(), self.secret.as_bytes()) {
            return Err(RelayError::BadSignature(SECRET_HEADER));
        }
        Ok(())
    }

    fn parse(&self, request: &ApiRequest) -> Result<Vec<Event>, RelayError> {
        let update: Update = serde_json::from_slice(&request.body).map_err(malformed(Channel::Telegram))?;
        let id = update.update_id.to_string();
        let event = |from: i64, kind, callback_id| Event {
            id: id.clone(),
            from: from.to_string(),
            to: String::new(),
            kind,
            callback_id,
            call_turn: None,
            attested: false,
        };
        let notice = |n: &str| EventKind::Notice { notice: n.into() };
        if let Some(m) = update.message {
            if m.chat.is_shared() {
                return Ok(vec![event(0, notice("group chat refused"), None)]);
            }
            let kind = match (m.text, m.sticker) {
                (Some(text), _) if text.trim() == "/start" || text.trim().starts_with("/start ") => EventKind::Opened,
                (Some(text), _) if !text.trim().is_empty() => EventKind::Text { text, payload: None },
                (_, Some(_)) => notice("sticker"),
                _ => match MEDIA.iter().find(|k| m.rest.contains_key(**k)) {
                    Some(media) => EventKind::Media { media: (*media).into(), caption: m.caption },
                    None => notice("other"),
                },
            };
            return Ok(vec![event(m.chat.id, kind, None)]);
        }
        if let Some(q) = update.callback_query {
            if q.message.as_ref().is_some_and(|m| m.chat.is_shared()) {
                return Ok(vec![event(0, notice("group chat refused"), None)]);
            }
            let chat = q.message.map_or(q.from.id, |m| m.chat.id);
            let kind = match q.data {
                Some(data) => EventKind::Text { text: data.clone(), payload: Some(data) },
                None => notice("callback"),
            };
            return Ok(vec![event(chat, kind, Some(q.id))]);
        }
        // Edits, channel posts, membership changes: recorded. They have no sender chat here.
        let what = update.rest.keys().next().cloned().unwrap_or_else(|| "empty".into());
        Ok(vec![event(0, notice(&what), None)])
    }

    fn identity(&self, event: &Event) -> ChannelIdentity {
        ChannelIdentity::Telegram(event.from.clone())
    }

    fn typing(&self, event: &Event) -> Option<HttpRequest> {
        Some(self.call("sendChatAction", json!({ "chat_id": chat_id(&event.from), "action": "typing" })))
    }

    fn render(&self, event: &Event, exchange: &Exchange) -> Rendered {
        let chat = chat_id(&event.from);
        let mut sends = Vec::new();
        if let Some(id) = &event.callback_id {
            sends.push(self.call("answerCallbackQuery", json!({ "callback_query_id": id })));
        }
        for message in &exchange.messages {
            for (method, mut body) in render_message(message) {
                super::set(&mut body, "chat_id", chat.clone());
                sends.push(self.call(method, body));
            }
        }
        Rendered { sends, answer: None }
    }
}

/// Chat ids are numbers on the wire.
fn chat_id(from: &str) -> Value {
    from.parse::<i64>().map_or_else(|_| json!(from), |n| json!(n))
}

/// A button that sends `payload` back as a callback query.
fn callback_button(label: &str, payload: &str) -> Value {
    json!({ "text": label, "callback_data": shorten_bytes(payload, MAX_CALLBACK_DATA) })
}

/// One agent message as Bot API calls: `(method, body)` without `chat_id`.
fn render_message(message: &Message) -> Vec<(&'static str, Value)> {
    let mut out: Vec<(&'static str, Value)> =
        split(&message.text, MAX_TEXT).into_iter().map(|t| ("sendMessage", json!({ "text": t }))).collect();
    if !message.quick_replies.is_empty()
        && let Some((_, last)) = out.last_mut()
    {
        let rows: Vec<Value> = message
            .quick_replies
            .iter()
            .map(|q| json!([callback_button(&q.label, q.payload.as_deref().unwrap_or(&q.label))]))
            .collect();
        super::set(last, "reply_markup", json!({ "inline_keyboard": rows }));
    }
    for card in &message.cards {
        let mut text = card.title.clone();
        if let Some(subtitle) = &card.subtitle {
            text.push('\n');
            text.push_str(subtitle);
        }
        let rows: Vec<Value> = card
            .buttons
            .iter()
            .map(|b| match &b.url {
                Some(url) => json!([{ "text": b.label, "url": url }]),
                None => json!([callback_button(&b.label, b.payload.as_deref().unwrap_or(&b.label))]),
            })
            .collect();
        let mut body = match &card.image {
            Some(photo) => ("sendPhoto", json!({ "photo": photo, "caption": shorten(&text, MAX_CAPTION) })),
            None => ("sendMessage", json!({ "text": shorten(&text, MAX_TEXT) })),
        };
        if !rows.is_empty() {
            super::set(&mut body.1, "reply_markup", json!({ "inline_keyboard": rows }));
        }
        out.push(body);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_dialog::protocol::Role;
    use switchboard_dialog::response::{Card, CardButton, QuickReply};

    fn relay() -> Telegram {
        let mut s = Settings::default();
        for (k, v) in [
            (names::TELEGRAM_SECRET_TOKEN, "s3cret_-Token"),
            (names::TELEGRAM_BOT_TOKEN, "123:abc"),
            (names::TELEGRAM_API_URL, "http://tg.test"),
        ] {
            s.set(k, v).unwrap();
        }
        Telegram::new(&s).unwrap()
    }

    fn parse(update: Value) -> Event {
        let mut events = relay().parse(&ApiRequest::post("/channels/telegram", &update.to_string())).unwrap();
        assert_eq!(events.len(), 1);
        events.remove(0)
    }

    #[test]
    fn the_secret_header_must_match_exactly() {
        let request = ApiRequest::post("/channels/telegram", "{}");
        assert_eq!(relay().verify(&request.clone().header(SECRET_HEADER, "s3cret_-Token")), Ok(()));
        assert_eq!(
            relay().verify(&request.clone().header(SECRET_HEADER, "s3cret_-Toke")),
            Err(RelayError::BadSignature(SECRET_HEADER))
        );
        assert_eq!(
            relay().verify(&request.clone().header(SECRET_HEADER, "S3CRET_-TOKEN")),
            Err(RelayError::BadSignature(SECRET_HEADER))
        );
        assert_eq!(relay().verify(&request), Err(RelayError::MissingSignature(SECRET_HEADER)));
        assert_eq!(Telegram::new(&Settings::default()).unwrap_err().status(), 501);
    }

    #[test]
    fn updates_become_events() {
        let text = parse(
            json!({"update_id": 10, "message": {"message_id": 1, "from": {"id": 42}, "chat": {"id": 42, "type": "private"}, "date": 1, "text": "Where is my order?"}}),
        );
        assert_eq!((text.id.as_str(), text.from.as_str()), ("10", "42"));
        assert_eq!(text.kind, EventKind::Text { text: "Where is my order?".into(), payload: None });
        assert_eq!(relay().identity(&text), ChannelIdentity::Telegram("42".into()));
        let start = parse(json!({"update_id": 11, "message": {"message_id": 2, "chat": {"id": 42}, "text": "/start"}}));
        assert_eq!(start.kind, EventKind::Opened);
        let press = parse(
            json!({"update_id": 12, "callback_query": {"id": "cb-1", "from": {"id": 42}, "message": {"message_id": 3, "chat": {"id": -100}}, "data": "Yes"}}),
        );
        assert_eq!((press.from.as_str(), press.callback_id.as_deref()), ("-100", Some("cb-1")));
        assert_eq!(press.kind, EventKind::Text { text: "Yes".into(), payload: Some("Yes".into()) });
        let photo = parse(
            json!({"update_id": 13, "message": {"message_id": 4, "chat": {"id": 42}, "photo": [{"file_id": "f"}], "caption": "lamp"}}),
        );
        assert_eq!(photo.kind, EventKind::Media { media: "photo".into(), caption: Some("lamp".into()) });
        let sticker = parse(
            json!({"update_id": 14, "message": {"message_id": 5, "chat": {"id": 42}, "sticker": {"file_id": "s"}}}),
        );
        assert_eq!(sticker.kind, EventKind::Notice { notice: "sticker".into() });
        let edit =
            parse(json!({"update_id": 15, "edited_message": {"message_id": 1, "chat": {"id": 42}, "text": "x"}}));
        assert_eq!(edit.kind, EventKind::Notice { notice: "edited_message".into() });
        assert!(relay().parse(&ApiRequest::post("/channels/telegram", r#"{"message":{}}"#)).is_err());
    }

    #[test]
    fn replies_carry_inline_keyboards() {
        let press =
            parse(json!({"update_id": 12, "callback_query": {"id": "cb-1", "from": {"id": 42}, "data": "Yes"}}));
        let message = Message {
            id: "m1".into(),
            role: Role::Bot,
            text: "Is it plugged in?".into(),
            quick_replies: vec![
                QuickReply { label: "Yes".into(), payload: None },
                QuickReply { label: "Talk to a person".into(), payload: Some("é".repeat(40)) },
            ],
            cards: vec![Card {
                title: "Arc".into(),
                subtitle: None,
                image: Some("https://x/arc.jpg".into()),
                buttons: vec![CardButton { label: "View".into(), payload: None, url: Some("https://x/arc".into()) }],
            }],
            ts: 0,
            author: None,
        };
        let rendered = relay().render(&press, &Exchange { messages: vec![message], ..Exchange::default() });
        let calls: Vec<(String, Value)> = rendered
            .sends
            .iter()
            .map(|r| (r.url.clone(), serde_json::from_str(r.body.as_deref().unwrap()).unwrap()))
            .collect();
        assert_eq!(
            calls[0],
            ("http://tg.test/bot123:abc/answerCallbackQuery".into(), json!({"callback_query_id": "cb-1"}))
        );
        assert_eq!(calls[1].0, "http://tg.test/bot123:abc/sendMessage");
        assert_eq!(calls[1].1["chat_id"], 42);
        let keyboard = &calls[1].1["reply_markup"]["inline_keyboard"];
        assert_eq!(keyboard[0][0], json!({"text": "Yes", "callback_data": "Yes"}));
        assert!(keyboard[1][0]["callback_data"].as_str().unwrap().len() <= MAX_CALLBACK_DATA);
        assert_eq!(calls[2].0, "http://tg.test/bot123:abc/sendPhoto");
        assert_eq!(calls[2].1["reply_markup"]["inline_keyboard"][0][0]["url"], "https://x/arc");
        let typing = relay().typing(&press).unwrap();
        assert_eq!(typing.url, "http://tg.test/bot123:abc/sendChatAction");
    }
}
