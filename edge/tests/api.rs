//! The HTTP API driven natively: in-memory store, scripted webhooks, stepping clock.
// Tests may panic: a panic here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use serde_json::Value;
use switchboard_edge::Config;
use switchboard_edge::api::ApiRequest;
use switchboard_edge::memory::ScriptedHttp;
use switchboard_edge::ports::{HttpError, HttpResponse};

#[test]
fn the_seed_conversation_with_the_builtin_demo_orders() {
    let edge = edge();
    let (s, created) = open(&edge, None);
    assert!(created["visitor_id"].as_str().unwrap().starts_with("v2-"));
    assert!(created["messages"][0]["text"].as_str().unwrap().starts_with("Hi!"));
    assert_eq!(say(&edge, &s, "Where is my order?"), ["Can you provide your order number?"]);
    assert_eq!(say(&edge, &s, "123456"), [DELIVERY]);
    assert_eq!(say(&edge, &s, "Where is order 123456?"), [DELIVERY], "one turn fills the parameter");
    assert!(say(&edge, &s, "purple monkey dishwasher")[0].starts_with("Sorry, I didn't get that."));
    let h = history(&edge, &s);
    assert_eq!(h.len(), 1 + 2 * 4);
    assert_eq!(h[1], ("user".to_owned(), "Where is my order?".to_owned()));
    assert_eq!(h[4], ("bot".to_owned(), DELIVERY.to_owned()));
}

#[test]
fn a_known_visitor_gets_the_same_conversation_back() {
    let edge = edge();
    let (s, created) = open(&edge, Some("visitor-0001"));
    let visitor = created["visitor_id"].as_str().unwrap();
    let user = created["user_id"].as_str().unwrap();
    assert!(!user.contains(visitor.trim_start_matches("v2-").split('-').next().unwrap()), "{user} {visitor}");
    say(&edge, &s, "Where is my order?");
    let (again, resumed) = open(&edge, Some("visitor-0001"));
    assert_eq!(again.id, s.id);
    assert_eq!(resumed["visitor_id"], visitor, "the same credential goes on");
    assert_eq!(resumed["messages"].as_array().unwrap().len(), 3);
    // The dialog state came back too: the bare number answers the open prompt.
    assert_eq!(say(&edge, &again, "123456"), [DELIVERY]);
}

#[test]
fn a_turn_costs_two_reads_and_two_writes() {
    let edge = edge();
    let (s, _) = open(&edge, None);
    let (gets, puts) = (edge.store.gets.get(), edge.store.puts.get());
    say(&edge, &s, "Where is order 123456?");
    assert_eq!((edge.store.gets.get() - gets, edge.store.puts.get() - puts), (2, 2));
    let ttl = edge.store.entries.borrow().values().next().unwrap().1;
    assert_eq!(ttl, Some(30 * 24 * 3600));
}

#[test]
fn fulfillment_url_sends_a_cx_request_and_shows_a_snake_case_reply() {
    let reply = r#"{"fulfillment_response":{"messages":[{"text":{"text":["Order 42: shipped."]}}]}}"#;
    let http = ScriptedHttp::new([Ok(HttpResponse { status: 200, body: reply.as_bytes().to_vec() })]);
    let edge =
        edge_with(Config { fulfillment_url: Some("http://127.0.0.1:9/hook".into()), ..Config::for_tests() }, http);
    let (s, _) = open(&edge, None);
    assert_eq!(say(&edge, &s, "track order 42"), ["Order 42: shipped."]);
    let requests = edge.http.requests.borrow();
    let (url, body) = &requests[0];
    assert_eq!(url, "http://127.0.0.1:9/hook");
    let sent: Value = serde_json::from_str(body).unwrap();
    assert_eq!(sent["sessionInfo"]["parameters"]["order-number"], 42);
    assert_eq!(sent["sessionInfo"]["session"], s.id.as_str());
    assert_eq!(sent["fulfillmentInfo"]["tag"], "order-status");
    assert_eq!(sent["intentInfo"]["displayName"], "CheckOrderStatus");
}

#[test]
fn failing_webhooks_get_the_apology_and_lose_nothing() {
    let failures = [
        Ok(HttpResponse { status: 500, body: b"boom".to_vec() }),
        Ok(HttpResponse { status: 200, body: b"{not json".to_vec() }),
        Err(HttpError::Timeout(5000)),
        Ok(HttpResponse { status: 200, body: vec![b' '; 70_000] }),
    ];
    let edge = edge_with(
        Config { fulfillment_url: Some("http://127.0.0.1:9/hook".into()), ..Config::for_tests() },
        ScriptedHttp::new(failures),
    );
    let (s, _) = open(&edge, None);
    for _ in 0..4 {
        let replies = say(&edge, &s, "where is order 7");
        assert_eq!(replies.len(), 1);
        assert!(replies[0].starts_with("Sorry, I can't reach our order system"), "{replies:?}");
    }
    assert_eq!(history(&edge, &s).len(), 1 + 2 * 4);
    // The collected parameter survived as a session parameter.
    let stored = edge.store.entries.borrow().iter().find(|(k, _)| k.starts_with("ctx:")).unwrap().1.0.clone();
    let ctx: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(ctx["dialog"]["parameters"]["order-number"], 7);
}

#[test]
fn bad_requests_get_json_errors_with_stable_codes() {
    let edge = edge();
    let (s, _) = open(&edge, None);
    let messages = format!("/v1/conversations/{}/messages", s.id);
    let cases = [
        (ApiRequest::post("/v1/conversations", "{oops"), 400, "bad_json"),
        (ApiRequest::post("/v1/conversations", r#"{"channel":"fax"}"#), 400, "bad_request"),
        (ApiRequest::post(&messages, r#"{"text":"hi"}"#), 401, "unauthorized"),
        (ApiRequest::post(&messages, r#"{"text":"hi"}"#).bearer("v1.c-00000000.u-00000000.00"), 401, "unauthorized"),
        (ApiRequest::post(&messages, "[]").bearer(&s.token), 400, "bad_json"),
        (ApiRequest::post(&messages, r#"{"text":"   "}"#).bearer(&s.token), 400, "bad_request"),
        (
            ApiRequest::post("/v1/conversations/c-other-conversation/messages", r#"{"text":"hi"}"#).bearer(&s.token),
            401,
            "unauthorized",
        ),
        (ApiRequest::get("/v1/nope"), 404, "not_found"),
        (ApiRequest::get("/v1/conversations"), 405, "method_not_allowed"),
        (ApiRequest::post("/v1/conversations", &"x".repeat(70_000)), 413, "payload_too_large"),
    ];
    for (request, status, code) in cases {
        let what = format!("{} {}", request.method, request.path);
        let (got, json) = call(&edge, request);
        assert_eq!((got, json["error"]["code"].as_str()), (status, Some(code)), "{what}: {json}");
        assert!(json["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[test]
fn a_valid_token_for_a_conversation_that_is_gone_is_404() {
    let edge = edge();
    let (s, _) = open(&edge, None);
    edge.store.entries.borrow_mut().clear();
    let (status, json) = call(&edge, ApiRequest::get(&format!("/v1/conversations/{}/messages", s.id)).bearer(&s.token));
    assert_eq!((status, json["error"]["code"].as_str()), (404, Some("not_found")));
}

#[test]
fn the_demo_fulfillment_route_speaks_cx() {
    let edge = edge();
    let body = r#"{"detectIntentResponseId":"x","sessionInfo":{"parameters":{"order-number":123456}},"fulfillmentInfo":{"tag":"order-status"}}"#;
    let (status, json) = call(&edge, ApiRequest::post("/demo/fulfillment", body));
    assert_eq!(status, 200);
    assert_eq!(json["fulfillmentResponse"]["messages"][0]["text"]["text"][0], DELIVERY);
}

#[test]
fn a_conversation_meant_for_another_agent_is_refused() {
    let edge = edge();
    let body = r#"{"channel":"web","agent":"switchboard shop"}"#;
    let (status, json) = call(&edge, ApiRequest::post("/v1/conversations", body));
    assert_eq!(status, 201, "the deployed agent's name, in any case: {json}");
    let (status, json) = call(&edge, ApiRequest::post("/v1/conversations", r#"{"channel":"web","agent":"Bike shop"}"#));
    assert_eq!((status, json["error"]["code"].as_str()), (404, Some("not_found")));
    assert!(json["error"]["message"].as_str().unwrap().contains("serves 'Switchboard Shop'"), "{json}");
}
