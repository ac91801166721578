//! Calling fulfillment webhooks: URL resolution, credentials, the CX wire format, declarative
//! lookups ([`crate::lookup`]), and failure handling.
//!
//! Any failure (a missing secret, timeout, transport error, a redirect, which is never
//! followed, non-2xx, a body over 64 KiB, which is not read past that, or a malformed reply)
//! becomes [`WebhookOutcome::Failed`], which the engine turns into the agent's apology
//! while the conversation stays intact; the reason goes to the log, never to the user.

use crate::config::{BUILTIN_DEMO_ORDERS, Config};
use crate::ports::{HttpClient, HttpError, HttpRequest, Redirect};
use crate::{demo, lookup};
use switchboard_dialog::agent::{Auth, Part, Template, Webhook};
use switchboard_dialog::dialog::WebhookOutcome;
use switchboard_dialog::webhook::{WebhookRequest, WebhookResponse};

/// CX's limit on a webhook response (lookups keep it too).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Why a webhook gave no usable reply. Logged; never shown to the user, and never carrying a
/// parameter's value or a secret.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Failure {
    /// The agent names a secret the worker does not have.
    #[error("secret '{0}' is not set on the worker")]
    MissingSecret(String),
    /// No response: timeout, oversize body, transport.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// A status the webhook has no use for.
    #[error("answered HTTP {0}")]
    Status(u16),
    /// The body is not what was expected.
    #[error("sent a malformed reply: {0}")]
    Malformed(String),
    /// A lookup's URL or body needs a parameter the session does not have.
    #[error("parameter '{0}' has no value for the request")]
    MissingParameter(String),
    /// A parameter's value would change the lookup URL's path (a `.` or `..` segment, also
    /// percent-encoded, or an empty one); the request is not sent.
    #[error("parameter '{0}' would change the path of the lookup's URL; not sent")]
    PathValue(String),
    /// A lookup's message names a field the response lacks (or holds `null`).
    #[error("the response has no field {0}")]
    MissingField(String),
}

/// Calls `webhook` with `request`; on failure also returns a log line saying why.
pub async fn call<H: HttpClient>(
    http: &H,
    config: &Config,
    name: &str,
    webhook: &Webhook,
    request: &WebhookRequest,
) -> (WebhookOutcome, Option<String>) {
    match respond(http, config, webhook, request).await {
        Ok(response) => (WebhookOutcome::Replied(response), None),
        Err(failure) => {
            let line = serde_json::json!({ "event": "webhook_failed", "webhook": name, "reason": failure.to_string() });
            (WebhookOutcome::Failed, Some(line.to_string()))
        }
    }
}

/// The webhook's reply to `request`, or why there is none.
pub async fn respond<H: HttpClient>(
    http: &H,
    config: &Config,
    webhook: &Webhook,
    request: &WebhookRequest,
) -> Result<WebhookResponse, Failure> {
    let url = match (&config.fulfillment_url, webhook.url.as_str()) {
        (Some(over), BUILTIN_DEMO_ORDERS) => over.as_str(),
        (_, url) => url,
    };
    if url == BUILTIN_DEMO_ORDERS {
        return Ok(demo::fulfill(request));
    }
    let mut headers = credentials(config, webhook)?;
    if let Some(definition) = &webhook.lookup {
        return lookup::run(http, definition, headers, webhook.timeout_ms, &request.session_info.parameters).await;
    }
    headers.push(("Content-Type".into(), "application/json".into()));
    let response = http
        .send(HttpRequest {
            method: "POST",
            url: url.to_owned(),
            headers,
            // Plain structs with string keys: serialising cannot fail.
            body: Some(serde_json::to_string(request).unwrap_or_default()),
            timeout_ms: webhook.timeout_ms,
            max_body: MAX_RESPONSE_BYTES,
            // A 3xx would take the credentials and the session to wherever it points.
            redirect: Redirect::Refuse,
        })
        .await?;
    if !(200..300).contains(&response.status) {
        return Err(Failure::Status(response.status));
    }
    serde_json::from_slice(&response.body)
        .map_err(|e| Failure::Malformed(format!("not a WebhookResponse: {}", crate::error::json_fault(e))))
}

/// The webhook's `Authorization` and custom headers, with its secrets filled in.
pub fn credentials(config: &Config, webhook: &Webhook) -> Result<Vec<(String, String)>, Failure> {
    let fill = |template: &Template| {
        template.render(|part| match part {
            Part::Secret(name) => config.secrets.get(name).cloned().ok_or_else(|| Failure::MissingSecret(name.clone())),
            // The engine allows only text and secrets in credentials.
            _ => Ok(String::new()),
        })
    };
    let mut headers = Vec::with_capacity(webhook.headers.len() + 1);
    match &webhook.auth {
        Some(Auth::Bearer(token)) => headers.push(("Authorization".into(), format!("Bearer {}", fill(token)?))),
        Some(Auth::Basic { username, password }) => {
            let pair = format!("{}:{}", fill(username)?, fill(password)?);
            headers.push(("Authorization".into(), format!("Basic {}", crate::keys::base64(pair.as_bytes()))));
        }
        None => {}
    }
    for (name, value) in &webhook.headers {
        headers.push((name.clone(), fill(value)?));
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{NoHttp, ScriptedHttp};
    use crate::ports::HttpResponse;
    use futures_executor::block_on;
    use switchboard_dialog::agent::Agent;

    const AGENT: &str = "name: shop
fallback: ['?']
webhook_error: ['Sorry.']
webhooks:
  cx:
    url: https://shop.example/cx
    timeout_ms: 2500
    auth: { bearer: '${ORDERS_TOKEN}' }
    headers: { X-Shop: 'demo ${SHOP_ID}' }
  basic:
    url: https://shop.example/cx
    auth: { basic: { username: switchboard, password: '${CRM_PASSWORD}' } }
  demo:
    url: 'builtin:demo-orders'
    auth: { bearer: '${NEVER_SET}' }
intents:
  - { name: Hi, training_phrases: [hello], responses: [Hello] }
";

    fn setup() -> (Agent, Config) {
        let agent = Agent::from_yaml(AGENT).unwrap();
        let mut config = Config::for_tests();
        for (name, value) in [("ORDERS_TOKEN", "t0k3n"), ("SHOP_ID", "42"), ("CRM_PASSWORD", "open sesame")] {
            config.set_secret(name, value).unwrap();
        }
        (agent, config)
    }

    fn ok(body: &str) -> Result<HttpResponse, HttpError> {
        Ok(HttpResponse { status: 200, body: body.as_bytes().to_vec() })
    }

    #[test]
    fn cx_webhooks_carry_auth_and_headers_with_secrets_filled_in() {
        let (agent, config) = setup();
        let http = ScriptedHttp::new([ok(r#"{"fulfillment_response":{"messages":[{"text":{"text":["Hi"]}}]}}"#)]);
        let request = WebhookRequest::default();
        let (outcome, log) = block_on(call(&http, &config, "cx", &agent.webhooks["cx"], &request));
        assert!(matches!(outcome, WebhookOutcome::Replied(r) if r.texts() == ["Hi"]), "{log:?}");
        let sent = &http.sent.borrow()[0];
        assert_eq!((sent.method, sent.url.as_str(), sent.timeout_ms), ("POST", "https://shop.example/cx", 2500));
        assert_eq!(
            sent.headers,
            [
                ("Authorization".to_owned(), "Bearer t0k3n".to_owned()),
                ("X-Shop".to_owned(), "demo 42".to_owned()),
                ("Content-Type".to_owned(), "application/json".to_owned()),
            ]
        );
        assert_eq!((sent.max_body, sent.redirect), (MAX_RESPONSE_BYTES, Redirect::Refuse));

        let http = ScriptedHttp::new([ok("{}")]);
        block_on(call(&http, &config, "basic", &agent.webhooks["basic"], &request));
        // base64("switchboard:open sesame")
        assert_eq!(http.sent.borrow()[0].headers[0].1, "Basic c3dpdGNoYm9hcmQ6b3BlbiBzZXNhbWU=");
    }

    #[test]
    fn a_missing_secret_is_a_logged_failure_and_nothing_is_sent() {
        let (agent, mut config) = setup();
        config.secrets.remove("ORDERS_TOKEN");
        let http = ScriptedHttp::new([ok("{}")]);
        let (outcome, log) = block_on(call(&http, &config, "cx", &agent.webhooks["cx"], &WebhookRequest::default()));
        assert_eq!(outcome, WebhookOutcome::Failed);
        assert!(http.sent.borrow().is_empty());
        let log = log.unwrap();
        assert!(log.contains(r#""reason":"secret 'ORDERS_TOKEN' is not set on the worker""#), "{log}");
        assert!(!log.contains("42"), "no secret values in logs: {log}");
        // The built-in demo orders need no credentials.
        let (outcome, _) =
            block_on(call(&NoHttp, &config, "demo", &agent.webhooks["demo"], &WebhookRequest::default()));
        assert!(matches!(outcome, WebhookOutcome::Replied(_)));
    }

    #[test]
    fn failures_of_every_kind_say_why() {
        let (agent, config) = setup();
        let answers = [
            Err(HttpError::Timeout(2500)),
            Ok(HttpResponse { status: 503, body: Vec::new() }),
            ok("{not json"),
            Ok(HttpResponse { status: 200, body: vec![b' '; MAX_RESPONSE_BYTES + 1] }),
            Ok(HttpResponse { status: 302, body: Vec::new() }),
        ];
        let http = ScriptedHttp::new(answers);
        let mut reasons = Vec::new();
        for _ in 0..5 {
            let (outcome, log) =
                block_on(call(&http, &config, "cx", &agent.webhooks["cx"], &WebhookRequest::default()));
            assert_eq!(outcome, WebhookOutcome::Failed);
            let log: serde_json::Value = serde_json::from_str(&log.unwrap()).unwrap();
            reasons.push(log["reason"].as_str().unwrap().to_owned());
        }
        assert_eq!(reasons[0], "timed out after 2500 ms");
        assert_eq!(reasons[1], "answered HTTP 503");
        assert!(reasons[2].starts_with("sent a malformed reply: not a WebhookResponse"), "{}", reasons[2]);
        assert_eq!(reasons[3], format!("response larger than {MAX_RESPONSE_BYTES} bytes"));
        assert_eq!(reasons[4], "answered a redirect (HTTP 302), not followed");
    }

    #[test]
    fn base64_pads_like_rfc_4648() {
        let cases: [(&[u8], &str); 6] = [
            (b"", ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (&[0xfb, 0xff], "+/8="),
        ];
        for (bytes, want) in cases {
            assert_eq!(crate::keys::base64(bytes), want, "{bytes:?}");
        }
    }
}
