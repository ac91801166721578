//! Verified identities, linking across visitors and channels, and who may read what.

mod common;

use common::*;
use serde_json::json;
use switchboard_edge::api::ApiRequest;
use switchboard_edge::identity::{sign_jwt, user_hash};

const SECRET: &[u8] = b"identity-secret";

fn identify(edge: &TestEdge, s: &Session, body: serde_json::Value) -> (u16, serde_json::Value) {
    call(edge, ApiRequest::post(&s.path("identify"), &body.to_string()).bearer(&s.token))
}

#[test]
fn a_verified_user_continues_from_a_new_browser() {
    let edge = edge();
    let (first, _) = open(&edge, Some("visitor-laptop"));
    assert_eq!(say(&edge, &first, "Where is my order?"), ["Can you provide your order number?"]);
    let (status, linked) =
        identify(&edge, &first, json!({"user_id": "ann-42", "user_hash": user_hash(SECRET, "ann-42")}));
    assert_eq!(status, 200, "{linked}");
    let continued = Session::from(&linked);
    assert_eq!(continued.id, first.id, "the first verification keeps the visitor's conversation");

    // Another browser: a new visitor id, the same verified user, the same conversation.
    let body = json!({"channel": "web", "visitor_id": "visitor-phone", "user_id": "ann-42",
                      "user_hash": user_hash(SECRET, "ann-42")});
    let (phone, created) = open_with(&edge, &body.to_string());
    assert_eq!(phone.id, first.id);
    assert_eq!(created["visitor_id"], "visitor-phone");
    assert_eq!(created["messages"].as_array().unwrap().len(), 3, "history came along");
    // The dialog state too: the bare number answers the prompt given on the laptop.
    assert_eq!(say(&edge, &phone, "123456"), [DELIVERY]);
    // And the new browser's visitor id now resolves to the same person without identifying.
    let (again, _) = open(&edge, Some("visitor-phone"));
    assert_eq!(again.id, first.id);
}

#[test]
fn forged_hashes_and_jwts_are_rejected_and_change_nothing() {
    let edge = edge();
    let (s, _) = open(&edge, Some("visitor-0001"));
    let before = everything_stored(&edge);
    let forged = [
        json!({"user_id": "ann-42", "user_hash": user_hash(b"wrong secret", "ann-42")}),
        json!({"user_id": "admin", "user_hash": user_hash(SECRET, "ann-42")}),
        json!({"jwt": sign_jwt(b"wrong secret", &json!({"sub": "ann-42", "exp": 4_000_000_000u64}))}),
        json!({"jwt": sign_jwt(SECRET, &json!({"sub": "ann-42", "exp": 1}))}),
    ];
    for body in forged {
        let (status, error) = identify(&edge, &s, body.clone());
        assert_eq!((status, error["error"]["code"].as_str()), (401, Some("identity_rejected")), "{body}");
    }
    let (status, _) = identify(&edge, &s, json!({"email": "ann@example.com"}));
    assert_eq!(status, 400, "an email alone proves nothing");
    let create = json!({"channel": "web", "user_id": "ann-42", "user_hash": "00"}).to_string();
    assert_eq!(call(&edge, ApiRequest::post("/v1/conversations", &create)).0, 401);
    assert_eq!(everything_stored(&edge), before, "nothing was written");
}

#[test]
fn a_jwt_links_the_phone_it_vouches_for_and_merges_that_users_context() {
    let edge = edge();
    // Someone wrote from another channel first: their phone resolves to a user of its own.
    let (earlier, _) = open(&edge, Some("visitor-earlier"));
    say(&edge, &earlier, "Where is my order?");
    let jwt = |sub: &str| {
        sign_jwt(SECRET, &json!({"sub": sub, "exp": 4_000_000_000u64, "phone": "+49 151 1234567", "name": "Ann"}))
    };
    let (status, first) = identify(&edge, &earlier, json!({"jwt": jwt("ann-42")}));
    assert_eq!(status, 200, "{first}");
    // Later, a new visitor signs in with a JWT naming the same phone under another site id.
    let (later, _) = open(&edge, Some("visitor-later"));
    let (status, linked) = identify(&edge, &later, json!({"jwt": jwt("ann-work")}));
    assert_eq!(status, 200, "{linked}");
    let merged = Session::from(&linked);
    assert_eq!(linked["user_id"], first["user_id"], "one person, one user id");
    // The conversation with the open question continues: the earlier one, asking for a number.
    assert_eq!(merged.id, earlier.id);
    assert_eq!(say(&edge, &merged, "123456"), [DELIVERY]);
    let stored = everything_stored(&edge);
    assert!(stored.contains("id:phone:+491511234567 = "), "{stored}");
    assert!(stored.contains("id:web:ann-work = "), "{stored}");
    assert!(stored.contains("merged_into"), "the absorbed user redirects: {stored}");
    // The absorbed visitor now resolves to the same person.
    let (again, _) = open(&edge, Some("visitor-later"));
    assert_eq!(again.id, earlier.id);
}

#[test]
fn one_users_token_cannot_reach_another_users_conversation() {
    let edge = edge();
    let (a, _) = open(&edge, Some("visitor-aaaa"));
    let (b, _) = open(&edge, Some("visitor-bbbb"));
    say(&edge, &a, "Where is order 123456?");
    let as_b = |req: ApiRequest| call(&edge, req.bearer(&b.token));
    for request in [
        ApiRequest::get(&a.path("messages")),
        ApiRequest::post(&a.path("messages"), r#"{"text":"hi"}"#),
        ApiRequest::post(&a.path("end"), ""),
        ApiRequest::post(&a.path("feedback"), r#"{"helpful":false}"#),
        ApiRequest::post(&a.path("identify"), r#"{"user_id":"x","user_hash":"00"}"#),
    ] {
        let what = format!("{} {}", request.method, request.path);
        assert_eq!(as_b(request).0, 401, "{what}");
    }
    assert_eq!(history(&edge, &a).len(), 3, "nothing of B reached A");
}

#[test]
fn a_verified_phone_fills_parameters_that_default_from_the_profile() {
    let edge = edge();
    let (s, _) = open(&edge, Some("visitor-0001"));
    let jwt = sign_jwt(SECRET, &json!({"sub": "ann-42", "exp": 4_000_000_000u64, "phone": "+44 20 7946 0958"}));
    let (status, linked) = identify(&edge, &s, json!({"jwt": jwt}));
    assert_eq!(status, 200, "{linked}");
    let s = Session::from(&linked);
    assert_eq!(
        say(&edge, &s, "can someone call me back"),
        ["Thanks! A member of our team will call +442079460958 within the hour."]
    );
}
