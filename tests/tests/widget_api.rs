//! `window.Switchboard(...)` in a real browser: calls queued by the stub before `embed.js`
//! runs, then open/close/toggle, setLocale, identify (valid and forged hash) and shutdown.

use serde_json::{Value, json};
use std::time::Duration;
use switchboard_e2e::browser::Browser;
use switchboard_e2e::http::{get, post};
use switchboard_e2e::stack::{IDENTITY_SECRET, Stack};
use switchboard_edge::identity::user_hash;

const DELIVERY: &str = "Your order 123456 is out for delivery and expected by 6 PM today.";

/// The site's own script before the loader: the documented stub and listeners that record
/// every event in `window.__events`.
const LISTENERS: &str = r#"
    window.__events = [];
    window.Switchboard = window.Switchboard || function () {
        (window.Switchboard.q = window.Switchboard.q || []).push(arguments); };
    for (const name of ["ready", "open", "close", "message", "unread"]) {
        Switchboard("on", name, function (detail) { window.__events.push([name, detail || null]); });
    }
"#;

async fn events(browser: &Browser) -> Vec<(String, Value)> {
    serde_json::from_value(browser.eval("return window.__events;").await).expect("events")
}

async fn panel_open(browser: &Browser) -> bool {
    browser.widget_eval("return !root.querySelector('.sb-panel-host').hidden;").await == json!(true)
}

/// The conversation id in the widget's last request to `/v1/conversations/{id}/…`.
async fn conversation_id(browser: &Browser) -> String {
    let fetches = browser.fetches().await;
    fetches
        .iter()
        .rev()
        .filter_map(|f| f["url"].as_str()?.split("/v1/conversations/").nth(1)?.split('/').next().map(str::to_owned))
        .next()
        .unwrap_or_else(|| panic!("no conversation request in {fetches:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_queued_before_the_loader_are_delivered() {
    let stack = Stack::start(None).await;
    let browser = Browser::start().await;
    // Any page of the worker's origin will do: it is replaced by an empty page of our own.
    browser.client.goto(&stack.url("/v1/health")).await.expect("a page of the origin");
    browser.blank_page().await;
    browser.record_fetches().await;
    let before = format!("{LISTENERS}\nSwitchboard('sendMessage', 'Where is order 123456?');");
    let avatar = "https://shop.example/team.png";
    let data = [("title", "API test"), ("locale", "fr"), ("avatar", avatar), ("agent", "Switchboard Shop")];
    browser.embed(&before, &data).await;
    browser.wait_widget("the ready event", "return window.__events.some(([n]) => n === 'ready');").await;
    // Both queued settings must reach the widget: the locale from data-locale and the message.
    let mut failures = Vec::new();
    let french = "return root.querySelector('.sb-send')?.getAttribute('aria-label') === 'Envoyer';";
    let in_french = switchboard_e2e::poll(Duration::from_secs(20), || async {
        Some(browser.widget_eval(french).await).filter(|v| *v == json!(true))
    })
    .await;
    if in_french.is_none() {
        let send = browser.widget_eval("return root.querySelector('.sb-send')?.getAttribute('aria-label');").await;
        failures.push(format!("data-locale=fr was not applied (send button reads {send})"));
    }

    let opened = browser
        .fetches()
        .await
        .into_iter()
        .find(|f| f["url"].as_str().is_some_and(|u| u.ends_with("/v1/conversations")));
    let body: Value = opened.as_ref().and_then(|f| serde_json::from_str(f["body"].as_str()?).ok()).unwrap_or_default();
    // Sent with the conversation's creation (the reply checked below shows it was accepted).
    if body["agent"].as_str() != Some("Switchboard Shop") {
        failures.push(format!("data-agent was not sent: {opened:?}"));
    }
    let shown = browser.widget_eval("return root.querySelector('.sb-avatar img')?.getAttribute('src') ?? null;").await;
    if shown != json!(avatar) {
        failures.push(format!("data-avatar was not shown in the header (found {shown})"));
    }

    // The message queued before the loader existed is sent, answered and announced, with the
    // panel still closed: the reply counts as unread.
    let reply = format!(
        "return window.__events.some(([n, m]) => n === 'message' && m.role === 'bot' && m.text === {DELIVERY:?});"
    );
    let arrived = switchboard_e2e::poll(Duration::from_secs(20), || async {
        Some(browser.eval(&reply).await).filter(|v| *v == json!(true))
    })
    .await;
    if arrived.is_none() {
        failures.push(format!(
            "the message sent before load was never answered; events {:?}; requests {:?}; shown {:?}",
            events(&browser).await,
            browser.fetches().await,
            browser.messages().await
        ));
    }
    assert!(failures.is_empty(), "{failures:#?}");
    let seen = events(&browser).await;
    assert!(seen.iter().any(|(n, v)| n == "unread" && v["count"].as_u64() >= Some(1)), "{seen:?}");
    assert!(!panel_open(&browser).await, "sendMessage does not open the panel");
    let label = browser.widget_eval("return root.querySelector('.sb-launcher').getAttribute('aria-label');").await;
    assert!(label.as_str().is_some_and(|l| l.contains("1 unread")), "{label}");
    browser.eval("Switchboard('open');").await;
    let shown = browser.wait_for_messages(3).await;
    assert_eq!(shown[1..], [user("Where is order 123456?"), bot(DELIVERY)], "{shown:?}");
    let badge = browser.widget_eval("return root.querySelector('.sb-badge').hidden;").await;
    assert_eq!(badge, json!(true), "opening clears the unread badge");
    let _ = browser.client.clone().close().await;
}

fn user(text: &str) -> (String, String) {
    ("user".to_owned(), text.to_owned())
}

fn bot(text: &str) -> (String, String) {
    ("bot".to_owned(), text.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_close_toggle_locale_identify_and_shutdown() {
    let stack = Stack::start(None).await;
    let browser = Browser::start().await;
    browser.client.goto(&stack.url("/v1/health")).await.expect("a page of the origin");
    browser.blank_page().await;
    browser.record_fetches().await;
    browser.embed(LISTENERS, &[]).await;
    browser.wait_widget("the launcher", "return root.querySelector('.sb-launcher');").await;

    // open (loads the widget), then sendMessage once the conversation is open.
    browser.eval("Switchboard('open');").await;
    assert!(panel_open(&browser).await);
    browser.wait_for_messages(1).await;
    browser.eval("Switchboard('sendMessage', 'Where is order 123456?');").await;
    browser.wait_for_bot(DELIVERY).await;
    let shown = browser.messages().await;
    assert_eq!(shown[1..], [user("Where is order 123456?"), bot(DELIVERY)], "{shown:?}");

    // close / toggle.
    browser.eval("Switchboard('close');").await;
    assert!(!panel_open(&browser).await);
    browser.eval("Switchboard('toggle');").await;
    assert!(panel_open(&browser).await);
    let names: Vec<String> = events(&browser).await.into_iter().map(|(n, _)| n).collect();
    let opens_closes: Vec<&str> = names.iter().map(String::as_str).filter(|n| ["open", "close"].contains(n)).collect();
    assert_eq!(opens_closes, ["open", "close", "open"], "{names:?}");

    // setLocale: the panel's words and language change.
    browser.eval("Switchboard('setLocale', 'de');").await;
    browser
        .wait_widget(
            "the send button to read Senden",
            "return root.querySelector('.sb-send')?.getAttribute('aria-label') === 'Senden';",
        )
        .await;
    let de = browser
        .widget_eval(
            "return [root.host.lang, root.querySelector('.sb-root').lang,
                     root.querySelector('.sb-input').getAttribute('aria-label')];",
        )
        .await;
    assert_eq!(de, json!(["de", "de", "Nachricht eingeben"]));

    // identify with a valid hash: the conversation continues under the verified user.
    let conversation = conversation_id(&browser).await;
    let hash = |id: &str| user_hash(IDENTITY_SECRET.as_bytes(), id);
    browser.eval(&format!("Switchboard('identify', {{ user_id: 'ann-42', user_hash: '{}' }});", hash("ann-42"))).await;
    let identified = browser
        .wait_widget(
            "the identify request to be answered",
            "return (window.__fetches || []).find(f => f.url.endsWith('/identify') && f.status !== null) || null;",
        )
        .await;
    assert_eq!(identified["status"], 200, "{identified}");
    assert!(browser.widget_eval("return root.querySelector('[role=alert]');").await.is_null());
    // Ann on another device (a new visitor id) finds the same conversation and its history.
    let (status, created) = post(
        &stack.url("/v1/conversations"),
        &json!({"channel": "web", "visitor_id": "ann-other-device", "user_id": "ann-42", "user_hash": hash("ann-42")})
            .to_string(),
        None,
    )
    .await
    .expect("open as Ann");
    assert_eq!(status, 200, "{created}");
    let ann_conversation = created["conversation_id"].as_str().expect("conversation_id");
    let token = created["token"].as_str().expect("token");
    let (status, history) =
        get(&stack.url(&format!("/v1/conversations/{ann_conversation}/messages")), Some(token)).await.expect("history");
    assert_eq!(status, 200, "{history}");
    let texts: Vec<&str> =
        history["messages"].as_array().expect("messages").iter().filter_map(|m| m["text"].as_str()).collect();
    assert!(texts.contains(&"Where is order 123456?") && texts.contains(&DELIVERY), "{texts:?}");
    assert_eq!(ann_conversation, conversation, "the widget's conversation is Ann's");

    // identify with a forged hash: an alert, and nothing else changes.
    let before = browser.messages().await;
    browser.eval(&format!("Switchboard('identify', {{ user_id: 'mallory', user_hash: '{}' }});", hash("ann-42"))).await;
    let alert = browser.wait_widget("the error alert", "return root.querySelector('[role=alert]')?.textContent;").await;
    assert!(alert.as_str().is_some_and(|a| !a.is_empty()), "{alert}");
    let forged =
        browser.fetches().await.into_iter().rev().find(|f| f["url"].as_str().unwrap_or("").ends_with("/identify"));
    assert_eq!(forged.map(|f| f["status"].clone()), Some(json!(401)));
    assert_eq!(browser.messages().await, before, "a refused identify changes nothing");

    // shutdown: the stored session is forgotten, the panel closes, and the next open starts a
    // new conversation.
    let stored = browser
        .eval("return Object.keys(localStorage).filter(k => k.startsWith('switchboard:')).map(k => localStorage.getItem(k));")
        .await;
    assert!(stored.as_array().is_some_and(|s| !s.is_empty()), "a visitor id was stored: {stored}");
    let after = browser
        .eval(
            "Switchboard('shutdown');
             return Object.keys(localStorage).filter(k => k.startsWith('switchboard:'));",
        )
        .await;
    assert_eq!(after, json!([]), "shutdown removes every switchboard: key");
    assert!(!panel_open(&browser).await);
    browser.eval("Switchboard('open');").await;
    browser
        .wait_widget(
            "a fresh conversation (only the welcome)",
            "const m = root.querySelectorAll('.sb-message:not(.sb-typing)');
             return m.length === 1 && m[0].classList.contains('sb-bot');",
        )
        .await;
    let fresh = browser
        .wait_widget(
            "the new conversation's id",
            "return (window.__fetches || []).filter(f => f.url.endsWith('/v1/conversations') && f.status === 201).length >= 1;",
        )
        .await;
    assert_eq!(fresh, json!(true));
    let stored_after = browser
        .eval("return Object.keys(localStorage).filter(k => k.startsWith('switchboard:')).map(k => localStorage.getItem(k));")
        .await;
    assert_ne!(stored_after, stored, "a new visitor id after shutdown");
    // A message now lands in a conversation that is not Ann's.
    browser.send("Where is order 111111?").await;
    browser.wait_for_bot("Your order 111111 was delivered yesterday at 2:14 PM.").await;
    assert_ne!(conversation_id(&browser).await, conversation, "shutdown started a new conversation");
    let _ = browser.client.clone().close().await;
}
