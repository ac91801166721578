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
    assert_eq!(url_encode("Zürich 8001/ok~-._"), "Z%C3%BCrich%208001%2Fok~-._");
    assert_eq!(text_of(&json!("x")), "x");
    assert_eq!(text_of(&json!(2.5)), "2.5");
    assert_eq!(text_of(&json!([1, "a", true])), "1, a, true");
    assert_eq!(text_of(&json!({ "a": 1 })), r#"{"a":1}"#);
}
