//! The widget's client for the edge's HTTP API v1; wire types come from the dialog crate.

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use switchboard_dialog::protocol::{
    ConversationCreated, CreateConversation, ErrorBody, Feedback, Identify, Messages, SendMessage,
};

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
}

impl Client {
    /// A client for `endpoint` (an origin, with or without a trailing slash).
    pub fn new(endpoint: String) -> Self {
        Self { endpoint: endpoint.trim_end_matches('/').to_owned() }
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
        let body = CreateConversation { channel: "web".into(), visitor_id, identity };
        let request = Request::post(&format!("{}/v1/conversations", self.endpoint)).json(&body);
        read(request.map_err(network)?.send().await).await
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
        read(self.post(conversation, token, "messages", &body)?.send().await).await
    }

    /// Verifies the visitor as a signed-in user; returns the conversation to continue.
    pub async fn identify(
        &self,
        conversation: &str,
        token: &str,
        identity: &Identify,
    ) -> Result<ConversationCreated, ApiError> {
        read(self.post(conversation, token, "identify", identity)?.send().await).await
    }

    /// Records "Was this helpful?" for a message (or the conversation).
    pub async fn feedback(&self, conversation: &str, token: &str, feedback: &Feedback) -> Result<(), ApiError> {
        let response = self.post(conversation, token, "feedback", feedback)?.send().await.map_err(network)?;
        if response.ok() {
            Ok(())
        } else {
            Err(ApiError::Rejected { status: response.status(), code: "feedback".into() })
        }
    }

    fn post(
        &self,
        conversation: &str,
        token: &str,
        action: &str,
        body: &impl serde::Serialize,
    ) -> Result<gloo_net::http::Request, ApiError> {
        let url = format!("{}/v1/conversations/{conversation}/{action}", self.endpoint);
        Request::post(&url).header("Authorization", &format!("Bearer {token}")).json(body).map_err(network)
    }
}

fn network(e: gloo_net::Error) -> ApiError {
    ApiError::Network(e.to_string())
}

async fn read<T: DeserializeOwned>(response: Result<Response, gloo_net::Error>) -> Result<T, ApiError> {
    let response = response.map_err(network)?;
    if response.ok() {
        return response.json().await.map_err(network);
    }
    let status = response.status();
    let code = response.json::<ErrorBody>().await.map(|b| b.error.code).unwrap_or_else(|_| "unknown".into());
    Err(ApiError::Rejected { status, code })
}
