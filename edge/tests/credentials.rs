//! Visitor credentials and conversation tokens, tried as an attacker and as an upgrade would:
//! legacy visitor ids, expiry, key rotation.
// Tests may panic: a panic here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchboard_edge::Config;
use switchboard_edge::api::ApiRequest;
use switchboard_edge::memory::ScriptedHttp;

fn create(edge: &TestEdge, visitor: &str) -> (u16, Value) {
    call(edge, ApiRequest::post("/v1/conversations", &json!({"channel": "web", "visitor_id": visitor}).to_string()))
}

/// A context and history as an earlier release stored them for the visitor `v-<hex>`.
fn seed_legacy_visitor(edge: &TestEdge, visitor: &str, verified: bool) {
    let context = json!({
        "conversation_id": "c-legacy-conversation-1", "dialog": {}, "last_seq": 2, "created_ms": 1, "updated_ms": 2,
        "profile": {"verified": verified}, "channel": "web", "status": "bot", "identities": [format!("id:visitor:{visitor}")]
    });
    let history = json!([
        {"id": "m1", "role": "bot", "text": "Hi!", "ts": 1},
        {"id": "m2", "role": "user", "text": "Where is order 333333?", "ts": 2}
    ]);
    let mut entries = edge.store.entries.borrow_mut();
    entries.insert(format!("ctx:u-{visitor}"), (context.to_string(), None));
    entries.insert("hist:c-legacy-conversation-1".into(), (history.to_string(), None));
}

#[test]
fn a_legacy_visitor_id_resumes_its_own_conversation_once_then_holds_a_credential() {
    let edge = edge();
    let legacy = format!("v-{}", "3c".repeat(16));
    seed_legacy_visitor(&edge, &legacy, false);
    let (status, resumed) = create(&edge, &legacy);
    assert_eq!(status, 200, "{resumed}");
    assert_eq!(resumed["conversation_id"], "c-legacy-conversation-1");
    let credential = resumed["visitor_id"].as_str().unwrap().to_owned();
    assert!(credential.starts_with("v2-"), "exchanged for a credential: {credential}");
    // The credential goes on; the legacy id is spent.
    assert_eq!(create(&edge, &credential).1["conversation_id"], "c-legacy-conversation-1");
    let (status, again) = create(&edge, &legacy);
    assert_eq!(status, 201, "{again}");
    assert_ne!(again["conversation_id"], "c-legacy-conversation-1");
    let s = Session::from(&create(&edge, &credential).1);
    assert_eq!(say(&edge, &s, "Where is my order?"), ["Can you provide your order number?"], "the dialog goes on");
}

#[test]
fn a_legacy_visitor_id_never_opens_a_verified_person_or_an_unknown_user() {
    let edge = edge();
    let verified = format!("v-{}", "4d".repeat(16));
    seed_legacy_visitor(&edge, &verified, true);
    let (status, fresh) = create(&edge, &verified);
    assert_eq!(status, 201);
    assert!(!fresh.to_string().contains("333333"), "{fresh}");
    // A legacy-shaped id nobody ever had is a new visitor, not a user made up on the spot.
    let (status, made_up) = create(&edge, &format!("v-{}", "5e".repeat(16)));
    assert_eq!(status, 201);
    assert!(!made_up["user_id"].as_str().unwrap().contains("5e5e"), "{made_up}");
}

#[test]
fn tokens_expire_and_survive_a_rotation_of_the_secret() {
    let edge = edge();
    let (s, _) = open(&edge, None);
    // The test clock advances a second per reading: a day of readings later, the token is spent.
    for _ in 0..(24 * 3600) {
        use switchboard_edge::ports::Clock;
        edge.clock.now_ms();
    }
    let (status, body) = call(&edge, ApiRequest::get(&s.path("messages")).bearer(&s.token));
    assert_eq!(status, 401, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("expired"), "{body}");

    // Rotation: a token of the old secret verifies while it is TOKEN_SECRET_PREVIOUS.
    let old = edge_with(Config::for_tests(), ScriptedHttp::default());
    let (s, _) = open(&old, None);
    let new_secret = "a-new-token-secret-of-thirty-two-bytes";
    let mut rotated = Config::new(new_secret, None);
    rotated.set("TOKEN_SECRET_PREVIOUS", TEST_TOKEN_SECRET).unwrap();
    let check = |config: Config| {
        let edge = edge_with(config, ScriptedHttp::default());
        switchboard_edge::Edge::authorise(&edge, &s.id, Some(&format!("Bearer {}", s.token))).map(|_| ())
    };
    assert!(check(rotated).is_ok());
    assert!(check(Config::new(new_secret, None)).is_err(), "after the rotation it is refused");
    assert!(Config::new("short", None).check_token_secret().unwrap_err().contains("32"));
    assert!(Config::new(new_secret, None).set("TOKEN_SECRET_PREVIOUS", "short").is_err());
    assert!(Config::for_tests().set("IDENTITY_SECRET", "short").is_err());
}
