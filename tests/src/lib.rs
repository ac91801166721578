//! End-to-end harness: the real worker in workerd (`wrangler dev` with a fresh local KV on a
//! free port), headless Chromium driven through ChromeDriver, and real HTTP servers on
//! loopback standing in for a shop's fulfillment backend and for the channels' APIs. Everything started is stopped on drop.
//!
//! The worker and widget must be built first: `cargo xtask test` does it (or `cargo xtask build`).

pub mod browser;
pub mod fake_api;
pub mod http;
pub mod node;
pub mod stack;
pub mod webhook;

use std::path::PathBuf;
use std::time::Duration;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the workspace").to_path_buf()
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Polls `check` until it returns `Some`, or panics with `what` after `limit`.
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    poll(limit, check).await.unwrap_or_else(|| panic!("timed out after {limit:?} waiting for {what}"))
}

/// Polls `check` until it returns `Some`, or returns `None` after `limit` (for a failure
/// message that needs more than [`wait_for`]'s).
pub async fn poll<T, F, Fut>(limit: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends SIGTERM to a process group, then SIGKILL if it is still there after a grace period.
/// (kill(1) rather than libc: the workspace forbids unsafe code.)
pub(crate) fn stop_group(child: &mut std::process::Child) {
    let group = format!("-{}", child.id());
    let signal = |sig: &str| {
        let _ =
            std::process::Command::new("kill").args([sig, "--", &group]).stderr(std::process::Stdio::null()).status();
    };
    signal("-TERM");
    for _ in 0..50 {
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    signal("-KILL");
    let _ = child.wait();
}
