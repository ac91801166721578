//! The OpenAPI document (`edge/openapi.json`, served at `/v1/openapi.json`) and the router in
//! step: every documented operation is routed and answers as documented, every route of the
//! module doc table of `api.rs` is documented, real responses have exactly the documented
//! properties, and every error code a route answers with is listed under that route and status.
// Tests may panic: a panic here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use futures_executor::block_on;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use switchboard_edge::Config;
use switchboard_edge::api::{self, ApiRequest, MAX_BODY_BYTES, OPENAPI};
use switchboard_edge::error::ApiError;
use switchboard_edge::identity::IdentityError;
use switchboard_edge::memory::ScriptedHttp;

/// The module doc table of `edge/src/api.rs`: method, path template, query parameters.
const ROUTES: &[(&str, &str, &[&str])] = &[
    ("GET", "/v1/health", &[]),
    ("GET", "/v1/openapi.json", &[]),
    ("POST", "/v1/conversations", &[]),
    ("POST", "/v1/conversations/{id}/messages", &[]),
    ("GET", "/v1/conversations/{id}/messages", &["after", "before", "limit"]),
    ("POST", "/v1/conversations/{id}/identify", &[]),
    ("POST", "/v1/conversations/{id}/feedback", &[]),
    ("POST", "/v1/conversations/{id}/end", &[]),
    ("GET", "/v1/analytics", &["from", "to"]),
    ("PUT", "/v1/admin/agent", &[]),
    ("GET", "/v1/admin/agent", &[]),
    ("GET", "/v1/agent/queue", &["after", "limit"]),
    ("GET", "/v1/agent/conversations/{id}", &["after"]),
    ("POST", "/v1/agent/conversations/{id}/claim", &[]),
    ("POST", "/v1/agent/conversations/{id}/messages", &[]),
    ("POST", "/v1/agent/conversations/{id}/resolve", &[]),
    ("POST", "/v1/agent/conversations/{id}/release", &[]),
    ("POST", "/demo/fulfillment", &[]),
];

/// Human agents' tokens in `Config::for_tests` (Alice's and Bob's).
const ALICE: &str = "alice-token";
const BOB: &str = "bob-token";

/// Methods probed on every documented path (`OPTIONS` is every path's CORS preflight).
const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Component schemas no response carries: request bodies, and CX parts the demo never sends.
const NOT_IN_RESPONSES: &[&str] = &[
    "AgentFile",
    "AgentReply",
    "CreateConversation",
    "Feedback",
    "FormInfo",
    "FulfillmentInfo",
    "Identify",
    "IntentInfo",
    "IntentParameterValue",
    "LiveAgentHandoff",
    "PageInfo",
    "ParameterInfo",
    "SendMessage",
    "WebhookRequest",
];

/// An operation: (upper-case method, path template).
type Op<'a> = (&'a str, &'a str);

fn doc() -> Value {
    serde_json::from_str(OPENAPI).expect("edge/openapi.json is JSON")
}

/// Follows `$ref`s (local JSON pointers) to what they name.
fn resolve<'a>(doc: &'a Value, mut node: &'a Value) -> &'a Value {
    while let Some(target) = node.get("$ref").and_then(Value::as_str) {
        let pointer = target.strip_prefix('#').unwrap_or_else(|| panic!("non-local $ref {target}"));
        node = doc.pointer(pointer).unwrap_or_else(|| panic!("dangling $ref {target}"));
    }
    node
}

/// Every documented operation: (upper-case method, path template).
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for key in item.as_object().expect("path item").keys() {
            if ["get", "put", "post", "delete", "options", "head", "patch", "trace"].contains(&key.as_str()) {
                operations.insert((key.to_uppercase(), path.clone()));
            }
        }
    }
    operations
}

fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    &doc["paths"][path][method.to_lowercase()]
}

/// The operation's parameters, the path item's included.
fn parameters<'a>(doc: &'a Value, method: &str, path: &str) -> Vec<&'a Value> {
    let shared = doc["paths"][path]["parameters"].as_array().into_iter().flatten();
    let own = operation(doc, method, path)["parameters"].as_array().into_iter().flatten();
    shared.chain(own).map(|p| resolve(doc, p)).collect()
}

fn query_names(doc: &Value, method: &str, path: &str) -> BTreeSet<String> {
    let query = parameters(doc, method, path).into_iter().filter(|p| p["in"] == "query");
    query.map(|p| p["name"].as_str().expect("parameter name").to_owned()).collect()
}

/// The error codes an operation's response for `status` lists (its examples).
fn codes(doc: &Value, method: &str, path: &str, status: &str) -> BTreeSet<String> {
    let response = resolve(doc, &operation(doc, method, path)["responses"][status]);
    let examples = response["content"]["application/json"]["examples"].as_object().into_iter().flatten();
    examples.filter_map(|(_, e)| e["value"]["error"]["code"].as_str().map(str::to_owned)).collect()
}

/// Checks `value` against `schema`: types, `const`, `enum`, bounds, required ⊆ present ⊆
/// declared properties (unless `additionalProperties` allows more), array items. Records the
/// component schemas passed through in `seen`.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str, seen: &mut BTreeSet<String>) -> Result<(), String> {
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        if let Some(name) = target.strip_prefix("#/components/schemas/") {
            seen.insert(name.to_owned());
        }
        return check(doc, resolve(doc, schema), value, at, seen);
    }
    if let Some(branches) = schema.get("anyOf").and_then(Value::as_array) {
        let mut failures = Vec::new();
        for branch in branches {
            let mut branch_seen = BTreeSet::new();
            match check(doc, branch, value, at, &mut branch_seen) {
                Ok(()) => {
                    seen.extend(branch_seen);
                    return Ok(());
                }
                Err(e) => failures.push(e),
            }
        }
        return Err(format!("{at}: no branch of anyOf fits: {}", failures.join("; ")));
    }
    if let Some(expected) = schema.get("const")
        && expected != value
    {
        return Err(format!("{at}: {value} is not {expected}"));
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::Array(types) => types.iter().filter_map(Value::as_str).collect(),
            other => vec![other.as_str().expect("type is a string")],
        };
        if !types.iter().any(|t| is_type(value, t)) {
            return Err(format!("{at}: {value} is not {}", types.join(" or ")));
        }
    }
    if let Some(n) = value.as_f64() {
        let below = schema.get("minimum").and_then(Value::as_f64).is_some_and(|min| n < min);
        let above = schema.get("maximum").and_then(Value::as_f64).is_some_and(|max| n > max);
        if below || above {
            return Err(format!("{at}: {n} is out of bounds"));
        }
    }
    match value {
        Value::Object(object) => {
            for name in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                if !object.contains_key(name) {
                    return Err(format!("{at}: required property '{name}' is missing"));
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            for (key, v) in object {
                let at = format!("{at}.{key}");
                match (properties.and_then(|p| p.get(key)), schema.get("additionalProperties")) {
                    (Some(s), _) => check(doc, s, v, &at, seen)?,
                    (None, Some(Value::Bool(true))) => {}
                    (None, Some(s @ Value::Object(_))) => check(doc, s, v, &at, seen)?,
                    (None, None) if properties.is_none() => {}
                    _ => return Err(format!("{at}: not a documented property")),
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(doc, s, item, &format!("{at}[{i}]"), seen)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn is_type(value: &Value, name: &str) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        other => panic!("unknown type '{other}'"),
    }
}

/// Checks an answer against the operation's documented response for its status.
fn conforms(
    doc: &Value,
    (method, path): Op,
    status: u16,
    body: &Value,
    seen: &mut BTreeSet<String>,
) -> Result<(), String> {
    let documented = operation(doc, method, path)["responses"]
        .get(status.to_string())
        .ok_or_else(|| format!("status {status} is not documented ({body})"))?;
    match resolve(doc, documented)["content"]["application/json"].get("schema") {
        Some(schema) => check(doc, schema, body, "body", seen),
        None if body.is_null() => Ok(()),
        None => Err(format!("{status} is documented without a body, got {body}")),
    }
}

fn put_agent(body: &[u8]) -> ApiRequest {
    ApiRequest { method: "PUT".into(), path: "/v1/admin/agent".into(), body: body.to_vec(), ..ApiRequest::default() }
}

fn is_no_route(status: u16, body: &Value) -> bool {
    status == 404 && body["error"]["message"].as_str().is_some_and(|m| m.starts_with("no route"))
}

/// A conversation with a few messages (`m1` to `m5`), ready for any conversation endpoint.
fn conversation(edge: &TestEdge) -> Session {
    let (s, _) = open(edge, None);
    say(edge, &s, "Where is my order?");
    say(edge, &s, "123456");
    s
}

/// A conversation on the desk: the customer asked for a person (`m2`), the bot handed off
/// (`m3`). Its visitor is named, not generated, so that no example's visitor id (`v-…01` is the
/// first generated) resumes a conversation humans have.
fn handed_off(edge: &TestEdge, visitor: &str) -> Session {
    let (s, _) = open(edge, Some(visitor));
    say(edge, &s, "I want to speak to a person");
    s
}

/// The path of an agent endpoint on `s`'s conversation: `rest` is empty or `/claim`, `?after=m1`, …
fn agent_path(s: &Session, rest: &str) -> String {
    format!("/v1/agent/conversations/{}{rest}", s.id)
}

/// Whether the operation ends a handoff: the conversation leaves the desk.
fn ends_handoff(path: &str) -> bool {
    path.ends_with("/resolve") || path.ends_with("/release")
}

/// The requests an operation's documentation describes: one per request body example of each
/// media type (or one without a body), with the query parameters' examples and the credentials
/// its security names. A JSON example is sent serialised, another media type's (YAML) as its
/// text.
fn documented_requests(doc: &Value, method: &str, path: &str, s: &Session) -> Vec<ApiRequest> {
    let op = operation(doc, method, path);
    let query: Vec<String> = parameters(doc, method, path)
        .into_iter()
        .filter(|p| p["in"] == "query")
        .map(|p| match &p["example"] {
            Value::String(v) => format!("{}={v}", p["name"].as_str().unwrap()),
            other => format!("{}={other}", p["name"].as_str().unwrap()),
        })
        .collect();
    let scheme = op["security"][0].as_object().and_then(|s| s.keys().next().cloned());
    let authorization = match scheme.as_deref() {
        Some("conversationToken") => Some(format!("Bearer {}", s.token)),
        Some("adminToken") => Some("Bearer admin-token".to_owned()),
        Some("agentToken") => Some(format!("Bearer {ALICE}")),
        None => None,
        Some(other) => panic!("{method} {path}: unknown security scheme '{other}'"),
    };
    let bodies: Vec<Vec<u8>> = match op.get("requestBody") {
        Some(body) => {
            let mut bodies = Vec::new();
            for (media, content) in body["content"].as_object().expect("requestBody content") {
                let examples = content["examples"].as_object();
                let examples = examples.unwrap_or_else(|| panic!("{method} {path}: give {media} examples"));
                for (name, example) in examples {
                    let value = &example["value"];
                    bodies.push(match (media.as_str(), value.as_str()) {
                        ("application/json", _) => value.to_string().into_bytes(),
                        (_, Some(text)) => text.as_bytes().to_vec(),
                        _ => panic!("{method} {path}: the {media} example '{name}' must be its text"),
                    });
                }
            }
            bodies
        }
        None => vec![Vec::new()],
    };
    let request = |body| ApiRequest {
        method: method.to_owned(),
        path: path.replace("{id}", &s.id),
        query: query.join("&"),
        authorization: authorization.clone(),
        body,
        ..ApiRequest::default()
    };
    bodies.into_iter().map(request).collect()
}

/// One `ApiError` of each kind and each code; the match stops compiling when a kind is added.
fn every_error() -> Vec<ApiError> {
    let all = vec![
        ApiError::BadJson(String::new()),
        ApiError::BadRequest(String::new()),
        ApiError::InvalidAgent(String::new()),
        ApiError::Unauthorized(String::new()),
        ApiError::NotFound(String::new()),
        ApiError::MethodNotAllowed,
        ApiError::Conflict(String::new()),
        ApiError::PayloadTooLarge(MAX_BODY_BYTES),
        ApiError::Identity(IdentityError::NotConfigured),
        ApiError::Identity(IdentityError::BadHash),
        ApiError::OriginNotAllowed(String::new()),
        ApiError::RateLimited(1),
        ApiError::Corrupt(String::new()),
    ];
    for error in &all {
        match error {
            ApiError::BadJson(_)
            | ApiError::BadRequest(_)
            | ApiError::InvalidAgent(_)
            | ApiError::Unauthorized(_)
            | ApiError::NotFound(_)
            | ApiError::MethodNotAllowed
            | ApiError::Conflict(_)
            | ApiError::PayloadTooLarge(_)
            | ApiError::Identity(_)
            | ApiError::OriginNotAllowed(_)
            | ApiError::RateLimited(_)
            | ApiError::Store(_) // same code as `Corrupt`
            | ApiError::Corrupt(_) => {}
        }
    }
    all
}

#[test]
fn the_document_is_openapi_3_and_is_served() {
    let doc = doc();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "openapi: {}", doc["openapi"]);
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    assert!(doc["paths"].as_object().is_some_and(|p| !p.is_empty()));
    let schemes = &doc["components"]["securitySchemes"];
    for scheme in ["conversationToken", "adminToken", "agentToken"] {
        assert_eq!((&schemes[scheme]["type"], &schemes[scheme]["scheme"]), (&json!("http"), &json!("bearer")));
    }
    let indent = |line: &str| line.len() - line.trim_start_matches(' ').len();
    assert!(OPENAPI.lines().all(|l| indent(l) % 2 == 0 && !l.starts_with('\t')), "indent with 2 spaces");
    let (status, served) = call(&edge(), ApiRequest::get("/v1/openapi.json"));
    assert_eq!((status, served), (200, doc));
}

#[test]
fn the_routes_of_the_module_doc_table_are_the_documented_operations() {
    // ROUTES follows the table, so a route added to the router's documentation shows up here.
    let table: Vec<(String, String, BTreeSet<String>)> = include_str!("../src/api.rs")
        .lines()
        .filter_map(|line| line.strip_prefix("//! | "))
        .filter_map(|row| {
            let mut cells = row.split(" | ");
            let method = cells.next()?.trim().to_owned();
            let target = cells.next()?.split('`').nth(1)?;
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            let names = query.split('&').filter_map(|p| p.strip_suffix('=')).map(str::to_owned).collect();
            Some((method, path.to_owned(), names))
        })
        .collect();
    let listed: Vec<(String, String, BTreeSet<String>)> = ROUTES
        .iter()
        .map(|(m, p, q)| (m.to_string(), p.to_string(), q.iter().map(|s| s.to_string()).collect()))
        .collect();
    assert_eq!(table, listed, "ROUTES must list the table of edge/src/api.rs");

    let doc = doc();
    let documented = operations(&doc);
    let routed: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    assert!(undocumented.is_empty(), "routed but not in edge/openapi.json: {undocumented:?}");
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(unrouted.is_empty(), "documented but not in api.rs's table: {unrouted:?}");
    for (method, path, query) in ROUTES {
        let expected: BTreeSet<String> = query.iter().map(|s| s.to_string()).collect();
        assert_eq!(query_names(&doc, method, path), expected, "{method} {path}: query parameters");
    }
}

#[test]
fn every_documented_operation_is_routed_and_its_examples_succeed() {
    let doc = doc();
    let edge = edge();
    let mut seen = BTreeSet::new();
    // Writes first, so that reads find something (`GET /v1/admin/agent` is 404 before an upload).
    // The agent operations act on a conversation on the desk, as a console does: Alice claims
    // it first (replying takes the claim), answers, then reads it; the operations that end the
    // handoff take the conversation off the desk, so each has one of its own, Alice's.
    let desk = handed_off(&edge, "visitor-desk-0");
    let mut ordered: Vec<(String, String)> = operations(&doc).into_iter().collect();
    ordered.sort_by_key(|(method, path)| (method == "GET", !path.ends_with("/claim")));
    for (method, path) in ordered {
        let own;
        let s = match path.as_str() {
            p if ends_handoff(p) => {
                own = handed_off(&edge, &format!("visitor-{}", p.rsplit('/').next().unwrap()));
                let (status, body) = call(&edge, ApiRequest::post(&agent_path(&own, "/claim"), "").bearer(ALICE));
                assert_eq!(status, 200, "{body}");
                &own
            }
            p if p.starts_with("/v1/agent/conversations/") => &desk,
            _ => {
                own = conversation(&edge);
                &own
            }
        };
        for (i, request) in documented_requests(&doc, &method, &path, s).into_iter().enumerate() {
            // An identify retires the anonymous token: each further example identifies a
            // conversation of its own.
            let request = match i {
                0 => request,
                _ if path.ends_with("/identify") => {
                    documented_requests(&doc, &method, &path, &conversation(&edge)).remove(i)
                }
                _ => request,
            };
            let (status, body) = call(&edge, request);
            let what = format!("{method} {path}");
            assert!(status != 405 && !is_no_route(status, &body), "{what} is documented, not routed: {status} {body}");
            assert!((200..300).contains(&status), "{what}: a documented example fails: {status} {body}");
            conforms(&doc, (&method, &path), status, &body, &mut seen).unwrap_or_else(|e| panic!("{what}: {e}"));
        }
    }
    // Conversely, a documented path serves no method the document does not list.
    let documented = operations(&doc);
    for path in documented.iter().map(|(_, p)| p).collect::<BTreeSet<_>>() {
        for method in METHODS.iter().filter(|m| !documented.contains(&(m.to_string(), path.clone()))) {
            let request = ApiRequest {
                method: method.to_string(),
                path: path.replace("{id}", "c-00000000"),
                ..ApiRequest::default()
            };
            let (status, body) = call(&edge, request);
            assert_eq!(status, 405, "{method} {path} is served but not documented: {body}");
            let mut ignored = BTreeSet::new();
            check(&doc, &json!({"$ref": "#/components/schemas/ErrorBody"}), &body, "body", &mut ignored).unwrap();
        }
    }
    // The probe tells an unrouted path apart.
    let (status, body) = call(&edge, ApiRequest::get("/v1/conversations/c-00000000/nope"));
    assert!(is_no_route(status, &body), "{status} {body}");
}

#[test]
fn real_responses_have_exactly_the_documented_properties() {
    let doc = doc();
    let edge = edge();
    let mut seen = BTreeSet::new();
    let mut expect = |op: Op, request: ApiRequest, status: u16| -> Value {
        let (actual, body) = call(&edge, request);
        assert_eq!(actual, status, "{op:?}: {body}");
        conforms(&doc, op, status, &body, &mut seen).unwrap_or_else(|e| panic!("{op:?}: {e}"));
        body
    };
    let create = ("POST", "/v1/conversations");
    let send = ("POST", "/v1/conversations/{id}/messages");
    let list = ("GET", "/v1/conversations/{id}/messages");
    expect(("GET", "/v1/health"), ApiRequest::get("/v1/health"), 200);
    let created = expect(create, ApiRequest::post("/v1/conversations", r#"{"channel":"web"}"#), 201);
    let visitor = json!({"channel": "web", "visitor_id": created["visitor_id"]}).to_string();
    let visitor = visitor.as_str();
    let s = Session::from(&created);
    for text in ["Where is my order?", "123456", "Show me your lamps", "purple monkey dishwasher"] {
        let body = json!({ "text": text }).to_string();
        expect(send, ApiRequest::post(&s.path("messages"), &body).bearer(&s.token), 200);
    }
    let page = expect(list, ApiRequest::get(&s.path("messages?limit=2")).bearer(&s.token), 200);
    assert_eq!(page["previous"], "m8");
    let all = expect(list, ApiRequest::get(&s.path("messages")).bearer(&s.token), 200);
    assert!(all["messages"][0]["quick_replies"].is_array() && all["messages"][6]["cards"].is_array());
    let vote = json!({"message_id": "m3", "helpful": true}).to_string();
    expect(
        ("POST", "/v1/conversations/{id}/feedback"),
        ApiRequest::post(&s.path("feedback"), &vote).bearer(&s.token),
        204,
    );
    expect(create, ApiRequest::post("/v1/conversations", visitor), 200);
    let claims = json!({"user_id": "user-42", "user_hash": site_hash("user-42")}).to_string();
    let identify = ApiRequest::post(&s.path("identify"), &claims).bearer(&s.token);
    let identified = expect(("POST", "/v1/conversations/{id}/identify"), identify, 200);
    let s = Session::from(&identified);
    expect(("POST", "/v1/conversations/{id}/end"), ApiRequest::post(&s.path("end"), "").bearer(&s.token), 204);

    // A human handoff: the customer asks for a person, an agent claims the conversation (not
    // another) and answers, the customer's client polls, and resolving hands it back to the bot.
    let queue = ("GET", "/v1/agent/queue");
    let (view, claim) = (("GET", "/v1/agent/conversations/{id}"), ("POST", "/v1/agent/conversations/{id}/claim"));
    let reply = ("POST", "/v1/agent/conversations/{id}/messages");
    let (resolve, release) =
        (("POST", "/v1/agent/conversations/{id}/resolve"), ("POST", "/v1/agent/conversations/{id}/release"));
    let created = expect(create, ApiRequest::post("/v1/conversations", r#"{"channel":"web"}"#), 201);
    assert_eq!(created["status"], "bot");
    let anonymous = Session::from(&created);
    let ann = json!({"user_id": "user-43", "user_hash": site_hash("user-43"), "name": "Ann"});
    let identify = ApiRequest::post(&anonymous.path("identify"), &ann.to_string()).bearer(&anonymous.token);
    let h = Session::from(&expect(("POST", "/v1/conversations/{id}/identify"), identify, 200));
    let says =
        |text: &str| ApiRequest::post(&h.path("messages"), &json!({ "text": text }).to_string()).bearer(&h.token);
    let handed = expect(send, says("I want to speak to a person"), 200);
    assert_eq!((handed["status"].as_str(), handed["messages"].as_array().map(Vec::len)), (Some("waiting"), Some(1)));
    let held = expect(send, says("Hello? Anyone there?"), 200);
    assert_eq!(held, json!({"messages": [], "status": "waiting"}), "the bot is silent while humans have it");
    // The customer comes back signed in (their anonymous credential no longer resumes it).
    let customer = json!({"channel": "web", "user_id": "user-43", "user_hash": site_hash("user-43")}).to_string();
    assert_eq!(expect(create, ApiRequest::post("/v1/conversations", &customer), 200)["status"], "waiting");
    let desk = expect(queue, ApiRequest::get("/v1/agent/queue").bearer(ALICE), 200);
    let entry = &desk["conversations"][0];
    assert_eq!((&entry["conversation_id"], &entry["status"]), (&json!(h.id), &json!("waiting")), "{desk}");
    assert_eq!((&entry["profile"]["name"], &entry["reason"]), (&json!("Ann"), &json!("requested")), "{desk}");
    let claimed = expect(claim, ApiRequest::post(&agent_path(&h, "/claim"), "").bearer(ALICE), 200);
    assert_eq!((&claimed["status"], &claimed["agent"]), (&json!("human"), &json!("Alice")));
    expect(claim, ApiRequest::post(&agent_path(&h, "/claim"), "").bearer(BOB), 409);
    let answer = json!({"text": "Hi, I'm Alice. Let me look into your order."}).to_string();
    expect(reply, ApiRequest::post(&agent_path(&h, "/messages"), &answer).bearer(BOB), 409);
    let sent = expect(reply, ApiRequest::post(&agent_path(&h, "/messages"), &answer).bearer(ALICE), 200);
    assert_eq!((&sent["role"], &sent["author"]), (&json!("agent"), &json!("Alice")));
    let seq: u64 = sent["id"].as_str().unwrap()[1..].parse().unwrap();
    let poll = ApiRequest::get(&h.path(&format!("messages?after=m{}", seq - 1))).bearer(&h.token);
    let polled = expect(list, poll, 200);
    assert_eq!((&polled["status"], &polled["messages"][0]), (&json!("human"), &sent), "{polled}");
    let shown = expect(view, ApiRequest::get(&agent_path(&h, "?after=m1")).bearer(ALICE), 200);
    assert_eq!(shown["messages"].as_array().unwrap().last(), Some(&sent), "{shown}");
    expect(resolve, ApiRequest::post(&agent_path(&h, "/resolve"), "").bearer(BOB), 409);
    expect(resolve, ApiRequest::post(&agent_path(&h, "/resolve"), "").bearer(ALICE), 204);
    assert_eq!(expect(queue, ApiRequest::get("/v1/agent/queue").bearer(ALICE), 200), json!({"conversations": []}));
    expect(view, ApiRequest::get(&agent_path(&h, "")).bearer(ALICE), 404);
    assert_eq!(expect(list, ApiRequest::get(&h.path("messages")).bearer(&h.token), 200)["status"], "resolved");
    let again = expect(send, says("Where is my order?"), 200);
    assert_eq!((again["status"].as_str(), again["messages"].as_array().map(Vec::len)), (Some("bot"), Some(1)));
    // Handed off again, then handed back to the bot unresolved: the bot answers in the session.
    expect(send, says("Can I talk to an agent"), 200);
    expect(release, ApiRequest::post(&agent_path(&h, "/release"), "").bearer(ALICE), 204);
    assert_eq!(expect(send, says("123456"), 200)["status"], "bot");

    let period = ApiRequest::get("/v1/analytics?from=2025-11-01&to=2025-11-30").bearer("admin-token");
    let report = expect(("GET", "/v1/analytics"), period, 200);
    let ranked = |name: &str| report[name].as_array().map_or(0, Vec::len);
    assert!(ranked("top_intents") > 0 && ranked("top_unmatched") > 0 && ranked("days") > 0, "{report}");
    assert!(report["total"]["median_resolution_ms"].is_u64() && report["days"][0]["channels"]["web"].is_object());
    let quiet = ApiRequest::get("/v1/analytics?from=2020-01-01&to=2020-01-31").bearer("admin-token");
    let empty = expect(("GET", "/v1/analytics"), quiet, 200);
    assert!(empty["total"]["handoff_rate"].is_null(), "rates without a denominator are null: {empty}");

    // The documented upload answers the documented summary (its fingerprint included), and
    // the file reads back as documented.
    let (deploy, deployed) = (("PUT", "/v1/admin/agent"), ("GET", "/v1/admin/agent"));
    let example = |(method, path): Op, at: &str| operation(&doc, method, path).pointer(at).cloned().unwrap();
    let yaml = example(deploy, "/requestBody/content/application~1yaml/examples/bikes/value");
    let upload = put_agent(yaml.as_str().unwrap().as_bytes()).bearer("admin-token");
    let summary = expect(deploy, upload, 200);
    assert_eq!(summary, example(deploy, "/responses/200/content/application~1json/examples/bikes/value"));
    let file = expect(deployed, ApiRequest::get("/v1/admin/agent").bearer("admin-token"), 200);
    assert_eq!(file, example(deployed, "/responses/200/content/application~1json/examples/bikes/value"));

    let demo = ("POST", "/demo/fulfillment");
    for number in [json!(123456), json!(999), Value::Null] {
        let body = json!({"sessionInfo": {"parameters": {"order-number": number}}}).to_string();
        expect(demo, ApiRequest::post("/demo/fulfillment", &body), 200);
    }
    expect(create, ApiRequest::post("/v1/conversations", "{"), 400);

    // The identify reply rotates the visitor credential (see the schema's description).
    assert!(identified["visitor_id"].as_str().is_some_and(|v| v.starts_with("v2-") && v != created["visitor_id"]));
    let all: BTreeSet<String> = doc["components"]["schemas"].as_object().unwrap().keys().cloned().collect();
    let unseen: BTreeSet<String> = all.difference(&seen).cloned().collect();
    let expected: BTreeSet<String> = NOT_IN_RESPONSES.iter().map(|s| s.to_string()).collect();
    assert_eq!(unseen, expected, "schemas no real response was checked against");
}

#[test]
fn every_error_a_route_answers_with_is_documented_there() {
    let doc = doc();
    let edge = edge();
    let s = conversation(&edge);
    let other = conversation(&edge);
    // A token whose conversation was ended and replaced by a new one of the same visitor.
    let (stale, _) = open(&edge, Some("visitor-0002"));
    call(&edge, ApiRequest::post(&stale.path("end"), "").bearer(&stale.token));
    open(&edge, Some("visitor-0002"));
    // On the desk: a conversation waiting for an agent, and one Alice has.
    let waiting = handed_off(&edge, "visitor-waiting");
    let taken = handed_off(&edge, "visitor-taken");
    let (status, body) = call(&edge, ApiRequest::post(&agent_path(&taken, "/claim"), "").bearer(ALICE));
    assert_eq!(status, 200, "{body}");

    let claims = json!({"user_id": "user-42", "user_hash": site_hash("user-42")});
    let forged = json!({"user_id": "user-42", "user_hash": "00"});
    let with_channel = |claims: &Value| {
        let mut body = claims.clone();
        body["channel"] = json!("web");
        body.to_string()
    };
    let post = ApiRequest::post;
    let create = ("POST", "/v1/conversations");
    let send = ("POST", "/v1/conversations/{id}/messages");
    let list = ("GET", "/v1/conversations/{id}/messages");
    let identify = ("POST", "/v1/conversations/{id}/identify");
    let feedback = ("POST", "/v1/conversations/{id}/feedback");
    let end = ("POST", "/v1/conversations/{id}/end");
    let analytics = ("GET", "/v1/analytics");
    let (deploy, deployed) = (("PUT", "/v1/admin/agent"), ("GET", "/v1/admin/agent"));
    let (queue, view) = (("GET", "/v1/agent/queue"), ("GET", "/v1/agent/conversations/{id}"));
    let (claim, reply) =
        (("POST", "/v1/agent/conversations/{id}/claim"), ("POST", "/v1/agent/conversations/{id}/messages"));
    let (resolve, release) =
        (("POST", "/v1/agent/conversations/{id}/resolve"), ("POST", "/v1/agent/conversations/{id}/release"));
    let hello = r#"{"text":"Hello, I'm Bob."}"#;
    let agent_file = "name: t\nfallback: ['?']\nwebhook_error: ['!']\nintents: [{name: Hi, training_phrases: [hi], responses: [Hi!]}]\n";
    let unknown_vote = r#"{"message_id":"m99","helpful":true}"#;
    let mut cases: Vec<(Op, &TestEdge, ApiRequest, u16, &str)> = vec![
        (create, &edge, post("/v1/conversations", "{"), 400, "bad_json"),
        (create, &edge, post("/v1/conversations", r#"{"channel":"sms"}"#), 400, "bad_request"),
        (create, &edge, post("/v1/conversations", r#"{"channel":"web","user_hash":"00"}"#), 400, "bad_request"),
        (create, &edge, post("/v1/conversations", &with_channel(&forged)), 401, "identity_rejected"),
        (create, &edge, post("/v1/conversations", r#"{"channel":"web","agent":"Bike shop"}"#), 404, "not_found"),
        (send, &edge, post(&s.path("messages"), r#"{"text":"hi"}"#), 401, "unauthorized"),
        (send, &edge, post(&s.path("messages"), r#"{"text":"hi"}"#).bearer(&other.token), 401, "unauthorized"),
        (send, &edge, post(&s.path("messages"), "{").bearer(&s.token), 400, "bad_json"),
        (send, &edge, post(&s.path("messages"), r#"{"text":"  "}"#).bearer(&s.token), 400, "bad_request"),
        (send, &edge, post(&stale.path("messages"), r#"{"text":"hi"}"#).bearer(&stale.token), 404, "not_found"),
        (list, &edge, ApiRequest::get(&s.path("messages?limit=0")).bearer(&s.token), 400, "bad_request"),
        (list, &edge, ApiRequest::get(&s.path("messages?after=yesterday")).bearer(&s.token), 400, "bad_request"),
        (list, &edge, ApiRequest::get(&s.path("messages")), 401, "unauthorized"),
        (list, &edge, ApiRequest::get(&stale.path("messages")).bearer(&stale.token), 404, "not_found"),
        (identify, &edge, post(&s.path("identify"), "{").bearer(&s.token), 400, "bad_json"),
        (identify, &edge, post(&s.path("identify"), "{}").bearer(&s.token), 400, "bad_request"),
        (identify, &edge, post(&s.path("identify"), &forged.to_string()).bearer(&s.token), 401, "identity_rejected"),
        (identify, &edge, post(&s.path("identify"), &claims.to_string()), 401, "unauthorized"),
        (identify, &edge, post(&stale.path("identify"), &claims.to_string()).bearer(&stale.token), 404, "not_found"),
        (feedback, &edge, post(&s.path("feedback"), "{").bearer(&s.token), 400, "bad_json"),
        (feedback, &edge, post(&s.path("feedback"), unknown_vote).bearer(&s.token), 400, "bad_request"),
        (feedback, &edge, post(&s.path("feedback"), r#"{"helpful":true}"#), 401, "unauthorized"),
        (feedback, &edge, post(&stale.path("feedback"), r#"{"helpful":true}"#).bearer(&stale.token), 404, "not_found"),
        (end, &edge, post(&s.path("end"), ""), 401, "unauthorized"),
        (end, &edge, post(&stale.path("end"), "").bearer(&stale.token), 404, "not_found"),
        (analytics, &edge, ApiRequest::get("/v1/analytics?from=yesterday").bearer("admin-token"), 400, "bad_request"),
        (analytics, &edge, ApiRequest::get("/v1/analytics").bearer("guess"), 401, "unauthorized"),
        (deploy, &edge, put_agent(b"name: t\nintents: []\n").bearer("admin-token"), 400, "invalid_agent"),
        (deploy, &edge, put_agent(b"{\"name\": \"t\",}").bearer("admin-token"), 400, "invalid_agent"),
        (deploy, &edge, put_agent(agent_file.as_bytes()).bearer("guess"), 401, "unauthorized"),
        (deploy, &edge, put_agent(agent_file.as_bytes()), 401, "unauthorized"),
        // No case here uploads a valid file, so none is stored.
        (deployed, &edge, ApiRequest::get("/v1/admin/agent").bearer("admin-token"), 404, "not_found"),
        (deployed, &edge, ApiRequest::get("/v1/admin/agent").bearer(&s.token), 401, "unauthorized"),
        (queue, &edge, ApiRequest::get("/v1/agent/queue"), 401, "unauthorized"),
        (queue, &edge, ApiRequest::get("/v1/agent/queue?limit=500").bearer(ALICE), 400, "bad_request"),
        (queue, &edge, ApiRequest::get("/v1/agent/queue").bearer("admin-token"), 401, "unauthorized"),
        (view, &edge, ApiRequest::get(&agent_path(&taken, "?after=yesterday")).bearer(ALICE), 400, "bad_request"),
        (view, &edge, ApiRequest::get(&agent_path(&taken, "")).bearer(&taken.token), 401, "unauthorized"),
        (view, &edge, ApiRequest::get(&agent_path(&s, "")).bearer(ALICE), 404, "not_found"),
        (claim, &edge, post(&agent_path(&taken, "/claim"), "").bearer(BOB), 409, "conflict"),
        (claim, &edge, post(&agent_path(&s, "/claim"), "").bearer(ALICE), 404, "not_found"),
        (claim, &edge, post(&agent_path(&waiting, "/claim"), ""), 401, "unauthorized"),
        (reply, &edge, post(&agent_path(&taken, "/messages"), "{}").bearer(ALICE), 400, "bad_json"),
        (reply, &edge, post(&agent_path(&taken, "/messages"), r#"{"text":"  "}"#).bearer(ALICE), 400, "bad_request"),
        (reply, &edge, post(&agent_path(&waiting, "/messages"), hello).bearer(BOB), 409, "conflict"),
        (reply, &edge, post(&agent_path(&taken, "/messages"), hello).bearer(BOB), 409, "conflict"),
        (reply, &edge, post(&agent_path(&s, "/messages"), hello).bearer(BOB), 404, "not_found"),
        (reply, &edge, post(&agent_path(&taken, "/messages"), hello).bearer("bob-token-guess"), 401, "unauthorized"),
        (resolve, &edge, post(&agent_path(&taken, "/resolve"), "").bearer(BOB), 409, "conflict"),
        (resolve, &edge, post(&agent_path(&s, "/resolve"), "").bearer(ALICE), 404, "not_found"),
        (resolve, &edge, post(&agent_path(&taken, "/resolve"), "").bearer(&taken.token), 401, "unauthorized"),
        (release, &edge, post(&agent_path(&taken, "/release"), "").bearer(BOB), 409, "conflict"),
        (release, &edge, post(&agent_path(&s, "/release"), "").bearer(ALICE), 404, "not_found"),
        (release, &edge, post(&agent_path(&taken, "/release"), "").bearer(&taken.token), 401, "unauthorized"),
        (("POST", "/demo/fulfillment"), &edge, post("/demo/fulfillment", "{"), 400, "bad_json"),
    ];
    let no_identity = edge_with(Config { identity: None, ..Config::for_tests() }, ScriptedHttp::default());
    let anonymous = conversation(&no_identity);
    let verified = post("/v1/conversations", &with_channel(&claims));
    cases.push((create, &no_identity, verified, 501, "identity_not_configured"));
    let linking = post(&anonymous.path("identify"), &claims.to_string()).bearer(&anonymous.token);
    cases.push((identify, &no_identity, linking, 501, "identity_not_configured"));
    let closed =
        edge_with(Config { admin_token: None, agents: Vec::new(), ..Config::for_tests() }, ScriptedHttp::default());
    for op in [queue, view, claim, reply, resolve, release] {
        let request = documented_requests(&doc, op.0, op.1, &waiting).remove(0);
        assert_eq!(request.authorization.as_deref(), Some("Bearer alice-token"));
        cases.push((op, &closed, request, 401, "unauthorized"));
    }
    cases.push((analytics, &closed, ApiRequest::get("/v1/analytics").bearer("admin-token"), 401, "unauthorized"));
    cases.push((deploy, &closed, put_agent(agent_file.as_bytes()).bearer("admin-token"), 401, "unauthorized"));
    cases.push((deployed, &closed, ApiRequest::get("/v1/admin/agent").bearer("admin-token"), 401, "unauthorized"));
    let busy = edge_with(Config { user_rate_per_minute: 0, ..Config::for_tests() }, ScriptedHttp::default());
    let (hurried, _) = open(&busy, None);
    let hurry = post(&hurried.path("messages"), r#"{"text":"hi"}"#).bearer(&hurried.token);
    cases.push((send, &busy, hurry, 429, "rate_limited"));

    // Refused before routing: any operation, from a foreign origin, an IP over its limit, or too
    // big: over 64 KiB, or over the operation's own `x-max-body-bytes` (a body at the limit is
    // not refused for its size).
    let mut config = Config::for_tests();
    config.allowed_origins = vec!["https://shop.example".into()];
    let strict = edge_with(config, ScriptedHttp::default());
    let flooded = edge_with(Config { ip_rate_per_minute: 0, ..Config::for_tests() }, ScriptedHttp::default());
    let anyone = Session { id: "c-00000000".into(), token: "v1.c-00000000.u-00000000.00".into() };
    let operations = operations(&doc);
    for (method, path) in &operations {
        let op = (method.as_str(), path.as_str());
        let request = documented_requests(&doc, method, path, &anyone).remove(0);
        cases.push((op, &strict, request.clone().from_origin("https://evil.example"), 403, "origin_not_allowed"));
        let from_ip = ApiRequest { ip: Some("203.0.113.9".into()), ..request.clone() };
        cases.push((op, &flooded, from_ip, 429, "rate_limited"));
        if method != "GET" {
            let limit =
                operation(&doc, method, path)["x-max-body-bytes"].as_u64().map_or(MAX_BODY_BYTES, |n| n as usize);
            let at_limit = ApiRequest { body: vec![b' '; limit], ..request.clone() };
            let (status, body) = call(&edge, at_limit);
            assert_ne!(status, 413, "{op:?} refuses a body of {limit} bytes: {body}");
            let big = ApiRequest { body: vec![b' '; limit + 1], ..request };
            cases.push((op, &edge, big, 413, "payload_too_large"));
        }
    }

    let mut observed = BTreeSet::new();
    for (op, edge, request, status, code) in cases {
        let response = block_on(api::handle(edge, request));
        let body: Value = serde_json::from_str(&response.body).unwrap();
        assert_eq!((response.status, body["error"]["code"].as_str()), (status, Some(code)), "{op:?}: {body}");
        if status == 429 {
            assert!(response.headers.iter().any(|(name, _)| name == "Retry-After"), "{op:?}: no Retry-After");
        }
        conforms(&doc, op, status, &body, &mut BTreeSet::new()).unwrap_or_else(|e| panic!("{op:?}: {e}"));
        let documented = codes(&doc, op.0, op.1, &status.to_string());
        assert!(documented.contains(code), "{op:?} answers {status} {code}, documented: {documented:?}");
        observed.insert((op.0.to_owned(), op.1.to_owned(), status.to_string(), code.to_owned()));
    }
    // Conversely, each documented code was answered, but `internal` (it takes a failing store).
    for (method, path) in &operations {
        for (status, _) in operation(&doc, method, path)["responses"].as_object().unwrap() {
            for code in codes(&doc, method, path, status).into_iter().filter(|c| c != "internal") {
                let key = (method.clone(), path.clone(), status.clone(), code);
                assert!(observed.contains(&key), "documented but never answered: {key:?}");
            }
        }
    }
}

#[test]
fn documented_error_codes_and_statuses_are_those_of_error_rs() {
    let doc = doc();
    let status_of: BTreeMap<&str, u16> = every_error().iter().map(|e| (e.code(), e.status())).collect();
    let enumerated = doc["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["enum"].as_array().unwrap();
    let enumerated: BTreeSet<&str> = enumerated.iter().filter_map(Value::as_str).collect();
    assert_eq!(enumerated, status_of.keys().copied().collect(), "ErrorDetail.code must list ApiError's codes");
    for (method, path) in operations(&doc) {
        for (status, _) in operation(&doc, &method, &path)["responses"].as_object().unwrap() {
            for code in codes(&doc, &method, &path, status) {
                assert_eq!(status_of[code.as_str()].to_string(), *status, "{method} {path}: {code} under {status}");
            }
        }
    }
}

#[test]
fn examples_fit_their_schemas() {
    let doc = doc();
    let mut media = Vec::new();
    for (method, path) in operations(&doc) {
        let op = operation(&doc, &method, &path);
        for (media_type, content) in op["requestBody"]["content"].as_object().into_iter().flatten() {
            media.push((format!("{method} {path} request {media_type}"), content));
        }
        for (status, response) in op["responses"].as_object().unwrap() {
            let content = &resolve(&doc, response)["content"]["application/json"];
            media.push((format!("{method} {path} {status}"), content));
        }
        for p in parameters(&doc, &method, &path) {
            let mut seen = BTreeSet::new();
            check(&doc, &p["schema"], &p["example"], &format!("{method} {path} {}", p["name"]), &mut seen).unwrap();
        }
    }
    let mut checked = 0;
    for (what, content) in media {
        for (name, example) in content["examples"].as_object().into_iter().flatten() {
            let mut seen = BTreeSet::new();
            check(&doc, &content["schema"], &example["value"], &format!("{what} example '{name}'"), &mut seen).unwrap();
            checked += 1;
        }
    }
    assert!(checked > 30, "only {checked} examples");
}

#[test]
fn the_checker_refuses_missing_undocumented_and_mistyped_properties() {
    let doc = doc();
    let message = json!({"$ref": "#/components/schemas/Message"});
    let good = json!({"id": "m1", "role": "bot", "text": "Hi", "quick_replies": [{"label": "Yes"}], "ts": 1});
    let mut seen = BTreeSet::new();
    assert_eq!(check(&doc, &message, &good, "m", &mut seen), Ok(()));
    assert!(seen.contains("Message") && seen.contains("QuickReply") && seen.contains("Role"));
    let variants = [
        json!({"id": "m1", "role": "bot", "text": "Hi"}),
        json!({"id": "m1", "role": "bot", "text": "Hi", "ts": 1, "mood": "sunny"}),
        json!({"id": "m1", "role": "robot", "text": "Hi", "ts": 1}),
        json!({"id": "m1", "role": "bot", "text": "Hi", "ts": -1}),
        json!({"id": "m1", "role": "bot", "text": "Hi", "ts": 1, "quick_replies": [{"payload": "x"}]}),
    ];
    for bad in variants {
        assert!(check(&doc, &message, &bad, "m", &mut seen).is_err(), "accepted {bad}");
    }
}
