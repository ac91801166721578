//! Human handoff through the API in memory: the bot hands off and falls silent, the desk
//! lists the conversation, one agent claims it (others are refused), agent and customer
//! exchange messages, and resolving or handing back returns the conversation to the bot.
// Tests may panic: a panic here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

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
    let report = edge.analytics.stats();
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

#[test]
fn an_external_help_desk_is_sent_the_transcript_signed() {
    use switchboard_edge::handoff::sign;
    use switchboard_edge::ports::{HttpError, HttpResponse};
    let mut config = Config::for_tests();
    config.set("HANDOFF_WEBHOOK_URL", "https://desk.example/hooks/switchboard").unwrap();
    config.set("HANDOFF_WEBHOOK_SECRET", "desk-secret-of-thirty-two-bytes!!").unwrap();
    let answers: [Result<HttpResponse, HttpError>; 2] =
        [Ok(HttpResponse { status: 202, body: Vec::new() }), Ok(HttpResponse { status: 500, body: Vec::new() })];
    let edge = edge_with(config, ScriptedHttp::new(answers));
    let (session, _) = open(&edge, Some("visitor-handoff-3"));
    say(&edge, &session, "Where is my order?");
    say(&edge, &session, "I want to speak to a person");
    {
        let sent = edge.http.sent.borrow();
        assert_eq!(sent.len(), 1);
        let request = &sent[0];
        assert_eq!(request.url, "https://desk.example/hooks/switchboard");
        let body = request.body.as_deref().unwrap();
        let signature = request.headers.iter().find(|(k, _)| k == "X-Switchboard-Signature").map(|(_, v)| v.as_str());
        assert_eq!(signature, Some(sign("desk-secret-of-thirty-two-bytes!!", body).as_str()));
        // A published HMAC-SHA256 vector.
        assert_eq!(
            sign("secret", "Message"),
            "sha256=aa747c502a898200f9e4fa21bac68136f886a0e27aec70ba06daf2e2a5cb5597"
        );
        let notice: Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            (&notice["event"], &notice["conversation"]["conversation_id"], &notice["conversation"]["reason"]),
            (&json!("handoff"), &json!(session.id), &json!("requested"))
        );
        let transcript: Vec<&str> =
            notice["transcript"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
        assert_eq!(
            transcript[1..],
            [
                "Where is my order?",
                "Can you provide your order number?",
                "I want to speak to a person",
                "I'm connecting you with a member of our team. They'll reply here as soon as they can."
            ]
        );
    }

    // A help desk that fails is logged; the handoff stands.
    let (second, _) = open(&edge, Some("visitor-handoff-4"));
    let request =
        ApiRequest::post(&second.path("messages"), r#"{"text":"Can I talk to an agent"}"#).bearer(&second.token);
    let response = futures_executor::block_on(switchboard_edge::api::handle(&edge, request));
    let json: Value = serde_json::from_str(&response.body).unwrap();
    assert_eq!((response.status, &json["status"]), (200, &json!("waiting")));
    let failed: Vec<&String> = response.logs.iter().filter(|l| l.contains("help_desk_failed")).collect();
    assert_eq!(failed.len(), 1, "{:?}", response.logs);
    assert!(failed[0].contains("status 500") && !failed[0].contains("agent"), "no message text in logs: {}", failed[0]);
    assert_eq!(queue(&edge).len(), 2);
}

#[test]
fn without_agents_or_past_the_timeout_the_bot_keeps_the_conversation() {
    // No AGENT_TOKENS: nobody could take over, so the bot answers on.
    let mut config = Config::for_tests();
    config.agents.clear();
    let edge = edge_with(config, ScriptedHttp::default());
    let (session, _) = open(&edge, Some("visitor-handoff-5"));
    let handed = say(&edge, &session, "I want to speak to a person");
    assert_eq!(handed["status"], "bot");
    assert_eq!(texts(&say(&edge, &session, "Where is my order?")), ["Can you provide your order number?"]);

    // A handoff nobody claims within HANDOFF_TIMEOUT_MINUTES goes back to the bot.
    let mut config = Config::for_tests();
    config.set("HANDOFF_TIMEOUT_MINUTES", "0").unwrap();
    let edge = edge_with(config, ScriptedHttp::default());
    let (session, _) = open(&edge, Some("visitor-handoff-6"));
    assert_eq!(say(&edge, &session, "I want to speak to a person")["status"], "waiting");
    assert!(queue(&edge).is_empty(), "expired at once, the desk no longer lists it");
    let back = say(&edge, &session, "Where is my order?");
    assert_eq!((texts(&back), &back["status"]), (vec!["Can you provide your order number?".to_owned()], &json!("bot")));
    assert!(queue(&edge).is_empty(), "off the desk");
}

#[test]
fn ending_a_waiting_conversation_takes_it_off_the_desk() {
    let edge = edge();
    let (session, _) = open(&edge, Some("visitor-handoff-7"));
    say(&edge, &session, "I want to speak to a person");
    assert_eq!(queue(&edge).len(), 1);
    assert_eq!(call(&edge, ApiRequest::post(&session.path("end"), "").bearer(&session.token)).0, 204);
    assert!(queue(&edge).is_empty());
}

#[test]
fn agent_actions_never_run_outside_the_users_object() {
    // The worker's service (which forwards to users' objects) refuses to act on a conversation
    // itself: that happens only when the desk could not say whose object it belongs to.
    let edge = edge();
    let (session, _) = open(&edge, Some("visitor-handoff-8"));
    say(&edge, &session, "I want to speak to a person");
    let worker = switchboard_edge::memory::edge(agent(), Config::for_tests(), ScriptedHttp::default());
    let worker = worker.outside_user_objects();
    let path = format!("/v1/agent/conversations/{}/claim", session.id);
    let (status, json) = agent_call(&worker, ALICE, "POST", &path, None);
    assert_eq!((status, json["error"]["code"].as_str()), (500, Some("internal")), "{json}");
}

#[test]
fn one_client_cannot_flood_the_desk_or_open_conversations_without_end() {
    let mut config = Config::for_tests();
    config.set("HANDOFFS_PER_IP", "2").unwrap();
    config.set("IP_CONVERSATIONS_PER_HOUR", "4").unwrap();
    let edge = edge_with(config, ScriptedHttp::default());
    let from = |ip: &str, request: ApiRequest| call(&edge, ApiRequest { ip: Some(ip.into()), ..request });
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let (status, created) = from("203.0.113.9", ApiRequest::post("/v1/conversations", r#"{"channel":"web"}"#));
        assert_eq!(status, 201);
        let s = Session::from(&created);
        let body = json!({"text": "I want to speak to a person"}).to_string();
        let (_, reply) = from("203.0.113.9", ApiRequest::post(&s.path("messages"), &body).bearer(&s.token));
        statuses.push(reply["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(statuses, ["waiting", "waiting", "bot"], "the third handoff of one client is refused");
    assert_eq!(queue(&edge).len(), 2);
    // Another client is not held back by the first.
    let (_, created) = from("198.51.100.7", ApiRequest::post("/v1/conversations", r#"{"channel":"web"}"#));
    let s = Session::from(&created);
    let body = json!({"text": "I want to speak to a person"}).to_string();
    assert_eq!(
        from("198.51.100.7", ApiRequest::post(&s.path("messages"), &body).bearer(&s.token)).1["status"],
        "waiting"
    );
    // New conversations per client are limited too (resuming one is not).
    assert_eq!(from("203.0.113.9", ApiRequest::post("/v1/conversations", r#"{"channel":"web"}"#)).0, 201);
    let (status, limited) = from("203.0.113.9", ApiRequest::post("/v1/conversations", r#"{"channel":"web"}"#));
    assert_eq!((status, limited["error"]["code"].as_str()), (429, Some("rate_limited")));
    let resume = json!({"channel": "web", "visitor_id": created["visitor_id"]}).to_string();
    assert_eq!(from("198.51.100.7", ApiRequest::post("/v1/conversations", &resume)).0, 200);
}

#[test]
fn the_queue_is_read_in_pages() {
    let edge = edge();
    for i in 0..5 {
        let (session, _) = open(&edge, Some(&format!("visitor-page-{i}")));
        say(&edge, &session, "I want to speak to a person");
    }
    let page = |query: &str| call(&edge, ApiRequest::get(&format!("/v1/agent/queue{query}")).bearer(ALICE)).1;
    let first = page("?limit=2");
    assert_eq!(first["conversations"].as_array().unwrap().len(), 2);
    let second = page(&format!("?limit=2&after={}", first["next"].as_str().unwrap()));
    let third = page(&format!("?limit=2&after={}", second["next"].as_str().unwrap()));
    assert_eq!(third["conversations"].as_array().unwrap().len(), 1);
    assert!(third.get("next").is_none());
    let mut ids: Vec<String> = [first, second, third]
        .iter()
        .flat_map(|p| {
            p["conversations"].as_array().unwrap().iter().map(|c| c["conversation_id"].as_str().unwrap().to_owned())
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "each conversation once");
    assert_eq!(call(&edge, ApiRequest::get("/v1/agent/queue?limit=0").bearer(ALICE)).0, 400);
}
