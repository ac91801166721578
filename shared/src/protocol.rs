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
