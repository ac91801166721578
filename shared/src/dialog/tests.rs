//! Turn-by-turn tests of the runtime against a small retail agent.

use super::*;
use crate::webhook::FulfillmentResponse;

fn agent() -> Agent {
    Agent::from_json(
        r#"{
  "name": "shop",
  "welcome": ["Welcome!"],
  "fallback": ["Sorry, I didn't get that.", "Still lost."],
  "webhook_error": ["Our systems are down, try later."],
  "webhooks": { "orders": { "url": "https://example.com/hook" } },
  "intents": [
    { "name": "CheckOrderStatus",
      "training_phrases": ["where is my order", "track order", "order status", "where is order 123456"],
      "parameters": [ { "name": "order-number", "entity": "@sys.number", "mandatory": true,
                        "prompts": ["Can you provide your order number?", "Please type the number, e.g. 123456."] } ],
      "responses": ["Looking up order $order-number."],
      "fulfillment": { "webhook": "orders", "tag": "order-status" } },
    { "name": "Greeting", "training_phrases": ["hello", "hi there"], "responses": ["Hello!"] }
  ]
}"#,
    )
    .unwrap()
}

fn say(agent: &Agent, state: &DialogState, text: &str) -> Turn {
    step(agent, state, &UserInput::text(text))
}

fn texts(turn: &Turn) -> Vec<&str> {
    turn.messages.iter().map(|m| m.text.as_str()).collect()
}

fn webhook_request(turn: &Turn) -> &WebhookRequest {
    match turn.effects.as_slice() {
        [Effect::CallWebhook { webhook, request }] if webhook == "orders" => request.as_ref(),
        other => panic!("expected one webhook call, got {other:?}"),
    }
}

fn reply(text: &str) -> WebhookOutcome {
    WebhookOutcome::Replied(WebhookResponse {
        fulfillment_response: Some(FulfillmentResponse {
            messages: vec![ResponseMessage {
                text: Some(TextMessage { text: vec![text.into()] }),
                ..Default::default()
            }],
            merge_behavior: MergeBehavior::Append,
        }),
        ..WebhookResponse::default()
    })
}

#[test]
fn welcome_greets_without_changing_state() {
    let turn = step(&agent(), &DialogState::default(), &UserInput::Welcome);
    assert_eq!(texts(&turn), ["Welcome!"]);
    assert_eq!(turn.state, DialogState::default());
}

#[test]
fn prompts_for_the_mandatory_parameter_then_calls_the_webhook() {
    let agent = agent();
    let first = say(&agent, &DialogState::default(), "Where is my order?");
    assert_eq!(texts(&first), ["Can you provide your order number?"]);
    assert!(first.effects.is_empty());
    assert_eq!(first.matched.as_ref().unwrap().intent, "CheckOrderStatus");

    let second = say(&agent, &first.state, "123456");
    assert_eq!(texts(&second), ["Looking up order 123456."]);
    let request = webhook_request(&second);
    assert_eq!(request.session_info.parameters["order-number"], 123456);
    assert_eq!(request.fulfillment_info.tag, "order-status");
    let info = request.intent_info.as_ref().unwrap();
    assert_eq!(info.display_name, "CheckOrderStatus");
    assert_eq!(info.parameters["order-number"].original_value, "123456");

    let done = resume(&agent, &second.state, reply("Your order 123456 is out for delivery."));
    assert_eq!(texts(&done), ["Your order 123456 is out for delivery."]);
    assert_eq!(done.state.active, None);
    assert_eq!(done.state.parameters["order-number"], 123456);
}

#[test]
fn fills_the_parameter_from_the_first_utterance() {
    let agent = agent();
    let turn = say(&agent, &DialogState::default(), "Where is order 123456?");
    assert_eq!(webhook_request(&turn).session_info.parameters["order-number"], 123456);
}

#[test]
fn reprompts_with_the_next_prompt_when_the_answer_has_no_number() {
    let agent = agent();
    let first = say(&agent, &DialogState::default(), "track order");
    let again = say(&agent, &first.state, "I don't know it");
    assert_eq!(texts(&again), ["Please type the number, e.g. 123456."]);
    let still = say(&agent, &again.state, "no idea");
    assert_eq!(texts(&still), ["Please type the number, e.g. 123456."], "the last prompt repeats");
    let filled = say(&agent, &still.state, "oh wait, it's 42");
    assert_eq!(webhook_request(&filled).session_info.parameters["order-number"], 42);
}

#[test]
fn another_intent_interrupts_slot_filling() {
    let agent = agent();
    let first = say(&agent, &DialogState::default(), "track order");
    let hello = say(&agent, &first.state, "hello");
    assert_eq!(texts(&hello), ["Hello!"]);
    assert_eq!(hello.state.active, None);
}

#[test]
fn unrecognised_input_gets_the_fallbacks_in_turn() {
    let agent = agent();
    let one = say(&agent, &DialogState::default(), "blorp zzzt");
    assert_eq!(texts(&one), ["Sorry, I didn't get that."]);
    let two = say(&agent, &one.state, "qwxv");
    assert_eq!(texts(&two), ["Still lost."]);
    let hello = say(&agent, &two.state, "hi there");
    assert_eq!(hello.state.no_match_count, 0);
}

#[test]
fn a_failed_webhook_says_sorry_and_keeps_what_was_collected() {
    let agent = agent();
    let turn = say(&agent, &DialogState::default(), "where is order 77");
    let failed = resume(&agent, &turn.state, WebhookOutcome::Failed);
    assert_eq!(texts(&failed), ["Our systems are down, try later."]);
    assert_eq!(failed.state.parameters["order-number"], 77);
    assert_eq!(failed.state.active, None);
    // The conversation goes on normally.
    let next = say(&agent, &failed.state, "track order");
    assert_eq!(texts(&next), ["Can you provide your order number?"]);
}

#[test]
fn webhook_parameter_updates_apply_and_null_deletes() {
    let agent = agent();
    let turn = say(&agent, &DialogState::default(), "where is order 77");
    let mut parameters = Map::new();
    parameters.insert("order-number".into(), Value::Null);
    parameters.insert("carrier".into(), "DHL".into());
    let response = WebhookResponse {
        session_info: Some(SessionInfo { session: String::new(), parameters }),
        fulfillment_response: Some(FulfillmentResponse { messages: vec![], merge_behavior: MergeBehavior::Replace }),
        ..WebhookResponse::default()
    };
    let done = resume(&agent, &turn.state, WebhookOutcome::Replied(response));
    assert!(!done.state.parameters.contains_key("order-number"));
    assert_eq!(done.state.parameters["carrier"], "DHL");
    assert!(done.replaces_earlier);
}

#[test]
fn a_lost_webhook_outcome_does_not_wedge_the_conversation() {
    let agent = agent();
    let turn = say(&agent, &DialogState::default(), "where is order 77");
    let next = say(&agent, &turn.state, "hello");
    assert_eq!(texts(&next), ["Hello!"]);
}

#[test]
fn resume_without_a_pending_webhook_does_nothing() {
    let agent = agent();
    let turn = resume(&agent, &DialogState::default(), WebhookOutcome::Failed);
    assert!(turn.messages.is_empty());
}

#[test]
fn state_round_trips_through_json() {
    let agent = agent();
    let turn = say(&agent, &DialogState::default(), "track order");
    let json = serde_json::to_string(&turn.state).unwrap();
    let back: DialogState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, turn.state);
}

#[test]
fn render_substitutes_known_parameters_only() {
    let mut p = Map::new();
    p.insert("n".into(), 5.into());
    p.insert("who".into(), "Ann".into());
    assert_eq!(
        crate::response::substitute("$who has $n items, $unknown and $ alone", &p),
        "Ann has 5 items, $unknown and $ alone"
    );
}

#[test]
fn the_demo_agent_file_is_valid_and_understands_the_seed_phrases() {
    let agent = Agent::from_json(include_str!("../../../edge/agents/retail-demo.json")).unwrap();
    for phrase in [
        "Where is my order?",
        "Track order",
        "Order status",
        "where's my parcel",
        "track my packge",
        "when will it arrive",
    ] {
        let turn = say(&agent, &DialogState::default(), phrase);
        assert_eq!(turn.matched.as_ref().map(|m| m.intent.as_str()), Some("CheckOrderStatus"), "{phrase}");
    }
    for phrase in [
        "What's the weather in Paris?",
        "asdfgh",
        "I like turtles",
        "what is the meaning of life",
        "where is the nearest store",
    ] {
        let turn = say(&agent, &DialogState::default(), phrase);
        assert_eq!(turn.matched, None, "{phrase}");
    }
}

fn agent_with_handoff() -> Agent {
    Agent::from_json(
        r#"{
  "name": "shop",
  "fallback": ["Sorry?"],
  "webhook_error": ["Down."],
  "handoff": { "messages": ["Connecting you to a person."], "after_no_match": 2 },
  "intents": [
    { "name": "Human", "training_phrases": ["talk to a human", "real person"], "handoff": true },
    { "name": "Greeting", "training_phrases": ["hello", "hi there"], "responses": ["Hello!"] }
  ]
}"#,
    )
    .unwrap()
}

#[test]
fn asking_for_a_person_hands_off() {
    let agent = agent_with_handoff();
    let turn = say(&agent, &DialogState::default(), "I want to talk to a human");
    assert_eq!(texts(&turn), ["Connecting you to a person."]);
    assert_eq!(turn.effects, [Effect::Handoff { reason: HandoffReason::Requested { intent: "Human".into() } }]);
}

#[test]
fn repeated_no_match_escalates_and_resets_the_counter() {
    let agent = agent_with_handoff();
    let one = say(&agent, &DialogState::default(), "blorp");
    assert_eq!(texts(&one), ["Sorry?"]);
    assert!(one.effects.is_empty());
    let two = say(&agent, &one.state, "zzzt");
    assert_eq!(texts(&two), ["Connecting you to a person."]);
    assert_eq!(two.effects, [Effect::Handoff { reason: HandoffReason::RepeatedNoMatch { count: 2 } }]);
    assert_eq!(two.state.no_match_count, 0);
}

#[test]
fn a_handoff_intent_needs_the_handoff_section() {
    let err = Agent::from_json(
        r#"{"name": "x", "fallback": ["?"], "webhook_error": ["!"],
            "intents": [{"name": "Human", "training_phrases": ["human"], "handoff": true}]}"#,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "intents[0].handoff: intent 'Human' hands off, but the agent has no 'handoff' section");
}

#[test]
fn a_correction_after_fulfillment_runs_the_intent_again() {
    let agent = agent();
    let turn = say(&agent, &DialogState::default(), "where is order 123456");
    let done = resume(&agent, &turn.state, reply("Order 123456 is out for delivery."));
    let corrected = say(&agent, &done.state, "no, it's 654321");
    assert_eq!(webhook_request(&corrected).session_info.parameters["order-number"], 654321);
    assert_eq!(texts(&corrected), ["Looking up order 654321."]);
}

#[test]
fn a_correction_while_prompting_replaces_the_value() {
    let agent = agent();
    let first = say(&agent, &DialogState::default(), "where is order 12");
    let failed = resume(&agent, &first.state, WebhookOutcome::Failed);
    let again = say(&agent, &failed.state, "sorry, I meant 21");
    assert_eq!(webhook_request(&again).session_info.parameters["order-number"], 21);
}

#[test]
fn a_cue_word_without_a_known_value_is_not_a_correction() {
    let agent = agent();
    let turn = say(&agent, &DialogState::default(), "no thanks");
    assert_eq!(texts(&turn), ["Sorry, I didn't get that."]);
    let turn = say(&agent, &DialogState::default(), "hello");
    let no = say(&agent, &turn.state, "no, 42");
    assert!(no.effects.is_empty(), "Greeting has no parameter to correct: {no:?}");
}

#[test]
fn a_webhook_marking_a_parameter_invalid_asks_for_it_again() {
    let agent = agent();
    let turn = say(&agent, &DialogState::default(), "where is order 77");
    let response: WebhookResponse = serde_json::from_str(
        r#"{"fulfillmentResponse": {"messages": [{"text": {"text": ["No order 77."]}}]},
            "pageInfo": {"formInfo": {"parameterInfo": [{"displayName": "order-number", "state": "INVALID"}]}}}"#,
    )
    .unwrap();
    let invalid = resume(&agent, &turn.state, WebhookOutcome::Replied(response));
    assert_eq!(texts(&invalid), ["No order 77.", "Can you provide your order number?"]);
    assert!(!invalid.state.parameters.contains_key("order-number"));
    let again = say(&agent, &invalid.state, "78");
    assert_eq!(webhook_request(&again).session_info.parameters["order-number"], 78);
}

#[test]
fn validation_rejects_out_of_range_values_with_its_message() {
    let agent = Agent::from_json(
        r#"{"name": "x", "fallback": ["?"], "webhook_error": ["!"],
            "intents": [{"name": "Seats", "training_phrases": ["book seats", "reserve seats for 4"],
              "parameters": [{"name": "n", "entity": "@sys.number", "mandatory": true, "prompts": ["How many?", "How many seats?"],
                              "validation": {"min": 1, "max": 8, "pattern": "[0-9]+", "invalid_prompts": ["1 to 8 seats."]}}],
              "responses": ["Booked $n."]}]}"#,
    )
    .unwrap();
    let first = say(&agent, &DialogState::default(), "book seats for 12");
    assert_eq!(texts(&first), ["1 to 8 seats.", "How many?"]);
    let words = say(&agent, &first.state, "three");
    assert_eq!(texts(&words), ["1 to 8 seats.", "How many seats?"], "the pattern wants digits");
    let ok = say(&agent, &words.state, "3");
    assert_eq!(texts(&ok), ["Booked 3."]);
}

#[test]
fn free_form_parameters_come_from_the_tagger_not_the_whole_utterance() {
    let agent = Agent::from_json(
        r#"{"name": "x", "fallback": ["?"], "webhook_error": ["!"],
            "intents": [{"name": "BookTable",
              "training_phrases": ["book a table for [Anna](name)", "reserve a table for [John Smith](name) please",
                                   "table for [Maria](name)", "a table for [Li Wei](name) tonight", "book a table",
                                   "I need a table for [Sam](name)", "reserve a table"],
              "parameters": [{"name": "name", "entity": "@sys.any", "mandatory": true, "prompts": ["Under which name?"]}],
              "responses": ["Table booked for $name."]}]}"#,
    )
    .unwrap();
    let direct = say(&agent, &DialogState::default(), "book a table for Peter");
    assert_eq!(texts(&direct), ["Table booked for Peter."]);
    let asked = say(&agent, &DialogState::default(), "book a table");
    assert_eq!(texts(&asked), ["Under which name?"], "the utterance itself is not the name");
    let answered = say(&agent, &asked.state, "Lucy Brown");
    assert_eq!(texts(&answered), ["Table booked for Lucy Brown."]);
}

#[test]
fn annotations_must_name_a_parameter_of_the_intent() {
    let err = Agent::from_json(
        r#"{"name": "x", "fallback": ["?"], "webhook_error": ["!"],
            "intents": [{"name": "A", "training_phrases": ["hi", "for [Bo](nmae)"], "responses": ["ok"]}]}"#,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "intents[0].training_phrases[1]: annotation names unknown parameter 'nmae' of intent 'A'"
    );
}

#[test]
fn state_from_an_older_agent_does_not_break_the_conversation() {
    let agent = agent();
    let mut state = say(&agent, &DialogState::default(), "track order").state;
    state.active.as_mut().unwrap().intent = "RenamedSinceThen".into();
    state.last_intent = Some("RenamedSinceThen".into());
    state.flow = Some(FlowPosition { flow: "gone".into(), page: "nowhere".into() });
    let turn = say(&agent, &state, "no, 42");
    assert_eq!(texts(&turn), ["Sorry, I didn't get that."]);
    assert_eq!(turn.state.active, None);
    assert_eq!(turn.state.flow, None);
    assert_eq!(texts(&say(&agent, &turn.state, "where is order 42")), ["Looking up order 42."]);
}

fn payment_agent() -> Agent {
    Agent::from_yaml(
        r#"
name: pay
fallback: ["?"]
webhook_error: ["!"]
webhooks: { pay: { url: "https://example.com/pay" } }
entities:
  card: { regex: "[0-9]{4}( ?[0-9]{4}){3}" }
intents:
  - name: Pay
    training_phrases: ["I want to pay", "pay my bill", "pay with card"]
    parameters:
      - { name: email, entity: "@sys.email", mandatory: true, default_from: email, prompts: ["Your email?"] }
      - { name: card, entity: "@card", mandatory: true, redact: true, prompts: ["Your card number?"] }
    responses: ["Charging the card for $email."]
    fulfillment: { webhook: pay, tag: charge }
"#,
    )
    .unwrap()
}

#[test]
fn a_parameter_defaults_from_the_users_profile() {
    let agent = payment_agent();
    let anonymous = say(&agent, &DialogState::default(), "I want to pay");
    assert_eq!(texts(&anonymous), ["Your email?"]);
    let mut known = DialogState::default();
    known.profile.insert("email".into(), "ann@example.com".into());
    let turn = say(&agent, &known, "I want to pay");
    assert_eq!(texts(&turn), ["Your card number?"]);
    // The profile is the host's to supply each turn, never part of the stored state.
    assert!(!serde_json::to_string(&known).unwrap().contains("ann@example.com"));
    assert_eq!(turn.state.active.unwrap().slots["email"].value, "ann@example.com");
}

#[test]
fn a_parameter_defaults_from_a_session_parameter_given_earlier() {
    let agent = Agent::from_yaml(
        r#"
name: Orders
fallback: ["Sorry?"]
webhook_error: ["Sorry, try later."]
intents:
  - name: Status
    training_phrases: ["where is my order", "track my order", "order status"]
    parameters:
      - { name: order, entity: "@sys.number", mandatory: true, default_from: session.order, prompts: ["Your order number?"] }
    responses: ["Order $order is on its way."]
"#,
    )
    .unwrap();
    let first = say(&agent, &DialogState::default(), "where is my order");
    assert_eq!(texts(&first), ["Your order number?"]);
    let answered = say(&agent, &first.state, "123456");
    assert_eq!(texts(&answered), ["Order 123456 is on its way."]);
    // Asked again later (on another channel, say): answered from the conversation's context.
    assert_eq!(texts(&say(&agent, &answered.state, "track my order")), ["Order 123456 is on its way."]);
    // The user's own words still win.
    assert_eq!(texts(&say(&agent, &answered.state, "where is my order 777")), ["Order 777 is on its way."]);
}

#[test]
fn redacted_values_reach_the_webhook_but_not_the_stored_state() {
    let agent = payment_agent();
    let mut state = DialogState::default();
    state.profile.insert("email".into(), "ann@example.com".into());
    let asked = say(&agent, &state, "pay my bill");
    let turn = say(&agent, &asked.state, "it is 4111 1111 1111 1111 thanks");
    let Effect::CallWebhook { request, .. } = &turn.effects[0] else { panic!("{:?}", turn.effects) };
    assert_eq!(request.session_info.parameters["card"], "4111 1111 1111 1111");
    assert_eq!(turn.redacted, ["4111 1111 1111 1111"]);
    assert_eq!(turn.mask("it is 4111 1111 1111 1111 thanks"), "it is [redacted] thanks");
    let done = resume(&agent, &turn.state, WebhookOutcome::Failed);
    let stored = serde_json::to_string(&done.state.without_redacted(&agent)).unwrap();
    assert!(!stored.contains("4111"), "{stored}");
    assert!(stored.contains("ann@example.com"), "the email was filled and is not redacted: {stored}");
    assert_eq!(done.redacted, ["4111 1111 1111 1111"]);
}

#[test]
fn the_words_of_a_redacted_value_are_masked_even_when_they_differ_from_the_value() {
    let agent = Agent::from_yaml(
        r#"
name: call
fallback: ["?"]
webhook_error: ["!"]
intents:
  - name: CallBack
    training_phrases: ["call me back", "please call me"]
    parameters: [{ name: phone, entity: "@sys.phone-number", mandatory: true, redact: true, prompts: ["Number?"] }]
    responses: ["Calling $phone."]
"#,
    )
    .unwrap();
    let asked = say(&agent, &DialogState::default(), "call me back");
    let turn = say(&agent, &asked.state, "it's 0151 2345678");
    assert_eq!(texts(&turn), ["Calling 01512345678."]);
    assert_eq!(turn.mask("it's 0151 2345678"), "it's [redacted]");
    assert_eq!(turn.mask("Calling 01512345678."), "Calling [redacted].");
}

#[test]
fn a_profile_parameter_without_prompts_missing_from_the_profile_hears_the_fallback() {
    // Validation lets a mandatory `default_from` parameter omit prompts; a user whose profile
    // lacks the field used to crash the turn (indexing an empty prompt list).
    let agent = Agent::from_yaml(
        r#"
name: news
fallback: ["Sorry, I can't do that for you."]
webhook_error: ["!"]
intents:
  - name: Subscribe
    training_phrases: ["subscribe me", "sign me up for the newsletter"]
    parameters: [{ name: email, entity: "@sys.email", mandatory: true, default_from: email }]
    responses: ["Subscribed $email."]
"#,
    )
    .unwrap();
    let anonymous = say(&agent, &DialogState::default(), "subscribe me");
    assert_eq!(texts(&anonymous), ["Sorry, I can't do that for you."]);
    // The user may still give the value in words.
    assert_eq!(texts(&say(&agent, &anonymous.state, "ann@example.com")), ["Subscribed ann@example.com."]);
    let mut known = DialogState::default();
    known.profile.insert("email".into(), "ann@example.com".into());
    assert_eq!(texts(&say(&agent, &known, "subscribe me")), ["Subscribed ann@example.com."]);
}

#[test]
fn counters_at_their_limit_in_a_stored_state_do_not_overflow() {
    // The stored state is outside input: counters at u32::MAX saturate instead of overflowing.
    let agent = agent();
    let state = DialogState { no_match_count: u32::MAX, no_input_count: u32::MAX, ..DialogState::default() };
    let turn = say(&agent, &state, "qwertz uiop");
    assert_eq!(turn.state.no_match_count, u32::MAX);
    assert_eq!(texts(&turn), ["Sorry, I didn't get that."]);
    let turn = step(&agent, &state, &UserInput::NoInput);
    assert_eq!(turn.state.no_input_count, u32::MAX);
    let asked = say(&agent, &DialogState::default(), "where is my order");
    let mut state = asked.state.clone();
    state.active.as_mut().unwrap().prompts_given = u32::MAX;
    assert_eq!(texts(&say(&agent, &state, "hmm")), ["Please type the number, e.g. 123456."]);
}

#[test]
fn turns_over_awkward_text_never_panic() {
    // Every system entity, a tagged free-form slot, a flow with conditions: text whose byte
    // offsets fall inside characters goes through all of them.
    let agent = Agent::from_yaml(
        r#"
name: all
fallback: ["?"]
webhook_error: ["!"]
no_input: ["Still there?"]
intents:
  - name: Book
    training_phrases: ["book a table for [Anna](guest) at noon", "reserve for [Bob](guest)", "book 2 seats"]
    parameters:
      - { name: guest, entity: "@sys.any", mandatory: false }
      - { name: seats, entity: "@sys.number", mandatory: true, prompts: ["How many?"] }
      - { name: day, entity: "@sys.date", mandatory: true, prompts: ["Which day?"] }
      - { name: time, entity: "@sys.time", mandatory: true, prompts: ["What time?"] }
      - { name: email, entity: "@sys.email", mandatory: true, prompts: ["Email?"] }
      - { name: phone, entity: "@sys.phone-number", mandatory: true, prompts: ["Phone?"] }
    responses: ["Booked $seats for $guest on $day at $time."]
  - name: Pick
    training_phrases: ["pick a colour", "choose colour"]
    flow: colours
  - { name: Red, training_phrases: ["red"], in_flows_only: true }
flows:
  colours:
    start: ask
    pages:
      ask:
        say: ["Which colour?"]
        routes:
          - { intent: Red, to: red }
          - { condition: "$seats > 3 and not ($email = null)", to: red }
        no_match: ["Say red."]
      red: { say: ["Red it is."], end: true }
"#,
    )
    .unwrap();
    let mut state = DialogState::default();
    for (i, text) in crate::entity::tests::awkward_texts(3_000).into_iter().enumerate() {
        let input =
            if i % 97 == 0 { UserInput::NoInput } else { UserInput::text_on(text, Date::from_unix_days(20_000)) };
        state = step(&agent, &state, &input).state;
        if i % 50 == 0 {
            state = step(&agent, &state, &UserInput::text("book a table for 2 people")).state;
        }
        if i % 71 == 0 {
            state = step(&agent, &state, &UserInput::text("pick a colour")).state;
        }
    }
}
