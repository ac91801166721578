//! Deploying an agent through the real worker: refused while malformed or without the admin
//! token, then, once uploaded, the agent that answers, at once, new conversations and ones in
//! progress alike.

use serde_json::{Value, json};
use switchboard_e2e::http::{call, get, post};
use switchboard_e2e::stack::{ADMIN_TOKEN, Stack};

const BIKES: &str = "# The bike shop's agent
name: Bike shop
welcome: [\"Hi! I'm the bike shop's assistant.\"]
fallback: [\"Sorry, I can only tell you our opening hours.\"]
webhook_error: [\"Sorry, something went wrong.\"]
intents:
  - name: OpeningHours
    training_phrases: [when are you open, opening hours, are you open on sunday]
    responses: [\"We're open 9 to 6, Monday to Saturday.\"]
  - name: Goodbye
    training_phrases: [bye, goodbye, see you]
    responses: [Bye!]
";

/// A new visitor's conversation: its id, token and welcome.
async fn open(stack: &Stack) -> (String, String, Vec<String>) {
    let body = json!({ "channel": "web" }).to_string();
    let (status, created) = post(&stack.url("/v1/conversations"), &body, None).await.expect("POST /v1/conversations");
    assert_eq!(status, 201, "{created}");
    let field = |k: &str| created[k].as_str().unwrap_or_else(|| panic!("{k} in {created}")).to_owned();
    let welcome = created["messages"].as_array().expect("messages").iter();
    let welcome = welcome.map(|m| m["text"].as_str().expect("text").to_owned()).collect();
    (field("conversation_id"), field("token"), welcome)
}

async fn upload(stack: &Stack, body: &str, token: Option<&str>) -> (u16, Value) {
    call("PUT", &stack.url("/v1/admin/agent"), Some(body.to_owned()), token).await.expect("PUT /v1/admin/agent")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_agent_answers_at_once() {
    let stack = Stack::start(None).await;
    let agent_url = stack.url("/v1/admin/agent");

    // The built-in demo agent answers until an upload.
    let (status, json) = get(&agent_url, Some(ADMIN_TOKEN)).await.expect("GET /v1/admin/agent");
    assert_eq!((status, json["error"]["code"].as_str()), (404, Some("not_found")), "{json}");
    let (id, token, _) = open(&stack).await;
    assert_eq!(stack.say(&id, &token, "Where is my order?").await, ["Can you provide your order number?"]);

    // Refused: without the admin token, and malformed (with line and field); neither changes
    // the agent.
    let (status, json) = upload(&stack, BIKES, None).await;
    assert_eq!((status, json["error"]["code"].as_str()), (401, Some("unauthorized")), "{json}");
    let (status, json) = upload(&stack, &BIKES.replacen("responses:", "responsez:", 1), Some(ADMIN_TOKEN)).await;
    assert_eq!((status, json["error"]["code"].as_str()), (400, Some("invalid_agent")), "{json}");
    let message = json["error"]["message"].as_str().expect("message");
    assert!(message.contains("line 9") && message.contains("responsez"), "{message}");
    assert_eq!(
        stack.say(&id, &token, "123456").await,
        ["Your order 123456 is out for delivery and expected by 6 PM today."]
    );

    let (status, summary) = upload(&stack, BIKES, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200, "{summary}\n{}", stack.log());
    assert_eq!(
        (&summary["name"], &summary["format"], &summary["intents"], &summary["training_phrases"]),
        (&json!("Bike shop"), &json!("yaml"), &json!(2), &json!(6)),
        "{summary}"
    );

    // At once, in the isolate that took the upload: a new conversation, and the one in progress.
    let (new_id, new_token, welcome) = open(&stack).await;
    assert_eq!(welcome, ["Hi! I'm the bike shop's assistant."]);
    assert_eq!(stack.say(&new_id, &new_token, "when are you open").await, ["We're open 9 to 6, Monday to Saturday."]);
    assert_eq!(stack.say(&id, &token, "are you open on sunday").await, ["We're open 9 to 6, Monday to Saturday."]);
    assert_eq!(stack.say(&id, &token, "Where is my order?").await, ["Sorry, I can only tell you our opening hours."]);

    // Kept as uploaded, in KV, and read back.
    let (status, file) = get(&agent_url, Some(ADMIN_TOKEN)).await.expect("GET /v1/admin/agent");
    assert_eq!((status, file), (200, json!({ "format": "yaml", "text": BIKES })));
    // (`wrangler kv key get` ends what it prints with a line break of its own.)
    let stored = stack.kv_dump().remove("agent:current").expect("agent:current in KV");
    assert_eq!(stored.strip_suffix('\n'), Some(BIKES));
    assert!(stack.log().contains(r#""event":"agent_deployed""#), "the upload is logged:\n{}", stack.log());
}
