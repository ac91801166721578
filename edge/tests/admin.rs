//! Deploying an agent through the admin API: uploads in YAML and JSON, read back as uploaded;
//! malformed files are refused with the engine's line, column or field and change nothing;
//! only the admin uploads; agent files have their own, larger body limit; the deployed agent
//! is handed to the host and answers.
// Tests may panic: a panic here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchboard_edge::Config;
use switchboard_edge::api::{self, ApiRequest, MAX_BODY_BYTES};
use switchboard_edge::deployment::{AGENT_KEY, BUILTIN_AGENT, MAX_AGENT_BYTES, parse_agent};
use switchboard_edge::memory::ScriptedHttp;

const BIKES_YAML: &str = "# The bike shop's agent
name: Bike shop
fallback: [\"Sorry, I didn't get that. Ask me about opening hours or a repair.\"]
webhook_error: [\"Sorry, our repair desk is not answering. Please try again later.\"]
webhooks:
  repairs:
    url: https://bikes.example/hooks/repairs
    auth: { bearer: \"${REPAIRS_TOKEN}\" }
intents:
  - name: OpeningHours
    training_phrases: [when are you open, opening hours, are you open on sunday]
    responses: [\"We're open 9 to 6, Monday to Saturday.\"]
  - name: RepairStatus
    training_phrases: [is my bike ready, repair status]
    parameters:
      - { name: ticket, entity: \"@sys.number\", mandatory: true, prompts: [\"What's your repair ticket number?\"] }
    fulfillment: { webhook: repairs, tag: repair-status }
";

const TEAS_JSON: &str = r#"{
  "name": "Tea room",
  "fallback": ["Sorry, I only know about our teas."],
  "webhook_error": ["Sorry, something went wrong."],
  "intents": [
    { "name": "Menu", "training_phrases": ["which teas do you have", "tea menu"], "responses": ["Assam, Darjeeling and sencha."] }
  ]
}"#;

fn put(body: &[u8]) -> ApiRequest {
    ApiRequest { method: "PUT".into(), path: "/v1/admin/agent".into(), body: body.to_vec(), ..ApiRequest::default() }
}

fn stored(edge: &TestEdge) -> Option<(String, Option<u64>)> {
    edge.store.entries.borrow().get(AGENT_KEY).cloned()
}

fn error(json: &Value) -> (&str, &str) {
    (json["error"]["code"].as_str().unwrap(), json["error"]["message"].as_str().unwrap())
}

#[test]
fn the_builtin_agent_is_valid() {
    assert_eq!(parse_agent(BUILTIN_AGENT).unwrap().name, common::agent().name);
}

#[test]
fn yaml_and_json_uploads_are_stored_as_written_and_read_back() {
    let edge = edge();
    let (status, json) = call(&edge, ApiRequest::get("/v1/admin/agent").bearer("admin-token"));
    assert_eq!((status, error(&json).0), (404, "not_found"), "nothing uploaded: the built-in agent answers");

    let (status, summary) = call(&edge, put(BIKES_YAML.as_bytes()).bearer("admin-token"));
    assert_eq!(status, 200, "{summary}");
    let fingerprint = format!("{:016x}", parse_agent(BIKES_YAML).unwrap().fingerprint());
    assert_eq!(
        summary,
        json!({
            "name": "Bike shop", "format": "yaml", "intents": 2, "training_phrases": 5,
            "fingerprint": fingerprint, "secrets": ["REPAIRS_TOKEN"],
        })
    );
    assert_eq!(stored(&edge), Some((BIKES_YAML.to_owned(), None)), "as uploaded, comments included; no TTL");
    let deployed = edge.take_deployed().expect("the trained agent, for the host");
    assert_eq!((deployed.agent.name.as_str(), edge.take_deployed().is_none()), ("Bike shop", true));
    let (status, file) = call(&edge, ApiRequest::get("/v1/admin/agent").bearer("admin-token"));
    assert_eq!((status, file), (200, json!({ "format": "yaml", "text": BIKES_YAML })));

    let (status, summary) = call(&edge, put(TEAS_JSON.as_bytes()).bearer("admin-token"));
    assert_eq!((status, &summary["format"], &summary["secrets"]), (200, &json!("json"), &json!([])), "{summary}");
    assert_eq!(summary["name"], "Tea room");
    let (_, file) = call(&edge, ApiRequest::get("/v1/admin/agent").bearer("admin-token"));
    assert_eq!(file, json!({ "format": "json", "text": TEAS_JSON }));
    let response = futures_executor::block_on(api::handle(&edge, put(BIKES_YAML.as_bytes()).bearer("admin-token")));
    let logs = response.logs.join("\n");
    assert!(logs.contains(r#""event":"agent_deployed""#) && logs.contains("Bike shop"), "{logs}");
}

#[test]
fn a_malformed_file_is_refused_with_its_line_or_field_and_changes_nothing() {
    let edge = edge();
    assert_eq!(call(&edge, put(BIKES_YAML.as_bytes()).bearer("admin-token")).0, 200);
    edge.take_deployed();
    let puts = edge.store.puts.get();

    let misspelt = BIKES_YAML.replacen("responses:", "responsez:", 1);
    let dangling = BIKES_YAML.replace("webhook: repairs", "webhook: repair-desk");
    let json_syntax = TEAS_JSON.replace("\"tea menu\"]", "\"tea menu\"");
    let reserved = BIKES_YAML.replace("REPAIRS_TOKEN", "ADMIN_TOKEN");
    let cases: [(&[u8], &[&str]); 6] = [
        (misspelt.as_bytes(), &["(YAML)", "line 12", "responsez"]),
        (dangling.as_bytes(), &["(YAML)", "intents[1].fulfillment", "repair-desk"]),
        (json_syntax.as_bytes(), &["(JSON)", "line 6, column"]),
        (reserved.as_bytes(), &["webhooks.repairs", "${ADMIN_TOKEN}"]),
        (b"", &["(YAML)"]),
        (b"name: \xff\xfe", &["not UTF-8"]),
    ];
    for (body, expected) in cases {
        let (status, json) = call(&edge, put(body).bearer("admin-token"));
        let (code, message) = error(&json);
        assert_eq!((status, code), (400, "invalid_agent"), "{json}");
        assert!(message.starts_with("invalid agent file"), "{message}");
        for part in expected {
            assert!(message.contains(part), "'{part}' not in: {message}");
        }
    }
    assert_eq!((edge.store.puts.get(), stored(&edge)), (puts, Some((BIKES_YAML.to_owned(), None))));
    assert!(edge.take_deployed().is_none());
    let (_, file) = call(&edge, ApiRequest::get("/v1/admin/agent").bearer("admin-token"));
    assert_eq!(file["text"], BIKES_YAML);
}

#[test]
fn only_the_admin_uploads_or_reads_the_agent() {
    let edge = edge();
    let closed = edge_with(Config { admin_token: None, ..Config::for_tests() }, ScriptedHttp::default());
    let (s, _) = open(&edge, None);
    let attempts = [
        (&edge, put(BIKES_YAML.as_bytes())),
        (&edge, put(BIKES_YAML.as_bytes()).bearer("guess")),
        (&edge, put(BIKES_YAML.as_bytes()).bearer(&s.token)),
        (&closed, put(BIKES_YAML.as_bytes()).bearer("admin-token")),
        (&closed, put(BIKES_YAML.as_bytes()).bearer("")),
        (&edge, ApiRequest::get("/v1/admin/agent")),
        (&edge, ApiRequest::get("/v1/admin/agent").bearer("guess")),
        (&closed, ApiRequest::get("/v1/admin/agent").bearer("admin-token")),
    ];
    for (edge, request) in attempts {
        let what = format!("{} {:?}", request.method, request.authorization);
        let (status, json) = call(edge, request);
        assert_eq!((status, error(&json).0), (401, "unauthorized"), "{what}: {json}");
    }
    assert_eq!((stored(&edge), stored(&closed)), (None, None));
    assert!(edge.take_deployed().is_none() && closed.take_deployed().is_none());
}

#[test]
fn agent_files_may_be_larger_than_other_bodies_up_to_their_own_limit() {
    let edge = edge();
    // A real agent beyond the API's 64 KiB: many training phrases.
    let phrases: Vec<String> = (0..2_000).map(|i| format!("is bike number {i} ready for collection yet")).collect();
    let big = BIKES_YAML.replace("[is my bike ready, repair status]", &format!("[{}]", phrases.join(", ")));
    assert!((MAX_BODY_BYTES..MAX_AGENT_BYTES).contains(&big.len()), "{}", big.len());
    let (status, summary) = call(&edge, put(big.as_bytes()).bearer("admin-token"));
    assert_eq!((status, &summary["training_phrases"]), (200, &json!(2_003)), "{summary}");
    // Other routes keep the 64 KiB limit.
    let (status, json) = call(&edge, ApiRequest::post("/v1/conversations", &big));
    assert_eq!((status, error(&json).0), (413, "payload_too_large"));

    let over = vec![b'#'; MAX_AGENT_BYTES + 1];
    let (status, json) = call(&edge, put(&over).bearer("admin-token"));
    assert_eq!((status, error(&json)), (413, ("payload_too_large", "request body larger than 1048576 bytes")));
    let (_, file) = call(&edge, ApiRequest::get("/v1/admin/agent").bearer("admin-token"));
    assert_eq!(file["text"], big.as_str(), "the oversized upload changed nothing");
}

#[test]
fn the_deployed_agent_is_handed_to_the_host_and_answers() {
    let edge = edge();
    assert_eq!(call(&edge, put(BIKES_YAML.as_bytes()).bearer("admin-token")).0, 200);
    let deployed = edge.take_deployed().expect("deployed");
    // The host holds it for as long as it answers with it; here, the whole test.
    let agent = Box::leak(Box::new((*deployed.agent).clone()));
    let bikes = switchboard_edge::memory::edge(agent, Config::for_tests(), ScriptedHttp::default());
    let (s, _) = open(&bikes, None);
    assert_eq!(say(&bikes, &s, "when are you open"), ["We're open 9 to 6, Monday to Saturday."]);
    assert_eq!(say(&bikes, &s, "is my bike ready"), ["What's your repair ticket number?"]);
}
