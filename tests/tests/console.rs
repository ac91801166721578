//! The agent console at `/console/` in a real browser, with the customer in another one: a
//! customer escalates (in the widget, or on WhatsApp through a fake Graph API on loopback),
//! an agent signs in to the console in a second Chromium session, sees the conversation in
//! the queue, claims it, and they exchange messages both ways without a reload; the agent
//! resolves and the bot answers the customer again.

use fantoccini::Locator;
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_e2e::browser::Browser;
use switchboard_e2e::fake_api::FakeApi;
use switchboard_e2e::stack::Stack;
use switchboard_e2e::wait_for;

const AGENT_TOKEN: &str = "e2e-console-agent-token";
const HANDOFF: &str = "I'm connecting you with a member of our team. They'll reply here as soon as they can.";
const PROMPT: &str = "Can you provide your order number?";
const WAIT: Duration = Duration::from_secs(20);

/// Signs in to the console with the agent token, typed into the form as an agent would.
async fn sign_in(agent: &Browser, stack: &Stack) {
    agent.client.goto(&stack.url("/console/")).await.expect("the console loads");
    let field =
        wait_for("the sign-in form", WAIT, || async { agent.client.find(Locator::Id("token")).await.ok() }).await;
    field.send_keys(&format!("{AGENT_TOKEN}\u{E007}")).await.expect("typing the token");
    wait_for("the queue", WAIT, || async { agent.client.find(Locator::Css("ul.queue")).await.ok() }).await;
}

/// The queue as shown: one object per conversation.
async fn queue(agent: &Browser) -> Vec<Value> {
    let value = agent
        .eval(
            "return [...document.querySelectorAll('.queue-item')].map(li => ({
                 id: li.dataset.conversation, status: li.dataset.status,
                 channel: li.querySelector('.channel').textContent, who: li.querySelector('.who').textContent,
                 reason: li.querySelector('.reason').textContent, intent: li.querySelector('.intent').textContent,
                 last: li.querySelector('.last').textContent, waited: li.querySelector('.waited').textContent }));",
        )
        .await;
    serde_json::from_value(value).unwrap_or_default()
}

/// Waits for a queue entry on `channel` whose last message is `last`.
async fn wait_queued(agent: &Browser, channel: &str, last: &str) -> Value {
    wait_for(&format!("a {channel} conversation in the queue saying {last:?}"), WAIT, || async {
        queue(agent).await.into_iter().find(|e| e["channel"] == channel && e["last"] == last)
    })
    .await
}

/// The open conversation's messages as `author: text`.
async fn history(agent: &Browser) -> Vec<String> {
    let value = agent
        .eval(
            "return [...document.querySelectorAll('.history .message')].map(li =>
                 li.querySelector('.author').textContent + ': ' + li.querySelector('.text').textContent);",
        )
        .await;
    serde_json::from_value(value).unwrap_or_default()
}

async fn wait_history(agent: &Browser, line: &str) -> Vec<String> {
    wait_for(&format!("{line:?} in the console"), WAIT, || async {
        Some(history(agent).await).filter(|h| h.iter().any(|l| l == line))
    })
    .await
}

async fn click(agent: &Browser, css: &str) {
    agent
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css} is there"))
        .click()
        .await
        .expect("click");
}

/// Opens the conversation, claims it, and waits until it is the agent's.
async fn open_and_claim(agent: &Browser, id: &str) {
    click(agent, &format!(".queue-item[data-conversation='{id}'] button")).await;
    wait_for("the conversation to open", WAIT, || async {
        agent.client.find(Locator::Css(&format!("article.thread[data-conversation='{id}'] .summary"))).await.ok()
    })
    .await;
    click(agent, "button.claim").await;
    wait_for("the claim", WAIT, || async {
        let state = agent.eval("return document.querySelector('.summary .status')?.textContent ?? null;").await;
        Some(()).filter(|_| state == "With Alice")
    })
    .await;
}

/// Types a reply and presses Enter.
async fn reply(agent: &Browser, text: &str) {
    let field = agent.client.find(Locator::Id("reply-text")).await.expect("the reply box");
    field.send_keys(&format!("{text}\u{E007}")).await.expect("typing the reply");
}

/// What the console's live region last announced.
async fn announced(agent: &Browser) -> String {
    agent
        .eval("return document.querySelector('[aria-live=\"polite\"].visually-hidden').textContent;")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_customer_and_an_agent_talk_through_the_console() {
    let tokens = format!("Alice:{AGENT_TOKEN}");
    let stack = Stack::start_with(None, &[("AGENT_TOKENS", &tokens)]).await;
    let customer = Browser::start().await;
    let agent = Browser::start().await;

    customer.client.goto(&stack.url("/")).await.expect("the demo page loads");
    customer.open_widget().await;
    customer.wait_for_messages(1).await;
    customer.send("Where is my order?").await;
    customer.wait_for_bot(PROMPT).await;
    customer.send("I want to speak to a person").await;
    customer.wait_for_bot(HANDOFF).await;

    // A wrong token is refused and the form says so.
    agent.client.goto(&stack.url("/console/")).await.expect("the console loads");
    let field =
        wait_for("the sign-in form", WAIT, || async { agent.client.find(Locator::Id("token")).await.ok() }).await;
    field.send_keys("not-the-agent-token\u{E007}").await.expect("typing");
    wait_for("the refusal", WAIT, || async {
        let text = agent.eval("return document.querySelector('#signin-error')?.textContent ?? '';").await;
        Some(()).filter(|_| text == "The agent token was refused.")
    })
    .await;

    sign_in(&agent, &stack).await;
    let entry = wait_queued(&agent, "web", "I want to speak to a person").await;
    assert_eq!(
        (&entry["status"], &entry["who"], &entry["reason"], &entry["intent"]),
        (
            &json!("waiting"),
            &json!("Anonymous visitor"),
            &json!("Reason: requested"),
            &json!("Last intent: TalkToHuman")
        ),
        "{entry}"
    );
    assert!(entry["waited"].as_str().unwrap().ends_with(" s"), "{entry}");
    let id = entry["id"].as_str().unwrap().to_owned();

    // The customer writes while waiting: it reaches the queue without a reload.
    customer.send("Hello? My lamp arrived broken.").await;
    wait_queued(&agent, "web", "Hello? My lamp arrived broken.").await;

    open_and_claim(&agent, &id).await;
    let shown = history(&agent).await;
    assert_eq!(
        shown,
        [
            format!("Bot: {}", customer.messages().await[0].1),
            "Customer: Where is my order?".into(),
            format!("Bot: {PROMPT}"),
            "Customer: I want to speak to a person".into(),
            format!("Bot: {HANDOFF}"),
            "Customer: Hello? My lamp arrived broken.".into(),
        ],
        "the whole history, in order"
    );
    wait_for("the queue to show the claim", WAIT, || async {
        queue(&agent).await.iter().any(|e| e["id"] == id.as_str() && e["status"] == "human").then_some(())
    })
    .await;

    // Agent → customer: the widget shows it without a reload.
    reply(&agent, "Hi, I'm Alice. Sorry about the lamp!").await;
    wait_history(&agent, "Alice: Hi, I'm Alice. Sorry about the lamp!").await;
    wait_for("the agent's message in the widget", WAIT, || async {
        customer.messages().await.iter().any(|(_, t)| t == "Hi, I'm Alice. Sorry about the lamp!").then_some(())
    })
    .await;

    // Customer → agent: the console shows it without a reload, and announces it.
    customer.send("Can I get a new one?").await;
    wait_history(&agent, "Customer: Can I get a new one?").await;
    assert_eq!(announced(&agent).await, "New message from Customer: Can I get a new one?");
    let bot_lines = history(&agent).await.iter().filter(|l| l.starts_with("Bot: ")).count();
    assert_eq!(bot_lines, 3, "the bot stayed silent while the agent had the conversation");

    // Text is text: markup an agent or customer types is shown, never run.
    reply(&agent, "<img src=x onerror=\"window.__pwned=1\"> <b>not bold</b>").await;
    wait_history(&agent, "Alice: <img src=x onerror=\"window.__pwned=1\"> <b>not bold</b>").await;
    assert_eq!(agent.eval("return document.querySelectorAll('.history img, .history b').length;").await, 0);

    // Resolved: off the queue, and the bot answers the customer again.
    click(&agent, "button.resolve").await;
    wait_for("the conversation to close and leave the queue", WAIT, || async {
        let closed = agent.eval("return document.querySelector('article.thread') === null;").await == true;
        (closed && queue(&agent).await.is_empty()).then_some(())
    })
    .await;
    customer.send("Where is my order?").await;
    wait_for("the bot's answer after the handoff", WAIT, || async {
        let prompts = customer.messages().await.iter().filter(|(_, t)| t == PROMPT).count();
        (prompts == 2).then_some(())
    })
    .await;
    let _ = customer.client.clone().close().await;
    let _ = agent.client.clone().close().await;
}

const APP_SECRET: &str = "e2e-meta-app-secret";
const CUSTOMER_PHONE: &str = "15551230001";
/// Where the worker sends WhatsApp messages (Graph API version and the business number's id).
const GRAPH_SEND: &str = "/v21.0/PNID/messages";

/// A WhatsApp Cloud API delivery of a text message, signed as Meta signs it.
async fn whatsapp(stack: &Stack, id: &str, text: &str) {
    let status = switchboard_e2e::fake_api::whatsapp_text(
        &stack.url("/channels/whatsapp"),
        APP_SECRET,
        CUSTOMER_PHONE,
        "Ann",
        id,
        text,
    )
    .await;
    assert_eq!(status, 200, "{}", stack.log());
}

/// The texts the fake Graph API was asked to send to the customer, each checked to be a
/// WhatsApp send with the worker's token.
fn sent(graph: &FakeApi) -> Vec<String> {
    graph
        .received()
        .iter()
        .filter(|r| r.json()["to"] == format!("+{CUSTOMER_PHONE}"))
        .map(|r| {
            assert_eq!(
                (r.target.as_str(), r.authorization.as_deref()),
                (GRAPH_SEND, Some("Bearer e2e-whatsapp-token"))
            );
            r.json()["text"]["body"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

async fn wait_sent(graph: &FakeApi, text: &str) {
    wait_for(&format!("{text:?} sent to WhatsApp"), WAIT, || async {
        sent(graph).iter().any(|t| t.contains(text)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whatsapp_customer_and_an_agent_talk_through_the_console() {
    // The fake Graph API: records what the worker sends.
    let graph = FakeApi::start().await;
    let graph_url = graph.base.clone();
    let tokens = format!("Alice:{AGENT_TOKEN}");
    let stack = Stack::start_with(
        None,
        &[
            ("AGENT_TOKENS", &tokens),
            ("META_APP_SECRET", APP_SECRET),
            ("WHATSAPP_TOKEN", "e2e-whatsapp-token"),
            ("GRAPH_API_URL", &graph_url),
        ],
    )
    .await;
    whatsapp(&stack, "wamid.1", "I want to speak to a person").await;
    wait_sent(&graph, HANDOFF).await;

    let agent = Browser::start().await;
    sign_in(&agent, &stack).await;
    let entry = wait_queued(&agent, "whatsapp", "I want to speak to a person").await;
    assert_eq!((&entry["status"], &entry["reason"]), (&json!("waiting"), &json!("Reason: requested")), "{entry}");
    open_and_claim(&agent, entry["id"].as_str().unwrap()).await;

    // Agent → customer: pushed to WhatsApp through the Graph API.
    reply(&agent, "Hi Ann, Alice here. How can I help?").await;
    wait_history(&agent, "Alice: Hi Ann, Alice here. How can I help?").await;
    wait_sent(&graph, "Hi Ann, Alice here. How can I help?").await;

    // Customer → agent: the console shows it without a reload; the bot says nothing.
    let before = sent(&graph).len();
    whatsapp(&stack, "wamid.2", "My parcel 123456 never came").await;
    wait_history(&agent, "Customer: My parcel 123456 never came").await;
    assert_eq!(announced(&agent).await, "New message from Customer: My parcel 123456 never came");
    assert_eq!(sent(&graph).len(), before, "nothing is sent to the customer while the agent has the conversation");

    // Resolved: the bot answers the next WhatsApp message again.
    click(&agent, "button.resolve").await;
    wait_for("the queue to be empty", WAIT, || async { queue(&agent).await.is_empty().then_some(()) }).await;
    whatsapp(&stack, "wamid.3", "Where is my order?").await;
    wait_sent(&graph, PROMPT).await;
    let _ = agent.client.clone().close().await;
}

/// The console for the README and docs/console.md, written to `docs/screenshots/console.png`
/// (nothing is compared): `cargo test -p switchboard-e2e --test console -- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes docs/screenshots/; run with --ignored"]
async fn screenshot_of_the_console() {
    let tokens = format!("Alice:{AGENT_TOKEN}");
    let stack = Stack::start_with(None, &[("AGENT_TOKENS", &tokens)]).await;
    let mut customers = Vec::new();
    let scripts: [&[&str]; 2] =
        [&["Where is my order?", "654321", "I want to speak to a person"], &["Can I talk to an agent"]];
    for lines in scripts {
        let body = json!({"channel": "web", "name": "Ann Lee"}).to_string();
        let (_, created) =
            switchboard_e2e::http::post(&stack.url("/v1/conversations"), &body, None).await.expect("a conversation");
        let (id, token) = (created["conversation_id"].as_str().unwrap(), created["token"].as_str().unwrap());
        for line in lines {
            stack.say(id, token, line).await;
        }
        customers.push((id.to_owned(), token.to_owned()));
    }
    let agent = Browser::start().await;
    sign_in(&agent, &stack).await;
    let entry = wait_queued(&agent, "web", "I want to speak to a person").await;
    open_and_claim(&agent, entry["id"].as_str().unwrap()).await;
    reply(&agent, "Hi, I'm Alice. I'll check order 654321 for you.").await;
    let (id, token) = &customers[0];
    stack.say(id, token, "Thank you! It was due yesterday.").await;
    wait_history(&agent, "Customer: Thank you! It was due yesterday.").await;
    agent.eval("document.activeElement?.blur(); return true;").await;
    let png = agent.client.screenshot().await.expect("a screenshot");
    std::fs::write(switchboard_e2e::root().join("docs/screenshots/console.png"), png).expect("write the screenshot");
    let _ = agent.client.clone().close().await;
}
