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

pub fn open(edge: &TestEdge, visitor: Option<&str>) -> (Session, Value) {
    let body = match visitor {
        Some(v) => format!(r#"{{"channel":"web","visitor_id":"{v}"}}"#),
        None => r#"{"channel":"web"}"#.to_owned(),
    };
    open_with(edge, &body)
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
