//! A Node.js server from the fixtures (the seed's Express webhook), started on a free loopback
//! port in its own process group and stopped, group and all, when dropped.

use crate::{free_port, root, stop_group, wait_for};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tempfile::TempDir;

/// A running `node <script>` listening on 127.0.0.1.
pub struct NodeServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    child: Child,
    dir: TempDir,
}

impl NodeServer {
    /// Runs `script` (relative to the workspace root) with `PORT`, `HOST=127.0.0.1` and `env`,
    /// and waits until it accepts connections.
    pub async fn start(script: &str, env: &[(&str, &str)]) -> NodeServer {
        let root = root();
        assert!(
            root.join("node_modules/express").exists(),
            "node_modules/express is missing: run `npm ci` (cargo xtask build does)"
        );
        let dir = tempfile::tempdir().expect("a temp dir");
        let log = std::fs::File::create(dir.path().join("node.log")).expect("a log file");
        let port = free_port();
        let child = Command::new("node")
            .arg(root.join(script))
            .current_dir(&root)
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("node starts (is Node.js installed?)");
        let server = NodeServer { base: format!("http://127.0.0.1:{port}"), child, dir };
        let address = format!("127.0.0.1:{port}");
        let up = tokio::time::timeout(
            Duration::from_secs(30),
            wait_for(&format!("{script} to listen on {address}"), Duration::from_secs(30), || async {
                tokio::net::TcpStream::connect(&address).await.ok()
            }),
        )
        .await;
        if up.is_err() {
            panic!("{script} did not start; its log:\n{}", server.log());
        }
        server
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// What the server printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("node.log")).unwrap_or_default()
    }

    /// Stops the server now (also done on drop).
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            stop_group(&mut self.child);
        }
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        self.stop();
    }
}
