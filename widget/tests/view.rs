//! Component tests of the chat view in headless Chromium (wasm-bindgen-test).

use leptos::prelude::*;
use switchboard_dialog::protocol::{Card, CardButton, Message, QuickReply, Role};
use switchboard_widget::api::Client;
use switchboard_widget::i18n;
use switchboard_widget::panel::{ChatView, Status};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{HtmlElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

fn message(id: &str, role: Role, text: &str) -> Message {
    Message {
        id: id.into(),
        role,
        text: text.into(),
        quick_replies: Vec::new(),
        cards: Vec::new(),
        ts: 0,
        author: None,
    }
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
    chosen: RwSignal<Vec<(String, String)>>,
    votes: RwSignal<Vec<(Option<String>, bool)>>,
    locale: RwSignal<&'static str>,
}

impl Mounted {
    fn new() -> Self {
        let document = web_sys::window().unwrap().document().unwrap();
        if document.get_element_by_id("sb-style").is_none() {
            // The widget's stylesheet: some behaviour (quick replies of older messages hidden,
            // the offline marker) is CSS.
            let style = document.create_element("style").unwrap();
            style.set_id("sb-style");
            style.set_text_content(Some(include_str!("../style.css")));
            document.head().unwrap().append_child(&style).unwrap();
        }
        let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
        document.body().unwrap().append_child(&root).unwrap();
        let (messages, set_messages) = signal(vec![message("m1", Role::Bot, "Welcome to the shop!")]);
        let (status, set_status) = signal(Status::Ready);
        let sent = RwSignal::new(Vec::new());
        let on_send = Callback::new(move |text: String| sent.update(|v| v.push(text)));
        let chosen = RwSignal::new(Vec::new());
        let on_choose = Callback::new(move |c: (String, String)| chosen.update(|v| v.push(c)));
        let votes = RwSignal::new(Vec::new());
        let on_feedback = Callback::new(move |v: (Option<String>, bool)| votes.update(|all| all.push(v)));
        let locale = RwSignal::new("en");
        // As the panel does: a new locale renders a new view.
        leptos::mount::mount_to(root.clone(), move || {
            move || {
                view! {
                    <ChatView title="Shop".to_owned() messages=messages status=status
                        strings=i18n::strings(locale.get()) locale=locale.get()
                        on_send=on_send on_choose=on_choose on_feedback=on_feedback />
                }
            }
        })
        .forget();
        Self { root, messages: set_messages, status: set_status, sent, chosen, votes, locale }
    }

    fn texts(&self, selector: &str) -> Vec<String> {
        let list = self.root.query_selector_all(selector).unwrap();
        (0..list.length()).map(|i| list.item(i).unwrap().text_content().unwrap_or_default()).collect()
    }

    /// The texts of the matching elements that are displayed.
    fn shown(&self, selector: &str) -> Vec<String> {
        let list = self.root.query_selector_all(selector).unwrap();
        (0..list.length())
            .map(|i| list.item(i).unwrap().unchecked_into::<HtmlElement>())
            .filter(|e| e.offset_parent().is_some())
            .map(|e| e.text_content().unwrap_or_default())
            .collect()
    }

    fn click(&self, selector: &str) {
        let button: HtmlElement = self.root.query_selector(selector).unwrap().expect(selector).unchecked_into();
        button.click();
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
    assert_eq!(view.texts(".sb-avatar"), ["S"], "without an image, the title's initial");
    assert_eq!(view.root.query_selector_all(".sb-send svg[aria-hidden=true]").unwrap().length(), 1);
    assert_eq!(view.texts(".sb-bot .sb-text"), ["Welcome to the shop!"]);
    let log = view.root.query_selector("[role=log]").unwrap().unwrap();
    assert_eq!(log.get_attribute("aria-live").as_deref(), Some("polite"));

    view.messages.update(|m| {
        m.push(message("local-1", Role::User, "Where is my order?"));
        m.push(message("m3", Role::Bot, "Can you provide your order number?"));
    });
    settle().await;
    assert_eq!(view.texts(".sb-user .sb-text"), ["Where is my order?"]);
    assert_eq!(
        view.texts(".sb-message .sb-text"),
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
    assert_eq!(view.sent.get_untracked(), ["hello"], "typing on while a reply is pending queues the message");

    view.status.set(Status::Failed("Can't reach the assistant.".into()));
    settle().await;
    assert_eq!(view.root.query_selector_all(".sb-typing").unwrap().length(), 0);
    assert_eq!(view.texts("[role=alert]"), ["Can't reach the assistant."]);
}

#[wasm_bindgen_test]
fn client_normalises_the_endpoint() {
    assert_eq!(Client::new("https://support.example.com/".into()).endpoint(), "https://support.example.com");
}

#[wasm_bindgen_test]
async fn quick_replies_and_cards_send_their_payloads_and_links_open_safely() {
    let view = Mounted::new();
    let mut rich = message("m2", Role::Bot, "Is it plugged in?");
    rich.quick_replies = vec![
        QuickReply { label: "Yes".into(), payload: None },
        QuickReply { label: "Not sure".into(), payload: Some("no".into()) },
    ];
    rich.cards = vec![Card {
        title: "Arc desk lamp".into(),
        subtitle: Some("49 €".into()),
        image: Some("javascript:alert(1)".into()),
        buttons: vec![
            CardButton { label: "View".into(), payload: None, url: Some("https://shop.example/arc".into()) },
            CardButton { label: "Book".into(), payload: Some("book a consultation".into()), url: None },
            CardButton { label: "Evil".into(), payload: None, url: Some("javascript:alert(1)".into()) },
        ],
    }];
    view.messages.update(|m| m.push(rich));
    settle().await;
    assert_eq!(view.shown(".sb-chip"), ["Yes", "Not sure"]);
    view.click(".sb-chip:nth-child(2)");
    view.click(".sb-card button.sb-button");
    settle().await;
    assert_eq!(
        view.chosen.get_untracked(),
        [("Not sure".to_owned(), "no".to_owned()), ("Book".to_owned(), "book a consultation".to_owned())]
    );
    let links = view.root.query_selector_all(".sb-card a").unwrap();
    assert_eq!(links.length(), 1, "only the https button is a link");
    let link: web_sys::Element = links.item(0).unwrap().unchecked_into();
    assert_eq!(link.get_attribute("href").as_deref(), Some("https://shop.example/arc"));
    assert_eq!(link.get_attribute("rel").as_deref(), Some("noopener noreferrer"));
    assert_eq!(view.root.query_selector_all(".sb-card img").unwrap().length(), 0, "no javascript: image");
    // Quick replies belong to the latest message only.
    view.messages.update(|m| m.push(message("m3", Role::Bot, "Thanks.")));
    settle().await;
    assert!(view.shown(".sb-chip").is_empty());
}

#[wasm_bindgen_test]
async fn markup_in_any_message_is_shown_as_text() {
    let view = Mounted::new();
    let xss = "<img src=x onerror=alert(1)><script>alert(2)</script>";
    view.messages.update(|m| {
        m.push(message("m2", Role::Bot, xss));
        m.push(message("m3", Role::Agent, xss));
        m.push(message("local-1", Role::User, xss));
        m.push(message("m4", Role::Bot, "**Bold** and [a link](https://shop.example) but [no](javascript:alert(3))"));
    });
    settle().await;
    assert_eq!(view.texts(".sb-text")[1..4], [xss, xss, xss]);
    assert_eq!(view.root.query_selector_all(".sb-text img, .sb-text script").unwrap().length(), 0);
    assert_eq!(view.texts(".sb-text strong"), ["Bold"]);
    let links = view.root.query_selector_all(".sb-text a").unwrap();
    assert_eq!(links.length(), 1);
}

#[wasm_bindgen_test]
async fn thumbs_vote_once_on_agent_messages_only() {
    let view = Mounted::new();
    view.messages.update(|m| m.push(message("local-1", Role::User, "hi")));
    settle().await;
    assert_eq!(view.root.query_selector_all(".sb-user .sb-vote").unwrap().length(), 0);
    let labels = |sel| {
        let list = view.root.query_selector_all(sel).unwrap();
        (0..list.length())
            .map(|i| list.item(i).unwrap().unchecked_into::<web_sys::Element>().get_attribute("aria-label").unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(labels(".sb-bot .sb-vote"), ["Helpful", "Not helpful"]);
    view.click(".sb-bot .sb-vote");
    settle().await;
    assert_eq!(view.votes.get_untracked(), [(Some("m1".to_owned()), true)]);
    assert_eq!(view.texts(".sb-thanks"), ["Thanks for your feedback!"]);
    assert_eq!(view.root.query_selector_all(".sb-bot .sb-vote").unwrap().length(), 0);

    // The end-of-conversation question votes on the whole conversation.
    view.messages.update(|m| m.push(message("notice-feedback", Role::Bot, "Was this helpful?")));
    settle().await;
    assert_eq!(view.texts(".sb-notice"), ["Was this helpful?"]);
    view.click(".sb-notice .sb-down");
    settle().await;
    assert_eq!(view.votes.get_untracked()[1], (None, false));
    assert_eq!(view.texts(".sb-notice .sb-thanks"), ["Thanks for your feedback!"]);
}

#[wasm_bindgen_test]
async fn labels_follow_the_locale() {
    let view = Mounted::new();
    view.locale.set("de");
    settle().await;
    assert_eq!(view.input().get_attribute("aria-label").as_deref(), Some("Nachricht eingeben"));
    let send = || view.root.query_selector(".sb-send").unwrap().unwrap().get_attribute("aria-label").unwrap();
    assert_eq!(send(), "Senden");
    let labels = |sel: &str| view.root.query_selector(sel).unwrap().unwrap().get_attribute("aria-label");
    assert_eq!(labels(".sb-bot .sb-vote").as_deref(), Some("Hilfreich"), "shown messages follow the locale too");
    // The view is rebuilt over the same elements: nothing drawn once is drawn twice.
    assert_eq!(view.root.query_selector_all(".sb-send svg").unwrap().length(), 1);
    assert_eq!(view.texts(".sb-avatar"), ["S"]);
    view.locale.set("he");
    settle().await;
    assert_eq!(send(), "שליחה");
    assert!(i18n::is_rtl("he-IL") && i18n::is_rtl("ar") && !i18n::is_rtl("de"));

    // Tags as sites write them (`de_DE`) or malformed ones still show every message and time.
    for tag in ["de_DE", "not a locale!"] {
        view.locale.set(tag);
        settle().await;
        assert_eq!(view.texts(".sb-bot .sb-text"), ["Welcome to the shop!"], "{tag}");
        assert!(view.texts("time").iter().all(|t| t.contains(':')), "{tag}: {:?}", view.texts("time"));
    }
}

#[wasm_bindgen_test]
async fn unsent_messages_are_marked_while_offline_and_every_message_has_its_time() {
    let view = Mounted::new();
    let mut reply = message("m2", Role::Bot, "![Arc lamp](https://shop.example/arc.jpg)");
    reply.ts = 1_700_000_000_000;
    view.messages.update(|m| {
        m.push(reply);
        m.push(message("local-1", Role::User, "Where is my order?"));
    });
    settle().await;
    assert!(view.shown(".sb-queued").is_empty(), "not marked while a send may still succeed");
    view.status.set(Status::Offline);
    settle().await;
    assert_eq!(view.shown(".sb-queued"), ["Not sent yet"]);
    assert_eq!(view.texts("[role=status]"), ["You're offline. Messages will be sent when the connection is back."]);

    let time = view.root.query_selector("[data-id=m2] time").unwrap().unwrap();
    assert_eq!(time.get_attribute("datetime").as_deref(), Some("2023-11-14T22:13:20.000Z"));
    assert!(time.text_content().unwrap().contains(':'), "hour and minute");
    assert_eq!(view.root.query_selector_all("time").unwrap().length(), 3);
    let image = view.root.query_selector("[data-id=m2] .sb-text img").unwrap().unwrap();
    assert_eq!(image.get_attribute("alt").as_deref(), Some("Arc lamp"));
}
