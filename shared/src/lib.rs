//! Switchboard's dialog engine: agent definitions, language understanding and sans-IO turns.
//!
//! The engine does no I/O. A turn is a pure function of the agent, the conversation state
//! and the user's input; it returns the new state, the messages to show and the effects the
//! host must carry out (call a fulfillment webhook, end the session). The host feeds webhook
//! results back with [`dialog::resume`].
//!
//! ```
//! use switchboard_dialog::{agent::Agent, dialog::{self, DialogState, Effect, UserInput}};
//!
//! let agent = Agent::from_json(r#"{
//!   "name": "demo",
//!   "fallback": ["Sorry?"],
//!   "webhook_error": ["Our systems are busy."],
//!   "webhooks": { "orders": { "url": "https://example.com/hook" } },
//!   "intents": [{
//!     "name": "CheckOrderStatus",
//!     "training_phrases": ["where is my order", "track order", "order status"],
//!     "parameters": [{ "name": "order-number", "entity": "@sys.number",
//!                      "mandatory": true, "prompts": ["Can you provide your order number?"] }],
//!     "fulfillment": { "webhook": "orders", "tag": "order-status" }
//!   }]
//! }"#).unwrap();
//!
//! let turn = dialog::step(&agent, &DialogState::default(), &UserInput::text("Where is my order?"));
//! assert_eq!(turn.messages[0].text, "Can you provide your order number?");
//!
//! let turn = dialog::step(&agent, &turn.state, &UserInput::text("123456"));
//! let Effect::CallWebhook { request, .. } = &turn.effects[0] else { panic!() };
//! assert_eq!(request.session_info.parameters["order-number"], 123456);
//! ```
#![warn(missing_docs)]

pub mod agent;
pub mod condition;
pub mod dialog;
pub mod entity;
pub mod flow;
pub mod import;
pub mod nlu;
pub mod protocol;
pub mod response;
pub mod webhook;
