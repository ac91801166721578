//! The seed's Express fulfillment webhook (tests/fixtures/express-webhook/index.js), unchanged,
//! as a real Node.js server behind the real worker: the seed conversation end to end, and a
//! webhook that goes away costs the user an apology, not the conversation.

use switchboard_e2e::http::{get, post};
use switchboard_e2e::node::NodeServer;
use switchboard_e2e::stack::Stack;

const EXPRESS_WEBHOOK: &str = "tests/fixtures/express-webhook/index.js";

async fn say(stack: &Stack, conversation: &str, token: &str, text: &str) -> Vec<String> {
    stack.say(conversation, token, text).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_conversation_reaches_the_express_webhook() {
    let mut express = NodeServer::start(EXPRESS_WEBHOOK, &[]).await;
    let stack = Stack::start(Some(&express.url("/webhook"))).await;
    let (status, created) =
        post(&stack.url("/v1/conversations"), r#"{"channel":"web"}"#, None).await.expect("POST /v1/conversations");
    assert_eq!(status, 201, "{created}");
    let (id, token) = (created["conversation_id"].as_str().expect("id"), created["token"].as_str().expect("token"));

    assert_eq!(say(&stack, id, token, "Where is my order?").await, ["Can you provide your order number?"]);
    assert_eq!(
        say(&stack, id, token, "123456").await,
        ["Your order 123456 is out for delivery with Express Parcel, arriving by 18:00."],
        "express log:\n{}\nworker log:\n{}",
        express.log(),
        stack.log()
    );
    assert!(express.log().contains(&format!("webhook tag=order-status session={id}")), "{}", express.log());
    assert_eq!(
        say(&stack, id, token, "Where is order 999999?").await,
        ["I can't find order 999999. Please check the number in your confirmation email."]
    );

    // The webhook goes away: the user hears the agent's apology and the conversation goes on.
    express.stop();
    let apology = say(&stack, id, token, "Where is order 222222?").await;
    assert_eq!(apology.len(), 1);
    assert!(apology[0].starts_with("Sorry, I can't reach our order system right now."), "{apology:?}");
    assert_eq!(say(&stack, id, token, "Where is my order?").await, ["Can you provide your order number?"]);
    let (status, history) =
        get(&stack.url(&format!("/v1/conversations/{id}/messages")), Some(token)).await.expect("history");
    assert_eq!(status, 200);
    let texts: Vec<&str> =
        history["messages"].as_array().expect("messages").iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(texts.len(), 1 + 2 * 5, "{texts:?}");
    assert_eq!(texts[7], "Where is order 222222?");
    assert!(stack.log().contains(r#""event":"webhook_failed""#), "the failure is logged:\n{}", stack.log());
}
