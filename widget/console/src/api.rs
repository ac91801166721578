//! The console's client for the edge's HTTP API v1, on the page's own origin: the agent
//! endpoints (`/v1/agent/…`, agent token) and the admin ones (`/v1/analytics`,
//! `/v1/admin/agent`, admin token). Wire types come from the dialog crate's `protocol`.

use serde::Serialize;
use serde::de::DeserializeOwned;
use switchboard_dialog::protocol::{AgentConversation, AgentReply, DeskEntry, ErrorBody, Message, Queue};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestInit, Response};

/// Why a call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// No answer (offline, server down).
    Network,
    /// The token was refused (401): sign in again.
    Unauthorized,
    /// Any other error answer, with the API's message.
    Rejected {
        /// HTTP status.
        status: u16,
        /// The API's message for it.
        message: String,
    },
}

impl ApiError {
    /// What the console says about it.
    pub fn describe(&self) -> String {
        match self {
            ApiError::Network => "The service cannot be reached; retrying.".into(),
            ApiError::Unauthorized => "The token was refused.".into(),
            ApiError::Rejected { status, message } => format!("{message} ({status})"),
        }
    }
}

/// Calls the API with one bearer token.
#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    token: String,
}

impl Client {
    /// A client sending `token`.
    pub fn new(token: String) -> Self {
        Self { token }
    }

    /// `GET /v1/agent/queue`.
    pub async fn queue(&self) -> Result<Vec<DeskEntry>, ApiError> {
        Ok(self.call::<Queue>("GET", "/v1/agent/queue", None).await?.conversations)
    }

    /// `GET /v1/agent/conversations/{id}`, the messages after `after` (all when none).
    pub async fn conversation(&self, id: &str, after: Option<&str>) -> Result<AgentConversation, ApiError> {
        let query = after.map(|a| format!("?after={a}")).unwrap_or_default();
        self.call("GET", &format!("/v1/agent/conversations/{id}{query}"), None).await
    }

    /// `POST /v1/agent/conversations/{id}/claim`.
    pub async fn claim(&self, id: &str) -> Result<DeskEntry, ApiError> {
        self.call("POST", &format!("/v1/agent/conversations/{id}/claim"), None).await
    }

    /// `POST /v1/agent/conversations/{id}/messages`.
    pub async fn reply(&self, id: &str, text: &str) -> Result<Message, ApiError> {
        let body = encode(&AgentReply { text: text.to_owned() });
        self.call("POST", &format!("/v1/agent/conversations/{id}/messages"), Some(body)).await
    }

    /// `POST /v1/agent/conversations/{id}/resolve`, or `…/release` (back to the bot).
    pub async fn finish(&self, id: &str, resolve: bool) -> Result<(), ApiError> {
        let action = if resolve { "resolve" } else { "release" };
        self.send("POST", &format!("/v1/agent/conversations/{id}/{action}"), None).await.map(drop)
    }

    /// `GET /v1/analytics?from=&to=` as JSON (a [`switchboard_dialog::protocol::Report`]).
    pub async fn analytics<T: DeserializeOwned>(&self, from: &str, to: &str) -> Result<T, ApiError> {
        self.call("GET", &format!("/v1/analytics?from={from}&to={to}"), None).await
    }

    /// `GET /v1/admin/agent`: the uploaded agent file's text, `None` while the built-in agent answers.
    pub async fn agent_file(&self) -> Result<Option<String>, ApiError> {
        #[derive(serde::Deserialize)]
        struct Stored {
            text: String,
        }
        match self.call::<Stored>("GET", "/v1/admin/agent", None).await {
            Ok(stored) => Ok(Some(stored.text)),
            Err(ApiError::Rejected { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn call<T: DeserializeOwned>(&self, method: &str, path: &str, body: Option<String>) -> Result<T, ApiError> {
        let text = self.send(method, path, body).await?;
        serde_json::from_str(&text)
            .map_err(|e| ApiError::Rejected { status: 200, message: format!("unexpected answer from {path}: {e}") })
    }

    /// Sends the request; the body of a 2xx answer, or the error.
    async fn send(&self, method: &str, path: &str, body: Option<String>) -> Result<String, ApiError> {
        let network = |_: JsValue| ApiError::Network;
        let headers = Headers::new().map_err(network)?;
        headers.set("Authorization", &format!("Bearer {}", self.token)).map_err(network)?;
        let init = RequestInit::new();
        init.set_method(method);
        if let Some(body) = body {
            headers.set("Content-Type", "application/json").map_err(network)?;
            init.set_body(&JsValue::from_str(&body));
        }
        init.set_headers(&headers);
        let window = web_sys::window().ok_or(ApiError::Network)?;
        let response: Response =
            JsFuture::from(window.fetch_with_str_and_init(path, &init)).await.map_err(network)?.unchecked_into();
        let text = JsFuture::from(response.text().map_err(network)?).await.map_err(network)?;
        let text = text.as_string().unwrap_or_default();
        match response.status() {
            200..=299 => Ok(text),
            401 => Err(ApiError::Unauthorized),
            status => {
                let message = serde_json::from_str::<ErrorBody>(&text)
                    .map(|e| e.error.message)
                    .unwrap_or_else(|_| format!("{method} {path} failed"));
                Err(ApiError::Rejected { status, message })
            }
        }
    }
}

fn encode(body: &impl Serialize) -> String {
    serde_json::to_string(body).expect("wire types serialise")
}
