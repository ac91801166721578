//! Messenger webhook deliveries (JSON), parsed as the relay does after the signature check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_edge::channels::Channel;

fuzz_target!(|body: &[u8]| switchboard_fuzz::parse_delivery(Channel::Messenger, "", body));
