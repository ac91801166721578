//! Agent definitions: the validated [`Agent`] and how it is loaded.
//!
//! Parse, don't validate: an [`Agent`] only exists once every reference in the file resolves,
//! and it carries its trained classifier. The raw file structs and their checks live in
//! `file.rs` (the `webhooks` section's in `webhooks.rs`) and stay private.

use crate::entity::EntityType;
use crate::nlu::{IntentClassifier, SlotTagger};
use crate::response::Response;
use std::collections::BTreeMap;

mod file;
mod webhooks;

pub use webhooks::{Auth, HttpMethod, JsonTemplate, Lookup, LookupReply, Part, Template, Webhook};

/// Why an agent file was rejected.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AgentError {
    /// The file is not valid JSON or does not fit the format.
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What serde reported, naming the field.
        message: String,
    },
    /// The JSON is well formed but a field is wrong.
    #[error("{field}: {message}")]
    Invalid {
        /// Path of the offending field, e.g. `intents[0].parameters[1].prompts`.
        field: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// A validated agent with its trained intent classifier.
#[derive(Debug, Clone)]
pub struct Agent {
    /// Display name.
    pub name: String,
    /// Language code sent to webhooks.
    pub language: String,
    /// Classifier confidence below which an utterance matches no intent.
    pub confidence_threshold: f32,
    /// Messages that open a new conversation.
    pub welcome: Vec<Response>,
    /// Messages for an utterance that matches no intent.
    pub fallback: Vec<Response>,
    /// Messages when a fulfillment webhook fails.
    pub webhook_error: Vec<Response>,
    /// Said on the 1st, 2nd, … silence (voice); when used up, the conversation is handed off
    /// if the agent can, else the last one repeats.
    pub no_input: Vec<Response>,
    /// Fulfillment webhooks by name.
    pub webhooks: BTreeMap<String, Webhook>,
    /// Escalation to a human, when the agent allows it.
    pub handoff: Option<Handoff>,
    /// Intents, in file order.
    pub intents: Vec<Intent>,
    /// Multi-step flows by name.
    pub flows: BTreeMap<String, crate::flow::Flow>,
    /// What may be stored per channel (channels not listed: everything but `redact` values).
    pub privacy: BTreeMap<String, ChannelPrivacy>,
    pub(crate) classifier: IntentClassifier,
    /// Learned from annotated training phrases; fills free-form (`@sys.any`) parameters.
    pub(crate) tagger: Option<SlotTagger>,
}

/// How and when the agent hands a conversation to a human.
#[derive(Debug, Clone, PartialEq)]
pub struct Handoff {
    /// Messages shown when the conversation is handed off.
    pub messages: Vec<Response>,
    /// Hand off after this many consecutive utterances that matched nothing.
    pub after_no_match: Option<u32>,
}

/// A channel's privacy rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelPrivacy {
    /// Whether the user's words from this channel may be stored (history, analytics); when
    /// not, history keeps `[not stored]` in their place.
    pub store_text: bool,
}

impl Agent {
    /// Whether the user's words from `channel` may be stored.
    pub fn stores_text_from(&self, channel: &str) -> bool {
        self.privacy.get(channel).is_none_or(|p| p.store_text)
    }
}

/// Something the user may want, learned from training phrases.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    /// Unique name, e.g. `CheckOrderStatus`.
    pub name: String,
    /// Example utterances.
    pub training_phrases: Vec<String>,
    /// Parameters to collect.
    pub parameters: Vec<Parameter>,
    /// Messages shown once the intent's mandatory parameters are filled; `$name` is replaced by
    /// the parameter's value.
    pub responses: Vec<Response>,
    /// Webhook called once the mandatory parameters are filled.
    pub fulfillment: Option<Fulfillment>,
    /// Matching this intent hands the conversation to a human ("talk to a person").
    pub handoff: bool,
    /// Matching this intent starts this flow.
    pub flow: Option<String>,
    /// Only flow routes listen for this intent ("yes", "no"); elsewhere it matches nothing.
    pub in_flows_only: bool,
    /// Once served, the conversation is over ([`crate::dialog::Effect::EndSession`]).
    pub end_session: bool,
}

/// A value the intent needs, filled from the user's words (slot filling).
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// Name, as sent to webhooks in `sessionInfo.parameters`.
    pub name: String,
    /// The entity type that fills it.
    pub entity: EntityType,
    /// Whether the intent waits for it.
    pub mandatory: bool,
    /// Questions asked while it is missing (first prompt, then re-prompts).
    pub prompts: Vec<Response>,
    /// What a value must satisfy to fill the parameter.
    pub validation: Option<Validation>,
    /// Never stored or logged: the value lives for the turn that gave it (see
    /// [`crate::dialog::DialogState::without_redacted`] and [`crate::dialog::Turn::redacted`]).
    pub redact: bool,
    /// Filled, when the user's words do not fill it, from this field of the user's profile
    /// ([`crate::dialog::DialogState::profile`], e.g. `email`).
    pub default_from: Option<String>,
}

/// Constraints on a parameter's value. `min`/`max` compare numbers numerically and strings
/// in order, which suits `@sys.date` and `@sys.time` values (`"09:00:00"` ≤ t ≤ `"18:00:00"`).
#[derive(Debug, Clone)]
pub struct Validation {
    /// Smallest accepted value.
    pub min: Option<serde_json::Value>,
    /// Largest accepted value.
    pub max: Option<serde_json::Value>,
    /// A regex (`regex-lite`) the user's words for the value must match entirely.
    pub pattern: Option<std::sync::Arc<regex_lite::Regex>>,
    /// Said when a value is rejected (then the prompts); empty: the prompts alone.
    pub invalid_prompts: Vec<Response>,
}

impl PartialEq for Validation {
    fn eq(&self, other: &Self) -> bool {
        self.min == other.min
            && self.max == other.max
            && self.pattern.as_ref().map(|p| p.as_str()) == other.pattern.as_ref().map(|p| p.as_str())
            && self.invalid_prompts == other.invalid_prompts
    }
}

impl Validation {
    /// Whether `value`, written as `original`, passes.
    pub fn accepts(&self, value: &serde_json::Value, original: &str) -> bool {
        use std::cmp::Ordering;
        let compare = |a: &serde_json::Value, b: &serde_json::Value| match (a, b) {
            (serde_json::Value::Number(a), serde_json::Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
            (serde_json::Value::String(a), serde_json::Value::String(b)) => Some(a.cmp(b)),
            _ => None,
        };
        let min_ok = self.min.as_ref().is_none_or(|m| compare(value, m).is_some_and(|o| o != Ordering::Less));
        let max_ok = self.max.as_ref().is_none_or(|m| compare(value, m).is_some_and(|o| o != Ordering::Greater));
        let pattern_ok =
            self.pattern.as_ref().is_none_or(|p| p.find(original).is_some_and(|m| m.len() == original.len()));
        min_ok && max_ok && pattern_ok
    }
}

/// A fulfillment: which webhook to call and with which tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Fulfillment {
    /// Name of the webhook in [`Agent::webhooks`].
    pub webhook: String,
    /// Tag sent as `fulfillmentInfo.tag`.
    pub tag: String,
}

impl Agent {
    /// Parses and validates an agent file, and trains its classifier.
    pub fn from_json(text: &str) -> Result<Agent, AgentError> {
        Ok(file::parse_json(text)?.trained())
    }

    /// Parses and validates an agent file and loads its classifier from a model written by
    /// `switchboard train` (milliseconds instead of training at start-up).
    pub fn from_json_with_model(text: &str, model: &[u8]) -> Result<Agent, AgentError> {
        let mut agent = file::parse_json(text)?;
        let classifier = IntentClassifier::from_bytes(model)
            .map_err(|e| AgentError::Invalid { field: "model".into(), message: e.to_string() })?;
        // The fingerprint is the model's own claim: a model for other intents must not pass
        // for this agent's (the classifier's answers index the agent's intents).
        if classifier.fingerprint() != agent.fingerprint() || classifier.classes() != agent.intents.len() {
            return Err(AgentError::Invalid {
                field: "model".into(),
                message: "the model was trained on other intents or phrases; run `switchboard train` again".into(),
            });
        }
        agent.classifier = classifier;
        Ok(agent)
    }

    /// Parses and validates an agent written in YAML (the same fields as JSON), and trains it.
    pub fn from_yaml(text: &str) -> Result<Agent, AgentError> {
        Ok(file::parse_yaml(text)?.trained())
    }

    /// The agent with its classifier trained on its own phrases.
    fn trained(mut self) -> Agent {
        self.classifier = IntentClassifier::train(self.training_examples()).with_fingerprint(self.fingerprint());
        self
    }

    /// Names of the secrets the webhooks refer to (`${NAME}` in `auth` and `headers`), for the
    /// host to look up in its own settings.
    pub fn secret_names(&self) -> std::collections::BTreeSet<&str> {
        self.webhooks.values().flat_map(Webhook::secrets).collect()
    }

    /// Names of the parameters marked `redact`, over all intents.
    pub fn redacted_parameters(&self) -> impl Iterator<Item = &str> {
        self.intents.iter().flat_map(|i| &i.parameters).filter(|p| p.redact).map(|p| p.name.as_str())
    }

    /// `(intent index, phrase)` pairs the classifier learns from.
    pub fn training_examples(&self) -> Vec<(usize, &str)> {
        self.intents
            .iter()
            .enumerate()
            .flat_map(|(i, intent)| intent.training_phrases.iter().map(move |p| (i, p.as_str())))
            .collect()
    }

    /// Identifies the intents and phrases a model was trained on.
    pub fn fingerprint(&self) -> u64 {
        let mut text = String::new();
        for intent in &self.intents {
            text.push_str(&intent.name);
            text.push('\u{1}');
            for phrase in &intent.training_phrases {
                text.push_str(phrase);
                text.push('\u{2}');
            }
        }
        crate::nlu::text::fnv64(text.as_bytes())
    }

    /// The trained intent classifier.
    pub fn classifier(&self) -> &IntentClassifier {
        &self.classifier
    }

    /// Looks an intent up by name.
    pub fn intent(&self, name: &str) -> Option<&Intent> {
        self.intents.iter().find(|i| i.name == name)
    }
}

#[cfg(test)]
mod tests;
