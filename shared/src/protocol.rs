//! The HTTP API's wire types, shared by the edge (which serves them) and the widget (which
//! calls them), so the two cannot drift apart.

pub use crate::response::{Card, CardButton, QuickReply};
use serde::{Deserialize, Serialize};

/// `POST /v1/conversations`: start a conversation, or resume the visitor's existing one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateConversation {
    /// The channel the client speaks for; `web` for the widget.
    pub channel: String,
    /// The anonymous visitor's id, as returned by an earlier call; omitted on a first visit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_id: Option<String>,
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
    /// Whether a verified identity vouched for this profile.
    #[serde(default)]
    pub verified: bool,
}

impl Profile {
    /// The fields the engine's `default_from` parameters read.
    pub fn as_map(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut map = serde_json::Map::new();
        for (key, value) in [("name", &self.name), ("email", &self.email), ("phone", &self.phone)] {
            if let Some(v) = value {
                map.insert(key.into(), serde_json::Value::String(v.clone()));
            }
        }
        map
    }

    /// Fills fields this profile lacks from `other`.
    pub fn fill_from(&mut self, other: &Profile) {
        self.name = self.name.take().or_else(|| other.name.clone());
        self.email = self.email.take().or_else(|| other.email.clone());
        self.phone = self.phone.take().or_else(|| other.phone.clone());
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
    /// The conversations.
    pub conversations: Vec<DeskEntry>,
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
