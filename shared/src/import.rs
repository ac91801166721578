//! Importers: Dialogflow CX intent JSON and Rasa `nlu.yml` to a Switchboard agent file.
//!
//! Both formats describe intents, training phrases and entities but not what the agent answers
//! (CX answers on pages, Rasa in `domain.yml`), so every imported intent is fulfilled by one
//! webhook, with the intent's name as the tag. The result is a JSON agent file; it is validated
//! with [`crate::agent::Agent::from_json`] before it is returned.

use crate::agent::{Agent, AgentError};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input is not the format it claims to be.
    #[error("{file}: {message}")]
    Format {
        /// Which input.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// The converted agent does not validate.
    #[error("converted agent is invalid: {0}")]
    Invalid(#[from] AgentError),
}

fn agent_file(name: &str, webhook_url: &str, intents: Vec<Value>, entities: BTreeMap<String, Value>) -> Value {
    json!({
        "name": name,
        "fallback": ["Sorry, I didn't understand that. Could you say it another way?"],
        "webhook_error": ["Sorry, something went wrong on our side. Please try again in a moment."],
        "webhooks": { "default": { "url": webhook_url } },
        "entities": entities,
        "intents": intents,
    })
}

fn finish(agent: Value) -> Result<String, ImportError> {
    // A `Value` always serialises (string keys, finite numbers); should it not, say so.
    let text = serde_json::to_string_pretty(&agent)
        .map_err(|e| ImportError::Format { file: "converted agent".into(), message: e.to_string() })?;
    Agent::from_json(&text)?;
    Ok(text + "\n")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CxIntent {
    display_name: String,
    #[serde(default)]
    training_phrases: Vec<CxPhrase>,
    #[serde(default)]
    parameters: Vec<CxParameter>,
}

#[derive(Deserialize)]
struct CxPhrase {
    #[serde(default)]
    parts: Vec<CxPart>,
}

#[derive(Deserialize)]
struct CxPart {
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CxParameter {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    entity_type: String,
    #[serde(default)]
    mandatory: bool,
    #[serde(default)]
    prompt: Option<Value>,
}

/// CX `entityType` (`@sys.number`, `projects/…/entityTypes/sys.number`, `sys.date`) → ours.
fn cx_entity(entity: &str) -> String {
    let last = entity.rsplit('/').next().unwrap_or(entity).trim_start_matches('@');
    format!("@{last}")
}

/// Converts CX intent files (`(file name, JSON text)`) into one agent file.
pub fn from_cx(name: &str, webhook_url: &str, files: &[(String, String)]) -> Result<String, ImportError> {
    let mut intents = Vec::new();
    for (file, text) in files {
        let intent: CxIntent = serde_json::from_str(text)
            .map_err(|e| ImportError::Format { file: file.clone(), message: e.to_string() })?;
        let phrases: Vec<String> = intent
            .training_phrases
            .iter()
            .map(|p| p.parts.iter().map(|part| part.text.as_str()).collect::<String>().trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect();
        let parameters: Vec<Value> = intent
            .parameters
            .iter()
            .map(|p| {
                let prompts = match &p.prompt {
                    Some(Value::String(s)) => vec![s.clone()],
                    Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
                    _ => Vec::new(),
                };
                json!({
                    "name": p.id.clone().or_else(|| p.display_name.clone()).unwrap_or_default(),
                    "entity": cx_entity(&p.entity_type),
                    "mandatory": p.mandatory,
                    "prompts": prompts,
                })
            })
            .collect();
        intents.push(json!({
            "name": intent.display_name,
            "training_phrases": phrases,
            "parameters": parameters,
            "fulfillment": { "webhook": "default", "tag": intent.display_name },
        }));
    }
    finish(agent_file(name, webhook_url, intents, BTreeMap::new()))
}

#[derive(Deserialize)]
struct RasaNlu {
    #[serde(default)]
    nlu: Vec<RasaItem>,
}

#[derive(Deserialize)]
struct RasaItem {
    #[serde(default)]
    intent: Option<String>,
    #[serde(default)]
    synonym: Option<String>,
    #[serde(default)]
    lookup: Option<String>,
    #[serde(default)]
    regex: Option<String>,
    #[serde(default)]
    examples: String,
}

/// `- text` lines of a Rasa `examples: |` block.
fn example_lines(block: &str) -> Vec<String> {
    block
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- ").map(|e| e.trim().to_owned()))
        .filter(|e| !e.is_empty())
        .collect()
}

/// Removes Rasa annotations: `[value](entity)` and `[value]{"entity": "x"}` become `value`;
/// returns the plain text and the `(value, entity)` pairs.
fn strip_annotations(example: &str) -> (String, Vec<(String, String)>) {
    let mut text = String::new();
    let mut found = Vec::new();
    let mut rest = example;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find(']').map(|c| open + c) else { break };
        let after = &rest[close + 1..];
        let (entity, consumed) = if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(end) => (inner[..end].split(':').next().unwrap_or_default().to_owned(), end + 2),
                None => break,
            }
        } else if after.starts_with('{') {
            match after.find('}') {
                Some(end) => {
                    let parsed: Value = serde_json::from_str(&after[..=end]).unwrap_or(Value::Null);
                    (parsed.get("entity").and_then(Value::as_str).unwrap_or_default().to_owned(), end + 1)
                }
                None => break,
            }
        } else {
            text.push_str(&rest[..=close]);
            rest = after;
            continue;
        };
        let value = &rest[open + 1..close];
        text.push_str(&rest[..open]);
        text.push_str(value);
        if !entity.is_empty() {
            found.push((value.to_owned(), entity));
        }
        rest = &after[consumed..];
    }
    text.push_str(rest);
    (text, found)
}

/// Converts a Rasa `nlu.yml` into an agent file. Annotated entities become optional parameters
/// of their intents; an entity's values come from its lookup table, or from the annotated
/// examples, with the file's synonyms; a `regex` entry makes a regex entity.
pub fn from_rasa(name: &str, webhook_url: &str, file: &str, text: &str) -> Result<String, ImportError> {
    let nlu: RasaNlu = serde_saphyr::from_str(text).map_err(|e| ImportError::Format {
        file: file.to_owned(),
        message: e.to_string().lines().next().unwrap_or_default().to_owned(),
    })?;
    let mut synonyms: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut lookups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut regexes: BTreeMap<String, String> = BTreeMap::new();
    for item in &nlu.nlu {
        if let Some(value) = &item.synonym {
            synonyms.entry(value.clone()).or_default().extend(example_lines(&item.examples));
        } else if let Some(entity) = &item.lookup {
            lookups.entry(entity.clone()).or_default().extend(example_lines(&item.examples));
        } else if let Some(entity) = &item.regex {
            let patterns = example_lines(&item.examples);
            regexes.insert(entity.clone(), patterns.join("|"));
        }
    }
    let mut intents = Vec::new();
    let mut annotated: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in nlu.nlu.iter().filter(|i| i.intent.is_some()) {
        let intent = item.intent.clone().unwrap_or_default();
        let mut phrases = Vec::new();
        let mut params: Vec<String> = Vec::new();
        for example in example_lines(&item.examples) {
            let (plain, entities) = strip_annotations(&example);
            phrases.push(plain);
            for (value, entity) in entities {
                annotated.entry(entity.clone()).or_default().push(value);
                if !params.contains(&entity) {
                    params.push(entity);
                }
            }
        }
        let parameters: Vec<Value> = params.iter().map(|e| json!({ "name": e, "entity": format!("@{e}") })).collect();
        intents.push(json!({
            "name": intent,
            "training_phrases": phrases,
            "parameters": parameters,
            "fulfillment": { "webhook": "default", "tag": intent },
        }));
    }
    let mut entities = BTreeMap::new();
    for (entity, values) in &annotated {
        if let Some(pattern) = regexes.get(entity) {
            entities.insert(entity.clone(), json!({ "regex": pattern }));
            continue;
        }
        let mut canonical: Vec<String> = Vec::new();
        for v in lookups.get(entity).unwrap_or(values) {
            // An annotated synonym resolves to its canonical value.
            let value = synonyms.iter().find(|(_, s)| s.contains(v)).map_or(v.clone(), |(c, _)| c.clone());
            if !canonical.contains(&value) {
                canonical.push(value);
            }
        }
        let list: Vec<Value> = canonical
            .iter()
            .map(|v| json!({ "value": v, "synonyms": synonyms.get(v).cloned().unwrap_or_default() }))
            .collect();
        entities.insert(entity.clone(), json!({ "values": list }));
    }
    finish(agent_file(name, webhook_url, intents, entities))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cx_intents_become_an_agent() {
        let intent = r#"{
          "displayName": "CheckOrderStatus",
          "trainingPhrases": [
            { "parts": [ { "text": "Where is my order" } ] },
            { "parts": [ { "text": "Track order " }, { "text": "123456", "parameterId": "order-number" } ] }
          ],
          "parameters": [ { "id": "order-number", "entityType": "@sys.number", "mandatory": true,
                            "prompt": "Can you provide your order number?" } ]
        }"#;
        let text = from_cx("shop", "https://example.com/hook", &[("order.json".into(), intent.into())]).unwrap();
        let agent = Agent::from_json(&text).unwrap();
        let i = agent.intent("CheckOrderStatus").unwrap();
        assert_eq!(i.training_phrases, ["Where is my order", "Track order 123456"]);
        assert_eq!(i.parameters[0].prompts, ["Can you provide your order number?"]);
        assert!(i.parameters[0].mandatory);
        assert_eq!(i.fulfillment.as_ref().unwrap().tag, "CheckOrderStatus");
        assert_eq!(cx_entity("projects/p/locations/l/agents/a/entityTypes/sys.date"), "@sys.date");
    }

    #[test]
    fn rasa_nlu_becomes_an_agent() {
        let nlu = r#"version: "3.1"
nlu:
- intent: greet
  examples: |
    - hey
    - hello there
- intent: book_service
  examples: |
    - book a [repair](service) please
    - I need a [fix]{"entity": "service"} for my lamp
    - can I get a [consultation](service) on [AB-123](ticket)
- synonym: repair
  examples: |
    - fix
- lookup: service
  examples: |
    - repair
    - consultation
- regex: ticket
  examples: |
    - [A-Z]{2}-[0-9]{3}
"#;
        let text = from_rasa("shop", "https://example.com/hook", "nlu.yml", nlu).unwrap();
        let agent = Agent::from_json(&text).unwrap();
        let book = agent.intent("book_service").unwrap();
        assert_eq!(book.training_phrases[1], "I need a fix for my lamp");
        let service = &book.parameters.iter().find(|p| p.name == "service").unwrap().entity;
        assert_eq!(service.find_all("a fix please")[0].value, "repair");
        let ticket = &book.parameters.iter().find(|p| p.name == "ticket").unwrap().entity;
        assert_eq!(ticket.find_all("ref XY-987")[0].value, "XY-987");
        assert!(agent.intent("greet").is_some());
    }

    #[test]
    fn broken_input_names_the_file() {
        let err = from_cx("x", "http://h", &[("bad.json".into(), "{".into())]).unwrap_err();
        assert!(err.to_string().starts_with("bad.json: "), "{err}");
        let err = from_rasa("x", "http://h", "nlu.yml", "nlu: [unclosed").unwrap_err();
        assert!(err.to_string().starts_with("nlu.yml: "), "{err}");
    }
}
