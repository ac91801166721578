//! Scripted conversations with the demo agent: the user's lines and the webhook's replies are data.

use super::*;
use serde_json::{Value, json};

const DEMO: &str = include_str!("../../../../edge/agents/retail-demo.json");
const WELCOME_CHOICES: &str = "     [Where is my order?] [Book an appointment] [My lamp doesn't work]";
const WELCOME: &str = "bot> Hi! I'm the Switchboard Shop assistant. I can track your order or book an in-store appointment — just ask \"Where is my order?\"";

fn demo() -> Agent {
    Agent::from_json(DEMO).unwrap()
}

/// The demo agent whose order lookup first says something of its own, for merge behaviours.
fn demo_with_lookup_message() -> Agent {
    let mut raw: Value = serde_json::from_str(DEMO).unwrap();
    let intents = raw["intents"].as_array_mut().unwrap();
    let check = intents.iter_mut().find(|i| i["name"] == "CheckOrderStatus").unwrap();
    check["responses"] = json!(["Looking up order $order-number."]);
    Agent::from_json(&raw.to_string()).unwrap()
}

fn reply(text: &str, merge: &str) -> WebhookOutcome {
    let body =
        json!({ "fulfillmentResponse": { "messages": [{ "text": { "text": [text] } }], "mergeBehavior": merge } });
    WebhookOutcome::Replied(serde_json::from_value(body).unwrap())
}

/// Runs `lines` through a chat on 2026-03-02 (a Monday); returns the transcript and the webhook
/// calls made, answered by `webhook`.
fn chat(
    agent: &Agent,
    lines: &str,
    mut webhook: impl FnMut(&WebhookRequest) -> WebhookOutcome,
) -> (String, Vec<(String, WebhookRequest)>) {
    let mut calls = Vec::new();
    let mut out = Vec::new();
    let fulfillment = |name: &str, request: &WebhookRequest| {
        calls.push((name.to_owned(), request.clone()));
        webhook(request)
    };
    let mut chat = Chat::new(agent, "test", fulfillment);
    chat.today = || Date::new(2026, 3, 2).unwrap();
    chat.run(lines.as_bytes(), &mut out).unwrap();
    (String::from_utf8(out).unwrap(), calls)
}

fn never(request: &WebhookRequest) -> WebhookOutcome {
    panic!("no webhook expected, got {request:?}")
}

#[test]
fn order_status_asks_for_the_number_then_calls_the_webhook() {
    let (transcript, calls) =
        chat(&demo(), "where is my order\n123456\n", |_| reply("Order 123456 ships today.", "APPEND"));
    let expected = [
        WELCOME,
        WELCOME_CHOICES,
        "you> where is my order",
        "bot> Can you provide your order number?",
        "you> 123456",
        "bot> Order 123456 ships today.",
    ];
    assert_eq!(transcript.lines().collect::<Vec<_>>(), expected);
    let [(name, request)] = calls.as_slice() else { panic!("expected one webhook call, got {calls:?}") };
    assert_eq!(name, "order-status");
    assert_eq!(request.fulfillment_info.tag, "order-status");
    assert_eq!(request.session_info.parameters["order-number"], json!(123456));
    assert_eq!(request.session_info.session, "test-1");
    assert_eq!(request.detect_intent_response_id, "test-1-1");
}

#[test]
fn a_failed_webhook_gives_the_agents_apology_and_keeps_the_number() {
    let (transcript, calls) = chat(&demo(), "where is order 123456\n/state\n", |_| WebhookOutcome::Failed);
    assert_eq!(calls.len(), 1);
    assert!(transcript.contains("bot> Sorry, I can't reach our order system right now."), "{transcript}");
    let state = transcript.split("you> /state\n").nth(1).unwrap();
    let state: DialogState = serde_json::from_str(state).unwrap();
    assert_eq!(state.parameters["order-number"], json!(123456));
}

#[test]
fn replace_drops_the_turns_own_messages_and_append_keeps_them() {
    let agent = demo_with_lookup_message();
    let (appended, _) = chat(&agent, "where is order 42\n", |_| reply("Order 42: delivered.", "APPEND"));
    assert!(appended.ends_with("you> where is order 42\nbot> Looking up order 42.\nbot> Order 42: delivered.\n"));
    let (replaced, _) = chat(&agent, "where is order 42\n", |_| reply("Order 42: delivered.", "REPLACE"));
    assert!(replaced.ends_with("you> where is order 42\nbot> Order 42: delivered.\n"), "{replaced}");
}

#[test]
fn relative_dates_use_today() {
    let (transcript, _) = chat(&demo(), "book a repair tomorrow at 3pm\n", never);
    assert!(transcript.contains("on 2026-03-03 at 15:00:00"), "{transcript}");
}

#[test]
fn handoff_is_shown() {
    let (transcript, _) = chat(&demo(), "I want to speak to a person\n", never);
    assert!(transcript.ends_with("[handed off to a human: asked for (TalkToHuman)]\n"), "{transcript}");
}

#[test]
fn reset_starts_a_new_session_and_quit_stops_reading() {
    let lines = "where is my order\n/reset\n/state\nwhere is order 222222\n/quit\nhello\n";
    let (transcript, calls) = chat(&demo(), lines, |_| reply("Found it.", "APPEND"));
    assert_eq!(transcript.matches(WELCOME).count(), 2, "{transcript}");
    let state = transcript.split("you> /state\n").nth(1).unwrap().split("you> ").next().unwrap();
    assert_eq!(serde_json::from_str::<DialogState>(state).unwrap(), DialogState::default(), "{state}");
    let sessions: Vec<&str> = calls.iter().map(|(_, r)| r.session_info.session.as_str()).collect();
    assert_eq!(sessions, ["test-2"]);
    assert!(transcript.ends_with("you> /quit\n"), "{transcript}");
}

#[test]
fn a_webhook_that_redirects_is_not_followed() {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    // The second host would receive the request (and its headers) if the chat followed.
    let second = TcpListener::bind("127.0.0.1:0").unwrap();
    second.set_nonblocking(true).unwrap();
    let target = format!("http://{}/stolen", second.local_addr().unwrap());
    let first = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", first.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut stream, _) = first.accept().unwrap();
        let mut buffer = [0u8; 4096];
        let _ = stream.read(&mut buffer);
        let answer =
            format!("HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        stream.write_all(answer.as_bytes()).unwrap();
    });
    let agent = demo();
    let mut http = Http::new(&agent, Some(url), false);
    let request: WebhookRequest =
        serde_json::from_value(json!({"sessionInfo": {"parameters": {"order-number": 1}}})).unwrap();
    assert!(matches!(http.call("order-status", &request), WebhookOutcome::Failed));
    server.join().unwrap();
    assert!(second.accept().is_err(), "the redirect's target was never called");
}
