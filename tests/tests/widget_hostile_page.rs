//! The widget on a host page whose stylesheet is hostile to embedded widgets
//! (`public/hostile.html`: `[id*="widget"]`, `[class*="chat"]` and `div` hidden with
//! `!important`, `* { visibility: hidden !important }`, `body > * { position: static !important }`,
//! under a strict Content-Security-Policy): the launcher is seen in its corner and takes the
//! click, the panel opens over the page, and a message goes there and back.

use fantoccini::Locator;
use serde_json::{Value, json};
use switchboard_e2e::browser::Browser;
use switchboard_e2e::stack::Stack;

const PROMPT: &str = "Can you provide your order number?";

/// How `selector` (inside the widget) is drawn: its computed display and visibility, its box,
/// and whether a click at its centre lands on it (nothing of the page's above it, not hidden).
const DRAWN: &str = "const el = root.querySelector(SELECTOR);
    if (!el) return null;
    const s = getComputedStyle(el), r = el.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    const hit = document.elementFromPoint(x, y) === root.host && el.contains(root.elementFromPoint(x, y));
    return { display: s.display, visibility: s.visibility, opacity: s.opacity, hit,
             left: r.left, top: r.top, right: r.right, bottom: r.bottom,
             width: innerWidth, height: innerHeight };";

async fn drawn(browser: &Browser, selector: &str) -> Value {
    let script = DRAWN.replace("SELECTOR", &json!(selector).to_string());
    browser.wait_widget(&format!("{selector} in the widget"), &script).await
}

/// Asserts that `drawn` describes a box that is shown, on screen and on top.
fn assert_shown(what: &str, drawn: &Value) {
    assert_ne!(drawn["display"], json!("none"), "{what} is not displayed: {drawn}");
    assert_eq!(drawn["visibility"], json!("visible"), "{what} is invisible: {drawn}");
    assert_eq!(drawn["opacity"], json!("1"), "{what} is transparent: {drawn}");
    let n = |k: &str| drawn[k].as_f64().unwrap_or(f64::NAN);
    assert!(n("right") > n("left") && n("bottom") > n("top"), "{what} has no size: {drawn}");
    assert!(n("left") >= 0.0 && n("top") >= 0.0, "{what} is off screen: {drawn}");
    assert!(n("right") <= n("width") && n("bottom") <= n("height"), "{what} is off screen: {drawn}");
    assert_eq!(drawn["hit"], json!(true), "a click on {what} lands elsewhere: {drawn}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launcher_and_panel_survive_a_hostile_host_page() {
    let stack = Stack::start(None).await;
    let browser = Browser::start().await;
    browser.client.goto(&stack.url("/hostile.html")).await.expect("the hostile page loads");
    // The page's rules are in force (they hide its own content).
    let page = browser.eval("return getComputedStyle(document.querySelector('.chat-wrapper')).display;").await;
    assert_eq!(page, json!("none"), "hostile.css applies to the page");
    // And so does its policy: a style attribute in markup is refused (the widget sets its
    // host's styles through CSSOM, which the policy does not govern).
    let attribute = browser
        .eval(
            "const p = document.createElement('p'); p.setAttribute('style', 'order: 7 !important');
             document.body.append(p); const order = getComputedStyle(p).order; p.remove(); return order;",
        )
        .await;
    assert_eq!(attribute, json!("0"), "the page's Content-Security-Policy is in force");

    // The launcher sits in the bottom right corner (fixed, not pulled into the page's flow).
    let launcher = drawn(&browser, ".sb-launcher").await;
    assert_shown("the launcher", &launcher);
    let n = |k: &str| launcher[k].as_f64().unwrap_or(f64::NAN);
    assert!(n("width") - n("right") < 40.0 && n("height") - n("bottom") < 40.0, "not in the corner: {launcher}");

    // A real (WebDriver) click, which refuses elements that are hidden or covered.
    let host = browser.client.find(Locator::Css("switchboard-chat")).await.expect("the widget's host element");
    let shadow = host.shadow_root().await.expect("an open shadow root");
    let button = shadow.find(Locator::Css(".sb-launcher")).await.expect("the launcher");
    assert!(button.is_displayed().await.expect("displayed?"), "WebDriver sees the launcher as hidden");
    button.click().await.expect("the launcher takes a click");

    let input = drawn(&browser, ".sb-input").await;
    assert_shown("the chat input", &input);
    assert_shown("the panel", &drawn(&browser, ".sb-panel").await);
    browser.wait_for_messages(1).await;
    browser.send("Where is my order?").await;
    browser.wait_for_bot(PROMPT).await;
    let shown = browser.messages().await;
    assert_eq!(shown.iter().filter(|(role, t)| role == "user" && t == "Where is my order?").count(), 1, "{shown:?}");

    // Closing and opening again works the same way.
    button.click().await.expect("the launcher closes the panel");
    let hidden = browser.widget_eval("return root.querySelector('.sb-panel-host').hidden;").await;
    assert_eq!(hidden, json!(true));
    assert_shown("the launcher", &drawn(&browser, ".sb-launcher").await);
    let _ = browser.client.clone().close().await;
}
