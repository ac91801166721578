//! The seed scenario in a real browser: demo page → widget → worker in workerd → KV.

use switchboard_e2e::browser::Browser;
use switchboard_e2e::stack::Stack;

const PROMPT: &str = "Can you provide your order number?";
const DELIVERY: &str = "Your order 123456 is out for delivery and expected by 6 PM today.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_status_in_the_widget_survives_a_reload() {
    let stack = Stack::start(None).await;
    let browser = Browser::start().await;
    browser.client.goto(&stack.url("/")).await.expect("the demo page loads");
    browser.open_widget().await;
    let welcome = browser.wait_for_messages(1).await;
    assert!(welcome[0].1.starts_with("Hi! I'm the Switchboard Shop assistant."), "{welcome:?}");

    browser.send("Where is my order?").await;
    browser.wait_for_bot(PROMPT).await;
    browser.send("123456").await;
    browser.wait_for_bot(DELIVERY).await;
    let before = browser.messages().await;

    browser.client.refresh().await.expect("reload");
    browser.open_widget().await;
    browser.wait_for_bot(DELIVERY).await;
    let after = browser.messages().await;
    assert_eq!(after, before, "the conversation comes back from KV after a reload");
    assert_eq!(
        after.iter().map(|(role, _)| role.as_str()).collect::<Vec<_>>(),
        ["bot", "user", "bot", "user", "bot"],
        "{after:?}"
    );

    // Another page of the same site continues the same conversation.
    browser.client.goto(&stack.url("/orders.html")).await.expect("second page");
    browser.open_widget().await;
    browser.wait_for_bot(DELIVERY).await;
    browser.send("Where is order 111111?").await;
    browser.wait_for_bot("Your order 111111 was delivered yesterday at 2:14 PM.").await;
    let _ = browser.client.clone().close().await;
}
