//! SMS over Twilio Programmable Messaging.
//!
//! Replies go out through the REST API (`POST /2010-04-01/Accounts/<sid>/Messages.json`) after
//! the webhook was acknowledged with an empty `<Response/>`, rather than as TwiML in the
//! webhook's answer: like the other text relays, the turn's webhook calls then never race
//! Twilio's 15 s timeout, a reply of several messages goes out in order, and a redelivered
//! message is simply dropped (see ARCHITECTURE.md). Plain text only: quick replies are listed
//! as `[label]`, cards as lines; pieces of at most 320 characters.

use super::settings::{Settings, names};
use super::text::{base64, split};
use super::{Channel, Event, EventKind, Relay, RelayError, Rendered, field, post_form, twilio};
use crate::api::{ApiRequest, ApiResponse};
use crate::conversation::Exchange;
use crate::identity::{ChannelIdentity, e164};
use switchboard_dialog::protocol::Message;

/// Longest message sent (Twilio segments beyond 160).
pub const MAX_TEXT: usize = 320;

const NAME: &str = "sms";

/// The SMS relay.
#[derive(Debug, Clone)]
pub struct Sms {
    settings: Settings,
    account: String,
    token: String,
}

impl Sms {
    /// Needs the auth token and the account SID.
    pub fn new(settings: &Settings) -> Result<Self, RelayError> {
        let token = Settings::require(NAME, &settings.twilio_auth_token, names::TWILIO_AUTH_TOKEN)?.to_owned();
        let account = Settings::require(NAME, &settings.twilio_account_sid, names::TWILIO_ACCOUNT_SID)?.to_owned();
        Ok(Self { settings: settings.clone(), account, token })
    }
}

impl Relay for Sms {
    fn channel(&self) -> Channel {
        Channel::Sms
    }

    fn verify(&self, request: &ApiRequest) -> Result<(), RelayError> {
        twilio::verify(NAME, &self.settings, request).map(drop)
    }

    fn parse(&self, request: &ApiRequest) -> Result<Vec<Event>, RelayError> {
        let fields = super::form(&request.body);
        let get = |name: &str| field(&fields, name).map(str::to_owned);
        let missing = |name: &str| RelayError::Malformed(NAME, format!("no '{name}' field"));
        let id = get("MessageSid").or_else(|| get("SmsSid")).ok_or_else(|| missing("MessageSid"))?;
        let from = get("From").ok_or_else(|| missing("From"))?;
        let media = get("NumMedia").and_then(|n| n.parse::<u32>().ok()).unwrap_or(0);
        let kind = match (get("Body"), get("MessageStatus")) {
            (Some(body), _) if !body.trim().is_empty() => EventKind::Text { text: body, payload: None },
            (_, _) if media > 0 => EventKind::Media { media: "mms".into(), caption: None },
            (None, Some(status)) => EventKind::Notice { notice: status },
            _ => EventKind::Notice { notice: "empty".into() },
        };
        Ok(vec![Event {
            id,
            from,
            to: get("To").unwrap_or_default(),
            kind,
            callback_id: None,
            call_turn: None,
            attested: false,
        }])
    }

    fn identity(&self, event: &Event) -> ChannelIdentity {
        // Anyone can send an SMS from any number: an `sms` identity, never a verified phone.
        ChannelIdentity::Sms(e164(&event.from).unwrap_or_else(|| event.from.clone()))
    }

    fn render(&self, event: &Event, exchange: &Exchange) -> Rendered {
        let url = format!("{}/2010-04-01/Accounts/{}/Messages.json", self.settings.twilio_api_url, self.account);
        let auth = format!("Basic {}", base64(format!("{}:{}", self.account, self.token).as_bytes()));
        let sends = exchange
            .messages
            .iter()
            .flat_map(|m| split(&plain_text(m), MAX_TEXT))
            .map(|body| {
                let fields = [("To", event.from.as_str()), ("From", event.to.as_str()), ("Body", body.as_str())];
                post_form(url.clone(), vec![("Authorization".into(), auth.clone())], &fields)
            })
            .collect();
        Rendered { sends, answer: None }
    }

    fn acknowledge(&self, _answers: &[Option<String>]) -> ApiResponse {
        ApiResponse::text(200, "text/xml; charset=utf-8", "<Response/>".into())
    }
}

/// A message as plain text: its text, its cards as lines, its quick replies as `[label]`.
pub fn plain_text(message: &Message) -> String {
    let mut lines = vec![message.text.trim().to_owned()];
    for card in &message.cards {
        let mut line = card.title.clone();
        if let Some(subtitle) = &card.subtitle {
            line.push_str(" — ");
            line.push_str(subtitle);
        }
        lines.push(line);
        lines.extend(card.buttons.iter().filter_map(|b| b.url.as_ref().map(|u| format!("{}: {u}", b.label))));
    }
    if !message.quick_replies.is_empty() {
        lines.push(message.quick_replies.iter().map(|q| format!("[{}]", q.label)).collect::<Vec<_>>().join(" "));
    }
    lines.retain(|l| !l.is_empty());
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_dialog::protocol::Role;
    use switchboard_dialog::response::QuickReply;

    fn relay() -> Sms {
        let mut s = Settings::default();
        for (k, v) in [
            (names::TWILIO_AUTH_TOKEN, "12345"),
            (names::TWILIO_ACCOUNT_SID, "AC123"),
            (names::TWILIO_API_URL, "http://twilio.test"),
        ] {
            s.set(k, v).unwrap();
        }
        Sms::new(&s).unwrap()
    }

    fn parse(body: &str) -> Event {
        relay().parse(&ApiRequest::post("/channels/twilio/sms", body)).unwrap().remove(0)
    }

    #[test]
    fn inbound_messages_parse() {
        let text = parse(
            "MessageSid=SM1&From=%2B15551230001&To=%2B15550009999&Body=Where+is+my+order%3F&NumMedia=0&SmsStatus=received",
        );
        assert_eq!((text.id.as_str(), text.from.as_str(), text.to.as_str()), ("SM1", "+15551230001", "+15550009999"));
        assert_eq!(text.kind, EventKind::Text { text: "Where is my order?".into(), payload: None });
        // An SMS `From` proves nothing: it is kept apart from verified phones.
        assert_eq!(relay().identity(&text), ChannelIdentity::Sms("+15551230001".into()));
        let mms = parse("MessageSid=MM2&From=%2B15551230001&To=%2B1555&Body=&NumMedia=1&MediaUrl0=https%3A%2F%2Fx");
        assert_eq!(mms.kind, EventKind::Media { media: "mms".into(), caption: None });
        let status = parse("MessageSid=SM3&From=%2B1555&To=%2B15551230001&MessageStatus=delivered");
        assert_eq!(status.kind, EventKind::Notice { notice: "delivered".into() });
        assert!(relay().parse(&ApiRequest::post("/channels/twilio/sms", "From=%2B1555")).is_err());
    }

    #[test]
    fn replies_go_through_the_rest_api_as_plain_text() {
        let event = parse("MessageSid=SM1&From=%2B15551230001&To=%2B15550009999&Body=hi");
        let message = Message {
            id: "m1".into(),
            role: Role::Bot,
            text: format!("**Hello**! {}", "word ".repeat(100)),
            quick_replies: vec![
                QuickReply { label: "Where is my order?".into(), payload: None },
                QuickReply { label: "Book an appointment".into(), payload: None },
            ],
            cards: Vec::new(),
            ts: 0,
            author: None,
        };
        let rendered = relay().render(&event, &Exchange { messages: vec![message], ..Exchange::default() });
        assert_eq!(rendered.sends.len(), 2);
        let first = &rendered.sends[0];
        assert_eq!(first.url, "http://twilio.test/2010-04-01/Accounts/AC123/Messages.json");
        assert!(first.headers.contains(&("Authorization".into(), format!("Basic {}", base64(b"AC123:12345")))));
        let fields = crate::channels::form(first.body.as_deref().unwrap().as_bytes());
        assert_eq!(field(&fields, "To"), Some("+15551230001"));
        assert_eq!(field(&fields, "From"), Some("+15550009999"));
        let bodies: Vec<String> = rendered
            .sends
            .iter()
            .map(|r| field(&crate::channels::form(r.body.as_deref().unwrap().as_bytes()), "Body").unwrap().to_owned())
            .collect();
        assert!(bodies.iter().all(|b| b.chars().count() <= MAX_TEXT));
        assert!(bodies[1].ends_with("[Where is my order?] [Book an appointment]"), "{bodies:?}");
        assert_eq!(relay().acknowledge(&[None]).body, "<Response/>");
    }
}
