//! `cargo xtask dev`: the product running locally, offline.

use crate::step::step;
use crate::{build, tools};
use anyhow::{Context, Result, bail};
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};
use xtask::wrangler::DevServer;

const PORT: u16 = 8787;

pub fn run(root: &Path) -> Result<()> {
    let started = Instant::now();
    let tools = tools::ensure(root)?;
    build::all(root, &tools)?;
    let state = root.join(".dev-state");
    let secret = step("preparing local state in .dev-state/ (KV, secrets)", || dev_secret(&state, "token-secret"))?;
    let admin = dev_secret(&state, "admin-token")?;
    let agent = dev_secret(&state, "agent-token")?;
    let fulfillment_url = std::env::var("FULFILLMENT_URL").ok().filter(|u| !u.is_empty());
    match &fulfillment_url {
        Some(url) => println!("==> fulfillment webhook: {url} (from FULFILLMENT_URL)"),
        None => println!(
            "==> fulfillment webhook: the worker's built-in demo order system (set FULFILLMENT_URL to use yours)"
        ),
    }
    let server = DevServer {
        port: PORT,
        inspector_port: 9229,
        persist_to: &state.join("kv"),
        config_home: &state.join("wrangler-home"),
        token_secret: &secret,
        fulfillment_url: fulfillment_url.as_deref(),
        vars: vec![
            ("IDENTITY_SECRET", DEV_IDENTITY_SECRET.to_owned()),
            ("ADMIN_TOKEN", admin.clone()),
            ("AGENT_TOKENS", format!("{DEV_AGENT}:{agent}")),
        ],
    };
    println!("==> starting wrangler dev (workerd) on 127.0.0.1:{PORT}");
    let mut child = server.command(root).spawn().context("could not start wrangler")?;
    let url = format!("http://127.0.0.1:{PORT}/");
    while !health_ok(PORT) {
        if let Some(status) = child.try_wait()? {
            bail!("wrangler dev exited with {status} before it was ready (is port {PORT} in use?)");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("\n    Switchboard is running: {url}");
    println!(
        "    API: {url}v1/ (OpenAPI: {url}v1/openapi.json) · ready {:.0}s after start · Ctrl-C stops",
        started.elapsed().as_secs_f64()
    );
    println!("    agent console: {url}console/   agent token ({DEV_AGENT}): {agent}");
    println!("    analytics dashboard: {url}console/dashboard.html   admin token: {admin}");
    println!("    identity secret (user_hash, JWT): {DEV_IDENTITY_SECRET}\n");
    let status = child.wait()?;
    if !status.success() {
        bail!("wrangler dev exited with {status}");
    }
    Ok(())
}

/// The identity secret of local runs: known, so a demo page can sign `user_hash` itself.
/// A deployment sets its own with `wrangler secret put IDENTITY_SECRET`.
const DEV_IDENTITY_SECRET: &str = "local-identity-secret-of-32-bytes";

/// The human agent of local runs, signed in to the console with the agent token in
/// `.dev-state/agent-token`.
const DEV_AGENT: &str = "Local agent";

/// A local secret, made once so conversations (and the admin token) survive restarts.
fn dev_secret(state: &Path, name: &str) -> Result<String> {
    std::fs::create_dir_all(state)?;
    let path = state.join(name);
    if let Ok(secret) = std::fs::read_to_string(&path) {
        return Ok(secret.trim().to_owned());
    }
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(&path, &secret)?;
    Ok(secret)
}

fn health_ok(port: u16) -> bool {
    use std::io::Write;
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200")
}
