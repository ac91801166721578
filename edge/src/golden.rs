//! Golden conversations: transcripts of what the user says and what the bot must answer, run
//! through the whole edge core (engine, context store, fulfillment) in memory.
//!
//! The format, one line each, like Dialogflow CX test cases written by hand:
//!
//! ```text
//! # comment
//! > Where is my order?                      the user says
//! < Can you provide your order number?      the bot says (one line per message, in order)
//! webhook: {"fulfillment_response": …}      the next fulfillment call answers 200 with this body
//! webhook: status 500                       … or answers with this status
//! webhook: timeout                          … or times out
//! ---                                       a new visitor starts a new conversation
//! ```
//!
//! Every bot message after a user line must be listed (the welcome need not be). A transcript
//! that scripts no webhook uses the agent's own webhooks (the demo agent's are
//! built in); one that scripts any sends every fulfillment to the script.

use crate::Config;
use crate::api::{self, ApiRequest};
use crate::memory::ScriptedHttp;
use crate::ports::{HttpError, HttpResponse};
use switchboard_dialog::agent::Agent;

/// One mismatch between a transcript and what happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// 1-based line of the transcript.
    pub line: usize,
    /// What was expected and what came.
    pub message: String,
}

enum Line {
    User(String),
    Bot(String),
    Webhook(Result<HttpResponse, HttpError>),
    NewConversation,
}

fn parse(text: &str) -> Result<Vec<(usize, Line)>, Failure> {
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed = if line == "---" {
            Line::NewConversation
        } else if let Some(rest) = line.strip_prefix('>') {
            Line::User(rest.trim().to_owned())
        } else if let Some(rest) = line.strip_prefix('<') {
            Line::Bot(rest.trim().to_owned())
        } else if let Some(rest) = line.strip_prefix("webhook:") {
            let rest = rest.trim();
            Line::Webhook(if rest == "timeout" {
                Err(HttpError::Timeout(5000))
            } else if let Some(status) = rest.strip_prefix("status ") {
                let status = status
                    .trim()
                    .parse()
                    .map_err(|_| Failure { line: n, message: format!("bad status '{status}'") })?;
                Ok(HttpResponse { status, body: Vec::new() })
            } else {
                Ok(HttpResponse { status: 200, body: rest.as_bytes().to_vec() })
            })
        } else {
            return Err(Failure {
                line: n,
                message: format!("expected '> user text', '< bot text', 'webhook: …' or '---', found '{line}'"),
            });
        };
        lines.push((n, parsed));
    }
    Ok(lines)
}

/// Runs a transcript against `agent`; returns every mismatch (empty when it passes).
pub fn run(agent: &Agent, transcript: &str) -> Vec<Failure> {
    let lines = match parse(transcript) {
        Ok(lines) => lines,
        Err(failure) => return vec![failure],
    };
    let answers: Vec<Result<HttpResponse, HttpError>> = lines
        .iter()
        .filter_map(|(_, l)| match l {
            Line::Webhook(answer) => Some(answer.clone()),
            _ => None,
        })
        .collect();
    let scripted = !answers.is_empty();
    let mut config = Config::for_tests();
    config.fulfillment_url = scripted.then(|| "http://golden.invalid/webhook".to_owned());
    let edge = crate::memory::edge(agent, config, ScriptedHttp::new(answers));
    let open = || futures_executor::block_on(edge.open(None)).ok().map(|(created, _)| created);
    let Some(created) = open() else {
        return vec![Failure { line: 1, message: "could not open a conversation".into() }];
    };
    let (mut id, mut token) = (created.conversation_id, created.token);
    let mut failures = Vec::new();
    // The welcome is shown before the first user line; expected bot lines before any user line
    // check it.
    let mut pending: std::collections::VecDeque<String> = created.messages.into_iter().map(|m| m.text).collect();
    let mut welcome = true;
    for (n, line) in &lines {
        match line {
            Line::NewConversation => {
                let Some(created) = open() else {
                    failures.push(Failure { line: *n, message: "could not open a conversation".into() });
                    break;
                };
                (id, token) = (created.conversation_id, created.token);
                pending = created.messages.into_iter().map(|m| m.text).collect();
                welcome = true;
            }
            Line::User(text) => {
                if welcome {
                    // A transcript need not list the welcome.
                    pending.clear();
                    welcome = false;
                }
                unexpected(&mut pending, *n, &mut failures);
                let body = serde_json::json!({ "text": text }).to_string();
                let request = ApiRequest::post(&format!("/v1/conversations/{id}/messages"), &body).bearer(&token);
                let response = futures_executor::block_on(api::handle(&edge, request));
                if response.status != 200 {
                    failures
                        .push(Failure { line: *n, message: format!("HTTP {}: {}", response.status, response.body) });
                    continue;
                }
                let Ok(reply) = serde_json::from_str::<switchboard_dialog::protocol::Messages>(&response.body) else {
                    failures.push(Failure { line: *n, message: format!("unreadable reply: {}", response.body) });
                    continue;
                };
                pending = reply.messages.into_iter().map(|m| m.text).collect();
            }
            Line::Bot(expected) => match pending.pop_front() {
                Some(said) if &said == expected => {}
                Some(said) => failures.push(Failure {
                    line: *n,
                    message: format!("expected bot: {expected}\n      but it said: {said}"),
                }),
                None => failures.push(Failure {
                    line: *n,
                    message: format!("expected bot: {expected}\n      but it said nothing more"),
                }),
            },
            Line::Webhook(_) => {}
        }
    }
    unexpected(&mut pending, lines.last().map_or(1, |(n, _)| *n), &mut failures);
    failures
}

/// Bot messages the transcript did not expect before `line`.
fn unexpected(pending: &mut std::collections::VecDeque<String>, line: usize, failures: &mut Vec<Failure>) {
    for said in pending.drain(..) {
        failures.push(Failure { line, message: format!("the bot also said: {said}") });
    }
}
