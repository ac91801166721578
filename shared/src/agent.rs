//! Agent definitions: the JSON file format, its validation, and the validated [`Agent`].
//!
//! Parse, don't validate: an [`Agent`] only exists once every reference in the file resolves,
//! and it carries its trained classifier. The raw file structs stay private.

use crate::entity::{EntityType, ListEntity, ListEntry};
use crate::nlu::{IntentClassifier, SlotTagger, TaggedPhrase, TaggerOptions, annotate};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    name: String,
    #[serde(default = "default_language")]
    language: String,
    #[serde(default = "default_threshold")]
    confidence_threshold: f32,
    #[serde(default)]
    welcome: Vec<String>,
    fallback: Vec<String>,
    webhook_error: Vec<String>,
    #[serde(default)]
    webhooks: BTreeMap<String, RawWebhook>,
    #[serde(default)]
    handoff: Option<RawHandoff>,
    #[serde(default)]
    entities: BTreeMap<String, RawEntity>,
    #[serde(default)]
    flows: BTreeMap<String, crate::flow::RawFlow>,
    intents: Vec<RawIntent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntity {
    #[serde(default)]
    values: Vec<RawListEntry>,
    #[serde(default)]
    regex: Option<String>,
    #[serde(default = "yes")]
    fuzzy: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListEntry {
    value: String,
    #[serde(default)]
    synonyms: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHandoff {
    messages: Vec<String>,
    #[serde(default)]
    after_no_match: Option<u32>,
}

fn default_language() -> String {
    "en".to_owned()
}

fn default_threshold() -> f32 {
    0.45
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    url: String,
    #[serde(default = "default_timeout")]
    timeout_ms: u32,
}

fn default_timeout() -> u32 {
    5000
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntent {
    name: String,
    training_phrases: Vec<String>,
    #[serde(default)]
    parameters: Vec<RawParameter>,
    #[serde(default)]
    responses: Vec<String>,
    #[serde(default)]
    fulfillment: Option<RawFulfillment>,
    #[serde(default)]
    handoff: bool,
    #[serde(default)]
    flow: Option<String>,
    #[serde(default)]
    in_flows_only: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParameter {
    name: String,
    entity: String,
    #[serde(default)]
    mandatory: bool,
    #[serde(default)]
    prompts: Vec<String>,
    #[serde(default)]
    validation: Option<RawValidation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawValidation {
    #[serde(default)]
    min: Option<serde_json::Value>,
    #[serde(default)]
    max: Option<serde_json::Value>,
    #[serde(default)]
    pattern: Option<String>,
    #[serde(default)]
    invalid_prompts: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFulfillment {
    webhook: String,
    tag: String,
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
    pub welcome: Vec<String>,
    /// Messages for an utterance that matches no intent.
    pub fallback: Vec<String>,
    /// Messages when a fulfillment webhook fails.
    pub webhook_error: Vec<String>,
    /// Fulfillment webhooks by name.
    pub webhooks: BTreeMap<String, Webhook>,
    /// Escalation to a human, when the agent allows it.
    pub handoff: Option<Handoff>,
    /// Intents, in file order.
    pub intents: Vec<Intent>,
    /// Multi-step flows by name.
    pub flows: BTreeMap<String, crate::flow::Flow>,
    pub(crate) classifier: IntentClassifier,
    /// Learned from annotated training phrases; fills free-form (`@sys.any`) parameters.
    pub(crate) tagger: Option<SlotTagger>,
}

/// How and when the agent hands a conversation to a human.
#[derive(Debug, Clone, PartialEq)]
pub struct Handoff {
    /// Messages shown when the conversation is handed off.
    pub messages: Vec<String>,
    /// Hand off after this many consecutive utterances that matched nothing.
    pub after_no_match: Option<u32>,
}

/// A fulfillment webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// Where requests are POSTed.
    pub url: String,
    /// How long to wait for the reply.
    pub timeout_ms: u32,
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
    pub responses: Vec<String>,
    /// Webhook called once the mandatory parameters are filled.
    pub fulfillment: Option<Fulfillment>,
    /// Matching this intent hands the conversation to a human ("talk to a person").
    pub handoff: bool,
    /// Matching this intent starts this flow.
    pub flow: Option<String>,
    /// Only flow routes listen for this intent ("yes", "no"); elsewhere it matches nothing.
    pub in_flows_only: bool,
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
    pub prompts: Vec<String>,
    /// What a value must satisfy to fill the parameter.
    pub validation: Option<Validation>,
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
    pub invalid_prompts: Vec<String>,
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
        Ok(Self::parse(text)?.trained())
    }

    /// Parses and validates an agent file and loads its classifier from a model written by
    /// `switchboard train` (milliseconds instead of training at start-up).
    pub fn from_json_with_model(text: &str, model: &[u8]) -> Result<Agent, AgentError> {
        let mut agent = Self::parse(text)?;
        let classifier = IntentClassifier::from_bytes(model)
            .map_err(|e| AgentError::Invalid { field: "model".into(), message: e.to_string() })?;
        if classifier.fingerprint() != agent.fingerprint() {
            return Err(AgentError::Invalid {
                field: "model".into(),
                message: "the model was trained on other intents or phrases; run `switchboard train` again".into(),
            });
        }
        agent.classifier = classifier;
        Ok(agent)
    }

    /// The agent with its classifier trained on its own phrases.
    fn trained(mut self) -> Agent {
        self.classifier = IntentClassifier::train(self.training_examples()).with_fingerprint(self.fingerprint());
        self
    }

    fn parse(text: &str) -> Result<Agent, AgentError> {
        let raw: RawAgent = serde_json::from_str(text).map_err(|e| AgentError::Syntax {
            line: e.line(),
            column: e.column(),
            message: e.to_string().split(" at line ").next().unwrap_or_default().to_owned(),
        })?;
        Self::validate(raw)
    }

    /// Parses and validates an agent written in YAML (the same fields as JSON), and trains it.
    pub fn from_yaml(text: &str) -> Result<Agent, AgentError> {
        let raw: RawAgent = serde_saphyr::from_str(text).map_err(|e| {
            let location = e.location();
            AgentError::Syntax {
                line: location.as_ref().map_or(0, |l| l.line() as usize),
                column: location.as_ref().map_or(0, |l| l.column() as usize),
                message: e.to_string().lines().next().unwrap_or_default().to_owned(),
            }
        })?;
        Ok(Self::validate(raw)?.trained())
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

    fn validate(raw: RawAgent) -> Result<Agent, AgentError> {
        let invalid = |field: String, message: String| Err(AgentError::Invalid { field, message });
        if raw.fallback.is_empty() {
            return invalid("fallback".into(), "needs at least one message".into());
        }
        if raw.webhook_error.is_empty() {
            return invalid("webhook_error".into(), "needs at least one message".into());
        }
        if !(0.0..=1.0).contains(&raw.confidence_threshold) {
            return invalid("confidence_threshold".into(), format!("{} is outside 0..=1", raw.confidence_threshold));
        }
        let handoff = match raw.handoff {
            Some(h) if h.messages.is_empty() => {
                return invalid("handoff.messages".into(), "needs at least one message".into());
            }
            Some(RawHandoff { after_no_match: Some(0), .. }) => {
                return invalid("handoff.after_no_match".into(), "must be at least 1".into());
            }
            Some(h) => Some(Handoff { messages: h.messages, after_no_match: h.after_no_match }),
            None => None,
        };
        let mut entities: BTreeMap<String, EntityType> = BTreeMap::new();
        for (name, e) in raw.entities {
            let at = format!("entities.{name}");
            if name.starts_with("sys.") || name.is_empty() {
                return invalid(at, "custom entity names must not be empty or start with 'sys.'".into());
            }
            let entity = match (e.values.is_empty(), e.regex) {
                (false, None) => EntityType::List(std::sync::Arc::new(ListEntity {
                    name: name.clone(),
                    entries: e.values.into_iter().map(|v| ListEntry { value: v.value, synonyms: v.synonyms }).collect(),
                    fuzzy: e.fuzzy,
                })),
                (true, Some(pattern)) => match regex_lite::Regex::new(&pattern) {
                    Ok(re) => EntityType::Regex(std::sync::Arc::new(re)),
                    Err(err) => return invalid(format!("{at}.regex"), format!("invalid pattern: {err}")),
                },
                _ => return invalid(at, "give either 'values' (a list entity) or 'regex', not both or neither".into()),
            };
            entities.insert(name, entity);
        }
        let mut tagged: Vec<TaggedPhrase> = Vec::new();
        let mut names = HashSet::new();
        let mut intents = Vec::with_capacity(raw.intents.len());
        for (i, intent) in raw.intents.into_iter().enumerate() {
            let at = format!("intents[{i}]");
            if !names.insert(intent.name.clone()) {
                return invalid(format!("{at}.name"), format!("duplicate intent '{}'", intent.name));
            }
            if intent.training_phrases.iter().all(|p| p.trim().is_empty()) {
                return invalid(
                    format!("{at}.training_phrases"),
                    format!("intent '{}' has no training phrase", intent.name),
                );
            }
            let mut parameters = Vec::new();
            let mut param_names = HashSet::new();
            for (j, p) in intent.parameters.into_iter().enumerate() {
                let at = format!("{at}.parameters[{j}]");
                if !param_names.insert(p.name.clone()) {
                    return invalid(format!("{at}.name"), format!("duplicate parameter '{}'", p.name));
                }
                let entity = match p.entity.strip_prefix('@') {
                    Some(name) if name.starts_with("sys.") => EntityType::system(&p.entity),
                    Some(name) => entities.get(name).cloned(),
                    None => None,
                };
                let Some(entity) = entity else {
                    let mut known: Vec<String> = EntityType::SYSTEM.iter().map(|s| (*s).to_owned()).collect();
                    known.extend(entities.keys().map(|k| format!("@{k}")));
                    return invalid(
                        format!("{at}.entity"),
                        format!("unknown entity type '{}'; expected one of {}", p.entity, known.join(", ")),
                    );
                };
                if p.mandatory && p.prompts.is_empty() {
                    return invalid(
                        format!("{at}.prompts"),
                        format!("mandatory parameter '{}' needs a prompt", p.name),
                    );
                }
                let validation = match p.validation {
                    Some(v) => Some(Validation {
                        min: v.min,
                        max: v.max,
                        pattern: match v.pattern.map(|p| regex_lite::Regex::new(&p)).transpose() {
                            Ok(p) => p.map(std::sync::Arc::new),
                            Err(e) => {
                                return invalid(format!("{at}.validation.pattern"), format!("invalid pattern: {e}"));
                            }
                        },
                        invalid_prompts: v.invalid_prompts,
                    }),
                    None => None,
                };
                parameters.push(Parameter {
                    name: p.name,
                    entity,
                    mandatory: p.mandatory,
                    prompts: p.prompts,
                    validation,
                });
            }
            let fulfillment = match intent.fulfillment {
                Some(f) if !raw.webhooks.contains_key(&f.webhook) => {
                    let known: Vec<&str> = raw.webhooks.keys().map(String::as_str).collect();
                    return invalid(
                        format!("{at}.fulfillment.webhook"),
                        format!("unknown webhook '{}'; expected one of [{}]", f.webhook, known.join(", ")),
                    );
                }
                Some(f) => Some(Fulfillment { webhook: f.webhook, tag: f.tag }),
                None => None,
            };
            if intent.handoff && handoff.is_none() {
                return invalid(
                    format!("{at}.handoff"),
                    format!("intent '{}' hands off, but the agent has no 'handoff' section", intent.name),
                );
            }
            if let Some(flow) = intent.flow.as_ref().filter(|f| !raw.flows.contains_key(*f)) {
                let known: Vec<&str> = raw.flows.keys().map(String::as_str).collect();
                return invalid(
                    format!("{at}.flow"),
                    format!("unknown flow '{flow}'; expected one of [{}]", known.join(", ")),
                );
            }
            let answers =
                fulfillment.is_some() || !intent.responses.is_empty() || intent.handoff || intent.flow.is_some();
            if !answers && !intent.in_flows_only {
                return invalid(
                    format!("{at}.responses"),
                    format!("intent '{}' has neither responses nor a fulfillment", intent.name),
                );
            }
            let mut phrases = Vec::with_capacity(intent.training_phrases.len());
            for (j, phrase) in intent.training_phrases.iter().enumerate() {
                let annotated = annotate::parse(phrase);
                if let Some((_, _, name)) =
                    annotated.spans.iter().find(|(_, _, n)| !parameters.iter().any(|p| &p.name == n))
                {
                    return invalid(
                        format!("{at}.training_phrases[{j}]"),
                        format!("annotation names unknown parameter '{name}' of intent '{}'", intent.name),
                    );
                }
                if !annotated.spans.is_empty() {
                    let words = annotate::words(&annotated.plain);
                    tagged.push(TaggedPhrase {
                        context: intent.name.clone(),
                        tags: annotate::bio(&words, &annotated.spans),
                        words: words.iter().map(|(a, b)| annotated.plain[*a..*b].to_owned()).collect(),
                    });
                }
                phrases.push(annotated.plain);
            }
            intents.push(Intent {
                name: intent.name,
                training_phrases: phrases,
                parameters,
                responses: intent.responses,
                fulfillment,
                handoff: intent.handoff,
                flow: intent.flow,
                in_flows_only: intent.in_flows_only,
            });
        }
        let intent_names: Vec<&str> = intents.iter().map(|i| i.name.as_str()).collect();
        let mut flows = BTreeMap::new();
        for (name, flow) in raw.flows {
            let flow = flow
                .validate(&name, &intent_names, handoff.is_some())
                .map_err(|(field, message)| AgentError::Invalid { field, message })?;
            flows.insert(name, flow);
        }
        let webhooks = raw
            .webhooks
            .into_iter()
            .map(|(name, w)| (name, Webhook { url: w.url, timeout_ms: w.timeout_ms }))
            .collect();
        Ok(Agent {
            name: raw.name,
            language: raw.language,
            confidence_threshold: raw.confidence_threshold,
            welcome: raw.welcome,
            fallback: raw.fallback,
            webhook_error: raw.webhook_error,
            webhooks,
            handoff,
            intents,
            flows,
            classifier: IntentClassifier::default(),
            tagger: (!tagged.is_empty()).then(|| SlotTagger::train(&tagged, &TaggerOptions::default())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{
  "name": "t",
  "fallback": ["?"],
  "webhook_error": ["!"],
  "intents": [ { "name": "Hi", "training_phrases": ["hello"], "responses": ["Hello!"] } ]
}"#;

    #[test]
    fn loads_a_trained_model_and_refuses_a_stale_one() {
        let agent = Agent::from_json(MINIMAL).unwrap();
        let model = agent.classifier().to_bytes();
        let loaded = Agent::from_json_with_model(MINIMAL, &model).unwrap();
        assert_eq!(loaded.classifier().classify("hello").unwrap().intent, 0);
        let changed = MINIMAL.replace("[\"hello\"]", "[\"hello\", \"hey\"]");
        let err = Agent::from_json_with_model(&changed, &model).unwrap_err();
        assert!(err.to_string().starts_with("model: the model was trained on other intents"), "{err}");
    }

    const MINIMAL_YAML: &str = "name: t
fallback: ['?']
webhook_error: ['!']
intents:
  - name: Hi
    training_phrases: [hello, hi there]
    responses: [Hello!]
";

    #[test]
    fn yaml_agents_read_like_json_ones() {
        let agent = Agent::from_yaml(MINIMAL_YAML).unwrap();
        assert_eq!(agent.intent("Hi").unwrap().responses, vec!["Hello!"]);
        assert_eq!(
            agent.fingerprint(),
            Agent::from_json(&MINIMAL.replace("[\"hello\"]", "[\"hello\", \"hi there\"]")).unwrap().fingerprint()
        );
        let err = Agent::from_yaml(&MINIMAL_YAML.replace("responses:", "responsez:")).unwrap_err();
        let AgentError::Syntax { line, message, .. } = &err else { panic!("{err:?}") };
        assert!(message.contains("responsez"), "{message}");
        assert!((5..=7).contains(line), "line {line}: {message}");
    }

    #[test]
    fn accepts_a_minimal_agent() {
        let agent = Agent::from_json(MINIMAL).unwrap();
        assert_eq!(agent.intent("Hi").unwrap().responses, vec!["Hello!"]);
        assert_eq!(agent.language, "en");
    }

    #[test]
    fn syntax_errors_name_line_column_and_field() {
        let text = MINIMAL.replace("\"responses\"", "\"responsez\"");
        let err = Agent::from_json(&text).unwrap_err();
        let AgentError::Syntax { line, message, .. } = &err else { panic!("{err:?}") };
        assert_eq!(*line, 5);
        assert!(message.contains("responsez"), "{message}");
    }

    #[test]
    fn rejects_unknown_entity_with_the_choices() {
        let text = MINIMAL.replace(
            "\"responses\"",
            r#""parameters": [{"name": "n", "entity": "@sys.nmber", "mandatory": true, "prompts": ["n?"]}], "responses""#,
        );
        let err = Agent::from_json(&text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "intents[0].parameters[0].entity: unknown entity type '@sys.nmber'; expected one of @sys.number, @sys.date, @sys.time, @sys.email, @sys.phone-number, @sys.any"
        );
    }

    #[test]
    fn custom_entities_are_defined_once_and_checked() {
        let text = MINIMAL
            .replace(
                "\"intents\"",
                r#""entities": { "service": { "values": [ { "value": "haircut", "synonyms": ["trim"] } ] },
                             "code": { "regex": "[A-Z]{3}-[0-9]{3}" } },
               "intents""#,
            )
            .replace(
                "\"responses\"",
                r#""parameters": [{"name": "s", "entity": "@service"}, {"name": "c", "entity": "@code"}], "responses""#,
            );
        let agent = Agent::from_json(&text).unwrap();
        let params = &agent.intents[0].parameters;
        assert_eq!(params[0].entity.find_all("a trim please")[0].value, "haircut");
        assert_eq!(params[1].entity.find_all("ref ABC-123 ok")[0].value, "ABC-123");

        let bad = text.replace("[A-Z]{3}-[0-9]{3}", "[A-Z");
        let err = Agent::from_json(&bad).unwrap_err().to_string();
        assert!(err.starts_with("entities.code.regex: invalid pattern"), "{err}");
        let unknown = text.replace("\"@code\"", "\"@colour\"");
        let err = Agent::from_json(&unknown).unwrap_err().to_string();
        assert!(err.ends_with("@sys.any, @code, @service"), "{err}");
    }

    #[test]
    fn rejects_mandatory_parameter_without_prompt() {
        let text = MINIMAL.replace(
            "\"responses\"",
            r#""parameters": [{"name": "n", "entity": "@sys.number", "mandatory": true}], "responses""#,
        );
        let err = Agent::from_json(&text).unwrap_err();
        assert_eq!(err.to_string(), "intents[0].parameters[0].prompts: mandatory parameter 'n' needs a prompt");
    }

    #[test]
    fn rejects_unknown_webhook_and_duplicate_intents() {
        let text = MINIMAL.replace("\"responses\"", r#""fulfillment": {"webhook": "nope", "tag": "t"}, "responses""#);
        let err = Agent::from_json(&text).unwrap_err();
        assert_eq!(err.to_string(), "intents[0].fulfillment.webhook: unknown webhook 'nope'; expected one of []");

        let dup = MINIMAL.replace(
            "\"intents\": [ ",
            r#""intents": [ { "name": "Hi", "training_phrases": ["hey"], "responses": ["Hey"] }, "#,
        );
        let err = Agent::from_json(&dup).unwrap_err();
        assert_eq!(err.to_string(), "intents[1].name: duplicate intent 'Hi'");
    }
}
