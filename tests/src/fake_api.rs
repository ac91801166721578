//! A channel's HTTP API on loopback (Graph, Twilio, Telegram): a real HTTP server that
//! accepts every request with 200 and records what it was sent, so tests can check what the
//! relays sent out.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// One request the fake API received.
#[derive(Debug, Clone)]
pub struct Received {
    /// `POST`, …
    pub method: String,
    /// Path and query.
    pub target: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body as text.
    pub body: String,
}

impl Received {
    /// The body parsed as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The body's form fields (Twilio's API takes forms).
    pub fn form(&self) -> Vec<(String, String)> {
        url_decode_form(&self.body)
    }
}

fn url_decode_form(text: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(text.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// A running fake API; stops when dropped.
pub struct FakeApi {
    /// `http://127.0.0.1:<port>` (no trailing slash): the base URL to configure.
    pub base: String,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeApi {
    /// Serves on a free loopback port, answering `{"ok":true}` to everything.
    pub async fn start() -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let log = log.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let log = log.clone();
                        async move {
                            let header = |name: &str| {
                                request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
                            };
                            let (authorization, content_type) = (header("authorization"), header("content-type"));
                            let method = request.method().to_string();
                            let target = request.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
                            let bytes = request.into_body().collect().await?.to_bytes();
                            let body = String::from_utf8_lossy(&bytes).into_owned();
                            log.lock().expect("log lock").push(Received {
                                method,
                                target,
                                authorization,
                                content_type,
                                body,
                            });
                            let response = hyper::Response::builder()
                                .status(200)
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from_static(br#"{"ok":true,"result":true}"#)))
                                .expect("a response");
                            Ok::<_, hyper::Error>(response)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeApi { base, received, task }
    }

    /// Everything received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("log lock").clone()
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Posts a WhatsApp Cloud API delivery of one text message from `phone` (profile `name`) to the
/// worker at `webhook`, signed with `app_secret` as Meta signs deliveries; returns the status.
pub async fn whatsapp_text(webhook: &str, app_secret: &str, phone: &str, name: &str, id: &str, text: &str) -> u16 {
    let body = serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp",
                  "metadata": {"display_phone_number": "15550009999", "phone_number_id": "PNID"},
                  "contacts": [{"profile": {"name": name}, "wa_id": phone}],
                  "messages": [{"from": phone, "id": id, "timestamp": "1", "type": "text", "text": {"body": text}}]}}]}]})
    .to_string();
    let signature = format!("sha256={}", switchboard_edge::identity::user_hash(app_secret.as_bytes(), &body));
    let headers = [("content-type", "application/json"), ("x-hub-signature-256", signature.as_str())];
    crate::http::raw("POST", webhook, &headers, &body).await.expect("the worker answers").0
}
