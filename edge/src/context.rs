//! What the edge remembers about a user, and how two users' contexts merge when a verified
//! identity shows they are one person.
//!
//! KV layout (namespace `CONTEXT`):
//! - `ctx:<user id>`: [`UserContext`], or `{"merged_into": "<user id>"}` once merged away;
//! - `hist:<conversation id>`: the conversation's last messages (bounded);
//! - `id:<kind>:<value>`: the user id a channel identity resolves to (see [`crate::identity`]);
//! - `agent:current`: the uploaded agent file (see [`crate::deployment`]).

use serde::{Deserialize, Serialize};
use switchboard_dialog::dialog::DialogState;

/// Who has the conversation; what is known about the person.
pub use switchboard_dialog::protocol::{ConversationStatus as Status, Profile};

/// A user's context: profile, open conversation and dialog state, timestamps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserContext {
    /// The user's open conversation.
    pub conversation_id: String,
    /// The engine's state for it (redacted values never included).
    pub dialog: DialogState,
    /// Sequence number of the last message written.
    pub last_seq: u64,
    /// When the conversation started (ms since epoch).
    pub created_ms: u64,
    /// When the last turn ended (ms since epoch).
    pub updated_ms: u64,
    /// Who the person is.
    #[serde(default)]
    pub profile: Profile,
    /// The channel of the last message.
    #[serde(default = "web")]
    pub channel: String,
    /// Who has the conversation.
    #[serde(default)]
    pub status: Status,
    /// Index keys (`id:<kind>:<value>`) that resolve to this user.
    #[serde(default)]
    pub identities: Vec<String>,
    /// Human handoff: who has it, why, since when (see [`crate::handoff`]).
    #[serde(default, skip_serializing_if = "Handoff::is_empty")]
    pub handoff: Handoff,
    /// The last intent the agent recognised, for the agent console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_intent: Option<String>,
    /// Where the last relay delivery came from, so a human agent's reply can be pushed there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<ReplyTo>,
    /// When the identity index entries were last written (ms since epoch; 0: never).
    #[serde(default)]
    pub indexed_ms: u64,
    /// How many of [`Self::identities`] were written then.
    #[serde(default)]
    pub indexed: usize,
}

/// The two ends of a channel conversation, in the channel's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTo {
    /// The customer: a page-scoped id, a phone number, a chat id.
    pub from: String,
    /// The business side: the page, the WhatsApp number's id, the Twilio number.
    pub to: String,
}

/// A conversation's handoff to humans, while [`UserContext::status`] is waiting or human.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Handoff {
    /// The agent who claimed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Why the bot handed off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the current status began (ms since epoch).
    #[serde(default)]
    pub since_ms: u64,
}

impl Handoff {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

fn web() -> String {
    "web".into()
}

/// What `ctx:<user>` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Stored {
    /// This user was merged into another; follow it.
    Merged {
        /// The surviving user.
        merged_into: String,
    },
    /// The live context.
    Live(Box<UserContext>),
}

impl UserContext {
    /// Folds `other` (a user found to be the same person) into this context.
    ///
    /// Rules: the profile keeps this side's fields and fills gaps from the other; identities
    /// are the union; a conversation with humans (waiting or claimed) continues, then one with
    /// an open dialog, else the more recently active one (with its dialog state, history and
    /// status); session parameters are the union, the continuing side winning.
    pub fn merge(&mut self, other: UserContext) {
        self.profile.fill_from(&other.profile);
        for id in &other.identities {
            if !self.identities.contains(id) {
                self.identities.push(id.clone());
            }
        }
        // An open dialog (a question waiting for its answer) beats an idle one; then recency.
        let activity = |c: &UserContext| {
            (c.status.with_humans(), c.dialog.active.is_some() || c.dialog.flow.is_some(), c.updated_ms)
        };
        let (mut recent, older) = if activity(&other) > activity(self) {
            let mine = std::mem::replace(self, other);
            self.profile = mine.profile.clone();
            self.identities = mine.identities.clone();
            (self.dialog.parameters.clone(), mine.dialog.parameters)
        } else {
            (self.dialog.parameters.clone(), other.dialog.parameters)
        };
        for (k, v) in older {
            recent.entry(k).or_insert(v);
        }
        self.dialog.parameters = recent;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn context(conversation: &str, updated_ms: u64, params: Value, profile: Profile) -> UserContext {
        let dialog = DialogState { parameters: params.as_object().unwrap().clone(), ..DialogState::default() };
        UserContext {
            conversation_id: conversation.into(),
            dialog,
            last_seq: 3,
            created_ms: 0,
            updated_ms,
            profile,
            channel: "web".into(),
            status: Status::Bot,
            identities: vec![crate::layout::kv::identity("visitor", conversation)],
            handoff: Handoff::default(),
            last_intent: None,
            reply_to: None,
            indexed_ms: 0,
            indexed: 0,
        }
    }

    #[test]
    fn the_recent_conversation_continues_and_nothing_known_is_lost() {
        let verified = Profile {
            name: Some("Ann".into()),
            verified: true,
            verified_fields: vec!["name".into()],
            ..Profile::default()
        };
        let phone = Profile { phone: Some("+491511234567".into()), ..Profile::default() };
        let mut survivor = context("c-old", 100, serde_json::json!({"a": 1, "b": 1}), verified);
        let newer = context("c-new", 200, serde_json::json!({"b": 2, "c": 2}), phone);
        survivor.merge(newer);
        assert_eq!(survivor.conversation_id, "c-new");
        assert_eq!(survivor.dialog.parameters, *serde_json::json!({"a": 1, "b": 2, "c": 2}).as_object().unwrap());
        assert_eq!(survivor.profile.name.as_deref(), Some("Ann"));
        assert_eq!(survivor.profile.phone.as_deref(), Some("+491511234567"));
        assert!(survivor.profile.verified);
        assert_eq!(survivor.identities, ["id:visitor:c-old", "id:visitor:c-new"]);
    }

    #[test]
    fn stored_records_read_back_either_way() {
        let merged: Stored = serde_json::from_str(r#"{"merged_into":"u-123456789"}"#).unwrap();
        assert_eq!(merged, Stored::Merged { merged_into: "u-123456789".into() });
        let live = context("c-1", 1, serde_json::json!({}), Profile::default());
        let text = serde_json::to_string(&Stored::Live(Box::new(live.clone()))).unwrap();
        assert_eq!(serde_json::from_str::<Stored>(&text).unwrap(), Stored::Live(Box::new(live)));
        // Contexts written before profiles existed still read.
        let old = r#"{"conversation_id":"c-1","dialog":{},"last_seq":1,"created_ms":1,"updated_ms":1}"#;
        assert!(matches!(serde_json::from_str::<Stored>(old).unwrap(), Stored::Live(_)));
    }
}
