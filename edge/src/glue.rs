//! The worker glue: turns `fetch` events into [`crate::api`] calls and implements the ports
//! with KV, `fetch` and the JS clock. Deliberately thin; everything it calls is tested natively.

use crate::api::{self, ApiRequest, ApiResponse};
use crate::config::{Config, bindings};
use crate::ports::{Clock, ContextStore, HttpClient, HttpError, HttpResponse, StoreError};
use crate::{Edge, token};
use futures_util::future::{Either, select};
use std::sync::OnceLock;
use std::time::Duration;
use switchboard_dialog::agent::Agent;
use wasm_bindgen::JsCast;
use worker::{
    AbortController, Context, Delay, Env, Fetch, Headers, Method, Request, RequestInit, Response, Result, event,
    kv::KvStore,
};

/// The deployed agent, parsed and trained once per isolate.
fn agent() -> &'static Agent {
    static AGENT: OnceLock<Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        Agent::from_json(include_str!("../agents/retail-demo.json"))
            .expect("the demo agent is validated by native tests")
    })
}

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let body = match req.method() {
        Method::Get | Method::Head | Method::Options => Vec::new(),
        _ => req.bytes().await?,
    };
    let request = ApiRequest {
        method: req.method().to_string(),
        path: req.path(),
        authorization: req.headers().get("Authorization")?,
        body,
    };
    let secret = env.secret(bindings::TOKEN_SECRET).map(|s| s.to_string());
    let Ok(secret) = secret else {
        worker::console_error!("{}", r#"{"event":"error","detail":"TOKEN_SECRET is not set"}"#);
        return respond(ApiResponse {
            status: 500,
            body: r#"{"error":{"code":"internal","message":"server misconfigured"}}"#.into(),
            logs: Vec::new(),
        });
    };
    let fulfillment_url = env.var(bindings::FULFILLMENT_URL).ok().map(|v| v.to_string());
    let edge =
        Edge::new(agent(), Config::new(&secret, fulfillment_url), Kv(env.kv(bindings::CONTEXT)?), FetchClient, JsClock);
    respond(api::handle(&edge, request).await)
}

fn respond(response: ApiResponse) -> Result<Response> {
    for line in &response.logs {
        worker::console_log!("{line}");
    }
    let headers = Headers::new();
    if response.status != 204 {
        headers.set("Content-Type", "application/json; charset=utf-8")?;
    }
    // Any site may embed the widget; tokens travel as bearer headers, never cookies.
    headers.set("Access-Control-Allow-Origin", "*")?;
    headers.set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")?;
    headers.set("Access-Control-Allow-Headers", "Authorization, Content-Type")?;
    headers.set("Access-Control-Max-Age", "86400")?;
    headers.set("Cache-Control", "no-store")?;
    Ok(Response::from_bytes(response.body.into_bytes())?.with_status(response.status).with_headers(headers))
}

struct Kv(KvStore);

impl ContextStore for Kv {
    async fn get(&self, key: &str) -> std::result::Result<Option<String>, StoreError> {
        self.0.get(key).text().await.map_err(|e| StoreError(e.to_string()))
    }

    async fn put(&self, key: &str, value: &str, ttl_seconds: Option<u64>) -> std::result::Result<(), StoreError> {
        let mut put = self.0.put(key, value).map_err(|e| StoreError(e.to_string()))?;
        if let Some(ttl) = ttl_seconds {
            put = put.expiration_ttl(ttl);
        }
        put.execute().await.map_err(|e| StoreError(e.to_string()))
    }
}

struct FetchClient;

impl HttpClient for FetchClient {
    async fn post_json(
        &self,
        url: &str,
        body: String,
        timeout_ms: u32,
        max_body: usize,
    ) -> std::result::Result<HttpResponse, HttpError> {
        let transport = |e: worker::Error| HttpError::Transport(e.to_string());
        let headers = Headers::new();
        headers.set("Content-Type", "application/json").map_err(transport)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_headers(headers).with_body(Some(body.into()));
        let request = Request::new_with_init(url, &init).map_err(transport)?;
        let controller = AbortController::default();
        let signal = controller.signal();
        let exchange = async {
            let mut response = Fetch::Request(request).send_with_signal(&signal).await?;
            let status = response.status_code();
            let body = response.bytes().await?;
            Ok::<_, worker::Error>((status, body))
        };
        let timeout = Delay::from(Duration::from_millis(timeout_ms.into()));
        match select(Box::pin(exchange), timeout).await {
            Either::Left((Ok((_, body)), _)) if body.len() > max_body => Err(HttpError::TooLarge(max_body)),
            Either::Left((Ok((status, body)), _)) => Ok(HttpResponse { status, body }),
            Either::Left((Err(e), _)) => Err(transport(e)),
            Either::Right(_) => {
                controller.abort();
                Err(HttpError::Timeout(timeout_ms))
            }
        }
    }
}

struct JsClock;

impl Clock for JsClock {
    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }

    fn random_id(&self) -> String {
        let mut bytes = [0u8; 16];
        let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
        scope
            .crypto()
            .and_then(|c| c.get_random_values_with_u8_array(&mut bytes))
            .expect("crypto.getRandomValues is available in workers");
        token::hex(&bytes)
    }
}
