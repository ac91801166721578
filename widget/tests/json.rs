//! The widget's serde adapter agrees with `serde_json` (what the edge speaks) on the wire types.

use switchboard_dialog::protocol::{
    Card, CardButton, ConversationCreated, ConversationStatus, CreateConversation, ErrorBody, Identify, Message,
    Messages, QuickReply, Role, SendMessage,
};
use switchboard_widget::json::{self, Invalid};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn parse(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap()
}

fn stringify(value: &JsValue) -> String {
    js_sys::JSON::stringify(value).unwrap().into()
}

fn rich_message() -> Message {
    Message {
        id: "m2".into(),
        role: Role::Bot,
        text: "Which size?".into(),
        quick_replies: vec![
            QuickReply { label: "Small".into(), payload: Some("size_s".into()) },
            QuickReply { label: "Large".into(), payload: None },
        ],
        cards: vec![Card {
            title: "Trail shoe".into(),
            subtitle: Some("€89".into()),
            image: None,
            buttons: vec![CardButton {
                label: "View".into(),
                payload: None,
                url: Some("https://shop.example/s".into()),
            }],
        }],
        ts: 1_767_225_600_000,
        author: None,
    }
}

#[wasm_bindgen_test]
fn reads_what_serde_json_writes() {
    let created = ConversationCreated {
        conversation_id: "c_12345678".into(),
        token: "t.sig".into(),
        user_id: "u_12345678".into(),
        visitor_id: "v_12345678".into(),
        messages: vec![
            Message {
                id: "m1".into(),
                role: Role::Agent,
                text: "Hi".into(),
                quick_replies: vec![],
                cards: vec![],
                ts: 0,
                author: Some("Alice".into()),
            },
            rich_message(),
        ],
        status: ConversationStatus::Human,
    };
    let text = serde_json::to_string(&created).unwrap();
    assert_eq!(json::from_value::<ConversationCreated>(parse(&text)), Ok(created));

    let page =
        Messages { messages: vec![rich_message()], previous: Some("m1".into()), status: ConversationStatus::Waiting };
    let text = serde_json::to_string(&page).unwrap();
    assert_eq!(json::from_value::<Messages>(parse(&text)), Ok(page));
}

#[wasm_bindgen_test]
fn writes_what_serde_json_writes() {
    let open = CreateConversation {
        channel: "web".into(),
        visitor_id: Some("v_12345678".into()),
        agent: None,
        identity: None,
    };
    let text = stringify(&json::to_value(&open).unwrap());
    assert_eq!(text, r#"{"channel":"web","visitor_id":"v_12345678"}"#);

    let identified = CreateConversation {
        channel: "web".into(),
        visitor_id: None,
        agent: Some("Switchboard Shop".into()),
        identity: Some(Identify { user_id: Some("42".into()), user_hash: Some("ab12".into()), ..Identify::default() }),
    };
    let send = SendMessage { text: "Größe \"M\" ✓\n".into(), payload: Some("size_m".into()) };
    for (ours, theirs) in [
        (json::to_value(&identified), serde_json::to_string(&identified)),
        (json::to_value(&send), serde_json::to_string(&send)),
        (json::to_value(&rich_message()), serde_json::to_string(&rich_message())),
    ] {
        assert_eq!(stringify(&ours.unwrap()), theirs.unwrap());
    }
}

#[wasm_bindgen_test]
fn ignores_unknown_fields_and_defaults_missing_optional_ones() {
    let body = parse(r#"{"messages":[{"id":"m1","role":"bot","text":"Hi","ts":5,"new_field":{"x":[1,2.5]}}]}"#);
    let page = json::from_value::<Messages>(body).unwrap();
    assert_eq!(page.previous, None);
    assert_eq!(page.messages[0].quick_replies, []);
    assert_eq!(page.messages[0].ts, 5);

    let error = parse(r#"{"error":{"code":"rate_limited","message":"slow down"}}"#);
    assert_eq!(json::from_value::<ErrorBody>(error).unwrap().error.code, "rate_limited");
}

#[wasm_bindgen_test]
fn refuses_values_that_do_not_fit() {
    for body in [
        r#"{"id":"m1","role":"robot","text":"Hi","ts":5}"#,
        r#"{"id":"m1","role":"bot","text":"Hi","ts":"5"}"#,
        r#"{"id":"m1","role":"bot","text":"Hi","ts":5.5}"#,
        r#"{"id":"m1","role":"bot","text":"Hi","ts":-1}"#,
        r#"{"id":"m1","role":"bot","ts":5}"#,
        r#"{"id":"m1","role":"bot","text":null,"ts":5}"#,
        r#"["m1","bot","Hi",[],[],5]"#,
        r#""m1""#,
    ] {
        assert_eq!(json::from_value::<Message>(parse(body)), Err(Invalid), "{body}");
    }
}

/// Not a wire type yet: rich messages may become one.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text { text: String },
    Card { title: String, ts: u64, buttons: Vec<String> },
}

#[wasm_bindgen_test]
fn internally_tagged_enums_round_trip() {
    for block in
        [Block::Text { text: "hi".into() }, Block::Card { title: "Shoe".into(), ts: 7, buttons: vec!["View".into()] }]
    {
        let text = serde_json::to_string(&block).unwrap();
        assert_eq!(stringify(&json::to_value(&block).unwrap()), text);
        assert_eq!(json::from_value::<Block>(parse(&text)).unwrap(), block);
    }
}
