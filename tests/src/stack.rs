//! The worker under test: `wrangler dev` started as `cargo xtask dev` starts it.

use crate::{free_port, root, stop_group};
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::time::Duration;
use tempfile::TempDir;
use xtask::wrangler::DevServer;

/// The token secret the test worker signs with, so tests can forge valid-looking tokens.
pub const TOKEN_SECRET: &str = "e2e-token-secret-of-thirty-two-bytes";
/// The identity secret the embedding site shares with the worker under test.
pub const IDENTITY_SECRET: &str = "e2e-identity-secret-of-thirty-two-bytes";
/// The admin token of the worker under test.
pub const ADMIN_TOKEN: &str = "e2e-admin-token-of-thirty-two-bytes";

/// Now, in seconds since the epoch (the worker under test runs on the real clock).
pub fn now_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// A JWT the embedding site signs for `claims`, with the key the worker derives from
/// [`IDENTITY_SECRET`] when no `IDENTITY_JWT_SECRET` is set.
pub fn site_jwt(claims: &serde_json::Value) -> String {
    let key = switchboard_edge::keys::jwt_key(IDENTITY_SECRET.as_bytes());
    switchboard_edge::identity::sign_jwt(&key, claims)
}

/// `user_hash` for `user_id` as the embedding site computes it with [`IDENTITY_SECRET`].
pub fn site_hash(user_id: &str) -> String {
    switchboard_edge::identity::user_hash(IDENTITY_SECRET.as_bytes(), user_id)
}

/// A running local worker with its own KV folder.
pub struct Stack {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    child: Child,
    dir: TempDir,
}

impl Stack {
    /// Starts the worker; `fulfillment_url` is passed as `FULFILLMENT_URL`.
    pub async fn start(fulfillment_url: Option<&str>) -> Stack {
        Self::start_with(fulfillment_url, &[]).await
    }

    /// Starts the worker with more variables (rate limits, …).
    pub async fn start_with(fulfillment_url: Option<&str>, vars: &[(&'static str, &str)]) -> Stack {
        let root = root();
        for built in ["edge/build/index.js", "public/widget/switchboard_widget_bg.wasm", "node_modules/.bin/wrangler"] {
            assert!(root.join(built).exists(), "{built} is missing: run `cargo xtask build` (cargo xtask test does)");
        }
        // A port is picked by binding port 0 and letting it go, so another process (an
        // outgoing connection's ephemeral port, Chromium's) may take it before wrangler binds
        // it: then wrangler stops at once saying so, and the start is tried with new ports.
        for attempt in 1..=3 {
            let dir = tempfile::tempdir().expect("a temp dir");
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("wrangler.log")).expect("a log file");
            let server = DevServer {
                port,
                inspector_port: free_port(),
                persist_to: &dir.path().join("kv"),
                config_home: &dir.path().join("home"),
                token_secret: TOKEN_SECRET,
                fulfillment_url,
                vars: [("IDENTITY_SECRET", IDENTITY_SECRET.to_owned()), ("ADMIN_TOKEN", ADMIN_TOKEN.to_owned())]
                    .into_iter()
                    .chain(vars.iter().map(|(k, v)| (*k, (*v).to_owned())))
                    .collect(),
            };
            let child = server
                .command(&root)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log handle"))
                .stderr(log)
                .process_group(0)
                .spawn()
                .expect("wrangler starts");
            let stack = Stack { base: format!("http://127.0.0.1:{port}"), child, dir };
            let health = format!("{}/v1/health", stack.base);
            let ready = crate::poll(Duration::from_secs(90), || async {
                if stack.log().contains("Address already in use") {
                    return Some(false);
                }
                crate::http::get(&health, None).await.ok().filter(|(status, _)| *status == 200).map(|_| true)
            })
            .await;
            match ready {
                Some(true) => return stack,
                Some(false) if attempt < 3 => drop(stack),
                _ => panic!("wrangler dev did not start; its log:\n{}", stack.log()),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `text` in a conversation and returns the texts of the agent's replies; anything
    /// but 200 fails the test with the worker's log.
    pub async fn say(&self, conversation: &str, token: &str, text: &str) -> Vec<String> {
        let url = self.url(&format!("/v1/conversations/{conversation}/messages"));
        let body = serde_json::json!({ "text": text }).to_string();
        let (status, json) = crate::http::post(&url, &body, Some(token)).await.expect("POST messages");
        assert_eq!(status, 200, "{json}\n{}", self.log());
        json["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m["text"].as_str().expect("text").to_owned())
            .collect()
    }

    /// The local KV folder (for `wrangler kv … --local --persist-to`).
    pub fn kv_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("kv")
    }

    /// Every key and value in the worker's local KV namespace `CONTEXT`, read with wrangler
    /// itself (`wrangler kv key list/get --local`), as an operator would.
    pub fn kv_dump(&self) -> std::collections::BTreeMap<String, String> {
        let root = root();
        let wrangler = |args: &[&str]| {
            let output = std::process::Command::new(root.join("node_modules/.bin/wrangler"))
                .current_dir(&root)
                .args(["kv", "key"])
                .args(args)
                .args(["--binding", "CONTEXT", "--local", "--config", "edge/wrangler.toml", "--persist-to"])
                .arg(self.kv_dir())
                .env("XDG_CONFIG_HOME", self.dir.path().join("home"))
                .env("WRANGLER_SEND_METRICS", "false")
                .output()
                .expect("wrangler runs");
            assert!(output.status.success(), "wrangler kv {args:?}: {}", String::from_utf8_lossy(&output.stderr));
            String::from_utf8(output.stdout).expect("utf-8")
        };
        let keys: Vec<serde_json::Value> = serde_json::from_str(&wrangler(&["list"])).expect("a JSON key list");
        keys.iter()
            .filter_map(|k| k["name"].as_str())
            .map(|name| (name.to_owned(), wrangler(&["get", name, "--text"])))
            .collect()
    }

    /// What wrangler printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("wrangler.log")).unwrap_or_default()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        stop_group(&mut self.child);
    }
}
