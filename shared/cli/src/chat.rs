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
use switchboard_dialog::webhook::WebhookRequest;
use switchboard_edge::Config;
use switchboard_edge::config::BUILTIN_DEMO_ORDERS;
use switchboard_edge::fulfillment;
use switchboard_edge::ports::{HttpClient, HttpError, HttpRequest, HttpResponse};

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

/// Webhook calls over HTTP(S), as the worker makes them (the edge's own
/// [`switchboard_edge::fulfillment`]): CX JSON or a declarative lookup, auth and headers with
/// secrets from the environment, the webhook's timeout, replies up to 64 KiB. Any failure
/// becomes [`WebhookOutcome::Failed`] (the agent's apology) and a note on stderr saying why.
pub struct Http<'a> {
    webhooks: &'a BTreeMap<String, Webhook>,
    /// Replaces every CX webhook's URL (`--webhook-url`).
    url: Option<String>,
    /// Calls nothing (`--offline`).
    offline: bool,
    client: ureq::Agent,
    /// Holds the secrets the agent's webhooks name, read from environment variables.
    config: Config,
}

impl<'a> Http<'a> {
    /// Calls `agent`'s webhooks, at `url` instead of theirs when given, or none when `offline`.
    pub fn new(agent: &'a Agent, url: Option<String>, offline: bool) -> Self {
        // Redirects are never followed: they would take the webhook's credentials and headers
        // to wherever they point (the worker refuses them the same way).
        let client = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
        let mut config = Config::new("switchboard-chat", None);
        for name in agent.secret_names() {
            if let Ok(value) = std::env::var(name)
                && let Err(e) = config.set_secret(name, &value)
            {
                eprintln!("[{e}]");
            }
        }
        Self { webhooks: &agent.webhooks, url, offline, client, config }
    }
}

impl Fulfillment for Http<'_> {
    fn call(&mut self, name: &str, request: &WebhookRequest) -> WebhookOutcome {
        let Some(webhook) = self.webhooks.get(name) else {
            eprintln!("[webhook '{name}' is not in the agent; answering as if it failed]");
            return WebhookOutcome::Failed;
        };
        let mut webhook = webhook.clone();
        if let Some(url) = self.url.as_ref().filter(|_| webhook.lookup.is_none()) {
            webhook.url = url.clone();
        }
        let url = webhook.url.as_str();
        let skipped = if self.offline {
            Some("--offline".to_owned())
        } else if !(url.starts_with("http://") || url.starts_with("https://") || url == BUILTIN_DEMO_ORDERS) {
            Some(format!("{url} is not an http(s) URL; pass --webhook-url to call yours"))
        } else {
            None
        };
        if let Some(why) = skipped {
            eprintln!("[webhook '{name}' not called ({why}); answering as if it failed]");
            return WebhookOutcome::Failed;
        }
        // The worker answers the built-in demo orders itself; so does the chat, with the same code.
        match now(fulfillment::respond(&Blocking(&self.client), &self.config, &webhook, request)) {
            Ok(response) => WebhookOutcome::Replied(response),
            Err(why) => {
                eprintln!("[webhook '{name}' at {url} failed: {why}]");
                WebhookOutcome::Failed
            }
        }
    }
}

/// The result of a future that never waits: every port the chat hands the edge blocks
/// instead, so the future is ready on its first poll.
fn now<T>(future: impl Future<Output = T>) -> T {
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(value) => value,
        std::task::Poll::Pending => unreachable!("blocking ports never leave a future pending"),
    }
}

/// The edge's outbound HTTP port over blocking `ureq`.
struct Blocking<'a>(&'a ureq::Agent);

impl HttpClient for Blocking<'_> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let mut builder = ureq::http::Request::builder().method(request.method).uri(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let mut response = match request.body {
            Some(body) => self.run(builder.body(body.into_bytes()), request.timeout_ms)?,
            None => self.run(builder.body(()), request.timeout_ms)?,
        };
        let status = response.status().as_u16();
        if (300..400).contains(&status) && request.redirect == switchboard_edge::ports::Redirect::Refuse {
            return Err(HttpError::Redirected(status));
        }
        let limit = request.max_body as u64;
        let body = response.body_mut().with_config().limit(limit).read_to_vec().map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => HttpError::TooLarge(request.max_body),
            ureq::Error::Timeout(_) => HttpError::Timeout(request.timeout_ms),
            other => HttpError::Transport(other.to_string()),
        })?;
        Ok(HttpResponse { status, body })
    }
}

impl Blocking<'_> {
    fn run<S: ureq::AsSendBody>(
        &self,
        request: Result<ureq::http::Request<S>, ureq::http::Error>,
        timeout_ms: u32,
    ) -> Result<ureq::http::Response<ureq::Body>, HttpError> {
        let request = request.map_err(|e| HttpError::Transport(e.to_string()))?;
        let timeout = Some(Duration::from_millis(timeout_ms.into()));
        let request = self.0.configure_request(request).timeout_global(timeout).build();
        self.0.run(request).map_err(|e| match e {
            ureq::Error::Timeout(_) => HttpError::Timeout(timeout_ms),
            other => HttpError::Transport(other.to_string()),
        })
    }
}

#[cfg(test)]
mod tests;
