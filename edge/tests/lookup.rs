//! A declarative HTTP lookup (`kind: http`) through the whole edge: the conversation, the
//! request it makes, the reply, and failures that leave the conversation intact.
// Tests may panic: a panic here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{history, open, say};
use futures_executor::block_on;
use serde_json::{Value, json};
use switchboard_dialog::agent::Agent;
use switchboard_edge::Config;
use switchboard_edge::api::{self, ApiRequest};
use switchboard_edge::memory::ScriptedHttp;
use switchboard_edge::ports::{HttpError, HttpResponse};

const AGENT: &str = r#"name: Lookup shop
fallback: ["Sorry, I didn't get that."]
webhook_error: ["Sorry, I can't reach our order system right now. Your conversation is saved."]
webhooks:
  orders:
    kind: http
    url: https://api.shop.example/orders/$order-number
    timeout_ms: 2000
    headers: { X-Api-Key: '${SHOP_API_KEY}' }
    reply:
      messages: ['Order $order-number is ${/status}, expected ${/eta}.']
      set: { order-status: /status }
    on_status:
      404: { messages: [I can't find order $order-number. Please check the number.] }
intents:
  - name: CheckOrderStatus
    training_phrases: [Where is my order, Track order 123456, Order status, where is order 42]
    parameters:
      - { name: order-number, entity: '@sys.number', mandatory: true, prompts: [Can you provide your order number?] }
    fulfillment: { webhook: orders, tag: order-status }
"#;

fn edge(answers: Vec<Result<HttpResponse, HttpError>>, secret: bool) -> common::TestEdge {
    static AGENT_ONCE: std::sync::OnceLock<Agent> = std::sync::OnceLock::new();
    let agent = AGENT_ONCE.get_or_init(|| Agent::from_yaml(AGENT).unwrap());
    let mut config = Config::for_tests();
    if secret {
        config.set_secret("SHOP_API_KEY", "k-123").unwrap();
    }
    switchboard_edge::memory::edge(agent, config, ScriptedHttp::new(answers))
}

fn json(status: u16, body: Value) -> Result<HttpResponse, HttpError> {
    Ok(HttpResponse { status, body: body.to_string().into_bytes() })
}

#[test]
fn the_seed_conversation_through_a_lookup() {
    let edge =
        edge(vec![json(200, json!({ "status": "out for delivery", "eta": "6 PM today" })), json(404, json!({}))], true);
    let (s, _) = open(&edge, None);
    assert_eq!(say(&edge, &s, "Where is my order?"), ["Can you provide your order number?"]);
    assert_eq!(say(&edge, &s, "123456"), ["Order 123456 is out for delivery, expected 6 PM today."]);
    let sent = edge.http.sent.borrow()[0].clone();
    assert_eq!(
        (sent.method, sent.url.as_str(), sent.timeout_ms),
        ("GET", "https://api.shop.example/orders/123456", 2000)
    );
    assert!(sent.headers.contains(&("X-Api-Key".to_owned(), "k-123".to_owned())));
    assert_eq!(say(&edge, &s, "where is order 42"), ["I can't find order 42. Please check the number."]);
    // `set` reached the session parameters.
    let stored = edge.store.entries.borrow().iter().find(|(k, _)| k.starts_with("ctx:")).unwrap().1.0.clone();
    let ctx: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(ctx["dialog"]["parameters"]["order-status"], "out for delivery");
}

#[test]
fn a_failing_lookup_apologises_and_loses_nothing() {
    let answers = vec![
        json(500, json!({ "error": "down" })),
        json(200, json!({ "status": "packed" })), // no eta
        Err(HttpError::Timeout(2000)),
        json(200, json!({ "status": "packed", "eta": "tomorrow" })),
    ];
    let edge = edge(answers, true);
    let (s, _) = open(&edge, None);
    let body = json!({ "text": "where is order 7" }).to_string();
    for reason in ["answered HTTP 500", "the response has no field /eta", "timed out after 2000 ms"] {
        let response = block_on(api::handle(&edge, ApiRequest::post(&s.path("messages"), &body).bearer(&s.token)));
        let replies: Value = serde_json::from_str(&response.body).unwrap();
        assert_eq!(replies["messages"].as_array().unwrap().len(), 1);
        assert!(replies["messages"][0]["text"].as_str().unwrap().starts_with("Sorry, I can't reach"), "{replies}");
        assert!(response.logs.iter().any(|l| l.contains(reason)), "{reason} in {:?}", response.logs);
    }
    assert_eq!(say(&edge, &s, "where is order 7"), ["Order 7 is packed, expected tomorrow."]);
    assert_eq!(history(&edge, &s).len(), 2 * 4, "every user message and reply (the agent has no welcome)");
}

#[test]
fn a_missing_secret_is_a_logged_failure_not_a_crash() {
    let edge = edge(vec![json(200, json!({ "status": "packed", "eta": "today" }))], false);
    let (s, _) = open(&edge, None);
    let body = json!({ "text": "where is order 7" }).to_string();
    let response = block_on(api::handle(&edge, ApiRequest::post(&s.path("messages"), &body).bearer(&s.token)));
    assert_eq!(response.status, 200);
    assert!(response.body.contains("Sorry, I can't reach our order system"), "{}", response.body);
    assert!(response.logs.iter().any(|l| l.contains("secret 'SHOP_API_KEY' is not set")), "{:?}", response.logs);
    assert!(edge.http.sent.borrow().is_empty(), "nothing is sent without its credentials");
    assert_eq!(history(&edge, &s).len(), 2);
}
