//! The edge's configuration, read from worker variables by the glue.

/// Names of the worker's bindings and variables, shared by the glue, `wrangler.toml` and xtask.
pub mod bindings {
    /// KV namespace holding user context and conversation history.
    pub const CONTEXT: &str = "CONTEXT";
    /// Secret that signs conversation tokens.
    pub const TOKEN_SECRET: &str = "TOKEN_SECRET";
    /// When set, the demo agent's fulfillment webhook URL.
    pub const FULFILLMENT_URL: &str = "FULFILLMENT_URL";
}

/// The webhook URL that the edge answers itself with [`crate::demo`].
pub const BUILTIN_DEMO_ORDERS: &str = "builtin:demo-orders";

/// Runtime settings.
#[derive(Clone)]
pub struct Config {
    /// Key for conversation tokens.
    pub token_secret: Vec<u8>,
    /// Replaces the URL of every agent webhook whose URL is [`BUILTIN_DEMO_ORDERS`].
    pub fulfillment_url: Option<String>,
    /// How long user context lives in KV after the last turn.
    pub context_ttl_seconds: u64,
    /// How many messages of history are kept per conversation.
    pub history_limit: usize,
}

impl Config {
    /// Settings from the worker's variables; an empty `FULFILLMENT_URL` counts as unset.
    pub fn new(token_secret: &str, fulfillment_url: Option<String>) -> Self {
        Self {
            token_secret: token_secret.as_bytes().to_vec(),
            fulfillment_url: fulfillment_url.filter(|u| !u.trim().is_empty()),
            context_ttl_seconds: 30 * 24 * 3600,
            history_limit: 200,
        }
    }

    /// Settings for tests and examples: a fixed secret, the built-in demo fulfillment.
    pub fn for_tests() -> Self {
        Self::new("test-secret", None)
    }
}
