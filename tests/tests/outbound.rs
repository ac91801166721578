//! Hostile servers and hostile clients against the real worker in workerd: a webhook and a
//! lookup that answer 302 to a second loopback server (which must never see the secrets), a
//! webhook that streams a body without end (the agent apologises, the worker reads little
//! and stays up), and request bodies over the limit (413 before the body is read).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Frame;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::io::{Read, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use switchboard_e2e::http::{call, get, post, raw};
use switchboard_e2e::stack::{ADMIN_TOKEN, Stack};
use tokio::net::TcpListener;

const TOKEN: &str = "e2e-orders-token-never-elsewhere";
const SHOP_KEY: &str = "e2e-shop-key-never-elsewhere";
const APOLOGY: &str = "Sorry, I can't reach our order system right now.";

/// The most an endless body sends before it stops by itself, far past the 64 KiB a webhook
/// answer may have.
const ENDLESS_BOUND: usize = 512 * 1024 * 1024;
/// What reading up to the cap can leave written (the cap, then the socket buffers of loopback
/// and the runtime between the server and the worker); reading on would take far more.
const WRITTEN_AT_MOST: usize = 48 * 1024 * 1024;

fn agent(redirector: &str, endless: &str) -> String {
    format!(
        r#"name: Hostile servers
fallback: ["Sorry, I didn't get that."]
webhook_error: ["{APOLOGY}"]
webhooks:
  orders:
    url: {redirector}/cx
    timeout_ms: 20000
    auth: {{ bearer: '${{ORDERS_TOKEN}}' }}
    headers: {{ X-Shop-Key: '${{SHOP_KEY}}' }}
  parcels:
    kind: http
    url: {redirector}/parcels/$parcel-number
    timeout_ms: 20000
    auth: {{ bearer: '${{ORDERS_TOKEN}}' }}
    headers: {{ X-Shop-Key: '${{SHOP_KEY}}' }}
    reply: {{ messages: ['Parcel $parcel-number is ${{/status}}.'] }}
  stock:
    url: {endless}/cx
    timeout_ms: 20000
    auth: {{ bearer: '${{ORDERS_TOKEN}}' }}
intents:
  - name: CheckOrderStatus
    training_phrases: [Where is my order, Track order 123456, Order status, where is order 42]
    parameters:
      - {{ name: order-number, entity: '@sys.number', mandatory: true, prompts: [Can you provide your order number?] }}
    fulfillment: {{ webhook: orders, tag: order-status }}
  - name: TrackParcel
    training_phrases: [Track parcel 77, Where is parcel 77, Parcel status, My parcel]
    parameters:
      - {{ name: parcel-number, entity: '@sys.number', mandatory: true, prompts: [Which parcel number?] }}
    fulfillment: {{ webhook: parcels, tag: parcel }}
  - name: CheckStock
    training_phrases: [Is the lamp in stock, Do you have lamps in stock, Stock check, Is it available]
    fulfillment: {{ webhook: stock, tag: stock }}
"#
    )
}

/// One request as a server saw it: method, path and headers (lower-case names).
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: Vec<(String, String)>,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// Serves `answer` on a free loopback port; returns its origin, what it saw, and the task.
async fn serve<F>(answer: F) -> (String, Log, tokio::task::JoinHandle<()>)
where
    F: Fn(&hyper::Request<hyper::body::Incoming>) -> hyper::Response<Body> + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let origin = format!("http://{}", listener.local_addr().expect("address"));
    let seen: Log = Arc::default();
    let (log, answer) = (seen.clone(), Arc::new(answer));
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (log, answer) = (log.clone(), answer.clone());
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let headers = request
                        .headers()
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                        .collect();
                    log.lock().expect("log").push(Seen { path: request.uri().path().to_owned(), headers });
                    let response = answer(&request);
                    async move { Ok::<_, Infallible>(response) }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    (origin, seen, task)
}

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

fn full(status: u16, headers: &[(&str, &str)], body: &str) -> hyper::Response<Body> {
    let mut response = hyper::Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(*name, *value);
    }
    response.body(Full::new(Bytes::from(body.to_owned())).boxed()).expect("a response")
}

/// 200 and a chunked body that goes on until [`ENDLESS_BOUND`] or the reader hangs up;
/// `written` counts the bytes handed to the connection.
fn endless(written: Arc<AtomicUsize>) -> hyper::Response<Body> {
    let body = Endless { left: ENDLESS_BOUND / CHUNK.len(), written };
    hyper::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(body.boxed())
        .expect("a response")
}

const CHUNK: &[u8] = &[b' '; 64 * 1024];

/// A body of `left` more chunks, counted as hyper takes them (it takes the next one once it
/// has room to write it).
struct Endless {
    left: usize,
    written: Arc<AtomicUsize>,
}

impl hyper::body::Body for Endless {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.left -= 1;
        self.written.fetch_add(CHUNK.len(), Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(CHUNK)))))
    }
}

struct Conversation {
    id: String,
    token: String,
}

async fn open(stack: &Stack) -> Conversation {
    let (status, json) =
        post(&stack.url("/v1/conversations"), r#"{"channel":"web"}"#, None).await.expect("POST /v1/conversations");
    assert!(status == 200 || status == 201, "{status} {json}");
    Conversation {
        id: json["conversation_id"].as_str().expect("id").into(),
        token: json["token"].as_str().expect("token").into(),
    }
}

/// Waits until the worker's log has `line`.
async fn logged(stack: &Stack, line: &str) {
    let found = switchboard_e2e::poll(Duration::from_secs(10), || async { stack.log().contains(line).then_some(()) });
    assert!(found.await.is_some(), "'{line}' is not in the log:\n{}", stack.log());
}

fn carries_secrets(seen: &Seen) -> bool {
    seen.headers.iter().any(|(_, v)| v.contains(TOKEN) || v.contains(SHOP_KEY))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed_and_endless_answers_are_cut_off() {
    // The attacker's server: it would answer anything it is sent.
    let (second, stolen, second_task) = serve(|_| {
        full(200, &[("content-type", "application/json")], r#"{"status":"stolen","fulfillment_response":{"messages":[{"text":{"text":["Thanks for the credentials."]}}]}}"#)
    })
    .await;
    let location = format!("{second}/collect");
    let (redirector, redirected, redirector_task) =
        serve(move |_| full(302, &[("location", location.as_str())], "")).await;
    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    let (endless_origin, endless_seen, endless_task) = serve(move |_| endless(counter.clone())).await;

    let stack = Stack::start_with(None, &[("ORDERS_TOKEN", TOKEN), ("SHOP_KEY", SHOP_KEY)]).await;
    let (status, json) =
        call("PUT", &stack.url("/v1/admin/agent"), Some(agent(&redirector, &endless_origin)), Some(ADMIN_TOKEN))
            .await
            .expect("PUT /v1/admin/agent");
    assert_eq!(status, 200, "{json}");
    let c = open(&stack).await;

    // A webhook and a lookup that answer 302 to the second server.
    assert_eq!(stack.say(&c.id, &c.token, "where is order 42").await, [APOLOGY]);
    assert_eq!(stack.say(&c.id, &c.token, "Track parcel 77").await, [APOLOGY]);
    let asked = redirected.lock().expect("log").clone();
    let paths: Vec<&str> = asked.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(paths, ["/cx", "/parcels/77"], "the worker called the first server");
    assert!(asked.iter().all(carries_secrets), "with its credentials: {asked:?}");
    assert!(
        stolen.lock().expect("log").is_empty(),
        "the second server was called: {:?}\n{}",
        stolen.lock(),
        stack.log()
    );
    // Console lines reach wrangler's log a little after the answer.
    logged(&stack, "answered a redirect (HTTP 302), not followed").await;
    assert!(!stack.log().contains("/collect"), "the Location is not logged:\n{}", stack.log());

    // A webhook whose body never ends.
    assert_eq!(stack.say(&c.id, &c.token, "Is the lamp in stock").await, [APOLOGY]);
    assert_eq!(endless_seen.lock().expect("log").len(), 1);
    let sent = written.load(Ordering::SeqCst);
    assert!(sent < WRITTEN_AT_MOST, "the worker read on: {sent} bytes written");
    logged(&stack, "response larger than 65536 bytes").await;

    // The worker is up and the conversation goes on.
    let (status, _) = get(&stack.url("/v1/health"), None).await.expect("health");
    assert_eq!(status, 200);
    assert_eq!(stack.say(&c.id, &c.token, "Where is my order?").await, ["Can you provide your order number?"]);
    assert!(stolen.lock().expect("log").is_empty());
    for task in [second_task, redirector_task, endless_task] {
        task.abort();
    }
}

/// Sends `head` (a request line and headers) and then `body` without ever finishing it;
/// returns the status line the worker answered, or what went wrong, and the connection.
/// (Keep it open: when a client hangs up on a body it never finished, wrangler's dev proxy
/// answers the next request with its own 503, "Your worker restarted mid-request".)
async fn unfinished(stack: &Stack, head: String, body: Vec<u8>) -> (String, std::net::TcpStream) {
    let address = stack.base.trim_start_matches("http://").to_owned();
    let exchange = move || {
        let mut stream = std::net::TcpStream::connect(&address).expect("connect");
        // A worker that waits for the rest of the body never answers; 30 s is far longer
        // than a refusal takes.
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("a read timeout");
        stream.write_all(head.as_bytes()).expect("write head");
        // The worker may answer and close while this is still being written.
        let _ = stream.write_all(&body);
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        while !answer.windows(2).any(|w| w == b"\r\n") {
            match stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
                Err(e) => return (format!("no answer while the body was unfinished: {e}"), stream),
            }
        }
        (String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_owned(), stream)
    };
    tokio::task::spawn_blocking(exchange).await.expect("the exchange runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_bodies_over_the_limit_are_refused_before_they_are_read() {
    let stack = Stack::start(None).await;
    let host = stack.base.trim_start_matches("http://").to_owned();
    // A Content-Length over the 64 KiB limit, and only a little of that body.
    let head = format!(
        "POST /v1/conversations HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
    );
    let (status, _declared) = unfinished(&stack, head, br#"{"channel":"web""#.to_vec()).await;
    assert!(status.starts_with("HTTP/1.1 413"), "{status}\n{}", stack.log());

    // Chunked, without a length: 80 KiB of chunks and no last chunk.
    let head = format!(
        "POST /v1/conversations HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let mut body = Vec::new();
    for _ in 0..5 {
        body.extend_from_slice(format!("{:x}\r\n", 16 * 1024).as_bytes());
        body.extend_from_slice(&[b' '; 16 * 1024]);
        body.extend_from_slice(b"\r\n");
    }
    let (status, _chunked) = unfinished(&stack, head, body).await;
    assert!(status.starts_with("HTTP/1.1 413"), "{status}\n{}", stack.log());

    // The worker is up, and a request within the limit works.
    let headers = [("content-type", "application/json")];
    let (status, _, body) =
        raw("POST", &stack.url("/v1/conversations"), &headers, r#"{"channel":"web"}"#).await.expect("POST");
    assert_eq!(status, 201, "{body}\n{}", stack.log());
}
