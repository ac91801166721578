//! How to start the worker locally: `wrangler dev` in real workerd, offline and quiet.

use std::path::Path;
use std::process::Command;

/// Settings of one local worker.
pub struct DevServer<'a> {
    /// Port on 127.0.0.1.
    pub port: u16,
    /// Port of the devtools inspector on 127.0.0.1 (several servers at once need distinct ones).
    pub inspector_port: u16,
    /// Where local KV is persisted.
    pub persist_to: &'a Path,
    /// Private wrangler config/cache home (no login, no telemetry prompt).
    pub config_home: &'a Path,
    /// Signs conversation tokens.
    pub token_secret: &'a str,
    /// The demo agent's fulfillment webhook, when not the built-in demo orders.
    pub fulfillment_url: Option<&'a str>,
    /// More worker variables (`IDENTITY_SECRET`, `ADMIN_TOKEN`, rate limits, …).
    pub vars: Vec<(&'a str, String)>,
}

impl DevServer<'_> {
    /// The `wrangler dev` command, run from the workspace `root` on the already built worker.
    pub fn command(&self, root: &Path) -> Command {
        let mut cmd = Command::new(root.join("node_modules/.bin/wrangler"));
        cmd.current_dir(root)
            .args(["dev", "--config", "edge/wrangler.toml", "--ip", "127.0.0.1"])
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--inspector-ip")
            .arg("127.0.0.1")
            .arg("--inspector-port")
            .arg(self.inspector_port.to_string())
            .arg("--show-interactive-dev-session=false")
            .arg("--persist-to")
            .arg(self.persist_to)
            .arg("--var")
            .arg(format!("TOKEN_SECRET:{}", self.token_secret))
            .env("WRANGLER_SEND_METRICS", "false")
            .env("WRANGLER_SEND_ERROR_REPORTS", "false")
            .env("WRANGLER_HIDE_BANNER", "true")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .env("XDG_CONFIG_HOME", self.config_home);
        if let Some(url) = self.fulfillment_url {
            cmd.arg("--var").arg(format!("FULFILLMENT_URL:{url}"));
        }
        for (name, value) in &self.vars {
            cmd.arg("--var").arg(format!("{name}:{value}"));
        }
        cmd
    }
}
