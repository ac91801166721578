//! A fulfillment backend on loopback: a real HTTP server that answers CX webhook requests the
//! way a shop's Express server would, and records what it was sent.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// What the server answers for a request: status and raw body. Status [`HANG`] answers the
/// body with 200 only after [`HANG_FOR`], longer than any webhook timeout.
pub type Handler = dyn Fn(&Value) -> (u16, String) + Send + Sync;

/// The status a handler returns to answer too late.
pub const HANG: u16 = 0;
/// How late.
pub const HANG_FOR: std::time::Duration = std::time::Duration::from_secs(8);

/// A running webhook server; stops when dropped.
pub struct WebhookServer {
    /// `http://127.0.0.1:<port>/webhook`.
    pub url: String,
    /// Parsed bodies of the requests received.
    pub received: Arc<Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl WebhookServer {
    /// Serves `handler` on a free loopback port.
    pub async fn start(handler: Arc<Handler>) -> WebhookServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let url = format!("http://{}/webhook", listener.local_addr().expect("address"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (handler, log) = (handler.clone(), log.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let (handler, log) = (handler.clone(), log.clone());
                        async move {
                            let bytes = request.into_body().collect().await?.to_bytes();
                            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                            let (mut status, reply) = handler(&body);
                            log.lock().expect("log lock").push(body);
                            if status == HANG {
                                tokio::time::sleep(HANG_FOR).await;
                                status = 200;
                            }
                            let response = hyper::Response::builder()
                                .status(status)
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(reply)))
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
        WebhookServer { url, received, task }
    }
}

impl Drop for WebhookServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
