//! A panic in the worker answers its own request with the JSON 500 of every internal error and
//! logs one line without the request's data, while the isolate's other requests go on: they
//! wait for a webhook, the panics come and go, the webhook answers, and every one of them
//! completes.
//!
//! The worker panics on purpose at `POST /__test/panic` (in its `fetch`) and
//! `POST /__test/panic?in=object` (in a user's Durable Object), a route that answers only when
//! the worker's variable `SWITCHBOARD_TEST_PANIC_ROUTE` is "1" (edge/src/glue.rs says why it
//! exists); the second test shows it closed without it.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use switchboard_e2e::http::{call, get, post, raw_with_headers};
use switchboard_e2e::stack::{ADMIN_TOKEN, Stack};
use switchboard_e2e::{poll, root, wait_for};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// What the worker answers for any internal failure (`ApiError::body` in edge/src/error.rs).
const INTERNAL: &str = r#"{"error":{"code":"internal","message":"internal error; please retry"}}"#;

/// Quoted by the deliberate panic's message (it quotes the request's body, as a slicing panic
/// quotes the text it cut); it must not reach the log.
const CANARY: &str = "canary-anna.example@example.com";

/// Long enough to never decide anything: a bound on a request that would otherwise hang.
const BOUND: Duration = Duration::from_secs(60);

/// A fulfillment webhook on loopback that holds every request until it is opened, then
/// answers each order number with its own text.
struct Gate {
    url: String,
    /// Requests received so far (each is waiting while the gate is shut).
    arrived: Arc<AtomicUsize>,
    open: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Gate {
    async fn start() -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let url = format!("http://{}/webhook", listener.local_addr().expect("address"));
        let (open, opened) = watch::channel(false);
        let arrived = Arc::new(AtomicUsize::new(0));
        let counter = arrived.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (counter, opened) = (counter.clone(), opened.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let (counter, mut opened) = (counter.clone(), opened.clone());
                        async move {
                            let bytes = request.into_body().collect().await?.to_bytes();
                            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                            let order = body["sessionInfo"]["parameters"]["order-number"].as_i64().unwrap_or(0);
                            counter.fetch_add(1, Ordering::SeqCst);
                            let _ = opened.wait_for(|open| *open).await;
                            let text = format!("Order {order} is on its way.");
                            let reply =
                                json!({ "fulfillment_response": { "messages": [ { "text": { "text": [text] } } ] } });
                            let response = hyper::Response::builder()
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(reply.to_string())))
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
        Gate { url, arrived, open, task }
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A new visitor's conversation: id and token.
async fn open(stack: &Stack) -> (String, String) {
    let (status, created) =
        post(&stack.url("/v1/conversations"), &json!({ "channel": "web" }).to_string(), None).await.expect("open");
    assert_eq!(status, 201, "{created}\n{}", stack.log());
    (created["conversation_id"].as_str().expect("id").to_owned(), created["token"].as_str().expect("token").to_owned())
}

/// The site the panicking requests come from (any origin is allowed in the test's worker).
const SITE: &str = "https://shop.example";

/// `POST /__test/panic` (+ `query`) from [`SITE`] with a body quoting [`CANARY`]: status and
/// body text; a 500 must be readable by the site (CORS), so that the widget can retry.
async fn panic_request(stack: &Stack, query: &str) -> (u16, String) {
    let body = json!({ "email": CANARY }).to_string();
    let url = stack.url(&format!("/__test/panic{query}"));
    let sent = raw_with_headers("POST", &url, &[("content-type", "application/json"), ("origin", SITE)], &body);
    let (status, headers, text) = tokio::time::timeout(BOUND, sent)
        .await
        .unwrap_or_else(|_| panic!("no answer to {url}; the worker's log:\n{}", stack.log()))
        .expect("POST /__test/panic");
    if status == 500 {
        let allowed = headers.iter().find(|(n, _)| n == "access-control-allow-origin").map(|(_, v)| v.as_str());
        assert_eq!(allowed, Some(SITE), "the 500 of panic{query} is not readable by the site: {headers:?}");
    }
    (status, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_answers_500_and_the_requests_in_flight_complete() {
    let gate = Gate::start().await;
    let stack = Stack::start_with(Some(&gate.url), &[("SWITCHBOARD_TEST_PANIC_ROUTE", "1")]).await;
    // The demo agent with the longest webhook timeout there is (30 s), so that nothing here
    // depends on how fast the panics are answered while the webhook holds the requests.
    let mut agent: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("edge/agents/retail-demo.json")).expect("demo agent"),
    )
    .expect("JSON");
    agent["webhooks"]["order-status"]["timeout_ms"] = json!(30_000);
    let (status, uploaded) =
        call("PUT", &stack.url("/v1/admin/agent"), Some(agent.to_string()), Some(ADMIN_TOKEN)).await.expect("PUT");
    assert_eq!(status, 200, "{uploaded}");

    // Three customers ask about an order; the webhook holds all three turns.
    let mut in_flight = Vec::new();
    for order in [700_001, 700_002, 700_003] {
        let (id, token) = open(&stack).await;
        let url = stack.url(&format!("/v1/conversations/{id}/messages"));
        let body = json!({ "text": format!("Where is order {order}?") }).to_string();
        let turn = tokio::spawn(async move { tokio::time::timeout(BOUND, post(&url, &body, Some(&token))).await });
        in_flight.push((order, turn));
    }
    wait_for("the webhook to hold three turns", BOUND, || async {
        (gate.arrived.load(Ordering::SeqCst) == 3).then_some(())
    })
    .await;

    // A panic in the worker's fetch, and two in a user's object (the second finds the object's
    // turn lock released by the first): each answers the JSON 500 while the three turns are
    // still waiting for the webhook.
    for query in ["", "?in=object", "?in=object"] {
        let (status, body) = panic_request(&stack, query).await;
        assert_eq!((status, body.as_str()), (500, INTERNAL), "panic{query}; the worker's log:\n{}", stack.log());
        for (order, turn) in &in_flight {
            assert!(!turn.is_finished(), "the turn about order {order} ended with the panic{query}:\n{}", stack.log());
        }
    }

    // A panic in a task a user's object runs after its answer (as a channel's replies are
    // sent): the answer stands, and the turns in flight go on.
    let (status, body) = panic_request(&stack, "?in=wait_until").await;
    assert_eq!((status, body.as_str()), (202, "{}"), "panic?in=wait_until; the worker's log:\n{}", stack.log());
    for (order, turn) in &in_flight {
        assert!(
            !turn.is_finished(),
            "the turn about order {order} ended with the panic in wait_until:\n{}",
            stack.log()
        );
    }

    // The webhook answers: every turn completes with its reply.
    gate.open.send(true).expect("the gate is listening");
    for (order, turn) in in_flight {
        let (status, reply) = turn
            .await
            .expect("the task")
            .unwrap_or_else(|_| panic!("order {order}: no answer; the worker's log:\n{}", stack.log()))
            .expect("POST messages");
        assert_eq!(status, 200, "order {order}: {reply}\n{}", stack.log());
        assert_eq!(reply["messages"][0]["text"], format!("Order {order} is on its way."), "{reply}");
    }

    // The worker goes on: a new conversation, a turn through the webhook.
    let (id, token) = open(&stack).await;
    assert_eq!(stack.say(&id, &token, "Where is order 4242?").await, ["Order 4242 is on its way."]);

    // One line per panic, with where it came in and where it happened; nothing of the request.
    let lines = poll(BOUND, || async {
        let log = stack.log();
        let lines: Vec<Value> = log
            .lines()
            .filter(|line| line.contains(r#""event":"panic""#))
            // wrangler prints the worker's errors in colour: the object between the braces.
            .filter_map(|line| line.get(line.find('{')?..=line.rfind('}')?))
            .filter_map(|json| serde_json::from_str(json).ok())
            .collect();
        (lines.len() >= 4).then_some(lines)
    })
    .await
    .unwrap_or_else(|| panic!("not four panic lines in the worker's log:\n{}", stack.log()));
    let log = stack.log();
    let entries: Vec<(&str, &str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["entry"].as_str().unwrap_or("?"),
                l["method"].as_str().unwrap_or("?"),
                l["route"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("fetch", "POST", "/__test/panic"),
            ("UserSession.fetch", "POST", "/__test/panic"),
            ("UserSession.fetch", "POST", "/__test/panic"),
            ("UserSession.wait_until", "?", "?"),
        ],
        "{log}"
    );
    assert!(lines.iter().all(|l| l["at"].as_str().is_some_and(|at| at.starts_with("edge/src/glue.rs:"))), "{log}");
    assert!(!log.contains(CANARY) && !log.contains("deliberate panic"), "the panic's message reached the log:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panic_route_is_closed_without_its_variable() {
    let stack = Stack::start(None).await;
    for query in ["", "?in=object"] {
        let (status, body) = panic_request(&stack, query).await;
        let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        assert_eq!((status, json["error"]["code"].as_str()), (404, Some("not_found")), "{body}\n{}", stack.log());
    }
    let (status, openapi) = get(&stack.url("/v1/openapi.json"), None).await.expect("openapi.json");
    assert_eq!(status, 200);
    assert!(!openapi.to_string().contains("__test"), "the test route is no API route");
    assert!(!stack.log().contains(r#""event":"panic""#), "{}", stack.log());
}
