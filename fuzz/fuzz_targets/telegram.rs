//! Telegram Bot API updates (JSON), parsed as the relay does after the secret-token check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_edge::channels::Channel;

fuzz_target!(|body: &[u8]| switchboard_fuzz::parse_delivery(Channel::Telegram, "", body));
