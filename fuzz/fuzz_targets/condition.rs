//! Route conditions (`Condition::parse`), then `holds` on parameters.
//!
//! The first line is the condition (`$amount >= 100 and not $vip`), as the agent loader parses
//! it; the rest, when it is a JSON object, are the session parameters it is checked against.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_dialog::condition::Condition;

fuzz_target!(|text: &str| {
    let (source, parameters) = text.split_once('\n').unwrap_or((text, "{}"));
    if let Ok(condition) = Condition::parse(source) {
        let parameters = serde_json::from_str(parameters).unwrap_or_default();
        let _ = condition.holds(&parameters);
    }
});
