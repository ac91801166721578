//! Agent files in JSON (`Agent::from_json`), then a greeting and a turn on what loads.
//!
//! As `switchboard validate` and `PUT /v1/admin/agent` load them: an agent that validates must
//! also be usable, so it greets and answers a turn.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_dialog::agent::Agent;
use switchboard_dialog::dialog::{DialogState, UserInput, step};

fuzz_target!(|text: &str| {
    if let Ok(agent) = Agent::from_json(text) {
        let welcome = step(&agent, &DialogState::default(), &UserInput::Welcome);
        let _ = step(&agent, &welcome.state, &UserInput::text("where is my order 123456?"));
    }
});
