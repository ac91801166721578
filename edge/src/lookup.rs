//! Declarative HTTP fulfillment (`kind: http`): a request built from the session parameters,
//! its JSON answer turned into a CX [`WebhookResponse`] for [`dialog::resume`], so the engine
//! cannot tell a lookup from a webhook.
//!
//! `$name` in the URL is the parameter's value, percent-encoded as one path segment or query
//! component; a value that would change the path's shape (`.`, `..`, `%2e%2e`, …) is refused
//! before anything is sent (`lookup/url.rs`). In the body a string that is
//! exactly `"$name"` becomes the parameter's JSON value. A reply's `${/json/pointer}` is a field
//! of the response; its `set` copies fields into session parameters (a field the response
//! lacks deletes the parameter). A message naming a field the response lacks, a parameter the
//! request needs and the session lacks, or a body that is not JSON are failures, handled like
//! any webhook failure.
//!
//! [`dialog::resume`]: switchboard_dialog::dialog::resume

use crate::fulfillment::{Failure, MAX_RESPONSE_BYTES};
use crate::ports::{HttpClient, HttpRequest, HttpResponse, Redirect};
use serde_json::{Map, Value};
use switchboard_dialog::agent::{HttpMethod, JsonTemplate, Lookup, LookupReply, Part, Template};
use switchboard_dialog::webhook::{FulfillmentResponse, ResponseMessage, SessionInfo, TextMessage, WebhookResponse};

mod url;

/// Sends the lookup with `headers` (credentials already filled in) and maps its answer.
pub async fn run<H: HttpClient>(
    http: &H,
    lookup: &Lookup,
    headers: Vec<(String, String)>,
    timeout_ms: u32,
    parameters: &Map<String, Value>,
) -> Result<WebhookResponse, Failure> {
    let request = request(lookup, headers, timeout_ms, parameters)?;
    let response = http.send(request).await?;
    answer(lookup, parameters, &response)
}

/// The HTTP request for `lookup` with these session parameters.
pub fn request(
    lookup: &Lookup,
    mut headers: Vec<(String, String)>,
    timeout_ms: u32,
    parameters: &Map<String, Value>,
) -> Result<HttpRequest, Failure> {
    let url = url::fill(&lookup.url, parameters)?;
    headers.push(("Accept".into(), "application/json".into()));
    let body = match (&lookup.body, lookup.method) {
        (Some(body), HttpMethod::Post) => {
            headers.push(("Content-Type".into(), "application/json".into()));
            Some(body_value(body, parameters)?.to_string())
        }
        _ => None,
    };
    Ok(HttpRequest {
        method: lookup.method.as_str(),
        url,
        headers,
        body,
        timeout_ms,
        max_body: MAX_RESPONSE_BYTES,
        // The credentials are for the host the agent names, not for wherever it points.
        redirect: Redirect::Refuse,
    })
}

/// What the agent says and sets for `response`: the `on_status` entry for its status, else
/// the reply for a 2xx, else a failure.
pub fn answer(
    lookup: &Lookup,
    parameters: &Map<String, Value>,
    response: &HttpResponse,
) -> Result<WebhookResponse, Failure> {
    let reply = match lookup.on_status.get(&response.status) {
        Some(reply) => reply,
        None if (200..300).contains(&response.status) => &lookup.reply,
        None => return Err(Failure::Status(response.status)),
    };
    let needs_json = !reply.set.is_empty() || reply.messages.iter().flat_map(Template::parts).any(is_field);
    let json = if needs_json {
        serde_json::from_slice::<Value>(&response.body)
            .map_err(|e| Failure::Malformed(format!("the lookup's answer is not JSON: {e}")))?
    } else {
        Value::Null
    };
    map_reply(reply, parameters, &json)
}

fn map_reply(reply: &LookupReply, parameters: &Map<String, Value>, json: &Value) -> Result<WebhookResponse, Failure> {
    let set: Map<String, Value> = reply
        .set
        .iter()
        .map(|(name, pointer)| (name.clone(), json.pointer(pointer).cloned().unwrap_or(Value::Null)))
        .collect();
    // Messages see the parameters as they will be after this reply.
    let mut after = parameters.clone();
    after.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut messages = Vec::with_capacity(reply.messages.len());
    for template in &reply.messages {
        let text = template.render(|part| match part {
            Part::Field(pointer) => match json.pointer(pointer) {
                None | Some(Value::Null) => Err(Failure::MissingField(pointer.clone())),
                Some(value) => Ok(text_of(value)),
            },
            // As in the agent's own responses: an unknown `$name` stays as written.
            Part::Parameter(name) => {
                Ok(after.get(name).filter(|v| !v.is_null()).map_or_else(|| format!("${name}"), text_of))
            }
            _ => Ok(String::new()),
        })?;
        messages.push(ResponseMessage { text: Some(TextMessage { text: vec![text] }), ..ResponseMessage::default() });
    }
    Ok(WebhookResponse {
        fulfillment_response: (!messages.is_empty())
            .then(|| FulfillmentResponse { messages, ..FulfillmentResponse::default() }),
        session_info: (!set.is_empty()).then(|| SessionInfo { session: String::new(), parameters: set }),
        ..WebhookResponse::default()
    })
}

fn is_field(part: &Part) -> bool {
    matches!(part, Part::Field(_))
}

fn parameter<'a>(parameters: &'a Map<String, Value>, name: &str) -> Result<&'a Value, Failure> {
    parameters.get(name).filter(|v| !v.is_null()).ok_or_else(|| Failure::MissingParameter(name.to_owned()))
}

/// A value as text: strings without quotes, lists of plain values joined with ", ", the rest
/// as JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(|v| !v.is_array() && !v.is_object()) => {
            items.iter().map(text_of).collect::<Vec<_>>().join(", ")
        }
        other => other.to_string(),
    }
}

fn body_value(template: &JsonTemplate, parameters: &Map<String, Value>) -> Result<Value, Failure> {
    Ok(match template {
        JsonTemplate::Value(value) => value.clone(),
        JsonTemplate::Text(text) => match text.parts() {
            [Part::Parameter(name)] => parameter(parameters, name)?.clone(),
            _ => Value::String(text.render::<Failure>(|part| match part {
                Part::Parameter(name) => Ok(text_of(parameter(parameters, name)?)),
                _ => Ok(String::new()),
            })?),
        },
        JsonTemplate::Array(items) => {
            Value::Array(items.iter().map(|i| body_value(i, parameters)).collect::<Result<_, _>>()?)
        }
        JsonTemplate::Object(fields) => {
            let mut map = Map::new();
            for (key, value) in fields {
                map.insert(key.clone(), body_value(value, parameters)?);
            }
            Value::Object(map)
        }
    })
}

#[cfg(test)]
mod tests;
