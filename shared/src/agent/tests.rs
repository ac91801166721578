//! Agent file parsing and validation.

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
