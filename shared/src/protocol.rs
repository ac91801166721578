//! The HTTP API's wire types, shared by the edge (which serves them) and the widget and the
//! agent console (which call them), so they cannot drift apart.

pub use crate::response::{Card, CardButton, QuickReply};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::AddAssign;

/// `POST /v1/conversations`: start a conversation, or resume the visitor's existing one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateConversation {
    /// The channel the client speaks for; `web` for the widget.
    pub channel: String,
    /// The anonymous visitor's id, as returned by an earlier call; omitted on a first visit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_id: Option<String>,
    /// The agent the client expects to talk to (its `name`); a deployment serves one agent and
    /// refuses a conversation meant for another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// A signed-in user of the embedding site, verified at once (as [`Identify`]).
    #[serde(default, flatten, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identify>,
}

/// `POST /v1/conversations/{id}/identify`: who the visitor is, vouched for by the embedding
/// site: `user_id` + `user_hash` (hex HMAC-SHA256 of the user id with the identity secret), or
/// a `jwt` (HS256, with `exp`, `sub` = user id). `name`, `email`, `phone` fill the profile; with
/// `user_hash` only the `user_id` is verified, so only it links identities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Identify {
    /// The site's user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// hex(HMAC-SHA256(identity secret, user_id)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_hash: Option<String>,
    /// A signed JWT instead of `user_id` + `user_hash`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl Identify {
    /// Whether any verification is given (otherwise the request carries no identity).
    pub fn is_present(&self) -> bool {
        self.user_id.is_some() || self.user_hash.is_some() || self.jwt.is_some()
    }
}

/// `POST /v1/conversations/{id}/feedback`: "Was this helpful?".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    /// The bot message voted on (`m7`); the whole conversation when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The vote.
    pub helpful: bool,
}

/// The reply to [`CreateConversation`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationCreated {
    /// The conversation's id.
    pub conversation_id: String,
    /// Bearer token for the conversation's other endpoints.
    pub token: String,
    /// The resolved user id the context is stored under.
    pub user_id: String,
    /// The visitor id to send next time (generated when none was given).
    pub visitor_id: String,
    /// The conversation so far: the welcome for a new one, the history for a resumed one.
    pub messages: Vec<Message>,
    /// Who has the conversation: while a human is awaited or active, clients poll for messages.
    #[serde(default)]
    pub status: ConversationStatus,
}

/// Who has a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    /// The bot answers.
    #[default]
    Bot,
    /// Handed off: waiting for a human agent; the bot stays silent.
    Waiting,
    /// A human agent has it; the bot stays silent.
    Human,
    /// Resolved: the customer's next message starts a new session with the bot.
    Resolved,
}

impl ConversationStatus {
    /// Whether a human is awaited or active (clients poll for their messages).
    pub fn with_humans(self) -> bool {
        matches!(self, Self::Waiting | Self::Human)
    }
}

/// `POST /v1/conversations/{id}/messages`: what the user said, or the quick reply pressed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendMessage {
    /// The user's text (for a quick reply: its label, as shown in the history).
    pub text: String,
    /// A quick reply's or card button's payload: what the agent hears instead of `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

/// A list of messages: the reply to [`SendMessage`] and the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Messages {
    /// Messages, oldest first.
    pub messages: Vec<Message>,
    /// History pages: the `before` cursor for the previous page, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// Who has the conversation now.
    #[serde(default)]
    pub status: ConversationStatus,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The customer.
    User,
    /// The agent (the dialog engine).
    Bot,
    /// A human agent.
    Agent,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Unique within the conversation, increasing.
    pub id: String,
    /// Who wrote it.
    pub role: Role,
    /// Plain text.
    pub text: String,
    /// Suggested answers (bot messages).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quick_replies: Vec<QuickReply>,
    /// Cards, a carousel when several (bot messages).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cards: Vec<Card>,
    /// When it was written, milliseconds since the Unix epoch.
    pub ts: u64,
    /// A human agent's display name (agent messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
}

/// The body of every error response: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// A stable machine-readable `code` and a human-readable `message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable identifier, e.g. `bad_json`, `unauthorized`, `not_found`.
    pub code: String,
    /// What went wrong, for a developer.
    pub message: String,
}

/// What is known about a customer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Profile {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone, E.164.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Whether a verified identity (the site's signed user, a channel's verified number)
    /// vouched for the person.
    #[serde(default)]
    pub verified: bool,
    /// Which of `name`, `email`, `phone` that identity vouched for; the others are what the
    /// customer or an unsigned field said.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verified_fields: Vec<String>,
}

/// The profile's fields, as named in `default_from` and `verified_fields`.
pub const PROFILE_FIELDS: [&str; 3] = ["name", "email", "phone"];

impl Profile {
    /// The fields the engine's `default_from` parameters read: only verified ones, so a value
    /// anyone could have typed (an unsigned email) never stands in for the customer's own.
    pub fn as_map(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut map = serde_json::Map::new();
        for field in PROFILE_FIELDS {
            if let Some(v) = self.get(field).filter(|_| self.is_verified(field)) {
                map.insert(field.into(), serde_json::Value::String(v.to_owned()));
            }
        }
        map
    }

    /// A field's value.
    pub fn get(&self, field: &str) -> Option<&str> {
        match field {
            "name" => self.name.as_deref(),
            "email" => self.email.as_deref(),
            "phone" => self.phone.as_deref(),
            _ => None,
        }
    }

    /// Whether a verified identity vouched for `field`.
    pub fn is_verified(&self, field: &str) -> bool {
        self.verified_fields.iter().any(|f| f == field)
    }

    /// Sets `field`: a verified value replaces what was there; an unverified one only fills a
    /// gap and never replaces a verified value.
    pub fn set(&mut self, field: &str, value: Option<String>, verified: bool) {
        let Some(value) = value.filter(|v| !v.trim().is_empty()) else { return };
        if !verified && self.get(field).is_some() {
            return;
        }
        let slot = match field {
            "name" => &mut self.name,
            "email" => &mut self.email,
            "phone" => &mut self.phone,
            _ => return,
        };
        *slot = Some(value);
        self.verified_fields.retain(|f| f != field);
        if verified {
            self.verified_fields.push(field.to_owned());
        }
    }

    /// Fills fields this profile lacks from `other`, with their verification; a verified value
    /// of `other` replaces an unverified one here.
    pub fn fill_from(&mut self, other: &Profile) {
        for field in PROFILE_FIELDS {
            let theirs_verified = other.is_verified(field);
            if self.get(field).is_none() || (theirs_verified && !self.is_verified(field)) {
                self.set(field, other.get(field).map(str::to_owned), theirs_verified);
            }
        }
        self.verified |= other.verified;
    }
}

/// A conversation as the agent console sees it (`GET /v1/agent/queue`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeskEntry {
    /// The conversation.
    pub conversation_id: String,
    /// The customer's resolved user id.
    pub user_id: String,
    /// The channel the customer last used (`web`, `whatsapp`, …): agent replies go there.
    pub channel: String,
    /// Waiting or with a human (resolved and bot conversations leave the queue).
    pub status: ConversationStatus,
    /// The agent who claimed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Who the customer is.
    #[serde(default)]
    pub profile: Profile,
    /// The last intent the bot recognised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_intent: Option<String>,
    /// Parameters filled so far (redacted ones never appear).
    #[serde(default)]
    pub parameters: serde_json::Map<String, serde_json::Value>,
    /// Why the bot handed off (`requested`, `repeated_no_match`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The customer's last message, as stored (subject to the channel's privacy policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message: Option<String>,
    /// When the current status began (ms since epoch).
    pub since_ms: u64,
    /// When anything last happened (ms since epoch).
    pub updated_ms: u64,
}

/// `GET /v1/agent/queue`: conversations waiting for or with a human, oldest first.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Queue {
    /// The conversations of this page.
    pub conversations: Vec<DeskEntry>,
    /// The cursor of the next page (`?after=`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `GET /v1/agent/conversations/{id}`: one conversation with its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentConversation {
    /// The conversation.
    #[serde(flatten)]
    pub entry: DeskEntry,
    /// Its messages, oldest first (those after `?after=` when given).
    pub messages: Vec<Message>,
}

/// `POST /v1/agent/conversations/{id}/messages`: a human agent's reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentReply {
    /// What the agent wrote.
    pub text: String,
}

/// `GET /v1/analytics`: figures over a period, overall, per channel, and per day and channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// First day, inclusive.
    pub from: String,
    /// Last day, inclusive.
    pub to: String,
    /// The whole period.
    pub total: Figures,
    /// The whole period per channel (`web`, `whatsapp`, …): every channel active in it.
    pub channels: BTreeMap<String, Figures>,
    /// Each day that had activity, oldest first.
    pub days: Vec<DayFigures>,
    /// Most matched intents, most first.
    pub top_intents: Vec<Ranked>,
    /// Most frequent unmatched utterances (masked), most first.
    pub top_unmatched: Vec<Ranked>,
}

/// Rates and counts; a rate is `None` when its denominator is zero.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Figures {
    /// Conversations started.
    pub conversations: u64,
    /// User turns.
    pub turns: u64,
    /// Handoffs.
    pub handoffs: u64,
    /// Conversations resolved.
    pub resolved: u64,
    /// matched / (matched + unmatched).
    pub intent_recognition_rate: Option<f64>,
    /// unmatched / turns.
    pub no_match_rate: Option<f64>,
    /// handoffs / conversations.
    pub handoff_rate: Option<f64>,
    /// Median time to resolution (ms).
    pub median_resolution_ms: Option<u64>,
    /// The resolution times the median is taken over, counted per bin.
    pub resolution_histogram: ResolutionHistogram,
    /// helpful / votes.
    pub helpful_ratio: Option<f64>,
    /// Votes cast.
    pub feedback: u64,
}

/// One day's figures, overall and per channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayFigures {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// All channels.
    pub total: Figures,
    /// Per channel.
    pub channels: BTreeMap<String, Figures>,
    /// The day's resolution times (ms), sorted.
    pub resolutions_ms: Vec<u64>,
}

/// An intent name or a masked utterance, and how often it came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranked {
    /// The intent name or masked utterance.
    pub text: String,
    /// How often.
    pub count: u64,
}

/// The bins of a [`ResolutionHistogram`]: each bin's lower bound (ms, inclusive) and label. A
/// bin ends where the next begins; the last is open-ended. Fixed, not fitted to the data, so
/// that histograms add up: a day's is the sum of its channels', a period's the sum of its days'.
pub const RESOLUTION_BINS: [(u64, &str); 6] = [
    (0, "< 1 min"),
    (60_000, "1–5 min"),
    (5 * 60_000, "5–15 min"),
    (15 * 60_000, "15–60 min"),
    (3_600_000, "1–4 h"),
    (4 * 3_600_000, "≥ 4 h"),
];

/// Resolution times counted into [`RESOLUTION_BINS`]; on the wire, the array of the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResolutionHistogram(pub [u64; RESOLUTION_BINS.len()]);

impl ResolutionHistogram {
    /// The histogram of `times_ms`.
    pub fn of(times_ms: &[u64]) -> Self {
        let mut histogram = Self::default();
        for &ms in times_ms {
            // `bin` is a position in `RESOLUTION_BINS`, as long as the array.
            if let Some(n) = histogram.0.get_mut(Self::bin(ms)) {
                *n += 1;
            }
        }
        histogram
    }

    /// The index of the bin `ms` falls in.
    pub fn bin(ms: u64) -> usize {
        RESOLUTION_BINS.iter().rposition(|(from, _)| ms >= *from).unwrap_or(0)
    }

    /// Each bin's label and count, in order.
    pub fn bins(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        RESOLUTION_BINS.iter().zip(self.0).map(|((_, label), n)| (*label, n))
    }

    /// The times counted.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

impl AddAssign for ResolutionHistogram {
    fn add_assign(&mut self, other: Self) {
        for (n, m) in self.0.iter_mut().zip(other.0) {
            *n += m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_times_fall_into_their_bins() {
        let times = [0, 59_999, 60_000, 299_999, 300_000, 3_599_999, 3_600_000, 14_399_999, 14_400_000, u64::MAX];
        let histogram = ResolutionHistogram::of(&times);
        assert_eq!(histogram.0, [2, 2, 1, 1, 2, 2]);
        assert_eq!(histogram.total(), times.len() as u64);
        assert_eq!(histogram.bins().next(), Some(("< 1 min", 2)));
        assert_eq!(histogram.bins().last(), Some(("≥ 4 h", 2)));
        assert_eq!(ResolutionHistogram::of(&[]), ResolutionHistogram::default());
    }

    #[test]
    fn histograms_add_up_and_travel_as_arrays() {
        let (a, b) = ([1_000, 90_000], [2_000, 20_000_000]);
        let mut sum = ResolutionHistogram::of(&a);
        sum += ResolutionHistogram::of(&b);
        assert_eq!(sum, ResolutionHistogram::of(&[a, b].concat()));
        assert_eq!(serde_json::to_string(&sum).unwrap(), "[2,1,0,0,0,1]");
        assert_eq!(serde_json::from_str::<ResolutionHistogram>("[2,1,0,0,0,1]").unwrap(), sum);
        assert!(serde_json::from_str::<ResolutionHistogram>("[3,1]").is_err(), "always every bin");
    }
}
