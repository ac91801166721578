//! Identity linking: a verified identity joins the visitor's user to the person's other
//! identities, merging contexts when they were apart.
//!
//! The verified identities (site user id, and the email and phone a JWT vouches for) may
//! already resolve to users of their own (an earlier visit from another browser, a WhatsApp
//! conversation). The first of those is the *survivor*; a first verification makes the user
//! the site user id derives ([`Edge::survivor`]), so every request about the person, from any
//! browser, is serialised by the same user object. Every other user involved, and the
//! visitor's anonymous user, is merged into it ([`UserContext::merge`]) and its `ctx:` record
//! becomes a redirect. An anonymous user that was already linked to a verified person is
//! never merged into another one. The reply is the survivor's conversation with a fresh token.

use crate::context::{Stored, UserContext};
use crate::conversation::{Edge, WEB};
use crate::error::ApiError;
use crate::identity::{self, ChannelIdentity, VerifiedUser};
use crate::ids::{ConversationId, UserId};
use crate::ports::{AnalyticsStore, Clock, ContextStore, HttpClient};
use switchboard_dialog::protocol::{ConversationCreated, Identify};

impl<S: ContextStore, H: HttpClient, C: Clock, A: AnalyticsStore> Edge<'_, S, H, C, A> {
    /// Verifies `claims` (user_hash or JWT) into the identities they vouch for. Unsigned
    /// extras (`name`, `email`, `phone` beside a `user_hash`) are not part of it.
    pub fn verify(&self, claims: &Identify) -> Result<VerifiedUser, ApiError> {
        let keys = self.config.identity_keys().ok_or(identity::IdentityError::NotConfigured)?;
        match (&claims.jwt, &claims.user_id, &claims.user_hash) {
            (Some(jwt), _, _) => Ok(identity::verify_jwt(keys, jwt, self.clock.now_ms())?),
            (None, Some(user_id), Some(hash)) => {
                identity::verify_user_hash(&keys.user_hash, user_id, hash)?;
                Ok(VerifiedUser { user_id: user_id.clone(), ..VerifiedUser::default() })
            }
            _ => Err(ApiError::BadRequest("give 'user_id' with 'user_hash', or 'jwt'".into())),
        }
    }

    /// The users the verified identities already resolve to (after merges), in the order of
    /// the identities, each once.
    async fn linked_users(&self, verified: &VerifiedUser) -> Result<Vec<UserId>, ApiError> {
        let mut linked: Vec<UserId> = Vec::new();
        for id in verified.identities() {
            if let Some(found) = self.store.get(&id.index_key()).await? {
                let found = UserId::parse(&found).ok_or_else(|| {
                    ApiError::Corrupt(format!("an index entry {}", crate::conversation::kind_of(&id.index_key())))
                })?;
                let (found, _) = self.load_context(&found).await?;
                if !linked.contains(&found) {
                    linked.push(found);
                }
            }
        }
        Ok(linked)
    }

    /// The user a verified person's requests run as: the one their first known identity
    /// resolves to, else the one the site user id derives. The worker routes identify and
    /// identified opens to this user's object; [`Edge::link`] picks the same.
    pub async fn survivor(&self, verified: &VerifiedUser) -> Result<UserId, ApiError> {
        Ok(match self.linked_users(verified).await?.first() {
            Some(user) => user.clone(),
            None => ChannelIdentity::WebUser(verified.user_id.clone()).new_user(&self.keys.user_ids),
        })
    }

    /// Links the conversation's user to a verified identity; returns the conversation to
    /// continue (perhaps another one, of the same person) with a token for it.
    pub async fn identify(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        claims: &Identify,
    ) -> Result<ConversationCreated, ApiError> {
        let verified = self.verify(claims)?;
        let (anonymous, _) = self.open_context(conversation, user).await?;
        self.link(Some(anonymous), &verified, claims).await
    }

    /// Joins `anonymous` (a visitor's user, unless it is already someone verified) to the
    /// verified identities and opens the surviving user's conversation.
    pub(crate) async fn link(
        &self,
        anonymous: Option<UserId>,
        verified: &VerifiedUser,
        claims: &Identify,
    ) -> Result<ConversationCreated, ApiError> {
        let identities = verified.identities();
        let linked = self.linked_users(verified).await?;
        let survivor = match linked.first() {
            Some(user) => user.clone(),
            None => ChannelIdentity::WebUser(verified.user_id.clone()).new_user(&self.keys.user_ids),
        };
        let (_, mut merged) = self.load_context(&survivor).await?;
        let mut absorbed: Vec<(UserId, UserContext)> = Vec::new();
        for other in linked.iter().skip(1) {
            if let (user, Some(context)) = self.load_context(other).await? {
                absorbed.push((user, context));
            }
        }
        if let Some(user) = anonymous.filter(|u| *u != survivor && !linked.contains(u))
            && let (user, Some(context)) = self.load_context(&user).await?
            // A user verified as someone else (a shared browser) is another person.
            && !context.profile.verified
            && user != survivor
        {
            absorbed.push((user, context));
        }
        // Conversations of the absorbed users leave the desk; the survivor's is posted below.
        let mut left_desk: Vec<String> = Vec::new();
        for (_, context) in &absorbed {
            left_desk.push(context.conversation_id.clone());
            match merged.as_mut() {
                Some(m) => m.merge(context.clone()),
                None => merged = Some(context.clone()),
            }
        }
        let keys: Vec<String> = identities.iter().map(ChannelIdentity::index_key).collect();
        let Some(mut merged) = merged else {
            // A first contact: a context with nothing open, so that `open_for` starts the
            // survivor's conversation with these identities and this profile.
            let mut context = self.fresh_context(None, WEB, None);
            context.identities = keys;
            context.status = crate::context::Status::Resolved;
            apply_profile(&mut context, verified, claims);
            let (created, _) = self.open_for(survivor, Some(context), WEB, None).await?;
            return Ok(created);
        };
        for key in keys {
            if !merged.identities.contains(&key) {
                merged.identities.push(key);
            }
        }
        apply_profile(&mut merged, verified, claims);
        let redirect = serde_json::to_string(&Stored::Merged { merged_into: survivor.to_string() })
            .map_err(|e| ApiError::Corrupt(e.to_string()))?;
        let ttl = Some(self.config.ttl_for(WEB));
        for (other, _) in &absorbed {
            self.store.put(&crate::layout::kv::context(other), &redirect, ttl).await?;
        }
        let conversation = ConversationId::parse(&merged.conversation_id)
            .ok_or_else(|| ApiError::Corrupt(format!("conversation id in ctx:{survivor}")))?;
        let history = self.load_history(&conversation).await?;
        // Every identity of every merged user now points at the survivor.
        merged.indexed_ms = 0;
        self.save(&survivor, &merged, &history).await?;
        for id in left_desk.iter().filter(|id| **id != merged.conversation_id) {
            if let Err(e) = self.analytics.desk_remove(id).await {
                self.log(serde_json::json!({ "event": "desk_failed", "detail": e.to_string() }));
            }
        }
        self.post_to_desk(&survivor, &merged, &history).await;
        self.log(serde_json::json!({ "event": "identified", "user": survivor.as_str(), "merged": absorbed.len() }));
        let (created, _) = self.open_for(survivor, Some(merged), WEB, None).await?;
        Ok(created)
    }
}

/// What the verification vouches for, marked verified; the unsigned extras fill gaps only,
/// never marked verified.
fn apply_profile(context: &mut UserContext, verified: &VerifiedUser, claims: &Identify) {
    let profile = &mut context.profile;
    profile.verified = true;
    profile.set("name", verified.name.clone(), true);
    profile.set("email", verified.email.clone(), true);
    profile.set("phone", verified.phone.clone(), true);
    profile.set("name", claims.name.clone(), false);
    profile.set("email", claims.email.clone(), false);
    profile.set("phone", claims.phone.as_deref().and_then(identity::e164), false);
}
