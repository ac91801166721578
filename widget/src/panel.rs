//! The chat panel: [`ChatPanel`] connects [`ChatView`] (pure view, tested in the browser) to
//! the API.

use crate::api::{ApiError, Client};
use crate::session;
use leptos::prelude::*;
use leptos::task::spawn_local;
use switchboard_dialog::protocol::{Message, Role};

/// Where the panel stands with the API.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Opening the conversation.
    Connecting,
    /// Ready for input.
    Ready,
    /// Waiting for the agent's reply.
    Waiting,
    /// The last call failed; the text says what to do.
    Failed(String),
}

/// The connected panel: opens the conversation on mount and sends what the user types.
#[component]
pub fn ChatPanel(
    /// The API client.
    client: Client,
    /// Shown in the header.
    title: String,
) -> impl IntoView {
    let messages = RwSignal::new(Vec::<Message>::new());
    let status = RwSignal::new(Status::Connecting);
    let conversation = RwSignal::new(None::<(String, String)>);
    let local_ids = StoredValue::new(0u64);

    let open_client = client.clone();
    spawn_local(async move {
        let stored = session::visitor_id(open_client.endpoint());
        match open_client.open(stored).await {
            Ok(created) => {
                session::remember_visitor(open_client.endpoint(), &created.visitor_id);
                messages.set(created.messages);
                conversation.set(Some((created.conversation_id, created.token)));
                status.set(Status::Ready);
            }
            Err(e) => status.set(Status::Failed(describe(&e))),
        }
    });

    let on_send = Callback::new(move |text: String| {
        let Some((id, token)) = conversation.get_untracked() else {
            return;
        };
        local_ids.update_value(|n| *n += 1);
        let local = Message {
            id: format!("local-{}", local_ids.get_value()),
            role: Role::User,
            text: text.clone(),
            quick_replies: Vec::new(),
            cards: Vec::new(),
            ts: 0,
        };
        messages.update(|m| m.push(local));
        status.set(Status::Waiting);
        let client = client.clone();
        spawn_local(async move {
            match client.send(&id, &token, &text).await {
                Ok(reply) => {
                    messages.update(|m| m.extend(reply.messages));
                    status.set(Status::Ready);
                }
                Err(e) => status.set(Status::Failed(describe(&e))),
            }
        });
    });

    view! { <ChatView title=title messages=messages.read_only() status=status.read_only() on_send=on_send /> }
}

fn describe(error: &ApiError) -> String {
    match error {
        ApiError::Network(_) => "Can't reach the assistant. Check your connection and try again.".into(),
        ApiError::Rejected { status, .. } if *status >= 500 => {
            "The assistant is having trouble. Please try again.".into()
        }
        ApiError::Rejected { code, .. } => format!("The message was not accepted ({code})."),
    }
}

/// The panel's view: header, message log, and the input form.
#[component]
pub fn ChatView(
    /// Shown in the header.
    title: String,
    /// The conversation, oldest first.
    messages: ReadSignal<Vec<Message>>,
    /// Connection state: disables sending while not ready, shows errors.
    status: ReadSignal<Status>,
    /// Called with the trimmed text when the user sends a message.
    on_send: Callback<String>,
) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let log = NodeRef::<leptos::html::Ol>::new();
    Effect::new(move |_| {
        messages.track();
        if let Some(log) = log.get() {
            log.set_scroll_top(log.scroll_height());
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = draft.get_untracked().trim().to_owned();
        if text.is_empty() || matches!(status.get_untracked(), Status::Connecting | Status::Waiting) {
            return;
        }
        draft.set(String::new());
        on_send.run(text);
    };
    let label = title.clone();
    view! {
        <section class="sb-panel" aria-label=label>
            <header class="sb-header">
                <h2 class="sb-title">{title}</h2>
            </header>
            <ol class="sb-messages" role="log" aria-live="polite" node_ref=log>
                <For
                    each=move || messages.get()
                    key=|m| m.id.clone()
                    children=|m| {
                        let class = match m.role {
                            Role::User => "sb-message sb-user",
                            Role::Bot => "sb-message sb-bot",
                            Role::Agent => "sb-message sb-agent",
                        };
                        view! { <li class=class data-id=m.id>{m.text}</li> }
                    }
                />
                <Show when=move || status.get() == Status::Waiting>
                    <li class="sb-message sb-bot sb-typing" aria-label="The assistant is typing">
                        <span></span><span></span><span></span>
                    </li>
                </Show>
            </ol>
            {move || match status.get() {
                Status::Failed(text) => Some(view! { <p class="sb-error" role="alert">{text}</p> }),
                _ => None,
            }}
            <form class="sb-form" on:submit=submit>
                <input
                    class="sb-input"
                    type="text"
                    aria-label="Type your message"
                    placeholder="Type your message…"
                    autocomplete="off"
                    maxlength="10000"
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                />
                <button class="sb-send" type="submit" aria-label="Send" disabled=move || status.get() == Status::Connecting>
                    "Send"
                </button>
            </form>
        </section>
    }
}
