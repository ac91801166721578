//! The two ways a stranger could once reach into the worker through `visitor_id`, tried
//! against the real worker in workerd, and closed:
//!
//! 1. User ids used to be an unkeyed digest of the identity (the first 24 hex digits of
//!    HMAC-SHA256 with the public key "switchboard user id" over `id:telegram:<chat id>` or
//!    `id:phone:+<number>`), and a web visitor's user was `u-<visitor id>`: anyone who
//!    computed the digest for a Telegram chat or a phone number, or read a user id off the
//!    agent desk, could post it as `visitor_id` and read that customer's conversation. Now
//!    every such value is a new visitor (201, a new, empty conversation), whether or not the
//!    chat or number ever wrote.
//! 2. Visitor ids of some lengths (63, 64 characters: `u-` made the user id too long) crashed
//!    the worker. Now every length answers 201 promptly, and the worker goes on serving.
//!
//! The channel customers write through signed deliveries (Telegram's secret token, Meta's
//! HMAC-SHA256 signature), with the channels' APIs played by fake servers on loopback.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_e2e::fake_api::{FakeApi, Received, whatsapp_text};
use switchboard_e2e::http::{get, post, raw};
use switchboard_e2e::stack::Stack;
use switchboard_e2e::wait_for;

const APP_SECRET: &str = "e2e-meta-app-secret";
const TELEGRAM_SECRET: &str = "e2e_telegram-secret";
const AGENT_TOKEN: &str = "e2e-attacks-agent-token";
/// How long one request may take before the worker counts as hung (a normal one takes
/// milliseconds; the first may compile the agent).
const PATIENCE: Duration = Duration::from_secs(15);
const WAIT: Duration = Duration::from_secs(20);
const TELEGRAM_CHAT: i64 = 4242;
const WHATSAPP_NUMBER: &str = "15551230042";
const HANDOFF: &str = "I want to speak to a person";

/// The user id digest of the scheme before keyed user ids: computable by anyone.
fn unkeyed_digest(identity: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"switchboard user id").unwrap();
    mac.update(identity.as_bytes());
    mac.finalize().into_bytes().iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// `v2-<32 hex>-<24 hex>`: a visitor credential as the server issues them.
fn is_credential(v: &str) -> bool {
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    v.strip_prefix("v2-").and_then(|rest| rest.split_once('-')).is_some_and(|(r, mac)| hex(r, 32) && hex(mac, 24))
}

/// `POST /v1/conversations` as a web visitor presenting `visitor`; a request that takes longer
/// than [`PATIENCE`] fails the test (a hung worker).
async fn open(stack: &Stack, visitor: Option<&str>) -> (u16, Value) {
    let body = match visitor {
        Some(v) => json!({"channel": "web", "visitor_id": v}),
        None => json!({"channel": "web"}),
    };
    let (url, body) = (stack.url("/v1/conversations"), body.to_string());
    match tokio::time::timeout(PATIENCE, post(&url, &body, None)).await {
        Ok(answer) => answer.unwrap_or_else(|e| panic!("{visitor:?}: {e}\n{}", stack.log())),
        Err(_) => panic!("visitor_id {visitor:?}: no answer within {PATIENCE:?}\n{}", stack.log()),
    }
}

/// The agent desk's queue, as the console reads it.
async fn queue(stack: &Stack) -> Vec<Value> {
    let (status, json) = get(&stack.url("/v1/agent/queue"), Some(AGENT_TOKEN)).await.expect("GET /v1/agent/queue");
    assert_eq!(status, 200, "{json}");
    json["conversations"].as_array().cloned().unwrap_or_default()
}

async fn telegram(stack: &Stack, update_id: u64, text: &str) {
    let update = json!({"update_id": update_id, "message": {"message_id": update_id, "date": 1,
                        "chat": {"id": TELEGRAM_CHAT, "type": "private"}, "from": {"id": TELEGRAM_CHAT}, "text": text}});
    let headers = [("content-type", "application/json"), ("x-telegram-bot-api-secret-token", TELEGRAM_SECRET)];
    let (status, _, body) =
        raw("POST", &stack.url("/channels/telegram"), &headers, &update.to_string()).await.expect("POST telegram");
    assert_eq!(status, 200, "{body}\n{}", stack.log());
}

async fn whatsapp(stack: &Stack, id: &str, text: &str) {
    let status =
        whatsapp_text(&stack.url("/channels/whatsapp"), APP_SECRET, WHATSAPP_NUMBER, "Customer", id, text).await;
    assert_eq!(status, 200, "{}", stack.log());
}

/// Waits until the fake `api` has received a request `matching`.
async fn wait_sent(api: &FakeApi, what: &str, matching: impl Fn(&Received) -> bool) {
    let matching = &matching;
    wait_for(what, WAIT, || {
        let all = api.received();
        async move { all.iter().any(matching).then_some(()) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_posting_a_channel_customers_ids_gets_a_new_empty_conversation() {
    let (graph, telegram_api) = (FakeApi::start().await, FakeApi::start().await);
    let tokens = format!("Alice:{AGENT_TOKEN}");
    let stack = Stack::start_with(
        None,
        &[
            ("META_APP_SECRET", APP_SECRET),
            ("WHATSAPP_TOKEN", "e2e-whatsapp-token"),
            ("GRAPH_API_URL", &graph.base),
            ("TELEGRAM_BOT_TOKEN", "123:e2e"),
            ("TELEGRAM_SECRET_TOKEN", TELEGRAM_SECRET),
            ("TELEGRAM_API_URL", &telegram_api.base),
            ("AGENT_TOKENS", &tokens),
        ],
    )
    .await;

    // A Telegram customer and a WhatsApp customer give their order numbers, then ask for a
    // person: their conversations (and user ids) are on the agent desk.
    telegram(&stack, 1, "Where is order 123456?").await;
    let answered = |number: &'static str| move |r: &Received| r.body.contains(number);
    wait_sent(&telegram_api, "the Telegram answer", answered("123456")).await;
    whatsapp(&stack, "wamid.attack-1", "Where is order 222222?").await;
    wait_sent(&graph, "the WhatsApp answer", answered("222222")).await;
    telegram(&stack, 2, HANDOFF).await;
    whatsapp(&stack, "wamid.attack-2", HANDOFF).await;
    let desk = wait_for("both customers on the desk", WAIT, || async {
        let entries = queue(&stack).await;
        (entries.len() == 2).then_some(entries)
    })
    .await;
    let customers: Vec<(String, String)> = desk
        .iter()
        .map(|e| (e["user_id"].as_str().unwrap().to_owned(), e["conversation_id"].as_str().unwrap().to_owned()))
        .collect();
    let mut channels: Vec<&str> = desk.iter().map(|e| e["channel"].as_str().unwrap()).collect();
    channels.sort_unstable();
    assert_eq!(channels, ["telegram", "whatsapp"], "{desk:?}");

    // What a stranger can compute or read: the old digests of the chat and the number, the
    // user ids they made, and the user ids the desk shows (with and without `u-`).
    let known = |identities: &[String]| -> Vec<String> {
        let mut guesses = Vec::new();
        for identity in identities {
            let digest = unkeyed_digest(identity);
            guesses.push(format!("u-{digest}"));
            guesses.push(digest);
        }
        guesses
    };
    let mut customers_guesses = known(&[
        format!("id:telegram:{TELEGRAM_CHAT}"),
        format!("id:phone:+{WHATSAPP_NUMBER}"),
        format!("id:whatsapp:{WHATSAPP_NUMBER}"),
    ]);
    for (user, _) in &customers {
        customers_guesses.push(user.clone());
        customers_guesses.push(user.trim_start_matches("u-").to_owned());
    }
    // The same, for a chat and a number that never wrote.
    let strangers_guesses = known(&["id:telegram:4343".to_owned(), "id:phone:+15551239999".to_owned()]);

    let mut shapes = Vec::new();
    for guess in customers_guesses.iter().chain(&strangers_guesses) {
        let (status, created) = open(&stack, Some(guess)).await;
        // A new visitor, told nothing: the same status whether or not the id meant someone.
        assert_eq!(status, 201, "{guess}: {created}");
        let user = created["user_id"].as_str().unwrap();
        let conversation = created["conversation_id"].as_str().unwrap();
        assert!(customers.iter().all(|(u, c)| u != user && c != conversation), "{guess} opened a customer: {created}");
        assert!(is_credential(created["visitor_id"].as_str().unwrap()), "{guess}: {created}");
        let text = created.to_string();
        assert!(!text.contains("123456") && !text.contains("222222"), "{guess}: {text}");
        // Empty but for the welcome, and so it stays when read with the token it came with.
        let welcome = created["messages"].as_array().unwrap();
        assert!(!welcome.is_empty() && welcome.iter().all(|m| m["role"] == "bot"), "{guess}: {created}");
        let url = stack.url(&format!("/v1/conversations/{conversation}/messages"));
        let (status, history) = get(&url, created["token"].as_str()).await.expect("history");
        assert_eq!((status, &history["messages"]), (200, &created["messages"]), "{guess}");
        let mut keys: Vec<&String> = created.as_object().unwrap().keys().collect();
        keys.sort();
        shapes.push((status, keys.into_iter().cloned().collect::<Vec<_>>(), welcome.len()));
    }
    shapes.dedup();
    assert_eq!(shapes.len(), 1, "every guess is answered alike: {shapes:?}");

    // The customers' conversations are untouched: still theirs, with what they said.
    for (user, conversation) in &customers {
        let url = stack.url(&format!("/v1/agent/conversations/{conversation}"));
        let (status, view) = get(&url, Some(AGENT_TOKEN)).await.expect("GET agent conversation");
        assert_eq!((status, view["user_id"].as_str()), (200, Some(user.as_str())), "{view}");
        let said = view["messages"].to_string();
        assert!(said.contains("123456") || said.contains("222222"), "{view}");
    }
}

/// Visitor ids of one length: ones a client might make up, ones shaped like a credential and
/// like the legacy `v-<hex>` ids, each `len` characters long.
fn ids_of_length(len: usize) -> [String; 3] {
    let cycle = |alphabet: &str| alphabet.chars().cycle().take(len).collect::<String>();
    let prefixed = |prefix: &str, alphabet: &str| {
        let tail = alphabet.chars().cycle().take(len.saturating_sub(prefix.len()));
        prefix.chars().chain(tail).take(len).collect::<String>()
    };
    [cycle("Visitor_0123456789-"), prefixed("v2-", "0123456789abcdef-"), prefixed("v-", "0123456789abcdef")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitor_ids_of_every_length_answer_promptly_and_the_worker_goes_on() {
    // Every length costs a few new conversations: more than the per-IP limits allow a browser.
    let stack =
        Stack::start_with(None, &[("IP_RATE_PER_MINUTE", "100000"), ("IP_CONVERSATIONS_PER_HOUR", "100000")]).await;
    for len in 0..=80 {
        for id in ids_of_length(len) {
            assert_eq!(id.len(), len);
            let (status, created) = open(&stack, Some(&id)).await;
            assert_eq!(status, 201, "visitor_id of {len} characters {id:?}: {created}\n{}", stack.log());
            assert!(is_credential(created["visitor_id"].as_str().unwrap_or_default()), "{id:?}: {created}");
        }
    }
    // Afterwards the worker serves as ever: a new visitor talks, and resumes with its credential.
    let (status, created) = open(&stack, None).await;
    assert_eq!(status, 201, "{created}");
    let (id, token) = (created["conversation_id"].as_str().unwrap(), created["token"].as_str().unwrap());
    assert_eq!(stack.say(id, token, "Where is my order?").await, ["Can you provide your order number?"]);
    let (status, resumed) = open(&stack, created["visitor_id"].as_str()).await;
    assert_eq!((status, resumed["conversation_id"].as_str()), (200, Some(id)), "{resumed}");
    assert_eq!(resumed["messages"].as_array().map(Vec::len), Some(3), "{resumed}");
}
