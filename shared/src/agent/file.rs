//! The agent file as written (JSON or YAML) and its checks, which turn it into an [`Agent`].

use super::webhooks::RawWebhook;
use super::{Agent, AgentError, ChannelPrivacy, Fulfillment, Handoff, Intent, Parameter, Validation};
use crate::entity::{EntityType, ListEntity, ListEntry};
use crate::nlu::{IntentClassifier, SlotTagger, TaggedPhrase, TaggerOptions, annotate};
use crate::response::{RawResponse, validate_all};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};

/// Parses and validates a JSON agent file (untrained).
pub(super) fn parse_json(text: &str) -> Result<Agent, AgentError> {
    let raw: RawAgent = serde_json::from_str(text).map_err(|e| AgentError::Syntax {
        line: e.line(),
        column: e.column(),
        message: e.to_string().split(" at line ").next().unwrap_or_default().to_owned(),
    })?;
    validate(raw)
}

/// Parses and validates a YAML agent file (untrained).
pub(super) fn parse_yaml(text: &str) -> Result<Agent, AgentError> {
    let raw: RawAgent = serde_saphyr::from_str(text).map_err(|e| {
        let location = e.location();
        AgentError::Syntax {
            line: location.as_ref().map_or(0, |l| l.line() as usize),
            column: location.as_ref().map_or(0, |l| l.column() as usize),
            message: e.to_string().lines().next().unwrap_or_default().to_owned(),
        }
    })?;
    validate(raw)
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
    welcome: Vec<RawResponse>,
    fallback: Vec<RawResponse>,
    webhook_error: Vec<RawResponse>,
    #[serde(default)]
    no_input: Vec<RawResponse>,
    #[serde(default)]
    webhooks: BTreeMap<String, RawWebhook>,
    #[serde(default)]
    handoff: Option<RawHandoff>,
    #[serde(default)]
    entities: BTreeMap<String, RawEntity>,
    #[serde(default)]
    flows: BTreeMap<String, crate::flow::RawFlow>,
    #[serde(default)]
    privacy: BTreeMap<String, RawPrivacy>,
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
struct RawPrivacy {
    #[serde(default = "yes")]
    store_text: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHandoff {
    messages: Vec<RawResponse>,
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
struct RawIntent {
    name: String,
    training_phrases: Vec<String>,
    #[serde(default)]
    parameters: Vec<RawParameter>,
    #[serde(default)]
    responses: Vec<RawResponse>,
    #[serde(default)]
    fulfillment: Option<RawFulfillment>,
    #[serde(default)]
    handoff: bool,
    #[serde(default)]
    flow: Option<String>,
    #[serde(default)]
    in_flows_only: bool,
    #[serde(default)]
    end_session: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParameter {
    name: String,
    entity: String,
    #[serde(default)]
    mandatory: bool,
    #[serde(default)]
    prompts: Vec<RawResponse>,
    #[serde(default)]
    validation: Option<RawValidation>,
    #[serde(default)]
    redact: bool,
    #[serde(default)]
    default_from: Option<String>,
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
    invalid_prompts: Vec<RawResponse>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFulfillment {
    webhook: String,
    tag: String,
}

fn validate(raw: RawAgent) -> Result<Agent, AgentError> {
    let messages = |raw: Vec<RawResponse>, at: &str| {
        validate_all(raw, at).map_err(|(field, message)| AgentError::Invalid { field, message })
    };
    let invalid = |field: String, message: String| Err(AgentError::Invalid { field, message });
    let welcome = messages(raw.welcome, "welcome")?;
    let fallback = messages(raw.fallback, "fallback")?;
    let webhook_error = messages(raw.webhook_error, "webhook_error")?;
    let no_input = messages(raw.no_input, "no_input")?;
    if fallback.is_empty() {
        return invalid("fallback".into(), "needs at least one message".into());
    }
    if webhook_error.is_empty() {
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
        Some(h) => {
            Some(Handoff { messages: messages(h.messages, "handoff.messages")?, after_no_match: h.after_no_match })
        }
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
    // The classifier numbers intents with 16 bits (and its training refuses more).
    if raw.intents.len() > usize::from(u16::MAX) {
        return invalid("intents".into(), format!("{} intents; at most 65,535", raw.intents.len()));
    }
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
            if p.mandatory && p.prompts.is_empty() && p.default_from.is_none() {
                return invalid(format!("{at}.prompts"), format!("mandatory parameter '{}' needs a prompt", p.name));
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
                    invalid_prompts: messages(v.invalid_prompts, &format!("{at}.validation.invalid_prompts"))?,
                }),
                None => None,
            };
            parameters.push(Parameter {
                name: p.name,
                entity,
                mandatory: p.mandatory,
                prompts: messages(p.prompts, &format!("{at}.prompts"))?,
                validation,
                redact: p.redact,
                default_from: p.default_from,
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
        let responses = messages(intent.responses, &format!("{at}.responses"))?;
        let answers = fulfillment.is_some() || !responses.is_empty() || intent.handoff || intent.flow.is_some();
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
            responses,
            fulfillment,
            handoff: intent.handoff,
            flow: intent.flow,
            in_flows_only: intent.in_flows_only,
            end_session: intent.end_session,
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
    let mut privacy = BTreeMap::new();
    for (channel, p) in raw.privacy {
        if !crate::response::CHANNELS.contains(&channel.as_str()) {
            return invalid(
                format!("privacy.{channel}"),
                format!("unknown channel '{channel}'; expected one of {}", crate::response::CHANNELS.join(", ")),
            );
        }
        privacy.insert(channel, ChannelPrivacy { store_text: p.store_text });
    }
    let mut webhooks = BTreeMap::new();
    for (name, webhook) in raw.webhooks {
        let webhook = webhook.validate(&name).map_err(|(field, message)| AgentError::Invalid { field, message })?;
        webhooks.insert(name, webhook);
    }
    Ok(Agent {
        name: raw.name,
        language: raw.language,
        confidence_threshold: raw.confidence_threshold,
        welcome,
        fallback,
        webhook_error,
        no_input,
        webhooks,
        handoff,
        intents,
        flows,
        privacy,
        classifier: IntentClassifier::default(),
        tagger: (!tagged.is_empty()).then(|| SlotTagger::train(&tagged, &TaggerOptions::default())),
    })
}
