//! A human takes over in a real browser: the customer asks for a person in the widget, an
//! agent (through the agent API) claims the conversation and replies; the widget shows that
//! an agent joined and their message without a reload, the bot stays silent meanwhile, and
//! once the agent resolves the conversation the widget asks "Was this helpful?" and the bot
//! answers again.

use serde_json::{Value, json};
use switchboard_e2e::browser::Browser;
use switchboard_e2e::http::{get, post};
use switchboard_e2e::stack::Stack;

const AGENT_TOKEN: &str = "e2e-agent-token-0001";
const HANDOFF: &str = "I'm connecting you with a member of our team. They'll reply here as soon as they can.";

async fn agent(stack: &Stack, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = stack.url(path);
    let result = match body {
        Some(body) => post(&url, &body.to_string(), Some(AGENT_TOKEN)).await,
        None => get(&url, Some(AGENT_TOKEN)).await,
    };
    result.expect("the agent API answers")
}

/// The texts shown in the widget's log, notices included, in order.
async fn log(browser: &Browser) -> Vec<String> {
    let value = browser
        .widget_eval(
            "return [...root.querySelectorAll('.sb-messages > li')].map(li =>
                 li.classList.contains('sb-notice') ? 'notice: ' + li.firstChild.textContent
                 : (li.querySelector('.sb-author')?.textContent ?? li.className.replace('sb-message sb-', ''))
                   + ': ' + (li.querySelector('.sb-text')?.textContent ?? ''));",
        )
        .await;
    serde_json::from_value(value).unwrap_or_default()
}

async fn wait_log(browser: &Browser, what: &str, line: &str) -> Vec<String> {
    switchboard_e2e::wait_for(what, std::time::Duration::from_secs(20), || async {
        Some(log(browser).await).filter(|l| l.iter().any(|t| t == line))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_takes_over_and_hands_back_to_the_bot() {
    let tokens = format!("Alice:{AGENT_TOKEN}");
    let stack = Stack::start_with(None, &[("AGENT_TOKENS", &tokens)]).await;
    let browser = Browser::start().await;
    browser.client.goto(&stack.url("/")).await.expect("the demo page loads");
    browser.open_widget().await;
    browser.wait_for_messages(1).await;
    browser.send("I want to speak to a person").await;
    browser.wait_for_bot(HANDOFF).await;

    let (status, queue) = agent(&stack, "/v1/agent/queue", None).await;
    assert_eq!(status, 200, "{queue}");
    let entry = &queue["conversations"][0];
    assert_eq!((&entry["channel"], &entry["status"]), (&json!("web"), &json!("waiting")), "{queue}");
    let id = entry["conversation_id"].as_str().unwrap().to_owned();
    let path = |rest: &str| format!("/v1/agent/conversations/{id}{rest}");

    // While the conversation waits, the bot says nothing.
    browser.send("Hello? Is anyone there?").await;
    let (_, view) =
        switchboard_e2e::wait_for("the waiting message on the desk", std::time::Duration::from_secs(10), || async {
            let view = agent(&stack, &path(""), None).await;
            Some(view).filter(|(_, v)| v["last_message"] == "Hello? Is anyone there?")
        })
        .await;
    assert_eq!(view["messages"].as_array().unwrap().last().unwrap()["role"], "user");

    assert_eq!(agent(&stack, &path("/claim"), Some(json!({}))).await.0, 200);
    let (status, sent) =
        agent(&stack, &path("/messages"), Some(json!({"text": "Hi, I'm Alice. How can I help?"}))).await;
    assert_eq!(status, 200, "{sent}");
    let shown = wait_log(&browser, "the agent's message in the widget", "Alice: Hi, I'm Alice. How can I help?").await;
    let joined = "notice: A member of our team joined the conversation.";
    let at = |line: &str| shown.iter().position(|l| l == line);
    assert!(at(joined).is_some() && at(joined) < at("Alice: Hi, I'm Alice. How can I help?"), "{shown:?}");
    assert_eq!(shown.iter().filter(|l| l.starts_with("bot: ")).count(), 2, "the bot stayed silent: {shown:?}");

    // The customer answers; the agent sees it and resolves.
    browser.send("My lamp arrived broken.").await;
    switchboard_e2e::wait_for("the customer's reply at the console", std::time::Duration::from_secs(10), || async {
        Some(agent(&stack, &path(""), None).await).filter(|(_, v)| v["last_message"] == "My lamp arrived broken.")
    })
    .await;
    assert_eq!(agent(&stack, &path("/resolve"), Some(json!({}))).await.0, 204);
    wait_log(&browser, "the end-of-conversation question", "notice: Was this helpful?").await;
    browser.widget_eval("root.querySelector('.sb-notice .sb-vote:not(.sb-down)').click(); return true;").await;
    browser
        .wait_widget("the thank-you", "return root.querySelector('.sb-notice .sb-thanks')?.textContent || null;")
        .await;

    // The bot has the conversation again.
    browser.send("Where is my order?").await;
    browser.wait_for_bot("Can you provide your order number?").await;
    // The conversation's vote reaches analytics (sent after the answer, so polled).
    switchboard_e2e::wait_for("the vote in the analytics", std::time::Duration::from_secs(10), || async {
        let (_, report) = get(&stack.url("/v1/analytics"), Some(switchboard_e2e::stack::ADMIN_TOKEN)).await.ok()?;
        Some(()).filter(|_| report["total"]["feedback"] == 1 && report["total"]["helpful_ratio"] == 1.0)
    })
    .await;
    let _ = browser.client.clone().close().await;
}
