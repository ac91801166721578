//! Screenshots of the open widget for the README: light, dark, right-to-left and phone, written
//! to `docs/screenshots/` (nothing is compared). Ignored by default so that ordinary test runs
//! leave the docs alone:
//!
//! ```sh
//! cargo xtask build && cargo test -p switchboard-e2e --test widget_screenshots -- --ignored
//! ```

use switchboard_e2e::browser::Browser;
use switchboard_e2e::root;
use switchboard_e2e::stack::Stack;

/// Takes the shot once nothing moves: no caret, no animation, the last reply in.
async fn shot(browser: &Browser, name: &str) {
    browser
        .widget_eval(
            "root.activeElement?.blur();
             if (!root.querySelector('#sb-shot')) {
                 const s = new CSSStyleSheet();
                 s.replaceSync('*{animation:none!important;transition:none!important;caret-color:transparent!important}');
                 root.adoptedStyleSheets = [...root.adoptedStyleSheets, s];
                 const mark = document.createElement('meta'); mark.id = 'sb-shot'; root.appendChild(mark);
             }
             return true;",
        )
        .await;
    let png = browser.client.screenshot().await.expect("a screenshot");
    let dir = root().join("docs/screenshots");
    std::fs::create_dir_all(&dir).expect("docs/screenshots");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write the screenshot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes docs/screenshots/; run with --ignored"]
async fn screenshots_light_dark_rtl_phone() {
    let stack = Stack::start(None).await;
    let browser = Browser::start().await;
    browser.client.goto(&stack.url("/")).await.expect("the demo page loads");
    browser.eval("Switchboard('boot', { theme: 'light' });").await;
    browser.open_widget().await;
    browser.wait_for_messages(1).await;
    browser.send("what lamps do you sell?").await;
    browser.wait_for_bot("Here are our bestsellers:").await;
    shot(&browser, "widget-light").await;

    browser.eval("Switchboard('boot', { theme: 'dark' });").await;
    browser.wait_widget("the dark theme", "return root.host.dataset.theme === 'dark';").await;
    shot(&browser, "widget-dark").await;

    browser.eval("Switchboard('boot', { theme: 'light' }); Switchboard('setLocale', 'ar');").await;
    browser.wait_widget("the panel in Arabic", "return root.querySelector('.sb-root').dir === 'rtl';").await;
    shot(&browser, "widget-rtl").await;

    browser.eval("Switchboard('setLocale', 'en');").await;
    browser.wait_widget("the panel in English", "return root.querySelector('.sb-root').dir === 'ltr';").await;
    browser.client.set_window_size(390, 844).await.expect("phone size");
    browser.wait_widget("the phone layout", "return innerWidth <= 480;").await;
    shot(&browser, "widget-phone").await;
    let _ = browser.client.clone().close().await;
}
