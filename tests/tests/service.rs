//! The edge service's guarantees against the real worker in workerd: verified identity,
//! isolation between users, concurrent messages, what reaches KV, analytics.

use serde_json::{Value, json};
use switchboard_e2e::http::{call, get, post};
use switchboard_e2e::stack::{ADMIN_TOKEN, Stack, now_s, site_hash, site_jwt};

/// Eight ways to start a message, so that eight concurrent ones can be told apart.
const GREETINGS: [&str; 8] = ["Hi", "Hello", "Hey", "Please", "So", "Quick question", "Excuse me", "Good morning"];

struct Conversation {
    id: String,
    token: String,
    user: String,
}

impl Conversation {
    fn from(json: &Value) -> Self {
        let field = |k: &str| json[k].as_str().unwrap_or_else(|| panic!("{k} in {json}")).to_owned();
        Conversation { id: field("conversation_id"), token: field("token"), user: field("user_id") }
    }

    fn url(&self, stack: &Stack, rest: &str) -> String {
        stack.url(&format!("/v1/conversations/{}/{rest}", self.id))
    }
}

async fn open(stack: &Stack, body: Value) -> (u16, Value) {
    post(&stack.url("/v1/conversations"), &body.to_string(), None).await.expect("POST /v1/conversations")
}

async fn say(stack: &Stack, c: &Conversation, text: &str) -> Vec<String> {
    stack.say(&c.id, &c.token, text).await
}

async fn history(stack: &Stack, c: &Conversation) -> Vec<Value> {
    let (status, json) = get(&c.url(stack, "messages"), Some(&c.token)).await.expect("history");
    assert_eq!(status, 200, "{json}");
    json["messages"].as_array().expect("messages").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verified_identity_isolation_concurrency_privacy_and_analytics() {
    let stack = Stack::start(None).await;
    let hash = site_hash;

    // A visitor asks, then signs in with a valid user_hash.
    let (_, created) = open(&stack, json!({"channel": "web"})).await;
    let laptop = Conversation::from(&created);
    let anonymous_credential = created["visitor_id"].as_str().expect("visitor_id").to_owned();
    assert_eq!(say(&stack, &laptop, "Where is my order?").await, ["Can you provide your order number?"]);
    let identify = |c: &Conversation, body: Value| {
        let url = c.url(&stack, "identify");
        let token = c.token.clone();
        async move { post(&url, &body.to_string(), Some(&token)).await.expect("identify") }
    };
    let (status, error) = identify(&laptop, json!({"user_id": "ann-42", "user_hash": hash("mallory")})).await;
    assert_eq!((status, error["error"]["code"].as_str()), (401, Some("identity_rejected")), "forged hash");
    let (status, linked) = identify(&laptop, json!({"user_id": "ann-42", "user_hash": hash("ann-42")})).await;
    assert_eq!(status, 200, "{linked}");
    // The conversation goes on as Ann's, with a new token and a new visitor credential; what
    // the browser held before opens nothing of hers any more.
    let anonymous = laptop;
    let laptop = Conversation::from(&linked);
    assert_eq!(laptop.id, anonymous.id, "the conversation in progress is Ann's now");
    let rotated = linked["visitor_id"].as_str().expect("visitor_id");
    assert!(rotated.starts_with("v2-") && rotated != anonymous_credential, "{linked}");
    let (status, stale) = open(&stack, json!({"channel": "web", "visitor_id": anonymous_credential})).await;
    assert_eq!(status, 201, "the old credential is a new visitor: {stale}");
    assert_ne!(stale["conversation_id"].as_str(), Some(laptop.id.as_str()));
    let (status, _) = get(&anonymous.url(&stack, "messages"), Some(&anonymous.token)).await.expect("history");
    assert_eq!(status, 404, "the anonymous token no longer reads Ann's conversation");
    // Resuming a verified person's conversation takes the identity again.
    let (status, resumed) = open(
        &stack,
        json!({"channel": "web", "visitor_id": rotated, "user_id": "ann-42", "user_hash": hash("ann-42")}),
    )
    .await;
    assert_eq!((status, resumed["conversation_id"].as_str()), (200, Some(laptop.id.as_str())), "{resumed}");

    // A new browser with a JWT for the same person: same conversation, same open question.
    let jwt = site_jwt(&json!({"sub": "ann-42", "exp": now_s() + 3600, "phone": "+44 20 7946 0958"}));
    let (status, created) = open(&stack, json!({"channel": "web", "jwt": jwt})).await;
    assert_eq!(status, 200, "{created}");
    let phone = Conversation::from(&created);
    assert_eq!((phone.id.as_str(), phone.user.as_str()), (laptop.id.as_str(), laptop.user.as_str()));
    // A JWT valid for longer than a day is refused.
    let lasting = site_jwt(&json!({"sub": "ann-42", "exp": now_s() + 2 * 24 * 3600}));
    let (status, refused) = open(&stack, json!({"channel": "web", "jwt": lasting})).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (401, Some("identity_rejected")), "{refused}");
    assert_eq!(
        say(&stack, &phone, "123456").await,
        ["Your order 123456 is out for delivery and expected by 6 PM today."]
    );
    let (status, _) = open(&stack, json!({"channel": "web", "user_id": "ann-42", "user_hash": "00ff"})).await;
    assert_eq!(status, 401, "a forged hash at creation is refused");

    // Another user's token reaches nothing of Ann's.
    let (_, other) = open(&stack, json!({"channel": "web"})).await;
    let bob = Conversation::from(&other);
    for (method, rest, body) in
        [("GET", "messages", None), ("POST", "messages", Some(r#"{"text":"hi"}"#)), ("POST", "end", Some(""))]
    {
        let (status, _) =
            call(method, &phone.url(&stack, rest), body.map(str::to_owned), Some(&bob.token)).await.expect("call");
        assert_eq!(status, 401, "{method} {rest} with another user's token");
    }

    // Eight messages at once from one user: every one is answered and kept, in some order.
    // (Each asks about Ann's order, so none counts toward the repeated no-match handoff.)
    let before = history(&stack, &phone).await.len();
    let mut sends = tokio::task::JoinSet::new();
    for greeting in GREETINGS {
        let (url, token) = (phone.url(&stack, "messages"), phone.token.clone());
        let text = format!("{greeting}, where is order 123456?");
        sends.spawn(async move { post(&url, &json!({ "text": text }).to_string(), Some(&token)).await });
    }
    while let Some(result) = sends.join_next().await {
        let (status, json) = result.expect("task").expect("send");
        assert_eq!(status, 200, "{json}");
    }
    let after = history(&stack, &phone).await;
    assert_eq!(after.len(), before + 16, "every message and every reply is in the history");
    for greeting in GREETINGS {
        let text = format!("{greeting}, where is order 123456?");
        assert_eq!(after.iter().filter(|m| m["text"] == text.as_str()).count(), 1, "{text}");
    }

    // A redacted phone number is said back once and never stored; the profile's phone
    // (from the verified JWT) fills the parameter without asking.
    assert_eq!(
        say(&stack, &phone, "can someone call me back").await,
        ["Thanks! A member of our team will call +442079460958 within the hour."]
    );
    assert_eq!(say(&stack, &bob, "please call me").await, ["Sure — which number should we call?"]);
    assert_eq!(
        say(&stack, &bob, "it's 0151 2345678").await,
        ["Thanks! A member of our team will call 01512345678 within the hour."]
    );

    // Analytics: this run's figures.
    let feedback = |c: &Conversation, helpful: bool| {
        let url = c.url(&stack, "feedback");
        let token = c.token.clone();
        async move { post(&url, &json!({"helpful": helpful}).to_string(), Some(&token)).await.expect("feedback").0 }
    };
    assert_eq!(feedback(&phone, true).await, 204);
    assert_eq!(feedback(&bob, false).await, 204);
    assert_eq!(call("POST", &bob.url(&stack, "end"), None, Some(&bob.token)).await.expect("end").0, 204);
    let (status, report) = get(&stack.url("/v1/analytics"), Some(ADMIN_TOKEN)).await.expect("analytics");
    assert_eq!(status, 200, "{report}");
    let total = &report["total"];
    // Ann's, the one the stale credential started, and Bob's.
    assert_eq!(total["conversations"], 3, "{report}");
    assert_eq!(total["turns"], 2 + 8 + 3, "{report}");
    assert_eq!(total["resolved"], 1);
    assert_eq!(total["feedback"], 2);
    assert_eq!(total["helpful_ratio"], 0.5);
    assert_eq!(get(&stack.url("/v1/analytics"), Some("not-the-token")).await.expect("analytics").0, 401);

    // What is in KV: the order number Ann gave, the identities, not the number Bob typed
    // (Ann's phone is there: her verified JWT vouched for it, it is her profile).
    // Parked writes reach KV within a second of the last turn; wait for them.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let dump = stack.kv_dump();
    let all: String = dump.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
    assert!(dump.contains_key("id:web:ann-42"), "{all}");
    assert!(all.contains("\"order-number\":123456"), "{all}");
    assert!(!all.contains("2345678"), "Bob's number reached KV:\n{all}");
    assert!(all.contains("[redacted]"), "{all}");
}
