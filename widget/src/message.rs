//! One message of the log: markdown-lite text, images, cards, quick replies, time and
//! feedback buttons.
//!
//! Text is never parsed as HTML. Markdown-lite is split into inline pieces rendered as DOM
//! nodes (`<strong>`, `<em>`, `<a>`, `<img>`), and only `http(s)` URLs become links or images,
//! so a message with `<script>` or `javascript:` shows those characters as text.
//!
//! A message never changes once shown (a vote replaces its buttons by a thank-you), so it is
//! built once with plain DOM calls rather than as a Leptos view: per message kind, a view
//! costs several KB of generated code, and the widget's download is a product budget. The
//! buttons carry `data-` attributes that one click handler on the log reads ([`Click`]).

pub mod markdown;

use crate::i18n::Strings;
use switchboard_dialog::protocol::{Message, Role};
use wasm_bindgen::JsValue;
use web_sys::Element;

use markdown::is_web;
pub use markdown::{Inline, markdown_lite};

/// What a click in the log asks for, read from the button's `data-` attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Click {
    /// A quick reply or card button: (label, payload).
    Choose(String, String),
    /// A thumbs vote on a message (`None`: on the whole conversation) and whether it helped.
    Vote(Option<String>, bool),
}

/// Reads what a click on `target` (or inside it) means; a vote also swaps its buttons for
/// the thank-you text, so each message takes one vote.
pub fn click(target: &Element, strings: &Strings) -> Option<Click> {
    let button = target.closest("button").ok()??;
    if let Some(payload) = button.get_attribute("data-payload") {
        return Some(Click::Choose(button.text_content().unwrap_or_default(), payload));
    }
    let helpful = button.get_attribute("data-vote")? == "1";
    let item = button.closest("[data-id]").ok()??;
    let id = item.get_attribute("data-id").filter(|id| !id.starts_with(NOTICE));
    let votes = button.parent_element()?;
    votes.replace_children_with_node_0();
    add(&votes, "span", "sb-thanks").append_with_str_1(strings.thanks).ok()?;
    Some(Click::Vote(id, helpful))
}

/// A message typed here and not yet accepted by the API.
pub fn is_unsent(id: &str) -> bool {
    id.starts_with("local-") && !id.ends_with("-sent")
}

/// Ids of messages the widget shows on its own (notices), never sent to the API.
pub const NOTICE: &str = "notice-";

/// Makes the list's items show `messages`: items whose ids still lead the list stay (with
/// their votes), the rest are rebuilt. Messages are appended far more often than anything
/// else happens (a sent message's id changes once; a new conversation replaces all).
pub fn sync(list: &Element, messages: &[Message], strings: &'static Strings, locale: &str) {
    // Items carry the words and times of their locale: a new one rebuilds them all.
    if list.get_attribute("data-locale").as_deref() != Some(locale) {
        list.replace_children_with_node_0();
        let _ = list.set_attribute("data-locale", locale);
    }
    let items = list.children();
    let mut kept = 0;
    while let Some(item) = items.item(kept)
        && messages.get(kept as usize).is_some_and(|m| item.get_attribute("data-id").as_deref() == Some(m.id.as_str()))
    {
        kept += 1;
    }
    while let Some(stale) = items.item(kept) {
        stale.remove();
    }
    for message in &messages[kept as usize..] {
        fill(add(list, "li", ""), message.clone(), strings, locale);
    }
}

/// Fills the `<li>` of one message: its bubble, images, cards, quick replies, time and, for
/// the bot's and agents' messages, feedback buttons. Notices (ids starting with [`NOTICE`])
/// are one centred line; `notice-feedback…` asks "Was this helpful?" about the conversation.
fn fill(item: Element, message: Message, strings: &Strings, locale: &str) {
    let _ = item.set_attribute("data-id", &message.id);
    if message.id.starts_with(NOTICE) {
        item.set_class_name("sb-notice");
        let _ = item.set_attribute("role", "status");
        let _ = item.append_with_str_1(&message.text);
        if message.id[NOTICE.len()..].starts_with("feedback") {
            votes(&item, strings);
        }
        return;
    }
    item.set_class_name(match message.role {
        Role::User => "sb-message sb-user",
        Role::Bot => "sb-message sb-bot",
        Role::Agent => "sb-message sb-agent",
    });
    if let Some(author) = &message.author {
        let _ = add(&item, "span", "sb-author").append_with_str_1(author);
    }
    if !message.text.is_empty() {
        let bubble = add(&item, "div", "sb-text");
        let _ = bubble.set_attribute("dir", "auto");
        rich_text(&bubble, &message.text);
    }
    if !message.cards.is_empty() {
        let cards = add(&item, "ul", "sb-cards");
        for card in message.cards {
            let li = add(&cards, "li", "sb-card");
            let _ = li.set_attribute("dir", "auto");
            if let Some(src) = card.image.filter(|i| is_web(i)) {
                image(&li, &src, "", "sb-card-image");
            }
            let _ = add(&li, "p", "sb-card-title").append_with_str_1(&card.title);
            if let Some(subtitle) = card.subtitle {
                let _ = add(&li, "p", "sb-card-subtitle").append_with_str_1(&subtitle);
            }
            let buttons = add(&li, "div", "sb-card-buttons");
            for b in card.buttons {
                match b.url.filter(|u| is_web(u)) {
                    Some(url) => {
                        link(&buttons, &url, &b.label).set_class_name("sb-button");
                    }
                    None => choice(&buttons, "sb-button", &b.label, b.payload),
                }
            }
        }
    }
    if !message.quick_replies.is_empty() {
        // Shown on the latest message only (the stylesheet hides the others').
        let quick = add(&item, "div", "sb-quick");
        let _ = quick.set_attribute("role", "group");
        let _ = quick.set_attribute("aria-label", strings.suggestions);
        for q in message.quick_replies {
            choice(&quick, "sb-chip", &q.label, q.payload);
        }
    }
    let local = message.id.starts_with("local-");
    time(&item, if local { js_sys::Date::now() } else { message.ts as f64 }, locale);
    if is_unsent(&message.id) {
        // Visible while the panel is offline (the stylesheet shows it).
        let queued = add(&item, "span", "sb-queued");
        let _ = queued.set_attribute("aria-hidden", "true");
        let _ = queued.append_with_str_1(strings.queued);
    }
    if message.role != Role::User && !local {
        votes(&item, strings);
    }
}

/// Appends `text` as markdown-lite nodes.
pub fn rich_text(parent: &Element, text: &str) {
    for piece in markdown_lite(text) {
        let _ = match piece {
            Inline::Text(t) => parent.append_with_str_1(&t),
            Inline::Bold(t) => add(parent, "strong", "").append_with_str_1(&t),
            Inline::Italic(t) => add(parent, "em", "").append_with_str_1(&t),
            Inline::Link { text, href } => {
                link(parent, &href, &text);
                Ok(())
            }
            Inline::Image { alt, src } => {
                image(parent, &src, &alt, "sb-image");
                Ok(())
            }
        };
    }
}

/// Thumbs up and down, for a message or (in a notice) the conversation.
fn votes(item: &Element, strings: &Strings) {
    let box_ = add(item, "div", "sb-feedback");
    for (vote, label, class) in [("1", strings.helpful, "sb-vote"), ("0", strings.not_helpful, "sb-vote sb-down")] {
        let button = add(&box_, "button", class);
        let _ = button.set_attribute("type", "button");
        let _ = button.set_attribute("data-vote", vote);
        let _ = button.set_attribute("aria-label", label);
        let _ = button.append_with_node_1(&icon(THUMB));
    }
}

/// A button whose click sends `payload` (or its label).
fn choice(parent: &Element, class: &str, label: &str, payload: Option<String>) {
    let button = add(parent, "button", class);
    let _ = button.set_attribute("type", "button");
    let _ = button.set_attribute("data-payload", payload.as_deref().unwrap_or(label));
    let _ = button.append_with_str_1(label);
}

fn link(parent: &Element, href: &str, text: &str) -> Element {
    let a = add(parent, "a", "");
    let _ = a.set_attribute("href", href);
    let _ = a.set_attribute("target", "_blank");
    let _ = a.set_attribute("rel", "noopener noreferrer");
    let _ = a.append_with_str_1(text);
    a
}

fn image(parent: &Element, src: &str, alt: &str, class: &str) {
    let img = add(parent, "img", class);
    let _ = img.set_attribute("src", src);
    let _ = img.set_attribute("alt", alt);
    let _ = img.set_attribute("loading", "lazy");
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// `Intl.getCanonicalLocales`, which throws on a malformed tag.
    #[wasm_bindgen(js_namespace = Intl, js_name = getCanonicalLocales, catch)]
    fn canonical_locales(locale: &str) -> Result<js_sys::Array, JsValue>;
}

/// `<time datetime="…">` with the hour and minute in the visitor's language. A malformed
/// locale (`de_DE`, which `toLocaleTimeString` would throw on) is mended or replaced by `en`.
fn time(parent: &Element, ms: f64, locale: &str) {
    let locale = canonical_locales(&locale.replace('_', "-")).ok().and_then(|l| l.get(0).as_string());
    let locale = locale.as_deref().unwrap_or("en");
    let date = js_sys::Date::new(&JsValue::from_f64(ms));
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"timeStyle".into(), &"short".into());
    let time = add(parent, "time", "sb-time");
    let _ = time.set_attribute("datetime", &String::from(date.to_iso_string()));
    let _ = time.append_with_str_1(&String::from(date.to_locale_time_string_with_options(locale, &options)));
}

/// Fills the header's avatar: the image at `src` when it is a web URL, else `initial`.
pub fn avatar(badge: &Element, src: &str, initial: &str) {
    badge.replace_children_with_node_0();
    if is_web(src) {
        image(badge, src, "", "sb-avatar-image");
    } else {
        let _ = badge.append_with_str_1(initial);
    }
}

/// Material Symbols' thumb up (Apache 2.0); thumb down is the same turned over (stylesheet).
const THUMB: &str = "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z";

/// Material Symbols' send arrow (Apache 2.0); mirrored for right-to-left (stylesheet).
pub const SEND: &str = "M2.01 21L23 12 2.01 3 2 10l15 2-15 2z";

/// An inline SVG icon (24×24 path), hidden from assistive technology: its button has a label.
pub fn icon(path: &str) -> Element {
    let ns = Some("http://www.w3.org/2000/svg");
    let document = document();
    let svg = document.create_element_ns(ns, "svg").expect("svg");
    let _ = svg.set_attribute("viewBox", "0 0 24 24");
    let _ = svg.set_attribute("aria-hidden", "true");
    let path_el = document.create_element_ns(ns, "path").expect("path");
    let _ = path_el.set_attribute("d", path);
    let _ = svg.append_with_node_1(&path_el);
    svg
}

fn document() -> web_sys::Document {
    web_sys::window().and_then(|w| w.document()).expect("a document")
}

/// Appends a new `tag` element (with `class`, unless empty) to `parent`.
fn add(parent: &Element, tag: &str, class: &str) -> Element {
    let el = document().create_element(tag).expect("a valid tag");
    if !class.is_empty() {
        el.set_class_name(class);
    }
    let _ = parent.append_with_node_1(&el);
    el
}
