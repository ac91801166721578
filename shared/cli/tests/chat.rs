//! `switchboard chat` as a user runs it: the binary, piped stdin, and a real webhook on loopback.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../edge/agents/retail-demo.json");

/// Runs `switchboard chat <demo agent> <flags>` with `lines` on stdin.
fn chat(flags: &[&str], lines: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["chat", DEMO])
        .args(flags)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(lines.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// A webhook on 127.0.0.1 that answers one request with `status` and `body`; its URL, and a
/// channel that yields the request body it received.
fn webhook(status: u16, body: Value) -> (String, mpsc::Receiver<Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (sender, received) = mpsc::channel();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        // A safety net so a confused client fails the test instead of hanging it.
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut reader = BufReader::new(stream);
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut request = vec![0; length];
        reader.read_exact(&mut request).unwrap();
        let body = body.to_string();
        let head =
            format!("HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n", body.len());
        write!(reader.get_mut(), "{head}connection: close\r\n\r\n{body}").unwrap();
        sender.send(serde_json::from_slice(&request).unwrap()).unwrap();
    });
    (url, received)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn webhook_url_sends_the_cx_request_and_prints_the_reply() {
    let reply = json!({ "fulfillment_response": { "messages": [{ "text": { "text": ["Order 123456 left the warehouse."] } }] } });
    let (url, received) = webhook(200, reply);
    let output = chat(&["--webhook-url", &url], "where is my order\n123456\n");
    let transcript = stdout(&output);
    assert!(output.status.success(), "{output:?}");
    let tail = "you> where is my order\nbot> Can you provide your order number?\nyou> 123456\nbot> Order 123456 left the warehouse.\n";
    assert!(transcript.ends_with(tail), "{transcript}");
    let request = received.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(request["fulfillmentInfo"]["tag"], "order-status");
    assert_eq!(request["sessionInfo"]["parameters"]["order-number"], 123456);
    assert!(request["sessionInfo"]["session"].as_str().is_some_and(|s| s.starts_with("cli-")), "{request}");
}

#[test]
fn a_webhook_answering_500_gives_the_apology_and_says_why_on_stderr() {
    let (url, _received) = webhook(500, json!({}));
    let output = chat(&["--webhook-url", &url], "where is order 123456\n");
    assert!(stdout(&output).contains("bot> Sorry, I can't reach our order system right now."), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("answered HTTP 500"), "{output:?}");
}

#[test]
fn the_builtin_demo_orders_answer_like_the_worker_and_offline_calls_nothing() {
    let output = chat(&[], "where is order 123456\n");
    assert!(stdout(&output).contains("bot> Your order 123456 is out for delivery"), "{output:?}");
    let output = chat(&["--offline", "--webhook-url", "http://127.0.0.1:9/unused"], "where is order 123456\n");
    assert!(stdout(&output).contains("bot> Sorry, I can't reach our order system right now."), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("not called (--offline)"), "{output:?}");
}

#[test]
fn a_channel_shows_its_overrides_and_cards_show_their_buttons() {
    let web = stdout(&chat(&[], "show me your lamps\n"));
    assert!(web.contains("bot> card: Arc desk lamp — Dimmable LED, 49 € [View → https://shop.example/arc]"), "{web}");
    let voice = stdout(&chat(&["--channel", "voice"], "show me your lamps\n"));
    assert!(
        voice.starts_with("bot> Hi! I'm the Switchboard Shop assistant. You can say: where is my order"),
        "{voice}"
    );
    assert!(voice.contains("bot> Our bestsellers are the Arc desk lamp"), "{voice}");
    assert!(!voice.contains("card:"), "{voice}");
}

#[test]
fn a_declarative_lookup_sends_its_bearer_secret_from_the_environment() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        while reader.read_line(&mut head).unwrap() > 2 {}
        let body = r#"{"status":"shipped"}"#;
        let reply = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
        reader.get_mut().write_all(reply.as_bytes()).unwrap();
        head
    });
    let agent = format!(
        r#"{{ "name": "lookup", "fallback": ["?"], "webhook_error": ["Sorry, no answer."],
  "webhooks": {{ "orders": {{ "kind": "http", "url": "http://127.0.0.1:{port}/orders/$order-number",
                             "auth": {{ "bearer": "${{CHAT_TEST_TOKEN}}" }},
                             "reply": {{ "messages": ["Order $order-number: ${{/status}}."] }} }} }},
  "intents": [{{ "name": "Track", "training_phrases": ["where is my order"],
                "parameters": [{{ "name": "order-number", "entity": "@sys.number", "mandatory": true,
                                  "prompts": ["Which order?"] }}],
                "fulfillment": {{ "webhook": "orders", "tag": "track" }} }}] }}"#
    );
    let path = std::env::temp_dir().join(format!("switchboard-chat-lookup-{}.json", std::process::id()));
    std::fs::write(&path, agent).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("chat")
        .arg(&path)
        .env("CHAT_TEST_TOKEN", "s3cret")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"where is my order\n1234\n").unwrap();
    let output = child.wait_with_output().unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(stdout(&output).contains("bot> Order 1234: shipped."), "{output:?}");
    let head = server.join().unwrap();
    assert!(head.starts_with("GET /orders/1234 HTTP/1.1\r\n"), "{head}");
    assert!(head.to_ascii_lowercase().contains("authorization: bearer s3cret\r\n"), "{head}");
}
