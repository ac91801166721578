//! The widget and a refused conversation token, against the real worker: the page's `fetch`
//! spoils the token of the first message sent (as an expired one would be), the worker answers
//! 401, and the widget opens the conversation again with its visitor credential and sends the
//! message once more. The history the worker stored has the message once.

use serde_json::Value;
use switchboard_e2e::browser::Browser;
use switchboard_e2e::stack::Stack;

const PROMPT: &str = "Can you provide your order number?";
const DELIVERY: &str = "Your order 123456 is out for delivery and expected by 6 PM today.";

/// Wraps `fetch` (over the recorder of `Browser::record_fetches`) so that the next `n`
/// messages sent go out with a spoiled bearer token.
const SPOIL: &str = "window.__spoil = arguments[0];
    const inner = window.fetch;
    window.fetch = function (input, init) {
        const request = new Request(input, init);
        if (window.__spoil > 0 && request.method === 'POST' && request.url.endsWith('/messages')) {
            window.__spoil -= 1;
            const headers = new Headers(request.headers);
            headers.set('Authorization', headers.get('Authorization') + 'spoilt');
            return inner.call(window, new Request(request, { headers }));
        }
        return inner.call(window, request);
    };";

/// The recorded API requests (not the widget's own files).
async fn api_requests(browser: &Browser) -> Vec<Value> {
    let api = |f: &Value| f["url"].as_str().is_some_and(|u| u.contains("/v1/"));
    browser.fetches().await.into_iter().filter(api).collect()
}

/// The recorded API requests as `METHOD path status`.
async fn requests(browser: &Browser) -> Vec<String> {
    api_requests(browser)
        .await
        .iter()
        .map(|f| {
            let url = f["url"].as_str().unwrap_or_default();
            let path = url.find("/v1/").map_or(url, |i| &url[i..]);
            format!("{} {path} {}", f["method"].as_str().unwrap_or_default(), f["status"])
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_renewed_and_the_message_sent_once() {
    let stack = Stack::start(None).await;
    let browser = Browser::start().await;
    browser.client.goto(&stack.url("/")).await.expect("the demo page loads");
    browser.record_fetches().await;
    browser.client.execute(SPOIL, vec![1.into()]).await.expect("fetch wrapped");
    browser.open_widget().await;
    browser.wait_for_messages(1).await;
    let credential =
        "return Object.entries(localStorage).find(([k]) => k.startsWith('switchboard:visitor:'))?.[1] ?? null;";
    let stored = browser.eval(credential).await;
    assert!(stored.as_str().is_some_and(|v| !v.is_empty()), "a visitor credential stored: {stored}");

    browser.send("Where is my order?").await;
    browser.wait_for_bot(PROMPT).await;
    let sent = requests(&browser).await;
    let conversation = sent.iter().find(|r| r.contains("/messages ")).and_then(|r| r.split('/').nth(3));
    let conversation = conversation.expect("a message was sent");
    let messages = format!("POST /v1/conversations/{conversation}/messages");
    assert_eq!(
        sent,
        [
            "POST /v1/conversations 201".to_owned(),
            format!("{messages} 401"),
            "POST /v1/conversations 200".to_owned(),
            format!("{messages} 200"),
        ],
        "one reopening (it resumes the conversation), then the same message again"
    );
    let bodies: Vec<Value> = api_requests(&browser)
        .await
        .iter()
        .map(|f| f["body"].as_str().and_then(|b| serde_json::from_str(b).ok()).unwrap_or_default())
        .collect();
    assert!(bodies[0]["visitor_id"].is_null(), "a new visitor first: {}", bodies[0]);
    assert_eq!(bodies[2]["visitor_id"], stored, "reopened with the stored visitor credential");
    assert_eq!(bodies[1], bodies[3], "the same message again");

    // The conversation goes on with the new token.
    browser.send("123456").await;
    browser.wait_for_bot(DELIVERY).await;
    let shown = browser.messages().await;
    let user: Vec<&str> = shown.iter().filter(|(r, _)| r == "user").map(|(_, t)| t.as_str()).collect();
    assert_eq!(user, ["Where is my order?", "123456"], "{shown:?}");

    // What the worker stored: each message once.
    browser.client.refresh().await.expect("reload");
    browser.open_widget().await;
    browser.wait_for_bot(DELIVERY).await;
    let stored = browser.messages().await;
    assert_eq!(
        stored.iter().map(|(role, _)| role.as_str()).collect::<Vec<_>>(),
        ["bot", "user", "bot", "user", "bot"],
        "{stored:?}"
    );
    let _ = browser.client.clone().close().await;
}
