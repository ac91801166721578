//! Verified identities, linking across visitors and channels, and who may read what, tried
//! as an attacker would.
// Tests may panic: a panic here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchboard_edge::Config;
use switchboard_edge::api::ApiRequest;
use switchboard_edge::identity::{sign_jwt, user_hash};
use switchboard_edge::memory::ScriptedHttp;

fn identify(edge: &TestEdge, s: &Session, body: Value) -> (u16, Value) {
    call(edge, ApiRequest::post(&s.path("identify"), &body.to_string()).bearer(&s.token))
}

fn hashed(user_id: &str) -> Value {
    json!({"user_id": user_id, "user_hash": site_hash(user_id)})
}

/// The stored context of the user a session runs as.
fn context_of(edge: &TestEdge, created: &Value) -> Value {
    let key = format!("ctx:{}", created["user_id"].as_str().unwrap());
    serde_json::from_str(&edge.store.entries.borrow()[&key].0).unwrap()
}

#[test]
fn a_verified_user_continues_from_a_new_browser() {
    let edge = edge();
    let (first, opened) = open(&edge, Some("visitor-laptop"));
    assert_eq!(say(&edge, &first, "Where is my order?"), ["Can you provide your order number?"]);
    let (status, linked) = identify(&edge, &first, hashed("ann-42"));
    assert_eq!(status, 200, "{linked}");
    let continued = Session::from(&linked);
    assert_eq!(continued.id, first.id, "the first verification keeps the visitor's conversation");
    assert_ne!(linked["visitor_id"], opened["visitor_id"], "the visitor credential rotates on identify");

    // Another browser: the same verified user, the same conversation.
    let (phone, created) = open(&edge, Some("visitor-phone"));
    assert_ne!(phone.id, first.id, "anonymous, it is somebody new");
    let body = json!({"channel": "web", "visitor_id": credential(&edge, "visitor-phone"), "user_id": "ann-42",
                      "user_hash": site_hash("ann-42")});
    let (phone, identified) = open_with(&edge, &body.to_string());
    assert_eq!(phone.id, first.id);
    assert_ne!(identified["visitor_id"], created["visitor_id"], "the credential rotates");
    assert_eq!(identified["messages"].as_array().unwrap().len(), 3, "history came along");
    // The dialog state too: the bare number answers the prompt given on the laptop.
    assert_eq!(say(&edge, &phone, "123456"), [DELIVERY]);
}

#[test]
fn once_linked_to_a_verified_person_resuming_needs_the_identity_again() {
    let edge = edge();
    let (s, opened) = open(&edge, Some("shared-computer"));
    say(&edge, &s, "Where is order 123456?");
    let (_, linked) = identify(&edge, &s, hashed("ann-42"));
    // Whoever uses the browser next (or copied its storage) has only the old credentials.
    for visitor in [opened["visitor_id"].clone(), linked["visitor_id"].clone()] {
        let (status, next) = call(
            &edge,
            ApiRequest::post("/v1/conversations", &json!({"channel": "web", "visitor_id": visitor}).to_string()),
        );
        assert_eq!(status, 201, "a new conversation: {next}");
        assert_ne!(next["conversation_id"], linked["conversation_id"]);
        assert!(!next.to_string().contains("123456"), "{next}");
    }
    // And the token of the anonymous visit no longer reaches the person's conversation.
    let (status, _) = call(&edge, ApiRequest::get(&s.path("messages")).bearer(&s.token));
    assert_eq!(status, 404);
}

#[test]
fn a_verified_visitors_old_credential_is_never_merged_into_someone_else() {
    let edge = edge();
    // Bob signs in on a shared computer; later Ann signs in on it, its storage holding Bob's
    // visitor credential.
    let (bob, opened) = open(&edge, Some("shared"));
    say(&edge, &bob, "Where is order 222222?");
    let (_, bob_linked) = identify(&edge, &bob, hashed("bob-7"));
    let body = json!({"channel": "web", "visitor_id": opened["visitor_id"], "user_id": "ann-42",
                      "user_hash": site_hash("ann-42")});
    let (ann, ann_created) = open_with(&edge, &body.to_string());
    assert_ne!(ann.id, bob.id);
    assert_ne!(ann_created["user_id"], bob_linked["user_id"]);
    assert!(!ann_created.to_string().contains("222222"), "{ann_created}");
    let stored = everything_stored(&edge);
    assert!(!stored.contains(&format!("\"merged_into\":{}", ann_created["user_id"])), "{stored}");
}

#[test]
fn forged_hashes_and_jwts_are_rejected_and_change_nothing() {
    let edge = edge();
    let (s, _) = open(&edge, Some("visitor-0001"));
    let before = everything_stored(&edge);
    let key = jwt_key(TEST_IDENTITY_SECRET.as_bytes());
    let later = now_s() + 3600;
    let forged = [
        json!({"user_id": "ann-42", "user_hash": user_hash(b"wrong secret", "ann-42")}),
        json!({"user_id": "admin", "user_hash": site_hash("ann-42")}),
        json!({"jwt": sign_jwt(b"wrong secret", &json!({"sub": "ann-42", "exp": later}))}),
        json!({"jwt": sign_jwt(&key, &json!({"sub": "ann-42", "exp": 1}))}),
        // Signed with the user_hash key (the identity secret itself): JWTs need their own key.
        json!({"jwt": sign_jwt(TEST_IDENTITY_SECRET.as_bytes(), &json!({"sub": "ann-42", "exp": later}))}),
        // A ten-year JWT, one not valid yet.
        json!({"jwt": sign_jwt(&key, &json!({"sub": "ann-42", "exp": now_s() + 315_360_000}))}),
        json!({"jwt": sign_jwt(&key, &json!({"sub": "ann-42", "exp": later, "nbf": later - 60}))}),
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
fn a_user_hash_of_a_dotted_user_id_does_not_pass_as_a_jwt() {
    let edge = edge();
    let (s, _) = open(&edge, None);
    // The site hashes whatever user id it has; an attacker registered one shaped like a JWT.
    let header = switchboard_edge::identity::base64url_encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = json!({"sub": "victim", "exp": now_s() + 3600});
    let claims = switchboard_edge::identity::base64url_encode(claims.to_string().as_bytes());
    let dotted = format!("{header}.{claims}");
    let tag = switchboard_edge::keys::unhex(&site_hash(&dotted)).unwrap();
    let forged = format!("{dotted}.{}", switchboard_edge::identity::base64url_encode(&tag));
    let (status, _) = identify(&edge, &s, json!({ "jwt": forged }));
    assert_eq!(status, 401);
}

#[test]
fn jwt_audience_and_issuer_are_checked_when_configured() {
    let mut config = Config::for_tests();
    config.set("IDENTITY_JWT_AUDIENCE", "shop.example").unwrap();
    config.set("IDENTITY_JWT_ISSUER", "https://shop.example").unwrap();
    let edge = edge_with(config, ScriptedHttp::default());
    let (s, _) = open(&edge, None);
    let exp = now_s() + 3600;
    let good = json!({"sub": "ann-42", "exp": exp, "aud": "shop.example", "iss": "https://shop.example"});
    for (claims, status) in [
        (json!({"sub": "ann-42", "exp": exp}), 401),
        (json!({"sub": "ann-42", "exp": exp, "aud": "shop.example", "iss": "https://evil.example"}), 401),
        (json!({"sub": "ann-42", "exp": exp, "aud": "evil.example", "iss": "https://shop.example"}), 401),
        (good, 200),
    ] {
        assert_eq!(identify(&edge, &s, json!({"jwt": site_jwt(&claims)})).0, status, "{claims}");
    }
}

#[test]
fn unsigned_names_and_emails_are_never_marked_verified() {
    let edge = edge();
    let (s, _) = open(&edge, None);
    // A user_hash vouches for the user id only; name, email and phone beside it are unsigned.
    let body = json!({"user_id": "ann-42", "user_hash": site_hash("ann-42"), "name": "Mallory",
                      "email": "victim@example.com", "phone": "+44 20 7946 0958"});
    let (status, linked) = identify(&edge, &s, body);
    assert_eq!(status, 200, "{linked}");
    let profile = &context_of(&edge, &linked)["profile"];
    assert_eq!(profile["email"], "victim@example.com", "it may fill the profile: {profile}");
    assert!(profile["verified_fields"].as_array().is_none_or(Vec::is_empty), "{profile}");
    // `default_from: phone` does not take an unsigned phone: the bot asks for the number.
    let s = Session::from(&linked);
    let reply = say(&edge, &s, "can someone call me back");
    assert!(!reply.concat().contains("+442079460958"), "{reply:?}");
    // Nothing unsigned links: the typed email does not index anyone.
    assert!(!everything_stored(&edge).contains("id:email:victim@example.com"));
}

#[test]
fn a_jwt_links_the_phone_it_vouches_for_and_merges_that_users_context() {
    let edge = edge();
    // Someone wrote first: the JWT's phone resolves to a user of its own.
    let (earlier, _) = open(&edge, Some("visitor-earlier"));
    say(&edge, &earlier, "Where is my order?");
    let jwt =
        |sub: &str| site_jwt(&json!({"sub": sub, "exp": now_s() + 3600, "phone": "+49 151 1234567", "name": "Ann"}));
    let (status, first) = identify(&edge, &earlier, json!({"jwt": jwt("ann-42")}));
    assert_eq!(status, 200, "{first}");
    let profile = &context_of(&edge, &first)["profile"];
    assert_eq!(profile["verified_fields"], json!(["name", "phone"]), "signed claims are verified: {profile}");
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
    let jwt = site_jwt(&json!({"sub": "ann-42", "exp": now_s() + 3600, "phone": "+44 20 7946 0958"}));
    let (status, linked) = identify(&edge, &s, json!({"jwt": jwt}));
    assert_eq!(status, 200, "{linked}");
    let s = Session::from(&linked);
    assert_eq!(
        say(&edge, &s, "can someone call me back"),
        ["Thanks! A member of our team will call +442079460958 within the hour."]
    );
}
