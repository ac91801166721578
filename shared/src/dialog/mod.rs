//! The sans-IO dialog runtime: one user input in, one [`Turn`] out.
//!
//! Call order for a host (the edge, a test, the CLI):
//! 1. `step(agent, state, input)` with the stored state;
//! 2. for each [`Effect::CallWebhook`] in the turn, call the webhook and hand the outcome to
//!    `resume(agent, &turn.state, outcome)`, whose turn follows (or, with
//!    [`Turn::replaces_earlier`], replaces) the first one's messages;
//! 3. store the last turn's `state`.
//!
//! Before storing the state, a host drops what must never be stored with
//! [`DialogState::without_redacted`] and masks logged text with [`Turn::mask`].
//!
//! Nothing here reads a clock, a network or a random source: the same inputs give the same turn.

use crate::agent::{Agent, Handoff, Intent};
use crate::entity::Date;
use crate::flow::FlowPosition;
use crate::response::Response;
use crate::webhook::{
    FulfillmentInfo, IntentInfo, IntentParameterValue, MergeBehavior, ResponseMessage, SessionInfo, TextMessage,
    WebhookRequest, WebhookResponse,
};
use flows::{Heard, enter_page, follow_flow};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use slots::{correct, fill_other_slots, fill_slot};
use std::collections::BTreeMap;

pub use crate::response::Reply;

mod flows;
mod slots;

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
    /// Consecutive silences (voice).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub no_input_count: u32,
    /// Inputs so far; rotates message variants.
    #[serde(default)]
    pub turns: u32,
    /// What the host knows of the user (`name`, `email`, `phone`, …), read by parameters with
    /// `default_from`. The host sets it before each step; it is never stored with the state.
    #[serde(skip)]
    pub profile: Map<String, Value>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl DialogState {
    /// The state without the values of parameters marked `redact`: what a host may store.
    pub fn without_redacted(&self, agent: &Agent) -> DialogState {
        let mut state = self.clone();
        for name in agent.redacted_parameters() {
            state.parameters.remove(name);
            if let Some(active) = state.active.as_mut() {
                active.slots.remove(name);
            }
        }
        state.profile = Map::new();
        state
    }
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
    /// The user said nothing (a voice channel's timeout).
    NoInput,
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
    /// The conversation is over (an intent marked `end_session` was served): the host may
    /// record it as resolved and close the channel (hang up a call).
    EndSession,
}

/// Why a conversation is handed to a human.
#[derive(Debug, Clone, PartialEq)]
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
    /// This many silences in a row, after the no-input handlers.
    RepeatedNoInput {
        /// How many.
        count: u32,
    },
    /// The fulfillment webhook asked for a human (`liveAgentHandoff`).
    Fulfillment {
        /// The webhook's metadata for the human agent's system.
        metadata: Option<Value>,
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
    /// The words of `redact` parameters known this turn: to be masked in anything stored or
    /// logged ([`Turn::mask`]).
    pub redacted: Vec<String>,
}

impl Turn {
    fn new(state: DialogState) -> Self {
        Self {
            state,
            messages: Vec::new(),
            effects: Vec::new(),
            matched: None,
            replaces_earlier: false,
            redacted: Vec::new(),
        }
    }

    /// Session parameters with the active intent's slots on top: what messages and conditions
    /// see.
    fn parameters(&self) -> Map<String, Value> {
        let mut parameters = self.state.parameters.clone();
        if let Some(active) = &self.state.active {
            parameters.extend(active.slots.iter().map(|(k, v)| (k.clone(), v.value.clone())));
        }
        parameters
    }

    fn say(&mut self, response: &Response) {
        let reply = response.render(&self.parameters(), self.state.turns);
        self.messages.push(reply);
    }

    /// `text` with the words of redacted parameters replaced by `[redacted]`.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in self.redacted.iter().filter(|s| !s.is_empty()) {
            out = out.replace(secret.as_str(), "[redacted]");
        }
        out
    }

    /// Collects the words of redacted parameters present in the state.
    fn note_redactions(&mut self, agent: &Agent) {
        for name in agent.redacted_parameters() {
            if let Some(slot) = self.state.active.as_ref().and_then(|a| a.slots.get(name)) {
                self.redacted.push(slot.original.clone());
                self.redacted.push(value_text(&slot.value));
            }
            if let Some(value) = self.state.parameters.get(name) {
                self.redacted.push(value_text(value));
            }
        }
        self.redacted.sort();
        self.redacted.dedup();
    }
}

/// The user's words for the redacted parameters among `slots`.
fn redacted_words<'a>(agent: &'a Agent, slots: &'a BTreeMap<String, SlotValue>) -> impl Iterator<Item = String> + 'a {
    agent.redacted_parameters().filter_map(|name| slots.get(name)).map(|slot| slot.original.clone())
}

fn value_text(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

/// Runs one user input through the agent.
pub fn step(agent: &Agent, state: &DialogState, input: &UserInput) -> Turn {
    let mut turn = Turn::new(state.clone());
    if *input != UserInput::Welcome {
        turn.state.turns = turn.state.turns.wrapping_add(1);
    }
    // A webhook outcome that never came back (the host failed between step and resume), or an
    // intent that a newer version of the agent no longer has, must not wedge the conversation.
    if turn.state.active.as_ref().is_some_and(|a| a.awaiting_webhook || agent.intent(&a.intent).is_none()) {
        turn.state.active = None;
    }
    match input {
        UserInput::Welcome => agent.welcome.iter().for_each(|m| turn.say(m)),
        UserInput::NoInput => silence(agent, &mut turn),
        UserInput::Text { text, today } => utterance(agent, &mut turn, text.trim(), *today),
    }
    turn.note_redactions(agent);
    turn
}

/// The user said nothing: the page's or the agent's no-input handlers, re-prompting.
fn silence(agent: &Agent, turn: &mut Turn) {
    if follow_flow(agent, turn, Heard::Silence) {
        return;
    }
    turn.state.no_input_count = turn.state.no_input_count.saturating_add(1);
    let count = turn.state.no_input_count;
    match agent.no_input.get(count.saturating_sub(1) as usize) {
        Some(handler) => turn.say(handler),
        None => {
            if let Some(handoff) = agent.handoff.as_ref().filter(|_| !agent.no_input.is_empty()) {
                turn.state.active = None;
                hand_off(turn, handoff, HandoffReason::RepeatedNoInput { count });
                return;
            }
        }
    }
    // Frames of unknown intents were dropped at the start of the step.
    match turn.state.active.as_ref().and_then(|a| agent.intent(&a.intent)) {
        Some(intent) => {
            if let Some(active) = turn.state.active.as_mut() {
                active.prompts_given = active.prompts_given.saturating_add(1);
            }
            advance(agent, intent, turn, "");
        }
        None if agent.no_input.is_empty() => {
            if let Some(fallback) = agent.fallback.first() {
                turn.say(fallback);
            }
        }
        None => {}
    }
}

fn utterance(agent: &Agent, turn: &mut Turn, text: &str, today: Option<Date>) {
    turn.state.no_input_count = 0;
    let classified = agent
        .classifier
        .classify(text)
        .filter(|c| c.confidence >= agent.confidence_threshold)
        .and_then(|c| Some((agent.intents.get(c.intent)?, c.confidence)));

    if follow_flow(agent, turn, Heard::Said(classified)) {
        return;
    }
    // Outside a flow, flow-only intents ("yes", "no") mean nothing.
    let classified = classified.filter(|(intent, _)| !intent.in_flows_only);
    if correct(agent, turn, classified.map(|(i, _)| i), text, today) {
        return;
    }

    // Frames of unknown intents were dropped at the start of the step.
    if let Some(active) = turn.state.active.as_mut()
        && let Some(intent) = agent.intent(&active.intent)
    {
        let filled = active.awaiting.clone().is_some_and(|name| fill_slot(intent, active, &name, text, today));
        let switches = classified.is_some_and(|(other, _)| other.name != intent.name);
        if filled || !switches {
            if !filled {
                active.prompts_given = active.prompts_given.saturating_add(1);
            }
            fill_other_slots(agent, intent, active, text, today);
            advance(agent, intent, turn, text);
            return;
        }
    }

    let Some((intent, confidence)) = classified else {
        turn.state.no_match_count = turn.state.no_match_count.saturating_add(1);
        let count = turn.state.no_match_count;
        if let Some(handoff) = agent.handoff.as_ref().filter(|h| h.after_no_match.is_some_and(|n| count >= n)) {
            hand_off(turn, handoff, HandoffReason::RepeatedNoMatch { count });
            return;
        }
        // Validation: the agent has at least one fallback message.
        let nth = (count.saturating_sub(1) as usize).checked_rem(agent.fallback.len());
        if let Some(fallback) = nth.and_then(|i| agent.fallback.get(i)) {
            turn.say(fallback);
        }
        return;
    };
    turn.state.no_match_count = 0;
    turn.state.last_intent = Some(intent.name.clone());
    turn.matched = Some(Match { intent: intent.name.clone(), confidence });
    // Validation: handoff intents need the agent's handoff section.
    if let Some(handoff) = agent.handoff.as_ref().filter(|_| intent.handoff) {
        turn.state.active = None;
        hand_off(turn, handoff, HandoffReason::Requested { intent: intent.name.clone() });
        return;
    }
    if let Some(flow) = intent.flow.as_ref().and_then(|f| agent.flows.get(f).map(|def| (f, def))) {
        turn.state.active = None;
        intent.responses.iter().for_each(|r| turn.say(r));
        enter_page(agent, turn, flow.0, &flow.1.start, 0);
        return;
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
    advance(agent, intent, turn, text);
}

fn hand_off(turn: &mut Turn, handoff: &Handoff, reason: HandoffReason) {
    turn.state.no_match_count = 0;
    turn.state.no_input_count = 0;
    handoff.messages.iter().for_each(|m| turn.say(m));
    turn.effects.push(Effect::Handoff { reason });
}

/// Prompts for the next missing mandatory parameter, or completes the intent.
fn advance(agent: &Agent, intent: &Intent, turn: &mut Turn, text: &str) {
    let DialogState { active, profile, parameters, .. } = &mut turn.state;
    // Every caller has just made `intent` the active one.
    let Some(active) = active.as_mut() else { return };
    // Values the user has not given come from their profile, or from a session parameter
    // given earlier (`session.<name>`), where the agent says so.
    let default = |from: &String| match from.strip_prefix("session.") {
        Some(name) => parameters.get(name),
        None => profile.get(from),
    };
    for p in &intent.parameters {
        if let (false, Some(value)) = (active.slots.contains_key(&p.name), p.default_from.as_ref().and_then(default)) {
            active.slots.insert(p.name.clone(), SlotValue { original: value_text(value), value: value.clone() });
        }
    }
    if let Some(missing) = intent.parameters.iter().find(|p| p.mandatory && !active.slots.contains_key(&p.name)) {
        if active.awaiting.as_deref() != Some(missing.name.as_str()) {
            active.awaiting = Some(missing.name.clone());
            active.prompts_given = 0;
        }
        let rejected = active.rejected.take().as_deref() == Some(missing.name.as_str());
        // The last prompt repeats. A parameter filled `default_from` the profile may have no
        // prompts, and the profile may lack the field after all: then the agent's fallback.
        let prompt = missing.prompts.get(active.prompts_given as usize).or(missing.prompts.last());
        if rejected {
            let invalid = missing.validation.as_ref().map(|v| v.invalid_prompts.as_slice()).unwrap_or_default();
            invalid.iter().for_each(|r| turn.say(r));
        }
        if let Some(prompt) = prompt.or(agent.fallback.first()) {
            turn.say(prompt);
        }
        return;
    }
    active.awaiting = None;
    active.rejected = None;
    let parameters = turn.parameters();
    let responses: Vec<Reply> = intent.responses.iter().map(|r| r.render(&parameters, turn.state.turns)).collect();
    turn.messages.extend(responses.iter().cloned());
    let Some(active) = turn.state.active.as_mut() else { return };
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
                    .map(|r| ResponseMessage { text: Some(TextMessage { text: vec![r.text] }), ..Default::default() })
                    .collect(),
                ..WebhookRequest::default()
            };
            turn.effects.push(Effect::CallWebhook { webhook: fulfillment.webhook.clone(), request: Box::new(request) });
        }
        None => {
            // The words of redacted values leave with the slots: remember them for masking.
            turn.redacted.extend(redacted_words(agent, &active.slots));
            turn.state.parameters = parameters;
            turn.state.active = None;
            if intent.end_session {
                end_session(turn);
            }
        }
    }
}

fn end_session(turn: &mut Turn) {
    turn.state.active = None;
    turn.state.flow = None;
    turn.effects.push(Effect::EndSession);
}

/// Applies a webhook's outcome to the state left by the turn that requested it.
pub fn resume(agent: &Agent, state: &DialogState, outcome: WebhookOutcome) -> Turn {
    let mut turn = Turn::new(state.clone());
    let Some(active) = turn.state.active.take().filter(|a| a.awaiting_webhook) else {
        return turn;
    };
    // Collected values become session parameters either way: a failing webhook loses nothing.
    turn.state.parameters.extend(active.slots.iter().map(|(k, v)| (k.clone(), v.value.clone())));
    turn.redacted.extend(redacted_words(agent, &active.slots));
    match outcome {
        WebhookOutcome::Replied(response) => {
            turn.messages.extend(response.texts().into_iter().map(Reply::text));
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
            } else if response.wants_live_agent() {
                let metadata = response
                    .fulfillment_response
                    .iter()
                    .flat_map(|f| &f.messages)
                    .find_map(|m| m.live_agent_handoff.as_ref())
                    .and_then(|h| h.metadata.clone());
                turn.state.flow = None;
                turn.state.no_match_count = 0;
                turn.effects.push(Effect::Handoff { reason: HandoffReason::Fulfillment { metadata } });
            } else if let Some((flow, page)) =
                response.target().filter(|(f, p)| agent.flows.get(*f).is_some_and(|def| def.pages.contains_key(*p)))
            {
                enter_page(agent, &mut turn, flow, page, 0);
            } else if agent.intent(&active.intent).is_some_and(|i| i.end_session) {
                end_session(&mut turn);
            }
        }
        WebhookOutcome::Failed => agent.webhook_error.iter().for_each(|m| turn.say(m)),
    }
    turn.note_redactions(agent);
    turn
}

#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod tests;
