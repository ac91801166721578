//! Headless Chromium through ChromeDriver, with helpers that reach into the widget's shadow root.

use crate::{free_port, stop_group, wait_for};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tempfile::TempDir;

/// A Chromium session; ChromeDriver and the browser stop when dropped.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    driver: Child,
    webdriver: String,
    _profile: TempDir,
}

/// JS that finds the widget's shadow root as `root` (and returns null without one).
const ROOT: &str = "const root = document.querySelector('switchboard-chat')?.shadowRoot; if (!root) return null;";

impl Browser {
    /// Starts ChromeDriver and a headless Chromium with a fresh profile.
    pub async fn start() -> Browser {
        let port = free_port();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver starts (apt-get install chromium-driver)");
        let profile = tempfile::tempdir().expect("a profile dir");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }),
        );
        let webdriver = format!("http://127.0.0.1:{port}");
        let client = wait_for("chromedriver to accept a session", Duration::from_secs(30), || {
            let caps = caps.clone();
            let webdriver = webdriver.clone();
            async move {
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(caps)
                    .connect(&webdriver)
                    .await
                    .ok()
            }
        })
        .await;
        Browser { client, driver, webdriver, _profile: profile }
    }

    /// Runs `script` (a function body) in the page and returns its value.
    pub async fn eval(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.expect("script runs")
    }

    /// Runs `script` (a function body) with `root` bound to the widget's shadow root; null
    /// without the widget.
    pub async fn widget_eval(&self, script: &str) -> Value {
        self.eval(&format!("{ROOT}\n{script}")).await
    }

    /// Waits until `script` (run as by [`Browser::widget_eval`]) returns something other than
    /// null, undefined or false, and returns it.
    pub async fn wait_widget(&self, what: &str, script: &str) -> Value {
        wait_for(what, Duration::from_secs(20), || async {
            Some(self.widget_eval(script).await).filter(|v| !v.is_null() && *v != Value::Bool(false))
        })
        .await
    }

    /// Replaces the current document (any page of the stack's origin) with an empty HTML page
    /// of the same origin, for [`Browser::embed`].
    pub async fn blank_page(&self) {
        self.eval(
            "document.open();
             document.write('<!doctype html><html lang=\"en\"><head><title>test</title></head><body></body></html>');
             document.close();",
        )
        .await;
    }

    /// Runs `before` (a function body: the site's own script, e.g. the queue stub and calls
    /// made before the loader) and then adds `embed.js` with the `data-` attributes `data`.
    pub async fn embed(&self, before: &str, data: &[(&str, &str)]) {
        self.eval(before).await;
        let data = serde_json::to_string(&serde_json::Map::from_iter(
            data.iter().map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned()))),
        ))
        .expect("json");
        self.eval(&format!(
            "const s = document.createElement('script'); s.src = '/embed.js'; s.async = true;
             Object.assign(s.dataset, {data}); document.body.appendChild(s);"
        ))
        .await;
    }

    /// Wraps the page's `fetch` so every request the widget makes is recorded in
    /// `window.__fetches` as `{ method, url, body, status }` (status 0 for a network error).
    /// Call it before the widget loads.
    pub async fn record_fetches(&self) {
        self.eval(
            "if (window.__fetches) return;
             window.__fetches = [];
             const original = window.fetch;
             window.fetch = async function (input, init) {
                 const request = new Request(input, init);
                 const entry = { method: request.method, url: request.url, body: null, status: null };
                 window.__fetches.push(entry);
                 if (request.method !== 'GET') entry.body = await request.clone().text();
                 try {
                     const response = await original.call(window, request);
                     entry.status = response.status;
                     return response;
                 } catch (e) { entry.status = 0; throw e; }
             };",
        )
        .await;
    }

    /// The requests recorded since [`Browser::record_fetches`].
    pub async fn fetches(&self) -> Vec<Value> {
        serde_json::from_value(self.eval("return window.__fetches || [];").await).unwrap_or_default()
    }

    /// Presses and releases each key in turn (characters or `fantoccini::key::Key` codes) on
    /// whatever has the focus, as a keyboard would.
    pub async fn keys(&self, keys: &str) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let mut actions = KeyActions::new("keyboard".into());
        for value in keys.chars() {
            actions = actions.then(KeyAction::Down { value }).then(KeyAction::Up { value });
        }
        self.client.perform_actions(actions).await.expect("key actions");
    }

    /// Shift+Tab.
    pub async fn shift_tab(&self) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        use fantoccini::key::Key;
        let (shift, tab) = (char::from(Key::Shift), char::from(Key::Tab));
        let actions = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: shift })
            .then(KeyAction::Down { value: tab })
            .then(KeyAction::Up { value: tab })
            .then(KeyAction::Up { value: shift });
        self.client.perform_actions(actions).await.expect("key actions");
    }

    /// What has the focus inside the widget: `tag.class` (e.g. `button.sb-launcher`), with the
    /// text of a button; null when the focus is outside the widget.
    pub async fn widget_focus(&self) -> Option<String> {
        let value = self
            .widget_eval(
                "if (document.activeElement !== root.host) return null;
                 const el = root.activeElement;
                 if (!el) return null;
                 const label = el.tagName === 'BUTTON' ? ':' + el.textContent : '';
                 return el.tagName.toLowerCase() + '.' + [...el.classList].join('.') + label;",
            )
            .await;
        value.as_str().map(str::to_owned)
    }

    /// Runs a Chrome DevTools Protocol command through ChromeDriver (`goog/cdp/execute`).
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let session = self.client.session_id().await.expect("session id").expect("a session");
        let url = format!("{}/session/{session}/goog/cdp/execute", self.webdriver);
        let body = json!({ "cmd": cmd, "params": params }).to_string();
        let (status, json) = crate::http::post(&url, &body, None).await.expect("chromedriver answers");
        assert_eq!(status, 200, "{cmd}: {json}");
        json["value"].clone()
    }

    /// Cuts the page off the network (DevTools network emulation, which also fires the
    /// window's `offline`/`online` events), or brings it back.
    pub async fn set_offline(&self, offline: bool) {
        self.cdp("Network.enable", json!({})).await;
        self.cdp(
            "Network.emulateNetworkConditions",
            json!({ "offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 }),
        )
        .await;
    }

    /// Waits until the widget's launcher is in the page's shadow root, then clicks it.
    pub async fn open_widget(&self) {
        let host = wait_for("the widget host element", Duration::from_secs(20), || async {
            self.client.find(Locator::Css("switchboard-chat")).await.ok()
        })
        .await;
        let shadow = host.shadow_root().await.expect("an open shadow root");
        shadow.find(Locator::Css(".sb-launcher")).await.expect("the launcher").click().await.expect("click");
        wait_for("the chat input", Duration::from_secs(30), || async { self.widget_input().await }).await;
    }

    async fn widget_input(&self) -> Option<fantoccini::elements::Element> {
        let host = self.client.find(Locator::Css("switchboard-chat")).await.ok()?;
        let shadow = host.shadow_root().await.ok()?;
        shadow.find(Locator::Css(".sb-input")).await.ok()
    }

    /// Types `text` into the widget and presses Enter.
    pub async fn send(&self, text: &str) {
        let input = self.widget_input().await.expect("the chat input");
        input.send_keys(&format!("{text}\u{E007}")).await.expect("typing");
    }

    /// The texts of the messages shown, with their roles (`bot`/`user`).
    pub async fn messages(&self) -> Vec<(String, String)> {
        let value = self
            .eval(
                "const root = document.querySelector('switchboard-chat')?.shadowRoot;
                 if (!root) return [];
                 return [...root.querySelectorAll('.sb-message:not(.sb-typing)')].map(li =>
                     [li.classList.contains('sb-user') ? 'user' : 'bot',
                      li.querySelector('.sb-text')?.textContent ?? '']);",
            )
            .await;
        serde_json::from_value(value).unwrap_or_default()
    }

    /// Waits until at least `n` messages are shown and returns them.
    pub async fn wait_for_messages(&self, n: usize) -> Vec<(String, String)> {
        wait_for(&format!("{n} messages"), Duration::from_secs(20), || async {
            Some(self.messages().await).filter(|m| m.len() >= n)
        })
        .await
    }

    /// Waits until a bot message with exactly `text` is shown.
    pub async fn wait_for_bot(&self, text: &str) {
        let text = text.to_owned();
        wait_for(&format!("the bot to say {text:?}"), Duration::from_secs(20), || async {
            self.messages().await.iter().any(|(role, t)| role == "bot" && *t == text).then_some(())
        })
        .await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        stop_group(&mut self.driver);
    }
}
