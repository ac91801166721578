//! Component tests of the chat view in headless Chromium (wasm-bindgen-test).

use leptos::prelude::*;
use switchboard_dialog::protocol::{Message, Role};
use switchboard_widget::api::Client;
use switchboard_widget::panel::{ChatView, Status};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{HtmlElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

fn message(id: &str, role: Role, text: &str) -> Message {
    Message { id: id.into(), role, text: text.into(), quick_replies: Vec::new(), cards: Vec::new(), ts: 0 }
}

/// Lets Leptos' scheduled effects run (they are queued as tasks, not run synchronously).
async fn settle() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window().unwrap().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 10).unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

struct Mounted {
    root: HtmlElement,
    messages: WriteSignal<Vec<Message>>,
    status: WriteSignal<Status>,
    sent: RwSignal<Vec<String>>,
}

impl Mounted {
    fn new() -> Self {
        let document = web_sys::window().unwrap().document().unwrap();
        let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
        document.body().unwrap().append_child(&root).unwrap();
        let (messages, set_messages) = signal(vec![message("m1", Role::Bot, "Welcome to the shop!")]);
        let (status, set_status) = signal(Status::Ready);
        let sent = RwSignal::new(Vec::new());
        let on_send = Callback::new(move |text: String| sent.update(|v| v.push(text)));
        leptos::mount::mount_to(root.clone(), move || {
            view! { <ChatView title="Shop".to_owned() messages=messages status=status on_send=on_send /> }
        })
        .forget();
        Self { root, messages: set_messages, status: set_status, sent }
    }

    fn texts(&self, selector: &str) -> Vec<String> {
        let list = self.root.query_selector_all(selector).unwrap();
        (0..list.length()).map(|i| list.item(i).unwrap().text_content().unwrap_or_default()).collect()
    }

    fn input(&self) -> HtmlInputElement {
        self.root.query_selector(".sb-input").unwrap().unwrap().unchecked_into()
    }

    fn type_and_send(&self, text: &str) {
        let input = self.input();
        input.set_value(text);
        input.dispatch_event(&web_sys::Event::new("input").unwrap()).unwrap();
        let button: HtmlElement = self.root.query_selector(".sb-send").unwrap().unwrap().unchecked_into();
        button.click();
    }
}

#[wasm_bindgen_test]
async fn shows_messages_by_role_in_a_live_log() {
    let view = Mounted::new();
    settle().await;
    assert_eq!(view.texts(".sb-title"), ["Shop"]);
    assert_eq!(view.texts(".sb-bot"), ["Welcome to the shop!"]);
    let log = view.root.query_selector("ol[role=log]").unwrap().unwrap();
    assert_eq!(log.get_attribute("aria-live").as_deref(), Some("polite"));

    view.messages.update(|m| {
        m.push(message("local-1", Role::User, "Where is my order?"));
        m.push(message("m3", Role::Bot, "Can you provide your order number?"));
    });
    settle().await;
    assert_eq!(view.texts(".sb-user"), ["Where is my order?"]);
    assert_eq!(
        view.texts(".sb-message"),
        ["Welcome to the shop!", "Where is my order?", "Can you provide your order number?"]
    );
}

#[wasm_bindgen_test]
async fn sends_trimmed_text_and_clears_the_input() {
    let view = Mounted::new();
    settle().await;
    view.type_and_send("   123456  ");
    settle().await;
    assert_eq!(view.sent.get_untracked(), ["123456"]);
    assert_eq!(view.input().value(), "");
    view.type_and_send("    ");
    settle().await;
    assert_eq!(view.sent.get_untracked().len(), 1, "blank input is not sent");
}

#[wasm_bindgen_test]
async fn waiting_shows_typing_and_blocks_sending_and_failures_are_announced() {
    let view = Mounted::new();
    view.status.set(Status::Waiting);
    settle().await;
    assert_eq!(view.root.query_selector_all(".sb-typing").unwrap().length(), 1);
    view.type_and_send("hello");
    settle().await;
    assert!(view.sent.get_untracked().is_empty(), "no second send while a reply is pending");

    view.status.set(Status::Failed("Can't reach the assistant.".into()));
    settle().await;
    assert_eq!(view.root.query_selector_all(".sb-typing").unwrap().length(), 0);
    assert_eq!(view.texts("[role=alert]"), ["Can't reach the assistant."]);
}

#[wasm_bindgen_test]
fn client_normalises_the_endpoint() {
    assert_eq!(Client::new("https://support.example.com/".into()).endpoint(), "https://support.example.com");
}
