//! The sans-IO dialog runtime: one user input in, one [`Turn`] out.
//!
//! Call order for a host (the edge, a test, the CLI):
//! 1. `step(agent, state, input)` with the stored state;
//! 2. for each [`Effect::CallWebhook`] in the turn, call the webhook and hand the outcome to
//!    `resume(agent, &turn.state, outcome)`, whose turn follows (or, with
//!    [`Turn::replaces_earlier`], replaces) the first one's messages;
//! 3. store the last turn's `state`.
//!
//! Nothing here reads a clock, a network or a random source: the same inputs give the same turn.

use crate::agent::{Agent, Handoff, Intent};
use crate::entity::{Date, EntityMatch, EntityType};
use crate::flow::FlowPosition;
use crate::webhook::{
    FulfillmentInfo, IntentInfo, IntentParameterValue, MergeBehavior, ResponseMessage, SessionInfo, TextMessage,
    WebhookRequest, WebhookResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Everything the engine remembers between turns; the host stores it as JSON.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DialogState {
    /// The intent being served, while it collects parameters or waits for its webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<ActiveIntent>,
    /// Session parameters: every value collected so far, as sent to webhooks.
    #[serde(default)]
    pub parameters: Map<String, Value>,
    /// The last intent matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_intent: Option<String>,
    /// Consecutive utterances that matched nothing.
    #[serde(default)]
    pub no_match_count: u32,
    /// The page of the flow in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<FlowPosition>,
}

/// An intent in progress (a form in Dialogflow CX terms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveIntent {
    /// The intent's name.
    pub intent: String,
    /// The classifier's confidence when it matched.
    pub confidence: f32,
    /// Parameters filled so far.
    #[serde(default)]
    pub slots: BTreeMap<String, SlotValue>,
    /// The parameter last prompted for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awaiting: Option<String>,
    /// How many times the awaited parameter has been asked for.
    #[serde(default)]
    pub prompts_given: u32,
    /// A webhook call was requested and its outcome not yet resumed.
    #[serde(default)]
    pub awaiting_webhook: bool,
    /// A parameter whose last value was rejected (validation, or a webhook's `INVALID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
}

/// A filled parameter: the words it came from and the typed value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotValue {
    /// The user's words.
    pub original: String,
    /// The resolved value.
    pub value: Value,
}

/// What the user did.
#[derive(Debug, Clone, PartialEq)]
pub enum UserInput {
    /// Typed or transcribed text.
    Text {
        /// The words.
        text: String,
        /// The user's date, for relative dates ("tomorrow"); the engine reads no clock.
        today: Option<Date>,
    },
    /// The conversation opened: the agent greets.
    Welcome,
}

impl UserInput {
    /// A text input without a reference date.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text { text: text.into(), today: None }
    }

    /// A text input written on `today`.
    pub fn text_on(text: impl Into<String>, today: Date) -> Self {
        Self::Text { text: text.into(), today: Some(today) }
    }
}

/// A message from the agent to the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// Plain text.
    pub text: String,
}

/// Work the host must do for the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// POST `request` to the agent's webhook `webhook`, then call [`resume`] with the outcome.
    CallWebhook {
        /// Name of the webhook in [`Agent::webhooks`].
        webhook: String,
        /// The CX request; the host fills `sessionInfo.session` and `detectIntentResponseId`.
        request: Box<WebhookRequest>,
    },
    /// Hand the conversation to a human agent.
    Handoff {
        /// Why.
        reason: HandoffReason,
    },
}

/// Why a conversation is handed to a human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandoffReason {
    /// The user asked for a person (an intent marked `handoff`).
    Requested {
        /// The intent that matched.
        intent: String,
    },
    /// This many utterances in a row matched nothing.
    RepeatedNoMatch {
        /// How many.
        count: u32,
    },
}

/// The outcome of an [`Effect::CallWebhook`].
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookOutcome {
    /// The webhook answered 2xx with a valid `WebhookResponse`.
    Replied(WebhookResponse),
    /// Timeout, transport error, non-2xx, oversize or malformed reply.
    Failed,
}

/// The intent an utterance matched, for analytics.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// Intent name.
    pub intent: String,
    /// Classifier confidence.
    pub confidence: f32,
}

/// The result of one step: new state, messages to show and effects to carry out.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// The state to store (or to pass to [`resume`]).
    pub state: DialogState,
    /// Messages for the user, in order.
    pub messages: Vec<Reply>,
    /// Work for the host.
    pub effects: Vec<Effect>,
    /// The intent matched by this input, if any.
    pub matched: Option<Match>,
    /// The messages of this turn replace those of the turn that requested the webhook.
    pub replaces_earlier: bool,
}

impl Turn {
    fn new(state: DialogState) -> Self {
        Self { state, messages: Vec::new(), effects: Vec::new(), matched: None, replaces_earlier: false }
    }

    fn say(&mut self, text: impl Into<String>) {
        self.messages.push(Reply { text: text.into() });
    }
}

/// Runs one user input through the agent.
pub fn step(agent: &Agent, state: &DialogState, input: &UserInput) -> Turn {
    let mut turn = Turn::new(state.clone());
    let (text, today) = match input {
        UserInput::Welcome => {
            agent.welcome.iter().for_each(|m| turn.say(m));
            return turn;
        }
        UserInput::Text { text, today } => (text.trim(), *today),
    };
    // A webhook outcome that never came back (the host failed between step and resume), or an
    // intent that a newer version of the agent no longer has, must not wedge the conversation.
    if turn.state.active.as_ref().is_some_and(|a| a.awaiting_webhook || agent.intent(&a.intent).is_none()) {
        turn.state.active = None;
    }
    let classified = agent
        .classifier
        .classify(text)
        .filter(|c| c.confidence >= agent.confidence_threshold)
        .map(|c| (&agent.intents[c.intent], c.confidence));

    if follow_flow(agent, &mut turn, classified) {
        return turn;
    }
    // Outside a flow, flow-only intents ("yes", "no") mean nothing.
    let classified = classified.filter(|(intent, _)| !intent.in_flows_only);
    if correct(agent, &mut turn, classified.map(|(i, _)| i), text, today) {
        return turn;
    }

    if let Some(active) = turn.state.active.as_mut() {
        let intent = agent.intent(&active.intent).expect("frames of unknown intents were dropped above");
        let filled = active.awaiting.clone().is_some_and(|name| fill_slot(intent, active, &name, text, today));
        let switches = classified.is_some_and(|(other, _)| other.name != intent.name);
        if filled || !switches {
            if !filled {
                active.prompts_given += 1;
            }
            fill_other_slots(agent, intent, active, text, today);
            advance(agent, intent, &mut turn, text);
            return turn;
        }
    }

    let Some((intent, confidence)) = classified else {
        turn.state.no_match_count += 1;
        let count = turn.state.no_match_count;
        if let Some(handoff) = agent.handoff.as_ref().filter(|h| h.after_no_match.is_some_and(|n| count >= n)) {
            hand_off(&mut turn, handoff, HandoffReason::RepeatedNoMatch { count });
            return turn;
        }
        let i = (count as usize - 1) % agent.fallback.len();
        turn.say(&agent.fallback[i]);
        return turn;
    };
    turn.state.no_match_count = 0;
    turn.state.last_intent = Some(intent.name.clone());
    turn.matched = Some(Match { intent: intent.name.clone(), confidence });
    if intent.handoff {
        let handoff = agent.handoff.as_ref().expect("validation: handoff intents need the agent's handoff section");
        turn.state.active = None;
        hand_off(&mut turn, handoff, HandoffReason::Requested { intent: intent.name.clone() });
        return turn;
    }
    if let Some(flow) = intent.flow.as_ref().and_then(|f| agent.flows.get(f).map(|def| (f, def))) {
        turn.state.active = None;
        let parameters = turn.state.parameters.clone();
        turn.messages.extend(intent.responses.iter().map(|r| Reply { text: render(r, &parameters) }));
        enter_page(agent, &mut turn, flow.0, &flow.1.start);
        return turn;
    }
    let mut active = ActiveIntent {
        intent: intent.name.clone(),
        confidence,
        slots: BTreeMap::new(),
        awaiting: None,
        prompts_given: 0,
        awaiting_webhook: false,
        rejected: None,
    };
    fill_other_slots(agent, intent, &mut active, text, today);
    turn.state.active = Some(active);
    advance(agent, intent, &mut turn, text);
    turn
}

/// Moves through the flow in progress; true when the utterance was handled by it.
fn follow_flow(agent: &Agent, turn: &mut Turn, classified: Option<(&Intent, f32)>) -> bool {
    let Some(position) = turn.state.flow.clone() else { return false };
    let Some(page) = agent.flows.get(&position.flow).and_then(|f| f.pages.get(&position.page)) else {
        // The agent changed under a stored conversation: leave the flow.
        turn.state.flow = None;
        return false;
    };
    let route = classified.and_then(|(intent, _)| page.routes.iter().find(|r| r.intent == intent.name));
    match (route, classified) {
        (Some(route), Some((intent, confidence))) => {
            turn.state.no_match_count = 0;
            turn.matched = Some(Match { intent: intent.name.clone(), confidence });
            enter_page(agent, turn, &position.flow, &route.to);
            true
        }
        (None, None) => {
            // Not understood: the page asks again.
            page.say.iter().for_each(|m| turn.say(m));
            true
        }
        (None, Some((intent, _))) if intent.in_flows_only => {
            page.say.iter().for_each(|m| turn.say(m));
            true
        }
        // Another intent: leave the flow and serve it.
        _ => {
            turn.state.flow = None;
            false
        }
    }
}

fn enter_page(agent: &Agent, turn: &mut Turn, flow: &str, page_name: &str) {
    let page = &agent.flows[flow].pages[page_name];
    page.say.iter().for_each(|m| turn.say(m));
    turn.state.flow = Some(FlowPosition { flow: flow.to_owned(), page: page_name.to_owned() });
    if page.end || page.handoff {
        turn.state.flow = None;
    }
    if page.handoff {
        let handoff = agent.handoff.as_ref().expect("validation: handoff pages need the agent's handoff section");
        hand_off(turn, handoff, HandoffReason::Requested { intent: format!("{flow}/{page_name}") });
    }
}

/// Words that open a correction: "no, it's 654321", "actually 42", "I meant 7".
const CORRECTION_CUES: &[&str] =
    &["no", "nope", "actually", "sorry", "wrong", "meant", "correction", "instead", "rather"];

/// Handles a correction of a value already given, for the intent in progress or the one just
/// served: the value is replaced and the intent runs again (prompting or calling its webhook).
/// True when the utterance was a correction.
fn correct(agent: &Agent, turn: &mut Turn, classified: Option<&Intent>, text: &str, today: Option<Date>) -> bool {
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

fn hand_off(turn: &mut Turn, handoff: &Handoff, reason: HandoffReason) {
    turn.state.no_match_count = 0;
    handoff.messages.iter().for_each(|m| turn.say(m));
    turn.effects.push(Effect::Handoff { reason });
}

/// Fills the awaited parameter from the whole utterance; true when it was filled.
fn fill_slot(intent: &Intent, active: &mut ActiveIntent, name: &str, text: &str, today: Option<Date>) -> bool {
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
fn fill_other_slots(agent: &Agent, intent: &Intent, active: &mut ActiveIntent, text: &str, today: Option<Date>) {
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
    let (start, end) = (words[first].0, words[last - 1].1);
    let original = text[start..end].to_owned();
    Some(EntityMatch { start, end, value: Value::String(original.clone()), original })
}

/// Prompts for the next missing mandatory parameter, or completes the intent.
fn advance(agent: &Agent, intent: &Intent, turn: &mut Turn, text: &str) {
    let active = turn.state.active.as_mut().expect("advance needs an active intent");
    if let Some(missing) = intent.parameters.iter().find(|p| p.mandatory && !active.slots.contains_key(&p.name)) {
        if active.awaiting.as_deref() != Some(missing.name.as_str()) {
            active.awaiting = Some(missing.name.clone());
            active.prompts_given = 0;
        }
        if active.rejected.take().as_deref() == Some(missing.name.as_str()) {
            let invalid = missing.validation.as_ref().map(|v| v.invalid_prompts.as_slice()).unwrap_or_default();
            turn.messages.extend(invalid.iter().map(|text| Reply { text: text.clone() }));
        }
        let prompt = &missing.prompts[(active.prompts_given as usize).min(missing.prompts.len() - 1)];
        turn.say(prompt.clone());
        return;
    }
    active.awaiting = None;
    active.rejected = None;
    let mut parameters = turn.state.parameters.clone();
    parameters.extend(active.slots.iter().map(|(k, v)| (k.clone(), v.value.clone())));
    let responses: Vec<String> = intent.responses.iter().map(|r| render(r, &parameters)).collect();
    turn.messages.extend(responses.iter().map(|text| Reply { text: text.clone() }));
    match &intent.fulfillment {
        Some(fulfillment) => {
            active.awaiting_webhook = true;
            let request = WebhookRequest {
                language_code: agent.language.clone(),
                fulfillment_info: FulfillmentInfo { tag: fulfillment.tag.clone() },
                intent_info: Some(IntentInfo {
                    last_matched_intent: intent.name.clone(),
                    display_name: intent.name.clone(),
                    confidence: active.confidence,
                    parameters: active
                        .slots
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                IntentParameterValue {
                                    original_value: v.original.clone(),
                                    resolved_value: v.value.clone(),
                                },
                            )
                        })
                        .collect(),
                }),
                session_info: SessionInfo { session: String::new(), parameters },
                text: Some(text.to_owned()),
                messages: responses
                    .into_iter()
                    .map(|t| ResponseMessage { text: Some(TextMessage { text: vec![t] }), payload: None })
                    .collect(),
                ..WebhookRequest::default()
            };
            turn.effects.push(Effect::CallWebhook { webhook: fulfillment.webhook.clone(), request: Box::new(request) });
        }
        None => {
            turn.state.parameters = parameters;
            turn.state.active = None;
        }
    }
}

/// Applies a webhook's outcome to the state left by the turn that requested it.
pub fn resume(agent: &Agent, state: &DialogState, outcome: WebhookOutcome) -> Turn {
    let mut turn = Turn::new(state.clone());
    let Some(active) = turn.state.active.take().filter(|a| a.awaiting_webhook) else {
        return turn;
    };
    // Collected values become session parameters either way: a failing webhook loses nothing.
    turn.state.parameters.extend(active.slots.iter().map(|(k, v)| (k.clone(), v.value.clone())));
    match outcome {
        WebhookOutcome::Replied(response) => {
            for text in response.texts() {
                turn.say(text);
            }
            turn.replaces_earlier =
                response.fulfillment_response.as_ref().is_some_and(|f| f.merge_behavior == MergeBehavior::Replace);
            if let Some(updates) = &response.session_info {
                for (name, value) in &updates.parameters {
                    if value.is_null() {
                        turn.state.parameters.remove(name);
                    } else {
                        turn.state.parameters.insert(name.clone(), value.clone());
                    }
                }
            }
            let invalid = response.invalid_parameters();
            if let (Some(first), Some(intent)) = (invalid.first(), agent.intent(&active.intent)) {
                // CX semantics: the form goes on, asking for the rejected parameter again.
                let mut frame = active;
                for name in &invalid {
                    frame.slots.remove(*name);
                    turn.state.parameters.remove(*name);
                }
                frame.awaiting_webhook = false;
                frame.awaiting = None;
                frame.rejected = Some((*first).to_owned());
                turn.state.active = Some(frame);
                advance(agent, intent, &mut turn, "");
            }
        }
        WebhookOutcome::Failed => agent.webhook_error.iter().for_each(|m| turn.say(m)),
    }
    turn
}

/// Replaces `$name` with the parameter's value (strings without quotes).
fn render(template: &str, parameters: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let len = after.find(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_')).unwrap_or(after.len());
        match parameters.get(&after[..len]) {
            Some(Value::String(s)) if len > 0 => out.push_str(s),
            Some(v) if len > 0 => out.push_str(&v.to_string()),
            _ => out.push_str(&rest[at..at + 1 + len]),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
