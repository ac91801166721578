//! Calling fulfillment webhooks: URL resolution, the CX wire format, and failure handling.
//!
//! Any failure (timeout, transport error, non-2xx, oversize or malformed reply) becomes
//! [`WebhookOutcome::Failed`], which the engine turns into the agent's apology while the
//! conversation stays intact; the reason goes to the log, never to the user.

use crate::config::{BUILTIN_DEMO_ORDERS, Config};
use crate::demo;
use crate::ports::HttpClient;
use switchboard_dialog::agent::Webhook;
use switchboard_dialog::dialog::WebhookOutcome;
use switchboard_dialog::webhook::{WebhookRequest, WebhookResponse};

/// CX's limit on a webhook response.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Calls `webhook` with `request`; on failure also returns a log line saying why.
pub async fn call<H: HttpClient>(
    http: &H,
    config: &Config,
    name: &str,
    webhook: &Webhook,
    request: &WebhookRequest,
) -> (WebhookOutcome, Option<String>) {
    let url = match (&config.fulfillment_url, webhook.url.as_str()) {
        (Some(over), BUILTIN_DEMO_ORDERS) => over.as_str(),
        (_, url) => url,
    };
    if url == BUILTIN_DEMO_ORDERS {
        return (WebhookOutcome::Replied(demo::fulfill(request)), None);
    }
    let body = serde_json::to_string(request).expect("webhook requests serialise");
    let failure = match http.post_json(url, body, webhook.timeout_ms, MAX_RESPONSE_BYTES).await {
        Ok(r) if !(200..300).contains(&r.status) => format!("answered HTTP {}", r.status),
        Ok(r) => match serde_json::from_slice::<WebhookResponse>(&r.body) {
            Ok(parsed) => return (WebhookOutcome::Replied(parsed), None),
            Err(e) => format!("sent a malformed WebhookResponse: {e}"),
        },
        Err(e) => e.to_string(),
    };
    let line = serde_json::json!({ "event": "webhook_failed", "webhook": name, "reason": failure }).to_string();
    (WebhookOutcome::Failed, Some(line))
}
