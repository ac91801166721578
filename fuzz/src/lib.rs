//! What the fuzz targets share: relays with every credential set, the API target's request
//! script, and the widget's markdown-lite parser.
//!
//! Each target in `fuzz_targets/` feeds its input to one public parsing entry point; a panic,
//! an arithmetic overflow (targets build with overflow checks) or a failed invariant is a
//! crash. `cargo xtask fuzz --list` names them.

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
