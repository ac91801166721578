//! The chat panel: [`ChatPanel`] connects [`ChatView`] (pure view, tested in the browser) to
//! the API, to the loader's commands and events, and to the network's comings and goings.

use crate::api::{ApiError, Client};
use crate::i18n::{self, Strings};
use crate::message::{self, Click, is_unsent};
use crate::session;
use leptos::prelude::*;
use leptos::task::spawn_local;
use switchboard_dialog::protocol::{ConversationCreated, ConversationStatus, Feedback, Identify, Message, Role};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// Where the panel stands with the API.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Opening the conversation.
    Connecting,
    /// Ready for input.
    Ready,
    /// Waiting for the agent's reply.
    Waiting,
    /// Offline: typed messages wait in the queue.
    Offline,
    /// The last call failed; the text says what to do.
    Failed(String),
}

/// A command from the loader (`window.Switchboard(...)`), delivered as a DOM event.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Send as the user.
    SendMessage(String),
    /// Verify the visitor.
    Identify(Identify),
    /// Switch language and direction.
    SetLocale(String),
    /// Forget the session and start over.
    Shutdown,
}

/// A message typed while the API could not be reached, sent again when it can.
#[derive(Debug, Clone, PartialEq)]
struct Queued {
    /// Numbers the local ids, from 1.
    n: u64,
    local_id: String,
    text: String,
    payload: Option<String>,
}

/// The connected panel: opens the conversation on mount and sends what the user types.
#[component]
pub fn ChatPanel(
    /// The API client.
    client: Client,
    /// Shown in the header.
    title: String,
    /// The header's image: an `https` URL, else the title's initial is shown.
    avatar: String,
    /// Commands from the loader, in arrival order (the panel drains them).
    commands: RwSignal<Vec<Command>>,
    /// Tells the loader what happened (`message` events).
    on_event: Callback<(String, JsValue)>,
) -> impl IntoView {
    let messages = RwSignal::new(Vec::<Message>::new());
    let status = RwSignal::new(Status::Connecting);
    let conversation = RwSignal::new(None::<(String, String)>);
    let locale = RwSignal::new("en".to_owned());
    let queue = StoredValue::new(Vec::<Queued>::new());
    let local_ids = StoredValue::new(0u64);
    let strings = move || i18n::strings(&locale.get());

    let announce = move |added: &[Message]| {
        for m in added {
            let detail = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&detail, &"id".into(), &m.id.as_str().into());
            let role = match m.role {
                Role::User => "user",
                Role::Bot => "bot",
                Role::Agent => "agent",
            };
            let _ = js_sys::Reflect::set(&detail, &"role".into(), &role.into());
            let _ = js_sys::Reflect::set(&detail, &"text".into(), &m.text.as_str().into());
            on_event.run(("message".into(), detail.into()));
        }
    };

    // Who has the conversation, and the highest message sequence number the API sent.
    let handling = StoredValue::new(ConversationStatus::Bot);
    let cursor = StoredValue::new(0u64);
    let seen = move |list: &[Message]| {
        for n in list.iter().filter_map(|m| m.id.strip_prefix('m')?.parse::<u64>().ok()) {
            cursor.update_value(|c| *c = (*c).max(n));
        }
    };
    // A human joining, and the end of the conversation ("Was this helpful?"), are shown as
    // notices; `notify` is off when a conversation is merely (re)loaded.
    let track = move |now: ConversationStatus, notify: bool| {
        let before = handling.get_value();
        handling.set_value(now);
        let strings = i18n::strings(&locale.get_untracked());
        let notice = match now {
            ConversationStatus::Human => ["joined", strings.agent_joined],
            ConversationStatus::Resolved => ["feedback", strings.was_helpful],
            _ => return,
        };
        if notify && now != before {
            let id = [message::NOTICE, notice[0], "-", &cursor.get_value().to_string()].concat();
            messages.update(|m| m.push(Message { id, role: Role::Bot, text: notice[1].into(), ..local("") }));
        }
    };

    // Appends the messages not shown yet (the user's own are, under local ids) and announces them.
    let absorb = move |list: Vec<Message>| {
        let fresh: Vec<Message> = messages.with_untracked(|shown| {
            list.into_iter().filter(|m| m.role != Role::User && !shown.iter().any(|s| s.id == m.id)).collect()
        });
        if !fresh.is_empty() {
            messages.update(|m| m.extend(fresh.iter().cloned()));
            announce(&fresh);
        }
    };
    // Whether `id` is still the open conversation (a reply may outlive a shutdown or identify).
    let current = move |id: &str| conversation.with_untracked(|c| c.as_ref().is_some_and(|(c, _)| c == id));
    let fail = move |e: &ApiError| status.set(failed(e, i18n::strings(&locale.get_untracked())));

    // Sends the oldest queued message; on success the next one follows.
    let flush = StoredValue::new_local(None::<Callback<()>>);
    let run_flush = move || {
        if let Some(next) = flush.get_value() {
            next.run(());
        }
    };
    // A conversation opened, resumed or identified: its history (with what is still unsent
    // below it), its token, and the visitor credential, which the API may rotate on any of
    // them (an empty one keeps the stored one).
    let endpoint = StoredValue::new(client.endpoint().to_owned());
    let opened = move |created: ConversationCreated| {
        endpoint.with_value(|e| session::remember_visitor(e, &created.visitor_id));
        // Messages typed (or sent through the API) before the conversation was open go out now.
        let queued: Vec<Message> =
            messages.with_untracked(|m| m.iter().filter(|m| is_unsent(&m.id)).cloned().collect());
        cursor.set_value(0);
        seen(&created.messages);
        track(created.status, false);
        messages.set(created.messages.into_iter().chain(queued).collect());
        conversation.set(Some((created.conversation_id, created.token)));
        status.set(Status::Ready);
        run_flush();
    };
    let api = StoredValue::new(client);
    // Shutdowns so far: an answer to what was asked before one is for a visitor who is gone.
    let epoch = StoredValue::new(0u32);
    // Opens (or resumes) the visitor's conversation with the stored visitor id; false when
    // that failed (the status says why).
    let open = move |identity: Option<Identify>| async move {
        let client = api.get_value();
        let asked = epoch.get_value();
        let result = client.open(session::visitor_id(client.endpoint()), identity).await;
        if epoch.get_value() != asked {
            return false;
        }
        match result {
            Ok(created) => {
                opened(created);
                true
            }
            Err(e) => {
                fail(&e);
                false
            }
        }
    };
    let connect = move |identity: Option<Identify>| {
        spawn_local(async move {
            open(identity).await;
        })
    };
    connect(None);

    // Tokens expire: after a 401 on `stale` (still the current token), the conversation is
    // opened again with the stored visitor id, never twice at a time. True when there is now
    // another token to retry with. What the retry is `for` (a queued message's number, or
    // [`POLLING`]) is kept until a call is accepted: a call refused again with the fresh token
    // fails rather than renews forever.
    let renewing = StoredValue::new(false);
    let renewed_for = StoredValue::new(0u64);
    let holds = move |t: &str| conversation.with_untracked(|c| c.as_ref().is_some_and(|(_, now)| now == t));
    let renew = move |stale: String, purpose: u64| async move {
        if holds(&stale) && !renewing.get_value() {
            renewing.set_value(true);
            open(None).await;
            renewing.set_value(false);
        }
        let renewed = conversation.with_untracked(Option::is_some) && !holds(&stale);
        if renewed {
            renewed_for.set_value(purpose);
        }
        renewed
    };
    let refused = |e: &ApiError| matches!(e, ApiError::Rejected { status: 401, .. });

    // One message at a time, so a retry after a renewal never sends one twice.
    let sending = StoredValue::new(false);
    let send_next = Callback::new(move |()| {
        let Some((id, token)) = conversation.get_untracked() else { return };
        let Some(next) = queue.with_value(|q| q.first().cloned()) else { return };
        if sending.get_value() {
            return;
        }
        sending.set_value(true);
        status.set(Status::Waiting);
        spawn_local(async move {
            let client = api.get_value();
            let result = client.send(&id, &token, &next.text, next.payload.clone()).await;
            sending.set_value(false);
            let done = || queue.update_value(|q| q.retain(|m| m.local_id != next.local_id));
            match result {
                Ok(reply) => {
                    renewed_for.set_value(0);
                    done();
                    messages.update(|m| {
                        if let Some(local) = m.iter_mut().find(|m| m.id == next.local_id) {
                            local.id = [&next.local_id, "-sent"].concat();
                        }
                    });
                    if current(&id) {
                        if handling.get_value().with_humans() && !reply.status.with_humans() {
                            // The humans just handed back: what they wrote since the last
                            // poll comes first.
                            if let Ok(missed) = client.poll(&id, &token, cursor.get_value()).await {
                                absorb(missed.messages);
                            }
                        }
                        seen(&reply.messages);
                        absorb(reply.messages);
                        status.set(Status::Ready);
                        track(reply.status, true);
                    }
                    run_flush();
                }
                Err(ApiError::Network(_)) => status.set(Status::Offline),
                Err(e) if refused(&e) && renewed_for.get_value() != next.n => {
                    // Renewed: opening flushed the queue already, or (renewed by another call)
                    // it goes out now. Otherwise a renewal elsewhere flushes it when done, or
                    // opening failed (the status says why) and it waits in the queue.
                    if renew(token, next.n).await {
                        run_flush();
                    }
                }
                Err(e) => {
                    done();
                    fail(&e);
                }
            }
        });
    });
    flush.set_value(Some(send_next));

    let enqueue = move |text: String, payload: Option<String>| {
        local_ids.update_value(|n| *n += 1);
        let n = local_ids.get_value();
        let local_id = ["local-", &n.to_string()].concat();
        messages.update(|m| m.push(Message { text: text.clone(), ..local(&local_id) }));
        queue.update_value(|q| q.push(Queued { n, local_id, text, payload }));
        if status.get_untracked() != Status::Waiting {
            send_next.run(());
        }
    };

    // While a human is awaited or active, their messages are fetched every few seconds.
    let in_flight = StoredValue::new(false);
    let poll = move || {
        let Some((id, token)) = conversation.get_untracked() else { return };
        let hidden = web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden());
        let idle = !handling.get_value().with_humans() || in_flight.get_value();
        if idle || hidden || status.get_untracked() == Status::Offline {
            return;
        }
        in_flight.set_value(true);
        spawn_local(async move {
            match api.get_value().poll(&id, &token, cursor.get_value()).await {
                Ok(reply) if current(&id) => {
                    renewed_for.set_value(0);
                    seen(&reply.messages);
                    // "An agent joined" comes before what they wrote.
                    track(reply.status, true);
                    absorb(reply.messages);
                }
                // An expired token: carry on with a new one (opening fetches what was missed).
                Err(e) if refused(&e) && renewed_for.get_value() != POLLING => {
                    renew(token, POLLING).await;
                }
                // The conversation is gone (expired, merged), or a fresh token was refused:
                // stop asking.
                Err(ApiError::Rejected { status, .. }) if status < 500 => {
                    handling.set_value(ConversationStatus::Bot);
                }
                _ => {}
            }
            in_flight.set_value(false);
        });
    };

    // Back online: whatever waits in the queue goes out, oldest first.
    if let Some(window) = web_sys::window() {
        let online = Closure::<dyn Fn()>::new(move || {
            if status.get_untracked() == Status::Offline {
                status.set(Status::Ready);
                send_next.run(());
            }
        });
        let _ = window.add_event_listener_with_callback("online", online.as_ref().unchecked_ref());
        online.forget();
        let tick = Closure::<dyn Fn()>::new(poll);
        let _ = window.set_interval_with_callback_and_timeout_and_arguments_0(tick.as_ref().unchecked_ref(), POLL_MS);
        tick.forget();
    }

    let on_send = Callback::new(move |text: String| enqueue(text, None));
    let on_choose = Callback::new(move |(label, payload): (String, String)| enqueue(label, Some(payload)));
    let on_feedback = Callback::new(move |(message_id, helpful): (Option<String>, bool)| {
        let Some((id, token)) = conversation.get_untracked() else { return };
        // A lost vote is not worth bothering the user about; one refused for an expired token
        // is cast again with the new one.
        spawn_local(async move {
            let client = api.get_value();
            let vote = Feedback { message_id, helpful };
            match client.feedback(&id, &token, &vote).await {
                Err(e) if refused(&e) && renew(token, 0).await => {
                    if let Some((id, token)) = conversation.get_untracked() {
                        let _ = client.feedback(&id, &token, &vote).await;
                    }
                }
                _ => {}
            }
        });
    });

    let identify = move |identity: Identify| {
        let Some((id, token)) = conversation.get_untracked() else {
            connect(Some(identity));
            return;
        };
        let asked = epoch.get_value();
        spawn_local(async move {
            let result = api.get_value().identify(&id, &token, &identity).await;
            if epoch.get_value() != asked {
                return;
            }
            match result {
                Ok(created) => opened(created),
                // An expired token, not a refused identity: open again, verifying it there.
                Err(ApiError::Rejected { status: 401, code }) if !code.starts_with("identity") => {
                    open(Some(identity)).await;
                }
                Err(e) => fail(&e),
            }
        });
    };

    Effect::new(move |_| {
        commands.track();
        // Several commands may arrive in one tick (the loader replays its queue): take them all.
        let batch = commands.try_update_untracked(std::mem::take).unwrap_or_default();
        for command in batch {
            match command {
                Command::SendMessage(text) => enqueue(text, None),
                Command::Identify(identity) => identify(identity),
                Command::SetLocale(l) => locale.set(l),
                Command::Shutdown => {
                    epoch.update_value(|e| *e += 1);
                    endpoint.with_value(|e| session::forget(e));
                    queue.update_value(Vec::clear);
                    renewed_for.set_value(0);
                    handling.set_value(ConversationStatus::Bot);
                    cursor.set_value(0);
                    conversation.set(None);
                    messages.set(Vec::new());
                    status.set(Status::Connecting);
                    connect(None);
                }
            }
        }
    });

    let dir = move || if i18n::is_rtl(&locale.get()) { "rtl" } else { "ltr" };
    view! {
        <div class="sb-root" dir=dir lang=move || locale.get()>
            {move || view! {
                <ChatView
                    title=title.clone()
                    avatar=avatar.clone()
                    messages=messages.read_only()
                    status=status.read_only()
                    strings=strings()
                    locale=locale.get()
                    on_send=on_send
                    on_choose=on_choose
                    on_feedback=on_feedback
                />
            }}
        </div>
    }
}

/// How often a human's messages are fetched while one is awaited or active.
const POLL_MS: i32 = 3000;

/// What a token renewal was for when polling asked for it (queued messages go by their
/// numbers, from 1).
const POLLING: u64 = u64::MAX;

/// An empty user message with a local id.
fn local(id: &str) -> Message {
    Message {
        id: id.to_owned(),
        role: Role::User,
        text: String::new(),
        quick_replies: Vec::new(),
        cards: Vec::new(),
        ts: 0,
        author: None,
    }
}

fn failed(error: &ApiError, strings: &Strings) -> Status {
    match error {
        ApiError::Network(_) => Status::Offline,
        ApiError::Rejected { status, .. } if *status >= 500 => Status::Failed(strings.trouble.into()),
        ApiError::Rejected { code, .. } => Status::Failed([strings.trouble, " (", code, ")"].concat()),
    }
}

/// The panel's view: header, message log, and the input form. The words are fixed for the
/// view's life: a new locale renders a new view (that is rare, and it keeps a reactive
/// binding off every label).
#[component]
pub fn ChatView(
    /// Shown in the header.
    title: String,
    /// The header's image: an `https` URL, else the title's initial is shown.
    #[prop(optional)]
    avatar: String,
    /// The conversation, oldest first.
    messages: ReadSignal<Vec<Message>>,
    /// Connection state: disables sending while not ready, shows errors.
    status: ReadSignal<Status>,
    /// The panel's words in the visitor's language.
    strings: &'static Strings,
    /// The visitor's language, for times.
    #[prop(into)]
    locale: String,
    /// Called with the trimmed text when the user sends a message.
    on_send: Callback<String>,
    /// Called with (label, payload) when a quick reply or card button is pressed.
    on_choose: Callback<(String, String)>,
    /// Called with (message id, or none for the whole conversation; helpful) on a thumbs vote.
    on_feedback: Callback<(Option<String>, bool)>,
) -> impl IntoView {
    // The input is uncontrolled: its text is read and cleared on submit, which needs no
    // signal and no handler per keystroke.
    let input = NodeRef::<leptos::html::Input>::new();
    let list = NodeRef::<leptos::html::Ol>::new();
    let log = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        let (Some(list), Some(log)) = (list.get(), log.get()) else { return };
        messages.with(|m| message::sync(&list, m, strings, &locale));
        log.set_scroll_top(log.scroll_height());
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(input) = input.get_untracked() else {
            return;
        };
        let text = input.value().trim().to_owned();
        if text.is_empty() || status.get_untracked() == Status::Connecting {
            return;
        }
        input.set_value("");
        on_send.run(text);
    };
    // One handler for every button in the log (see `message::click`).
    let click = move |ev: leptos::ev::MouseEvent| {
        let target = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok());
        match target.and_then(|t| message::click(&t, strings)) {
            Some(Click::Choose(label, payload)) => on_choose.run((label, payload)),
            Some(Click::Vote(id, helpful)) => on_feedback.run((id, helpful)),
            None => {}
        }
    };
    // Directives run again when a new locale rebuilds the view over the same elements.
    let send_icon = |button: web_sys::Element| button.replace_children_with_node_1(&message::icon(message::SEND));
    let class = move || if status.get() == Status::Offline { "sb-panel sb-is-offline" } else { "sb-panel" };

    let label = title.clone();
    // As written: upper-casing would pull Unicode's case tables into the wasm (≈ 6 KB).
    let initial: String = title.chars().take(1).collect();
    let show_avatar = move |badge: web_sys::Element| message::avatar(&badge, &avatar, &initial);
    view! {
        <section class=class aria-label=label>
            <header class="sb-header">
                <span class="sb-avatar" aria-hidden="true" use:show_avatar=()></span>
                <h2 class="sb-title">{title}</h2>
            </header>
            <div class="sb-log" role="log" aria-live="polite" node_ref=log on:click=click>
                // Filled by `message::sync`, not by Leptos: messages never change once shown.
                <ol class="sb-messages" node_ref=list></ol>
                {move || (status.get() == Status::Waiting).then(|| view! {
                    <p class="sb-message sb-bot sb-typing" aria-label=strings.typing>
                        <span></span><span></span><span></span>
                    </p>
                })}
            </div>
            {move || match status.get() {
                Status::Failed(text) => Some(view! { <p class="sb-error" role="alert">{text}</p> }.into_any()),
                Status::Offline => Some(view! { <p class="sb-error sb-offline" role="status">{strings.offline}</p> }.into_any()),
                _ => None,
            }}
            <form class="sb-form" on:submit=submit>
                <input
                    class="sb-input"
                    type="text"
                    aria-label=strings.input_label
                    placeholder=strings.placeholder
                    autocomplete="off"
                    maxlength="10000"
                    node_ref=input
                />
                <button class="sb-send" type="submit" aria-label=strings.send use:send_icon disabled=move || status.get() == Status::Connecting>
                </button>
            </form>
        </section>
    }
}
