//! Lookups: requests from templates, answers mapped into CX responses, failures.

use super::*;
use crate::config::Config;
use crate::fulfillment;
use crate::memory::ScriptedHttp;
use crate::ports::HttpError;
use futures_executor::block_on;
use serde_json::json;
use switchboard_dialog::agent::{Agent, Webhook};
use switchboard_dialog::dialog::WebhookOutcome;
use switchboard_dialog::webhook::WebhookRequest;

const AGENT: &str = "name: shop
fallback: ['?']
webhook_error: ['Sorry.']
webhooks:
  orders:
    kind: http
    url: https://api.shop.example/v1/orders/$order-number?email=$email
    auth: { bearer: '${ORDERS_TOKEN}' }
    reply:
      messages:
        - 'Order $order-number is ${/order/status} (items: ${/order/items}); courier ${/courier/name}.'
        - 'Tracking: $tracking'
      set: { order-status: /order/status, tracking: /order/tracking, eta: /order/eta }
    on_status:
      404: { messages: ['There is no order $order-number.'] }
  returns:
    kind: http
    method: POST
    url: https://api.shop.example/v1/returns
    body: { order: $order-number, reason: 'Customer says: $reason', tags: [chat, $order-number], gift: false }
    reply: { set: { return-id: /id } }
intents:
  - { name: Hi, training_phrases: [hello], responses: [Hello] }
";

fn agent() -> Agent {
    Agent::from_yaml(AGENT).unwrap()
}

fn config() -> Config {
    let mut config = Config::for_tests();
    config.set_secret("ORDERS_TOKEN", "t0k3n").unwrap();
    config
}

fn session(parameters: serde_json::Value) -> WebhookRequest {
    let mut request = WebhookRequest::default();
    request.session_info.parameters = parameters.as_object().unwrap().clone();
    request
}

fn reply(status: u16, body: serde_json::Value) -> Result<HttpResponse, HttpError> {
    Ok(HttpResponse { status, body: body.to_string().into_bytes() })
}

/// Calls `webhook` once with `parameters` against `answer`: the outcome, the log line, what was sent.
fn run_once(
    webhook: &Webhook,
    parameters: serde_json::Value,
    answer: Result<HttpResponse, HttpError>,
) -> (WebhookOutcome, Option<String>, Vec<HttpRequest>) {
    let http = ScriptedHttp::new([answer]);
    let (outcome, log) = block_on(fulfillment::call(&http, &config(), "orders", webhook, &session(parameters)));
    let sent = http.sent.borrow().clone();
    (outcome, log, sent)
}

fn shipped() -> serde_json::Value {
    json!({ "order": { "status": "shipped", "items": ["lamp", "bulb"], "tracking": "ZX-1", "eta": null },
            "courier": { "name": "Bo" } })
}

#[test]
fn a_get_lookup_fills_the_url_url_encoded_and_maps_the_answer() {
    let agent = agent();
    let parameters = json!({ "order-number": 123456, "email": "a b/c?d&e=é@x.io" });
    let (outcome, log, sent) = run_once(&agent.webhooks["orders"], parameters, reply(200, shipped()));
    let request = &sent[0];
    assert_eq!(request.method, "GET");
    assert_eq!(request.url, "https://api.shop.example/v1/orders/123456?email=a%20b%2Fc%3Fd%26e%3D%C3%A9%40x.io");
    assert_eq!(request.body, None);
    assert_eq!(
        request.headers,
        [("Authorization".to_owned(), "Bearer t0k3n".to_owned()), ("Accept".to_owned(), "application/json".to_owned())]
    );
    let WebhookOutcome::Replied(response) = outcome else { panic!("{log:?}") };
    assert_eq!(
        response.texts(),
        ["Order 123456 is shipped (items: lamp, bulb); courier Bo.", "Tracking: ZX-1"],
        "messages see the parameters just set"
    );
    let set = response.session_info.unwrap().parameters;
    assert_eq!(set["order-status"], "shipped");
    assert_eq!(set["tracking"], "ZX-1");
    assert_eq!(set["eta"], serde_json::Value::Null, "a null or missing field deletes the parameter");
}

#[test]
fn a_post_lookup_sends_a_json_body_with_typed_parameters() {
    let agent = agent();
    let parameters = json!({ "order-number": 42, "reason": "too \"dim\"" });
    let (outcome, log, sent) = run_once(&agent.webhooks["returns"], parameters, reply(201, json!({ "id": "R-7" })));
    let request = &sent[0];
    assert_eq!((request.method, request.url.as_str()), ("POST", "https://api.shop.example/v1/returns"));
    assert!(request.headers.contains(&("Content-Type".to_owned(), "application/json".to_owned())));
    let body: serde_json::Value = serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({ "order": 42, "reason": "Customer says: too \"dim\"", "tags": ["chat", 42], "gift": false })
    );
    let WebhookOutcome::Replied(response) = outcome else { panic!("{log:?}") };
    assert!(response.fulfillment_response.is_none(), "a reply with only 'set' says nothing");
    assert_eq!(response.session_info.unwrap().parameters["return-id"], "R-7");
}

#[test]
fn a_mapped_status_answers_and_other_statuses_fail() {
    let agent = agent();
    let orders = &agent.webhooks["orders"];
    let parameters = json!({ "order-number": 9, "email": "a@b.c" });
    let (outcome, _, _) = run_once(orders, parameters.clone(), Ok(HttpResponse { status: 404, body: Vec::new() }));
    let WebhookOutcome::Replied(response) = outcome else { panic!() };
    assert_eq!(response.texts(), ["There is no order 9."]);
    let (outcome, log, _) = run_once(orders, parameters, reply(500, json!({ "error": "down" })));
    assert_eq!(outcome, WebhookOutcome::Failed);
    assert!(log.unwrap().contains(r#""reason":"answered HTTP 500""#));
}

#[test]
fn missing_fields_and_parameters_malformed_and_lost_answers_fail_with_a_reason() {
    let agent = agent();
    let orders = &agent.webhooks["orders"];
    let parameters = json!({ "order-number": 9, "email": "a@b.c" });
    let mut no_courier = shipped();
    no_courier["courier"]["name"] = serde_json::Value::Null;
    let mut no_items = shipped();
    no_items["order"].as_object_mut().unwrap().remove("items");
    let cases: Vec<(serde_json::Value, Result<HttpResponse, HttpError>, &str)> = vec![
        (parameters.clone(), reply(200, no_courier), "the response has no field /courier/name"),
        (parameters.clone(), reply(200, no_items), "the response has no field /order/items"),
        (parameters.clone(), Ok(HttpResponse { status: 200, body: b"<html>".to_vec() }), "is not JSON"),
        (parameters.clone(), Err(HttpError::Timeout(5000)), "timed out after 5000 ms"),
        (parameters.clone(), Err(HttpError::TooLarge(MAX_RESPONSE_BYTES)), "response larger than 65536 bytes"),
        (json!({ "order-number": 9 }), reply(200, shipped()), "parameter 'email' has no value for the request"),
        (json!({ "order-number": 9, "email": null }), reply(200, shipped()), "parameter 'email' has no value"),
    ];
    for (parameters, answer, why) in cases {
        let missing_parameter = why.starts_with("parameter");
        let (outcome, log, sent) = run_once(orders, parameters, answer);
        assert_eq!(outcome, WebhookOutcome::Failed, "{why}");
        let log = log.unwrap();
        assert!(log.contains(r#""event":"webhook_failed""#) && log.contains(why), "{why}: {log}");
        assert!(!log.contains("a@b.c"), "no parameter values in logs: {log}");
        assert_eq!(sent.is_empty(), missing_parameter, "a request without its parameters is never sent");
    }
    // An oversize body is refused by the client under the limit the lookup asks for.
    let (outcome, _, sent) =
        run_once(orders, parameters, Ok(HttpResponse { status: 200, body: vec![b' '; MAX_RESPONSE_BYTES + 1] }));
    assert_eq!((outcome, sent[0].max_body), (WebhookOutcome::Failed, MAX_RESPONSE_BYTES));
}

#[test]
fn values_read_as_text() {
    assert_eq!(url::encode("Zürich 8001/ok~-._"), "Z%C3%BCrich%208001%2Fok~-._");
    assert_eq!(url::encode("%2e%2e"), "%252e%252e", "'%' is encoded too");
    assert_eq!(text_of(&json!("x")), "x");
    assert_eq!(text_of(&json!(2.5)), "2.5");
    assert_eq!(text_of(&json!([1, "a", true])), "1, a, true");
    assert_eq!(text_of(&json!({ "a": 1 })), r#"{"a":1}"#);
}

const FILES: &str = "name: files
fallback: ['?']
webhook_error: ['Sorry.']
webhooks:
  items:
    kind: http
    url: https://api.shop.example/v1/orders/$order-number/items?email=$email&v=1
    auth: { bearer: '${ORDERS_TOKEN}' }
    reply: { messages: ['ok'] }
  last:
    kind: http
    url: https://api.shop.example/v1/orders/$order-number
    reply: { messages: ['ok'] }
  joined:
    kind: http
    url: https://api.shop.example/v1/files/$a$b/x$c
    reply: { messages: ['ok'] }
intents:
  - { name: Hi, training_phrases: [hello], responses: [Hello] }
";

/// Values an attacker types to leave `/v1/orders/{value}`: each must be refused.
const TRAVERSALS: &[&str] = &[
    "..",
    ".",
    "",
    "../admin",
    "../../../../etc/passwd",
    "a/../b",
    "%2e%2e",
    "%2E%2E",
    "%2E.",
    ".%2e",
    "%2e",
    "%2e%2e%2f",
    "%2e%2e/admin",
    "..%2f",
    "..%2Fadmin",
    "%252e%252e",
    "%25252e%25252e",
    "%%32%65%%32%65",
    "..\\",
    "..\\admin",
    "..%5c",
    "..%5cadmin",
    "..;",
    "..;/admin",
    "..;jsessionid=1",
    ".. ",
    "..%20",
    "..\t",
    "..%00",
    "..\u{0}",
    "\u{FF0E}\u{FF0E}",
    "\u{2025}",
    "\u{FE52}",
    "%c0%ae%c0%ae",
    "%c0%ae%c0%ae%c0%af",
    "x/%2e%2e/y",
];

/// Values that must arrive as one opaque segment, never as structure.
const OPAQUE: &[&str] = &[
    "/etc/passwd",
    "/",
    "//evil.example",
    "\\",
    "?admin=1",
    "#fragment",
    "a\u{0}b",
    "\r\nX-Injected: 1",
    "\u{7f}\u{1b}[2J",
    "%00",
    "%2F",
    "%2f%2f",
    "%5C",
    "%3F",
    "%23",
    "%",
    "%zz",
    "...",
    "....",
    ".a",
    "a.",
    "a..b",
    "~user",
    "@evil.example",
    ":8080",
    "Zürich",
    "\u{202E}gpj.exe",
    "a&b=c",
    "a+b",
    "123456",
];

/// The lookup `name` of [`FILES`] with `parameters`: the URL sent, or the log's reason.
fn files_url(name: &str, parameters: serde_json::Value) -> Result<String, String> {
    let agent = Agent::from_yaml(FILES).unwrap();
    let http = ScriptedHttp::new([reply(200, json!({}))]);
    let (outcome, log) =
        block_on(fulfillment::call(&http, &config(), name, &agent.webhooks[name], &session(parameters)));
    let sent = http.sent.borrow();
    match (outcome, sent.first()) {
        (WebhookOutcome::Replied(_), Some(request)) => Ok(request.url.clone()),
        (WebhookOutcome::Failed, None) => {
            let log: serde_json::Value = serde_json::from_str(&log.unwrap()).unwrap();
            Err(log["reason"].as_str().unwrap().to_owned())
        }
        (outcome, sent) => panic!("{outcome:?} with {sent:?}: {log:?}"),
    }
}

/// Percent-decoded once, as a server reads a segment.
fn decoded(segment: &str) -> String {
    let mut out = Vec::new();
    let mut rest = segment.as_bytes();
    while let [first, tail @ ..] = rest {
        if *first == b'%' && tail.len() >= 2 {
            out.push(u8::from_str_radix(std::str::from_utf8(&tail[..2]).unwrap(), 16).unwrap());
            rest = &tail[2..];
        } else {
            out.push(*first);
            rest = tail;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn path_values_that_traverse_are_refused_and_nothing_is_sent() {
    for value in TRAVERSALS {
        for name in ["items", "last"] {
            let parameters = json!({ "order-number": value, "email": "a@b.c" });
            let reason = files_url(name, parameters).expect_err(&format!("{value:?} was sent in {name}"));
            assert_eq!(reason, "parameter 'order-number' would change the path of the lookup's URL; not sent");
        }
    }
    // Whole segments made of several values, or of a value and the template's text.
    for (a, b, c) in [(".", ".", "1"), ("", "", "1"), (".", "", "1"), ("%2e", ".", "1"), (".", "%2e", "1")] {
        let reason = files_url("joined", json!({ "a": a, "b": b, "c": c })).unwrap_err();
        assert!(reason.contains("would change the path"), "{a:?} {b:?} {c:?}: {reason}");
    }
    assert_eq!(
        files_url("joined", json!({ "a": "...", "b": ".x", "c": "a.." })).unwrap(),
        "https://api.shop.example/v1/files/....x/xa..",
        "dots inside a longer segment are names"
    );
    assert_eq!(
        files_url("joined", json!({ "a": "a", "b": "b", "c": "" })).unwrap(),
        "https://api.shop.example/v1/files/ab/x"
    );
}

#[test]
fn other_values_stay_one_segment_and_one_query_value() {
    let prefix = "https://api.shop.example/v1/orders/";
    for value in OPAQUE.iter().chain(TRAVERSALS.iter().filter(|v| !v.is_empty())) {
        // In the query, dot segments are only text.
        let traversal = TRAVERSALS.contains(value);
        let order = if traversal { "42" } else { value };
        let url = files_url("items", json!({ "order-number": order, "email": value }))
            .unwrap_or_else(|reason| panic!("{value:?}: {reason}"));
        let encoded = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b));
        let rest = url.strip_prefix(prefix).unwrap_or_else(|| panic!("{value:?}: {url}"));
        let (segment, query) = rest.split_once("/items?").unwrap_or_else(|| panic!("{value:?}: {url}"));
        assert!(encoded(segment) && decoded(segment) == order, "{value:?}: path {url}");
        let pairs: Vec<&str> = query.split('&').collect();
        let [email, version] = pairs[..] else { panic!("{value:?}: query {url}") };
        let email = email.strip_prefix("email=").unwrap_or_else(|| panic!("{value:?}: {url}"));
        assert!(encoded(email) && decoded(email) == *value, "{value:?}: query {url}");
        assert_eq!(version, "v=1", "{value:?}: {url}");
        assert!(!url.contains(['#', '\\', ' ']) && url.is_ascii(), "{value:?}: {url}");
    }
}
