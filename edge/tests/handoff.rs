//! Human handoff through the API in memory: the bot hands off and falls silent, the desk
//! lists the conversation, one agent claims it (others are refused), agent and customer
//! exchange messages, and resolving or handing back returns the conversation to the bot.

mod common;

use common::*;
use serde_json::{Value, json};
use switchboard_edge::Config;
use switchboard_edge::api::ApiRequest;
use switchboard_edge::memory::ScriptedHttp;

const ALICE: &str = "alice-token";
const BOB: &str = "bob-token";

fn agent_call(edge: &TestEdge, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let request = match method {
        "GET" => ApiRequest::get(path),
        _ => ApiRequest::post(path, &body.unwrap_or(Value::Null).to_string()),
    };
    call(edge, request.bearer(token))
}

fn say(edge: &TestEdge, session: &Session, text: &str) -> Value {
    let (status, json) = call(
        edge,
        ApiRequest::post(&session.path("messages"), &json!({ "text": text }).to_string()).bearer(&session.token),
    );
    assert_eq!(status, 200, "{json}");
    json
}

fn texts(json: &Value) -> Vec<String> {
    json["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_owned()).collect()
}

fn queue(edge: &TestEdge) -> Vec<Value> {
    let (status, json) = agent_call(edge, ALICE, "GET", "/v1/agent/queue", None);
    assert_eq!(status, 200, "{json}");
    json["conversations"].as_array().unwrap().clone()
}

#[test]
fn a_handed_off_conversation_goes_to_one_agent_and_back_to_the_bot() {
    let edge = edge();
    let (session, _) = open(&edge, Some("visitor-handoff-1"));
    say(&edge, &session, "Where is my order?");
    let handed = say(&edge, &session, "I want to speak to a person");
    assert_eq!(handed["status"], "waiting");

    // The bot is silent while humans have it; the message waits for them.
    let held = say(&edge, &session, "Hello? Anyone there?");
    assert_eq!((held["messages"].as_array().unwrap().len(), held["status"].as_str()), (0, Some("waiting")));
    let waiting = queue(&edge);
    assert_eq!(waiting.len(), 1);
    let entry = &waiting[0];
    assert_eq!(entry["conversation_id"], session.id.as_str());
    assert_eq!(
        (&entry["status"], &entry["channel"], &entry["reason"], &entry["last_intent"], &entry["last_message"]),
        (&json!("waiting"), &json!("web"), &json!("requested"), &json!("TalkToHuman"), &json!("Hello? Anyone there?"))
    );
    let path = format!("/v1/agent/conversations/{}", session.id);

    // Replying before claiming, or claiming what another agent has, is refused.
    let (status, json) = agent_call(&edge, ALICE, "POST", &format!("{path}/messages"), Some(json!({"text": "Hi"})));
    assert_eq!((status, json["error"]["code"].as_str()), (409, Some("conflict")));
    let (status, claimed) = agent_call(&edge, ALICE, "POST", &format!("{path}/claim"), None);
    assert_eq!((status, &claimed["status"], &claimed["agent"]), (200, &json!("human"), &json!("Alice")));
    let (status, _) = agent_call(&edge, BOB, "POST", &format!("{path}/claim"), None);
    assert_eq!(status, 409);
    let (status, _) = agent_call(&edge, BOB, "POST", &format!("{path}/messages"), Some(json!({"text": "Mine"})));
    assert_eq!(status, 409);

    let (status, sent) = agent_call(
        &edge,
        ALICE,
        "POST",
        &format!("{path}/messages"),
        Some(json!({"text": "Hi, I'm Alice. Let me look."})),
    );
    assert_eq!((status, &sent["role"], &sent["author"]), (200, &json!("agent"), &json!("Alice")));

    // The customer's client polls after its last message and sees the agent's.
    let (status, polled) = call(
        &edge,
        ApiRequest::get(&format!(
            "{}?after=m{}",
            session.path("messages"),
            sent["id"].as_str().unwrap()[1..].parse::<u64>().unwrap() - 1
        ))
        .bearer(&session.token),
    );
    assert_eq!(status, 200);
    assert_eq!((texts(&polled), &polled["status"]), (vec!["Hi, I'm Alice. Let me look.".to_owned()], &json!("human")));
    say(&edge, &session, "Thanks!");
    let (_, view) = agent_call(&edge, ALICE, "GET", &format!("{path}?after={}", sent["id"].as_str().unwrap()), None);
    assert_eq!(texts(&view), ["Thanks!"]);
    assert_eq!(view["profile"]["verified"], false);

    // Resolved: off the desk, and the bot answers the next message.
    let (status, _) = agent_call(&edge, BOB, "POST", &format!("{path}/resolve"), None);
    assert_eq!(status, 409, "only the claiming agent resolves");
    let (status, _) = agent_call(&edge, ALICE, "POST", &format!("{path}/resolve"), None);
    assert_eq!(status, 204);
    assert!(queue(&edge).is_empty());
    let (status, _) = agent_call(&edge, ALICE, "GET", &path, None);
    assert_eq!(status, 404);
    let again = say(&edge, &session, "Where is my order?");
    assert_eq!(
        (texts(&again), &again["status"]),
        (vec!["Can you provide your order number?".to_owned()], &json!("bot"))
    );
    let report = edge.analytics.days.borrow();
    let resolved: u64 = report.values().flat_map(|d| d.channels.values()).map(|c| c.resolved).sum();
    assert_eq!(resolved, 1);
}

#[test]
fn handing_back_lets_the_bot_continue_and_tokens_are_checked() {
    let edge = edge();
    let (session, _) = open(&edge, Some("visitor-handoff-2"));
    say(&edge, &session, "Can I talk to an agent");
    let path = format!("/v1/agent/conversations/{}", session.id);
    assert_eq!(agent_call(&edge, "wrong-token-wrong-token", "GET", "/v1/agent/queue", None).0, 401);
    assert_eq!(call(&edge, ApiRequest::get("/v1/agent/queue")).0, 401);
    assert_eq!(agent_call(&edge, ALICE, "POST", &format!("{path}/claim"), None).0, 200);
    assert_eq!(agent_call(&edge, ALICE, "POST", &format!("{path}/release"), None).0, 204);
    assert!(queue(&edge).is_empty());
    let answer = say(&edge, &session, "Where is my order?");
    assert_eq!(texts(&answer), ["Can you provide your order number?"]);

    let mut closed = Config::for_tests();
    closed.agents.clear();
    let closed = edge_with(closed, ScriptedHttp::default());
    let (status, json) = agent_call(&closed, ALICE, "GET", "/v1/agent/queue", None);
    assert_eq!(status, 401);
    assert!(json["error"]["message"].as_str().unwrap().contains("AGENT_TOKENS"), "{json}");
}

#[test]
fn agent_tokens_are_name_token_pairs() {
    let mut config = Config::for_tests();
    config.set("AGENT_TOKENS", "Ann Lee:0123456789abcdef, Bo:fedcba9876543210fedc").unwrap();
    assert_eq!(config.agents[0], ("Ann Lee".to_owned(), "0123456789abcdef".to_owned()));
    assert_eq!(config.agents.len(), 2);
    assert!(config.set("AGENT_TOKENS", "Ann:short").unwrap_err().contains("16 characters"));
}
