//! Rich messages, hostile text, the offline queue and right-to-left layout in a real browser,
//! on the demo shop page.

use serde_json::{Value, json};
use switchboard_e2e::browser::Browser;
use switchboard_e2e::stack::Stack;

const XSS: &str = "<img src=x onerror=\"window.__xss = 1\"> hello";

/// No element was injected from message text and no handler ran.
async fn assert_no_injection(browser: &Browser) {
    let found = browser
        .widget_eval(
            "return { img: root.querySelectorAll('.sb-messages img:not(.sb-card-image)').length,
                      xss: window.__xss ?? null, alerts: window.__alerts ?? 0 };",
        )
        .await;
    assert_eq!(found, json!({ "img": 0, "xss": null, "alerts": 0 }), "text was parsed as HTML");
}

async fn guard_alerts(browser: &Browser) {
    browser.eval("window.__alerts = 0; window.alert = () => { window.__alerts += 1; };").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cards_hostile_text_offline_queue_and_rtl() {
    let stack = Stack::start(None).await;
    let browser = Browser::start().await;
    browser.client.goto(&stack.url("/")).await.expect("the demo page loads");
    guard_alerts(&browser).await;
    browser.record_fetches().await;
    browser.open_widget().await;
    browser.wait_for_messages(1).await;

    // Cards: a carousel whose links open safely and whose payload buttons send the payload.
    browser.send("what lamps do you sell?").await;
    let cards = browser
        .wait_widget(
            "the card carousel",
            "const cards = [...root.querySelectorAll('.sb-cards .sb-card')];
             if (cards.length < 2) return null;
             return cards.map(c => ({
                 title: c.querySelector('.sb-card-title')?.textContent,
                 links: [...c.querySelectorAll('a.sb-button')].map(a =>
                     ({ label: a.textContent, href: a.getAttribute('href'), rel: a.rel, target: a.target })),
                 buttons: [...c.querySelectorAll('button.sb-button')].map(b => b.textContent),
             }));",
        )
        .await;
    assert_eq!(cards[0]["title"], "Arc desk lamp", "{cards}");
    assert_eq!(cards[1]["title"], "Halo floor lamp", "{cards}");
    for card in cards.as_array().expect("cards") {
        for link in card["links"].as_array().expect("links") {
            assert!(link["href"].as_str().is_some_and(|h| h.starts_with("https://")), "{link}");
            let rel = link["rel"].as_str().unwrap_or("");
            assert!(rel.split(' ').any(|r| r == "noopener"), "{link}");
        }
    }
    assert_eq!(cards[0]["links"][0]["label"], "View");
    assert_eq!(cards[0]["buttons"], json!(["Book a consultation"]));
    let shown = browser.messages().await.len();
    browser
        .widget_eval(
            "[...root.querySelectorAll('button.sb-button')].find(b => b.textContent === 'Book a consultation').click();
             return true;",
        )
        .await;
    let after = browser.wait_for_messages(shown + 2).await;
    assert_eq!(after[shown], ("user".to_owned(), "Book a consultation".to_owned()), "{after:?}");
    assert_eq!(after[shown + 1].0, "bot", "{after:?}");
    let sent = browser.fetches().await;
    assert!(
        sent.iter().any(|f| {
            let body: Value = f["body"].as_str().and_then(|b| serde_json::from_str(b).ok()).unwrap_or_default();
            f["url"].as_str().is_some_and(|u| u.ends_with("/messages"))
                && body["payload"] == "Book a desk setup consultation"
        }),
        "the card button sends its payload: {sent:#?}"
    );

    // Hostile text: the user's own message (and whatever the bot answers) is shown as text,
    // now and when the history comes back from KV after a reload.
    let before = browser.messages().await.len();
    browser.send(XSS).await;
    let after = browser.wait_for_messages(before + 2).await;
    assert_eq!(after[before], ("user".to_owned(), XSS.to_owned()));
    assert_no_injection(&browser).await;
    browser.client.refresh().await.expect("reload");
    guard_alerts(&browser).await;
    browser.record_fetches().await;
    browser.open_widget().await;
    let reloaded = browser.wait_for_messages(before + 2).await;
    assert!(reloaded.contains(&("user".to_owned(), XSS.to_owned())), "{reloaded:?}");
    assert_no_injection(&browser).await;

    // Offline: a message typed without a network is shown as not sent, and goes out with its
    // reply when the network is back. One message first, sent while online: only the new one
    // may be marked.
    browser.send("Where is order 111111?").await;
    browser.wait_for_bot("Your order 111111 was delivered yesterday at 2:14 PM.").await;
    browser.set_offline(true).await;
    let n = browser.messages().await.len();
    browser.send("Where is order 123456?").await;
    let queued = browser
        .wait_widget(
            "the offline notice",
            "if (!root.querySelector('.sb-offline')) return null;
             return [...root.querySelectorAll('.sb-queued')].filter(q => q.offsetParent).map(q =>
                 q.closest('.sb-message')?.querySelector('.sb-text')?.textContent);",
        )
        .await;
    // Checked at the end, so that the rest still runs when this fails.
    let mut failures = Vec::new();
    if queued != json!(["Where is order 123456?"]) {
        failures.push(format!("only the unsent message may be marked as not sent; marked: {queued}"));
    }
    assert_eq!(browser.messages().await.len(), n + 1);
    browser.set_offline(false).await;
    browser.wait_for_bot("Your order 123456 is out for delivery and expected by 6 PM today.").await;
    let left = browser
        .widget_eval("return [...root.querySelectorAll('.sb-queued, .sb-offline')].filter(e => e.offsetParent).length;")
        .await;
    assert_eq!(left, json!(0), "nothing is marked once delivered");

    // Right to left: Arabic mirrors the panel; the user's bubbles sit on the left.
    let sides = "const list = root.querySelector('.sb-messages').getBoundingClientRect();
                 const side = sel => { const r = root.querySelector(sel).getBoundingClientRect();
                     return r.left - list.left < list.right - r.right ? 'left' : 'right'; };
                 return [root.host.dir, root.querySelector('.sb-root').dir,
                         side('.sb-user .sb-text'), side('.sb-bot .sb-text')];";
    assert_eq!(browser.widget_eval(sides).await, json!(["ltr", "ltr", "right", "left"]));
    browser.eval("Switchboard('setLocale', 'ar');").await;
    browser.wait_widget("the panel in Arabic", "return root.querySelector('.sb-root').dir === 'rtl';").await;
    assert_eq!(browser.widget_eval(sides).await, json!(["rtl", "rtl", "left", "right"]));
    assert_no_injection(&browser).await;
    assert!(failures.is_empty(), "{failures:#?}");
    let _ = browser.client.clone().close().await;
}
