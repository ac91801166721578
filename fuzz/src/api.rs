//! The API target's world: the demo agent behind an edge kept in memory, one conversation
//! opened, and a fake HTTP client that answers fulfillment calls from the script.

use crate::script::{self, Section};
use futures_executor::block_on;
use std::sync::OnceLock;
use switchboard_dialog::agent::Agent;
use switchboard_edge::Config;
use switchboard_edge::api::{self, ApiRequest};
use switchboard_edge::identity::{sign_jwt, user_hash};
use switchboard_edge::memory::{self, ScriptedHttp};
use switchboard_edge::ports::Clock;

/// The demo agent, trained once per process.
fn agent() -> &'static Agent {
    static AGENT: OnceLock<Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        Agent::from_json(include_str!("../../edge/agents/retail-demo.json")).expect("the demo agent loads")
    })
}

/// Whether `SWITCHBOARD_FUZZ_DEBUG` is set: each response is printed (to check what a seed
/// reaches).
fn debug() -> bool {
    static DEBUG: OnceLock<bool> = OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("SWITCHBOARD_FUZZ_DEBUG").is_some())
}

/// Runs a script (see [`script`]) against a fresh edge, as the worker does each request: the
/// serialisation key first, then the router.
pub fn run(text: &str) {
    let config = Config { fulfillment_url: Some("http://127.0.0.1:9/hook".into()), ..Config::for_tests() };
    let keys = config.identity.clone().expect("the test config verifies identities");
    let edge = memory::edge(agent(), config, ScriptedHttp::default());
    let opened = block_on(api::handle(&edge, ApiRequest::post("/v1/conversations", r#"{"channel":"web"}"#)));
    let opened: serde_json::Value = serde_json::from_str(&opened.body).expect("a conversation opens");
    let field = |name: &str| opened[name].as_str().expect("conversation fields").to_owned();
    // Valid for an hour of the edge's clock, which each request moves on by a few seconds.
    let exp = edge.clock.now_ms() / 1000 + 3600;
    let claims = serde_json::json!({"sub": "user-1", "email": "ada@example.com", "phone": "+15550001234", "exp": exp});
    let jwt = sign_jwt(&keys.jwt, &claims);
    let hash = user_hash(&keys.user_hash, "user-1");
    let (conversation, token) = (field("conversation_id"), field("token"));
    let values = [
        ("$conversation", conversation.as_str()),
        ("$token", token.as_str()),
        ("$admin", "admin-token"),
        ("$agent", "alice-token"),
        ("$jwt", jwt.as_str()),
        ("$user_hash", hash.as_str()),
    ];
    for section in script::parse(&script::substitute(text, &values)) {
        match section {
            Section::Webhook(answer) => edge.http.answers.borrow_mut().push_back(Ok(answer)),
            Section::Request(request) => {
                let _ = block_on(api::serialisation_key(&edge, &request));
                let line = format!("{} {}", request.method, request.path);
                let response = block_on(api::handle(&edge, request));
                if debug() {
                    eprintln!("{line} -> {} {}", response.status, response.body);
                }
            }
        }
    }
}
