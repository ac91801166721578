//! Flows: condition routes, no-match and no-input handlers with counters, event routes,
//! escalation, webhook target pages.

use super::*;

fn agent() -> Agent {
    Agent::from_yaml(
        r#"
name: lamp
fallback: ["Sorry?"]
webhook_error: ["Down."]
no_input: ["Are you still there?", "I can't hear you."]
handoff: { messages: ["Connecting you to a person."], after_no_match: 5 }
webhooks: { lamps: { url: "https://example.com/hook" } }
flows:
  fix:
    start: plugged
    pages:
      plugged:
        say: [{ text: "Is it plugged in?", quick_replies: ["Yes", "No"] }]
        no_match: ["Please answer yes or no: is it plugged in?", "Yes or no?"]
        no_input: ["Is the lamp plugged in?"]
        routes:
          - { intent: Yes, condition: "$bulb = led", to: led }
          - { intent: Yes, to: bulb }
          - { intent: No, to: plug }
          - { event: no-match, to: agent }
      bulb: { say: ["Try a new bulb."], end: true }
      led: { say: ["LED lamps need a compatible dimmer."], end: true }
      plug: { say: ["Plug it in, then try again."], end: true }
      agent: { say: ["Let me find you a person."], handoff: true }
  check:
    start: branch
    pages:
      branch:
        routes:
          - { condition: "$warranty-months >= 12", to: covered }
          - { condition: "not $warranty-months", to: ask }
          - { intent: No, to: expired }
      covered: { say: ["You are covered: $warranty-months months."], end: true }
      ask: { say: ["We need your receipt."], end: true }
      expired: { say: ["Out of warranty."], end: true }
intents:
  - { name: Fix, training_phrases: ["my lamp is broken", "lamp does not work", "fix my lamp"], flow: fix }
  - { name: Warranty, training_phrases: ["is my lamp under warranty", "warranty check"], flow: check }
  - { name: SetBulb, training_phrases: ["my bulb is an [led](bulb)", "it has an [led](bulb) bulb"],
      parameters: [{ name: bulb, entity: "@bulbs" }], responses: ["Noted: $bulb."] }
  - { name: Bye, training_phrases: ["bye", "goodbye", "see you"], responses: [{ text: ["Bye!", "See you!"] }],
      end_session: true }
  - { name: Yes, training_phrases: ["yes", "yep", "it is"], in_flows_only: true }
  - { name: No, training_phrases: ["no", "nope", "it is not"], in_flows_only: true }
entities:
  bulbs: { values: [{ value: led }, { value: halogen }] }
"#,
    )
    .unwrap()
}

fn say(agent: &Agent, state: &DialogState, text: &str) -> Turn {
    step(agent, state, &UserInput::text(text))
}

fn texts(turn: &Turn) -> Vec<&str> {
    turn.messages.iter().map(|m| m.text.as_str()).collect()
}

#[test]
fn a_page_says_rich_messages_and_routes_on_intents() {
    let agent = agent();
    let asked = say(&agent, &DialogState::default(), "my lamp is broken");
    assert_eq!(texts(&asked), ["Is it plugged in?"]);
    assert_eq!(asked.messages[0].quick_replies.iter().map(|q| q.label.as_str()).collect::<Vec<_>>(), ["Yes", "No"]);
    let done = say(&agent, &asked.state, "yes");
    assert_eq!(texts(&done), ["Try a new bulb."]);
    assert_eq!(done.state.flow, None);
}

#[test]
fn a_condition_on_a_parameter_picks_the_route() {
    let agent = agent();
    let noted = say(&agent, &DialogState::default(), "my bulb is an led");
    assert_eq!(texts(&noted), ["Noted: led."]);
    let asked = say(&agent, &noted.state, "fix my lamp");
    assert_eq!(texts(&say(&agent, &asked.state, "yes")), ["LED lamps need a compatible dimmer."]);
}

#[test]
fn condition_routes_branch_on_entering_a_page() {
    let agent = agent();
    let mut state = DialogState::default();
    assert_eq!(texts(&say(&agent, &state, "warranty check")), ["We need your receipt."]);
    state.parameters.insert("warranty-months".into(), 24.into());
    let turn = say(&agent, &state, "warranty check");
    assert_eq!(texts(&turn), ["You are covered: 24 months."]);
    assert_eq!(turn.state.flow, None);
    state.parameters.insert("warranty-months".into(), 3.into());
    let waiting = say(&agent, &state, "warranty check");
    assert!(texts(&waiting).is_empty());
    assert_eq!(texts(&say(&agent, &waiting.state, "no")), ["Out of warranty."]);
}

#[test]
fn no_match_handlers_count_up_then_the_event_route_fires() {
    let agent = agent();
    let asked = say(&agent, &DialogState::default(), "my lamp is broken");
    let one = say(&agent, &asked.state, "purple");
    assert_eq!(texts(&one), ["Please answer yes or no: is it plugged in?"]);
    let two = say(&agent, &one.state, "banana");
    assert_eq!(texts(&two), ["Yes or no?"]);
    let three = say(&agent, &two.state, "seventeen");
    assert_eq!(texts(&three), ["Let me find you a person.", "Connecting you to a person."]);
    assert_eq!(three.effects, [Effect::Handoff { reason: HandoffReason::Requested { intent: "fix/agent".into() } }]);
    // A routed answer resets the counter.
    let one = say(&agent, &asked.state, "purple");
    let routed = say(&agent, &one.state, "no");
    assert_eq!(texts(&routed), ["Plug it in, then try again."]);
    assert_eq!(routed.state.no_match_count, 0);
}

#[test]
fn silence_gets_the_page_handler_then_the_agent_escalates() {
    let agent = agent();
    let asked = say(&agent, &DialogState::default(), "my lamp is broken");
    let one = step(&agent, &asked.state, &UserInput::NoInput);
    assert_eq!(texts(&one), ["Is the lamp plugged in?"]);
    let two = step(&agent, &one.state, &UserInput::NoInput);
    assert_eq!(texts(&two), ["Connecting you to a person."]);
    assert_eq!(two.effects, [Effect::Handoff { reason: HandoffReason::RepeatedNoInput { count: 2 } }]);
}

#[test]
fn silence_outside_a_flow_re_prompts_with_the_agents_handlers() {
    let agent = agent();
    let one = step(&agent, &DialogState::default(), &UserInput::NoInput);
    assert_eq!(texts(&one), ["Are you still there?"]);
    let two = step(&agent, &one.state, &UserInput::NoInput);
    assert_eq!(texts(&two), ["I can't hear you."]);
    let spoke = say(&agent, &two.state, "hello?");
    assert_eq!(spoke.state.no_input_count, 0);
    let three = step(&agent, &two.state, &UserInput::NoInput);
    assert_eq!(three.effects, [Effect::Handoff { reason: HandoffReason::RepeatedNoInput { count: 3 } }]);
}

#[test]
fn an_end_session_intent_ends_and_its_variants_rotate() {
    let agent = agent();
    let one = say(&agent, &DialogState::default(), "goodbye");
    assert_eq!(one.effects, [Effect::EndSession]);
    let two = say(&agent, &one.state, "goodbye");
    assert_ne!(texts(&one), texts(&two));
    assert!(["Bye!", "See you!"].contains(&texts(&two)[0]));
}

#[test]
fn a_webhook_target_page_moves_the_conversation() {
    let agent = Agent::from_json(
        &serde_json::to_string(&serde_json::json!({
            "name": "t", "fallback": ["?"], "webhook_error": ["!"],
            "webhooks": {"w": {"url": "https://x"}},
            "flows": {"f": {"start": "a", "pages": {"a": {"say": ["A"], "routes": [{"intent": "Go", "to": "b"}]},
                                                    "b": {"say": ["B"], "end": true}}}},
            "intents": [
                {"name": "Go", "training_phrases": ["go", "go on"], "in_flows_only": true},
                {"name": "Ask", "training_phrases": ["ask the webhook"], "fulfillment": {"webhook": "w", "tag": "t"}}
            ]
        }))
        .unwrap(),
    )
    .unwrap();
    let asked = say(&agent, &DialogState::default(), "ask the webhook");
    for target in ["f/b", "projects/p/locations/l/agents/a/flows/f/pages/b"] {
        let response = WebhookResponse { target_page: Some(target.into()), ..WebhookResponse::default() };
        let turn = resume(&agent, &asked.state, WebhookOutcome::Replied(response));
        assert_eq!(texts(&turn), ["B"], "{target}");
    }
    let response = WebhookResponse { target_page: Some("f/nowhere".into()), ..WebhookResponse::default() };
    assert!(texts(&resume(&agent, &asked.state, WebhookOutcome::Replied(response))).is_empty());
}

#[test]
fn a_webhook_asking_for_a_live_agent_hands_off() {
    let agent = Agent::from_json(
        r#"{"name": "t", "fallback": ["?"], "webhook_error": ["!"], "webhooks": {"w": {"url": "https://x"}},
            "intents": [{"name": "Ask", "training_phrases": ["refund please"], "fulfillment": {"webhook": "w", "tag": "t"}}]}"#,
    )
    .unwrap();
    let asked = say(&agent, &DialogState::default(), "refund please");
    let response: WebhookResponse = serde_json::from_str(
        r#"{"fulfillmentResponse": {"messages": [{"text": {"text": ["A colleague will help."]}},
                                                  {"liveAgentHandoff": {"metadata": {"queue": "refunds"}}}]}}"#,
    )
    .unwrap();
    let turn = resume(&agent, &asked.state, WebhookOutcome::Replied(response));
    assert_eq!(texts(&turn), ["A colleague will help."]);
    assert_eq!(
        turn.effects,
        [Effect::Handoff {
            reason: HandoffReason::Fulfillment { metadata: Some(serde_json::json!({"queue": "refunds"})) }
        }]
    );
}
