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
    _profile: TempDir,
}

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
        Browser { client, driver, _profile: profile }
    }

    /// Runs `script` (a function body) in the page and returns its value.
    pub async fn eval(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.expect("script runs")
    }

    /// Waits until the widget's launcher is in the page's shadow root, then clicks it.
    pub async fn open_widget(&self) {
        let host = wait_for("the widget host element", Duration::from_secs(20), || async {
            self.client.find(Locator::Css("#switchboard-widget")).await.ok()
        })
        .await;
        let shadow = host.shadow_root().await.expect("an open shadow root");
        shadow.find(Locator::Css(".sb-launcher")).await.expect("the launcher").click().await.expect("click");
        wait_for("the chat input", Duration::from_secs(30), || async { self.widget_input().await }).await;
    }

    async fn widget_input(&self) -> Option<fantoccini::elements::Element> {
        let host = self.client.find(Locator::Css("#switchboard-widget")).await.ok()?;
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
                "const root = document.querySelector('#switchboard-widget')?.shadowRoot;
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
