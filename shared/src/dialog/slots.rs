//! Slot filling: values for an intent's parameters from the user's words, the tagger, the
//! user's profile, and corrections of values already given.

use super::{ActiveIntent, SlotValue, Turn, advance};
use crate::agent::{Agent, Intent};
use crate::entity::{Date, EntityMatch, EntityType};
use serde_json::Value;

/// Words that open a correction: "no, it's 654321", "actually 42", "I meant 7".
const CORRECTION_CUES: &[&str] =
    &["no", "nope", "actually", "sorry", "wrong", "meant", "correction", "instead", "rather"];

/// Handles a correction of a value already given, for the intent in progress or the one just
/// served: the value is replaced and the intent runs again (prompting or calling its webhook).
/// True when the utterance was a correction.
pub(super) fn correct(
    agent: &Agent,
    turn: &mut Turn,
    classified: Option<&Intent>,
    text: &str,
    today: Option<Date>,
) -> bool {
    let words = crate::nlu::tokens(text);
    let cued =
        words.first().is_some_and(|w| CORRECTION_CUES.contains(&w.as_str())) || words.iter().any(|w| w == "meant");
    let Some(name) = turn.state.active.as_ref().map(|a| a.intent.clone()).or_else(|| turn.state.last_intent.clone())
    else {
        return false;
    };
    // An intent with parameters of its own is a new request; a bare "no" (an intent without
    // parameters) does not stop a correction.
    if !cued || classified.is_some_and(|i| i.name != name && !i.parameters.is_empty()) {
        return false;
    }
    let Some(intent) = agent.intent(&name) else { return false };
    let mut active = match turn.state.active.clone() {
        Some(active) => active,
        None => ActiveIntent {
            intent: name.clone(),
            confidence: 1.0,
            // The intent was served: its values are session parameters now.
            slots: intent
                .parameters
                .iter()
                .filter_map(|p| {
                    let value = turn.state.parameters.get(&p.name)?;
                    let original = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
                    Some((p.name.clone(), SlotValue { original, value: value.clone() }))
                })
                .collect(),
            awaiting: None,
            prompts_given: 0,
            awaiting_webhook: false,
            rejected: None,
        },
    };
    let corrected = intent.parameters.iter().find_map(|p| {
        let m = p.entity.find_all_on(text, today).into_iter().next()?;
        active.slots.contains_key(&p.name).then(|| (p.name.clone(), m))
    });
    let Some((param, m)) = corrected else { return false };
    active.slots.insert(param, SlotValue { original: m.original, value: m.value });
    active.awaiting_webhook = false;
    turn.state.active = Some(active);
    advance(agent, intent, turn, text);
    true
}

/// Fills the awaited parameter from the whole utterance; true when it was filled.
pub(super) fn fill_slot(
    intent: &Intent,
    active: &mut ActiveIntent,
    name: &str,
    text: &str,
    today: Option<Date>,
) -> bool {
    let Some(param) = intent.parameters.iter().find(|p| p.name == name) else {
        return false;
    };
    let found = param.entity.find_all_on(text, today);
    let Some(m) = found.iter().find(|m| param.validation.as_ref().is_none_or(|v| v.accepts(&m.value, &m.original)))
    else {
        if !found.is_empty() {
            active.rejected = Some(param.name.clone());
        }
        return false;
    };
    active.slots.insert(param.name.clone(), SlotValue { original: m.original.clone(), value: m.value.clone() });
    true
}

/// Fills still-empty parameters from entities in the utterance, each entity used once.
pub(super) fn fill_other_slots(
    agent: &Agent,
    intent: &Intent,
    active: &mut ActiveIntent,
    text: &str,
    today: Option<Date>,
) {
    let mut used: Vec<(usize, usize)> = Vec::new();
    for param in &intent.parameters {
        if matches!(param.entity, EntityType::Any) {
            // Free-form values come from the tagger (learned from annotated phrases), never
            // from the whole utterance: "book a table" is not a name.
            if !active.slots.contains_key(&param.name)
                && let Some(m) = tagged_value(agent, intent, &param.name, text)
            {
                used.push((m.start, m.end));
                active.slots.insert(param.name.clone(), SlotValue { original: m.original, value: m.value });
            }
            continue;
        }
        if let Some(v) = active.slots.get(&param.name) {
            used.extend(
                param
                    .entity
                    .find_all_on(text, today)
                    .iter()
                    .filter(|m| m.original == v.original)
                    .map(|m| (m.start, m.end)),
            );
            continue;
        }
        let valid = |m: &EntityMatch| param.validation.as_ref().is_none_or(|v| v.accepts(&m.value, &m.original));
        let candidates = param.entity.find_all_on(text, today);
        if candidates.iter().any(|m| !used.contains(&(m.start, m.end)) && !valid(m)) {
            active.rejected = Some(param.name.clone());
        }
        let found = candidates.into_iter().find(|m| !used.contains(&(m.start, m.end)) && valid(m));
        if let Some(m) = found {
            used.push((m.start, m.end));
            active.slots.insert(param.name.clone(), SlotValue { original: m.original, value: m.value });
        }
    }
}

/// The span the slot tagger labels `parameter` in `text`, if any.
fn tagged_value(agent: &Agent, intent: &Intent, parameter: &str, text: &str) -> Option<EntityMatch> {
    let tagger = agent.tagger.as_ref()?;
    let words = crate::nlu::annotate::words(text);
    let strings: Vec<String> = words.iter().map(|(a, b)| text[*a..*b].to_owned()).collect();
    let tags = tagger.tag(&intent.name, &strings);
    let (_, first, last) = crate::nlu::tagger::spans(&tags).into_iter().find(|(label, _, _)| label == parameter)?;
    // The tagger gives one tag per word, so its spans index `words`.
    let (start, end) = (words.get(first)?.0, words.get(last.checked_sub(1)?)?.1);
    let original = text.get(start..end)?.to_owned();
    Some(EntityMatch { start, end, value: Value::String(original.clone()), original })
}
