//! Helpers for the native API tests: an edge in memory, and calls as a client makes them.
#![allow(dead_code)]

use futures_executor::block_on;
use serde_json::Value;
use switchboard_dialog::agent::Agent;
use switchboard_edge::api::{self, ApiRequest, ApiResponse};
use switchboard_edge::memory::{MemoryAnalytics, MemoryStore, ScriptedHttp, StepClock};
use switchboard_edge::{Config, Edge};

pub type TestEdge = Edge<'static, MemoryStore, ScriptedHttp, StepClock, MemoryAnalytics>;

pub const DELIVERY: &str = "Your order 123456 is out for delivery and expected by 6 PM today.";

pub fn agent() -> &'static Agent {
    static AGENT: std::sync::OnceLock<Agent> = std::sync::OnceLock::new();
    AGENT.get_or_init(|| Agent::from_json(include_str!("../../agents/retail-demo.json")).unwrap())
}

pub fn edge_with(config: Config, http: ScriptedHttp) -> TestEdge {
    switchboard_edge::memory::edge(agent(), config, http)
}

pub fn edge() -> TestEdge {
    edge_with(Config::for_tests(), ScriptedHttp::default())
}

pub fn call(edge: &TestEdge, request: ApiRequest) -> (u16, Value) {
    let ApiResponse { status, body, .. } = block_on(api::handle(edge, request));
    (status, if body.is_empty() { Value::Null } else { serde_json::from_str(&body).unwrap() })
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub token: String,
}

impl Session {
    pub fn from(json: &Value) -> Self {
        Session { id: json["conversation_id"].as_str().unwrap().into(), token: json["token"].as_str().unwrap().into() }
    }

    pub fn path(&self, rest: &str) -> String {
        format!("/v1/conversations/{}/{rest}", self.id)
    }
}

thread_local! {
    /// The credential the edge issued to each named test visitor ("visitor-laptop"), per edge.
    static VISITORS: std::cell::RefCell<std::collections::HashMap<(usize, String), String>> = Default::default();
}

/// The credential the edge issued to the visitor a test calls `name`, once it opened.
pub fn credential(edge: &TestEdge, name: &str) -> Option<String> {
    VISITORS.with_borrow(|v| v.get(&(edge as *const TestEdge as usize, name.to_owned())).cloned())
}

/// Remembers the credential the edge gave the visitor `name` (what the widget's storage does).
pub fn remember(edge: &TestEdge, name: &str, credential: &str) {
    VISITORS.with_borrow_mut(|v| v.insert((edge as *const TestEdge as usize, name.to_owned()), credential.to_owned()));
}

/// Opens as the visitor a test calls `name` (a browser): the first time without a
/// `visitor_id`, later with the credential the edge issued, as the widget does.
pub fn open(edge: &TestEdge, visitor: Option<&str>) -> (Session, Value) {
    let body = match visitor.and_then(|name| credential(edge, name)) {
        Some(v) => format!(r#"{{"channel":"web","visitor_id":"{v}"}}"#),
        None => r#"{"channel":"web"}"#.to_owned(),
    };
    let (session, json) = open_with(edge, &body);
    if let (Some(name), Some(issued)) = (visitor, json["visitor_id"].as_str()) {
        remember(edge, name, issued);
    }
    (session, json)
}

pub fn open_with(edge: &TestEdge, body: &str) -> (Session, Value) {
    let (status, json) = call(edge, ApiRequest::post("/v1/conversations", body));
    assert!(status == 200 || status == 201, "{status} {json}");
    (Session::from(&json), json)
}

pub fn say(edge: &TestEdge, s: &Session, text: &str) -> Vec<String> {
    let body = serde_json::json!({ "text": text }).to_string();
    let (status, json) = call(edge, ApiRequest::post(&s.path("messages"), &body).bearer(&s.token));
    assert_eq!(status, 200, "{json}");
    json["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_owned()).collect()
}

pub fn history(edge: &TestEdge, s: &Session) -> Vec<(String, String)> {
    let (status, json) = call(edge, ApiRequest::get(&s.path("messages")).bearer(&s.token));
    assert_eq!(status, 200, "{json}");
    json["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["role"].as_str().unwrap().to_owned(), m["text"].as_str().unwrap().to_owned()))
        .collect()
}

/// Every value in the store, as one text, to check what was (not) written.
pub fn everything_stored(edge: &TestEdge) -> String {
    edge.store.entries.borrow().iter().map(|(k, (v, _))| format!("{k} = {v}\n")).collect()
}

/// When the test clock ([`switchboard_edge::memory::StepClock`]) starts, in seconds.
pub fn now_s() -> u64 {
    1_764_000_000
}

#[allow(unused_imports)]
pub use switchboard_edge::config::{TEST_IDENTITY_SECRET, TEST_TOKEN_SECRET};
pub use switchboard_edge::keys::jwt_key;

/// A JWT the embedding site signs for `claims`, with the JWT key the test config derives.
pub fn site_jwt(claims: &Value) -> String {
    switchboard_edge::identity::sign_jwt(&jwt_key(TEST_IDENTITY_SECRET.as_bytes()), claims)
}

/// `user_hash` as the embedding site computes it with the test config's identity secret.
pub fn site_hash(user_id: &str) -> String {
    switchboard_edge::identity::user_hash(TEST_IDENTITY_SECRET.as_bytes(), user_id)
}
