//! Conversations: create or resume, take a user message through the engine, read history,
//! end, feedback. Identity linking lives in [`crate::linking`], the KV layout in
//! [`crate::context`].
//!
//! A turn reads `ctx:<user>` and `hist:<conversation>` and writes both: two reads, two writes.
//! The turns of one user are serialised by the caller (the worker routes them through the
//! user's Durable Object), so a read-modify-write here never races another turn of that user.

use crate::analytics::{self, Event};
use crate::config::Config;
use crate::context::{Handoff, Profile, Status, Stored, UserContext};
use crate::deployment::DeployedAgent;
use crate::error::ApiError;
use crate::fulfillment;
use crate::handoff;
use crate::identity::ChannelIdentity;
use crate::ids::{ConversationId, UserId, Visitor, VisitorClaim};
use crate::keys::Keys;
use crate::layout;
use crate::limits::RateLimiter;
use crate::ports::{AnalyticsStore, Clock, ContextStore, HttpClient};
use crate::privacy;
use crate::token::TokenSigner;
use std::cell::RefCell;
use std::rc::Rc;
use switchboard_dialog::agent::Agent;
use switchboard_dialog::dialog::{self, DialogState, Effect, HandoffReason, Reply, Turn, UserInput};
use switchboard_dialog::entity::Date;
use switchboard_dialog::protocol::{ConversationCreated, Feedback, Message, Role, SendMessage};

/// The channel this API speaks for; relays of other channels render for their own.
pub const WEB: &str = "web";

/// Longest user message accepted, in characters (the web channel's limit).
pub const MAX_TEXT_CHARS: usize = 10_000;

/// What history keeps in place of words a channel's privacy policy does not let us store.
pub const NOT_STORED: &str = "[not stored]";

/// Rate limiters that outlive one request (per isolate, per Durable Object).
#[derive(Debug)]
pub struct Limits {
    /// Messages per user.
    pub user: RateLimiter,
    /// Requests per IP address.
    pub ip: RateLimiter,
    /// New web conversations per IP address.
    pub conversations: RateLimiter,
}

impl Limits {
    /// Limiters with the configured rates, per minute.
    pub fn new(config: &Config) -> Self {
        Self {
            user: RateLimiter::new(config.user_rate_per_minute, 60_000),
            ip: RateLimiter::new(config.ip_rate_per_minute, 60_000),
            conversations: RateLimiter::new(config.ip_conversations_per_hour, 3_600_000),
        }
    }
}

/// The edge service: an agent, its settings, and the platform it runs on.
pub struct Edge<'a, S, H, C, A> {
    /// The agent that answers.
    pub agent: &'a Agent,
    /// Settings.
    pub config: Config,
    /// Where context lives.
    pub store: S,
    /// Outbound HTTP for webhooks.
    pub http: H,
    /// Time and randomness.
    pub clock: C,
    /// Where analytics go.
    pub analytics: A,
    /// Rate limiters.
    pub limits: Rc<Limits>,
    pub(crate) signer: TokenSigner,
    /// Keys derived from the token secrets (visitor credentials, user ids).
    pub(crate) keys: Keys,
    /// The client's IP address for this request (`CF-Connecting-IP`), set by
    /// [`crate::api::handle`]: per-IP limits on new conversations and handoffs.
    pub(crate) client_ip: RefCell<Option<String>>,
    logs: RefCell<Vec<String>>,
    pub(crate) deployed: RefCell<Option<DeployedAgent>>,
    /// Runs in the worker, outside any user's object: requests that must be serialised by a
    /// user's object are refused here (see [`Edge::outside_user_objects`]).
    pub(crate) outside_user_objects: bool,
}

/// The result of a user message: the new bot messages.
#[derive(Debug, Default)]
pub struct Exchange {
    /// Messages the agent produced, in order.
    pub messages: Vec<Message>,
    /// The turn handed the conversation to a human.
    pub handoff: bool,
    /// The turn ended the session.
    pub ended: bool,
    /// Who has the conversation after the turn.
    pub status: Status,
    /// Words the turn must not store (see [`privacy::hidden_words`]): what the host keeps of
    /// the answer (the voice relay's cache) is masked with them.
    pub hidden: Vec<String>,
}

/// What the user did in a turn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Said<'a> {
    /// Words: `text` as shown in history, `heard` what the agent hears (a button's payload).
    Text {
        /// Shown in history.
        text: &'a str,
        /// Heard by the agent.
        heard: &'a str,
    },
    /// Silence (a voice channel's timeout).
    Nothing,
    /// The user arrived (a call was answered): the agent greets.
    Arrived,
}

/// Refuses empty or overlong text.
pub(crate) fn check_text(text: &str, heard: &str) -> Result<(), ApiError> {
    if text.is_empty() || heard.is_empty() {
        return Err(ApiError::BadRequest("text must not be empty".into()));
    }
    if text.chars().count() > MAX_TEXT_CHARS || heard.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::BadRequest(format!("text is longer than {MAX_TEXT_CHARS} characters")));
    }
    Ok(())
}

impl<'a, S: ContextStore, H: HttpClient, C: Clock, A: AnalyticsStore> Edge<'a, S, H, C, A> {
    /// Assembles the service, with its own rate limiters.
    pub fn new(agent: &'a Agent, config: Config, store: S, http: H, clock: C, analytics: A) -> Self {
        let keys = config.keys();
        let signer = TokenSigner::new(keys.tokens.clone(), config.token_lifetime_seconds);
        let limits = Rc::new(Limits::new(&config));
        let (logs, deployed) = (RefCell::default(), RefCell::default());
        Self {
            agent,
            config,
            store,
            http,
            clock,
            analytics,
            limits,
            signer,
            keys,
            client_ip: RefCell::default(),
            logs,
            deployed,
            outside_user_objects: false,
        }
    }

    /// Marks the service as the worker's, which forwards user requests to their objects: an
    /// agent's request on a conversation that reaches it (its user could not be found) is
    /// refused rather than run without the user's lock.
    pub fn outside_user_objects(mut self) -> Self {
        self.outside_user_objects = true;
        self
    }

    /// The same service counting requests in shared limiters.
    pub fn with_limits(mut self, limits: Rc<Limits>) -> Self {
        self.limits = limits;
        self
    }

    /// Records a structured log line (JSON, no personal data) for the host to emit.
    pub fn log(&self, line: serde_json::Value) {
        self.logs.borrow_mut().push(line.to_string());
    }

    /// Keeps a log line that is already JSON.
    pub(crate) fn log_line(&self, line: String) {
        self.logs.borrow_mut().push(line);
    }

    /// Takes the log lines recorded so far.
    pub fn take_logs(&self) -> Vec<String> {
        std::mem::take(&mut self.logs.borrow_mut())
    }

    /// Takes the agent this request deployed (`PUT /v1/admin/agent`), for the host to answer
    /// with from now on (see [`crate::deployment::AgentCache::install`]).
    pub fn take_deployed(&self) -> Option<DeployedAgent> {
        self.deployed.borrow_mut().take()
    }

    /// The user an identity resolves to: the index entry, else a user stored under the id the
    /// identity had before ids were keyed (migrated: the next save indexes it), else the
    /// derived id of a first contact.
    pub async fn resolve(&self, identity: &ChannelIdentity) -> Result<UserId, ApiError> {
        let key = identity.index_key();
        if let Some(id) = self.store.get(&key).await? {
            // The key names a phone or an email: the error (which is logged) says the kind only.
            return UserId::parse(&id).ok_or_else(|| ApiError::Corrupt(format!("an index entry {}", kind_of(&key))));
        }
        if let Some(legacy) = identity.legacy_user()
            && self.store.get(&layout::kv::context(&legacy)).await?.is_some()
        {
            return Ok(legacy);
        }
        Ok(identity.new_user(&self.keys.user_ids))
    }

    /// Where a web visitor's `visitor_id` leads: the visitor, the user they resolve to
    /// (following merges) and that user's context. A credential this deployment did not
    /// issue, or one whose user has since been linked to a verified person (resuming that
    /// needs the identity again), is `None`: a new visitor begins. A visitor id of the
    /// unsigned format of earlier releases resumes its own anonymous conversation once, and is
    /// given a credential in exchange (then refused).
    ///
    /// `migrate: false` only looks (the worker choosing the object that serialises the
    /// request): nothing is written and a legacy visitor keeps its id.
    pub(crate) async fn visitor_user(&self, given: &str, migrate: bool) -> Result<Option<VisitorUser>, ApiError> {
        let (identity, user, legacy) = match Visitor::claim(&self.keys, given) {
            VisitorClaim::Issued(visitor) => {
                let identity = ChannelIdentity::Visitor(visitor.as_str().to_owned());
                let user = self.resolve(&identity).await?;
                (identity, user, None)
            }
            VisitorClaim::Legacy(old) => {
                let marker = layout::kv::legacy_visitor(&old);
                let Some(user) = UserId::parse(&format!("u-{old}")) else { return Ok(None) };
                if self.store.get(&marker).await?.is_some() {
                    return Ok(None);
                }
                let (visitor, credential) = Visitor::issue(&self.keys, &self.clock.random_id());
                let identity = ChannelIdentity::Visitor(visitor.as_str().to_owned());
                (identity, user, Some((marker, credential)))
            }
            VisitorClaim::Unknown => return Ok(None),
        };
        let (user, context) = self.load_context(&user).await?;
        if legacy.is_some() && context.is_none() || context.as_ref().is_some_and(|c| c.profile.verified) {
            return Ok(None);
        }
        let credential = match legacy {
            Some((marker, credential)) if migrate => {
                self.store.put(&marker, "migrated", Some(self.config.ttl_for(WEB))).await?;
                credential
            }
            _ => given.trim().to_owned(),
        };
        Ok(Some(VisitorUser { credential, index_key: identity.index_key(), user, context }))
    }

    /// A new visitor: a fresh credential and the user it derives.
    pub(crate) fn new_visitor(&self) -> VisitorUser {
        let (visitor, credential) = Visitor::issue(&self.keys, &self.clock.random_id());
        let identity = ChannelIdentity::Visitor(visitor.as_str().to_owned());
        let user = identity.new_user(&self.keys.user_ids);
        VisitorUser { credential, index_key: identity.index_key(), user, context: None }
    }

    /// Starts a conversation for a web visitor, or returns the one they already have; the
    /// reply's `visitor_id` is the credential to present next time.
    pub async fn open(&self, visitor: Option<&str>) -> Result<(ConversationCreated, bool), ApiError> {
        let found = match visitor {
            Some(given) => self.visitor_user(given, true).await?,
            None => None,
        };
        let VisitorUser { credential, index_key, user, context } = match found {
            Some(found) => found,
            None => {
                // New conversations are limited per client: a flood of visitors is a flood of
                // conversations (and of handoffs on the desk).
                if let Some(ip) = self.client_ip.borrow().as_deref() {
                    self.limits.conversations.check(ip, self.clock.now_ms()).map_err(ApiError::RateLimited)?;
                }
                self.new_visitor()
            }
        };
        let (created, new) = self.open_for(user, context, WEB, Some(index_key)).await?;
        Ok((ConversationCreated { visitor_id: credential, ..created }, new))
    }

    /// Resumes `user`'s open conversation, or starts one (a first visit, or after the last one
    /// was resolved). `identity` is recorded as resolving to the user.
    pub(crate) async fn open_for(
        &self,
        user: UserId,
        context: Option<UserContext>,
        channel: &str,
        identity: Option<String>,
    ) -> Result<(ConversationCreated, bool), ApiError> {
        if let Some(mut context) = context.clone().filter(|c| c.status != Status::Resolved) {
            let conversation = ConversationId::parse(&context.conversation_id)
                .ok_or_else(|| ApiError::Corrupt(format!("conversation id in ctx:{user}")))?;
            let messages = self.load_history(&conversation).await?;
            // An identity new to the user (a migrated visitor's credential) is indexed now.
            if let Some(id) = identity.filter(|id| !context.identities.contains(id)) {
                context.identities.push(id);
                self.save(&user, &context, &messages).await?;
            }
            return Ok((self.created(conversation, user, messages, context.status), false));
        }
        let mut context = self.fresh_context(context, channel, identity);
        let now = context.created_ms;
        let conversation = ConversationId::parse(&context.conversation_id)
            .ok_or_else(|| ApiError::Corrupt("a fresh conversation id".into()))?;
        let turn = dialog::step(self.agent, &context.dialog, &UserInput::Welcome);
        let mut history = Vec::new();
        for reply in turn.messages {
            history.push(self.message(&mut context, Role::Bot, reply.for_channel(channel)));
        }
        context.dialog = turn.state.without_redacted(self.agent);
        self.save(&user, &context, &history).await?;
        self.record(&[Event::ConversationStarted { day: day(now), channel: channel.to_owned() }]).await;
        Ok((self.created(conversation, user, history, Status::Bot), true))
    }

    /// A new conversation's context for a user: what is known of the person is kept (profile,
    /// identities, session parameters), not the old dialog's progress. `identity` is recorded
    /// as resolving to the user. Nothing is written.
    pub(crate) fn fresh_context(
        &self,
        old: Option<UserContext>,
        channel: &str,
        identity: Option<String>,
    ) -> UserContext {
        let conversation = ConversationId::from_random(&self.clock.random_id());
        let now = self.clock.now_ms();
        let (profile, identities, parameters) = match old {
            Some(old) => (old.profile, old.identities, old.dialog.parameters),
            None => (Profile::default(), Vec::new(), Default::default()),
        };
        let mut context = UserContext {
            conversation_id: conversation.to_string(),
            dialog: DialogState { parameters, ..DialogState::default() },
            last_seq: 0,
            created_ms: now,
            updated_ms: now,
            profile,
            channel: channel.to_owned(),
            status: Status::Bot,
            identities,
            handoff: Default::default(),
            last_intent: None,
            reply_to: None,
            indexed_ms: 0,
            indexed: 0,
        };
        if let Some(id) = identity.filter(|id| !context.identities.contains(id)) {
            context.identities.push(id);
        }
        context
    }

    pub(crate) fn created(
        &self,
        conversation: ConversationId,
        user: UserId,
        messages: Vec<Message>,
        status: Status,
    ) -> ConversationCreated {
        ConversationCreated {
            token: self.signer.sign(&conversation, &user, self.clock.now_ms()),
            conversation_id: conversation.to_string(),
            user_id: user.to_string(),
            visitor_id: String::new(),
            messages,
            status,
        }
    }

    /// Checks a bearer token against the conversation in the path.
    pub fn authorise(
        &self,
        conversation: &str,
        authorization: Option<&str>,
    ) -> Result<(ConversationId, UserId), ApiError> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::Unauthorized("missing 'Authorization: Bearer <token>' header".into()))?;
        let (granted, user) =
            self.signer.verify(token.trim(), self.clock.now_ms()).map_err(|e| ApiError::Unauthorized(e.to_string()))?;
        if granted.as_str() != conversation {
            return Err(ApiError::Unauthorized("token is for another conversation".into()));
        }
        Ok((granted, user))
    }

    /// Takes one user message through the agent, calling webhooks as the engine asks.
    pub async fn send(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        send: &SendMessage,
    ) -> Result<Exchange, ApiError> {
        let text = send.text.trim();
        let heard = send.payload.as_deref().map_or(text, str::trim);
        check_text(text, heard)?;
        self.limits.user.check(user.as_str(), self.clock.now_ms()).map_err(ApiError::RateLimited)?;
        let (user, context) = self.open_context(conversation, user).await?;
        self.take_turn(&user, context, WEB, Said::Text { text, heard }, false).await
    }

    /// Runs one turn of `user`'s conversation on `channel`: what was said goes through the
    /// engine (webhooks called as it asks), history and context are written, analytics
    /// recorded. `started`: the context is a fresh one, its conversation begins now.
    pub(crate) async fn take_turn(
        &self,
        user: &UserId,
        mut context: UserContext,
        channel: &str,
        said: Said<'_>,
        started: bool,
    ) -> Result<Exchange, ApiError> {
        let started_ms = self.clock.now_ms();
        let conversation = ConversationId::parse(&context.conversation_id)
            .ok_or_else(|| ApiError::Corrupt(format!("conversation id in ctx:{user}")))?;
        let mut history = self.load_history(&conversation).await?;
        let mut events = Vec::new();
        if started {
            events.push(Event::ConversationStarted { day: day(started_ms), channel: channel.into() });
        } else if context.status == Status::Resolved {
            // The customer came back to a resolved conversation: a new session of it begins.
            context.status = Status::Bot;
            context.created_ms = started_ms;
            events.push(Event::ConversationStarted { day: day(started_ms), channel: channel.into() });
        }
        context.channel = channel.into();
        if context.status == Status::Waiting && handoff::unclaimed_too_long(&context, &self.config, started_ms) {
            // Nobody took it in time: the bot has the conversation again.
            context.status = Status::Bot;
            context.handoff = Handoff::default();
            self.post_to_desk(user, &context, &history).await;
            self.log(serde_json::json!({ "event": "handoff_expired", "conversation": context.conversation_id }));
        }
        if context.status.with_humans() {
            // Humans have it: the bot stays silent and the message waits for them.
            return self.hold_for_humans(user, context, history, channel, said).await;
        }
        let today = Date::from_unix_ms(started_ms);
        let (input, user_message) = match said {
            Said::Text { text, heard } => {
                history.push(self.message(&mut context, Role::User, Reply::text(text)));
                (UserInput::text_on(heard, today), Some((history.len() - 1, text, heard)))
            }
            Said::Nothing => (UserInput::NoInput, None),
            Said::Arrived => (UserInput::Welcome, None),
        };

        let mut state = context.dialog.clone();
        state.profile = context.profile.as_map();
        let first = dialog::step(self.agent, &state, &input);
        let matched = first.matched.clone();
        let outcome = self.run_effects(first, &conversation).await;
        let last = &outcome.last;

        // Values of `redact` parameters live for this turn only, and so do the customer's
        // words on a channel that stores no text: never in KV, the desk or logs.
        let stores_text = self.agent.stores_text_from(channel);
        let hidden = privacy::hidden_words(self.agent, last, stores_text);
        context.dialog = privacy::stored_state(self.agent, &last.state, stores_text);
        if let Some((at, text, _)) = user_message
            && let Some(stored) = history.get_mut(at)
        {
            stored.text = if stores_text { privacy::mask(text, &hidden) } else { NOT_STORED.into() };
        }
        let handoff = !outcome.handoffs.is_empty();
        let mut exchange =
            Exchange { messages: Vec::new(), handoff, ended: outcome.ended, status: Status::Bot, hidden: Vec::new() };
        for reply in &outcome.replies {
            let message = self.message(&mut context, Role::Bot, reply.for_channel(channel));
            exchange.messages.push(message.clone());
            history.push(privacy::mask_message(&message, &hidden));
        }
        let now = self.clock.now_ms();
        context.updated_ms = now;
        let no_match = matched.is_none()
            && user_message.is_some()
            && (context.dialog.no_match_count > 0
                || outcome.handoffs.iter().any(|r| matches!(r, HandoffReason::RepeatedNoMatch { .. })));
        if let Some(m) = &matched {
            context.last_intent = Some(m.intent.clone());
        }
        // Without agents (no `AGENT_TOKENS`) nobody could take over: the bot carries on, and
        // the handoff is still counted, logged and sent to a help desk webhook.
        if let Some(reason) = outcome.handoffs.first().filter(|_| !self.config.agents.is_empty()) {
            context.status = Status::Waiting;
            context.handoff = Handoff { agent: None, reason: Some(handoff::reason_name(reason).into()), since_ms: now };
        }
        if input != UserInput::Welcome {
            let heard = user_message.map(|(_, _, heard)| heard).unwrap_or_default();
            events.push(Event::Turn {
                day: day(started_ms),
                channel: channel.into(),
                intent: matched.as_ref().map(|m| m.intent.clone()),
                no_match,
                handoff,
                unmatched: (no_match && stores_text).then(|| analytics::mask(&privacy::mask(heard, &hidden))),
                duration_ms: now.saturating_sub(started_ms),
            });
        }
        if outcome.ended {
            events.push(self.resolve_context(&mut context, now));
        }
        // The desk admits the handoff before it is stored: one client cannot flood it.
        let to_desk = context.status == Status::Waiting && handoff && !outcome.ended;
        if to_desk && !self.admit_to_desk(user, &context, &history).await {
            context.status = Status::Bot;
            context.handoff = Handoff::default();
            self.log(serde_json::json!({ "event": "handoff_refused", "reason": "too many waiting from one client" }));
        }
        self.save(user, &context, &history).await?;
        exchange.status = context.status;
        exchange.hidden = hidden;
        if handoff && !outcome.ended {
            if !to_desk || context.status != Status::Waiting {
                self.post_to_desk(user, &context, &history).await;
            }
            self.notify_help_desk(user, &context, &history).await;
        }
        self.record(&events).await;
        self.log(serde_json::json!({
            "event": "turn",
            "channel": channel,
            "intent": matched.as_ref().map(|m| m.intent.as_str()),
            "confidence": matched.as_ref().map(|m| m.confidence),
            "no_match": no_match,
            "handoff": handoff,
            "duration_ms": now.saturating_sub(started_ms),
        }));
        Ok(exchange)
    }

    /// Marks the conversation resolved; the event for analytics.
    pub(crate) fn resolve_context(&self, context: &mut UserContext, now: u64) -> Event {
        context.status = Status::Resolved;
        context.dialog.active = None;
        context.dialog.flow = None;
        Event::Resolved {
            day: day(now),
            channel: context.channel.clone(),
            resolution_ms: now.saturating_sub(context.created_ms),
        }
    }

    /// Collects a turn's messages, carries out its effects (webhook calls, whose outcomes
    /// resume the engine; handoffs and the end of the session, which are reported).
    async fn run_effects(&self, mut turn: Turn, conversation: &ConversationId) -> Outcome {
        let (mut replies, mut handoffs, mut ended) = (Vec::new(), Vec::new(), false);
        // The engine asks for one webhook per turn; the bound guards against an agent that loops.
        for _ in 0..4 {
            if turn.replaces_earlier {
                replies.clear();
            }
            replies.append(&mut turn.messages);
            let mut webhook = None;
            for effect in std::mem::take(&mut turn.effects) {
                match effect {
                    Effect::CallWebhook { webhook: name, request } => webhook = Some((name, request)),
                    Effect::Handoff { reason } => {
                        // The reason's name only: a webhook's metadata may carry the customer's data.
                        self.log(serde_json::json!({
                            "event": "handoff", "conversation": conversation.as_str(), "reason": handoff::reason_name(&reason)
                        }));
                        handoffs.push(reason);
                    }
                    Effect::EndSession => ended = true,
                }
            }
            let Some((name, mut request)) = webhook else { break };
            request.session_info.session = conversation.to_string();
            request.detect_intent_response_id = self.clock.random_id();
            // The engine names only webhooks the validated agent has.
            let Some(definition) = self.agent.webhooks.get(&name) else { break };
            let (result, failure) = fulfillment::call(&self.http, &self.config, &name, definition, &request).await;
            if let Some(line) = failure {
                self.logs.borrow_mut().push(line);
            }
            let redacted = std::mem::take(&mut turn.redacted);
            turn = dialog::resume(self.agent, &turn.state, result);
            turn.redacted.extend(redacted);
        }
        Outcome { last: turn, replies, handoffs, ended }
    }

    /// The conversation's messages, oldest first: all of them (up to the history limit), those
    /// after the message `after` (polling), or the `limit` before `before` (paging back).
    pub async fn history(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        page: &HistoryPage,
    ) -> Result<(Vec<Message>, Option<String>, Status), ApiError> {
        let (_, context) = self.open_context(conversation, user).await?;
        let all = self.load_history(conversation).await?;
        let seq = |m: &Message| m.id.trim_start_matches('m').parse::<u64>().unwrap_or(0);
        let mut selected: Vec<Message> = all
            .into_iter()
            .filter(|m| page.after.is_none_or(|a| seq(m) > a) && page.before.is_none_or(|b| seq(m) < b))
            .collect();
        let limit = page.limit.unwrap_or(usize::MAX);
        let mut previous = None;
        if selected.len() > limit {
            let cut = selected.len() - limit;
            selected.drain(..cut);
            previous = selected.first().map(|m| m.id.clone());
        }
        Ok((selected, previous, context.status))
    }

    /// Ends the conversation as resolved; the next visit starts a new one.
    pub async fn end(&self, conversation: &ConversationId, user: &UserId) -> Result<(), ApiError> {
        let (user, mut context) = self.open_context(conversation, user).await?;
        if context.status == Status::Resolved {
            return Ok(());
        }
        let history = self.load_history(conversation).await?;
        let now = self.clock.now_ms();
        let event = self.resolve_context(&mut context, now);
        context.updated_ms = now;
        context.handoff = Handoff::default();
        self.save(&user, &context, &history).await?;
        self.post_to_desk(&user, &context, &history).await;
        self.record(&[event]).await;
        Ok(())
    }

    /// Records "Was this helpful?" for a bot message or the whole conversation.
    pub async fn feedback(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        feedback: &Feedback,
    ) -> Result<(), ApiError> {
        let (_, context) = self.open_context(conversation, user).await?;
        if let Some(id) = &feedback.message_id {
            let known = id
                .strip_prefix('m')
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|n| n >= 1 && n <= context.last_seq);
            if !known {
                return Err(ApiError::BadRequest(format!("unknown message_id '{id}'")));
            }
        }
        let event = Event::Feedback {
            day: day(self.clock.now_ms()),
            channel: context.channel.clone(),
            helpful: feedback.helpful,
            message: feedback.message_id.is_some(),
        };
        self.record(&[event]).await;
        Ok(())
    }

    /// The context of the conversation a token grants, following a merge.
    pub(crate) async fn open_context(
        &self,
        conversation: &ConversationId,
        user: &UserId,
    ) -> Result<(UserId, UserContext), ApiError> {
        match self.load_context(user).await? {
            // A token of a user since merged into a verified person (the anonymous visit
            // before identify) no longer opens that person's conversation.
            (resolved, Some(c)) if resolved != *user && c.profile.verified => {
                Err(ApiError::NotFound(format!("conversation '{conversation}' not found")))
            }
            (user, Some(c)) if c.conversation_id == conversation.as_str() => Ok((user, c)),
            _ => Err(ApiError::NotFound(format!("conversation '{conversation}' not found"))),
        }
    }

    pub(crate) fn message(&self, context: &mut UserContext, role: Role, reply: Reply) -> Message {
        context.last_seq += 1;
        Message {
            id: format!("m{}", context.last_seq),
            role,
            text: reply.text,
            quick_replies: reply.quick_replies,
            cards: reply.cards,
            ts: self.clock.now_ms(),
            author: None,
        }
    }

    /// The user's context (and the user it belongs to), following a merge redirect. A record that no longer parses is
    /// logged and treated as absent: the user starts afresh rather than being locked out.
    pub async fn load_context(&self, user: &UserId) -> Result<(UserId, Option<UserContext>), ApiError> {
        let mut user = user.clone();
        for _ in 0..2 {
            let Some(raw) = self.store.get(&layout::kv::context(&user)).await? else {
                return Ok((user, None));
            };
            match serde_json::from_str::<Stored>(&raw) {
                Ok(Stored::Live(context)) => return Ok((user, Some(*context))),
                Ok(Stored::Merged { merged_into }) => match UserId::parse(&merged_into) {
                    Some(next) => user = next,
                    None => break,
                },
                Err(e) => {
                    self.log(serde_json::json!({ "event": "corrupt_context", "user": user.as_str(), "detail": crate::error::json_fault(e) }));
                    return Ok((user, None));
                }
            }
        }
        self.log(serde_json::json!({ "event": "corrupt_context", "user": user.as_str(), "detail": "merge chain" }));
        Ok((user, None))
    }

    pub(crate) async fn load_history(&self, conversation: &ConversationId) -> Result<Vec<Message>, ApiError> {
        let Some(raw) = self.store.get(&layout::kv::history(conversation)).await? else {
            return Ok(Vec::new());
        };
        match serde_json::from_str(&raw) {
            Ok(history) => Ok(history),
            Err(e) => {
                self.log(serde_json::json!({ "event": "corrupt_history", "conversation": conversation.as_str(), "detail": crate::error::json_fault(e) }));
                Ok(Vec::new())
            }
        }
    }

    /// Writes the conversation's history and the user's context; the user's identity index
    /// entries are written with them when new and rewritten when half their lifetime has
    /// passed, so an identity keeps resolving to its user as long as the context lives.
    pub(crate) async fn save(&self, user: &UserId, context: &UserContext, history: &[Message]) -> Result<(), ApiError> {
        let ttl = self.config.ttl_for(&context.channel);
        let kept = history.get(history.len().saturating_sub(self.config.history_limit)..).unwrap_or_default();
        let history_json = serde_json::to_string(kept).map_err(|e| ApiError::Corrupt(format!("history: {e}")))?;
        self.store.put(&layout::kv::history(&context.conversation_id), &history_json, Some(ttl)).await?;
        let now = self.clock.now_ms();
        let mut context = context.clone();
        let stale = context.indexed_ms == 0 || now.saturating_sub(context.indexed_ms) > ttl.saturating_mul(500);
        if stale || context.identities.len() != context.indexed {
            for key in &context.identities {
                self.store.put(key, user.as_str(), Some(ttl)).await?;
            }
            context.indexed_ms = now;
            context.indexed = context.identities.len();
        }
        let context_json = serde_json::to_string(&Stored::Live(Box::new(context)))
            .map_err(|e| ApiError::Corrupt(format!("context: {e}")))?;
        self.store.put(&layout::kv::context(user), &context_json, Some(ttl)).await?;
        Ok(())
    }

    /// Sends events to analytics; a failure there is logged, never the user's problem.
    pub(crate) async fn record(&self, events: &[Event]) {
        if let Err(e) = self.analytics.record(events).await {
            self.log(serde_json::json!({ "event": "analytics_failed", "detail": e.to_string() }));
        }
    }
}

/// A web visitor as found by [`Edge::visitor_user`] or made by [`Edge::new_visitor`].
pub(crate) struct VisitorUser {
    /// The credential to give back as `visitor_id`.
    pub credential: String,
    /// The visitor's identity index key.
    pub index_key: String,
    /// The user the visitor resolves to (after merges).
    pub user: UserId,
    /// That user's context, if any.
    pub context: Option<UserContext>,
}

/// Which part of the history to return.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryPage {
    /// Only messages after this sequence number (`m12` → 12).
    pub after: Option<u64>,
    /// Only messages before this sequence number.
    pub before: Option<u64>,
    /// At most this many, the latest.
    pub limit: Option<usize>,
}

/// What a turn's effects came to.
struct Outcome {
    last: Turn,
    replies: Vec<Reply>,
    handoffs: Vec<HandoffReason>,
    ended: bool,
}

/// The kind part of an index key (`id:phone:+49…` → `id:phone:…`): what logs may say of it.
pub(crate) fn kind_of(index_key: &str) -> String {
    let kind = index_key.split(':').take(2).collect::<Vec<_>>().join(":");
    format!("{kind}:…")
}

/// `YYYY-MM-DD` (UTC) of a timestamp.
pub(crate) fn day(ms: u64) -> String {
    Date::from_unix_ms(ms).iso()
}
