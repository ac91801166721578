//! The Switchboard chat widget: a Leptos client-side app mounted inside the shadow root that
//! `public/embed.js` creates, so the host page's CSS cannot reach it.
//!
//! The loader imports the wasm-bindgen output on the first open and calls [`mount`]:
//!
//! ```js
//! const widget = await import(base + "switchboard_widget.js");
//! await widget.default();
//! widget.mount(panelElement, "https://support.example.com", "Support");
//! ```

pub mod api;
pub mod panel;
pub mod session;

use wasm_bindgen::prelude::*;

/// Mounts the chat panel into `root` (an element inside the loader's shadow root), talking to
/// the API at `endpoint` and titled `title`.
#[wasm_bindgen]
pub fn mount(root: web_sys::HtmlElement, endpoint: String, title: String) {
    console_error_panic_hook::set_once();
    let client = api::Client::new(endpoint);
    leptos::mount::mount_to(root, move || leptos::view! { <panel::ChatPanel client=client title=title /> }).forget();
}
