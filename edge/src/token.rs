//! Conversation tokens: HMAC-SHA256 signed, so a request is authorised without a store read.
//!
//! Format: `v1.<conversation id>.<user id>.<hex hmac of "v1.<conversation id>.<user id>">`.
//! Ids never contain dots (see [`crate::ids`]).

use crate::ids::{ConversationId, UserId};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    /// Not four dot-separated parts with known version and valid ids.
    #[error("malformed token")]
    Malformed,
    /// The signature does not match.
    #[error("bad token signature")]
    BadSignature,
}

/// Signs and verifies conversation tokens with one secret.
#[derive(Clone)]
pub struct TokenSigner {
    secret: Vec<u8>,
}

impl TokenSigner {
    /// A signer for `secret` (the worker's `TOKEN_SECRET`).
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self { secret: secret.into() }
    }

    fn mac(&self, payload: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(payload.as_bytes());
        mac
    }

    /// A token granting access to `conversation` as `user`.
    pub fn sign(&self, conversation: &ConversationId, user: &UserId) -> String {
        let payload = format!("v1.{conversation}.{user}");
        let tag = self.mac(&payload).finalize().into_bytes();
        format!("{payload}.{}", hex(&tag))
    }

    /// The conversation and user a token grants, if its signature holds (constant-time check).
    pub fn verify(&self, token: &str) -> Result<(ConversationId, UserId), TokenError> {
        let mut parts = token.split('.');
        let (Some("v1"), Some(conversation), Some(user), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let conversation = ConversationId::parse(conversation).ok_or(TokenError::Malformed)?;
        let user = UserId::parse(user).ok_or(TokenError::Malformed)?;
        let tag = unhex(tag).ok_or(TokenError::Malformed)?;
        self.mac(&format!("v1.{conversation}.{user}")).verify_slice(&tag).map_err(|_| TokenError::BadSignature)?;
        Ok((conversation, user))
    }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from hex of either case; `None` unless it is an even number of hex digits.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (ConversationId, UserId) {
        (ConversationId::parse("c-0123456789").unwrap(), UserId::parse("u-v-abcdefgh").unwrap())
    }

    #[test]
    fn hmac_matches_the_published_vector() {
        let tag = TokenSigner::new("secret").mac("Message").finalize().into_bytes();
        assert_eq!(hex(&tag), "aa747c502a898200f9e4fa21bac68136f886a0e27aec70ba06daf2e2a5cb5597");
    }

    #[test]
    fn round_trips() {
        let (c, u) = ids();
        let signer = TokenSigner::new("k");
        assert_eq!(signer.verify(&signer.sign(&c, &u)), Ok((c, u)));
    }

    #[test]
    fn rejects_forgeries_and_garbage() {
        let (c, u) = ids();
        let token = TokenSigner::new("k").sign(&c, &u);
        assert_eq!(TokenSigner::new("other").verify(&token), Err(TokenError::BadSignature));
        let swapped = token.replace("c-0123456789", "c-9876543210");
        assert_eq!(TokenSigner::new("k").verify(&swapped), Err(TokenError::BadSignature));
        for bad in ["", "v1", "v2.c-0123456789.u-v-abcdefgh.00", "v1.c-0123456789.u-v-abcdefgh.zz", "a.b.c.d.e"] {
            assert_eq!(TokenSigner::new("k").verify(bad), Err(TokenError::Malformed), "{bad}");
        }
    }
}
