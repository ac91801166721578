//! The API's errors and their one mapping to HTTP status codes and stable error codes.

use crate::identity::IdentityError;
use crate::ports::StoreError;
use switchboard_dialog::protocol::{ErrorBody, ErrorDetail};

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not the JSON the endpoint takes.
    #[error("invalid JSON body: {0}")]
    BadJson(String),
    /// The JSON is well formed but a value is not acceptable.
    #[error("{0}")]
    BadRequest(String),
    /// Missing, malformed or wrongly signed token.
    #[error("{0}")]
    Unauthorized(String),
    /// No such route or conversation.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the resource's state (another agent has the conversation).
    #[error("{0}")]
    Conflict(String),
    /// The route exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The body exceeds the limit.
    #[error("request body larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// A verified identity did not verify.
    #[error("{0}")]
    Identity(#[from] IdentityError),
    /// The browser page's origin is not on the allow-list.
    #[error("origin '{0}' is not allowed to call this API")]
    OriginNotAllowed(String),
    /// Too many requests; retry after this many seconds.
    #[error("too many requests; retry in {0} s")]
    RateLimited(u64),
    /// An uploaded agent file does not parse or validate: the engine's line and column, or
    /// field path, and what is wrong.
    #[error("{0}")]
    InvalidAgent(String),
    /// The context store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stored data could not be read back.
    #[error("corrupt stored record: {0}")]
    Corrupt(String),
}

impl ApiError {
    /// HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadJson(_) | Self::BadRequest(_) | Self::InvalidAgent(_) => 400,
            Self::Unauthorized(_) => 401,
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed => 405,
            Self::Conflict(_) => 409,
            Self::PayloadTooLarge(_) => 413,
            Self::Identity(IdentityError::NotConfigured) => 501,
            Self::Identity(_) => 401,
            Self::OriginNotAllowed(_) => 403,
            Self::RateLimited(_) => 429,
            Self::Store(_) | Self::Corrupt(_) => 500,
        }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadJson(_) => "bad_json",
            Self::BadRequest(_) => "bad_request",
            Self::InvalidAgent(_) => "invalid_agent",
            Self::Unauthorized(_) => "unauthorized",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::Identity(IdentityError::NotConfigured) => "identity_not_configured",
            Self::Identity(_) => "identity_rejected",
            Self::OriginNotAllowed(_) => "origin_not_allowed",
            Self::RateLimited(_) => "rate_limited",
            Self::Store(_) | Self::Corrupt(_) => "internal",
        }
    }

    /// The JSON body; internal failures hide their details (they go to the log instead).
    pub fn body(&self) -> ErrorBody {
        let message = match self {
            Self::Store(_) | Self::Corrupt(_) => "internal error; please retry".to_owned(),
            other => other.to_string(),
        };
        ErrorBody { error: ErrorDetail { code: self.code().to_owned(), message } }
    }
}

/// A serde_json error as text that never quotes the input (a webhook's reply, a channel's
/// delivery, a stored context may carry the customer's words): the fault and its position.
pub fn json_fault(e: serde_json::Error) -> String {
    let fault = switchboard_dialog::webhook::JsonError::from(e);
    format!("{} at line {} column {}", fault.fault, fault.line, fault.column)
}
