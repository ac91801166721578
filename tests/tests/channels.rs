//! Channel relays against the real worker in workerd, with the Graph, Twilio and Telegram APIs
//! played by real HTTP servers on loopback that record what they receive. Deliveries are
//! signed here with this file's own HMAC code, checked first against the published vectors
//! of ../shared/PROTOCOLS.md.
//!
//! One worker for every scenario (each start costs seconds); the scenarios use distinct
//! senders, so they do not see each other.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_e2e::fake_api::{FakeApi, Received};
use switchboard_e2e::http::{get, post, raw};
use switchboard_e2e::stack::{ADMIN_TOKEN, Stack, now_s, site_jwt};
use switchboard_e2e::{root, wait_for};

const APP_SECRET: &str = "secret";
const VERIFY_TOKEN: &str = "e2e-verify-token";
const TWILIO_TOKEN: &str = "12345";
const TELEGRAM_SECRET: &str = "e2e_telegram-secret";
const HANDOFF_NUMBER: &str = "+15550001234";
const PROMPT: &str = "Can you provide your order number?";
const DELIVERY: &str = "Your order 123456 is out for delivery and expected by 6 PM today.";

/// `sha256=<hex HMAC-SHA256(app secret, body)>`.
fn meta_signature(body: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// `base64(HMAC-SHA1(token, url + sorted name/value pairs))`.
fn twilio_signature(token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn form(params: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish()
}

struct Channels {
    stack: Stack,
    graph: FakeApi,
    twilio: FakeApi,
    telegram: FakeApi,
}

impl Channels {
    async fn meta(&self, route: &str, body: &Value) -> u16 {
        let body = body.to_string();
        let signature = meta_signature(&body);
        let headers = [("content-type", "application/json"), ("x-hub-signature-256", signature.as_str())];
        let (status, _, text) = raw("POST", &self.stack.url(route), &headers, &body).await.expect("POST");
        assert!(status < 500, "{route}: {status} {text}\n{}", self.stack.log());
        status
    }

    async fn whatsapp(&self, id: &str, from: &str, text: &str) -> u16 {
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
            "value": {"messaging_product": "whatsapp",
                      "metadata": {"display_phone_number": "15550009999", "phone_number_id": "PNID"},
                      "contacts": [{"profile": {"name": "Ann"}, "wa_id": from}],
                      "messages": [{"from": from, "id": id, "timestamp": "1700000000", "type": "text", "text": {"body": text}}]}}]}]});
        self.meta("/channels/whatsapp", &body).await
    }

    async fn messenger(&self, mid: &str, psid: &str, text: &str) -> u16 {
        let body = json!({"object": "page", "entry": [{"id": "PAGE", "time": 1, "messaging": [
            {"sender": {"id": psid}, "recipient": {"id": "PAGE"}, "timestamp": 1, "message": {"mid": mid, "text": text}}]}]});
        self.meta("/channels/messenger", &body).await
    }

    async fn telegram(&self, update: &Value) -> u16 {
        let headers = [("content-type", "application/json"), ("x-telegram-bot-api-secret-token", TELEGRAM_SECRET)];
        raw("POST", &self.stack.url("/channels/telegram"), &headers, &update.to_string()).await.expect("POST").0
    }

    /// A signed Twilio request to `route` (with `query`); status, content type and body.
    async fn twilio(&self, route: &str, query: &str, params: &[(&str, &str)]) -> (u16, String, String) {
        let url = if query.is_empty() { self.stack.url(route) } else { format!("{}?{query}", self.stack.url(route)) };
        let signature = twilio_signature(TWILIO_TOKEN, &url, params);
        let headers =
            [("content-type", "application/x-www-form-urlencoded"), ("x-twilio-signature", signature.as_str())];
        let answer = raw("POST", &url, &headers, &form(params)).await.expect("POST");
        assert_eq!(answer.0, 200, "{route}?{query}: {answer:?}\n{}", self.stack.log());
        answer
    }

    async fn call(&self, query: &str, call: &str, from: &str, said: &[(&str, &str)]) -> String {
        let params =
            [&[("CallSid", call), ("From", from), ("To", "+15550009999"), ("CallStatus", "in-progress")], said]
                .concat();
        let (_, content_type, twiml) = self.twilio("/channels/twilio/voice", query, &params).await;
        assert!(content_type.starts_with("text/xml"), "{content_type}");
        twiml
    }

    /// Waits until the fake `api` has received a request `matching`, and returns them all.
    async fn wait_sent(&self, api: &FakeApi, what: &str, matching: impl Fn(&Received) -> bool) -> Vec<Received> {
        let matching = &matching;
        wait_for(what, Duration::from_secs(10), || {
            let all = api.received();
            async move { all.iter().any(matching).then_some(all) }
        })
        .await
    }
}

/// The demo agent, remembering the order number across the conversation and storing no
/// WhatsApp text (uploaded like an operator would).
fn channels_agent() -> String {
    let mut file: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("edge/agents/retail-demo.json")).expect("the demo agent"),
    )
    .expect("JSON");
    file["privacy"] = json!({"whatsapp": {"store_text": false}});
    let intents = file["intents"].as_array_mut().expect("intents");
    let order = intents.iter_mut().find(|i| i["name"] == "CheckOrderStatus").expect("CheckOrderStatus");
    order["parameters"][0]["default_from"] = json!("session.order-number");
    file.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_verify_dedupe_continue_across_channels_and_keep_privacy() {
    // This file's signing code reproduces the published Twilio vectors.
    let vector = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ];
    assert_eq!(
        twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", &vector),
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    );
    assert_eq!(meta_signature("test"), "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914");

    let (graph, twilio, telegram) = (FakeApi::start().await, FakeApi::start().await, FakeApi::start().await);
    let stack = Stack::start_with(
        None,
        &[
            ("META_APP_SECRET", APP_SECRET),
            ("META_VERIFY_TOKEN", VERIFY_TOKEN),
            ("MESSENGER_PAGE_TOKEN", "e2e-page-token"),
            ("WHATSAPP_TOKEN", "e2e-whatsapp-token"),
            ("GRAPH_API_URL", &graph.base),
            ("TELEGRAM_BOT_TOKEN", "123:e2e"),
            ("TELEGRAM_SECRET_TOKEN", TELEGRAM_SECRET),
            ("TELEGRAM_API_URL", &telegram.base),
            ("TWILIO_AUTH_TOKEN", TWILIO_TOKEN),
            ("TWILIO_ACCOUNT_SID", "ACe2e"),
            ("TWILIO_API_URL", &twilio.base),
            ("TWILIO_HANDOFF_NUMBER", HANDOFF_NUMBER),
        ],
    )
    .await;
    let c = Channels { stack, graph, twilio, telegram };
    let (status, uploaded) =
        switchboard_e2e::http::call("PUT", &c.stack.url("/v1/admin/agent"), Some(channels_agent()), Some(ADMIN_TOKEN))
            .await
            .expect("PUT /v1/admin/agent");
    assert_eq!(status, 200, "{uploaded}");

    // --- Signatures: the vector verifies in the worker, forgeries and omissions do not. ---
    for route in ["/channels/messenger", "/channels/whatsapp"] {
        let url = c.stack.url(route);
        let vector = ("x-hub-signature-256", "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914");
        let forged = ("x-hub-signature-256", "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0915");
        // "test" is the vector's body: it verifies, then is no delivery (400, not 403).
        assert_eq!(raw("POST", &url, &[vector], "test").await.unwrap().0, 400, "{route}");
        assert_eq!(raw("POST", &url, &[forged], "test").await.unwrap().0, 403, "{route}");
        assert_eq!(raw("POST", &url, &[], "test").await.unwrap().0, 401, "{route}");
        let handshake = format!("{url}?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444");
        assert_eq!(
            raw("GET", &handshake, &[], "").await.unwrap(),
            (200, "text/plain; charset=utf-8".into(), "1158201444".into())
        );
        let wrong = format!("{url}?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444");
        assert_eq!(raw("GET", &wrong, &[], "").await.unwrap().0, 403);
    }
    let update = json!({"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1}, "text": "hi"}}).to_string();
    let telegram_url = c.stack.url("/channels/telegram");
    assert_eq!(
        raw("POST", &telegram_url, &[("x-telegram-bot-api-secret-token", "guess")], &update).await.unwrap().0,
        403
    );
    assert_eq!(raw("POST", &telegram_url, &[], &update).await.unwrap().0, 401);
    for route in ["/channels/twilio/voice", "/channels/twilio/sms"] {
        let url = c.stack.url(route);
        let params = [("CallSid", "CA0"), ("MessageSid", "SM0"), ("From", "+15550000000"), ("Body", "hi")];
        let forged = twilio_signature("54321", &url, &params);
        let headers = [("content-type", "application/x-www-form-urlencoded"), ("x-twilio-signature", forged.as_str())];
        assert_eq!(raw("POST", &url, &headers, &form(&params)).await.unwrap().0, 403, "{route}");
        let elsewhere = twilio_signature(TWILIO_TOKEN, "https://elsewhere.example/channels/twilio/voice", &params);
        let headers =
            [("content-type", "application/x-www-form-urlencoded"), ("x-twilio-signature", elsewhere.as_str())];
        assert_eq!(
            raw("POST", &url, &headers, &form(&params)).await.unwrap().0,
            403,
            "{route}: signed for another URL"
        );
        assert_eq!(raw("POST", &url, &[], &form(&params)).await.unwrap().0, 401, "{route}");
    }

    // --- Continuity: web, then WhatsApp, then a call, one person. ---
    let jwt = site_jwt(&json!({"sub": "ann-e2e", "exp": now_s() + 3600, "phone": "+1 555 123 0001", "name": "Ann"}));
    let (status, created) =
        post(&c.stack.url("/v1/conversations"), &json!({"channel": "web", "jwt": jwt}).to_string(), None)
            .await
            .expect("POST /v1/conversations");
    assert_eq!(status, 200, "{created}");
    let (id, token) = (created["conversation_id"].as_str().unwrap(), created["token"].as_str().unwrap());
    assert_eq!(c.stack.say(id, token, "Where is my order?").await, [PROMPT]);

    assert_eq!(c.whatsapp("wamid.ann-1", "15551230001", "123456").await, 200);
    let to_ann = |r: &Received| r.json()["to"] == "+15551230001" && r.json()["text"]["body"] == DELIVERY;
    let sent = c.wait_sent(&c.graph, "the order status on WhatsApp", to_ann).await;
    let status_message = sent.iter().find(|r| to_ann(r)).unwrap();
    assert_eq!(status_message.target, "/v21.0/PNID/messages");
    assert_eq!(status_message.authorization.as_deref(), Some("Bearer e2e-whatsapp-token"));

    // Someone calls with Ann's number as caller ID that the carrier did not attest, or texts
    // from it: strangers, who get conversations of their own, not hers.
    let spoofed = c.call("", "CA-spoofed", "+15551230001", &[("StirVerstat", "TN-Validation-Passed-B")]).await;
    assert!(spoofed.contains(r#"action="/channels/twilio/voice?turn=1""#), "not attested: {spoofed}");
    let asked = c
        .call("turn=1", "CA-spoofed", "+15551230001", &[("SpeechResult", "Where is my order?"), ("Confidence", "0.9")])
        .await;
    assert!(!asked.contains(DELIVERY) && asked.contains(PROMPT), "a spoofed caller ID is asked afresh: {asked}");
    let sms_from_ann = [
        ("MessageSid", "SM-e2e-ann"),
        ("From", "+15551230001"),
        ("To", "+15550009999"),
        ("Body", "Where is my order?"),
    ];
    c.twilio("/channels/twilio/sms", "", &sms_from_ann).await;
    let to_ann_by_sms = |r: &Received| r.form().contains(&("To".into(), "+15551230001".into()));
    let sent = c.wait_sent(&c.twilio, "the answer to the SMS from Ann's number", to_ann_by_sms).await;
    let body_of = |r: &Received| r.form().into_iter().find(|(k, _)| k == "Body").map(|(_, v)| v).unwrap_or_default();
    let texted: Vec<String> = sent.iter().filter(|r| to_ann_by_sms(r)).map(body_of).collect();
    assert_eq!(texted, [PROMPT], "an SMS From is no proof of the number either");

    // Ann calls, her number attested by the carrier (STIR/SHAKEN A, on the call's first
    // request); later turns carry it in the action URL Twilio signs.
    let greeting = c.call("", "CA-ann", "+15551230001", &[("StirVerstat", "TN-Validation-Passed-A")]).await;
    assert!(
        greeting.contains(r#"<Gather input="speech dtmf" action="/channels/twilio/voice?turn=1&amp;attested=1""#),
        "{greeting}"
    );
    let answered = c
        .call(
            "turn=1&attested=1",
            "CA-ann",
            "+15551230001",
            &[("SpeechResult", "Where is my order?"), ("Confidence", "0.9")],
        )
        .await;
    assert!(answered.contains(DELIVERY), "answered from context: {answered}");
    // A retried request gets the same answer; the turn is not run again.
    let retried = c
        .call(
            "turn=1&attested=1",
            "CA-ann",
            "+15551230001",
            &[("SpeechResult", "Where is my order?"), ("Confidence", "0.9")],
        )
        .await;
    assert_eq!(retried, answered);
    let silence = c.call("turn=2&attested=1&noinput=1", "CA-ann", "+15551230001", &[]).await;
    assert!(silence.contains("Are you still there?"), "{silence}");
    let handoff =
        c.call("turn=3&attested=1", "CA-ann", "+15551230001", &[("SpeechResult", "I want to speak to a person")]).await;
    assert!(handoff.contains(&format!("<Dial>{HANDOFF_NUMBER}</Dial>")), "{handoff}");
    let params = [("CallSid", "CA-ann"), ("From", "+15551230001"), ("CallStatus", "completed")];
    let (_, _, hung_up) = c.twilio("/channels/twilio/voice", "turn=4&attested=1", &params).await;
    assert_eq!(hung_up, r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#);
    // The web conversation is the same one: the call's turns are in its history.
    let (status, history) =
        get(&c.stack.url(&format!("/v1/conversations/{id}/messages")), Some(token)).await.expect("history");
    assert_eq!(status, 200);
    let texts: Vec<&str> = history["messages"].as_array().unwrap().iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(texts.iter().filter(|t| **t == DELIVERY).count(), 2, "WhatsApp's and the call's answer: {texts:?}");
    assert!(texts.contains(&"Where is my order?"), "the call's words (voice stores text): {texts:?}");

    // --- Duplicates: one outbound message per delivery. ---
    let (first, second) = tokio::join!(
        c.messenger("m.dup-1", "PSID-DUP", "Where is my order?"),
        c.messenger("m.dup-1", "PSID-DUP", "Where is my order?")
    );
    assert_eq!((first, second), (200, 200));
    assert_eq!(c.messenger("m.dup-1", "PSID-DUP", "Where is my order?").await, 200);
    assert_eq!(c.messenger("m.dup-2", "PSID-DUP", "111111").await, 200);
    let to_dup = |r: &Received| r.json()["recipient"]["id"] == "PSID-DUP";
    let sent = c
        .wait_sent(&c.graph, "the answer to the message after the duplicates", |r| {
            to_dup(r) && r.json()["message"]["text"].as_str().is_some_and(|t| t.contains("111111"))
        })
        .await;
    let prompts = sent.iter().filter(|r| to_dup(r) && r.json()["message"]["text"] == PROMPT).count();
    assert_eq!(prompts, 1, "three deliveries of m.dup-1, one reply");
    assert!(sent.iter().any(|r| to_dup(r) && r.json()["sender_action"] == "typing_on"), "typing indicator");
    assert!(sent.iter().filter(|r| to_dup(r)).all(|r| r.authorization.as_deref() == Some("Bearer e2e-page-token")));

    let update = json!({"update_id": 5001, "message": {"message_id": 9, "chat": {"id": 4242, "type": "private"},
                        "from": {"id": 4242}, "text": "Where is my order?"}});
    assert_eq!(c.telegram(&update).await, 200);
    assert_eq!(c.telegram(&update).await, 200);
    let next = json!({"update_id": 5002, "callback_query": {"id": "cb-1", "from": {"id": 4242}, "message": {"message_id": 10, "chat": {"id": 4242, "type": "private"}}, "data": "222222"}});
    assert_eq!(c.telegram(&next).await, 200);
    let sent = c
        .wait_sent(&c.telegram, "the answer to the button press", |r| {
            r.json()["text"].as_str().is_some_and(|t| t.contains("222222"))
        })
        .await;
    let to_chat = |r: &&Received| r.json()["chat_id"] == 4242 && r.target == "/bot123:e2e/sendMessage";
    assert_eq!(
        sent.iter().filter(to_chat).filter(|r| r.json()["text"] == PROMPT).count(),
        1,
        "update 5001 twice, one reply"
    );
    assert!(
        sent.iter().any(|r| r.target == "/bot123:e2e/answerCallbackQuery" && r.json()["callback_query_id"] == "cb-1")
    );
    assert!(sent.iter().any(|r| r.target == "/bot123:e2e/sendChatAction"));

    let sms = [
        ("MessageSid", "SM-e2e-1"),
        ("From", "+15550000077"),
        ("To", "+15550009999"),
        ("Body", "Where is order 333333?"),
    ];
    for _ in 0..2 {
        let (_, content_type, body) = c.twilio("/channels/twilio/sms", "", &sms).await;
        assert_eq!((content_type.as_str(), body.as_str()), ("text/xml; charset=utf-8", "<Response/>"));
    }
    let marker = [
        ("MessageSid", "SM-e2e-2"),
        ("From", "+15550000077"),
        ("To", "+15550009999"),
        ("Body", "Where is order 111111?"),
    ];
    c.twilio("/channels/twilio/sms", "", &marker).await;
    let sent = c.wait_sent(&c.twilio, "the SMS after the duplicate", |r| body_of(r).contains("111111")).await;
    assert_eq!(sent.iter().filter(|r| body_of(r).contains("333333")).count(), 1, "SM-e2e-1 twice, one SMS");
    let first = sent.iter().find(|r| body_of(r).contains("333333")).unwrap();
    assert_eq!(first.target, "/2010-04-01/Accounts/ACe2e/Messages.json");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("ACe2e:{TWILIO_TOKEN}"));
    assert_eq!(first.authorization.as_deref(), Some(format!("Basic {basic}").as_str()));
    assert!(first.form().contains(&("To".into(), "+15550000077".into())));

    // --- Receipts, reactions, stickers, media: answered or recorded, never a 500. ---
    let statuses = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
        "value": {"metadata": {"phone_number_id": "PNID"},
                  "statuses": [{"id": "wamid.x", "status": "delivered", "timestamp": "1", "recipient_id": "15551230001"}],
                  "messages": [{"from": "15550000088", "id": "wamid.r1", "type": "reaction", "reaction": {"message_id": "wamid.x", "emoji": "👍"}},
                               {"from": "15550000088", "id": "wamid.s1", "type": "sticker", "sticker": {"id": "s"}},
                               {"from": "15550000088", "id": "wamid.i1", "type": "image", "image": {"id": "i", "caption": "my lamp"}}]}}]}]});
    assert_eq!(c.meta("/channels/whatsapp", &statuses).await, 200);
    let receipts = json!({"object": "page", "entry": [{"id": "PAGE", "messaging": [
        {"sender": {"id": "PSID-R"}, "recipient": {"id": "PAGE"}, "timestamp": 1, "delivery": {"mids": ["m.x"], "watermark": 1}},
        {"sender": {"id": "PSID-R"}, "recipient": {"id": "PAGE"}, "timestamp": 2, "read": {"watermark": 2}},
        {"sender": {"id": "PAGE"}, "recipient": {"id": "PSID-R"}, "timestamp": 3, "message": {"mid": "m.echo", "is_echo": true, "text": "hi"}}]}]});
    assert_eq!(c.meta("/channels/messenger", &receipts).await, 200);
    let edited = json!({"update_id": 6001, "edited_message": {"message_id": 1, "chat": {"id": 4242}, "text": "x"}});
    assert_eq!(c.telegram(&edited).await, 200);
    c.wait_sent(&c.graph, "an answer to the image", |r| r.json()["to"] == "+15550000088").await;

    // --- Privacy: this agent stores no WhatsApp text; Messenger's may be stored. ---
    assert_eq!(c.whatsapp("wamid.p-1", "15550000099", "my cat zanzibar ate the parcel").await, 200);
    assert_eq!(c.messenger("m.p-1", "PSID-P", "my dog quixote ate the parcel").await, 200);
    c.wait_sent(&c.graph, "the answer to the Messenger message", |r| r.json()["recipient"]["id"] == "PSID-P").await;
    // Parked writes reach KV within a second of the last turn.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let dump = c.stack.kv_dump();
    let all: String = dump.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
    assert!(!all.contains("zanzibar"), "WhatsApp text reached KV:\n{all}");
    assert!(all.contains("quixote"), "Messenger's text is kept:\n{all}");
    assert!(all.contains("[not stored]"), "{all}");
    let ann = created["user_id"].as_str().unwrap();
    assert_eq!(dump.get("id:phone:+15551230001").map(|u| u.trim()), Some(ann), "the phone is Ann's");
    // The spoofed call and the SMS from her number are indexed apart, as users of their own.
    for apart in ["id:call:+15551230001", "id:sms:+15551230001"] {
        let user = dump.get(apart).map(|u| u.trim()).unwrap_or_else(|| panic!("{apart} in:\n{all}"));
        assert_ne!(user, ann, "{apart}");
    }
    assert!(dump.contains_key("id:messenger:PSID-DUP") && dump.contains_key("id:telegram:4242"), "{all}");

    // --- Mobile apps use the REST API: the documented example runs. ---
    the_mobile_app_example_runs(&c.stack).await;
}

/// docs/examples/mobile-app.mjs, run as its header says.
async fn the_mobile_app_example_runs(stack: &Stack) {
    let output = tokio::process::Command::new("node")
        .arg(root().join("docs/examples/mobile-app.mjs"))
        .arg(&stack.base)
        .arg("mobile-example-1")
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("conversation c-"), "{stdout}");
    for expected in [
        "you> Where is my order?",
        &format!("bot> {PROMPT}"),
        "you> 123456",
        &format!("bot> {DELIVERY}"),
        "0 newer message(s)",
        "feedback sent",
    ] {
        assert!(lines.contains(&expected), "'{expected}' in:\n{stdout}");
    }
}
