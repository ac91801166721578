//! Which user's object serialises a request (`api::serialisation_key`): one writer per user,
//! whatever the client sends, and choosing it writes nothing.
// Tests may panic: a panic here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use futures_executor::block_on;
use serde_json::json;
use switchboard_edge::api::{self, ApiRequest};

fn key(edge: &TestEdge, request: &ApiRequest) -> Option<String> {
    let puts = edge.store.puts.get();
    let key = block_on(api::serialisation_key(edge, request));
    assert_eq!(edge.store.puts.get(), puts, "choosing the object writes nothing");
    key
}

#[test]
fn a_verified_person_is_serialised_by_one_object_from_every_door() {
    let edge = edge();
    let signed_in = json!({"channel": "web", "user_id": "ann-42", "user_hash": site_hash("ann-42")}).to_string();
    // Before Ann exists: two browsers opening at once, with or without a visitor id, are
    // routed to the same object (the user her site id derives), not run where they arrive.
    let first = key(&edge, &ApiRequest::post("/v1/conversations", &signed_in)).expect("an object, not the worker");
    let (_, anonymous) = open(&edge, Some("laptop"));
    let with_visitor = json!({"channel": "web", "visitor_id": anonymous["visitor_id"], "user_id": "ann-42",
                              "user_hash": site_hash("ann-42")});
    assert_eq!(key(&edge, &ApiRequest::post("/v1/conversations", &with_visitor.to_string())), Some(first.clone()));
    let s = Session::from(&anonymous);
    let identify = ApiRequest::post(
        &s.path("identify"),
        &json!({"user_id": "ann-42", "user_hash": site_hash("ann-42")}).to_string(),
    )
    .bearer(&s.token);
    assert_eq!(key(&edge, &identify), Some(first.clone()));
    // Once she exists, the same object: her user.
    let (status, created) = call(&edge, ApiRequest::post("/v1/conversations", &signed_in));
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["user_id"], first.as_str());
    assert_eq!(key(&edge, &ApiRequest::post("/v1/conversations", &signed_in)), Some(first.clone()));
    // Her conversation's requests, with her token, go there too.
    let ann = Session::from(&created);
    assert_eq!(
        key(&edge, &ApiRequest::post(&ann.path("messages"), r#"{"text":"hi"}"#).bearer(&ann.token)),
        Some(first)
    );
}

#[test]
fn anonymous_and_unknown_visitors_run_in_their_own_or_a_new_users_object() {
    let edge = edge();
    let (_, created) = open(&edge, Some("phone"));
    let resume = json!({"channel": "web", "visitor_id": created["visitor_id"]}).to_string();
    assert_eq!(key(&edge, &ApiRequest::post("/v1/conversations", &resume)).as_deref(), created["user_id"].as_str());
    // A visitor id the server did not issue touches no user: a new visitor, no object.
    for made_up in ["v-0123456789abcdef0123456789abcdef", "u-anything", &"x".repeat(64)] {
        let body = json!({"channel": "web", "visitor_id": made_up}).to_string();
        assert_eq!(key(&edge, &ApiRequest::post("/v1/conversations", &body)), None, "{made_up}");
    }
}
