//! What the edge remembers about a user, and how two users' contexts merge when a verified
//! identity shows they are one person.
//!
//! KV layout (namespace `CONTEXT`):
//! - `ctx:<user id>`: [`UserContext`], or `{"merged_into": "<user id>"}` once merged away;
//! - `hist:<conversation id>`: the conversation's last messages (bounded);
//! - `id:<kind>:<value>`: the user id a channel identity resolves to (see [`crate::identity`]);
//! - `agent:current`: the uploaded agent file (see [`crate::deployment`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use switchboard_dialog::dialog::DialogState;

/// Who has the conversation (human handoff arrives with the agent console).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The bot answers.
    #[default]
    Bot,
    /// Handed off; waiting for a human agent.
    Waiting,
    /// Resolved: the next visit starts a new conversation.
    Resolved,
}

/// What is known about the person.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
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
    pub fn as_map(&self) -> Map<String, Value> {
        let mut map = Map::new();
        for (key, value) in [("name", &self.name), ("email", &self.email), ("phone", &self.phone)] {
            if let Some(v) = value {
                map.insert(key.into(), Value::String(v.clone()));
            }
        }
        map
    }

    /// Fills fields this profile lacks from `other`.
    fn fill_from(&mut self, other: &Profile) {
        self.name = self.name.take().or_else(|| other.name.clone());
        self.email = self.email.take().or_else(|| other.email.clone());
        self.phone = self.phone.take().or_else(|| other.phone.clone());
        self.verified |= other.verified;
    }
}

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
    /// are the union; the conversation with an open dialog continues, else the more recently
    /// active one (with its dialog state, history and status); session parameters are the
    /// union, the continuing side winning.
    pub fn merge(&mut self, other: UserContext) {
        self.profile.fill_from(&other.profile);
        for id in &other.identities {
            if !self.identities.contains(id) {
                self.identities.push(id.clone());
            }
        }
        // An open dialog (a question waiting for its answer) beats an idle one; then recency.
        let activity = |c: &UserContext| (c.dialog.active.is_some() || c.dialog.flow.is_some(), c.updated_ms);
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
            identities: vec![format!("id:visitor:{conversation}")],
        }
    }

    #[test]
    fn the_recent_conversation_continues_and_nothing_known_is_lost() {
        let verified = Profile { name: Some("Ann".into()), verified: true, ..Profile::default() };
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
