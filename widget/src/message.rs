//! One message of the log: markdown-lite text, quick replies, cards, and feedback buttons.
//!
//! Text is never parsed as HTML. Markdown-lite is split into inline pieces rendered as DOM
//! nodes (`<strong>`, `<em>`, `<a>`), and only `http(s)` links become anchors, so a message
//! with `<script>` or `javascript:` shows those characters as text.

use crate::i18n::Strings;
use leptos::prelude::*;
use switchboard_dialog::protocol::{Message, Role};

/// An inline piece of a message's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    /// Plain text.
    Text(String),
    /// `**bold**`.
    Bold(String),
    /// `*italics*` or `_italics_`.
    Italic(String),
    /// `[text](https://…)` or a bare `https://…`.
    Link {
        /// What is shown.
        text: String,
        /// Where it goes (http or https only).
        href: String,
    },
}

/// Splits `text` into inline pieces: `**bold**`, `*italics*`, `_italics_`, `[text](url)` and
/// bare URLs. Anything that does not close is plain text.
pub fn markdown_lite(text: &str) -> Vec<Inline> {
    let mut out: Vec<Inline> = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    let flush = |plain: &mut String, out: &mut Vec<Inline>| {
        if !plain.is_empty() {
            out.push(Inline::Text(std::mem::take(plain)));
        }
    };
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("**")
            && let Some(end) = after.find("**").filter(|&e| e > 0)
        {
            flush(&mut plain, &mut out);
            out.push(Inline::Bold(after[..end].to_owned()));
            rest = &after[end + 2..];
            continue;
        }
        if (c == '*' || c == '_') && !plain.ends_with(|p: char| p.is_alphanumeric()) {
            let after = &rest[1..];
            if let Some(end) = after.find(c).filter(|&e| e > 0 && !after[..e].starts_with(' ')) {
                flush(&mut plain, &mut out);
                out.push(Inline::Italic(after[..end].to_owned()));
                rest = &after[end + 1..];
                continue;
            }
        }
        if c == '['
            && let Some(close) = rest.find("](")
            && let Some(end) = rest[close + 2..].find(')')
        {
            let href = &rest[close + 2..close + 2 + end];
            if is_web(href) {
                flush(&mut plain, &mut out);
                out.push(Inline::Link { text: rest[1..close].to_owned(), href: href.to_owned() });
                rest = &rest[close + 3 + end..];
                continue;
            }
        }
        if (rest.starts_with("https://") || rest.starts_with("http://"))
            && !plain.ends_with(|p: char| p.is_alphanumeric())
        {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            // A sentence's last full stop or comma is not part of the link.
            let url = rest[..end].trim_end_matches(['.', ',', ')', '!', '?', ';', ':']);
            flush(&mut plain, &mut out);
            out.push(Inline::Link { text: url.to_owned(), href: url.to_owned() });
            rest = &rest[url.len()..];
            continue;
        }
        plain.push(c);
        rest = &rest[c.len_utf8()..];
    }
    flush(&mut plain, &mut out);
    out
}

fn is_web(href: &str) -> bool {
    (href.starts_with("https://") || href.starts_with("http://")) && !href.contains(char::is_whitespace)
}

/// Renders markdown-lite text as nodes.
#[component]
pub fn RichText(
    /// The message text.
    text: String,
) -> impl IntoView {
    markdown_lite(&text)
        .into_iter()
        .map(|piece| match piece {
            Inline::Text(t) => view! { <span>{t}</span> }.into_any(),
            Inline::Bold(t) => view! { <strong>{t}</strong> }.into_any(),
            Inline::Italic(t) => view! { <em>{t}</em> }.into_any(),
            Inline::Link { text, href } => {
                view! { <a href=href target="_blank" rel="noopener noreferrer">{text}</a> }.into_any()
            }
        })
        .collect_view()
}

/// One message: bubble, cards, and, for the agent's messages, feedback buttons.
#[component]
pub fn MessageItem(
    /// The message.
    message: Message,
    /// Called with (label, payload) when a quick reply or a card's payload button is pressed.
    on_choose: Callback<(String, String)>,
    /// Called with (message id, helpful) on a thumbs vote.
    on_feedback: Callback<(String, bool)>,
    /// Show the quick replies (only the latest message's are live).
    #[prop(into)]
    latest: Signal<bool>,
    /// The panel's words.
    strings: Signal<&'static Strings>,
) -> impl IntoView {
    let class = match message.role {
        Role::User => "sb-message sb-user",
        Role::Bot => "sb-message sb-bot",
        Role::Agent => "sb-message sb-agent",
    };
    let voted = RwSignal::new(None::<bool>);
    let id = message.id.clone();
    let votable = message.role != Role::User && !id.starts_with("local-");
    let quick = message.quick_replies.clone();
    let cards = message.cards.clone();
    let choose = move |label: String, payload: Option<String>| {
        let payload = payload.unwrap_or_else(|| label.clone());
        move |_| on_choose.run((label.clone(), payload.clone()))
    };
    let vote = move |helpful: bool| {
        let id = id.clone();
        move |_| {
            if voted.get_untracked().is_none() {
                voted.set(Some(helpful));
                on_feedback.run((id.clone(), helpful));
            }
        }
    };
    view! {
        <li class=class data-id=message.id.clone()>
            {(!message.text.is_empty()).then(|| view! { <div class="sb-text" dir="auto"><RichText text=message.text.clone() /></div> })}
            {(!cards.is_empty()).then(|| view! {
                <ul class="sb-cards">
                    {cards.into_iter().map(|card| view! {
                        <li class="sb-card">
                            {card.image.filter(|i| is_web(i)).map(|src| view! { <img class="sb-card-image" src=src alt="" loading="lazy" /> })}
                            <p class="sb-card-title">{card.title}</p>
                            {card.subtitle.map(|s| view! { <p class="sb-card-subtitle">{s}</p> })}
                            <div class="sb-card-buttons">
                                {card.buttons.into_iter().map(|b| match b.url.filter(|u| is_web(u)) {
                                    Some(url) => view! { <a class="sb-button" href=url target="_blank" rel="noopener noreferrer">{b.label}</a> }.into_any(),
                                    None => view! { <button type="button" class="sb-button" on:click=choose(b.label.clone(), b.payload)>{b.label.clone()}</button> }.into_any(),
                                }).collect_view()}
                            </div>
                        </li>
                    }).collect_view()}
                </ul>
            })}
            {(!quick.is_empty()).then(|| view! {
                {move || latest.get().then(|| view! {
                    <div class="sb-quick" role="group" aria-label=move || strings.get().suggestions>
                        {quick.iter().cloned().map(|q| {
                            let label = q.label.clone();
                            view! { <button type="button" class="sb-chip" on:click=choose(q.label, q.payload)>{label}</button> }
                        }).collect_view()}
                    </div>
                })}
            })}
            {votable.then(|| view! {
                <div class="sb-feedback">
                    {move || match voted.get() {
                        None => leptos::either::Either::Left(view! {
                            <button type="button" class="sb-vote" aria-label=move || strings.get().helpful on:click=vote(true)>"👍"</button>
                            <button type="button" class="sb-vote" aria-label=move || strings.get().not_helpful on:click=vote(false)>"👎"</button>
                        }),
                        Some(_) => leptos::either::Either::Right(view! { <span class="sb-thanks">{move || strings.get().thanks}</span> }),
                    }}
                </div>
            })}
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn markdown_lite_pieces() {
        assert_eq!(
            markdown_lite("Order **123456** is _on its way_: see [tracking](https://t.example/1)."),
            vec![
                Inline::Text("Order ".into()),
                Inline::Bold("123456".into()),
                Inline::Text(" is ".into()),
                Inline::Italic("on its way".into()),
                Inline::Text(": see ".into()),
                Inline::Link { text: "tracking".into(), href: "https://t.example/1".into() },
                Inline::Text(".".into()),
            ]
        );
        assert_eq!(
            markdown_lite("Visit https://shop.example/help."),
            vec![
                Inline::Text("Visit ".into()),
                Inline::Link { text: "https://shop.example/help".into(), href: "https://shop.example/help".into() },
                Inline::Text(".".into()),
            ]
        );
        assert_eq!(markdown_lite("[x](javascript:alert(1))"), vec![Inline::Text("[x](javascript:alert(1))".into())]);
        assert_eq!(
            markdown_lite("2 * 3 * 4 and snake_case_name"),
            vec![Inline::Text("2 * 3 * 4 and snake_case_name".into())]
        );
        assert_eq!(markdown_lite("**open"), vec![Inline::Text("**open".into())]);
    }
}
