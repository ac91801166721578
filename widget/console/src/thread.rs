//! One conversation in the console: its summary and history (polled with `?after=` every
//! [`crate::console::POLL`], new messages announced to screen readers), claim, reply, resolve,
//! and hand back to the bot. Text is rendered as text, never as HTML.

use crate::api::{ApiError, Client};
use crate::console::POLL;
use crate::format;
use crate::queue::{state, who};
use crate::session;
use leptos::prelude::*;
use leptos::task::spawn_local;
use switchboard_dialog::protocol::{ConversationStatus, DeskEntry, Message, Role};
use wasm_bindgen::JsCast;

/// Who wrote a message, as the agent reads it.
pub fn author(message: &Message) -> String {
    match message.role {
        Role::User => "Customer".into(),
        Role::Bot => "Bot".into(),
        Role::Agent => message.author.clone().unwrap_or_else(|| "Agent".into()),
    }
}

/// Adds the messages not yet in `history` (polls may overlap a reply just sent).
pub fn merge(history: &mut Vec<Message>, new: Vec<Message>) -> Vec<Message> {
    let added: Vec<Message> = new.into_iter().filter(|m| history.iter().all(|h| h.id != m.id)).collect();
    history.extend(added.iter().cloned());
    added
}

/// The conversation `id`, polled while it is open.
#[component]
pub fn Thread(
    /// The API client with the agent's token.
    client: Client,
    /// The conversation.
    id: String,
    /// Closes it (after resolving or handing back, or when it left the desk).
    on_close: Callback<()>,
    /// The token was refused.
    on_refused: Callback<()>,
) -> impl IntoView {
    let entry = RwSignal::new(None::<DeskEntry>);
    let history = RwSignal::new(Vec::<Message>::new());
    let announce = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let gone = RwSignal::new(false);
    let busy = StoredValue::new(false);
    // The agent's name, learnt from a claim (claiming one's own again is harmless).
    let me = RwSignal::new(session::load(session::AGENT_NAME));

    let report = move |e: ApiError| match e {
        ApiError::Unauthorized => on_refused.run(()),
        ApiError::Rejected { status: 404, .. } => gone.set(true),
        e => problem.set(Some(e.describe())),
    };
    let poll = {
        let (client, id) = (client.clone(), id.clone());
        move || {
            if busy.get_value() || gone.get_untracked() {
                return;
            }
            busy.set_value(true);
            let (client, id) = (client.clone(), id.clone());
            let after = history.with_untracked(|h| h.last().map(|m| m.id.clone()));
            spawn_local(async move {
                match client.conversation(&id, after.as_deref()).await {
                    Ok(view) => {
                        let first = after.is_none();
                        let added = history.try_update(|h| merge(h, view.messages)).unwrap_or_default();
                        if let Some(m) = added.iter().rev().find(|m| m.role != Role::Agent).filter(|_| !first) {
                            announce.set(format!("New message from {}: {}", author(m), m.text));
                        }
                        entry.set(Some(view.entry));
                        problem.set(None);
                    }
                    Err(e) => report(e),
                }
                busy.set_value(false);
            });
        }
    };
    poll();
    let tick = poll.clone();
    if let Ok(handle) = set_interval_with_handle(tick, POLL) {
        on_cleanup(move || handle.clear());
    }

    let claim = {
        let (client, id) = (client.clone(), id.clone());
        move |_| {
            let (client, id) = (client.clone(), id.clone());
            spawn_local(async move {
                match client.claim(&id).await {
                    Ok(claimed) => {
                        if let Some(name) = &claimed.agent {
                            session::save(session::AGENT_NAME, name);
                            me.set(Some(name.clone()));
                        }
                        entry.set(Some(claimed));
                    }
                    Err(e) => report(e),
                }
            });
        }
    };
    let finish = {
        let (client, id) = (client.clone(), id.clone());
        move |resolve: bool| {
            let (client, id) = (client.clone(), id.clone());
            spawn_local(async move {
                match client.finish(&id, resolve).await {
                    Ok(()) => on_close.run(()),
                    Err(e) => report(e),
                }
            });
        }
    };
    let resolve = {
        let finish = finish.clone();
        move |_| finish(true)
    };
    let release = move |_| finish(false);
    let send = {
        let (client, id) = (client.clone(), id.clone());
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let Some(field) = reply_field(&ev) else { return };
            let text = field.value().trim().to_owned();
            if text.is_empty() {
                return;
            }
            let (client, id) = (client.clone(), id.clone());
            spawn_local(async move {
                match client.reply(&id, &text).await {
                    Ok(message) => {
                        field.set_value("");
                        history.update(|h| {
                            merge(h, vec![message]);
                        });
                    }
                    Err(e) => report(e),
                }
            });
        }
    };
    // Mine: claimed by this agent; only then reply and resolve are offered.
    let claimed = move || {
        entry.with(|e| {
            e.as_ref()
                .is_some_and(|e| e.status == ConversationStatus::Human && e.agent.is_some() && e.agent == me.get())
        })
    };

    view! {
        <article class="thread" data-conversation=id.clone()>
            {move || entry.get().map(|e| view! { <Summary entry=e /> })}
            <p class="problem" role="status">{move || problem.get()}</p>
            {move || gone.get().then(|| view! {
                <p class="gone" role="status">
                    "This conversation is no longer waiting for or with a human."
                    <button type="button" class="secondary" on:click=move |_| on_close.run(())>"Close"</button>
                </p>
            })}
            <ol class="history" role="log" aria-label="Messages">
                <For
                    each=move || history.get()
                    key=|m| m.id.clone()
                    children=|m| {
                        let role = format!("{:?}", m.role).to_lowercase();
                        view! {
                            <li class=format!("message message-{role}") data-id=m.id.clone() data-role=role>
                                <span class="author">{author(&m)}</span>
                                <span class="text">{m.text.clone()}</span>
                            </li>
                        }
                    }
                />
            </ol>
            <p class="visually-hidden" aria-live="polite" aria-atomic="true">{move || announce.get()}</p>
            <div class="actions">
                <button type="button" class="claim" on:click=claim disabled=claimed>"Claim"</button>
                <button type="button" class="resolve" on:click=resolve disabled=move || !claimed()>"Resolve"</button>
                <button type="button" class="release secondary" on:click=release>"Hand back to the bot"</button>
            </div>
            <form class="reply" on:submit=send>
                <label for="reply-text">"Reply"</label>
                <textarea id="reply-text" name="reply" rows="3" disabled=move || !claimed()
                    on:keydown=submit_on_enter></textarea>
                <button type="submit" disabled=move || !claimed()>"Send"</button>
            </form>
        </article>
    }
}

/// The conversation's summary: who, where, why, what the bot understood.
#[component]
fn Summary(entry: DeskEntry) -> impl IntoView {
    let parameters = format::parameters(&entry.parameters);
    view! {
        <header class="summary">
            <h2>{who(&entry.profile)}</h2>
            <dl>
                <dt>"Channel"</dt><dd class="channel">{entry.channel.clone()}</dd>
                <dt>"Status"</dt><dd class="status" data-status=format!("{:?}", entry.status).to_lowercase()>{state(&entry)}</dd>
                <dt>"Reason"</dt><dd>{entry.reason.clone().unwrap_or_else(|| "–".into())}</dd>
                <dt>"Last intent"</dt><dd>{entry.last_intent.clone().unwrap_or_else(|| "–".into())}</dd>
                <dt>"Parameters"</dt>
                <dd class="parameters">{if parameters.is_empty() { "–".to_owned() } else { parameters.join(", ") }}</dd>
            </dl>
        </header>
    }
}

fn reply_field(ev: &leptos::ev::SubmitEvent) -> Option<web_sys::HtmlTextAreaElement> {
    let form: web_sys::HtmlFormElement = ev.target()?.dyn_into().ok()?;
    form.elements().named_item("reply")?.dyn_into().ok()
}

/// Enter sends, Shift+Enter starts a new line.
fn submit_on_enter(ev: leptos::ev::KeyboardEvent) {
    if ev.key() == "Enter" && !ev.shift_key() {
        ev.prevent_default();
        let form = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlTextAreaElement>().ok()).and_then(|t| t.form());
        if let Some(form) = form {
            let _ = form.request_submit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, role: Role) -> Message {
        Message { id: id.into(), role, text: id.into(), quick_replies: vec![], cards: vec![], ts: 0, author: None }
    }

    #[test]
    fn polls_add_only_new_messages() {
        let mut history = vec![message("m1", Role::User), message("m2", Role::Agent)];
        let added = merge(&mut history, vec![message("m2", Role::Agent), message("m3", Role::User)]);
        assert_eq!(added.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["m3"]);
        assert_eq!(history.len(), 3);
        let named = Message { author: Some("Alice".into()), ..message("m4", Role::Agent) };
        assert_eq!((author(&history[0]), author(&named)), ("Customer".to_owned(), "Alice".to_owned()));
    }
}
