//! Human handoff: a conversation is with the bot, waiting for a human, with a human, or
//! resolved ([`Status`]).
//!
//! - The bot hands off when the engine says so (the customer asked for a person, repeated
//!   no-match, a fulfillment's `liveAgentHandoff`, an agent rule): the conversation waits.
//! - While humans have it, the bot stays silent: customer messages are stored and wait.
//! - An agent claims it (then it is theirs: others get 409), replies (the message goes to the
//!   history with the agent's name; web clients poll for it, relays push it to the customer's
//!   last channel), and resolves it (the next customer message starts a new session with the
//!   bot) or hands it back to the bot.
//!
//! An external help desk may be told too: with `HANDOFF_WEBHOOK_URL` set, each handoff POSTs
//! the desk entry and the transcript ([`HelpDeskNotice`]) there, signed with
//! `HANDOFF_WEBHOOK_SECRET` (`X-Switchboard-Signature: sha256=<hex HMAC-SHA256 of the body>`).
//! A failure is logged; the handoff stands.
//!
//! The desk: the hub object keeps one [`DeskEntry`] per conversation waiting for or with a
//! human, written by the user's object whenever the conversation changes, so the console
//! lists the queue with one call. The user's context stays the truth; the entry is a summary.
//! All of this runs in the user's Durable Object, which serialises it with the user's turns.

use crate::context::{Handoff, Status, UserContext};
use crate::conversation::{Edge, Exchange, NOT_STORED, Said, check_text};
use crate::desk::Admission;
use crate::error::ApiError;
use crate::ids::{ConversationId, UserId};
use crate::ports::{AnalyticsStore, Clock, ContextStore, HttpClient, HttpRequest, Redirect};
use serde::Serialize;
use switchboard_dialog::dialog::{HandoffReason, Reply};
use switchboard_dialog::protocol::{AgentConversation, DeskEntry, Message, Role};

/// Whether a conversation has waited for an agent longer than `HANDOFF_TIMEOUT_MINUTES`.
pub fn unclaimed_too_long(context: &UserContext, config: &crate::Config, now_ms: u64) -> bool {
    context.handoff.agent.is_none()
        && now_ms.saturating_sub(context.handoff.since_ms) > u64::from(config.handoff_timeout_minutes) * 60_000
}

/// The name of a handoff's reason, as the console shows it.
pub fn reason_name(reason: &HandoffReason) -> &'static str {
    match reason {
        HandoffReason::Requested { .. } => "requested",
        HandoffReason::RepeatedNoMatch { .. } => "repeated_no_match",
        HandoffReason::RepeatedNoInput { .. } => "repeated_no_input",
        HandoffReason::Fulfillment { .. } => "fulfillment",
    }
}

/// What an external help desk is sent on a handoff.
#[derive(Debug, Serialize)]
pub struct HelpDeskNotice<'a> {
    /// Always `handoff`.
    pub event: &'static str,
    /// The conversation as the console shows it.
    pub conversation: &'a DeskEntry,
    /// Its messages so far, oldest first (as stored: redacted values and unstored text stay out).
    pub transcript: &'a [Message],
}

/// The signature header of a help desk notice: `sha256=` and the hex HMAC-SHA256 of the body.
pub fn sign(secret: &str, body: &str) -> String {
    ["sha256=", &crate::identity::user_hash(secret.as_bytes(), body)].concat()
}

impl<S: ContextStore, H: HttpClient, C: Clock, A: AnalyticsStore> Edge<'_, S, H, C, A> {
    /// Tells the external help desk, when one is configured, that a conversation was handed off.
    pub(crate) async fn notify_help_desk(&self, user: &UserId, context: &UserContext, history: &[Message]) {
        let Some(url) = &self.config.handoff_webhook_url else { return };
        let entry = self.desk_entry(user, context, history);
        // Plain structs with string keys: serialising cannot fail.
        let body =
            serde_json::to_string(&HelpDeskNotice { event: "handoff", conversation: &entry, transcript: history })
                .unwrap_or_default();
        let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        if let Some(secret) = &self.config.handoff_webhook_secret {
            headers.push(("X-Switchboard-Signature".to_owned(), sign(secret, &body)));
        }
        let request = HttpRequest {
            method: "POST",
            url: url.clone(),
            headers,
            body: Some(body),
            timeout_ms: 5_000,
            max_body: 64 * 1024,
            // The transcript and its signature go to the configured URL only.
            redirect: Redirect::Refuse,
        };
        let failure = match self.http.send(request).await {
            Ok(response) if (200..300).contains(&response.status) => return,
            Ok(response) => format!("status {}", response.status),
            Err(e) => e.to_string(),
        };
        self.log(serde_json::json!({ "event": "help_desk_failed", "detail": failure }));
    }

    /// A customer's turn while humans have the conversation: the message is stored (as the
    /// channel's privacy policy allows) and waits for them; the bot says nothing.
    pub(crate) async fn hold_for_humans(
        &self,
        user: &UserId,
        mut context: UserContext,
        mut history: Vec<Message>,
        channel: &str,
        said: Said<'_>,
    ) -> Result<Exchange, ApiError> {
        if let Said::Text { text, .. } = said {
            let stored = if self.agent.stores_text_from(channel) { text } else { NOT_STORED };
            history.push(self.message(&mut context, Role::User, Reply::text(stored)));
        }
        context.updated_ms = self.clock.now_ms();
        self.save(user, &context, &history).await?;
        self.post_to_desk(user, &context, &history).await;
        Ok(Exchange { status: context.status, ..Exchange::default() })
    }

    /// The desk's summary of a conversation.
    fn desk_entry(&self, user: &UserId, context: &UserContext, history: &[Message]) -> DeskEntry {
        DeskEntry {
            conversation_id: context.conversation_id.clone(),
            user_id: user.to_string(),
            channel: context.channel.clone(),
            status: context.status,
            agent: context.handoff.agent.clone(),
            profile: context.profile.clone(),
            last_intent: context.last_intent.clone(),
            parameters: context.dialog.parameters.clone(),
            reason: context.handoff.reason.clone(),
            last_message: history.iter().rev().find(|m| m.role == Role::User).map(|m| m.text.clone()),
            since_ms: context.handoff.since_ms,
            updated_ms: context.updated_ms,
        }
    }

    /// Puts the conversation on the desk while humans have it, takes it off otherwise. A
    /// failure is logged: the context (the truth) is already written.
    pub(crate) async fn post_to_desk(&self, user: &UserId, context: &UserContext, history: &[Message]) {
        let result = if context.status.with_humans() {
            let admission = self.admission(None);
            self.analytics
                .desk_put(&self.desk_entry(user, context, history), &admission, self.clock.now_ms())
                .await
                .map(drop)
        } else {
            self.analytics.desk_remove(&context.conversation_id).await
        };
        if let Err(e) = result {
            self.log(serde_json::json!({ "event": "desk_failed", "detail": e.to_string() }));
        }
    }

    /// How the desk admits this request's handoff: counted against the client's origin.
    fn admission(&self, origin: Option<String>) -> Admission {
        Admission {
            origin,
            max_waiting: self.config.handoffs_per_ip,
            timeout_ms: u64::from(self.config.handoff_timeout_minutes) * 60_000,
        }
    }

    /// Puts a conversation the turn just handed off on the desk; `false` when the desk
    /// refuses it (the client's origin has as many conversations waiting as it may). A failing
    /// hub admits it (logged): the context is the truth, the desk a summary.
    pub(crate) async fn admit_to_desk(&self, user: &UserId, context: &UserContext, history: &[Message]) -> bool {
        let origin = self.client_ip.borrow().as_deref().map(|ip| self.keys.origin(ip));
        let entry = self.desk_entry(user, context, history);
        match self.analytics.desk_put(&entry, &self.admission(origin), self.clock.now_ms()).await {
            Ok(admitted) => admitted,
            Err(e) => {
                self.log(serde_json::json!({ "event": "desk_failed", "detail": e.to_string() }));
                true
            }
        }
    }

    /// A page of the conversations waiting for or with a human, those waiting longest first
    /// ([`crate::desk::page`]), and the cursor of the next page.
    pub async fn queue(&self, after: Option<&str>, limit: usize) -> Result<(Vec<DeskEntry>, Option<String>), ApiError> {
        let entries = self.analytics.desk_list(self.clock.now_ms()).await?;
        Ok(crate::desk::page(entries, after, limit))
    }

    /// The user whose object serialises agent requests on `conversation`: the desk knows.
    pub async fn desk_user(&self, conversation: &str) -> Result<UserId, ApiError> {
        let entries = self.analytics.desk_list(self.clock.now_ms()).await?;
        let entry = entries.into_iter().find(|e| e.conversation_id == conversation).ok_or_else(|| {
            ApiError::NotFound(format!("conversation '{conversation}' is not waiting for or with a human"))
        })?;
        UserId::parse(&entry.user_id)
            .ok_or_else(|| ApiError::Corrupt(format!("user id on the desk for {conversation}")))
    }

    /// The context of a conversation humans have, with its history.
    async fn with_humans(&self, conversation: &str) -> Result<(UserId, UserContext, Vec<Message>), ApiError> {
        if self.outside_user_objects {
            // The worker could not tell whose object serialises this (the desk did not
            // answer): acting here would bypass the user's lock and its parked writes.
            return Err(ApiError::Store(crate::ports::StoreError("the handoff desk did not answer".into())));
        }
        let gone = || ApiError::NotFound(format!("conversation '{conversation}' is not waiting for or with a human"));
        let user = self.desk_user(conversation).await?;
        let (user, context) = self.load_context(&user).await?;
        let Some(context) = context.filter(|c| c.conversation_id == conversation && c.status.with_humans()) else {
            // Its entry outlived it (expired context, a lost update): the desk forgets it.
            if let Err(e) = self.analytics.desk_remove(conversation).await {
                self.log(serde_json::json!({ "event": "desk_failed", "detail": e.to_string() }));
            }
            return Err(gone());
        };
        let id = ConversationId::parse(conversation).ok_or_else(gone)?;
        let history = self.load_history(&id).await?;
        Ok((user, context, history))
    }

    /// A conversation for the console: its summary and its messages after `after` (all when none).
    pub async fn agent_view(&self, conversation: &str, after: Option<u64>) -> Result<AgentConversation, ApiError> {
        let (user, context, history) = self.with_humans(conversation).await?;
        let entry = self.desk_entry(&user, &context, &history);
        let seq = |m: &Message| m.id.trim_start_matches('m').parse::<u64>().unwrap_or(0);
        let messages = history.into_iter().filter(|m| after.is_none_or(|a| seq(m) > a)).collect();
        Ok(AgentConversation { entry, messages })
    }

    /// `agent` takes the conversation; claiming one's own again is harmless.
    pub async fn claim(&self, conversation: &str, agent: &str) -> Result<DeskEntry, ApiError> {
        let (user, mut context, history) = self.with_humans(conversation).await?;
        match context.handoff.agent.as_deref() {
            Some(other) if other != agent => {
                return Err(ApiError::Conflict(format!("{other} has this conversation")));
            }
            Some(_) => {}
            None => {
                let now = self.clock.now_ms();
                context.status = Status::Human;
                context.handoff = Handoff { agent: Some(agent.to_owned()), since_ms: now, ..context.handoff };
                context.updated_ms = now;
                self.save(&user, &context, &history).await?;
                self.post_to_desk(&user, &context, &history).await;
            }
        }
        Ok(self.desk_entry(&user, &context, &history))
    }

    /// The claiming agent's reply, stored in the history; returned with the context, whose
    /// channel it must reach.
    pub async fn agent_reply(
        &self,
        conversation: &str,
        agent: &str,
        text: &str,
    ) -> Result<(Message, UserContext), ApiError> {
        let text = text.trim();
        check_text(text, text)?;
        let (user, mut context, mut history) = self.with_humans(conversation).await?;
        self.check_owner(&context, agent)?;
        let mut message = self.message(&mut context, Role::Agent, Reply::text(text));
        message.author = Some(agent.to_owned());
        history.push(message.clone());
        context.updated_ms = message.ts;
        self.save(&user, &context, &history).await?;
        self.post_to_desk(&user, &context, &history).await;
        Ok((message, context))
    }

    /// The claiming agent ends the handoff: resolved (the customer's next message starts a new
    /// session with the bot), or handed back to the bot as it stands.
    pub async fn finish_handoff(&self, conversation: &str, agent: &str, resolved: bool) -> Result<(), ApiError> {
        let (user, mut context, history) = self.with_humans(conversation).await?;
        if context.status == Status::Human {
            self.check_owner(&context, agent)?;
        }
        let now = self.clock.now_ms();
        context.handoff = Handoff::default();
        context.updated_ms = now;
        let mut events = Vec::new();
        if resolved {
            events.push(self.resolve_context(&mut context, now));
        } else {
            context.status = Status::Bot;
        }
        self.save(&user, &context, &history).await?;
        self.post_to_desk(&user, &context, &history).await;
        self.record(&events).await;
        Ok(())
    }

    fn check_owner(&self, context: &UserContext, agent: &str) -> Result<(), ApiError> {
        match context.handoff.agent.as_deref() {
            Some(owner) if owner == agent => Ok(()),
            Some(owner) => Err(ApiError::Conflict(format!("{owner} has this conversation"))),
            None => Err(ApiError::Conflict("claim the conversation first".into())),
        }
    }
}
