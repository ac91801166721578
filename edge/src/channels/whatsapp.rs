//! WhatsApp Cloud API: `whatsapp_business_account` webhooks, replies through
//! `/<phone number id>/messages`.
//!
//! The sender's number is a `phone` identity, so a web user whose verified JWT carries the same
//! phone is the same user. Limits enforced when rendering: text ≤ 4,096 characters (split),
//! 1–3 quick replies as reply buttons (titles ≤ 20, body ≤ 1,024), 4–10 as a list (titles ≤
//! 24), cards as image or button messages. Delivery statuses, reactions and stickers are
//! recorded, not answered.

use super::meta::{self, graph_url};
use super::settings::{Settings, names};
use super::text::{shorten, split};
use super::{Channel, Event, EventKind, Relay, RelayError, Rendered, malformed, post_json};
use crate::api::{ApiRequest, ApiResponse};
use crate::conversation::Exchange;
use crate::identity::{ChannelIdentity, e164};
use crate::ports::HttpRequest;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_dialog::protocol::Message;
use switchboard_dialog::response::Card;

/// Longest text message.
pub const MAX_TEXT: usize = 4096;
/// Longest body of an interactive message.
pub const MAX_INTERACTIVE_BODY: usize = 1024;
/// Most reply buttons; more quick replies become a list.
pub const MAX_BUTTONS: usize = 3;
/// Most rows of a list.
pub const MAX_ROWS: usize = 10;
/// The label of the button that opens a list (interface text, like the widget's).
const LIST_BUTTON: &str = "Options";

const NAME: &str = "whatsapp";

/// The WhatsApp relay.
#[derive(Debug, Clone)]
pub struct WhatsApp {
    settings: Settings,
    token: String,
}

impl WhatsApp {
    /// Needs the Meta app secret and the WhatsApp access token.
    pub fn new(settings: &Settings) -> Result<Self, RelayError> {
        Settings::require(NAME, &settings.meta_app_secret, names::META_APP_SECRET)?;
        let token = Settings::require(NAME, &settings.whatsapp_token, names::WHATSAPP_TOKEN)?.to_owned();
        Ok(Self { settings: settings.clone(), token })
    }

    fn send(&self, event: &Event, kind: &str, content: Value) -> HttpRequest {
        let body = json!({ "messaging_product": "whatsapp", "recipient_type": "individual",
                           "to": format!("+{}", event.from.trim_start_matches('+')), "type": kind, kind: content });
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
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    field: String,
    value: ChangeValue,
}

#[derive(Deserialize)]
struct ChangeValue {
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    messages: Vec<Inbound>,
    #[serde(default)]
    statuses: Vec<Status>,
}

#[derive(Deserialize)]
struct Metadata {
    phone_number_id: String,
}

#[derive(Deserialize)]
struct Inbound {
    from: String,
    id: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    text: Option<Body>,
    #[serde(default)]
    interactive: Option<Interactive>,
    #[serde(default)]
    button: Option<TemplateButton>,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
struct Body {
    body: String,
}

#[derive(Deserialize)]
struct Interactive {
    #[serde(default)]
    button_reply: Option<Reply>,
    #[serde(default)]
    list_reply: Option<Reply>,
}

#[derive(Deserialize)]
struct Reply {
    id: String,
    title: String,
}

#[derive(Deserialize)]
struct TemplateButton {
    #[serde(default)]
    payload: Option<String>,
    text: String,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    status: String,
    #[serde(default)]
    recipient_id: String,
}

impl Relay for WhatsApp {
    fn channel(&self) -> Channel {
        Channel::Whatsapp
    }

    fn verify(&self, request: &ApiRequest) -> Result<(), RelayError> {
        meta::verify(NAME, &self.settings, request)
    }

    fn handshake(&self, request: &ApiRequest) -> Result<ApiResponse, RelayError> {
        meta::handshake(NAME, &self.settings, request)
    }

    fn parse(&self, request: &ApiRequest) -> Result<Vec<Event>, RelayError> {
        let delivery: Delivery = serde_json::from_slice(&request.body).map_err(malformed(Channel::Whatsapp))?;
        if delivery.object != "whatsapp_business_account" {
            return Err(RelayError::Malformed(
                NAME,
                format!("object '{}', expected 'whatsapp_business_account'", delivery.object),
            ));
        }
        let mut events = Vec::new();
        for change in delivery.entry.into_iter().flat_map(|e| e.changes).filter(|c| c.field == "messages") {
            let value = change.value;
            let to = value.metadata.map(|m| m.phone_number_id).unwrap_or_default();
            let event = |id: String, from: String, kind| Event {
                id,
                from,
                to: to.clone(),
                kind,
                callback_id: None,
                call_turn: None,
                attested: false,
            };
            for m in value.messages {
                let kind = inbound_kind(&m);
                events.push(event(m.id, m.from, kind));
            }
            for s in value.statuses {
                let notice = EventKind::Notice { notice: s.status.clone() };
                events.push(event(format!("{}:{}", s.id, s.status), s.recipient_id, notice));
            }
        }
        Ok(events)
    }

    fn identity(&self, event: &Event) -> ChannelIdentity {
        match e164(&format!("+{}", event.from.trim_start_matches('+'))) {
            Some(phone) => ChannelIdentity::Phone(phone),
            None => ChannelIdentity::WhatsApp(event.from.clone()),
        }
    }

    fn render(&self, event: &Event, exchange: &Exchange) -> Rendered {
        let mut sends = Vec::new();
        for message in &exchange.messages {
            for (kind, content) in render_message(message) {
                sends.push(self.send(event, kind, content));
            }
        }
        Rendered { sends, answer: None }
    }
}

fn inbound_kind(m: &Inbound) -> EventKind {
    let notice = |n: &str| EventKind::Notice { notice: n.into() };
    let reply = |r: &Reply| EventKind::Text { text: r.title.clone(), payload: Some(r.id.clone()) };
    match m.kind.as_str() {
        "text" => match &m.text {
            Some(t) if !t.body.trim().is_empty() => EventKind::Text { text: t.body.clone(), payload: None },
            _ => notice("empty"),
        },
        "interactive" => match m.interactive.as_ref().and_then(|i| i.button_reply.as_ref().or(i.list_reply.as_ref())) {
            Some(r) => reply(r),
            None => notice("interactive"),
        },
        "button" => match &m.button {
            Some(b) => EventKind::Text { text: b.text.clone(), payload: b.payload.clone() },
            None => notice("button"),
        },
        "reaction" | "sticker" | "system" | "unsupported" | "" => {
            notice(if m.kind.is_empty() { "unknown" } else { &m.kind })
        }
        media => {
            let caption = m.rest.get(media).and_then(|c| c.get("caption")).and_then(Value::as_str).map(str::to_owned);
            EventKind::Media { media: media.to_owned(), caption }
        }
    }
}

/// One agent message as Cloud API messages: `(type, content)`.
fn render_message(message: &Message) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    let choices = &message.quick_replies;
    let limit = if choices.is_empty() { MAX_TEXT } else { MAX_INTERACTIVE_BODY };
    let mut pieces = split(&message.text, limit);
    let last = if choices.is_empty() { None } else { pieces.pop() };
    out.extend(pieces.into_iter().map(|t| ("text", json!({ "body": t }))));
    if let Some(body) = last {
        let options: Vec<(String, String)> =
            choices.iter().map(|q| (q.payload.clone().unwrap_or_else(|| q.label.clone()), q.label.clone())).collect();
        out.push(("interactive", choose(&body, &options, None)));
    }
    for card in &message.cards {
        out.push(render_card(card));
    }
    out
}

/// Reply buttons (up to three) or a list (up to ten) under `body`.
fn choose(body: &str, options: &[(String, String)], header_image: Option<&str>) -> Value {
    let id = |payload: &str| shorten(payload, 256);
    let mut interactive = if options.len() <= MAX_BUTTONS {
        let buttons: Vec<Value> = options
            .iter()
            .map(|(payload, label)| json!({ "type": "reply", "reply": { "id": id(payload), "title": shorten(label, 20) } }))
            .collect();
        json!({ "type": "button", "body": { "text": body }, "action": { "buttons": buttons } })
    } else {
        let rows: Vec<Value> = options
            .iter()
            .take(MAX_ROWS)
            .map(|(payload, label)| json!({ "id": id(payload), "title": shorten(label, 24) }))
            .collect();
        json!({ "type": "list", "body": { "text": body },
                "action": { "button": LIST_BUTTON, "sections": [{ "rows": rows }] } })
    };
    if let Some(link) = header_image {
        super::set(&mut interactive, "header", json!({ "type": "image", "image": { "link": link } }));
    }
    interactive
}

/// A card: its title, subtitle and links as text; payload buttons as reply buttons; its image
/// as the header or the message itself.
fn render_card(card: &Card) -> (&'static str, Value) {
    let mut text = format!("*{}*", card.title);
    if let Some(subtitle) = &card.subtitle {
        text.push('\n');
        text.push_str(subtitle);
    }
    for button in card.buttons.iter().filter(|b| b.url.is_some()) {
        text.push_str(&format!("\n{}: {}", button.label, button.url.as_deref().unwrap_or_default()));
    }
    let text = shorten(&text, MAX_INTERACTIVE_BODY);
    let options: Vec<(String, String)> = card
        .buttons
        .iter()
        .filter(|b| b.url.is_none())
        .take(MAX_BUTTONS)
        .map(|b| (b.payload.clone().unwrap_or_else(|| b.label.clone()), b.label.clone()))
        .collect();
    match (&card.image, options.is_empty()) {
        (image, false) => ("interactive", choose(&text, &options, image.as_deref())),
        (Some(image), true) => ("image", json!({ "link": image, "caption": text })),
        (None, true) => ("text", json!({ "body": text })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_dialog::protocol::Role;
    use switchboard_dialog::response::{CardButton, QuickReply};

    fn relay() -> WhatsApp {
        let mut s = Settings::default();
        for (k, v) in [
            (names::META_APP_SECRET, "secret"),
            (names::WHATSAPP_TOKEN, "wa-token"),
            (names::GRAPH_API_URL, "http://graph.test"),
        ] {
            s.set(k, v).unwrap();
        }
        WhatsApp::new(&s).unwrap()
    }

    fn message(text: &str, choices: &[&str]) -> Message {
        Message {
            id: "m1".into(),
            role: Role::Bot,
            text: text.into(),
            quick_replies: choices.iter().map(|c| QuickReply { label: (*c).into(), payload: None }).collect(),
            cards: Vec::new(),
            ts: 0,
            author: None,
        }
    }

    #[test]
    fn messages_statuses_and_media_of_all_entries_are_parsed() {
        let value = |messages: Value, statuses: Value| {
            json!({"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": "PNID"},
            "contacts": [{"profile": {"name": "Ann"}, "wa_id": "15551230001"}],
            "messages": messages, "statuses": statuses}})
        };
        let body = json!({"object": "whatsapp_business_account", "entry": [
            {"id": "WABA", "changes": [value(json!([
                {"from": "15551230001", "id": "wamid.1", "timestamp": "1", "type": "text", "text": {"body": "123456"}},
                {"from": "15551230001", "id": "wamid.2", "timestamp": "2", "type": "interactive",
                 "interactive": {"type": "button_reply", "button_reply": {"id": "Where is my order?", "title": "Where is my order?"}}},
                {"from": "15551230001", "id": "wamid.3", "timestamp": "3", "type": "image",
                 "image": {"id": "media-1", "mime_type": "image/jpeg", "caption": "the broken lamp"}}]), json!([]))]},
            {"id": "WABA", "changes": [value(json!([
                {"from": "15551230001", "id": "wamid.4", "timestamp": "4", "type": "reaction",
                 "reaction": {"message_id": "wamid.9", "emoji": "👍"}},
                {"from": "15551230001", "id": "wamid.5", "timestamp": "5", "type": "sticker", "sticker": {"id": "s"}},
                {"from": "15551230001", "id": "wamid.6", "timestamp": "6", "type": "location",
                 "location": {"latitude": 1.0, "longitude": 2.0}}]),
                json!([{"id": "wamid.9", "status": "delivered", "timestamp": "7", "recipient_id": "15551230001"}]))]}]});
        let events = relay().parse(&ApiRequest::post("/channels/whatsapp", &body.to_string())).unwrap();
        let kinds: Vec<(&str, &EventKind)> = events.iter().map(|e| (e.id.as_str(), &e.kind)).collect();
        let notice = |n: &str| EventKind::Notice { notice: n.into() };
        assert_eq!(
            kinds,
            [
                ("wamid.1", &EventKind::Text { text: "123456".into(), payload: None }),
                (
                    "wamid.2",
                    &EventKind::Text { text: "Where is my order?".into(), payload: Some("Where is my order?".into()) }
                ),
                ("wamid.3", &EventKind::Media { media: "image".into(), caption: Some("the broken lamp".into()) }),
                ("wamid.4", &notice("reaction")),
                ("wamid.5", &notice("sticker")),
                ("wamid.6", &EventKind::Media { media: "location".into(), caption: None }),
                ("wamid.9:delivered", &notice("delivered")),
            ]
        );
        assert_eq!(events[0].to, "PNID");
        assert_eq!(relay().identity(&events[0]), ChannelIdentity::Phone("+15551230001".into()));
        let other = ApiRequest::post("/channels/whatsapp", r#"{"object":"page","entry":[]}"#);
        assert!(matches!(relay().parse(&other), Err(RelayError::Malformed(..))));
    }

    #[test]
    fn quick_replies_become_buttons_or_a_list_within_limits() {
        let event = Event {
            id: "wamid.1".into(),
            from: "15551230001".into(),
            to: "PNID".into(),
            kind: EventKind::Text { text: "x".into(), payload: None },
            callback_id: None,
            call_turn: None,
            attested: false,
        };
        let render = |m: Message| {
            let rendered = relay().render(&event, &Exchange { messages: vec![m], ..Exchange::default() });
            rendered
                .sends
                .iter()
                .map(|r| {
                    assert_eq!(r.url, "http://graph.test/v21.0/PNID/messages");
                    assert!(r.headers.contains(&("Authorization".into(), "Bearer wa-token".into())));
                    serde_json::from_str::<Value>(r.body.as_deref().unwrap()).unwrap()
                })
                .collect::<Vec<_>>()
        };
        let plain = render(message("Your order 123456 is out for delivery.", &[]));
        assert_eq!(
            plain,
            [json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+15551230001",
                                  "type": "text", "text": {"body": "Your order 123456 is out for delivery."}})]
        );
        let buttons = render(message("Is it plugged in?", &["Yes", "No", "A very long answer indeed"]));
        let action = &buttons[0]["interactive"]["action"]["buttons"];
        assert_eq!(buttons[0]["interactive"]["type"], "button");
        assert_eq!(action.as_array().unwrap().len(), 3);
        assert_eq!(action[2]["reply"]["title"], "A very long answer …");
        assert_eq!(action[2]["reply"]["id"], "A very long answer indeed");
        let list = render(message("Pick one", &["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"]));
        assert_eq!(list[0]["interactive"]["type"], "list");
        assert_eq!(list[0]["interactive"]["action"]["sections"][0]["rows"].as_array().unwrap().len(), MAX_ROWS);
        let long = render(message(&"word ".repeat(1500), &["Yes"]));
        assert!(long.len() >= 2);
        assert!(long.iter().all(|b| b["text"]["body"].as_str().is_none_or(|t| t.chars().count() <= MAX_TEXT)));
        let last = long.last().unwrap();
        assert!(last["interactive"]["body"]["text"].as_str().unwrap().chars().count() <= MAX_INTERACTIVE_BODY);
    }

    #[test]
    fn cards_become_images_or_button_messages() {
        let card = |image: Option<&str>, payload: bool| Card {
            title: "Arc desk lamp".into(),
            subtitle: Some("49 €".into()),
            image: image.map(Into::into),
            buttons: vec![if payload {
                CardButton { label: "Book".into(), payload: Some("Book a consultation".into()), url: None }
            } else {
                CardButton { label: "View".into(), payload: None, url: Some("https://shop.example/arc".into()) }
            }],
        };
        let (kind, content) = render_card(&card(Some("https://x/lamp.jpg"), false));
        assert_eq!(
            (kind, content["caption"].as_str()),
            ("image", Some("*Arc desk lamp*\n49 €\nView: https://shop.example/arc"))
        );
        let (kind, content) = render_card(&card(Some("https://x/lamp.jpg"), true));
        assert_eq!(kind, "interactive");
        assert_eq!(content["header"]["image"]["link"], "https://x/lamp.jpg");
        assert_eq!(content["action"]["buttons"][0]["reply"]["id"], "Book a consultation");
        assert_eq!(render_card(&card(None, false)).0, "text");
    }
}
