//! Outbound HTTP against hostile servers, through the whole edge: webhooks, lookups and the
//! help desk are never redirected with their credentials, an endless answer is read only up
//! to the cap, and a path value typed by the customer never leaves its segment. Sites live in
//! a [`MemoryWeb`], which follows redirects as `fetch` does unless a request refuses them.
// Tests may panic: a panic here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use futures_executor::block_on;
use serde_json::{Value, json};
use std::cell::Cell;
use std::rc::Rc;
use switchboard_dialog::agent::Agent;
use switchboard_edge::api::{self, ApiRequest};
use switchboard_edge::fulfillment::MAX_RESPONSE_BYTES;
use switchboard_edge::memory::{Answer, MemoryAnalytics, MemoryStore, MemoryWeb, StepClock};
use switchboard_edge::ports::{HttpClient, HttpError, HttpRequest, Redirect};
use switchboard_edge::{Config, Edge};

const AGENT: &str = r#"name: Outbound shop
fallback: ["Sorry, I didn't get that."]
webhook_error: ["Sorry, I can't reach our order system right now."]
handoff: { messages: ["Connecting you with our team."] }
webhooks:
  orders:
    url: https://shop.example/cx
    timeout_ms: 2000
    auth: { bearer: '${ORDERS_TOKEN}' }
    headers: { X-Shop-Key: '${SHOP_KEY}' }
  parcels:
    kind: http
    url: https://api.shop.example/parcels/$parcel-number?track=$parcel-number
    auth: { bearer: '${ORDERS_TOKEN}' }
    headers: { X-Shop-Key: '${SHOP_KEY}' }
    reply: { messages: ['Parcel $parcel-number is ${/status}.'] }
  invoices:
    kind: http
    url: https://api.shop.example/invoices/$invoice/pdf
    headers: { X-Shop-Key: '${SHOP_KEY}' }
    reply: { messages: ['Invoice $invoice is ready.'] }
intents:
  - name: CheckOrderStatus
    training_phrases: [Where is my order, Track order 123456, Order status, where is order 42]
    parameters:
      - { name: order-number, entity: '@sys.number', mandatory: true, prompts: [Can you provide your order number?] }
    fulfillment: { webhook: orders, tag: order-status }
  - name: TrackParcel
    training_phrases: [Track parcel 77, Where is parcel 77, Parcel status, My parcel]
    parameters:
      - { name: parcel-number, entity: '@sys.number', mandatory: true, prompts: [Which parcel number?] }
    fulfillment: { webhook: parcels, tag: parcel }
  - name: FindInvoice
    training_phrases: [I need my invoice, Send me the invoice, Invoice please, Download invoice]
    parameters:
      - { name: invoice, entity: '@sys.any', mandatory: true, prompts: [Which invoice?] }
    fulfillment: { webhook: invoices, tag: invoice }
  - name: TalkToHuman
    training_phrases: [Talk to a human, I want to speak to a person, Real person please]
    handoff: true
"#;

const TOKEN: &str = "t0k3n-never-elsewhere";
const SHOP_KEY: &str = "shop-key-never-elsewhere";
const APOLOGY: &str = "Sorry, I can't reach our order system right now.";
const EVIL: &str = "https://evil.example";

type WebEdge = Edge<'static, MemoryStore, MemoryWeb, StepClock, MemoryAnalytics>;

fn agent() -> &'static Agent {
    static AGENT_ONCE: std::sync::OnceLock<Agent> = std::sync::OnceLock::new();
    AGENT_ONCE.get_or_init(|| Agent::from_yaml(AGENT).unwrap())
}

fn config() -> Config {
    let mut config = Config::for_tests();
    config.set_secret("ORDERS_TOKEN", TOKEN).unwrap();
    config.set_secret("SHOP_KEY", SHOP_KEY).unwrap();
    config
}

/// A web with the attacker's site, which would gladly answer whatever it is sent.
fn web() -> MemoryWeb {
    MemoryWeb::new().site(EVIL, |_| Answer::Body(200, cx("Thanks for the credentials.")))
}

fn cx(text: &str) -> Vec<u8> {
    json!({ "fulfillment_response": { "messages": [{ "text": { "text": [text] } }] } }).to_string().into_bytes()
}

fn edge(web: MemoryWeb, config: Config) -> WebEdge {
    Edge::new(agent(), config, MemoryStore::default(), web, StepClock::default(), MemoryAnalytics::default())
}

struct Session {
    id: String,
    token: String,
}

/// Status, JSON body and log lines of one request.
fn call(edge: &WebEdge, request: ApiRequest) -> (u16, Value, Vec<String>) {
    let response = block_on(api::handle(edge, request));
    let json = if response.body.is_empty() { Value::Null } else { serde_json::from_str(&response.body).unwrap() };
    (response.status, json, response.logs)
}

fn open(edge: &WebEdge) -> Session {
    let (status, json, _) = call(edge, ApiRequest::post("/v1/conversations", r#"{"channel":"web"}"#));
    assert_eq!(status, 201, "{json}");
    Session { id: json["conversation_id"].as_str().unwrap().into(), token: json["token"].as_str().unwrap().into() }
}

/// The agent's texts and the turn's log lines.
fn say(edge: &WebEdge, s: &Session, text: &str) -> (Vec<String>, Vec<String>) {
    let body = json!({ "text": text }).to_string();
    let path = format!("/v1/conversations/{}/messages", s.id);
    let (status, json, logs) = call(edge, ApiRequest::post(&path, &body).bearer(&s.token));
    assert_eq!(status, 200, "{json}");
    let texts = json["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_owned()).collect();
    (texts, logs)
}

/// Whether any header of `request` holds one of the secrets.
fn carries_secrets(request: &HttpRequest) -> bool {
    request.headers.iter().any(|(_, value)| value.contains(TOKEN) || value.contains(SHOP_KEY))
}

#[test]
fn the_memory_web_follows_redirects_as_fetch_does_unless_refused() {
    // The model itself: a client that followed redirects would hand the attacker the secrets,
    // so the tests below would catch one.
    let followed_web = web().site("https://shop.example", |_| Answer::Redirect(302, format!("{EVIL}/collect")));
    let request = |redirect| HttpRequest {
        method: "POST",
        url: "https://shop.example/cx".into(),
        headers: vec![("Authorization".into(), format!("Bearer {TOKEN}"))],
        body: Some("{}".into()),
        timeout_ms: 1000,
        max_body: MAX_RESPONSE_BYTES,
        redirect,
    };
    let followed = block_on(followed_web.send(request(Redirect::Follow))).unwrap();
    assert_eq!(followed.status, 200);
    let stolen = followed_web.received_by(EVIL);
    assert_eq!((stolen.len(), stolen[0].method), (1, "GET"), "a 302 after a POST goes on as a GET");
    assert!(carries_secrets(&stolen[0]));

    let web = web().site("https://shop.example", |_| Answer::Redirect(307, format!("{EVIL}/collect")));
    assert_eq!(block_on(web.send(request(Redirect::Refuse))), Err(HttpError::Redirected(307)));
    assert!(web.received_by(EVIL).is_empty());
    assert_eq!(web.received_by("https://shop.example").len(), 1);
}

#[test]
fn a_webhook_that_redirects_is_not_followed_and_its_credentials_stay_home() {
    for status in [301, 302, 303, 307, 308] {
        let web = web().site("https://shop.example", move |_| Answer::Redirect(status, format!("{EVIL}/cx?s=1")));
        let edge = edge(web, config());
        let s = open(&edge);
        let (texts, logs) = say(&edge, &s, "where is order 42");
        assert_eq!(texts, [APOLOGY], "{status}");
        assert!(edge.http.received_by(EVIL).is_empty(), "{status}: the redirect was followed");
        let sent = edge.http.received_by("https://shop.example");
        assert!(sent.len() == 1 && carries_secrets(&sent[0]), "{status}: {sent:?}");
        let failed = logs.iter().find(|l| l.contains("webhook_failed")).unwrap_or_else(|| panic!("{logs:?}"));
        assert!(failed.contains(&format!("answered a redirect (HTTP {status}), not followed")), "{failed}");
        assert!(!logs.iter().any(|l| l.contains("evil.example")), "the Location is not logged: {logs:?}");
        // The conversation goes on.
        assert_eq!(say(&edge, &s, "Where is my order?").0, ["Can you provide your order number?"]);
    }
}

#[test]
fn a_lookup_that_redirects_is_not_followed() {
    let web =
        web().site("https://api.shop.example", |r| Answer::Redirect(302, r.url.replace("https://api.shop", EVIL)));
    let edge = edge(web, config());
    let s = open(&edge);
    let (texts, logs) = say(&edge, &s, "Track parcel 77");
    assert_eq!(texts, [APOLOGY]);
    assert!(edge.http.received_by(EVIL).is_empty());
    let sent = edge.http.received_by("https://api.shop.example");
    assert_eq!(sent[0].url, "https://api.shop.example/parcels/77?track=77");
    assert!(logs.iter().any(|l| l.contains("answered a redirect (HTTP 302), not followed")), "{logs:?}");
}

#[test]
fn the_help_desk_webhook_is_not_redirected() {
    let mut config = config();
    config.set("HANDOFF_WEBHOOK_URL", "https://desk.example/hooks/switchboard").unwrap();
    config.set("HANDOFF_WEBHOOK_SECRET", "desk-secret-of-thirty-two-bytes!!").unwrap();
    let web = web().site("https://desk.example", |_| Answer::Redirect(307, format!("{EVIL}/desk")));
    let edge = edge(web, config);
    let s = open(&edge);
    let (texts, logs) = say(&edge, &s, "I want to speak to a person");
    assert_eq!(texts, ["Connecting you with our team."], "the handoff stands");
    let sent = edge.http.received_by("https://desk.example");
    assert!(sent[0].headers.iter().any(|(k, _)| k == "X-Switchboard-Signature"));
    assert!(edge.http.received_by(EVIL).is_empty(), "the signed transcript went elsewhere");
    let failed = logs.iter().find(|l| l.contains("help_desk_failed")).unwrap_or_else(|| panic!("{logs:?}"));
    assert!(failed.contains("answered a redirect (HTTP 307), not followed"), "{failed}");
}

#[test]
fn an_endless_answer_is_read_only_up_to_the_cap_and_the_conversation_goes_on() {
    let healthy = Rc::new(Cell::new(false));
    let (cx_ok, api_ok) = (healthy.clone(), healthy.clone());
    let web = web()
        .site(
            "https://shop.example",
            move |_| if cx_ok.get() { Answer::Body(200, cx("On its way.")) } else { Answer::Endless },
        )
        .site("https://api.shop.example", move |_| {
            if api_ok.get() { Answer::Body(200, br#"{"status":"sorted"}"#.to_vec()) } else { Answer::Endless }
        });
    let edge = edge(web, config());
    let s = open(&edge);
    // A chunk past the cap at most: the body is never held whole.
    let at_most = MAX_RESPONSE_BYTES + 16 * 1024;
    for text in ["where is order 42", "Track parcel 77"] {
        let read_before = edge.http.bytes_read.get();
        let (texts, logs) = say(&edge, &s, text);
        assert_eq!(texts, [APOLOGY], "{text}");
        let read = edge.http.bytes_read.get() - read_before;
        assert!(read > MAX_RESPONSE_BYTES && read <= at_most, "{text}: read {read} bytes");
        assert!(
            logs.iter().any(|l| l.contains(&format!("response larger than {MAX_RESPONSE_BYTES} bytes"))),
            "{logs:?}"
        );
    }
    healthy.set(true);
    assert_eq!(say(&edge, &s, "where is order 43").0, ["On its way."]);
    assert_eq!(say(&edge, &s, "Track parcel 78").0, ["Parcel 78 is sorted."]);
}

#[test]
fn a_traversal_typed_by_the_customer_never_reaches_the_api() {
    let web = web().site("https://api.shop.example", |_| Answer::Body(200, b"{}".to_vec()));
    let edge = edge(web, config());
    let s = open(&edge);
    for value in ["..", "%2e%2e", "..%2f..%2fadmin", "..\\..\\admin"] {
        assert_eq!(say(&edge, &s, "I need my invoice").0, ["Which invoice?"], "{value}");
        let (texts, logs) = say(&edge, &s, value);
        assert_eq!(texts, [APOLOGY], "{value}");
        assert!(logs.iter().any(|l| l.contains("would change the path")), "{value}: {logs:?}");
        assert!(!logs.iter().any(|l| l.contains(value)), "{value}: the value is not logged");
    }
    assert!(edge.http.received_by("https://api.shop.example").is_empty());
    // An honest invoice number goes out as one segment.
    say(&edge, &s, "I need my invoice");
    assert_eq!(say(&edge, &s, "INV/2026 7").0, ["Invoice INV/2026 7 is ready."]);
    assert_eq!(
        edge.http.received_by("https://api.shop.example")[0].url,
        "https://api.shop.example/invoices/INV%2F2026%207/pdf"
    );
}
