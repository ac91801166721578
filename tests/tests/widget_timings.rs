//! How fast the widget appears and answers, in headless Chromium against `wrangler dev` on
//! loopback: from navigation to the launcher's first frame, and from a click on the launcher
//! to an interactive panel (wasm fetched, compiled and mounted, conversation opened, welcome
//! shown, input enabled). Each run starts with an empty browser cache. Measured twice: as is,
//! and with a mid-range phone's CPU (4× slowdown) on a slow network (1.6 Mbit/s, 150 ms RTT).
//! Prints medians; asserts nothing about time (figures are recorded in the README):
//!
//! ```sh
//! cargo xtask build && cargo test -p switchboard-e2e --test widget_timings -- --ignored --nocapture
//! ```

use serde_json::json;
use switchboard_e2e::browser::Browser;
use switchboard_e2e::stack::Stack;

const RUNS: usize = 7;

/// Clicks the launcher and resolves with the milliseconds until the panel is interactive.
const CLICK_TO_INTERACTIVE: &str = r#"
    const done = arguments[arguments.length - 1];
    const root = document.querySelector('switchboard-chat').shadowRoot;
    const t0 = performance.now();
    root.querySelector('.sb-launcher').click();
    const ready = () => root.querySelector('.sb-messages > li') && root.querySelector('.sb-send:not([disabled])');
    const check = () => ready() ? done(performance.now() - t0) : requestAnimationFrame(check);
    check();
"#;

/// Resolves with the launcher's first frame, in milliseconds after navigation started.
const LAUNCHER_MARK: &str = r#"
    const done = arguments[arguments.length - 1];
    const check = () => {
        const mark = performance.getEntriesByName('switchboard:launcher')[0];
        mark ? done(mark.startTime) : setTimeout(check, 5);
    };
    check();
"#;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn measure(stack: &Stack, browser: &Browser) -> (f64, f64) {
    let (mut launcher, mut interactive) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        browser.cdp("Network.clearBrowserCache", json!({})).await;
        browser.client.goto(&stack.url("/")).await.expect("the demo page loads");
        let at = browser.client.execute_async(LAUNCHER_MARK, vec![]).await.expect("the launcher mark");
        launcher.push(at.as_f64().expect("a time"));
        let took = browser.client.execute_async(CLICK_TO_INTERACTIVE, vec![]).await.expect("an interactive panel");
        interactive.push(took.as_f64().expect("a time"));
    }
    (median(launcher), median(interactive))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test; run with --ignored --nocapture"]
async fn page_load_to_launcher_and_click_to_interactive() {
    let stack = Stack::start(None).await;
    let browser = Browser::start().await;
    let minute = Some(std::time::Duration::from_secs(60));
    let timeouts = fantoccini::wd::TimeoutConfiguration::new(minute, minute, None);
    browser.client.update_timeouts(timeouts).await.expect("timeouts");
    browser.cdp("Network.enable", json!({})).await;
    let local = measure(&stack, &browser).await;

    browser.cdp("Emulation.setCPUThrottlingRate", json!({ "rate": 4 })).await;
    let slow = json!({ "offline": false, "latency": 150, "downloadThroughput": 200_000, "uploadThroughput": 90_000 });
    browser.cdp("Network.emulateNetworkConditions", slow).await;
    let phone = measure(&stack, &browser).await;

    println!("median of {RUNS} cold loads            launcher visible   click → interactive");
    println!("loopback, this machine's CPU        {:>10.0} ms {:>16.0} ms", local.0, local.1);
    println!("4× CPU slowdown, 1.6 Mbit/s 150 ms  {:>10.0} ms {:>16.0} ms", phone.0, phone.1);
    let _ = browser.client.clone().close().await;
}
