//! What the fuzz targets share: relays with every credential set, lookups to fill, the API
//! target's request script, and the widget's markdown-lite parser.
//!
//! Each target in `fuzz_targets/` feeds its input to one public parsing entry point; a panic,
//! an arithmetic overflow (targets build with overflow checks) or a failed invariant is a
//! crash. `cargo xtask fuzz --list` names them.

use std::sync::OnceLock;
use switchboard_dialog::agent::{Agent, Lookup};
use switchboard_edge::api::ApiRequest;
use switchboard_edge::channels::{self, Channel, Settings};

pub mod api;
pub mod script;

/// The widget's markdown-lite parser, compiled here on its own: it uses nothing but `std`,
/// so the fuzz build needs neither Leptos nor `web-sys`.
#[path = "../../widget/src/message/markdown.rs"]
pub mod markdown;

/// Relay settings with every credential a relay needs before it parses.
pub fn relay_settings() -> Settings {
    let mut settings = Settings::default();
    for (name, value) in [
        ("META_APP_SECRET", "meta-app-secret"),
        ("MESSENGER_PAGE_TOKEN", "page-token"),
        ("WHATSAPP_TOKEN", "wa-token"),
        ("TELEGRAM_BOT_TOKEN", "123:abc"),
        ("TELEGRAM_SECRET_TOKEN", "tg-secret"),
        ("TWILIO_AUTH_TOKEN", "twilio-auth-token"),
        ("TWILIO_ACCOUNT_SID", "AC1"),
    ] {
        settings.set(name, value).expect("valid settings");
    }
    settings
}

/// Parses a delivery to `channel` as its relay does after the signature was checked, and
/// resolves who sent each event (the identity and its index key).
pub fn parse_delivery(channel: Channel, query: &str, body: &[u8]) {
    let relay = channels::relay(channel, &relay_settings()).expect("every credential is set");
    let path = match channel {
        Channel::Sms => "/channels/twilio/sms".to_owned(),
        Channel::Voice => "/channels/twilio/voice".to_owned(),
        other => format!("/channels/{}", other.name()),
    };
    let request = ApiRequest {
        method: "POST".into(),
        url: format!("https://bot.example{path}?{query}"),
        path,
        query: query.into(),
        body: body.to_vec(),
        ..ApiRequest::default()
    };
    if let Ok(events) = relay.parse(&request) {
        for event in &events {
            let _ = relay.identity(event).index_key();
        }
    }
}

/// An agent whose lookups put parameters in a path, a query and a body, and read fields,
/// lists and statuses from the answer.
const LOOKUP_AGENT: &str = r#"
name: Lookups
fallback: ["?"]
webhook_error: ["!"]
webhooks:
  order:
    kind: http
    url: https://api.shop.example/v2/orders/$order/items?lang=$lang&q=$order
    reply:
      messages: ["Order $order is ${/order/status}: ${/order/items} (${/a~1b/~0c/0}) $eta"]
      set: { eta: /order/eta, status: /order/status, missing: /no/such }
    on_status:
      404: { messages: ["No order $order."] }
      503: { messages: ["Later, $lang."], set: { retry: /retry } }
  returns:
    kind: http
    method: POST
    url: https://api.shop.example/$lang/returns
    body: { order: $order, reason: "Customer says: $reason", list: [$order, "$lang"], nested: { n: 1 } }
    reply: { set: { return-id: /id } }
intents:
  - name: Order
    training_phrases: [where is order 123]
    parameters:
      - { name: order, entity: "@sys.any" }
      - { name: lang, entity: "@sys.any" }
      - { name: reason, entity: "@sys.any" }
    fulfillment: { webhook: order, tag: order }
  - name: Return
    training_phrases: [return order 123]
    fulfillment: { webhook: returns, tag: returns }
"#;

/// The lookups of [`LOOKUP_AGENT`], each with the origin its requests must go to.
pub fn lookups() -> Vec<(&'static str, &'static Lookup)> {
    static AGENT: OnceLock<Agent> = OnceLock::new();
    let agent = AGENT.get_or_init(|| Agent::from_yaml(LOOKUP_AGENT).expect("the lookup agent loads"));
    agent.webhooks.values().filter_map(|w| w.lookup.as_ref()).map(|l| ("https://api.shop.example/", l)).collect()
}
