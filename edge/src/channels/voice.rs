//! A voice IVR over Twilio Programmable Voice, answered synchronously with TwiML.
//!
//! A call's first request greets (the agent's welcome, its `voice` override when it has one).
//! Every answer says the agent's messages inside `<Gather input="speech dtmf">`, whose action
//! is this route with the next turn number, followed by a `<Redirect>` to `?noinput=1` for
//! when the caller says nothing: that turn is a silence (the agent's no-input handlers
//! re-prompt). `SpeechResult` or `Digits` (DTMF digits, as a number) is what the caller said.
//! A handoff `<Dial>`s `TWILIO_HANDOFF_NUMBER` (or hangs up after saying the handoff message
//! when none is set); the end of the session hangs up; `CallStatus=completed` (the caller hung
//! up) is recorded. `CallSid` + turn number identify a request: a retried one gets the first
//! answer again (see [`super::seen`]).
//!
//! TwiML is written here, a few escaped elements, rather than with an XML crate: the worker's
//! size budget.

use super::settings::{Settings, names};
use super::text::{plain_speech, xml_escape};
use super::{Channel, Event, EventKind, Relay, RelayError, Rendered, field, form, twilio};
use crate::api::{ApiRequest, ApiResponse};
use crate::conversation::Exchange;
use crate::identity::{ChannelIdentity, e164};
use switchboard_dialog::protocol::Message;

/// The route Twilio calls.
pub const ROUTE: &str = "/channels/twilio/voice";

const NAME: &str = "voice";

/// Call states after which nothing is said.
const OVER: &[&str] = &["completed", "busy", "failed", "no-answer", "canceled"];

/// Twilio's `StirVerstat` for a call whose number the originating carrier fully attested.
const ATTESTED_A: &str = "TN-Validation-Passed-A";

/// An empty TwiML document.
const EMPTY: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#;

/// The voice relay.
#[derive(Debug, Clone)]
pub struct Voice {
    settings: Settings,
}

impl Voice {
    /// Needs the auth token.
    pub fn new(settings: &Settings) -> Result<Self, RelayError> {
        Settings::require(NAME, &settings.twilio_auth_token, names::TWILIO_AUTH_TOKEN)?;
        Ok(Self { settings: settings.clone() })
    }

    fn say(&self, text: &str) -> String {
        format!(r#"<Say language="{}">{}</Say>"#, xml_escape(&self.settings.voice_language), xml_escape(text))
    }
}

impl Relay for Voice {
    fn channel(&self) -> Channel {
        Channel::Voice
    }

    fn verify(&self, request: &ApiRequest) -> Result<(), RelayError> {
        twilio::verify(NAME, &self.settings, request).map(drop)
    }

    fn parse(&self, request: &ApiRequest) -> Result<Vec<Event>, RelayError> {
        let fields = form(&request.body);
        let query = form(request.query.as_bytes());
        let get = |name: &str| field(&fields, name).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let call = get("CallSid").ok_or_else(|| RelayError::Malformed(NAME, "no 'CallSid' field".into()))?;
        let turn = match field(&query, "turn") {
            Some(n) => {
                Some(n.parse::<u32>().map_err(|_| RelayError::Malformed(NAME, format!("turn '{n}' is not a number")))?)
            }
            None => None,
        };
        let kind = if get("CallStatus").is_some_and(|s| OVER.contains(&s.as_str())) {
            EventKind::Notice { notice: "hangup".into() }
        } else if field(&query, "noinput").is_some() {
            EventKind::Silence
        } else if let Some(speech) = get("SpeechResult") {
            EventKind::Text { text: speech, payload: None }
        } else if let Some(digits) = get("Digits") {
            // Keypad digits are a number ("123456#" arrives as "123456").
            EventKind::Text { text: digits.trim_end_matches(['#', '*']).to_owned(), payload: None }
        } else if turn.is_none() {
            EventKind::Opened
        } else {
            EventKind::Silence
        };
        let turn = turn.unwrap_or(0);
        // Twilio passes the carrier's STIR/SHAKEN verdict on the call's first request; the
        // answer carries it into the next turns' action URLs, which Twilio signs.
        let attested = get("StirVerstat").is_some_and(|v| v == ATTESTED_A) || field(&query, "attested") == Some("1");
        Ok(vec![Event {
            id: format!("{call}:{turn}"),
            from: get("From").unwrap_or_default(),
            to: get("To").unwrap_or_default(),
            kind,
            callback_id: None,
            call_turn: Some(turn),
            attested,
        }])
    }

    fn identity(&self, event: &Event) -> ChannelIdentity {
        match e164(&event.from) {
            // Only a number the carrier fully attested is the customer's phone; caller ID
            // alone is easily spoofed, so it is a `call` identity that links nothing.
            Some(phone) if event.attested => ChannelIdentity::Phone(phone),
            Some(phone) => ChannelIdentity::Call(phone),
            // A withheld number: the call is the only identity.
            None => ChannelIdentity::Caller(event.id.split(':').next().unwrap_or_default().to_owned()),
        }
    }

    fn render(&self, event: &Event, exchange: &Exchange) -> Rendered {
        let said: String =
            exchange.messages.iter().map(spoken).filter(|t| !t.is_empty()).map(|t| self.say(&t)).collect();
        let next = event.call_turn.unwrap_or(0) + 1;
        let attested = if event.attested { "&attested=1" } else { "" };
        let action = format!("{ROUTE}?turn={next}{attested}");
        // Handed off now, or humans have the conversation already: a person, not dead air.
        let body = if exchange.handoff || exchange.status.with_humans() {
            match &self.settings.twilio_handoff_number {
                Some(number) => format!("{said}<Dial>{}</Dial>", xml_escape(number)),
                None => format!("{said}<Hangup/>"),
            }
        } else if exchange.ended {
            format!("{said}<Hangup/>")
        } else {
            let language = xml_escape(&self.settings.voice_language);
            format!(
                r#"<Gather input="speech dtmf" action="{}" method="POST" language="{language}" speechTimeout="auto">{said}</Gather><Redirect method="POST">{}</Redirect>"#,
                xml_escape(&action),
                xml_escape(&format!("{action}&noinput=1")),
            )
        };
        let twiml = format!(r#"<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>"#);
        Rendered { sends: Vec::new(), answer: Some(twiml) }
    }

    fn acknowledge(&self, answers: &[Option<String>]) -> ApiResponse {
        let twiml = answers.iter().flatten().next().cloned().unwrap_or_else(|| EMPTY.to_owned());
        ApiResponse::text(200, "text/xml; charset=utf-8", twiml)
    }
}

/// A message as it is said: plain words, cards by title and subtitle, choices read out.
fn spoken(message: &Message) -> String {
    let mut parts = vec![plain_speech(&message.text)];
    for card in &message.cards {
        parts.push(plain_speech(&card.title));
        parts.extend(card.subtitle.as_deref().map(plain_speech));
    }
    let choices: Vec<String> = message.quick_replies.iter().map(|q| plain_speech(&q.label)).collect();
    if !choices.is_empty() {
        parts.push(format!("{}.", choices.join(", ").trim_end_matches(['.', '?', '!'])));
    }
    parts.retain(|p| !p.is_empty());
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_dialog::protocol::Role;
    use switchboard_dialog::response::QuickReply;

    fn relay(handoff: Option<&str>) -> Voice {
        let mut s = Settings::default();
        s.set(names::TWILIO_AUTH_TOKEN, "12345").unwrap();
        if let Some(n) = handoff {
            s.set(names::TWILIO_HANDOFF_NUMBER, n).unwrap();
        }
        Voice::new(&s).unwrap()
    }

    fn parse(query: &str, body: &str) -> Event {
        let request = ApiRequest { query: query.into(), ..ApiRequest::post(ROUTE, body) };
        relay(None).parse(&request).unwrap().remove(0)
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
    fn requests_of_a_call_become_events() {
        let call = "CallSid=CA1&From=%2B15551230001&To=%2B15550009999&CallStatus=in-progress";
        let start = parse("", call);
        assert_eq!((start.id.as_str(), &start.kind), ("CA1:0", &EventKind::Opened));
        // Caller ID alone is a `call` identity; the carrier's full attestation makes it the
        // customer's phone, on the first request (Twilio's field) and later ones (our URL).
        assert_eq!(relay(None).identity(&start), ChannelIdentity::Call("+15551230001".into()));
        let attested = parse("", &format!("{call}&StirVerstat=TN-Validation-Passed-A"));
        assert_eq!(relay(None).identity(&attested), ChannelIdentity::Phone("+15551230001".into()));
        for weaker in ["TN-Validation-Passed-B", "TN-Validation-Passed-C", "TN-Validation-Failed-A", "No-TN-Validation"]
        {
            let event = parse("", &format!("{call}&StirVerstat={weaker}"));
            assert_eq!(relay(None).identity(&event), ChannelIdentity::Call("+15551230001".into()), "{weaker}");
        }
        assert!(parse("turn=3&attested=1", call).attested, "carried in the signed action URL");
        let speech = parse("turn=1", &format!("{call}&SpeechResult=Where+is+my+order%3F&Confidence=0.9"));
        assert_eq!((speech.id.as_str(), speech.call_turn), ("CA1:1", Some(1)));
        assert_eq!(speech.kind, EventKind::Text { text: "Where is my order?".into(), payload: None });
        let digits = parse("turn=2", &format!("{call}&Digits=123456%23"));
        assert_eq!(digits.kind, EventKind::Text { text: "123456".into(), payload: None });
        assert_eq!(parse("turn=3&noinput=1", call).kind, EventKind::Silence);
        let over = parse("turn=3", "CallSid=CA1&From=%2B15551230001&CallStatus=completed");
        assert_eq!(over.kind, EventKind::Notice { notice: "hangup".into() });
        let anonymous = parse("", "CallSid=CA9&From=anonymous");
        assert_eq!(relay(None).identity(&anonymous), ChannelIdentity::Caller("CA9".into()));
        assert!(relay(None).parse(&ApiRequest { query: "turn=x".into(), ..ApiRequest::post(ROUTE, call) }).is_err());
    }

    #[test]
    fn answers_gather_speech_and_digits_and_reprompt_on_silence() {
        let event = parse("turn=4", "CallSid=CA1&From=%2B15551230001&SpeechResult=hi");
        let exchange = Exchange {
            messages: vec![
                message("Is it **plugged in** & on? 🔌", &["Yes", "No"]),
                message("See [this](https://x.example)", &[]),
            ],
            ..Exchange::default()
        };
        let twiml = relay(None).render(&event, &exchange).answer.unwrap();
        assert_eq!(
            twiml,
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#,
                r#"<Gather input="speech dtmf" action="/channels/twilio/voice?turn=5" method="POST" language="en-US" speechTimeout="auto">"#,
                r#"<Say language="en-US">Is it plugged in &amp; on? Yes, No.</Say><Say language="en-US">See this</Say></Gather>"#,
                r#"<Redirect method="POST">/channels/twilio/voice?turn=5&amp;noinput=1</Redirect></Response>"#
            )
        );
    }

    #[test]
    fn handoffs_dial_and_ends_hang_up() {
        let event = parse("turn=1", "CallSid=CA1&From=%2B15551230001&SpeechResult=agent");
        let handoff =
            Exchange { messages: vec![message("Connecting you.", &[])], handoff: true, ..Exchange::default() };
        let dialled = relay(Some("+1 555 000 1234")).render(&event, &handoff).answer.unwrap();
        assert!(
            dialled.ends_with(r#"<Say language="en-US">Connecting you.</Say><Dial>+15550001234</Dial></Response>"#),
            "{dialled}"
        );
        assert!(relay(None).render(&event, &handoff).answer.unwrap().ends_with("<Hangup/></Response>"));
        let ended = Exchange { messages: vec![message("Bye!", &[])], ended: true, ..Exchange::default() };
        assert!(
            relay(None)
                .render(&event, &ended)
                .answer
                .unwrap()
                .ends_with(r#"<Say language="en-US">Bye!</Say><Hangup/></Response>"#)
        );
        assert_eq!(relay(None).acknowledge(&[None]).body, EMPTY);
    }
}
