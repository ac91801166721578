//! The sign-in form both pages open with: one password field for a token.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// A form asking for a token; submitting hands it to `on_token`.
#[component]
pub fn SignIn(
    /// The page's heading, e.g. "Agent console".
    title: &'static str,
    /// What the token is called, e.g. "Agent token".
    label: &'static str,
    /// Why the last attempt failed, shown under the field.
    error: Signal<Option<String>>,
    /// Receives the token typed.
    on_token: Callback<String>,
) -> impl IntoView {
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let input = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
            .and_then(|form| form.elements().named_item("token"))
            .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok());
        if let Some(token) = input.map(|i| i.value().trim().to_owned()).filter(|t| !t.is_empty()) {
            on_token.run(token);
        }
    };
    view! {
        <main class="signin">
            <h1>{title}</h1>
            <form class="signin-form" on:submit=submit>
                <label for="token">{label}</label>
                <input id="token" name="token" type="password" autocomplete="current-password" required
                    aria-describedby="signin-error" />
                <button type="submit">"Sign in"</button>
                <p id="signin-error" class="error" role="alert">{move || error.get()}</p>
            </form>
        </main>
    }
}
