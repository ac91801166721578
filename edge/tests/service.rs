//! The service's guarantees beyond one conversation: analytics that match a scripted set of
//! conversations, feedback, ending, history paging, CORS, rate limits, privacy in what is stored.
// Tests may panic: a panic here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use serde_json::json;
use switchboard_dialog::agent::Agent;
use switchboard_edge::Config;
use switchboard_edge::api::{self, ApiRequest};
use switchboard_edge::memory::ScriptedHttp;

fn analytics(edge: &TestEdge, query: &str) -> (u16, serde_json::Value) {
    call(edge, ApiRequest::get(&format!("/v1/analytics{query}")).bearer("admin-token"))
}

#[test]
fn analytics_match_a_scripted_set_of_conversations() {
    let edge = edge();
    // 1: resolved order status, rated helpful.
    let (one, _) = open(&edge, None);
    say(&edge, &one, "Where is my order?");
    say(&edge, &one, "123456");
    say(&edge, &one, "thanks, bye");
    let vote = |s: &Session, body: serde_json::Value| {
        call(&edge, ApiRequest::post(&s.path("feedback"), &body.to_string()).bearer(&s.token)).0
    };
    assert_eq!(vote(&one, json!({"message_id": "m5", "helpful": true})), 204);
    // 2: two misses then a person.
    let (two, _) = open(&edge, None);
    say(&edge, &two, "do you repair bicycles");
    say(&edge, &two, "my number is 0151 2345678");
    say(&edge, &two, "talk to a human");
    assert_eq!(vote(&two, json!({"helpful": false})), 204);
    // 3: opened, ended by the customer.
    let (three, _) = open(&edge, None);
    say(&edge, &three, "hello");
    assert_eq!(call(&edge, ApiRequest::post(&three.path("end"), "").bearer(&three.token)).0, 204);

    let (status, report) = analytics(&edge, "?from=2025-11-01&to=2025-11-30");
    assert_eq!(status, 200, "{report}");
    let total = &report["total"];
    assert_eq!(total["conversations"], 3);
    assert_eq!(total["turns"], 7);
    assert_eq!(total["handoffs"], 1);
    assert_eq!(total["resolved"], 2);
    // Matched: Check, Goodbye, TalkToHuman, Greeting = 4; unmatched: 2 ("123456" answers a prompt).
    assert_eq!(total["intent_recognition_rate"], 0.6667);
    assert_eq!(total["no_match_rate"], 0.2857);
    assert_eq!(total["handoff_rate"], 0.3333);
    assert_eq!(total["helpful_ratio"], 0.5);
    assert_eq!(total["feedback"], 2);
    assert!(total["median_resolution_ms"].as_u64().unwrap() > 0);
    let unmatched: Vec<&str> =
        report["top_unmatched"].as_array().unwrap().iter().map(|r| r["text"].as_str().unwrap()).collect();
    assert_eq!(unmatched, ["do you repair bicycles", "my number is <number> <number>"]);
    assert_eq!(report["days"][0]["channels"]["web"]["conversations"], 3);
    // Outside the period: nothing.
    assert_eq!(analytics(&edge, "?from=2020-01-01&to=2020-01-31").1["total"]["turns"], 0);
}

#[test]
fn analytics_need_the_admin_token() {
    let edge = edge();
    assert_eq!(call(&edge, ApiRequest::get("/v1/analytics")).0, 401);
    assert_eq!(call(&edge, ApiRequest::get("/v1/analytics").bearer("guess")).0, 401);
    assert_eq!(analytics(&edge, "?from=yesterday").0, 400);
    let closed = edge_with(Config { admin_token: None, ..Config::for_tests() }, ScriptedHttp::default());
    assert_eq!(call(&closed, ApiRequest::get("/v1/analytics").bearer("admin-token")).0, 401);
}

#[test]
fn an_ended_conversation_makes_way_for_a_new_one_that_remembers_the_person() {
    let edge = edge();
    let (s, _) = open(&edge, Some("visitor-0001"));
    say(&edge, &s, "Where is order 123456?");
    assert_eq!(call(&edge, ApiRequest::post(&s.path("end"), "").bearer(&s.token)).0, 204);
    let (next, created) = open(&edge, Some("visitor-0001"));
    assert_ne!(next.id, s.id);
    assert_eq!(created["messages"].as_array().unwrap().len(), 1, "a fresh welcome");
    let stored = everything_stored(&edge);
    assert!(stored.contains("\"order-number\":123456"), "session parameters are kept: {stored}");
}

#[test]
fn history_pages_back_and_polls_forward() {
    let edge = edge();
    let (s, _) = open(&edge, None);
    for _ in 0..3 {
        say(&edge, &s, "hello");
    }
    let get = |q: &str| call(&edge, ApiRequest::get(&format!("{}?{q}", s.path("messages"))).bearer(&s.token));
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v["messages"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect()
    };
    let (_, latest) = get("limit=2");
    assert_eq!(ids(&latest), ["m6", "m7"]);
    assert_eq!(latest["previous"], "m6");
    let (_, older) = get("before=m6&limit=4");
    assert_eq!(ids(&older), ["m2", "m3", "m4", "m5"]);
    let (_, newer) = get("after=m5");
    assert_eq!(ids(&newer), ["m6", "m7"]);
    assert!(newer.get("previous").is_none());
    assert_eq!(get("limit=0").0, 400);
    assert_eq!(get("after=yesterday").0, 400);
}

#[test]
fn quick_reply_payloads_are_heard_and_labels_are_shown() {
    let edge = edge();
    let (s, _) = open(&edge, None);
    let body = json!({"text": "Track my parcel", "payload": "Where is order 123456?"}).to_string();
    let (status, reply) = call(&edge, ApiRequest::post(&s.path("messages"), &body).bearer(&s.token));
    assert_eq!(status, 200);
    assert_eq!(reply["messages"][0]["text"], DELIVERY);
    assert_eq!(history(&edge, &s)[1].1, "Track my parcel");
}

#[test]
fn browsers_from_other_origins_are_refused() {
    let mut config = Config::for_tests();
    config.allowed_origins = vec!["https://shop.example".into()];
    let edge = edge_with(config, ScriptedHttp::default());
    let create = || ApiRequest::post("/v1/conversations", r#"{"channel":"web"}"#);
    let response = futures_executor::block_on(api::handle(&edge, create().from_origin("https://shop.example")));
    assert_eq!(response.status, 201);
    assert!(response.headers.contains(&("Access-Control-Allow-Origin".into(), "https://shop.example".into())));
    let (status, error) = call(&edge, create().from_origin("https://evil.example"));
    assert_eq!((status, error["error"]["code"].as_str()), (403, Some("origin_not_allowed")));
    let preflight = ApiRequest { method: "OPTIONS".into(), ..create() }.from_origin("https://shop.example");
    let response = futures_executor::block_on(api::handle(&edge, preflight));
    assert_eq!(response.status, 204);
    assert!(response.headers.iter().any(|(k, _)| k == "Access-Control-Allow-Headers"));
    assert_eq!(call(&edge, create()).0, 201, "server-to-server calls carry no Origin");
}

#[test]
fn too_many_messages_from_one_user_or_ip_get_429() {
    let mut config = Config::for_tests();
    config.user_rate_per_minute = 3;
    config.ip_rate_per_minute = 6;
    let edge = edge_with(config, ScriptedHttp::default());
    let (s, _) = open(&edge, None);
    // The stepping clock moves a second per reading: all of this happens within a minute.
    for _ in 0..3 {
        say(&edge, &s, "hello");
    }
    let send = || ApiRequest::post(&s.path("messages"), r#"{"text":"hello"}"#).bearer(&s.token);
    let response = futures_executor::block_on(api::handle(&edge, send()));
    assert_eq!(response.status, 429);
    assert!(response.headers.iter().any(|(k, _)| k == "Retry-After"));
    assert_eq!(history(&edge, &s).len(), 7, "the refused message was not taken");
    let from_ip = |r: ApiRequest| ApiRequest { ip: Some("203.0.113.9".into()), ..r };
    let statuses: Vec<u16> = (0..8).map(|_| call(&edge, from_ip(ApiRequest::get("/v1/health"))).0).collect();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 429, 429]);
}

#[test]
fn redacted_parameters_and_private_channels_never_reach_the_store() {
    let agent: &'static Agent = Box::leak(Box::new(
        Agent::from_yaml(
            r#"
name: pay
fallback: ["?"]
webhook_error: ["Payment failed."]
webhooks: { pay: { url: "builtin:demo-orders" } }
privacy: { web: { store_text: false } }
entities: { card: { regex: "[0-9]{4}( ?[0-9]{4}){3}" } }
intents:
  - name: Pay
    training_phrases: ["I want to pay", "pay my bill"]
    parameters:
      - { name: card, entity: "@card", mandatory: true, redact: true, prompts: ["Card number?"] }
    responses: ["Charging card $card."]
"#,
        )
        .unwrap(),
    ));
    let edge = switchboard_edge::memory::edge(agent, Config::for_tests(), ScriptedHttp::default());
    let (s, _) = open(&edge, None);
    let body = |t: &str| json!({"text": t}).to_string();
    call(&edge, ApiRequest::post(&s.path("messages"), &body("I want to pay")).bearer(&s.token));
    let (status, reply) =
        call(&edge, ApiRequest::post(&s.path("messages"), &body("4111 1111 1111 1111")).bearer(&s.token));
    assert_eq!(status, 200);
    assert_eq!(reply["messages"][0]["text"], "Charging card 4111 1111 1111 1111.", "the user sees it once");
    let stored = everything_stored(&edge);
    assert!(!stored.contains("4111"), "{stored}");
    assert!(!stored.contains("I want to pay"), "web text is not stored under this policy: {stored}");
    assert!(stored.contains("[not stored]") && stored.contains("Charging card [redacted]."), "{stored}");
}

#[test]
fn a_corrupt_stored_context_starts_afresh_and_is_logged() {
    let edge = edge();
    let (s, _) = open(&edge, Some("visitor-0001"));
    let key = edge.store.entries.borrow().keys().find(|k| k.starts_with("ctx:")).unwrap().clone();
    edge.store.entries.borrow_mut().get_mut(&key).unwrap().0 = "{garbage".into();
    let body = serde_json::json!({"channel": "web", "visitor_id": credential(&edge, "visitor-0001")}).to_string();
    let response = futures_executor::block_on(api::handle(&edge, ApiRequest::post("/v1/conversations", &body)));
    assert_eq!(response.status, 201, "{}", response.body);
    assert!(response.logs.iter().any(|l| l.contains("corrupt_context")), "{:?}", response.logs);
    let fresh = Session::from(&serde_json::from_str(&response.body).unwrap());
    assert_ne!(fresh.id, s.id);
}

/// An agent that echoes a redacted card number and a free-form description in every field a
/// message has, hands off, and tells a help desk.
fn echoing_agent() -> &'static Agent {
    Box::leak(Box::new(
        Agent::from_yaml(
            r#"
name: echo
fallback: ["?"]
webhook_error: ["Sorry."]
privacy: { whatsapp: { store_text: false } }
handoff: { messages: ["A person will be with you."] }
entities: { card: { regex: "[0-9]{4}( ?[0-9]{4}){3}" } }
intents:
  - name: Pay
    training_phrases: ["I want to pay", "pay my bill"]
    parameters:
      - { name: card, entity: "@card", mandatory: true, redact: true, prompts: ["Card number?"] }
    responses:
      - text: "Charging card $card."
        quick_replies: [{ label: "Use $card again", payload: "again $card" }]
        cards:
          - title: "Card $card"
            subtitle: "ends $card"
            image: "https://img.example/$card.png"
            buttons: [{ label: "Receipt for $card", url: "https://shop.example/receipt?card=$card" }]
  - name: Report
    training_phrases: ["I want to report a problem", "report a problem"]
    parameters:
      - { name: problem, entity: "@sys.any", mandatory: true, prompts: ["What happened?"] }
    responses:
      - text: "You said: $problem."
        quick_replies: [{ label: "About $problem", payload: "$problem" }]
  - name: Human
    training_phrases: ["talk to a person", "a human please"]
    handoff: true
"#,
        )
        .unwrap(),
    ))
}

#[test]
fn redacted_values_reach_no_stored_field_of_any_message() {
    let mut config = Config::for_tests();
    config.set("HANDOFF_WEBHOOK_URL", "http://127.0.0.1:9/desk").unwrap();
    let edge = switchboard_edge::memory::edge(echoing_agent(), config, ScriptedHttp::default());
    let (s, _) = open(&edge, None);
    say(&edge, &s, "I want to pay");
    let live = say(&edge, &s, "4111 1111 1111 1111");
    assert!(live[0].contains("4111 1111 1111 1111"), "the customer sees it once: {live:?}");
    let stored = everything_stored(&edge);
    for needle in ["4111", "4111%201111"] {
        assert!(!stored.contains(needle), "{needle} in {stored}");
    }
}

#[test]
fn a_channel_that_stores_no_text_keeps_no_words_in_state_history_desk_or_help_desk() {
    use switchboard_edge::channels::{self, Received};
    let mut config = Config::for_tests();
    config.set("HANDOFF_WEBHOOK_URL", "http://127.0.0.1:9/desk").unwrap();
    for (name, value) in
        [("META_APP_SECRET", "app-secret"), ("WHATSAPP_TOKEN", "wa"), ("GRAPH_API_URL", "http://graph.test")]
    {
        config.set(name, value).unwrap();
    }
    let edge = switchboard_edge::memory::edge(echoing_agent(), config, ScriptedHttp::default());
    let seen = switchboard_edge::memory::MemoryDurable::default();
    let whatsapp = |id: &str, text: &str| {
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
            "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "1555", "phone_number_id": "PNID"},
                      "messages": [{"from": "15550001111", "id": id, "timestamp": "1", "type": "text", "text": {"body": text}}]}}]}]})
        .to_string();
        let signature = format!("sha256={}", switchboard_edge::identity::user_hash(b"app-secret", &body));
        let request = ApiRequest::post("/channels/whatsapp", &body).header("X-Hub-Signature-256", &signature);
        let Ok(Received::Events { envelopes, .. }) = futures_executor::block_on(channels::receive(&edge, &request))
        else {
            panic!("not received")
        };
        let mut sent = String::new();
        for envelope in envelopes {
            let rendered = futures_executor::block_on(channels::deliver(&edge, &seen, &envelope, |_| ())).unwrap();
            sent.extend(rendered.sends.into_iter().filter_map(|r| r.body));
        }
        sent
    };
    whatsapp("wamid.1", "I want to report a problem");
    let sent = whatsapp("wamid.2", "my neighbour zanzibar stole the parcel");
    whatsapp("wamid.3", "talk to a person");
    assert!(sent.contains("zanzibar"), "the customer is answered with their words: {sent}");
    let (desk, _) = futures_executor::block_on(edge.queue(None, 50)).unwrap();
    assert_eq!(desk.len(), 1, "handed off");
    let help_desk: String =
        edge.http.sent.borrow().iter().filter(|r| r.url.ends_with("/desk")).filter_map(|r| r.body.clone()).collect();
    assert!(!help_desk.is_empty(), "the help desk was told");
    let everywhere = format!("{}{}{help_desk}", everything_stored(&edge), serde_json::to_string(&desk).unwrap());
    for needle in ["zanzibar", "report a problem"] {
        assert!(!everywhere.contains(needle), "{needle} in {everywhere}");
    }
}

#[test]
fn logs_and_errors_never_quote_the_customers_values() {
    // A webhook that answers the customer's words back in a malformed reply, a handoff with
    // metadata, a body of the wrong shape, a corrupt stored context: no log line or error
    // message quotes the words.
    let secret = "zanzibar 4111 ann@example.com +4915112345678";
    let reply = json!({"fulfillmentResponse": {"messages": format!("card {secret}")}}).to_string();
    let handoff = json!({"fulfillmentResponse": {"messages": [{"liveAgentHandoff": {"metadata": {"email": secret}}}]}})
        .to_string();
    let http = ScriptedHttp::new([
        Ok(switchboard_edge::ports::HttpResponse { status: 200, body: reply.into_bytes() }),
        Ok(switchboard_edge::ports::HttpResponse { status: 200, body: handoff.into_bytes() }),
    ]);
    let edge =
        edge_with(Config { fulfillment_url: Some("http://127.0.0.1:9/hook".into()), ..Config::for_tests() }, http);
    let (s, _) = open(&edge, None);
    let mut seen = String::new();
    for text in ["track order 123456", "track order 123456"] {
        let body = json!({ "text": text }).to_string();
        let response = futures_executor::block_on(api::handle(
            &edge,
            ApiRequest::post(&s.path("messages"), &body).bearer(&s.token),
        ));
        seen.push_str(&response.logs.join("\n"));
    }
    let wrong_shape = json!({ "text": [secret] }).to_string();
    let response = futures_executor::block_on(api::handle(
        &edge,
        ApiRequest::post(&s.path("messages"), &wrong_shape).bearer(&s.token),
    ));
    assert_eq!(response.status, 400);
    seen.push_str(&response.body);
    let key = edge.store.entries.borrow().keys().find(|k| k.starts_with("ctx:")).unwrap().clone();
    edge.store.entries.borrow_mut().get_mut(&key).unwrap().0 =
        format!("{{\"conversation_id\": 7, \"x\": \"{secret}\"}}");
    let response =
        futures_executor::block_on(api::handle(&edge, ApiRequest::get(&s.path("messages")).bearer(&s.token)));
    seen.push_str(&response.logs.join("\n"));
    assert!(seen.contains("webhook") && seen.contains("corrupt_context"), "the events are logged: {seen}");
    for word in ["zanzibar", "4111", "ann@example.com", "+4915112345678"] {
        assert!(!seen.contains(word), "{word} in {seen}");
    }
}

#[test]
fn the_voice_answer_cache_keeps_no_redacted_value() {
    use switchboard_edge::channels::{self, Received, twilio};
    let mut config = Config::for_tests();
    config.set("TWILIO_AUTH_TOKEN", "twilio-token").unwrap();
    let edge = switchboard_edge::memory::edge(echoing_agent(), config, ScriptedHttp::default());
    let seen = switchboard_edge::memory::MemoryDurable::default();
    let url = "https://bot.example/channels/twilio/voice";
    let call = |turn: u32, speech: &str| {
        let fields = [("CallSid", "CA7"), ("From", "+15550001111"), ("To", "+15550009999"), ("SpeechResult", speech)];
        let query = format!("turn={turn}");
        let full = format!("{url}?{query}");
        let params: Vec<(String, String)> = fields.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let request = ApiRequest { url: full.clone(), query, ..ApiRequest::post("/channels/twilio/voice", &body) }
            .header("X-Twilio-Signature", &twilio::signature("twilio-token", &full, &params));
        let Ok(Received::Events { envelopes, .. }) = futures_executor::block_on(channels::receive(&edge, &request))
        else {
            panic!("refused")
        };
        futures_executor::block_on(channels::deliver(&edge, &seen, &envelopes[0], |_| ())).unwrap().answer.unwrap()
    };
    call(1, "I want to pay");
    let answer = call(2, "4111 1111 1111 1111");
    assert!(answer.contains("4111 1111 1111 1111"), "the caller hears it once: {answer}");
    let kept: String = seen.entries.borrow().values().cloned().collect();
    assert!(!kept.contains("4111"), "{kept}");
    assert!(!everything_stored(&edge).contains("4111"));
    // A retried request hears the masked answer, not the value.
    assert!(!call(2, "4111 1111 1111 1111").contains("4111"));
}
