//! Facebook Messenger: a page's webhook (`object: page`), replies through the Send API.
//!
//! Limits enforced when rendering: text ≤ 2,000 characters (longer text is split), at most 13
//! quick replies with titles ≤ 20 characters, cards as a generic template (≤ 10 elements, ≤ 3
//! buttons each). Echoes of the page's own messages, delivery and read receipts, reactions and
//! stickers are recorded, not answered.

use super::meta::{self, graph_url};
use super::settings::{Settings, names};
use super::text::{shorten, split};
use super::{Channel, Event, EventKind, Relay, RelayError, Rendered, malformed, post_json};
use crate::api::{ApiRequest, ApiResponse};
use crate::conversation::Exchange;
use crate::identity::ChannelIdentity;
use crate::ports::HttpRequest;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_dialog::protocol::{Message, Role};

/// Longest text message.
pub const MAX_TEXT: usize = 2000;
/// Most quick replies on one message.
pub const MAX_QUICK_REPLIES: usize = 13;
/// Longest quick reply title.
pub const MAX_TITLE: usize = 20;

const NAME: &str = "messenger";

/// The Messenger relay.
#[derive(Debug, Clone)]
pub struct Messenger {
    settings: Settings,
    token: String,
}

impl Messenger {
    /// Needs the Meta app secret and the page token.
    pub fn new(settings: &Settings) -> Result<Self, RelayError> {
        Settings::require(NAME, &settings.meta_app_secret, names::META_APP_SECRET)?;
        let token = Settings::require(NAME, &settings.messenger_page_token, names::MESSENGER_PAGE_TOKEN)?.to_owned();
        Ok(Self { settings: settings.clone(), token })
    }

    fn send(&self, event: &Event, body: Value) -> HttpRequest {
        let mut body = body;
        super::set(&mut body, "recipient", json!({ "id": event.from }));
        let auth = vec![("Authorization".to_owned(), format!("Bearer {}", self.token))];
        post_json(graph_url(&self.settings, &format!("{}/messages", event.to)), auth, &body)
    }
}

#[derive(Deserialize)]
struct Delivery {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    id: String,
    #[serde(default)]
    messaging: Vec<Messaging>,
}

#[derive(Deserialize)]
struct Messaging {
    sender: Party,
    #[serde(default)]
    timestamp: u64,
    #[serde(default)]
    message: Option<Inbound>,
    #[serde(default)]
    postback: Option<Postback>,
    #[serde(default)]
    delivery: Option<Value>,
    #[serde(default)]
    read: Option<Value>,
    #[serde(default)]
    reaction: Option<Value>,
}

#[derive(Deserialize)]
struct Party {
    id: String,
}

#[derive(Deserialize)]
struct Inbound {
    mid: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    quick_reply: Option<Payload>,
    #[serde(default)]
    is_echo: bool,
    #[serde(default)]
    attachments: Vec<Attachment>,
}

#[derive(Deserialize)]
struct Payload {
    payload: String,
}

#[derive(Deserialize)]
struct Postback {
    #[serde(default)]
    mid: Option<String>,
    #[serde(default)]
    title: Option<String>,
    payload: String,
}

#[derive(Deserialize)]
struct Attachment {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    payload: Option<Value>,
}

impl Relay for Messenger {
    fn channel(&self) -> Channel {
        Channel::Messenger
    }

    fn verify(&self, request: &ApiRequest) -> Result<(), RelayError> {
        meta::verify(NAME, &self.settings, request)
    }

    fn handshake(&self, request: &ApiRequest) -> Result<ApiResponse, RelayError> {
        meta::handshake(NAME, &self.settings, request)
    }

    fn parse(&self, request: &ApiRequest) -> Result<Vec<Event>, RelayError> {
        let delivery: Delivery = serde_json::from_slice(&request.body).map_err(malformed(Channel::Messenger))?;
        if delivery.object != "page" {
            return Err(RelayError::Malformed(NAME, format!("object '{}', expected 'page'", delivery.object)));
        }
        let mut events = Vec::new();
        for entry in delivery.entry {
            for m in entry.messaging {
                let (from, to) = (m.sender.id.clone(), entry.id.clone());
                let event = |id: String, kind| Event {
                    id,
                    from: from.clone(),
                    to: to.clone(),
                    kind,
                    callback_id: None,
                    call_turn: None,
                    attested: false,
                };
                let notice = |notice: &str| EventKind::Notice { notice: notice.into() };
                let fallback_id = format!("{}:{}", m.sender.id, m.timestamp);
                if let Some(message) = m.message {
                    let kind = if message.is_echo {
                        notice("echo")
                    } else if let Some(text) = message.text.filter(|t| !t.trim().is_empty()) {
                        EventKind::Text { text, payload: message.quick_reply.map(|q| q.payload) }
                    } else if let Some(a) = message.attachments.first() {
                        let sticker = a.payload.as_ref().is_some_and(|p| p.get("sticker_id").is_some());
                        if sticker {
                            notice("sticker")
                        } else {
                            EventKind::Media { media: a.kind.clone(), caption: None }
                        }
                    } else {
                        notice("empty")
                    };
                    events.push(event(message.mid, kind));
                } else if let Some(postback) = m.postback {
                    let text = postback.title.unwrap_or_else(|| postback.payload.clone());
                    let kind = EventKind::Text { text, payload: Some(postback.payload) };
                    events.push(event(postback.mid.unwrap_or(fallback_id), kind));
                } else {
                    let kind = match (m.delivery, m.read, m.reaction) {
                        (Some(_), _, _) => "delivered",
                        (_, Some(_), _) => "read",
                        (_, _, Some(_)) => "reaction",
                        _ => "other",
                    };
                    events.push(event(fallback_id, notice(kind)));
                }
            }
        }
        Ok(events)
    }

    fn identity(&self, event: &Event) -> ChannelIdentity {
        ChannelIdentity::MessengerPsid(event.from.clone())
    }

    fn typing(&self, event: &Event) -> Option<HttpRequest> {
        Some(self.send(event, json!({ "sender_action": "typing_on" })))
    }

    fn render(&self, event: &Event, exchange: &Exchange) -> Rendered {
        // A human agent's reply may come after Messenger's 24-hour response window: Meta's
        // `HUMAN_AGENT` tag allows it for 7 days.
        let envelope = |message: Value| match from_a_human(exchange) {
            true => json!({ "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT", "message": message }),
            false => json!({ "messaging_type": "RESPONSE", "message": message }),
        };
        let sends = exchange
            .messages
            .iter()
            .flat_map(render_message)
            .map(|message| self.send(event, envelope(message)))
            .collect();
        Rendered { sends, answer: None }
    }
}

/// Whether the messages are a human agent's (pushed from the console), not the bot's reply.
fn from_a_human(exchange: &Exchange) -> bool {
    exchange.messages.iter().any(|m| m.role == Role::Agent)
}

/// One agent message as Send API `message` objects: text pieces, then a generic template for
/// cards; quick replies ride on the last.
fn render_message(message: &Message) -> Vec<Value> {
    let mut out: Vec<Value> = split(&message.text, MAX_TEXT).into_iter().map(|t| json!({ "text": t })).collect();
    if !message.cards.is_empty() {
        let elements: Vec<Value> = message
            .cards
            .iter()
            .take(10)
            .map(|card| {
                let buttons: Vec<Value> = card
                    .buttons
                    .iter()
                    .take(3)
                    .map(|b| match &b.url {
                        Some(url) => json!({ "type": "web_url", "url": url, "title": shorten(&b.label, MAX_TITLE) }),
                        None => json!({ "type": "postback", "title": shorten(&b.label, MAX_TITLE),
                                        "payload": b.payload.as_deref().unwrap_or(&b.label) }),
                    })
                    .collect();
                let mut element = json!({ "title": shorten(&card.title, 80) });
                if let Some(subtitle) = &card.subtitle {
                    super::set(&mut element, "subtitle", json!(shorten(subtitle, 80)));
                }
                if let Some(image) = &card.image {
                    super::set(&mut element, "image_url", json!(image));
                }
                if !buttons.is_empty() {
                    super::set(&mut element, "buttons", json!(buttons));
                }
                element
            })
            .collect();
        out.push(json!({ "attachment": { "type": "template",
                          "payload": { "template_type": "generic", "elements": elements } } }));
    }
    if !message.quick_replies.is_empty()
        && let Some(last) = out.last_mut()
    {
        let replies: Vec<Value> = message
            .quick_replies
            .iter()
            .take(MAX_QUICK_REPLIES)
            .map(|q| {
                json!({ "content_type": "text", "title": shorten(&q.label, MAX_TITLE),
                             "payload": shorten(q.payload.as_deref().unwrap_or(&q.label), 1000) })
            })
            .collect();
        super::set(last, "quick_replies", json!(replies));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_dialog::protocol::Role;
    use switchboard_dialog::response::{Card, CardButton, QuickReply};

    fn relay() -> Messenger {
        let mut s = Settings::default();
        for (k, v) in [(names::META_APP_SECRET, "secret"), (names::MESSENGER_PAGE_TOKEN, "page-token")] {
            s.set(k, v).unwrap();
        }
        s.set(names::GRAPH_API_URL, "http://graph.test").unwrap();
        Messenger::new(&s).unwrap()
    }

    #[test]
    fn every_entry_and_event_of_a_delivery_is_parsed() {
        let body = json!({"object": "page", "entry": [
            {"id": "PAGE", "time": 1, "messaging": [
                {"sender": {"id": "PSID1"}, "recipient": {"id": "PAGE"}, "timestamp": 1,
                 "message": {"mid": "m.1", "text": "Where is my order?"}},
                {"sender": {"id": "PSID1"}, "recipient": {"id": "PAGE"}, "timestamp": 2,
                 "message": {"mid": "m.2", "text": "Yes", "quick_reply": {"payload": "YES_PAYLOAD"}}}]},
            {"id": "PAGE", "time": 2, "messaging": [
                {"sender": {"id": "PSID2"}, "recipient": {"id": "PAGE"}, "timestamp": 3,
                 "postback": {"mid": "m.3", "title": "Book", "payload": "Book an appointment"}},
                {"sender": {"id": "PSID2"}, "recipient": {"id": "PAGE"}, "timestamp": 4,
                 "message": {"mid": "m.4", "attachments": [{"type": "image", "payload": {"url": "https://x/y.jpg"}}]}},
                {"sender": {"id": "PSID2"}, "recipient": {"id": "PAGE"}, "timestamp": 5,
                 "message": {"mid": "m.5", "attachments": [{"type": "image", "payload": {"sticker_id": 369239263222822u64}}]}},
                {"sender": {"id": "PAGE"}, "recipient": {"id": "PSID2"}, "timestamp": 6,
                 "message": {"mid": "m.6", "is_echo": true, "text": "our own words"}},
                {"sender": {"id": "PSID2"}, "recipient": {"id": "PAGE"}, "timestamp": 7, "delivery": {"mids": ["m.6"]}},
                {"sender": {"id": "PSID2"}, "recipient": {"id": "PAGE"}, "timestamp": 8, "read": {"watermark": 7}},
                {"sender": {"id": "PSID2"}, "recipient": {"id": "PAGE"}, "timestamp": 9,
                 "reaction": {"mid": "m.6", "action": "react", "emoji": "👍"}}]}]});
        let events = relay().parse(&ApiRequest::post("/channels/messenger", &body.to_string())).unwrap();
        let kinds: Vec<(&str, &EventKind)> = events.iter().map(|e| (e.id.as_str(), &e.kind)).collect();
        let text = |t: &str, p: Option<&str>| EventKind::Text { text: t.into(), payload: p.map(Into::into) };
        let notice = |n: &str| EventKind::Notice { notice: n.into() };
        assert_eq!(
            kinds,
            [
                ("m.1", &text("Where is my order?", None)),
                ("m.2", &text("Yes", Some("YES_PAYLOAD"))),
                ("m.3", &text("Book", Some("Book an appointment"))),
                ("m.4", &EventKind::Media { media: "image".into(), caption: None }),
                ("m.5", &notice("sticker")),
                ("m.6", &notice("echo")),
                ("PSID2:7", &notice("delivered")),
                ("PSID2:8", &notice("read")),
                ("PSID2:9", &notice("reaction")),
            ]
        );
        assert_eq!((events[2].from.as_str(), events[2].to.as_str()), ("PSID2", "PAGE"));
        assert_eq!(relay().identity(&events[0]), ChannelIdentity::MessengerPsid("PSID1".into()));

        let bad = ApiRequest::post("/channels/messenger", r#"{"object":"instagram","entry":[]}"#);
        assert!(matches!(relay().parse(&bad), Err(RelayError::Malformed(..))));
        assert!(matches!(relay().parse(&ApiRequest::post("/", "{")), Err(RelayError::Malformed(..))));
    }

    #[test]
    fn replies_fit_messengers_limits() {
        let labels: Vec<QuickReply> = (0..20)
            .map(|i| QuickReply { label: format!("Choice number {i} with a long title"), payload: None })
            .collect();
        let message = Message {
            id: "m2".into(),
            role: Role::Bot,
            text: "word ".repeat(500),
            quick_replies: labels,
            cards: vec![Card {
                title: "Arc desk lamp".into(),
                subtitle: Some("49 €".into()),
                image: None,
                buttons: vec![
                    CardButton { label: "View".into(), payload: None, url: Some("https://shop.example/arc".into()) },
                    CardButton { label: "Book".into(), payload: Some("Book a consultation".into()), url: None },
                ],
            }],
            ts: 0,
            author: None,
        };
        let event = Event {
            id: "m.1".into(),
            from: "PSID".into(),
            to: "PAGE".into(),
            kind: EventKind::Text { text: "x".into(), payload: None },
            callback_id: None,
            call_turn: None,
            attested: false,
        };
        let rendered = relay().render(&event, &Exchange { messages: vec![message], ..Exchange::default() });
        assert_eq!(rendered.sends.len(), 3, "two text pieces and the template");
        let bodies: Vec<Value> =
            rendered.sends.iter().map(|r| serde_json::from_str(r.body.as_deref().unwrap()).unwrap()).collect();
        for (request, body) in rendered.sends.iter().zip(&bodies) {
            assert_eq!(request.url, "http://graph.test/v21.0/PAGE/messages");
            assert!(request.headers.contains(&("Authorization".into(), "Bearer page-token".into())));
            assert_eq!(body["recipient"]["id"], "PSID");
            assert_eq!(body["messaging_type"], "RESPONSE");
            assert!(body["message"]["text"].as_str().is_none_or(|t| t.chars().count() <= MAX_TEXT));
        }
        let template = &bodies[2]["message"];
        assert_eq!(template["attachment"]["payload"]["elements"][0]["buttons"][1]["payload"], "Book a consultation");
        let quick = template["quick_replies"].as_array().unwrap();
        assert_eq!(quick.len(), MAX_QUICK_REPLIES);
        assert!(quick.iter().all(|q| q["title"].as_str().unwrap().chars().count() <= MAX_TITLE));
        assert_eq!(quick[0]["payload"], "Choice number 0 with a long title");
        assert!(bodies[0]["message"].get("quick_replies").is_none());

        let typing = relay().typing(&event).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(typing.body.as_deref().unwrap()).unwrap(),
            json!({"sender_action": "typing_on", "recipient": {"id": "PSID"}})
        );

        // A human agent's reply goes out tagged, so it may follow the 24-hour window.
        let human = Message {
            id: "m9".into(),
            role: Role::Agent,
            text: "Hi, Alice here.".into(),
            quick_replies: Vec::new(),
            cards: Vec::new(),
            ts: 0,
            author: Some("Alice".into()),
        };
        let rendered = relay().render(&event, &Exchange { messages: vec![human], ..Exchange::default() });
        let body: Value = serde_json::from_str(rendered.sends[0].body.as_deref().unwrap()).unwrap();
        assert_eq!((&body["messaging_type"], &body["tag"]), (&json!("MESSAGE_TAG"), &json!("HUMAN_AGENT")));
    }
}
