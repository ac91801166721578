//! Dialogflow CX webhook wire types, so an existing CX fulfillment server works unchanged.
//!
//! Requests are written in camelCase. Responses are read in camelCase or snake_case (protobuf
//! JSON accepts both, and many real webhooks send `fulfillment_response`); unknown fields are
//! ignored.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The request sent to a fulfillment webhook (CX `WebhookRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct WebhookRequest {
    /// Unique id of this turn.
    pub detect_intent_response_id: String,
    /// Language of the conversation, e.g. `en`.
    pub language_code: String,
    /// Which fulfillment is asked for.
    pub fulfillment_info: FulfillmentInfo,
    /// The intent matched in this turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent_info: Option<IntentInfo>,
    /// The session and its parameters.
    pub session_info: SessionInfo,
    /// What the user typed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Messages the agent has produced so far in this turn.
    #[serde(default)]
    pub messages: Vec<ResponseMessage>,
    /// Free-form payload from the channel.
    #[serde(default)]
    pub payload: Map<String, Value>,
}

/// `fulfillmentInfo`: the tag of the fulfillment that is called.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FulfillmentInfo {
    /// The tag configured on the fulfillment.
    pub tag: String,
}

/// `intentInfo`: the matched intent and its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct IntentInfo {
    /// Identifier of the intent.
    pub last_matched_intent: String,
    /// Display name of the intent.
    pub display_name: String,
    /// Classifier confidence in `[0, 1]`.
    pub confidence: f32,
    /// Parameters by name.
    #[serde(default)]
    pub parameters: BTreeMap<String, IntentParameterValue>,
}

/// A parameter value as the user wrote it and as it was resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct IntentParameterValue {
    /// The text the value came from.
    pub original_value: String,
    /// The typed value.
    pub resolved_value: Value,
}

/// `sessionInfo`: the session id and its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SessionInfo {
    /// Session identifier (the conversation id).
    #[serde(default)]
    pub session: String,
    /// Session parameters by name.
    #[serde(default)]
    pub parameters: Map<String, Value>,
}

/// One message of a CX response (`ResponseMessage`); kinds we do not render are kept as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ResponseMessage {
    /// A text message: one or more variants of which the first is shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextMessage>,
    /// A custom payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// Asks for a human agent; its metadata is passed on with the handoff.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "live_agent_handoff")]
    pub live_agent_handoff: Option<LiveAgentHandoff>,
}

/// `liveAgentHandoff: { metadata }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LiveAgentHandoff {
    /// Anything the webhook wants the human agent's system to receive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// `text: { text: [...] }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TextMessage {
    /// The text variants.
    #[serde(default)]
    pub text: Vec<String>,
}

/// The reply of a fulfillment webhook (CX `WebhookResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct WebhookResponse {
    /// Messages to show the user.
    #[serde(default, alias = "fulfillment_response")]
    pub fulfillment_response: Option<FulfillmentResponse>,
    /// Parameter updates; a `null` value deletes the parameter.
    #[serde(default, alias = "session_info")]
    pub session_info: Option<SessionInfo>,
    /// Form state; a parameter marked `INVALID` is asked for again.
    #[serde(default, alias = "page_info")]
    pub page_info: Option<PageInfo>,
    /// Custom payload (kept, not interpreted).
    #[serde(default)]
    pub payload: Option<Value>,
    /// The page to go to next: `flow/page`, or a CX resource name ending in
    /// `…/flows/<flow>/pages/<page>`.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "target_page")]
    pub target_page: Option<String>,
}

/// `pageInfo` of a response: only the form's parameter states are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    /// The form.
    #[serde(default, alias = "form_info")]
    pub form_info: Option<FormInfo>,
}

/// `formInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FormInfo {
    /// One entry per parameter the webhook comments on.
    #[serde(default, alias = "parameter_info")]
    pub parameter_info: Vec<ParameterInfo>,
}

/// `parameterInfo[]`: a parameter and its state (`EMPTY`, `INVALID`, `FILLED`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ParameterInfo {
    /// The parameter's name.
    #[serde(default, alias = "display_name")]
    pub display_name: String,
    /// Its state.
    #[serde(default)]
    pub state: String,
}

/// `fulfillmentResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentResponse {
    /// Messages in order.
    #[serde(default)]
    pub messages: Vec<ResponseMessage>,
    /// Whether these messages follow or replace the ones the agent already queued.
    #[serde(default, alias = "merge_behavior")]
    pub merge_behavior: MergeBehavior,
}

/// How webhook messages combine with the agent's own messages of the turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MergeBehavior {
    /// Unset: treated as `APPEND`.
    #[default]
    MergeBehaviorUnspecified,
    /// Webhook messages follow the agent's.
    Append,
    /// Webhook messages replace the agent's.
    Replace,
}

/// Why JSON that may carry customer data did not read: what kind of fault, and where, without
/// the values. serde_json's own message quotes them (`invalid type: string "4111 1111 …",
/// expected a sequence`), and a webhook's reply, a stored conversation or a channel's delivery
/// holds the customer's words: such an error must not carry them into a log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{fault} at line {line}, column {column}")]
pub struct JsonError {
    /// What is wrong, in words that come from serde_json or the schema, never from the input:
    /// a syntax error (`expected value`), a missing field (`missing field `session``), or
    /// `a value of the wrong type or form`.
    pub fault: String,
    /// 1-based line of the fault (0 when unknown).
    pub line: usize,
    /// 1-based column of the fault (0 when unknown).
    pub column: usize,
}

impl From<serde_json::Error> for JsonError {
    fn from(e: serde_json::Error) -> Self {
        use serde_json::error::Category;
        let message = e.to_string();
        // serde_json appends " at line L column C" to a message of its own.
        let own = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m);
        let fault = match e.classify() {
            // Syntax and end-of-input messages are serde_json's fixed texts.
            Category::Syntax | Category::Eof => own.to_owned(),
            // A missing field is named by the schema; every other data error may quote a value.
            Category::Data if own.starts_with("missing field `") => own.to_owned(),
            Category::Data => "a value of the wrong type or form".to_owned(),
            Category::Io => "unreadable input".to_owned(),
        };
        Self { fault, line: e.line(), column: e.column() }
    }
}

impl WebhookResponse {
    /// Reads a webhook's reply; the error gives the position of the fault and never quotes the
    /// reply, which holds the customer's data.
    pub fn from_json(body: &[u8]) -> Result<Self, JsonError> {
        Ok(serde_json::from_slice(body)?)
    }

    /// Names of the parameters the webhook marked `INVALID`.
    pub fn invalid_parameters(&self) -> Vec<&str> {
        self.page_info
            .iter()
            .flat_map(|p| &p.form_info)
            .flat_map(|f| &f.parameter_info)
            .filter(|p| p.state == "INVALID")
            .map(|p| p.display_name.as_str())
            .collect()
    }

    /// Whether a message asks for a human agent.
    pub fn wants_live_agent(&self) -> bool {
        self.fulfillment_response.iter().flat_map(|f| &f.messages).any(|m| m.live_agent_handoff.is_some())
    }

    /// `(flow, page)` of `targetPage`, in either accepted spelling.
    pub fn target(&self) -> Option<(&str, &str)> {
        let target = self.target_page.as_deref()?;
        let parts: Vec<&str> = target.split('/').collect();
        match parts.as_slice() {
            [flow, page] => Some((flow, page)),
            [.., "flows", flow, "pages", page] => Some((flow, page)),
            _ => None,
        }
    }

    /// The text lines to show, in order (the first variant of each text message).
    pub fn texts(&self) -> Vec<String> {
        self.fulfillment_response
            .iter()
            .flat_map(|f| &f.messages)
            .filter_map(|m| m.text.as_ref()?.text.first().cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_snake_case_like_an_express_webhook_sends() {
        let body =
            r#"{ "fulfillment_response": { "messages": [ { "text": { "text": ["Your order 1 is here."] } } ] } }"#;
        let r: WebhookResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.texts(), vec!["Your order 1 is here."]);
    }

    #[test]
    fn reads_camel_case_with_parameter_deletion_and_merge() {
        let body = r#"{ "fulfillmentResponse": { "messages": [ { "text": { "text": ["a", "b"] } }, { "payload": {"x": 1} } ],
                        "mergeBehavior": "REPLACE" },
                       "sessionInfo": { "parameters": { "order-number": null, "vip": true } },
                       "unknownField": 1 }"#;
        let r: WebhookResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.texts(), vec!["a"]);
        let f = r.fulfillment_response.unwrap();
        assert_eq!(f.merge_behavior, MergeBehavior::Replace);
        let params = r.session_info.unwrap().parameters;
        assert_eq!(params["order-number"], Value::Null);
        assert_eq!(params["vip"], Value::Bool(true));
    }

    #[test]
    fn reading_errors_give_the_position_never_the_values() {
        for (body, fault) in [
            // A string where messages are a list: serde_json's message quotes the string.
            (
                r#"{"fulfillmentResponse": {"messages": "card 4111 1111 1111 1111"}}"#,
                "a value of the wrong type or form",
            ),
            (
                r#"{"fulfillmentResponse": {"messages": [{"text": {"text": [4111111111111111]}}]}}"#,
                "a value of the wrong type or form",
            ),
            (r#"{"fulfillmentResponse": {"mergeBehavior": "ann@example.com"}}"#, "a value of the wrong type or form"),
            (r#"{"targetPage": "ann@example.com""#, "EOF while parsing an object"),
            (r#"{"sessionInfo": {"parameters": {"name": Ann}}}"#, "expected value"),
        ] {
            let quoted = serde_json::from_str::<WebhookResponse>(body).unwrap_err().to_string();
            let err = WebhookResponse::from_json(body.as_bytes()).unwrap_err();
            let shown = err.to_string();
            assert_eq!(err.fault, fault, "{body}");
            assert_eq!(err.line, 1);
            assert!(err.column > 0);
            for secret in ["4111", "ann@example.com", "Ann"] {
                assert!(!shown.contains(secret), "{shown}");
            }
            assert!(shown.ends_with(&format!("at line 1, column {}", err.column)), "{shown} (serde_json: {quoted})");
        }
        // What serde_json itself would have said.
        let quoted = serde_json::from_str::<WebhookResponse>(r#"{"fulfillmentResponse": {"messages": "card 4111"}}"#);
        assert!(quoted.unwrap_err().to_string().contains("card 4111"));
        let missing: JsonError = serde_json::from_str::<IntentInfo>("{}").unwrap_err().into();
        assert_eq!(missing.to_string(), "missing field `lastMatchedIntent` at line 1, column 2");
        assert!(WebhookResponse::from_json(br#"{"targetPage": "a/b"}"#).is_ok());
    }

    #[test]
    fn writes_camel_case() {
        let mut req = WebhookRequest::default();
        req.session_info.parameters.insert("order-number".into(), 123456.into());
        let json = serde_json::to_value(&req).unwrap();
        assert_eq!(json["sessionInfo"]["parameters"]["order-number"], 123456);
        assert!(json.get("fulfillmentInfo").is_some());
    }
}
