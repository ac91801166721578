//! The worker under test: `wrangler dev` started as `cargo xtask dev` starts it.

use crate::{free_port, root, stop_group, wait_for};
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::time::Duration;
use tempfile::TempDir;
use xtask::wrangler::DevServer;

/// The token secret the test worker signs with, so tests can forge valid-looking tokens.
pub const TOKEN_SECRET: &str = "e2e-test-secret";

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
        let root = root();
        for built in ["edge/build/index.js", "public/widget/switchboard_widget_bg.wasm", "node_modules/.bin/wrangler"] {
            assert!(root.join(built).exists(), "{built} is missing: run `cargo xtask build` (cargo xtask test does)");
        }
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
        let ready = tokio::time::timeout(
            Duration::from_secs(90),
            wait_for("wrangler dev to answer /v1/health", Duration::from_secs(90), || async {
                crate::http::get(&health, None).await.ok().filter(|(status, _)| *status == 200)
            }),
        )
        .await;
        if ready.is_err() {
            panic!("wrangler dev did not start; its log:\n{}", stack.log());
        }
        stack
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
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
