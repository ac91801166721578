//! The demo shop's order system: a Dialogflow CX-style webhook the worker answers itself, so
//! the demo agent works offline. Served at `POST /demo/fulfillment` and used in-process for the
//! webhook URL `builtin:demo-orders`.

use serde_json::{Map, Value};
use switchboard_dialog::webhook::{
    FulfillmentResponse, MergeBehavior, ResponseMessage, SessionInfo, TextMessage, WebhookRequest, WebhookResponse,
};

/// The demo's orders: number → status sentence.
const ORDERS: &[(i64, &str)] = &[
    (123456, "is out for delivery and expected by 6 PM today"),
    (111111, "was delivered yesterday at 2:14 PM"),
    (222222, "is being packed and ships tomorrow"),
    (333333, "was cancelled on your request; the refund is on its way"),
];

/// Answers a fulfillment request for the tag `order-status`.
pub fn fulfill(request: &WebhookRequest) -> WebhookResponse {
    let number = request.session_info.parameters.get("order-number");
    let text = match number.and_then(Value::as_i64) {
        Some(n) => match ORDERS.iter().find(|(o, _)| *o == n) {
            Some((_, status)) => format!("Your order {n} {status}."),
            None => return unknown_order(n),
        },
        None => "I need an order number to look up your order.".to_owned(),
    };
    reply(text, None)
}

/// An unknown number is forgotten (CX: a `null` parameter deletes it) so the user can retry.
fn unknown_order(n: i64) -> WebhookResponse {
    let mut parameters = Map::new();
    parameters.insert("order-number".into(), Value::Null);
    reply(
        format!("I couldn't find order {n}. Please check the number in your confirmation email and ask me again."),
        Some(SessionInfo { session: String::new(), parameters }),
    )
}

fn reply(text: String, session_info: Option<SessionInfo>) -> WebhookResponse {
    WebhookResponse {
        fulfillment_response: Some(FulfillmentResponse {
            messages: vec![ResponseMessage { text: Some(TextMessage { text: vec![text] }), ..Default::default() }],
            merge_behavior: MergeBehavior::Append,
        }),
        session_info,
        ..WebhookResponse::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(number: Value) -> WebhookRequest {
        let mut r = WebhookRequest::default();
        r.session_info.parameters.insert("order-number".into(), number);
        r
    }

    #[test]
    fn knows_the_seed_order() {
        assert_eq!(
            fulfill(&request(123456.into())).texts(),
            ["Your order 123456 is out for delivery and expected by 6 PM today."]
        );
    }

    #[test]
    fn forgets_an_unknown_number() {
        let r = fulfill(&request(999.into()));
        assert!(r.texts()[0].starts_with("I couldn't find order 999."));
        assert_eq!(r.session_info.unwrap().parameters["order-number"], Value::Null);
    }
}
