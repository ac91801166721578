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

/// `POST /v1/conversations/{id}/messages`: what the user said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendMessage {
    /// The user's text.
    pub text: String,
}

/// A list of messages: the reply to [`SendMessage`] and the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Messages {
    /// Messages, oldest first.
    pub messages: Vec<Message>,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The customer.
    User,
    /// The agent (the dialog engine).
    Bot,
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
