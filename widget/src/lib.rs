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
//!
//! After that the two talk through DOM events on the panel element: the loader dispatches
//! `switchboard:command` (`{ name: "sendMessage" | "identify" | "setLocale" | "shutdown", value }`)
//! and the widget dispatches `switchboard:event` (`{ name: "message", value: { id, role, text } }`).
//!
//! Size is a product budget (everything a visitor downloads on the first open, `cargo xtask
//! size`). Habits that keep the wasm small, each measured: the browser's `fetch` and JSON
//! through [`json`] (no HTTP crate, no `serde_json`); `concat` rather than `format!`;
//! `{move || cond.then(|| view! { … })}` rather than `<Show>`; uncontrolled inputs read on
//! submit; no `{:?}` or float formatting in shipped code.

pub mod api;
pub mod i18n;
pub mod json;
pub mod message;
pub mod panel;
pub mod session;

use leptos::prelude::*;
use panel::Command;
use switchboard_dialog::protocol::Identify;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// Mounts the chat panel into `root` (an element inside the loader's shadow root), talking to
/// the API at `endpoint` (for the agent named `agent`, when not empty), titled `title`, with the
/// `avatar` image (an `https` URL; otherwise the title's initial).
#[wasm_bindgen]
pub fn mount(root: web_sys::HtmlElement, endpoint: String, agent: String, title: String, avatar: String) {
    // Release builds abort on panic without a message (see xtask's build); debug builds
    // (component tests) print it.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    let client = api::Client::new(endpoint).with_agent(agent);
    let commands = RwSignal::new(Vec::<Command>::new());
    let listener = Closure::<dyn Fn(web_sys::CustomEvent)>::new(move |event: web_sys::CustomEvent| {
        if let Some(command) = command(&event.detail()) {
            commands.update(|c| c.push(command));
        }
    });
    let _ = root.add_event_listener_with_callback("switchboard:command", listener.as_ref().unchecked_ref());
    listener.forget();
    let target = root.clone();
    let on_event = Callback::new(move |(name, value): (String, JsValue)| {
        let detail = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&detail, &"name".into(), &name.into());
        let _ = js_sys::Reflect::set(&detail, &"value".into(), &value);
        let init = web_sys::CustomEventInit::new();
        init.set_detail(&detail);
        if let Ok(event) = web_sys::CustomEvent::new_with_event_init_dict("switchboard:event", &init) {
            let _ = target.dispatch_event(&event);
        }
    });
    leptos::mount::mount_to(root, move || {
        view! { <panel::ChatPanel client=client title=title avatar=avatar commands=commands on_event=on_event /> }
    })
    .forget();
}

/// Reads a `switchboard:command` detail; unknown or malformed commands are ignored.
fn command(detail: &JsValue) -> Option<Command> {
    let field = |name: &str| js_sys::Reflect::get(detail, &name.into()).ok();
    let name = field("name")?.as_string()?;
    let value = field("value").unwrap_or(JsValue::UNDEFINED);
    let text = |v: &JsValue| v.as_string().filter(|s| !s.trim().is_empty());
    match name.as_str() {
        "sendMessage" => text(&value).map(Command::SendMessage),
        "setLocale" => text(&value).map(Command::SetLocale),
        "shutdown" => Some(Command::Shutdown),
        "identify" => {
            let get = |k: &str| js_sys::Reflect::get(&value, &k.into()).ok().and_then(|v| v.as_string());
            Some(Command::Identify(Identify {
                user_id: get("user_id"),
                user_hash: get("user_hash"),
                jwt: get("jwt"),
                name: get("name"),
                email: get("email"),
                phone: get("phone"),
            }))
        }
        _ => None,
    }
}
