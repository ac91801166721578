//! Twilio Voice webhooks (query and form), parsed as the relay does after the signature check.
//!
//! The first line is the query string (`turn=2&noinput=1`), the rest the form body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_edge::channels::Channel;

fuzz_target!(|text: &str| {
    let (query, body) = text.split_once('\n').unwrap_or(("", text));
    switchboard_fuzz::parse_delivery(Channel::Voice, query, body.as_bytes());
});
