//! The HTTP API: `api::handle` (every route) and `serialisation_key` over the in-memory ports.
//!
//! The input is requests written as text (see `src/script.rs`), sent after a conversation was
//! opened, with webhook answers for the fulfillment calls they cause.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| switchboard_fuzz::api::run(text));
