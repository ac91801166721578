//! Switchboard's edge service: the HTTP API around the dialog engine, run as a Cloudflare Worker.
//!
//! Everything but [`glue`] is platform-free: the request logic is written against the small
//! traits in [`ports`] (context store, outbound HTTP, clock), so it runs natively in tests with
//! the in-memory implementations of [`memory`] and in the worker with KV and `fetch`.
//!
//! ```
//! use switchboard_edge::{api::{self, ApiRequest}, Config, Edge};
//! use switchboard_edge::memory::{MemoryAnalytics, MemoryStore, NoHttp, StepClock};
//! use switchboard_dialog::agent::Agent;
//!
//! let agent = Agent::from_json(include_str!("../agents/retail-demo.json")).unwrap();
//! let edge = Edge::new(&agent, Config::for_tests(), MemoryStore::default(), NoHttp, StepClock::default(),
//!                      MemoryAnalytics::default());
//! let request = ApiRequest::post("/v1/conversations", r#"{"channel":"web"}"#);
//! let response = futures_executor::block_on(api::handle(&edge, request));
//! assert_eq!(response.status, 201);
//! ```

pub mod analytics;
pub mod api;
pub mod channels;
pub mod config;
pub mod context;
pub mod conversation;
pub mod demo;
pub mod deployment;
pub mod desk;
pub mod error;
pub mod fulfillment;
pub mod golden;
pub mod handoff;
pub mod hub;
pub mod identity;
pub mod ids;
pub mod keys;
pub mod layout;
pub mod limits;
mod linking;
pub mod lookup;
pub mod memory;
pub mod outbox;
pub mod ports;
pub mod privacy;
pub mod token;
pub mod write_behind;

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod glue;

pub use config::Config;
pub use conversation::Edge;
