//! The Switchboard agent console and analytics dashboard: a Leptos client-side app served with
//! the product at `/console/` (its own wasm, apart from the customer widget and its size
//! budget). Each page loads the module and mounts its part:
//!
//! ```js
//! import init, { console_page } from "./switchboard_console.js";
//! await init();
//! console_page(); // or dashboard_page() in dashboard.html
//! ```
//!
//! - [`console`]: sign in with an agent token (`AGENT_TOKENS`), the queue of conversations
//!   waiting for or with a human, one conversation at a time ([`thread`]): claim, reply,
//!   resolve, hand back to the bot. Both are polled, so new messages appear without a reload.
//! - [`dashboard`]: sign in with the admin token; `GET /v1/analytics` drawn as inline SVG
//!   charts, and unmatched utterances turned into a training-phrase patch file.
//!
//! Tokens are kept in `sessionStorage` ([`session`]); text is always rendered as text.

pub mod api;
pub mod console;
pub mod dashboard;
pub mod format;
pub mod queue;
pub mod session;
pub mod signin;
pub mod thread;

use wasm_bindgen::prelude::*;

/// Mounts the agent console into the page's `<body>`.
#[wasm_bindgen]
pub fn console_page() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(console::ConsolePage);
}

/// Mounts the analytics dashboard into the page's `<body>`.
#[wasm_bindgen]
pub fn dashboard_page() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(dashboard::DashboardPage);
}
