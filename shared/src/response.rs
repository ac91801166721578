//! What the agent says: message templates from the agent file and the rendered [`Reply`].
//!
//! Every message list of an agent file (welcome, fallback, responses, prompts, pages, …) holds
//! items that are either a plain string or a rich message:
//!
//! ```yaml
//! - text: ["Your order $order-number has shipped.", "Order $order-number is on its way."]
//!   quick_replies: [Track it, { label: Talk to a person, payload: agent please }]
//!   cards:
//!     - { title: Desk lamp, subtitle: In stock, image: https://…/lamp.jpg,
//!         buttons: [{ label: Buy, url: https://shop.example/lamp }] }
//!   channels:
//!     voice: "Your order has shipped."
//! ```
//!
//! `text` variants rotate from turn to turn (the engine has no random source); `$name` is
//! replaced by the parameter's value everywhere; `channels` overrides the message for a channel
//! (`web`, `messenger`, `whatsapp`, `telegram`, `sms`, `voice`), chosen by the host with
//! [`Reply::for_channel`].

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Channels a message may be overridden for.
pub const CHANNELS: &[&str] = &["web", "messenger", "whatsapp", "telegram", "sms", "voice"];

/// A validated message template.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Response {
    /// Text variants; one is said per turn, rotating.
    pub variants: Vec<String>,
    /// Suggested answers shown as buttons.
    pub quick_replies: Vec<QuickReply>,
    /// Cards (several make a carousel).
    pub cards: Vec<Card>,
    /// Replacements per channel.
    pub channels: BTreeMap<String, Response>,
}

/// A suggested answer: pressing it sends `payload` (the label when absent) as the user's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickReply {
    /// What the button says.
    pub label: String,
    /// What pressing it sends; the label when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

/// A card: title, optional subtitle and image, and buttons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Card {
    /// Heading.
    pub title: String,
    /// Second line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// Image URL (https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Actions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<CardButton>,
}

/// A card's button: opens `url`, or sends `payload` (the label when absent) as the user's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardButton {
    /// What the button says.
    pub label: String,
    /// Sent as the user's words when pressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// Opened when pressed (https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A message from the agent to the user, rendered.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Reply {
    /// Plain text (may be empty for a message of cards only).
    pub text: String,
    /// Suggested answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quick_replies: Vec<QuickReply>,
    /// Cards.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cards: Vec<Card>,
    /// The message as overridden for channels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub channels: BTreeMap<String, Reply>,
}

impl Reply {
    /// A plain text reply.
    pub fn text(text: impl Into<String>) -> Self {
        Self { text: text.into(), ..Self::default() }
    }

    /// The message as `channel` shows it: its override, or the message itself.
    pub fn for_channel(&self, channel: &str) -> Reply {
        match self.channels.get(channel) {
            Some(special) => special.clone(),
            None => Reply { channels: BTreeMap::new(), ..self.clone() },
        }
    }
}

/// A plain text message equals its text.
impl PartialEq<&str> for Response {
    fn eq(&self, other: &&str) -> bool {
        matches!(self.variants.as_slice(), [only] if only == other)
            && self.quick_replies.is_empty()
            && self.cards.is_empty()
            && self.channels.is_empty()
    }
}

impl Response {
    /// A plain text template.
    pub fn text(text: impl Into<String>) -> Self {
        Self { variants: vec![text.into()], ..Self::default() }
    }

    /// Renders the template: variant `turn % n`, parameters substituted.
    pub fn render(&self, parameters: &Map<String, Value>, turn: u32) -> Reply {
        let nth = (turn as usize).checked_rem(self.variants.len());
        let text = nth.and_then(|i| self.variants.get(i)).map_or_else(String::new, |v| substitute(v, parameters));
        let sub = |s: &String| substitute(s, parameters);
        let opt = |s: &Option<String>| s.as_ref().map(sub);
        Reply {
            text,
            quick_replies: self
                .quick_replies
                .iter()
                .map(|q| QuickReply { label: sub(&q.label), payload: opt(&q.payload) })
                .collect(),
            cards: self
                .cards
                .iter()
                .map(|c| Card {
                    title: sub(&c.title),
                    subtitle: opt(&c.subtitle),
                    image: opt(&c.image),
                    buttons: c
                        .buttons
                        .iter()
                        .map(|b| CardButton { label: sub(&b.label), payload: opt(&b.payload), url: opt(&b.url) })
                        .collect(),
                })
                .collect(),
            channels: self.channels.iter().map(|(c, r)| (c.clone(), r.render(parameters, turn))).collect(),
        }
    }

    /// The first variant's text, for places that need one plain string (tests, logs).
    pub fn first_text(&self) -> &str {
        self.variants.first().map_or("", String::as_str)
    }
}

/// Replaces `$name` with the parameter's value (strings without quotes); unknown names stay.
pub fn substitute(template: &str, parameters: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let len = after.find(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_')).unwrap_or(after.len());
        match parameters.get(&after[..len]) {
            Some(Value::String(s)) if len > 0 => out.push_str(s),
            Some(v) if len > 0 => out.push_str(&v.to_string()),
            _ => out.push_str(&rest[at..at + 1 + len]),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// A message as written in the agent file: a string, or a map of the rich fields.
#[derive(Debug, Clone)]
pub(crate) struct RawResponse(RawRich);

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRich {
    #[serde(default)]
    text: Option<OneOrMany>,
    #[serde(default)]
    quick_replies: Vec<RawQuickReply>,
    #[serde(default)]
    cards: Vec<Card>,
    #[serde(default)]
    channels: BTreeMap<String, RawResponse>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RawQuickReply {
    Label(String),
    Full(QuickReply),
}

impl<'de> Deserialize<'de> for RawResponse {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // By hand rather than `untagged`, so a mistake inside a rich message keeps serde's
        // precise error ("unknown field `quick_reply`, expected one of …").
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawResponse;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a message: a string, or a map with text, quick_replies, cards, channels")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawResponse, E> {
                Ok(RawResponse(RawRich { text: Some(OneOrMany::One(v.to_owned())), ..RawRich::default() }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawResponse, A::Error> {
                RawRich::deserialize(de::value::MapAccessDeserializer::new(map)).map(RawResponse)
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl RawResponse {
    /// Checks the message; errors are `(field path, message)`.
    pub(crate) fn validate(self, at: &str) -> Result<Response, (String, String)> {
        let raw = self.0;
        let variants = match raw.text {
            None => Vec::new(),
            Some(OneOrMany::One(t)) => vec![t],
            Some(OneOrMany::Many(v)) if v.is_empty() => {
                return Err((format!("{at}.text"), "give at least one variant".into()));
            }
            Some(OneOrMany::Many(v)) => v,
        };
        if variants.is_empty() && raw.cards.is_empty() {
            return Err((at.to_owned(), "a message needs 'text' or 'cards'".into()));
        }
        for (i, card) in raw.cards.iter().enumerate() {
            for (j, b) in card.buttons.iter().enumerate() {
                if b.url.is_some() && b.payload.is_some() {
                    return Err((format!("{at}.cards[{i}].buttons[{j}]"), "give 'url' or 'payload', not both".into()));
                }
            }
        }
        let mut channels = BTreeMap::new();
        for (channel, r) in raw.channels {
            if !CHANNELS.contains(&channel.as_str()) {
                return Err((
                    format!("{at}.channels.{channel}"),
                    format!("unknown channel '{channel}'; expected one of {}", CHANNELS.join(", ")),
                ));
            }
            let r = r.validate(&format!("{at}.channels.{channel}"))?;
            channels.insert(channel, r);
        }
        Ok(Response {
            variants,
            quick_replies: raw
                .quick_replies
                .into_iter()
                .map(|q| match q {
                    RawQuickReply::Label(label) => QuickReply { label, payload: None },
                    RawQuickReply::Full(q) => q,
                })
                .collect(),
            cards: raw.cards,
            channels,
        })
    }
}

/// Validates a list of messages at `at` (`fallback`, `intents[2].responses`, …).
pub(crate) fn validate_all(raw: Vec<RawResponse>, at: &str) -> Result<Vec<Response>, (String, String)> {
    raw.into_iter().enumerate().map(|(i, r)| r.validate(&format!("{at}[{i}]"))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<Response, (String, String)> {
        serde_json::from_value::<RawResponse>(value).map_err(|e| ("serde".into(), e.to_string()))?.validate("m")
    }

    #[test]
    fn strings_and_rich_messages_render() {
        let params = json!({"n": 42, "who": "Ann"}).as_object().unwrap().clone();
        assert_eq!(parse(json!("Hi $who, $n!")).unwrap().render(&params, 0), Reply::text("Hi Ann, 42!"));
        let rich = parse(json!({
            "text": ["One $n", "Two $n"],
            "quick_replies": ["Yes", {"label": "No $who", "payload": "no"}],
            "cards": [{"title": "T $n", "buttons": [{"label": "Open", "url": "https://x/$n"}]}],
            "channels": {"voice": "Say $n"}
        }))
        .unwrap();
        let r = rich.render(&params, 3);
        assert_eq!(r.text, "Two 42");
        assert_eq!(r.quick_replies[1], QuickReply { label: "No Ann".into(), payload: Some("no".into()) });
        assert_eq!(r.cards[0].buttons[0].url.as_deref(), Some("https://x/42"));
        assert_eq!(r.for_channel("voice"), Reply::text("Say 42"));
        assert_eq!(r.for_channel("web").text, "Two 42");
        assert!(r.for_channel("web").channels.is_empty());
    }

    #[test]
    fn mistakes_name_the_field() {
        let err = parse(json!({"text": "x", "quick_reply": []})).unwrap_err().1;
        assert!(err.contains("unknown field `quick_reply`"), "{err}");
        assert_eq!(
            parse(json!({"quick_replies": ["a"]})).unwrap_err(),
            ("m".into(), "a message needs 'text' or 'cards'".into())
        );
        assert_eq!(parse(json!({"text": "x", "channels": {"fax": "y"}})).unwrap_err().0, "m.channels.fax");
        assert_eq!(parse(json!({"text": []})).unwrap_err().0, "m.text");
    }

    #[test]
    fn unknown_parameters_stay_as_written() {
        assert_eq!(substitute("cost: $5 for $x", &Map::new()), "cost: $5 for $x");
    }
}
