//! The HTTP API v1 against the real worker in workerd, and fulfillment through a real webhook
//! server on loopback.

use serde_json::{Value, json};
use std::sync::Arc;
use switchboard_e2e::http::{call, get, post};
use switchboard_e2e::stack::{Stack, TOKEN_SECRET, now_s};
use switchboard_e2e::webhook::{HANG, WebhookServer};
use switchboard_edge::ids::{ConversationId, UserId};
use switchboard_edge::keys::Keys;
use switchboard_edge::token::{DEFAULT_LIFETIME_SECONDS, TokenSigner};

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

/// `v2-<32 hex>-<24 hex>`: a visitor credential as the server issues them.
fn is_credential(v: &str) -> bool {
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    v.strip_prefix("v2-").and_then(|rest| rest.split_once('-')).is_some_and(|(r, mac)| hex(r, 32) && hex(mac, 24))
}

async fn say(stack: &Stack, c: &Conversation, text: &str) -> Vec<String> {
    stack.say(&c.id, &c.token, text).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_api_contract_and_errors() {
    let stack = Stack::start(None).await;
    // A first visit sends no visitor id: the server issues one, and the user id it derives
    // contains nothing of it.
    let (status, c, created) = open(&stack, None).await;
    assert_eq!(status, 201, "{created}");
    let credential = created["visitor_id"].as_str().expect("visitor_id").to_owned();
    assert!(is_credential(&credential), "{created}");
    let user = created["user_id"].as_str().expect("user_id");
    assert!(
        user.strip_prefix("u-").is_some_and(|h| h.len() == 24 && h.bytes().all(|b| b.is_ascii_hexdigit())),
        "{created}"
    );
    assert!(!user.contains(&credential[3..35]), "the user id is not the visitor's: {created}");
    assert_eq!(created["messages"][0]["role"], "bot");
    let token_parts: Vec<&str> = c.token.split('.').collect();
    assert_eq!((token_parts.len(), token_parts[0], token_parts[2], token_parts[3]), (6, "v2", c.id.as_str(), user));

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

    // The visitor presenting its credential gets the same conversation back, with its history.
    let (status, again, resumed) = open(&stack, Some(&credential)).await;
    assert_eq!((status, again.id.as_str()), (200, c.id.as_str()));
    assert_eq!(resumed["messages"].as_array().expect("messages").len(), 9);
    assert_eq!((resumed["visitor_id"].as_str(), resumed["user_id"].as_str()), (Some(credential.as_str()), Some(user)));
    // A visitor id the server did not issue (chosen by the client, or this one altered) is a
    // new visitor with a credential of its own.
    let altered =
        format!("{}{}", &credential[..credential.len() - 1], if credential.ends_with('0') { '1' } else { '0' });
    for chosen in ["e2e-visitor-1", user, altered.as_str()] {
        let (status, other, json) = open(&stack, Some(chosen)).await;
        assert_eq!(status, 201, "{chosen}: {json}");
        assert_ne!(other.id, c.id, "{chosen}");
        assert!(is_credential(json["visitor_id"].as_str().expect("visitor_id")) && json["visitor_id"] != credential);
    }

    // Errors: JSON bodies with stable codes.
    let signer = |secret: &str| TokenSigner::new(Keys::new(secret.as_bytes(), None).tokens, DEFAULT_LIFETIME_SECONDS);
    let now_ms = now_s() * 1000;
    let (this, this_user) = (ConversationId::parse(&c.id).expect("id"), UserId::parse(user).expect("id"));
    let forged = signer(TOKEN_SECRET).sign(
        &ConversationId::parse("c-does-not-exist").expect("id"),
        &UserId::parse("u-nobody-at-all").expect("id"),
        now_ms,
    );
    let wrong_key = signer("not-the-secret-but-thirty-two-bytes-long").sign(&this, &this_user, now_ms);
    // Signed with the right key a day and a minute ago: expired.
    let expired = signer(TOKEN_SECRET).sign(&this, &this_user, now_ms - (DEFAULT_LIFETIME_SECONDS + 60) * 1000);
    let (status, json) = get(&history_url, Some(&expired)).await.expect("GET with an expired token");
    assert_eq!(status, 401, "{json}");
    assert!(json["error"]["message"].as_str().is_some_and(|m| m.contains("expired")), "{json}");
    // The same token signed now is accepted: only its age was wrong.
    let fresh = signer(TOKEN_SECRET).sign(&this, &this_user, now_ms);
    assert_eq!(get(&history_url, Some(&fresh)).await.expect("GET with a fresh token").0, 200);
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
