//! `switchboard chat`: a conversation with an agent in the terminal.
//!
//! The loop drives the sans-IO engine the way the worker does (`step`, then `resume` for each
//! webhook the turn asks for), but over any [`BufRead`] and [`Write`] and a [`Fulfillment`], so
//! tests script the user and the webhook; `main` hands it stdin, stdout and [`Http`].
//!
//! ```text
//! bot> Hi! I'm the Switchboard Shop assistant. …
//! you> where is my order
//! bot> Can you provide your order number?
//! ```

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use switchboard_dialog::agent::{Agent, Webhook};
use switchboard_dialog::dialog::{self, DialogState, Effect, HandoffReason, Reply, Turn, UserInput, WebhookOutcome};
use switchboard_dialog::entity::Date;
use switchboard_dialog::webhook::{WebhookRequest, WebhookResponse};
use switchboard_edge::fulfillment::MAX_RESPONSE_BYTES;

/// The chat's own commands, as `/help` lists them.
const COMMANDS: &str = "/state  print the dialog state as JSON
/reset  start the conversation over
/quit   leave (so does end of input)";

/// The engine asks for one webhook per turn; the bound stops an agent that keeps asking.
const MAX_WEBHOOK_CALLS_PER_TURN: usize = 4;

/// Carries out the webhook calls a turn asks for.
pub trait Fulfillment {
    /// Calls the agent's webhook `name` with `request` (session already filled in).
    fn call(&mut self, name: &str, request: &WebhookRequest) -> WebhookOutcome;
}

impl<F: FnMut(&str, &WebhookRequest) -> WebhookOutcome> Fulfillment for F {
    fn call(&mut self, name: &str, request: &WebhookRequest) -> WebhookOutcome {
        self(name, request)
    }
}

/// A terminal conversation with one agent.
pub struct Chat<'a, F> {
    agent: &'a Agent,
    fulfillment: F,
    /// Prefix of the CX session names; `/reset` starts the next numbered session.
    session: String,
    conversation: u32,
    webhook_calls: u32,
    state: DialogState,
    /// The user's date for relative dates; the engine reads no clock.
    today: fn() -> Date,
    /// Show a `you> ` prompt before reading (a terminal) rather than echo each line read.
    interactive: bool,
    /// Messages are shown as this channel shows them (its overrides).
    channel: String,
}

impl<'a, F: Fulfillment> Chat<'a, F> {
    /// A chat that names its CX sessions `<session>-1`, `<session>-2` (after `/reset`), ….
    pub fn new(agent: &'a Agent, session: impl Into<String>, fulfillment: F) -> Self {
        Self {
            agent,
            fulfillment,
            session: session.into(),
            conversation: 0,
            webhook_calls: 0,
            state: DialogState::default(),
            today: today_utc,
            interactive: false,
            channel: "web".into(),
        }
    }

    /// Shows messages as `channel` would (`web`, `voice`, `whatsapp`, …).
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = channel.into();
        self
    }

    /// Prompts before each line when reading from a terminal; otherwise echoes the lines read,
    /// so a piped conversation prints the same transcript.
    pub fn interactive(mut self, yes: bool) -> Self {
        self.interactive = yes;
        self
    }

    /// Greets, then answers each line of `input` until its end or `/quit`.
    pub fn run(&mut self, mut input: impl BufRead, mut out: impl Write) -> io::Result<()> {
        self.start(&mut out)?;
        let mut line = String::new();
        loop {
            if self.interactive {
                write!(out, "you> ")?;
                out.flush()?;
            }
            line.clear();
            if input.read_line(&mut line)? == 0 {
                if self.interactive {
                    writeln!(out)?;
                }
                return Ok(());
            }
            let text = line.trim();
            if !self.interactive {
                writeln!(out, "you> {text}")?;
            }
            match text {
                "" => {}
                "/quit" | "/exit" => return Ok(()),
                "/state" => writeln!(out, "{}", serde_json::to_string_pretty(&self.state)?)?,
                "/reset" => self.start(&mut out)?,
                "/help" => writeln!(out, "{COMMANDS}")?,
                command if command.starts_with('/') => {
                    writeln!(out, "[unknown command '{command}'; try /help]")?;
                }
                text => {
                    let input = UserInput::text_on(text, (self.today)());
                    self.take(&input, &mut out)?;
                }
            }
        }
    }

    /// Starts a new conversation: fresh state, next session name, the agent's welcome.
    fn start(&mut self, out: &mut impl Write) -> io::Result<()> {
        self.conversation += 1;
        self.state = DialogState::default();
        self.take(&UserInput::Welcome, out)
    }

    /// Runs one input through the engine, calls the webhooks it asks for, and prints the turn.
    ///
    /// Messages are printed once every webhook has answered: a `REPLACE` reply replaces the
    /// messages of the turn that asked for it, which must not be on the screen yet.
    fn take(&mut self, input: &UserInput, out: &mut impl Write) -> io::Result<()> {
        let mut turn = dialog::step(self.agent, &self.state, input);
        let mut messages = Vec::new();
        let mut notes = Vec::new();
        let mut calls = 0;
        loop {
            if turn.replaces_earlier {
                messages.clear();
            }
            messages.append(&mut turn.messages);
            let Some((name, mut request)) = take_effects(&mut turn, &mut notes) else { break };
            if calls == MAX_WEBHOOK_CALLS_PER_TURN {
                notes.push(format!("[webhook '{name}' not called: {calls} calls in one turn already]"));
                break;
            }
            calls += 1;
            self.webhook_calls += 1;
            request.session_info.session = format!("{}-{}", self.session, self.conversation);
            request.detect_intent_response_id = format!("{}-{}", request.session_info.session, self.webhook_calls);
            let outcome = self.fulfillment.call(&name, &request);
            turn = dialog::resume(self.agent, &turn.state, outcome);
        }
        self.state = turn.state;
        for reply in &messages {
            print_reply(reply, &self.channel, out)?;
        }
        for note in &notes {
            writeln!(out, "{note}")?;
        }
        Ok(())
    }
}

/// Prints a message as `channel` shows it: its text, then its quick replies and cards as
/// `[buttons]`.
fn print_reply(reply: &Reply, channel: &str, out: &mut impl Write) -> io::Result<()> {
    let reply = reply.for_channel(channel);
    if !reply.text.is_empty() {
        writeln!(out, "bot> {}", reply.text)?;
    }
    if !reply.quick_replies.is_empty() {
        let buttons: Vec<String> = reply.quick_replies.iter().map(|q| format!("[{}]", q.label)).collect();
        writeln!(out, "     {}", buttons.join(" "))?;
    }
    for card in &reply.cards {
        let mut line = format!("bot> card: {}", card.title);
        if let Some(subtitle) = &card.subtitle {
            line.push_str(&format!(" — {subtitle}"));
        }
        for button in &card.buttons {
            match &button.url {
                Some(url) => line.push_str(&format!(" [{} → {url}]", button.label)),
                None => line.push_str(&format!(" [{}]", button.label)),
            }
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Takes the turn's effects: returns the webhook call, if any, and describes the others.
fn take_effects(turn: &mut Turn, notes: &mut Vec<String>) -> Option<(String, Box<WebhookRequest>)> {
    let mut webhook = None;
    for effect in std::mem::take(&mut turn.effects) {
        match effect {
            Effect::CallWebhook { webhook: name, request } => webhook = Some((name, request)),
            Effect::Handoff { reason } => notes.push(format!("[handed off to a human: {}]", describe(&reason))),
            Effect::EndSession => notes.push("[the conversation is over; type on to start again]".into()),
        }
    }
    webhook
}

fn describe(reason: &HandoffReason) -> String {
    match reason {
        HandoffReason::Requested { intent } => format!("asked for ({intent})"),
        HandoffReason::RepeatedNoMatch { count } => format!("{count} messages in a row matched nothing"),
        HandoffReason::RepeatedNoInput { count } => format!("{count} silences in a row"),
        HandoffReason::Fulfillment { metadata } => match metadata {
            Some(m) => format!("the webhook asked for one ({m})"),
            None => "the webhook asked for one".into(),
        },
    }
}

/// Today in UTC, from the system clock.
fn today_utc() -> Date {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    Date::from_unix_ms(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// Webhook calls over HTTP(S), as the worker makes them: CX JSON, the webhook's timeout, replies
/// up to 64 KiB. Any failure becomes [`WebhookOutcome::Failed`] (the agent's apology) and a note
/// on stderr saying why.
pub struct Http<'a> {
    webhooks: &'a BTreeMap<String, Webhook>,
    /// Replaces every webhook's URL (`--webhook-url`).
    url: Option<String>,
    /// Calls nothing (`--offline`).
    offline: bool,
    client: ureq::Agent,
}

impl<'a> Http<'a> {
    /// Calls `agent`'s webhooks, at `url` instead of theirs when given, or none when `offline`.
    pub fn new(agent: &'a Agent, url: Option<String>, offline: bool) -> Self {
        let client = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        Self { webhooks: &agent.webhooks, url, offline, client }
    }

    fn post(&self, url: &str, webhook: &Webhook, request: &WebhookRequest) -> Result<WebhookResponse, String> {
        let body = serde_json::to_vec(request).map_err(|e| e.to_string())?;
        let timeout = Duration::from_millis(webhook.timeout_ms.into());
        let mut response = self
            .client
            .post(url)
            .config()
            .timeout_global(Some(timeout))
            .build()
            .header("content-type", "application/json")
            .send(&body[..])
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("answered HTTP {}", response.status().as_u16()));
        }
        let limit = MAX_RESPONSE_BYTES as u64;
        let bytes = response.body_mut().with_config().limit(limit).read_to_vec().map_err(|e| e.to_string())?;
        serde_json::from_slice(&bytes).map_err(|e| format!("sent a malformed WebhookResponse: {e}"))
    }
}

impl Fulfillment for Http<'_> {
    fn call(&mut self, name: &str, request: &WebhookRequest) -> WebhookOutcome {
        let Some(webhook) = self.webhooks.get(name) else {
            eprintln!("[webhook '{name}' is not in the agent; answering as if it failed]");
            return WebhookOutcome::Failed;
        };
        let url = self.url.as_deref().unwrap_or(&webhook.url);
        if url == switchboard_edge::config::BUILTIN_DEMO_ORDERS && !self.offline {
            // The worker answers this URL itself; so does the chat, with the same code.
            return WebhookOutcome::Replied(switchboard_edge::demo::fulfill(request));
        }
        let skipped = if self.offline {
            Some("--offline".to_owned())
        } else if !(url.starts_with("http://") || url.starts_with("https://")) {
            Some(format!("{url} is not an http(s) URL; pass --webhook-url to call yours"))
        } else {
            None
        };
        if let Some(why) = skipped {
            eprintln!("[webhook '{name}' not called ({why}); answering as if it failed]");
            return WebhookOutcome::Failed;
        }
        match self.post(url, webhook, request) {
            Ok(response) => WebhookOutcome::Replied(response),
            Err(why) => {
                eprintln!("[webhook '{name}' at {url} failed: {why}]");
                WebhookOutcome::Failed
            }
        }
    }
}

#[cfg(test)]
mod tests;
