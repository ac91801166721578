//! The HTTP API v1 against the real worker in workerd, and fulfillment through a real webhook
//! server on loopback.

use serde_json::{Value, json};
use std::sync::Arc;
use switchboard_e2e::http::{call, get, post};
use switchboard_e2e::stack::{Stack, TOKEN_SECRET};
use switchboard_e2e::webhook::{HANG, WebhookServer};
use switchboard_edge::ids::{ConversationId, UserId};
use switchboard_edge::token::TokenSigner;

struct Conversation {
    id: String,
    token: String,
}

async fn open(stack: &Stack, visitor: Option<&str>) -> (u16, Conversation, Value) {
    let body = match visitor {
        Some(v) => json!({ "channel": "web", "visitor_id": v }),
        None => json!({ "channel": "web" }),
    };
    let (status, json) =
        post(&stack.url("/v1/conversations"), &body.to_string(), None).await.expect("POST /v1/conversations");
    let c = Conversation {
        id: json["conversation_id"].as_str().expect("id").into(),
        token: json["token"].as_str().expect("token").into(),
    };
    (status, c, json)
}

async fn say(stack: &Stack, c: &Conversation, text: &str) -> Vec<String> {
    stack.say(&c.id, &c.token, text).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_api_contract_and_errors() {
    let stack = Stack::start(None).await;
    let (status, c, created) = open(&stack, Some("e2e-visitor-1")).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["user_id"], "u-e2e-visitor-1");
    assert_eq!(created["messages"][0]["role"], "bot");

    assert_eq!(say(&stack, &c, "Where is my order?").await, ["Can you provide your order number?"]);
    assert_eq!(say(&stack, &c, "123456").await, ["Your order 123456 is out for delivery and expected by 6 PM today."]);
    assert_eq!(
        say(&stack, &c, "Where is order 222222?").await,
        ["Your order 222222 is being packed and ships tomorrow."]
    );
    assert!(say(&stack, &c, "zxcv qwerty").await[0].starts_with("Sorry, I didn't get that."));

    let history_url = stack.url(&format!("/v1/conversations/{}/messages", c.id));
    let (status, history) = get(&history_url, Some(&c.token)).await.expect("GET history");
    assert_eq!(status, 200);
    let messages = history["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 9);
    assert_eq!(messages[1]["role"], "user");
    assert_eq!(messages[1]["text"], "Where is my order?");
    let ids: Vec<&str> = messages.iter().map(|m| m["id"].as_str().expect("id")).collect();
    assert_eq!(ids, ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"]);

    // The same visitor gets the same conversation back, with its history.
    let (status, again, resumed) = open(&stack, Some("e2e-visitor-1")).await;
    assert_eq!((status, again.id.as_str()), (200, c.id.as_str()));
    assert_eq!(resumed["messages"].as_array().expect("messages").len(), 9);

    // Errors: JSON bodies with stable codes.
    let forged = TokenSigner::new(TOKEN_SECRET)
        .sign(&ConversationId::parse("c-does-not-exist").expect("id"), &UserId::parse("u-nobody-at-all").expect("id"));
    let wrong_key = TokenSigner::new("not-the-secret").sign(
        &ConversationId::parse(&c.id).expect("id"),
        &UserId::parse(created["user_id"].as_str().expect("user")).expect("id"),
    );
    // (method, url, body, token, expected status, expected code)
    type Case<'a> = (&'a str, String, Option<&'a str>, Option<String>, u16, &'a str);
    let cases: Vec<Case> = vec![
        ("POST", stack.url("/v1/conversations"), Some("{not json"), None, 400, "bad_json"),
        ("POST", stack.url("/v1/conversations"), Some(r#"{"channel":"pigeon"}"#), None, 400, "bad_request"),
        ("POST", history_url.clone(), Some("[1,2]"), Some(c.token.clone()), 400, "bad_json"),
        ("POST", history_url.clone(), Some(r#"{"text":"hi"}"#), None, 401, "unauthorized"),
        ("POST", history_url.clone(), Some(r#"{"text":"hi"}"#), Some("garbage".into()), 401, "unauthorized"),
        ("GET", history_url.clone(), None, Some(wrong_key), 401, "unauthorized"),
        ("GET", stack.url("/v1/conversations/c-does-not-exist/messages"), None, Some(forged), 404, "not_found"),
        ("GET", stack.url("/v1/no-such-thing"), None, None, 404, "not_found"),
    ];
    for (method, url, body, token, want_status, want_code) in cases {
        let (status, json) = call(method, &url, body.map(str::to_owned), token.as_deref()).await.expect("request");
        assert_eq!((status, json["error"]["code"].as_str()), (want_status, Some(want_code)), "{method} {url}: {json}");
    }

    // CORS preflight for sites that embed the widget from another origin.
    let (status, _) = call("OPTIONS", &history_url, None, None).await.expect("preflight");
    assert_eq!(status, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fulfillment_goes_to_a_real_webhook_and_failures_are_graceful() {
    // A shop backend like the seed's Express server: reads sessionInfo.parameters['order-number'].
    let backend = WebhookServer::start(Arc::new(|body: &Value| {
        match body["sessionInfo"]["parameters"]["order-number"].as_i64() {
            Some(500500) => (500, r#"{"error":"database down"}"#.to_owned()),
            Some(400400) => (200, "this is not json".to_owned()),
            Some(408408) => (HANG, json!({ "fulfillment_response": { "messages": [ { "text": { "text": ["too late"] } } ] } }).to_string()),
            Some(n) => (
                200,
                json!({ "fulfillment_response": { "messages": [ { "text": { "text": [format!("Order {n} was handed to the courier at 9:12.")] } } ] } })
                    .to_string(),
            ),
            None => (400, "{}".to_owned()),
        }
    }))
    .await;
    let stack = Stack::start(Some(&backend.url)).await;
    let (_, c, _) = open(&stack, None).await;

    assert_eq!(say(&stack, &c, "track order 98765").await, ["Order 98765 was handed to the courier at 9:12."]);
    let request = backend.received.lock().expect("log").last().cloned().expect("one request");
    assert_eq!(request["sessionInfo"]["parameters"]["order-number"], 98765);
    assert_eq!(request["sessionInfo"]["session"], c.id.as_str());
    assert_eq!(request["fulfillmentInfo"]["tag"], "order-status");
    assert_eq!(request["intentInfo"]["displayName"], "CheckOrderStatus");

    let apology = "Sorry, I can't reach our order system right now. Please try again in a few minutes — your conversation is saved.";
    assert_eq!(say(&stack, &c, "Where is order 500500?").await, [apology]);
    assert_eq!(say(&stack, &c, "Where is order 400400?").await, [apology]);
    // The demo agent's webhook times out after 5 s; the backend answers after 8.
    assert_eq!(say(&stack, &c, "Where is order 408408?").await, [apology]);
    // Nothing was lost: the conversation goes on and the history has every turn.
    assert_eq!(say(&stack, &c, "Where is my order?").await, ["Can you provide your order number?"]);
    assert_eq!(say(&stack, &c, "4242").await, ["Order 4242 was handed to the courier at 9:12."]);
    let (_, history) =
        get(&stack.url(&format!("/v1/conversations/{}/messages", c.id)), Some(&c.token)).await.expect("history");
    assert_eq!(history["messages"].as_array().expect("messages").len(), 1 + 2 * 6);
    assert!(stack.log().contains(r#""event":"webhook_failed""#), "failures are logged:\n{}", stack.log());
}
