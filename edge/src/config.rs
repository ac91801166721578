//! The edge's configuration, read from worker variables and secrets by the glue.

use crate::identity::IdentityKeys;
use crate::keys::{Keys, MIN_SECRET_BYTES};
use std::collections::BTreeMap;

/// Names of the worker's bindings, variables and secrets, shared by the glue, `wrangler.toml`
/// and xtask.
pub mod bindings {
    /// KV namespace holding user context, the identity index and conversation history.
    pub const CONTEXT: &str = "CONTEXT";
    /// Durable Object namespace: one object per user serialises that user's turns.
    pub const USERS: &str = "USERS";
    /// Durable Object namespace: the single analytics object.
    pub const ANALYTICS: &str = "ANALYTICS";
    /// Secret that signs conversation tokens.
    pub const TOKEN_SECRET: &str = "TOKEN_SECRET";
    /// The previous `TOKEN_SECRET` during a rotation: what it signed still verifies.
    pub const TOKEN_SECRET_PREVIOUS: &str = "TOKEN_SECRET_PREVIOUS";
    /// Hours a conversation token is valid (24 by default).
    pub const TOKEN_LIFETIME_HOURS: &str = "TOKEN_LIFETIME_HOURS";
    /// Secret shared with the embedding site: the key of `user_hash` (and, derived, of JWTs).
    pub const IDENTITY_SECRET: &str = "IDENTITY_SECRET";
    /// Optional: the HS256 key of the site's JWTs, instead of the one derived from
    /// `IDENTITY_SECRET`.
    pub const IDENTITY_JWT_SECRET: &str = "IDENTITY_JWT_SECRET";
    /// Optional: the `aud` a site JWT must carry.
    pub const IDENTITY_JWT_AUDIENCE: &str = "IDENTITY_JWT_AUDIENCE";
    /// Optional: the `iss` a site JWT must carry.
    pub const IDENTITY_JWT_ISSUER: &str = "IDENTITY_JWT_ISSUER";
    /// Longest lifetime of a site JWT in minutes (1440 by default).
    pub const IDENTITY_JWT_MAX_MINUTES: &str = "IDENTITY_JWT_MAX_MINUTES";
    /// Secret bearer token for the admin endpoints.
    pub const ADMIN_TOKEN: &str = "ADMIN_TOKEN";
    /// Human agents' credentials for the agent console: `name:token` pairs, comma-separated.
    pub const AGENT_TOKENS: &str = "AGENT_TOKENS";
    /// Minutes a handed-off conversation waits for an agent before the bot takes it back.
    pub const HANDOFF_TIMEOUT_MINUTES: &str = "HANDOFF_TIMEOUT_MINUTES";
    /// Optional: an external help desk's URL, POSTed the transcript and context on each handoff.
    pub const HANDOFF_WEBHOOK_URL: &str = "HANDOFF_WEBHOOK_URL";
    /// The key that signs those POSTs (`X-Switchboard-Signature: sha256=<hex HMAC of the body>`).
    pub const HANDOFF_WEBHOOK_SECRET: &str = "HANDOFF_WEBHOOK_SECRET";
    /// When set, the demo agent's fulfillment webhook URL.
    pub const FULFILLMENT_URL: &str = "FULFILLMENT_URL";
    /// Comma-separated origins allowed to call the API from a browser; `*` for any.
    pub const ALLOWED_ORIGINS: &str = "ALLOWED_ORIGINS";
    /// Messages per user per minute.
    pub const USER_RATE_PER_MINUTE: &str = "USER_RATE_PER_MINUTE";
    /// Requests per IP address per minute.
    pub const IP_RATE_PER_MINUTE: &str = "IP_RATE_PER_MINUTE";
    /// New web conversations per IP address per hour.
    pub const IP_CONVERSATIONS_PER_HOUR: &str = "IP_CONVERSATIONS_PER_HOUR";
    /// Conversations of one IP address that may wait for a human at once.
    pub const HANDOFFS_PER_IP: &str = "HANDOFFS_PER_IP";
    /// Context lifetime per channel, e.g. `web=2592000,whatsapp=86400`.
    pub const CONTEXT_TTL: &str = "CONTEXT_TTL";

    /// The worker's own bindings and settings besides [`SETTINGS`]: with those, never handed
    /// to a webhook as an agent's `${NAME}` secret (see [`is_reserved`]).
    const OWN: [&str; 5] = [CONTEXT, USERS, ANALYTICS, TOKEN_SECRET, FULFILLMENT_URL];

    /// Whether `name` is one of the worker's own bindings or settings (the channel relays'
    /// settings, [`crate::channels::settings::names`], are checked apart).
    pub fn is_reserved(name: &str) -> bool {
        OWN.contains(&name) || SETTINGS.contains(&name)
    }

    /// The settings [`super::Config::set`] takes, read from the worker's variables and secrets
    /// after `TOKEN_SECRET` and `FULFILLMENT_URL` (which [`super::Config::new`] takes).
    pub const SETTINGS: [&str; 18] = [
        TOKEN_SECRET_PREVIOUS,
        TOKEN_LIFETIME_HOURS,
        IDENTITY_SECRET,
        IDENTITY_JWT_SECRET,
        IDENTITY_JWT_AUDIENCE,
        IDENTITY_JWT_ISSUER,
        IDENTITY_JWT_MAX_MINUTES,
        ADMIN_TOKEN,
        AGENT_TOKENS,
        HANDOFF_TIMEOUT_MINUTES,
        HANDOFF_WEBHOOK_URL,
        HANDOFF_WEBHOOK_SECRET,
        ALLOWED_ORIGINS,
        USER_RATE_PER_MINUTE,
        IP_RATE_PER_MINUTE,
        IP_CONVERSATIONS_PER_HOUR,
        HANDOFFS_PER_IP,
        CONTEXT_TTL,
    ];
}

/// The token secret of [`Config::for_tests`].
pub const TEST_TOKEN_SECRET: &str = "test-token-secret-of-thirty-two-bytes";
/// The identity secret of [`Config::for_tests`] (`user_hash` key; JWTs use
/// [`crate::keys::jwt_key`] of it).
pub const TEST_IDENTITY_SECRET: &str = "test-identity-secret-of-32-bytes";

/// The webhook URL that the edge answers itself with [`crate::demo`].
pub const BUILTIN_DEMO_ORDERS: &str = "builtin:demo-orders";

/// Runtime settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Key for conversation tokens, visitor credentials and derived user ids.
    pub token_secret: Vec<u8>,
    /// The previous token secret, during a rotation.
    pub token_secret_previous: Option<Vec<u8>>,
    /// How long a conversation token is valid, in seconds.
    pub token_lifetime_seconds: u64,
    /// How the embedding site's identities are checked; none: identify is refused.
    pub identity: Option<IdentityKeys>,
    /// Bearer token of the admin endpoints; none: they are closed.
    pub admin_token: Option<String>,
    /// Human agents: (name, bearer token) for the agent endpoints; none: they are closed.
    pub agents: Vec<(String, String)>,
    /// Minutes a handoff waits unclaimed before the bot takes the conversation back.
    pub handoff_timeout_minutes: u32,
    /// An external help desk told of each handoff (see [`crate::handoff`]).
    pub handoff_webhook_url: Option<String>,
    /// The key that signs what the help desk is sent; unsigned without one.
    pub handoff_webhook_secret: Option<String>,
    /// Replaces the URL of every agent webhook whose URL is [`BUILTIN_DEMO_ORDERS`].
    pub fulfillment_url: Option<String>,
    /// Origins allowed to call from a browser; `["*"]` allows any.
    pub allowed_origins: Vec<String>,
    /// Messages per user per minute.
    pub user_rate_per_minute: u32,
    /// Requests per IP address per minute.
    pub ip_rate_per_minute: u32,
    /// New web conversations per IP address per hour.
    pub ip_conversations_per_hour: u32,
    /// Conversations of one IP address waiting for a human at once.
    pub handoffs_per_ip: u32,
    /// How long user context lives after the last turn, per channel; `default` for the rest.
    pub context_ttl_seconds: BTreeMap<String, u64>,
    /// How many messages of history are kept per conversation.
    pub history_limit: usize,
    /// Values of the secrets the agent's webhooks name (`${ORDERS_TOKEN}`), by name; the glue
    /// fills it from the worker's secrets and variables.
    pub secrets: BTreeMap<String, String>,
    /// The channel relays' credentials and API base URLs.
    pub channels: crate::channels::Settings,
}

/// Context lifetime for channels without their own: 30 days.
const DEFAULT_TTL: u64 = 30 * 24 * 3600;

impl Config {
    /// Settings with defaults; an empty `FULFILLMENT_URL` counts as unset.
    pub fn new(token_secret: &str, fulfillment_url: Option<String>) -> Self {
        Self {
            token_secret: token_secret.as_bytes().to_vec(),
            token_secret_previous: None,
            token_lifetime_seconds: crate::token::DEFAULT_LIFETIME_SECONDS,
            identity: None,
            admin_token: None,
            agents: Vec::new(),
            handoff_timeout_minutes: 60,
            handoff_webhook_url: None,
            handoff_webhook_secret: None,
            fulfillment_url: fulfillment_url.filter(|u| !u.trim().is_empty()),
            allowed_origins: vec!["*".into()],
            user_rate_per_minute: 30,
            ip_rate_per_minute: 300,
            ip_conversations_per_hour: 60,
            handoffs_per_ip: 5,
            context_ttl_seconds: BTreeMap::from([("default".into(), DEFAULT_TTL)]),
            history_limit: 200,
            secrets: BTreeMap::new(),
            channels: crate::channels::Settings::default(),
        }
    }

    /// Settings for tests and examples: fixed secrets, the built-in demo fulfillment.
    pub fn for_tests() -> Self {
        let mut config = Self::new(TEST_TOKEN_SECRET, None);
        config.identity = Some(IdentityKeys::new(TEST_IDENTITY_SECRET.as_bytes(), None));
        config.admin_token = Some("admin-token".into());
        config.agents = vec![("Alice".into(), "alice-token".into()), ("Bob".into(), "bob-token".into())];
        config.user_rate_per_minute = 1000;
        config
    }

    /// Applies a variable by its binding name (the glue passes each one that is set). A
    /// secret shorter than [`MIN_SECRET_BYTES`] is refused (the setting stays unset).
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let value = value.trim();
        let number = |v: &str| v.parse::<u32>().map_err(|_| format!("{name} must be a whole number, not '{v}'"));
        let secret = |v: &str| -> Result<Vec<u8>, String> {
            if v.len() < MIN_SECRET_BYTES {
                return Err(format!(
                    "{name} is refused: {} bytes, secrets need {MIN_SECRET_BYTES} or more (e.g. `openssl rand -hex 32`)",
                    v.len()
                ));
            }
            Ok(v.as_bytes().to_vec())
        };
        match name {
            bindings::TOKEN_SECRET_PREVIOUS if !value.is_empty() => self.token_secret_previous = Some(secret(value)?),
            bindings::TOKEN_LIFETIME_HOURS => {
                self.token_lifetime_seconds = u64::from(number(value)?.clamp(1, 24 * 365)) * 3600;
            }
            bindings::IDENTITY_SECRET if !value.is_empty() => {
                let key = secret(value)?;
                let keys = self.identity_mut();
                if keys.jwt.is_empty() {
                    keys.jwt = crate::keys::jwt_key(&key);
                }
                keys.user_hash = key;
            }
            bindings::IDENTITY_JWT_SECRET if !value.is_empty() => {
                let jwt = secret(value)?;
                self.identity_mut().jwt = jwt;
            }
            bindings::IDENTITY_JWT_AUDIENCE if !value.is_empty() => {
                self.identity_mut().audience = Some(value.to_owned())
            }
            bindings::IDENTITY_JWT_ISSUER if !value.is_empty() => self.identity_mut().issuer = Some(value.to_owned()),
            bindings::IDENTITY_JWT_MAX_MINUTES => {
                self.identity_mut().max_lifetime_seconds = u64::from(number(value)?.max(1)) * 60;
            }
            bindings::ADMIN_TOKEN if !value.is_empty() => {
                secret(value)?;
                self.admin_token = Some(value.to_owned());
            }
            bindings::HANDOFF_WEBHOOK_URL if !value.is_empty() => {
                if !(value.starts_with("https://") || value.starts_with("http://")) {
                    return Err(format!("{name} must be an http(s) URL, not '{value}'"));
                }
                self.handoff_webhook_url = Some(value.to_owned());
            }
            bindings::HANDOFF_WEBHOOK_SECRET if !value.is_empty() => {
                secret(value)?;
                self.handoff_webhook_secret = Some(value.to_owned());
            }
            bindings::AGENT_TOKENS => {
                self.agents = value
                    .split(',')
                    .filter(|pair| !pair.trim().is_empty())
                    .map(|pair| match pair.rsplit_once(':') {
                        Some((name, token)) if !name.trim().is_empty() && token.trim().len() >= 16 => {
                            Ok((name.trim().to_owned(), token.trim().to_owned()))
                        }
                        _ => Err(format!("{name}: expected name:token pairs with tokens of 16 characters or more")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            bindings::ALLOWED_ORIGINS if !value.is_empty() => {
                self.allowed_origins = value.split(',').map(|o| o.trim().trim_end_matches('/').to_owned()).collect();
            }
            bindings::USER_RATE_PER_MINUTE => self.user_rate_per_minute = number(value)?,
            bindings::HANDOFF_TIMEOUT_MINUTES => self.handoff_timeout_minutes = number(value)?,
            bindings::IP_RATE_PER_MINUTE => self.ip_rate_per_minute = number(value)?,
            bindings::IP_CONVERSATIONS_PER_HOUR => self.ip_conversations_per_hour = number(value)?,
            bindings::HANDOFFS_PER_IP => self.handoffs_per_ip = number(value)?.max(1),
            bindings::CONTEXT_TTL => {
                for pair in value.split(',').filter(|p| !p.trim().is_empty()) {
                    let (channel, seconds) = pair
                        .split_once('=')
                        .ok_or_else(|| format!("{name}: expected channel=seconds, not '{pair}'"))?;
                    let seconds =
                        seconds.trim().parse::<u64>().map_err(|_| format!("{name}: bad seconds in '{pair}'"))?;
                    self.context_ttl_seconds.insert(channel.trim().to_owned(), seconds.max(60));
                }
            }
            _ => {
                self.channels.set(name, value)?;
            }
        }
        Ok(())
    }

    /// The identity settings being built (JWT options may come before `IDENTITY_SECRET`).
    fn identity_mut(&mut self) -> &mut IdentityKeys {
        self.identity.get_or_insert_with(|| IdentityKeys {
            max_lifetime_seconds: crate::identity::DEFAULT_JWT_MAX_LIFETIME_SECONDS,
            ..IdentityKeys::default()
        })
    }

    /// The identity keys, when `IDENTITY_SECRET` was set (JWT options alone verify nothing).
    pub fn identity_keys(&self) -> Option<&IdentityKeys> {
        self.identity.as_ref().filter(|k| !k.user_hash.is_empty())
    }

    /// Settings from the worker's variables and secrets, `read` giving each one's value by its
    /// binding name; `secrets`: the webhook secrets the agent names (only those are read). The
    /// problems come back as log lines (JSON, naming the setting, never a secret's value): a setting
    /// that does not parse stays at its default, and without a `TOKEN_SECRET` of at least
    /// [`MIN_SECRET_BYTES`] there are no settings at all (the worker answers 500).
    pub fn from_vars<'n>(
        read: impl Fn(&str) -> Option<String>,
        secrets: impl IntoIterator<Item = &'n str>,
    ) -> (Option<Config>, Vec<String>) {
        let problem = |detail: String| serde_json::json!({ "event": "config", "detail": detail }).to_string();
        let Some(token_secret) = read(bindings::TOKEN_SECRET) else {
            return (None, vec![problem(format!("{} is not set", bindings::TOKEN_SECRET))]);
        };
        let mut config = Config::new(&token_secret, read(bindings::FULFILLMENT_URL));
        if let Err(e) = config.check_token_secret() {
            return (None, vec![problem(e)]);
        }
        let mut problems = Vec::new();
        for name in bindings::SETTINGS.iter().chain(crate::channels::settings::names::ALL) {
            if let Some(value) = read(name)
                && let Err(e) = config.set(name, &value)
            {
                problems.push(problem(e));
            }
        }
        // A secret the agent names that is missing fails its webhook calls (logged there).
        for name in secrets {
            if let Some(value) = read(name)
                && let Err(e) = config.set_secret(name, &value)
            {
                problems.push(problem(e));
            }
        }
        (Some(config), problems)
    }

    /// The keys derived from the token secrets.
    pub fn keys(&self) -> Keys {
        Keys::new(&self.token_secret, self.token_secret_previous.as_deref())
    }

    /// Whether the token secret is long enough to start with; the reason when it is not.
    pub fn check_token_secret(&self) -> Result<(), String> {
        if self.token_secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "TOKEN_SECRET is refused: {} bytes, it needs {MIN_SECRET_BYTES} or more (e.g. `openssl rand -hex 32`)",
                self.token_secret.len()
            ));
        }
        Ok(())
    }

    /// Keeps a webhook secret; refuses the worker's own settings ([`bindings::is_reserved`]), so
    /// an agent file cannot send the token key to a webhook.
    pub fn set_secret(&mut self, name: &str, value: &str) -> Result<(), String> {
        if bindings::is_reserved(name) || crate::channels::settings::names::ALL.contains(&name) {
            return Err(format!("{name} is one of the worker's own settings, not a webhook secret; rename it"));
        }
        self.secrets.insert(name.to_owned(), value.to_owned());
        Ok(())
    }

    /// How long context written from `channel` lives (KV's minimum is 60 s).
    pub fn ttl_for(&self, channel: &str) -> u64 {
        self.context_ttl_seconds
            .get(channel)
            .or_else(|| self.context_ttl_seconds.get("default"))
            .copied()
            .unwrap_or(DEFAULT_TTL)
    }

    /// Whether a browser page at `origin` may call the API.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o == "*" || o == origin.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_come_from_the_variables_and_a_bad_one_is_logged_without_its_value() {
        let vars: BTreeMap<&str, &str> = BTreeMap::from([
            (bindings::TOKEN_SECRET, "a-token-secret-of-at-least-32-bytes"),
            (bindings::ALLOWED_ORIGINS, "https://shop.example"),
            (bindings::USER_RATE_PER_MINUTE, "lots"),
            (bindings::ADMIN_TOKEN, "short-admin-secret"),
            ("ORDERS_TOKEN", "t0k3n"),
            ("UNNAMED_SECRET", "not read"),
        ]);
        let read = |name: &str| vars.get(name).map(|v| v.to_string());
        let (config, problems) = Config::from_vars(read, ["ORDERS_TOKEN", bindings::TOKEN_SECRET]);
        let config = config.unwrap();
        assert!(config.allows_origin("https://shop.example") && !config.allows_origin("https://evil.example"));
        assert_eq!(config.user_rate_per_minute, 30, "a value that does not parse leaves the default");
        assert_eq!(config.secrets.keys().collect::<Vec<_>>(), ["ORDERS_TOKEN"]);
        assert_eq!(problems.len(), 3, "{problems:?}");
        for line in &problems {
            assert!(line.starts_with(r#"{"detail":"#) && line.contains(r#""event":"config""#), "{line}");
            assert!(!line.contains("short-admin-secret") && !line.contains("a-token-secret"), "{line}");
        }
        for secret in [None, Some("too-short")] {
            let read = |name: &str| (name == bindings::TOKEN_SECRET).then_some(secret?.to_owned());
            let (config, problems) = Config::from_vars(read, []);
            assert!(config.is_none());
            assert!(problems[0].contains("TOKEN_SECRET"), "{problems:?}");
        }
    }

    #[test]
    fn variables_apply_and_bad_ones_say_why() {
        let mut config = Config::new("k", None);
        config.set(bindings::ALLOWED_ORIGINS, "https://shop.example/, http://localhost:8787").unwrap();
        assert!(config.allows_origin("https://shop.example"));
        assert!(!config.allows_origin("https://evil.example"));
        config.set(bindings::CONTEXT_TTL, "whatsapp=86400, sms=10").unwrap();
        assert_eq!(
            (config.ttl_for("whatsapp"), config.ttl_for("sms"), config.ttl_for("web")),
            (86400, 60, DEFAULT_TTL)
        );
        assert_eq!(
            config.set(bindings::USER_RATE_PER_MINUTE, "lots"),
            Err("USER_RATE_PER_MINUTE must be a whole number, not 'lots'".into())
        );
        config.set_secret("ORDERS_TOKEN", "t0k3n").unwrap();
        assert_eq!(config.secrets["ORDERS_TOKEN"], "t0k3n");
        assert!(config.set_secret(bindings::TOKEN_SECRET, "leak").unwrap_err().contains("worker's own settings"));
        assert!(!config.secrets.contains_key(bindings::TOKEN_SECRET));
        assert!(config.set_secret("META_APP_SECRET", "leak").is_err(), "nor a channel's credentials");
        config.set("TELEGRAM_API_URL", "http://127.0.0.1:9").unwrap();
        assert_eq!(config.channels.telegram_api_url, "http://127.0.0.1:9");
    }
}
