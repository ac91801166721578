//! The queue: one button per conversation waiting for or with a human, with what an agent
//! needs to pick one (channel, who, why, what the bot understood, the last message, how long).

use crate::format;
use leptos::prelude::*;
use switchboard_dialog::protocol::{ConversationStatus, DeskEntry, PROFILE_FIELDS, Profile};

/// Who the customer is, in one line: each field a verified identity vouched for is marked
/// `✓`; what the customer typed or the site sent unsigned is shown as it is.
pub fn who(profile: &Profile) -> String {
    let known: Vec<String> = PROFILE_FIELDS
        .iter()
        .filter_map(|field| {
            let value = profile.get(field)?;
            Some(if profile.is_verified(field) { format!("{value} ✓") } else { value.to_owned() })
        })
        .collect();
    match (known.is_empty(), profile.verified) {
        (true, _) => "Anonymous visitor".into(),
        (false, true) => format!("{} (signed in)", known.join(" · ")),
        (false, false) => known.join(" · "),
    }
}

/// Where the conversation stands, in words.
pub fn state(entry: &DeskEntry) -> String {
    match (entry.status, &entry.agent) {
        (ConversationStatus::Human, Some(agent)) => format!("With {agent}"),
        (ConversationStatus::Waiting, _) => "Waiting".into(),
        (status, _) => format!("{status:?}"),
    }
}

/// The list; `open` marks the conversation shown beside it.
#[component]
pub fn QueueList(
    /// The desk's entries, waiting longest first.
    entries: Signal<Vec<DeskEntry>>,
    /// The time waiting times are measured to.
    now: Signal<u64>,
    /// The open conversation's id.
    open: Signal<Option<String>>,
    /// Opens a conversation.
    on_open: Callback<String>,
) -> impl IntoView {
    view! {
        <ul class="queue" aria-label="Conversations waiting for or with an agent">
            <For
                each=move || entries.get()
                key=|e| (e.conversation_id.clone(), e.updated_ms, e.since_ms, e.agent.clone())
                children=move |e| view! { <QueueItem entry=e now=now open=open on_open=on_open /> }
            />
        </ul>
    }
}

#[component]
fn QueueItem(
    entry: DeskEntry,
    now: Signal<u64>,
    open: Signal<Option<String>>,
    on_open: Callback<String>,
) -> impl IntoView {
    let id = entry.conversation_id.clone();
    let current = {
        let id = id.clone();
        move || open.get().as_deref() == Some(id.as_str())
    };
    let since = entry.since_ms;
    let status = format!("{:?}", entry.status).to_lowercase();
    let parameters = format::parameters(&entry.parameters);
    let click = {
        let id = id.clone();
        move |_| on_open.run(id.clone())
    };
    view! {
        <li class="queue-item" data-conversation=id.clone() data-status=status.clone()>
            <button type="button" on:click=click aria-current=move || current().then_some("true")>
                <span class="line">
                    <span class=format!("channel channel-{}", entry.channel)>{entry.channel.clone()}</span>
                    <span class="who">{who(&entry.profile)}</span>
                    <span class=format!("state state-{status}")>{state(&entry)}</span>
                    <span class="waited" title="Waiting time">{move || format::waited(now.get(), since)}</span>
                </span>
                <span class="details">
                    <span class="reason">"Reason: " {entry.reason.clone().unwrap_or_else(|| "–".into())}</span>
                    <span class="intent">"Last intent: " {entry.last_intent.clone().unwrap_or_else(|| "–".into())}</span>
                    {(!parameters.is_empty()).then(|| view! {
                        <span class="parameters">"Parameters: " {parameters.join(", ")}</span>
                    })}
                </span>
                <span class="last">{entry.last_message.clone().unwrap_or_default()}</span>
            </button>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customers_are_named_by_what_is_known() {
        assert_eq!(who(&Profile::default()), "Anonymous visitor");
        let p = Profile { name: Some("Ann".into()), phone: Some("+4915112345678".into()), ..Profile::default() };
        assert_eq!(who(&p), "Ann · +4915112345678");
        // A signed-in user whose site vouched for the phone, not for the name typed beside it.
        let signed = Profile { verified: true, verified_fields: vec!["phone".into()], ..p };
        assert_eq!(who(&signed), "Ann · +4915112345678 ✓ (signed in)");
    }
}
