//! Accessibility in a real browser on the demo shop (whose stylesheet is deliberately hostile):
//! a whole conversation by keyboard, the page's CSS kept out, and axe-core on the open panel.

use fantoccini::key::Key;
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_e2e::browser::Browser;
use switchboard_e2e::stack::Stack;
use switchboard_e2e::{root, wait_for};

const PROMPT: &str = "Can you provide your order number?";
const DELIVERY: &str = "Your order 123456 is out for delivery and expected by 6 PM today.";

/// Presses `key` (Tab or Shift+Tab) until the focus in the widget starts with `target`, at
/// most `limit` times; returns what has the focus.
async fn tab_to(browser: &Browser, backwards: bool, target: &str, limit: usize) -> String {
    for _ in 0..limit {
        if backwards {
            browser.shift_tab().await;
        } else {
            browser.keys(&char::from(Key::Tab).to_string()).await;
        }
        if let Some(focus) = browser.widget_focus().await.filter(|f| f.starts_with(target)) {
            return focus;
        }
    }
    panic!("{target} not reached in {limit} presses; focus on {:?}", browser.widget_focus().await);
}

async fn wait_focus(browser: &Browser, target: &str) {
    wait_for(&format!("the focus on {target}"), Duration::from_secs(20), || async {
        browser.widget_focus().await.filter(|f| f.starts_with(target))
    })
    .await;
}

/// Serious and critical axe-core violations inside the widget.
async fn axe(browser: &Browser) -> Vec<Value> {
    let source = std::fs::read_to_string(root().join("node_modules/axe-core/axe.min.js"))
        .expect("node_modules/axe-core (npm ci installs it)");
    browser.eval(&format!("{source}\nreturn typeof window.axe;")).await;
    let results = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document.querySelector('switchboard-chat'), { resultTypes: ['violations'] })
                .then(r => done(r.violations), e => done([{ id: 'axe-error', impact: 'critical', help: String(e) }]));",
            vec![],
        )
        .await
        .expect("axe runs");
    results
        .as_array()
        .expect("violations")
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .map(|v| {
            json!({
                "id": v["id"], "impact": v["impact"], "help": v["help"],
                "nodes": v["nodes"].as_array().map(|n| n.iter().map(|n| json!([n["target"], n["failureSummary"]])).collect::<Vec<_>>()),
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyboard_conversation_hostile_css_and_axe() {
    let stack = Stack::start(None).await;
    let browser = Browser::start().await;
    browser.client.goto(&stack.url("/")).await.expect("the demo page loads");
    browser.wait_widget("the launcher", "return root.querySelector('.sb-launcher');").await;

    // Keyboard only: Tab reaches the launcher, Enter opens and puts the focus in the input.
    tab_to(&browser, false, "button.sb-launcher", 20).await;
    browser.keys(&char::from(Key::Enter).to_string()).await;
    wait_focus(&browser, "input.sb-input").await;
    browser.wait_for_messages(1).await;
    // Shift+Tab from the input reaches the welcome's quick replies; Enter sends one.
    let chip = tab_to(&browser, true, "button.sb-chip:Where is my order?", 10).await;
    assert_eq!(chip, "button.sb-chip:Where is my order?");
    browser.keys(&char::from(Key::Enter).to_string()).await;
    browser.wait_for_bot(PROMPT).await;
    // Back to the input (wherever the focus went when the chips went away), type, Enter.
    if browser.widget_focus().await.as_deref() != Some("input.sb-input") {
        tab_to(&browser, false, "input.sb-input", 20).await;
    }
    browser.keys(&format!("123456{}", char::from(Key::Enter))).await;
    browser.wait_for_bot(DELIVERY).await;
    let shown = browser.messages().await;
    assert_eq!(
        shown.iter().map(|(r, t)| format!("{r}: {t}")).skip(1).collect::<Vec<_>>(),
        [
            "user: Where is my order?",
            format!("bot: {PROMPT}").as_str(),
            "user: 123456",
            format!("bot: {DELIVERY}").as_str()
        ]
    );
    // Escape closes and gives the focus back to the launcher.
    browser.keys(&char::from(Key::Escape).to_string()).await;
    wait_focus(&browser, "button.sb-launcher").await;
    let hidden = browser.widget_eval("return root.querySelector('.sb-panel-host').hidden;").await;
    assert_eq!(hidden, json!(true));

    // The demo page's `* { font-family: Georgia }` and `button, li, p { color; letter-spacing }`
    // stay out of the shadow root.
    browser.keys(&char::from(Key::Enter).to_string()).await;
    wait_focus(&browser, "input.sb-input").await;
    let styles = browser
        .widget_eval(
            "const css = (sel) => { const s = getComputedStyle(root.querySelector(sel));
                 return [s.fontFamily.includes('Georgia'), s.color, s.letterSpacing]; };
             return { launcher: css('.sb-launcher'), panel: css('.sb-panel'), bubble: css('.sb-bot .sb-text'),
                      chip: css('.sb-send'), item: css('.sb-message') };",
        )
        .await;
    for (part, style) in styles.as_object().expect("styles") {
        assert_eq!(style[0], json!(false), "{part} uses the page's font: {styles}");
        assert_ne!(style[1], json!("rgb(90, 62, 27)"), "{part} uses the page's colour: {styles}");
        assert_eq!(style[2], json!("normal"), "{part} uses the page's letter-spacing: {styles}");
    }

    // axe-core: nothing serious or critical in the open panel, light and dark.
    let mut violations = axe(&browser).await;
    browser.eval("Switchboard('boot', { theme: 'dark' });").await;
    let dark = axe(&browser).await;
    violations.extend(dark.into_iter().map(|mut v| {
        v["theme"] = json!("dark");
        v
    }));
    assert!(
        violations.is_empty(),
        "axe-core violations:\n{}",
        serde_json::to_string_pretty(&violations).unwrap_or_default()
    );
    let _ = browser.client.clone().close().await;
}
