//! Conversations: create or resume, take a user message through the engine, read history.
//!
//! KV layout (namespace `CONTEXT`), one JSON value per key:
//! - `ctx:<user id>`: [`UserContext`]: the open conversation and its dialog state;
//! - `hist:<conversation id>`: the conversation's last messages (bounded).
//!
//! A turn reads both keys and writes both: two reads, two writes.

use crate::config::Config;
use crate::error::ApiError;
use crate::fulfillment;
use crate::ids::{ConversationId, UserId, VisitorId};
use crate::ports::{Clock, ContextStore, HttpClient};
use crate::token::TokenSigner;
use serde::{Deserialize, Serialize};
use switchboard_dialog::agent::Agent;
use switchboard_dialog::dialog::{self, DialogState, Effect, Reply, Turn, UserInput};
use switchboard_dialog::entity::Date;
use switchboard_dialog::protocol::{ConversationCreated, Message, Role};

/// The channel this API speaks for; relays of other channels render for their own.
const CHANNEL: &str = "web";

/// Longest user message accepted, in characters (the web channel's limit).
pub const MAX_TEXT_CHARS: usize = 10_000;

/// What the edge remembers about a user between turns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserContext {
    /// The user's open conversation.
    pub conversation_id: String,
    /// The engine's state for it.
    pub dialog: DialogState,
    /// Sequence number of the last message written.
    pub last_seq: u64,
    /// When the conversation started (ms since epoch).
    pub created_ms: u64,
    /// When the last turn ended (ms since epoch).
    pub updated_ms: u64,
}

/// The edge service: an agent, its settings, and the platform it runs on.
pub struct Edge<'a, S, H, C> {
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
    signer: TokenSigner,
}

/// The result of a user message: the new bot messages and log lines for the host.
#[derive(Debug, Default)]
pub struct Exchange {
    /// Messages the agent produced, in order.
    pub messages: Vec<Message>,
    /// Structured log lines (JSON, no personal data).
    pub logs: Vec<String>,
}

impl<'a, S: ContextStore, H: HttpClient, C: Clock> Edge<'a, S, H, C> {
    /// Assembles the service.
    pub fn new(agent: &'a Agent, config: Config, store: S, http: H, clock: C) -> Self {
        let signer = TokenSigner::new(config.token_secret.clone());
        Self { agent, config, store, http, clock, signer }
    }

    /// Starts a conversation for a web visitor, or returns the one they already have.
    pub async fn open(&self, visitor: Option<&str>) -> Result<(ConversationCreated, bool), ApiError> {
        let visitor = match visitor {
            Some(v) => VisitorId::parse(v).ok_or_else(|| {
                ApiError::BadRequest(format!("visitor_id '{v}' must be 8 to 64 characters of A-Z a-z 0-9 _ -"))
            })?,
            None => VisitorId::from_random(&self.clock.random_id()),
        };
        let user = UserId::for_visitor(&visitor);
        if let Some(context) = self.load_context(&user).await? {
            let conversation = ConversationId::parse(&context.conversation_id)
                .ok_or_else(|| ApiError::Corrupt(format!("conversation id in ctx:{user}")))?;
            let messages = self.load_history(&conversation).await?;
            return Ok((self.created(conversation, user, visitor, messages), false));
        }
        let conversation = ConversationId::from_random(&self.clock.random_id());
        let now = self.clock.now_ms();
        let mut context = UserContext {
            conversation_id: conversation.to_string(),
            dialog: DialogState::default(),
            last_seq: 0,
            created_ms: now,
            updated_ms: now,
        };
        let turn = dialog::step(self.agent, &context.dialog, &UserInput::Welcome);
        let mut history = Vec::new();
        for reply in turn.messages {
            history.push(self.message(&mut context, Role::Bot, reply.for_channel(CHANNEL)));
        }
        context.dialog = turn.state;
        self.save(&user, &context, &history).await?;
        Ok((self.created(conversation, user, visitor, history), true))
    }

    fn created(
        &self,
        conversation: ConversationId,
        user: UserId,
        visitor: VisitorId,
        messages: Vec<Message>,
    ) -> ConversationCreated {
        ConversationCreated {
            token: self.signer.sign(&conversation, &user),
            conversation_id: conversation.to_string(),
            user_id: user.to_string(),
            visitor_id: visitor.to_string(),
            messages,
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
        let (granted, user) = self.signer.verify(token.trim()).map_err(|e| ApiError::Unauthorized(e.to_string()))?;
        if granted.as_str() != conversation {
            return Err(ApiError::Unauthorized("token is for another conversation".into()));
        }
        Ok((granted, user))
    }

    /// Takes one user message through the agent, calling webhooks as the engine asks.
    pub async fn send(&self, conversation: &ConversationId, user: &UserId, text: &str) -> Result<Exchange, ApiError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ApiError::BadRequest("text must not be empty".into()));
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(ApiError::BadRequest(format!("text is longer than {MAX_TEXT_CHARS} characters")));
        }
        let mut context = self.open_context(conversation, user).await?;
        let mut history = self.load_history(conversation).await?;
        let started = self.clock.now_ms();
        let user_message = history.len();
        history.push(self.message(&mut context, Role::User, Reply::text(text)));

        let mut logs = Vec::new();
        let today = Date::from_unix_ms(started);
        let first = dialog::step(self.agent, &context.dialog, &UserInput::text_on(text, today));
        let matched = first.matched.clone();
        let mut replies = Vec::new();
        let last = self.run_effects(first, conversation, &mut replies, &mut logs).await;
        // Values of `redact` parameters live for this turn only: never in KV, never in logs.
        context.dialog = last.state.without_redacted(self.agent);
        history[user_message].text = last.mask(text);

        let mut exchange = Exchange { messages: Vec::new(), logs };
        for reply in replies {
            let message = self.message(&mut context, Role::Bot, reply.for_channel(CHANNEL));
            exchange.messages.push(message.clone());
            history.push(Message { text: last.mask(&message.text), ..message });
        }
        context.updated_ms = self.clock.now_ms();
        self.save(user, &context, &history).await?;
        exchange.logs.push(
            serde_json::json!({
                "event": "turn",
                "channel": "web",
                "intent": matched.as_ref().map(|m| m.intent.as_str()),
                "confidence": matched.as_ref().map(|m| m.confidence),
                "no_match": context.dialog.no_match_count > 0,
                "duration_ms": context.updated_ms.saturating_sub(started),
            })
            .to_string(),
        );
        Ok(exchange)
    }

    /// Collects a turn's messages, carries out its effects (webhook calls, whose outcomes
    /// resume the engine; handoffs, which are logged), and returns the last turn.
    async fn run_effects(
        &self,
        mut turn: Turn,
        conversation: &ConversationId,
        replies: &mut Vec<Reply>,
        logs: &mut Vec<String>,
    ) -> Turn {
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
                    // Routing to a human arrives with the agent console; until then the request is recorded.
                    Effect::Handoff { reason } => logs.push(
                        serde_json::json!({ "event": "handoff", "conversation": conversation.as_str(), "reason": format!("{reason:?}") })
                            .to_string(),
                    ),
                    Effect::EndSession => logs.push(
                        serde_json::json!({ "event": "end_session", "conversation": conversation.as_str() }).to_string(),
                    ),
                }
            }
            let Some((name, mut request)) = webhook else { break };
            request.session_info.session = conversation.to_string();
            request.detect_intent_response_id = self.clock.random_id();
            let definition = &self.agent.webhooks[&name];
            let (outcome, failure) = fulfillment::call(&self.http, &self.config, &name, definition, &request).await;
            logs.extend(failure);
            turn = dialog::resume(self.agent, &turn.state, outcome);
        }
        turn
    }

    /// The conversation's messages, oldest first.
    pub async fn history(&self, conversation: &ConversationId, user: &UserId) -> Result<Vec<Message>, ApiError> {
        self.open_context(conversation, user).await?;
        self.load_history(conversation).await
    }

    async fn open_context(&self, conversation: &ConversationId, user: &UserId) -> Result<UserContext, ApiError> {
        match self.load_context(user).await? {
            Some(c) if c.conversation_id == conversation.as_str() => Ok(c),
            _ => Err(ApiError::NotFound(format!("conversation '{conversation}' not found"))),
        }
    }

    fn message(&self, context: &mut UserContext, role: Role, reply: Reply) -> Message {
        context.last_seq += 1;
        Message {
            id: format!("m{}", context.last_seq),
            role,
            text: reply.text,
            quick_replies: reply.quick_replies,
            cards: reply.cards,
            ts: self.clock.now_ms(),
        }
    }

    async fn load_context(&self, user: &UserId) -> Result<Option<UserContext>, ApiError> {
        let Some(raw) = self.store.get(&format!("ctx:{user}")).await? else {
            return Ok(None);
        };
        serde_json::from_str(&raw).map(Some).map_err(|e| ApiError::Corrupt(format!("ctx:{user}: {e}")))
    }

    async fn load_history(&self, conversation: &ConversationId) -> Result<Vec<Message>, ApiError> {
        let Some(raw) = self.store.get(&format!("hist:{conversation}")).await? else {
            return Ok(Vec::new());
        };
        serde_json::from_str(&raw).map_err(|e| ApiError::Corrupt(format!("hist:{conversation}: {e}")))
    }

    async fn save(&self, user: &UserId, context: &UserContext, history: &[Message]) -> Result<(), ApiError> {
        let ttl = Some(self.config.context_ttl_seconds);
        let kept = &history[history.len().saturating_sub(self.config.history_limit)..];
        let history_json = serde_json::to_string(kept).expect("messages serialise");
        self.store.put(&format!("hist:{}", context.conversation_id), &history_json, ttl).await?;
        let context_json = serde_json::to_string(context).expect("context serialises");
        self.store.put(&format!("ctx:{user}"), &context_json, ttl).await?;
        Ok(())
    }
}
