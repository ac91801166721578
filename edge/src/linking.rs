//! Identity linking: a verified identity joins the visitor's user to the person's other
//! identities, merging contexts when they were apart.
//!
//! The visitor's current user is the *anonymous* side. The verified identities (site user id,
//! and the email and phone a JWT vouches for) may already resolve to users of their own (an
//! earlier visit from another browser, a WhatsApp conversation). The first of those is the
//! *survivor*; every other user involved is merged into it ([`UserContext::merge`]) and its
//! `ctx:` record becomes a redirect, so tokens issued before keep working. All identities of
//! all merged users then point at the survivor. The reply is the survivor's conversation with
//! a fresh token.

use crate::context::Stored;
use crate::conversation::{Edge, WEB};
use crate::error::ApiError;
use crate::identity::{self, ChannelIdentity, VerifiedUser};
use crate::ids::{ConversationId, UserId};
use crate::ports::{AnalyticsStore, Clock, ContextStore, HttpClient};
use switchboard_dialog::protocol::{ConversationCreated, Identify};

impl<S: ContextStore, H: HttpClient, C: Clock, A: AnalyticsStore> Edge<'_, S, H, C, A> {
    /// Verifies `claims` (user_hash or JWT) into the identities they vouch for.
    pub fn verify(&self, claims: &Identify) -> Result<VerifiedUser, ApiError> {
        let secret = self.config.identity_secret.as_deref().ok_or(identity::IdentityError::NotConfigured)?;
        let mut verified = match (&claims.jwt, &claims.user_id, &claims.user_hash) {
            (Some(jwt), _, _) => identity::verify_jwt(secret, jwt, self.clock.now_ms())?,
            (None, Some(user_id), Some(hash)) => {
                identity::verify_user_hash(secret, user_id, hash)?;
                VerifiedUser { user_id: user_id.clone(), ..VerifiedUser::default() }
            }
            _ => return Err(ApiError::BadRequest("give 'user_id' with 'user_hash', or 'jwt'".into())),
        };
        // Unsigned extras fill the profile but link nothing (see `Profile`, `identities`).
        verified.name = verified.name.or_else(|| claims.name.clone());
        Ok(verified)
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
        self.link(anonymous, &verified, claims, None).await
    }

    /// Joins `user` to the verified identities (and `extra`, an index key such as the
    /// visitor's) and opens the surviving user's conversation.
    pub(crate) async fn link(
        &self,
        user: UserId,
        verified: &VerifiedUser,
        claims: &Identify,
        extra: Option<String>,
    ) -> Result<ConversationCreated, ApiError> {
        let identities = verified.identities();
        let mut linked: Vec<UserId> = Vec::new();
        for id in &identities {
            if let Some(found) = self.store.get(&id.index_key()).await? {
                let found = UserId::parse(&found).ok_or_else(|| ApiError::Corrupt(id.index_key()))?;
                let (found, _) = self.load_context(&found).await?;
                if !linked.contains(&found) {
                    linked.push(found);
                }
            }
        }
        // The verified person's existing user survives; a first verification keeps the visitor's.
        let survivor = linked.first().cloned().unwrap_or_else(|| user.clone());
        let mut absorbed: Vec<UserId> = Vec::new();
        for other in linked.iter().skip(1).chain(std::iter::once(&user)) {
            if *other != survivor && !absorbed.contains(other) {
                absorbed.push(other.clone());
            }
        }
        let (_, mut merged) = self.load_context(&survivor).await?;
        // Conversations of the absorbed users leave the desk; the survivor's is posted below.
        let mut left_desk: Vec<String> = Vec::new();
        for other in &absorbed {
            if let (_, Some(context)) = self.load_context(other).await? {
                left_desk.push(context.conversation_id.clone());
                match merged.as_mut() {
                    Some(m) => m.merge(context),
                    None => merged = Some(context),
                }
            }
        }
        let ttl = Some(self.config.ttl_for(WEB));
        let keys: Vec<String> = identities.iter().map(ChannelIdentity::index_key).chain(extra).collect();
        let Some(mut merged) = merged else {
            for key in &keys {
                self.store.put(key, survivor.as_str(), ttl).await?;
            }
            let (created, _) = self.open_for(survivor, None, WEB, keys.first().cloned()).await?;
            return Ok(created);
        };
        for key in keys {
            if !merged.identities.contains(&key) {
                merged.identities.push(key);
            }
        }
        let profile = &mut merged.profile;
        profile.verified = true;
        profile.name = verified.name.clone().or(profile.name.take());
        // An email the site sent beside a user_hash is not verified: it may fill the profile,
        // it links nothing (only `verified.identities()` are indexed).
        profile.email = verified.email.clone().or(profile.email.take()).or_else(|| claims.email.clone());
        profile.phone = verified.phone.clone().or(profile.phone.take());
        for key in &merged.identities {
            self.store.put(key, survivor.as_str(), ttl).await?;
        }
        let redirect =
            serde_json::to_string(&Stored::Merged { merged_into: survivor.to_string() }).expect("serialises");
        for other in &absorbed {
            self.store.put(&format!("ctx:{other}"), &redirect, ttl).await?;
        }
        let conversation = ConversationId::parse(&merged.conversation_id)
            .ok_or_else(|| ApiError::Corrupt(format!("conversation id in ctx:{survivor}")))?;
        let history = self.load_history(&conversation).await?;
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
