//! What a turn may store: the customer's words and the values of `redact` parameters stay out
//! of every stored field.
//!
//! Two promises are kept here, for every place a turn writes (KV context and history, the
//! desk entry and the help-desk webhook, which are built from those, the voice answer cache,
//! analytics):
//! - values of `redact` parameters (their resolved value and the words that gave it) live for
//!   the turn that gave them;
//! - on a channel whose privacy policy says `store_text: false`, the customer's words are not
//!   stored: history keeps [`NOT_STORED`](crate::conversation::NOT_STORED), the dialog state
//!   keeps no parameter's original words and no free-form (`@sys.any`) value, and what the
//!   bot said is stored with those words masked.
//!
//! Masking covers every field of a message: text, quick-reply labels and payloads, card
//! titles, subtitles, images, button labels, payloads and URLs (raw and percent-encoded).

use switchboard_dialog::agent::Agent;
use switchboard_dialog::dialog::{DialogState, Turn};
use switchboard_dialog::entity::EntityType;
use switchboard_dialog::protocol::Message;

/// What replaces a hidden value in what is stored.
pub const REDACTED: &str = "[redacted]";

/// The words a turn must not store: the redacted parameters' (as the engine collected them),
/// and on a channel that stores no text, every parameter's original words and free-form
/// values.
pub fn hidden_words(agent: &Agent, turn: &Turn, stores_text: bool) -> Vec<String> {
    let mut words = turn.redacted.clone();
    if !stores_text {
        let state = &turn.state;
        if let Some(active) = &state.active {
            for (name, slot) in &active.slots {
                words.push(slot.original.clone());
                if is_free_form(agent, name) {
                    words.push(value_text(&slot.value));
                }
            }
        }
        for (name, value) in &state.parameters {
            if is_free_form(agent, name) {
                words.push(value_text(value));
            }
        }
    }
    // Longest first, so a value inside another is not masked half.
    words.retain(|w| !w.trim().is_empty());
    words.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    words.dedup();
    words
}

/// The dialog state as it may be stored: no redacted parameter, no profile, and on a channel
/// that stores no text no original words and no free-form value.
pub fn stored_state(agent: &Agent, state: &DialogState, stores_text: bool) -> DialogState {
    let mut state = state.without_redacted(agent);
    if !stores_text {
        if let Some(active) = state.active.as_mut() {
            active.slots.retain(|name, _| !is_free_form(agent, name));
            for slot in active.slots.values_mut() {
                slot.original.clear();
            }
        }
        state.parameters.retain(|name, _| !is_free_form(agent, name));
    }
    state
}

/// `text` with every hidden word replaced by [`REDACTED`].
pub fn mask(text: &str, hidden: &[String]) -> String {
    let mut out = text.to_owned();
    for word in hidden {
        if out.contains(word.as_str()) {
            out = out.replace(word.as_str(), REDACTED);
        }
        let encoded = percent_encoded(word);
        if encoded != *word && out.contains(&encoded) {
            out = out.replace(&encoded, REDACTED);
        }
    }
    out
}

/// A message with every field masked.
pub fn mask_message(message: &Message, hidden: &[String]) -> Message {
    if hidden.is_empty() {
        return message.clone();
    }
    let m = |s: &str| mask(s, hidden);
    let mut masked = message.clone();
    masked.text = m(&masked.text);
    for reply in &mut masked.quick_replies {
        reply.label = m(&reply.label);
        reply.payload = reply.payload.as_deref().map(m);
    }
    for card in &mut masked.cards {
        card.title = m(&card.title);
        card.subtitle = card.subtitle.as_deref().map(m);
        card.image = card.image.as_deref().map(m);
        for button in &mut card.buttons {
            button.label = m(&button.label);
            button.payload = button.payload.as_deref().map(m);
            button.url = button.url.as_deref().map(m);
        }
    }
    masked
}

fn is_free_form(agent: &Agent, name: &str) -> bool {
    agent.intents.iter().flat_map(|i| &i.parameters).any(|p| p.name == name && p.entity == EntityType::Any)
}

fn value_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// How a value appears inside a URL or form: every byte but the unreserved ones as `%XX`
/// (and `+` for spaces, as forms write them, is covered by the `%20` form's caller).
fn percent_encoded(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for b in word.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_dialog::response::{Card, CardButton, QuickReply};

    #[test]
    fn every_field_of_a_message_is_masked() {
        let hidden = vec!["4111 1111".to_owned()];
        let message = Message {
            id: "m1".into(),
            role: switchboard_dialog::protocol::Role::Bot,
            text: "card 4111 1111".into(),
            quick_replies: vec![QuickReply { label: "Use 4111 1111".into(), payload: Some("pay 4111 1111".into()) }],
            cards: vec![Card {
                title: "4111 1111".into(),
                subtitle: Some("ends 4111 1111".into()),
                image: Some("https://x.example/4111%201111.png".into()),
                buttons: vec![CardButton {
                    label: "4111 1111".into(),
                    payload: Some("4111 1111".into()),
                    url: Some("https://x.example/?c=4111%201111".into()),
                }],
            }],
            ts: 0,
            author: None,
        };
        let masked = serde_json::to_string(&mask_message(&message, &hidden)).unwrap();
        assert!(!masked.contains("4111"), "{masked}");
        assert_eq!(masked.matches(REDACTED).count(), 9, "{masked}");
    }
}
