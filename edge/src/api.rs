//! The HTTP API v1, platform-free: an [`ApiRequest`] in, an [`ApiResponse`] out.
//!
//! | method | path | body | reply |
//! |---|---|---|---|
//! | GET | `/v1/health` | | `{"status":"ok"}` |
//! | POST | `/v1/conversations` | `CreateConversation` | 201 new / 200 resumed `ConversationCreated` |
//! | POST | `/v1/conversations/{id}/messages` | `SendMessage` | `Messages` (the bot's replies) |
//! | GET | `/v1/conversations/{id}/messages` | | `Messages` (the history) |
//! | POST | `/demo/fulfillment` | CX `WebhookRequest` | CX `WebhookResponse` |

use crate::conversation::Edge;
use crate::demo;
use crate::error::ApiError;
use crate::ports::{Clock, ContextStore, HttpClient};
use serde::de::DeserializeOwned;
use switchboard_dialog::protocol::{CreateConversation, Messages, SendMessage};
use switchboard_dialog::webhook::WebhookRequest;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// An HTTP request, reduced to what the API reads.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRequest {
    /// Upper-case method.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// Raw body.
    pub body: Vec<u8>,
}

impl ApiRequest {
    /// A POST with a JSON body.
    pub fn post(path: &str, body: &str) -> Self {
        Self { method: "POST".into(), path: path.into(), authorization: None, body: body.as_bytes().to_vec() }
    }

    /// A GET.
    pub fn get(path: &str) -> Self {
        Self { method: "GET".into(), path: path.into(), authorization: None, body: Vec::new() }
    }

    /// The same request with `Authorization: Bearer <token>`.
    pub fn bearer(mut self, token: &str) -> Self {
        self.authorization = Some(format!("Bearer {token}"));
        self
    }
}

/// An HTTP response: status and JSON body, plus log lines for the host to emit.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    /// Status code.
    pub status: u16,
    /// JSON text (empty for 204).
    pub body: String,
    /// Structured log lines (JSON, no personal data).
    pub logs: Vec<String>,
}

impl ApiResponse {
    fn json(status: u16, value: &impl serde::Serialize) -> Self {
        Self { status, body: serde_json::to_string(value).expect("API types serialise"), logs: Vec::new() }
    }

    fn error(error: &ApiError) -> Self {
        let mut response = Self::json(error.status(), &error.body());
        if error.status() >= 500 {
            response.logs.push(serde_json::json!({ "event": "error", "detail": error.to_string() }).to_string());
        }
        response
    }
}

/// Routes a request.
pub async fn handle<S: ContextStore, H: HttpClient, C: Clock>(
    edge: &Edge<'_, S, H, C>,
    request: ApiRequest,
) -> ApiResponse {
    if request.method == "OPTIONS" {
        return ApiResponse { status: 204, body: String::new(), logs: Vec::new() };
    }
    match route(edge, &request).await {
        Ok(response) => response,
        Err(error) => ApiResponse::error(&error),
    }
}

async fn route<S: ContextStore, H: HttpClient, C: Clock>(
    edge: &Edge<'_, S, H, C>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    if request.body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
    }
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    let method = request.method.as_str();
    match (method, segments.as_slice()) {
        ("GET", ["v1", "health"]) => Ok(ApiResponse::json(200, &serde_json::json!({ "status": "ok" }))),
        ("POST", ["v1", "conversations"]) => {
            let create: CreateConversation = parse(&request.body)?;
            if create.channel != "web" {
                return Err(ApiError::BadRequest(format!("unsupported channel '{}'; expected 'web'", create.channel)));
            }
            let (created, new) = edge.open(create.visitor_id.as_deref()).await?;
            Ok(ApiResponse::json(if new { 201 } else { 200 }, &created))
        }
        ("POST", ["v1", "conversations", id, "messages"]) => {
            let (conversation, user) = edge.authorise(id, request.authorization.as_deref())?;
            let send: SendMessage = parse(&request.body)?;
            let exchange = edge.send(&conversation, &user, &send.text).await?;
            let mut response = ApiResponse::json(200, &Messages { messages: exchange.messages });
            response.logs = exchange.logs;
            Ok(response)
        }
        ("GET", ["v1", "conversations", id, "messages"]) => {
            let (conversation, user) = edge.authorise(id, request.authorization.as_deref())?;
            Ok(ApiResponse::json(200, &Messages { messages: edge.history(&conversation, &user).await? }))
        }
        ("POST", ["demo", "fulfillment"]) => {
            let webhook: WebhookRequest = parse(&request.body)?;
            Ok(ApiResponse::json(200, &demo::fulfill(&webhook)))
        }
        (
            _,
            ["v1", "health"]
            | ["v1", "conversations"]
            | ["v1", "conversations", _, "messages"]
            | ["demo", "fulfillment"],
        ) => Err(ApiError::MethodNotAllowed),
        _ => Err(ApiError::NotFound(format!("no route for {method} {}", request.path))),
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadJson(e.to_string()))
}
