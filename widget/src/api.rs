//! The widget's client for the edge's HTTP API v1; wire types come from the dialog crate.
//!
//! Requests go through the browser's `fetch` (web-sys) and bodies through [`crate::json`], not
//! an HTTP crate and `serde_json`: the widget's download size is a product budget, and the
//! browser already parses JSON.

use crate::json;
use serde::Serialize;
use serde::de::DeserializeOwned;
use switchboard_dialog::protocol::{
    ConversationCreated, CreateConversation, ErrorBody, Feedback, Identify, Messages, SendMessage,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestInit, Response};

/// Why a call failed, in words for the panel.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// No response: offline, DNS, CORS.
    Network(String),
    /// The API answered with an error body.
    Rejected {
        /// HTTP status.
        status: u16,
        /// The stable error code.
        code: String,
    },
}

/// Calls the API at one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    endpoint: String,
    /// The agent the page expects (`data-agent`), checked by the edge.
    agent: Option<String>,
}

impl Client {
    /// A client for `endpoint` (an origin, with or without a trailing slash).
    pub fn new(endpoint: String) -> Self {
        Self { endpoint: endpoint.trim_end_matches('/').to_owned(), agent: None }
    }

    /// The same client, opening conversations with the agent named `agent` (none when empty).
    pub fn with_agent(self, agent: String) -> Self {
        Self { agent: Some(agent).filter(|a| !a.trim().is_empty()), ..self }
    }

    /// The endpoint, for storage keys.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Opens (or resumes) the visitor's conversation, verifying `identity` at once when given.
    pub async fn open(
        &self,
        visitor_id: Option<String>,
        identity: Option<Identify>,
    ) -> Result<ConversationCreated, ApiError> {
        let body = CreateConversation { channel: "web".into(), visitor_id, agent: self.agent.clone(), identity };
        let url = [&self.endpoint, "/v1/conversations"].concat();
        read(fetch(&url, None, Some(encode(&body)?)).await?).await
    }

    /// Sends the user's text (and a quick reply's payload); returns the agent's replies.
    pub async fn send(
        &self,
        conversation: &str,
        token: &str,
        text: &str,
        payload: Option<String>,
    ) -> Result<Messages, ApiError> {
        let body = SendMessage { text: text.to_owned(), payload };
        read(self.post(conversation, token, "messages", &body).await?).await
    }

    /// Verifies the visitor as a signed-in user; returns the conversation to continue.
    pub async fn identify(
        &self,
        conversation: &str,
        token: &str,
        identity: &Identify,
    ) -> Result<ConversationCreated, ApiError> {
        read(self.post(conversation, token, "identify", identity).await?).await
    }

    /// The conversation's messages after `after` (a sequence number), and who has it now:
    /// polled while a human is awaited or active.
    pub async fn poll(&self, conversation: &str, token: &str, after: u64) -> Result<Messages, ApiError> {
        let url =
            [&self.endpoint, "/v1/conversations/", conversation, "/messages?after=m", &after.to_string()].concat();
        read(fetch(&url, Some(token), None).await?).await
    }

    /// Records "Was this helpful?" for a message (or the conversation).
    pub async fn feedback(&self, conversation: &str, token: &str, feedback: &Feedback) -> Result<(), ApiError> {
        let response = self.post(conversation, token, "feedback", feedback).await?;
        if response.ok() {
            Ok(())
        } else {
            Err(ApiError::Rejected { status: response.status(), code: "feedback".into() })
        }
    }

    /// POSTs `body` to `/v1/conversations/{conversation}/{action}` with the conversation's token.
    async fn post(
        &self,
        conversation: &str,
        token: &str,
        action: &str,
        body: &impl Serialize,
    ) -> Result<Response, ApiError> {
        let url = [&self.endpoint, "/v1/conversations/", conversation, "/", action].concat();
        fetch(&url, Some(token), Some(encode(body)?)).await
    }
}

fn encode(body: &impl Serialize) -> Result<JsValue, ApiError> {
    json::to_value(body).map_err(|_| ApiError::Network("unserialisable request".into()))
}

/// POSTs a JSON body, or GETs without one (with a bearer token, if any). Not generic, so it
/// exists once in the wasm.
async fn fetch(url: &str, token: Option<&str>, body: Option<JsValue>) -> Result<Response, ApiError> {
    let headers = Headers::new().map_err(network)?;
    if let Some(token) = token {
        headers.set("Authorization", &["Bearer ", token].concat()).map_err(network)?;
    }
    let init = RequestInit::new();
    if let Some(body) = body {
        headers.set("Content-Type", "application/json").map_err(network)?;
        init.set_method("POST");
        init.set_body(&js_sys::JSON::stringify(&body).map_err(network)?.into());
    }
    init.set_headers(&headers);
    let window = web_sys::window().ok_or_else(|| ApiError::Network("no window".into()))?;
    let response = JsFuture::from(window.fetch_with_str_and_init(url, &init)).await.map_err(network)?;
    Ok(response.unchecked_into())
}

/// The reply as `T` for a 2xx response, else the error code its body names.
async fn read<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    let body = body(response).await?;
    json::from_value(body).map_err(|_| ApiError::Network("unreadable response".into()))
}

/// The parsed JSON body of a 2xx response; for any other, [`ApiError::Rejected`].
async fn body(response: Response) -> Result<JsValue, ApiError> {
    // An error body may be missing or not JSON (a proxy's HTML page): then it has no code.
    let body = match response.json() {
        Ok(promise) => JsFuture::from(promise).await.ok(),
        Err(_) => None,
    };
    if response.ok() {
        return body.ok_or_else(|| ApiError::Network("unreadable response".into()));
    }
    let code = body.and_then(|b| json::from_value::<ErrorBody>(b).ok()).map(|b| b.error.code);
    Err(ApiError::Rejected { status: response.status(), code: code.unwrap_or_else(|| "unknown".into()) })
}

/// The message of a rejected `fetch` promise (a `TypeError` for network and CORS failures).
fn network(error: JsValue) -> ApiError {
    let message = error.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message()));
    ApiError::Network(message.unwrap_or_else(|| "network error".into()))
}
