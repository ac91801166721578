//! The API target's input: HTTP requests written as text, so seeds can be written by hand
//! and libFuzzer's mutations stay readable.
//!
//! ```text
//! POST /v1/conversations/$conversation/messages
//! Authorization: Bearer $token
//!
//! {"text": "where is my order 123456?"}
//! ===
//! WEBHOOK 200
//!
//! {"fulfillmentResponse": {"messages": [{"text": {"text": ["It shipped."]}}]}}
//! ```
//!
//! Sections are separated by `===` lines. A section is a request line (`METHOD /path?query`),
//! header lines, an empty line and the body; `WEBHOOK <status>` instead queues an answer the
//! fake HTTP client gives to the next outbound call (fulfillment webhooks). `Authorization`,
//! `Origin` and `CF-Connecting-IP` fill the request's fields of those names. Placeholders
//! stand for what a fuzzer cannot forge: `$conversation` and `$token` (a conversation the
//! target opened first), `$admin`, `$agent` (bearer tokens), `$jwt` and `$user_hash` (a
//! verified site user `user-1`).

use switchboard_edge::api::ApiRequest;
use switchboard_edge::ports::HttpResponse;

/// At most this many sections run per input, so one input stays quick.
pub const MAX_SECTIONS: usize = 8;

/// One section of a script.
#[derive(Debug)]
pub enum Section {
    /// A request to route.
    Request(ApiRequest),
    /// An answer for the next outbound HTTP call.
    Webhook(HttpResponse),
}

/// Replaces each `(placeholder, value)` in `text` (longest placeholders first, so `$token`
/// never eats a prefix of another).
pub fn substitute(text: &str, values: &[(&str, &str)]) -> String {
    let mut values = values.to_vec();
    values.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    values.iter().fold(text.to_owned(), |text, (name, value)| text.replace(name, value))
}

/// The sections of a script; a section without a request line is skipped.
pub fn parse(text: &str) -> Vec<Section> {
    let mut sections = Vec::new();
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        if line.trim_end_matches(['\r', '\n']) == "===" {
            sections.extend(section(&current));
            current.clear();
        } else {
            current.push_str(line);
        }
    }
    sections.extend(section(&current));
    sections.truncate(MAX_SECTIONS);
    sections
}

fn section(text: &str) -> Option<Section> {
    let (head, body) = match text.split_once("\n\n") {
        Some((head, body)) => (head, body),
        None => (text.trim_end_matches('\n'), ""),
    };
    let mut lines = head.lines();
    let (method, target) = lines.next()?.trim().split_once(' ')?;
    if method == "WEBHOOK" {
        let status = target.trim().parse().ok()?;
        return Some(Section::Webhook(HttpResponse { status, body: body.as_bytes().to_vec() }));
    }
    let (path, query) = target.trim().split_once('?').unwrap_or((target.trim(), ""));
    let mut request = ApiRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        url: format!("https://bot.example{}", target.trim()),
        body: body.as_bytes().to_vec(),
        ..ApiRequest::default()
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_owned());
        match name.as_str() {
            "authorization" => request.authorization = Some(value),
            "origin" => request.origin = Some(value),
            "cf-connecting-ip" => request.ip = Some(value),
            _ => request.headers.push((name, value)),
        }
    }
    Some(Section::Request(request))
}
