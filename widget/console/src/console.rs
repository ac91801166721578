//! The agent console page: sign in with an agent token, watch the queue (polled every
//! [`POLL`]), open a conversation ([`crate::thread`]).

use crate::api::{ApiError, Client};
use crate::queue::QueueList;
use crate::session;
use crate::signin::SignIn;
use crate::thread::Thread;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;
use switchboard_dialog::protocol::DeskEntry;

/// How often the queue and the open conversation are polled.
pub const POLL: Duration = Duration::from_secs(2);

/// Milliseconds since the epoch, by the browser's clock.
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// The whole page.
#[component]
pub fn ConsolePage() -> impl IntoView {
    let token = RwSignal::new(session::load(session::AGENT_TOKEN));
    let refused = RwSignal::new(None::<String>);
    let sign_in = Callback::new(move |t: String| {
        session::save(session::AGENT_TOKEN, &t);
        refused.set(None);
        token.set(Some(t));
    });
    let sign_out = Callback::new(move |reason: Option<String>| {
        session::forget(session::AGENT_TOKEN);
        session::forget(session::AGENT_NAME);
        refused.set(reason);
        token.set(None);
    });
    move || match token.get() {
        None => view! {
            <SignIn title="Agent console" label="Agent token" error=refused.into() on_token=sign_in />
        }
        .into_any(),
        Some(t) => view! { <Desk client=Client::new(t) sign_out=sign_out /> }.into_any(),
    }
}

/// The signed-in console: the queue beside the open conversation.
#[component]
fn Desk(
    /// The API client with the agent's token.
    client: Client,
    /// Signs out, with the reason to show on the sign-in form (`None`: the agent chose to).
    sign_out: Callback<Option<String>>,
) -> impl IntoView {
    let queue = RwSignal::new(Vec::<DeskEntry>::new());
    let loaded = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);
    let now = RwSignal::new(now_ms());
    let open = RwSignal::new(None::<String>);
    let busy = StoredValue::new(false);

    let refresh = {
        let client = client.clone();
        move || {
            if busy.get_value() {
                return;
            }
            busy.set_value(true);
            let client = client.clone();
            spawn_local(async move {
                match client.queue().await {
                    Ok(entries) => {
                        now.set(now_ms());
                        queue.set(entries);
                        loaded.set(true);
                        problem.set(None);
                    }
                    Err(ApiError::Unauthorized) => {
                        sign_out.run(Some("The agent token was refused.".into()));
                    }
                    Err(e) => problem.set(Some(e.describe())),
                }
                busy.set_value(false);
            });
        }
    };
    refresh();
    let tick = refresh.clone();
    if let Ok(handle) = set_interval_with_handle(tick, POLL) {
        on_cleanup(move || handle.clear());
    }
    let on_open = Callback::new(move |id: String| open.set(Some(id)));
    let on_close = Callback::new(move |()| open.set(None));
    let on_refused = Callback::new(move |()| sign_out.run(Some("The agent token was refused.".into())));

    view! {
        <header class="bar">
            <h1>"Agent console"</h1>
            <nav><a href="dashboard.html">"Analytics dashboard"</a></nav>
            <p class="problem" role="status">{move || problem.get()}</p>
            <button type="button" class="secondary" on:click=move |_| sign_out.run(None)>"Sign out"</button>
        </header>
        <main class="desk">
            <section class="queue-pane" aria-labelledby="queue-title">
                <h2 id="queue-title">
                    "Queue " <span class="count" data-count=move || queue.with(Vec::len)>
                        {move || format!("({})", queue.with(Vec::len))}
                    </span>
                </h2>
                <QueueList entries=queue.into() now=now.into() open=open.into() on_open=on_open />
                {move || (loaded.get() && queue.with(Vec::is_empty))
                    .then(|| view! { <p class="empty">"Nobody is waiting."</p> })}
            </section>
            <section class="thread-pane" aria-label="Conversation">
                {move || match open.get() {
                    None => view! { <p class="empty">"Open a conversation from the queue."</p> }.into_any(),
                    Some(id) => view! {
                        <Thread client=client.clone() id=id on_close=on_close on_refused=on_refused />
                    }
                    .into_any(),
                }}
            </section>
        </main>
    }
}
