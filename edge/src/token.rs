//! Conversation tokens: HMAC-SHA256 signed, so a request is authorised without a store read.
//!
//! Format: `v2.<key id>.<conversation id>.<user id>.<expiry, unix seconds>.<hex hmac>`, the
//! HMAC over everything before its dot, under the conversation-token key of `TOKEN_SECRET`
//! ([`crate::keys`]). The key id names which secret signed it: during a rotation tokens of the
//! previous secret still verify until they expire. Ids never contain dots ([`crate::ids`]).

use crate::ids::{ConversationId, UserId};
use crate::keys::{Key, ct_eq, hex, unhex};

/// How long a token is valid unless configured otherwise: a day (the widget opens the
/// conversation again with its visitor credential when one expires).
pub const DEFAULT_LIFETIME_SECONDS: u64 = 24 * 3600;

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    /// Not six dot-separated parts with known version and valid ids.
    #[error("malformed token")]
    Malformed,
    /// Signed by a key this deployment does not have (or no longer has).
    #[error("token signed with an unknown key; open the conversation again")]
    UnknownKey,
    /// The signature does not match.
    #[error("bad token signature")]
    BadSignature,
    /// Its time is up.
    #[error("token expired; open the conversation again")]
    Expired,
}

/// Signs conversation tokens with the current key and verifies them with the current or
/// previous one.
#[derive(Clone, Debug)]
pub struct TokenSigner {
    keys: Vec<Key>,
    lifetime_ms: u64,
}

impl TokenSigner {
    /// A signer with `keys` (the current first) issuing tokens valid for `lifetime_seconds`.
    pub fn new(keys: Vec<Key>, lifetime_seconds: u64) -> Self {
        Self { keys, lifetime_ms: lifetime_seconds.saturating_mul(1000) }
    }

    /// A token granting access to `conversation` as `user` from `now_ms` for the lifetime.
    pub fn sign(&self, conversation: &ConversationId, user: &UserId, now_ms: u64) -> String {
        let Some(key) = self.keys.first() else { return String::new() };
        let expiry = now_ms.saturating_add(self.lifetime_ms) / 1000;
        let payload = format!("v2.{}.{conversation}.{user}.{expiry}", key.id);
        let tag = key.mac(payload.as_bytes());
        format!("{payload}.{}", hex(&tag))
    }

    /// The conversation and user a token grants at `now_ms`, if its signature holds
    /// (constant-time check) and it has not expired.
    pub fn verify(&self, token: &str, now_ms: u64) -> Result<(ConversationId, UserId), TokenError> {
        let mut parts = token.split('.');
        let (Some("v2"), Some(key_id), Some(conversation), Some(user), Some(expiry), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let conversation = ConversationId::parse(conversation).ok_or(TokenError::Malformed)?;
        let user = UserId::parse(user).ok_or(TokenError::Malformed)?;
        let expiry_s: u64 = expiry.parse().map_err(|_| TokenError::Malformed)?;
        let tag = unhex(tag).ok_or(TokenError::Malformed)?;
        let key = self.keys.iter().find(|k| k.id == key_id).ok_or(TokenError::UnknownKey)?;
        let signed_len = token.len().saturating_sub(tag.len() * 2 + 1);
        let payload = token.get(..signed_len).ok_or(TokenError::Malformed)?;
        if !ct_eq(&key.mac(payload.as_bytes()), &tag) {
            return Err(TokenError::BadSignature);
        }
        if expiry_s.saturating_mul(1000) <= now_ms {
            return Err(TokenError::Expired);
        }
        Ok((conversation, user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Keys;

    const NOW: u64 = 1_764_000_000_000;

    fn ids() -> (ConversationId, UserId) {
        (ConversationId::parse("c-0123456789").unwrap(), UserId::parse("u-0123456789abcdef").unwrap())
    }

    fn signer(secret: u8, previous: Option<u8>) -> TokenSigner {
        let previous = previous.map(|p| [p; 32]);
        TokenSigner::new(Keys::new(&[secret; 32], previous.as_ref().map(|p| &p[..])).tokens, 3600)
    }

    #[test]
    fn round_trips_until_expiry() {
        let (c, u) = ids();
        let signer = signer(1, None);
        let token = signer.sign(&c, &u, NOW);
        assert_eq!(signer.verify(&token, NOW), Ok((c.clone(), u.clone())));
        assert_eq!(signer.verify(&token, NOW + 3_599_000), Ok((c, u)));
        assert_eq!(signer.verify(&token, NOW + 3_600_000), Err(TokenError::Expired));
    }

    #[test]
    fn the_previous_key_verifies_during_a_rotation_and_not_after() {
        let (c, u) = ids();
        let old = signer(1, None).sign(&c, &u, NOW);
        assert_eq!(signer(2, Some(1)).verify(&old, NOW), Ok((c.clone(), u.clone())));
        assert_eq!(signer(2, None).verify(&old, NOW), Err(TokenError::UnknownKey));
        // A token of the new key names the new key.
        let new = signer(2, Some(1)).sign(&c, &u, NOW);
        assert_eq!(signer(2, None).verify(&new, NOW), Ok((c, u)));
    }

    #[test]
    fn rejects_forgeries_and_garbage() {
        let (c, u) = ids();
        let signer = signer(1, None);
        let token = signer.sign(&c, &u, NOW);
        assert_eq!(self::signer(3, None).verify(&token, NOW), Err(TokenError::UnknownKey));
        let swapped = token.replace("c-0123456789", "c-9876543210");
        assert_eq!(signer.verify(&swapped, NOW), Err(TokenError::BadSignature));
        // Extending one's own expiry breaks the signature.
        let parts: Vec<&str> = token.split('.').collect();
        let later = [parts[0], parts[1], parts[2], parts[3], "99999999999", parts[5]].join(".");
        assert_eq!(signer.verify(&later, NOW), Err(TokenError::BadSignature));
        for bad in ["", "v2", "v1.c-0123456789.u-v-abcdefgh.00", "a.b.c.d.e.f", "v2.x.c-0123456789.u-0123456789.1.é"] {
            assert_eq!(signer.verify(bad, NOW), Err(TokenError::Malformed), "{bad}");
        }
    }
}
