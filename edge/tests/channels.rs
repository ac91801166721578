//! Channel relays through the whole core in memory: a delivery is verified, parsed and
//! identified (`channels::receive`, as the worker does), each event runs in "the user's
//! object" (`channels::deliver` with an in-memory object storage), and what the relay would
//! send is checked. One person across web, WhatsApp and a phone call; duplicates; privacy.
// Tests may panic: a panic here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use futures_executor::block_on;
use serde_json::{Value, json};
use switchboard_dialog::agent::Agent;
use switchboard_edge::Config;
use switchboard_edge::api::{ApiRequest, ApiResponse};
use switchboard_edge::channels::{self, Received, twilio};
use switchboard_edge::identity::user_hash;
use switchboard_edge::memory::{MemoryDurable, ScriptedHttp};
use switchboard_edge::ports::HttpRequest;

const APP_SECRET: &str = "meta-app-secret";
const TWILIO_TOKEN: &str = "twilio-auth-token";
const VOICE_URL: &str = "https://bot.example/channels/twilio/voice";
/// The Graph API version the relays call by default.
const GRAPH_VERSION: &str = "v21.0";

fn config() -> Config {
    let mut config = Config::for_tests();
    for (name, value) in [
        ("META_APP_SECRET", APP_SECRET),
        ("META_VERIFY_TOKEN", "verify-token"),
        ("MESSENGER_PAGE_TOKEN", "page-token"),
        ("WHATSAPP_TOKEN", "wa-token"),
        ("GRAPH_API_URL", "http://graph.test"),
        ("TELEGRAM_BOT_TOKEN", "123:abc"),
        ("TELEGRAM_SECRET_TOKEN", "tg-secret"),
        ("TELEGRAM_API_URL", "http://telegram.test"),
        ("TWILIO_AUTH_TOKEN", TWILIO_TOKEN),
        ("TWILIO_ACCOUNT_SID", "AC1"),
        ("TWILIO_API_URL", "http://twilio.test"),
        ("TWILIO_HANDOFF_NUMBER", "+15550001234"),
    ] {
        config.set(name, value).unwrap();
    }
    config
}

fn relay_edge() -> TestEdge {
    edge_with(config(), ScriptedHttp::default())
}

/// The demo agent, remembering the order number across the conversation
/// (`default_from: session.order-number`) and storing no WhatsApp text.
fn channels_agent() -> &'static Agent {
    static AGENT: std::sync::OnceLock<Agent> = std::sync::OnceLock::new();
    AGENT.get_or_init(|| {
        let mut file: Value = serde_json::from_str(include_str!("../agents/retail-demo.json")).unwrap();
        file["privacy"] = json!({"whatsapp": {"store_text": false}});
        let order =
            file["intents"].as_array_mut().unwrap().iter_mut().find(|i| i["name"] == "CheckOrderStatus").unwrap();
        order["parameters"][0]["default_from"] = json!("session.order-number");
        Agent::from_json(&file.to_string()).unwrap()
    })
}

/// What a delivery came to: the webhook's answer, what the relays would send, and the typing
/// indicators shown.
struct Outcome {
    response: ApiResponse,
    sends: Vec<HttpRequest>,
    typing: Vec<HttpRequest>,
}

impl Outcome {
    fn bodies(&self) -> Vec<Value> {
        self.sends.iter().map(|r| serde_json::from_str(r.body.as_deref().unwrap()).unwrap()).collect()
    }

    /// Everything the relays would send, as text (form bodies included).
    fn bodies_text(&self) -> String {
        self.sends.iter().filter_map(|r| r.body.clone()).collect::<Vec<_>>().join("\n")
    }
}

/// The worker's and the user's object's parts of a delivery, in memory.
fn deliver(edge: &TestEdge, seen: &MemoryDurable, request: ApiRequest) -> Outcome {
    let (mut sends, mut typing) = (Vec::new(), Vec::new());
    let response = match block_on(channels::receive(edge, &request)) {
        Err(e) => e.response(),
        Ok(Received::Answer(response)) => response,
        Ok(Received::Events { channel, envelopes, .. }) => {
            let mut answers = Vec::new();
            for envelope in envelopes {
                let rendered = block_on(channels::deliver(edge, seen, &envelope, |t| typing.push(t))).unwrap();
                sends.extend(rendered.sends);
                answers.push(rendered.answer);
            }
            channels::acknowledge(channel, &edge.config.channels, &answers)
        }
    };
    Outcome { response, sends, typing }
}

fn meta(path: &str, body: &Value) -> ApiRequest {
    let body = body.to_string();
    let signature = format!("sha256={}", user_hash(APP_SECRET.as_bytes(), &body));
    ApiRequest::post(path, &body).header("X-Hub-Signature-256", &signature)
}

fn whatsapp(id: &str, from: &str, text: &str) -> ApiRequest {
    meta(
        "/channels/whatsapp",
        &json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
            "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550009999", "phone_number_id": "PNID"},
                      "contacts": [{"profile": {"name": "Ann"}, "wa_id": from}],
                      "messages": [{"from": from, "id": id, "timestamp": "1", "type": "text", "text": {"body": text}}]}}]}]}),
    )
}

fn messenger(mid: &str, psid: &str, text: &str) -> ApiRequest {
    meta(
        "/channels/messenger",
        &json!({"object": "page", "entry": [{"id": "PAGE", "time": 1, "messaging": [
            {"sender": {"id": psid}, "recipient": {"id": "PAGE"}, "timestamp": 1, "message": {"mid": mid, "text": text}}]}]}),
    )
}

fn sms_from(sid: &str, from: &str, text: &str) -> ApiRequest {
    let fields = [("MessageSid", sid), ("From", from), ("To", "+15550009999"), ("Body", text)];
    let url = "https://bot.example/channels/twilio/sms";
    let params: Vec<(String, String)> = fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    ApiRequest { url: url.into(), ..ApiRequest::post("/channels/twilio/sms", &form(&fields)) }
        .header("X-Twilio-Signature", &twilio::signature(TWILIO_TOKEN, url, &params))
}

fn voice(query: &str, fields: &[(&str, &str)]) -> ApiRequest {
    let url = if query.is_empty() { VOICE_URL.to_owned() } else { format!("{VOICE_URL}?{query}") };
    let params: Vec<(String, String)> = fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let body = form(fields);
    let signature = twilio::signature(TWILIO_TOKEN, &url, &params);
    ApiRequest { url, query: query.into(), ..ApiRequest::post("/channels/twilio/voice", &body) }
        .header("X-Twilio-Signature", &signature)
}

fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            let encode = |s: &str| {
                s.bytes()
                    .map(|b| match b {
                        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
                        b' ' => "+".into(),
                        _ => format!("%{b:02X}"),
                    })
                    .collect::<String>()
            };
            format!("{}={}", encode(k), encode(v))
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn texts_sent(outcome: &Outcome, pointer: &str) -> Vec<String> {
    outcome.bodies().iter().filter_map(|b| b.pointer(pointer).and_then(Value::as_str).map(str::to_owned)).collect()
}

#[test]
fn one_person_across_web_whatsapp_and_a_call() {
    let edge = switchboard_edge::memory::edge(channels_agent(), config(), ScriptedHttp::default());
    let seen = MemoryDurable::default();
    // A signed-in web user whose site vouches for her phone asks, and is asked for the number.
    let jwt = site_jwt(&json!({"sub": "ann-42", "exp": now_s() + 6 * 3600, "phone": "+1 555 123 0001"}));
    let (web, created) = open_with(&edge, &json!({"channel": "web", "jwt": jwt}).to_string());
    assert_eq!(say(&edge, &web, "Where is my order?"), ["Can you provide your order number?"]);

    // She answers on WhatsApp from that phone: the same user, the same open question.
    let answered = deliver(&edge, &seen, whatsapp("wamid.1", "15551230001", "123456"));
    assert_eq!(answered.response.status, 200);
    assert_eq!(texts_sent(&answered, "/text/body"), [DELIVERY]);
    assert_eq!(answered.sends[0].url, "http://graph.test/v21.0/PNID/messages");
    assert_eq!(answered.bodies()[0]["to"], "+15551230001");
    let history = history(&edge, &web);
    // One conversation, one history; this agent stores no WhatsApp text.
    assert_eq!(history[history.len() - 2], ("user".into(), "[not stored]".into()));
    assert_eq!(history[history.len() - 1], ("bot".into(), DELIVERY.into()));

    // Someone calls with her number as caller ID, not attested by the carrier: a stranger,
    // who gets a conversation of their own, not hers.
    let spoofed = [("CallSid", "CA0"), ("From", "+15551230001"), ("To", "+15550009999"), ("CallStatus", "in-progress")];
    deliver(&edge, &seen, voice("", &spoofed));
    let asked = [&spoofed[..], &[("SpeechResult", "Where is my order?"), ("Confidence", "0.92")]].concat();
    let answer = deliver(&edge, &seen, voice("turn=1", &asked));
    assert!(!answer.response.body.contains(DELIVERY), "{}", answer.response.body);
    assert!(answer.response.body.contains("order number"), "{}", answer.response.body);
    // An SMS from her number is no proof either.
    let sms = deliver(&edge, &seen, sms_from("SM1", "+15551230001", "123456"));
    assert!(!sms.bodies_text().contains(DELIVERY));

    // She calls, her number attested (STIR/SHAKEN A): greeted, asks again, answered from
    // what the conversation knows.
    let call = [
        ("CallSid", "CA1"),
        ("From", "+15551230001"),
        ("To", "+15550009999"),
        ("CallStatus", "in-progress"),
        ("StirVerstat", "TN-Validation-Passed-A"),
    ];
    let greeting = deliver(&edge, &seen, voice("", &call));
    assert_eq!(greeting.response.headers[0].1, "text/xml; charset=utf-8");
    assert!(
        greeting
            .response
            .body
            .contains("<Gather input=\"speech dtmf\" action=\"/channels/twilio/voice?turn=1&amp;attested=1\"")
    );
    assert!(
        greeting.response.body.contains("You can say: where is my order"),
        "the voice override: {}",
        greeting.response.body
    );
    // Later turns carry the attestation in the URL Twilio signs (not in the form).
    let asked = [&call[..4], &[("SpeechResult", "Where is my order?"), ("Confidence", "0.92")]].concat();
    let answer = deliver(&edge, &seen, voice("turn=1&attested=1", &asked));
    assert!(answer.response.body.contains(DELIVERY), "{}", answer.response.body);
    assert!(answer.response.body.contains("action=\"/channels/twilio/voice?turn=2&amp;attested=1\""));
    assert_eq!(created["user_id"].as_str().unwrap(), edge.store.entries.borrow()["id:phone:+15551230001"].0);
}

#[test]
fn redeliveries_are_answered_once() {
    let edge = relay_edge();
    let seen = MemoryDurable::default();
    let first = deliver(&edge, &seen, messenger("m.1", "PSID-1", "Where is my order?"));
    assert_eq!(texts_sent(&first, "/message/text"), ["Can you provide your order number?"]);
    assert_eq!(first.typing.len(), 1, "typing_on while the turn runs");
    let again = deliver(&edge, &seen, messenger("m.1", "PSID-1", "Where is my order?"));
    assert_eq!((again.response.status, again.sends.len(), again.typing.len()), (200, 0, 0));

    // Telegram and WhatsApp alike.
    let update = json!({"update_id": 900, "message": {"message_id": 1, "chat": {"id": 77}, "text": "hi"}}).to_string();
    let telegram =
        || ApiRequest::post("/channels/telegram", &update).header("X-Telegram-Bot-Api-Secret-Token", "tg-secret");
    assert_eq!(deliver(&edge, &seen, telegram()).sends.len(), 1);
    assert_eq!(deliver(&edge, &seen, telegram()).sends.len(), 0);
    assert_eq!(deliver(&edge, &seen, whatsapp("wamid.7", "15550000007", "hi")).sends.len(), 1);
    assert_eq!(deliver(&edge, &seen, whatsapp("wamid.7", "15550000007", "hi")).sends.len(), 0);

    // A retried voice request gets its first answer again, and the turn is not run twice.
    let call = [("CallSid", "CA2"), ("From", "+15550000002"), ("SpeechResult", "Where is my order?")];
    let first = deliver(&edge, &seen, voice("turn=1", &call));
    let stored = edge.store.entries.borrow().len();
    let retried = deliver(&edge, &seen, voice("turn=1", &call));
    assert_eq!(retried.response.body, first.response.body);
    assert!(first.response.body.contains("Can you provide your order number?"));
    let hist = |edge: &TestEdge| {
        let entries = edge.store.entries.borrow();
        entries.iter().filter(|(k, _)| k.starts_with("hist:")).map(|(_, (v, _))| v.clone()).collect::<String>()
    };
    assert_eq!(hist(&edge).matches("Can you provide your order number?").count(), 2, "Messenger's and the call's");
    assert_eq!(edge.store.entries.borrow().len(), stored);
}

#[test]
fn forged_and_missing_signatures_are_refused_before_anything_happens() {
    let edge = relay_edge();
    let seen = MemoryDurable::default();
    let body = messenger("m.1", "PSID-1", "hi").body;
    let forged_meta = |path: &str| {
        ApiRequest::post(path, std::str::from_utf8(&body).unwrap())
            .header("X-Hub-Signature-256", &format!("sha256={}", user_hash(b"wrong", "x")))
    };
    let unsigned = |path: &str| ApiRequest::post(path, "{}");
    let mut forged_voice = voice("", &[("CallSid", "CA1"), ("From", "+15551230001")]);
    forged_voice.headers[0].1 = twilio::signature("wrong-token", VOICE_URL, &[]);
    let cases = [
        (forged_meta("/channels/messenger"), 403),
        (forged_meta("/channels/whatsapp"), 403),
        (unsigned("/channels/messenger"), 401),
        (unsigned("/channels/whatsapp"), 401),
        (unsigned("/channels/telegram"), 401),
        (unsigned("/channels/twilio/sms"), 401),
        (unsigned("/channels/twilio/voice"), 401),
        (ApiRequest::post("/channels/telegram", "{}").header("X-Telegram-Bot-Api-Secret-Token", "guess"), 403),
        (forged_voice, 403),
    ];
    for (request, status) in cases {
        let path = request.path.clone();
        let outcome = deliver(&edge, &seen, request);
        assert_eq!(outcome.response.status, status, "{path}: {}", outcome.response.body);
        assert!(outcome.sends.is_empty());
    }
    // A signed body that is not a delivery is a 400, never a 500.
    let signed_junk = ApiRequest::post("/channels/messenger", "test")
        .header("X-Hub-Signature-256", &format!("sha256={}", user_hash(APP_SECRET.as_bytes(), "test")));
    assert_eq!(deliver(&edge, &seen, signed_junk).response.status, 400);
    assert!(edge.store.entries.borrow().is_empty(), "nothing was written");
    // A channel without credentials refuses deliveries.
    let bare = edge_with(Config::for_tests(), ScriptedHttp::default());
    assert_eq!(deliver(&bare, &seen, messenger("m.1", "PSID-1", "hi")).response.status, 501);
}

#[test]
fn notices_media_and_the_handshake_never_fail() {
    let edge = relay_edge();
    let seen = MemoryDurable::default();
    let handshake =
        ApiRequest::get("/channels/whatsapp?hub.mode=subscribe&hub.verify_token=verify-token&hub.challenge=8080");
    let answered = deliver(&edge, &seen, handshake);
    assert_eq!((answered.response.status, answered.response.body.as_str()), (200, "8080"));
    let wrong = ApiRequest::get("/channels/messenger?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=8080");
    assert_eq!(deliver(&edge, &seen, wrong).response.status, 403);

    let statuses = meta(
        "/channels/whatsapp",
        &json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
            "value": {"metadata": {"phone_number_id": "PNID"},
                      "statuses": [{"id": "wamid.1", "status": "read", "recipient_id": "15551230001"}]}}]}]}),
    );
    let receipts = deliver(&edge, &seen, statuses);
    assert_eq!((receipts.response.status, receipts.sends.len()), (200, 0));
    assert!(edge.take_logs().iter().any(|l| l.contains("\"channel_notice\"") && l.contains("\"read\"")));

    // A photo without a caption is answered (the agent did not understand it), a sticker is not.
    let image = meta(
        "/channels/messenger",
        &json!({"object": "page", "entry": [{"id": "PAGE", "messaging": [
            {"sender": {"id": "PSID-9"}, "recipient": {"id": "PAGE"}, "timestamp": 1,
             "message": {"mid": "m.img", "attachments": [{"type": "image", "payload": {"url": "https://x/y.jpg"}}]}},
            {"sender": {"id": "PSID-9"}, "recipient": {"id": "PAGE"}, "timestamp": 2,
             "message": {"mid": "m.stk", "attachments": [{"type": "image", "payload": {"sticker_id": 1}}]}}]}]}),
    );
    let outcome = deliver(&edge, &seen, image);
    assert_eq!(outcome.response.status, 200);
    assert_eq!(outcome.sends.len(), 1);
    assert!(texts_sent(&outcome, "/message/text")[0].starts_with("Sorry, I didn't get that."));

    // Text longer than any turn takes is refused once, quietly, and not retried.
    let long = "word ".repeat(2_500);
    let refused = deliver(&edge, &seen, whatsapp("wamid.long", "15550000010", &long));
    assert_eq!((refused.response.status, refused.sends.len()), (200, 0));
    assert!(edge.take_logs().iter().any(|l| l.contains("channel_event_refused")));
    assert_eq!(deliver(&edge, &seen, whatsapp("wamid.long", "15550000010", &long)).response.status, 200);

    // Telegram's /start greets with the welcome and its buttons.
    let start = json!({"update_id": 1, "message": {"message_id": 1, "chat": {"id": 5}, "text": "/start"}}).to_string();
    let request = ApiRequest::post("/channels/telegram", &start).header("X-Telegram-Bot-Api-Secret-Token", "tg-secret");
    let greeted = deliver(&edge, &seen, request);
    let body = &greeted.bodies()[0];
    assert!(body["text"].as_str().unwrap().starts_with("Hi! I'm the Switchboard Shop assistant."));
    assert_eq!(body["reply_markup"]["inline_keyboard"][0][0]["callback_data"], "Where is my order?");
}

#[test]
fn voice_reprompts_on_silence_dials_on_handoff_and_records_a_hang_up() {
    let edge = relay_edge();
    let seen = MemoryDurable::default();
    let call = [("CallSid", "CA5"), ("From", "+15550000005"), ("To", "+15550009999")];
    deliver(&edge, &seen, voice("", &call));
    let silence = deliver(&edge, &seen, voice("turn=1&noinput=1", &call));
    assert!(silence.response.body.contains("Are you still there?"), "{}", silence.response.body);
    let asked = [&call[..], &[("SpeechResult", "where is my order")]].concat();
    assert!(
        deliver(&edge, &seen, voice("turn=2", &asked)).response.body.contains("Can you provide your order number?")
    );
    let digits = [&call[..], &[("Digits", "123456#")]].concat();
    assert!(
        deliver(&edge, &seen, voice("turn=3", &digits)).response.body.contains(DELIVERY),
        "keypad digits are a number"
    );
    let human = [&call[..], &[("SpeechResult", "I want to speak to a person")]].concat();
    let handoff = deliver(&edge, &seen, voice("turn=4", &human));
    assert!(handoff.response.body.contains("<Dial>+15550001234</Dial>"), "{}", handoff.response.body);
    let over = [&call[..], &[("CallStatus", "completed")]].concat();
    let hung_up = deliver(&edge, &seen, voice("turn=5", &over));
    assert_eq!(hung_up.response.body, r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#);
}

#[test]
fn sms_replies_go_through_the_rest_api() {
    let edge = relay_edge();
    let seen = MemoryDurable::default();
    let fields =
        [("MessageSid", "SM1"), ("From", "+15550000006"), ("To", "+15550009999"), ("Body", "Where is order 222222?")];
    let url = "https://bot.example/channels/twilio/sms";
    let params: Vec<(String, String)> = fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let request = ApiRequest { url: url.into(), ..ApiRequest::post("/channels/twilio/sms", &form(&fields)) }
        .header("X-Twilio-Signature", &twilio::signature(TWILIO_TOKEN, url, &params));
    let outcome = deliver(&edge, &seen, request.clone());
    assert_eq!((outcome.response.status, outcome.response.body.as_str()), (200, "<Response/>"));
    assert_eq!(outcome.sends.len(), 1);
    assert_eq!(outcome.sends[0].url, "http://twilio.test/2010-04-01/Accounts/AC1/Messages.json");
    assert!(outcome.sends[0].body.as_deref().unwrap().contains("Body=Your+order+222222+is+being+packed"));
    assert_eq!(deliver(&edge, &seen, request).sends.len(), 0, "a redelivery is dropped");
}

#[test]
fn text_a_channels_privacy_policy_forbids_is_not_stored() {
    let edge = switchboard_edge::memory::edge(channels_agent(), config(), ScriptedHttp::default());
    let seen = MemoryDurable::default();
    let outcome = deliver(&edge, &seen, whatsapp("wamid.p1", "15550000008", "my cat zanzibar ate the parcel"));
    assert!(texts_sent(&outcome, "/text/body")[0].starts_with("Sorry"), "answered");
    deliver(&edge, &seen, messenger("m.p2", "PSID-P", "my dog quixote ate the parcel"));
    let stored = everything_stored(&edge);
    assert!(!stored.contains("zanzibar"), "{stored}");
    assert!(stored.contains("[not stored]"));
    assert!(stored.contains("quixote"), "Messenger's policy allows it: {stored}");
    let analytics = format!("{:?}", edge.analytics.stats());
    assert!(!analytics.contains("zanzibar") && analytics.contains("quixote"), "{analytics}");
}

#[test]
fn a_whatsapp_customer_handed_off_gets_the_agents_reply_on_whatsapp() {
    let edge = relay_edge();
    let seen = MemoryDurable::default();
    deliver(&edge, &seen, whatsapp("wamid.h1", "15551230007", "I want to speak to a person"));
    let (status, queue) = call(&edge, ApiRequest::get("/v1/agent/queue").bearer("alice-token"));
    assert_eq!(status, 200);
    let entry = &queue["conversations"][0];
    assert_eq!(
        (&entry["channel"], &entry["profile"]["phone"]),
        (&json!("whatsapp"), &json!("+15551230007")),
        "{queue}"
    );

    // While humans have it, the customer's message gets no bot reply.
    let held = deliver(&edge, &seen, whatsapp("wamid.h2", "15551230007", "hello?"));
    assert!(held.sends.is_empty(), "the bot stays silent: {:?}", held.bodies());

    let path = format!("/v1/agent/conversations/{}", entry["conversation_id"].as_str().unwrap());
    assert_eq!(call(&edge, ApiRequest::post(&format!("{path}/claim"), "").bearer("alice-token")).0, 200);
    edge.http.sent.borrow_mut().clear();
    let reply = json!({"text": "Hi, Alice here."}).to_string();
    let (status, _) = call(&edge, ApiRequest::post(&format!("{path}/messages"), &reply).bearer("alice-token"));
    assert_eq!(status, 200);
    let sent = edge.http.sent.borrow();
    assert_eq!(sent.len(), 1, "one message to the Graph API: {sent:?}");
    assert_eq!(sent[0].url, format!("http://graph.test/{GRAPH_VERSION}/PNID/messages"));
    let body: Value = serde_json::from_str(sent[0].body.as_deref().unwrap()).unwrap();
    assert_eq!((&body["to"], &body["text"]["body"]), (&json!("+15551230007"), &json!("Hi, Alice here.")), "{body}");
    drop(sent);

    // Calling in (an attested number) while a human has the conversation reaches a person
    // rather than dead air.
    let ring = [
        ("CallSid", "CA9"),
        ("From", "+15551230007"),
        ("To", "+15550009999"),
        ("CallStatus", "in-progress"),
        ("StirVerstat", "TN-Validation-Passed-A"),
    ];
    let rung = deliver(&edge, &seen, voice("", &ring));
    assert!(rung.response.body.ends_with("<Dial>+15550001234</Dial></Response>"), "{}", rung.response.body);
}

#[test]
fn a_stranger_cannot_open_a_channel_customers_conversation() {
    let edge = relay_edge();
    let seen = MemoryDurable::default();
    // A Telegram customer and a WhatsApp customer tell the bot their order numbers.
    let update = json!({"update_id": 901, "message": {"message_id": 1, "chat": {"id": 4242, "type": "private"},
                        "from": {"id": 4242}, "text": "Where is order 123456?"}})
    .to_string();
    let telegram =
        ApiRequest::post("/channels/telegram", &update).header("X-Telegram-Bot-Api-Secret-Token", "tg-secret");
    deliver(&edge, &seen, telegram);
    deliver(&edge, &seen, whatsapp("wamid.s1", "15551230042", "Where is order 222222?"));
    let stored = everything_stored(&edge);
    let users: Vec<String> =
        edge.store.entries.borrow().keys().filter_map(|k| k.strip_prefix("ctx:").map(str::to_owned)).collect();
    assert_eq!(users.len(), 2, "{stored}");
    // The attacker tries every id they could compute or learn: the digest the old scheme
    // derived without a secret, the user ids themselves (they appear on the desk and in
    // logs), with and without the `u-` prefix, and ids of every valid length.
    let legacy = |index: &str| {
        switchboard_edge::keys::hex(&switchboard_edge::keys::hmac(b"switchboard user id", index.as_bytes())[..12])
    };
    let mut guesses: Vec<String> = vec![legacy("id:telegram:4242"), legacy("id:phone:+15551230042")];
    for user in &users {
        guesses.push(user.clone());
        guesses.push(user.trim_start_matches("u-").to_owned());
    }
    guesses.extend((0..=80).map(|n| "v".repeat(n)));
    guesses.extend((0..=80).map(|n| format!("v2-{}", "0".repeat(n))));
    for guess in guesses {
        let body = json!({"channel": "web", "visitor_id": guess}).to_string();
        let (status, created) = call(&edge, ApiRequest::post("/v1/conversations", &body));
        // Always a new visitor: 201 whether or not the id means something, so nothing is told.
        assert_eq!(status, 201, "{guess}: {created}");
        assert!(!users.contains(&created["user_id"].as_str().unwrap().to_owned()), "{guess}");
        let text = created.to_string();
        assert!(!text.contains("123456") && !text.contains("222222"), "{guess}: {text}");
    }
}

#[test]
fn telegram_groups_are_refused_rather_than_shared() {
    let edge = relay_edge();
    let seen = MemoryDurable::default();
    // In a group every member writes from the group's chat id: answering would give each
    // member the others' context. Only private chats are served.
    for (id, chat_type) in [(910, "group"), (911, "supergroup"), (912, "channel")] {
        let update = json!({"update_id": id, "message": {"message_id": 1, "chat": {"id": -100, "type": chat_type},
                            "from": {"id": 7}, "text": "Where is order 123456?"}})
        .to_string();
        let request =
            ApiRequest::post("/channels/telegram", &update).header("X-Telegram-Bot-Api-Secret-Token", "tg-secret");
        let outcome = deliver(&edge, &seen, request);
        assert_eq!((outcome.response.status, outcome.sends.len()), (200, 0), "{chat_type}");
    }
    assert!(!everything_stored(&edge).contains("ctx:"), "no user was made");
}
