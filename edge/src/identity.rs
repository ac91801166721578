//! Channel identities and their verification.
//!
//! Every channel knows a customer by some identity: the widget by an anonymous visitor id, a
//! signed-in site user by the site's user id, WhatsApp by a phone number, Messenger by a
//! page-scoped id. The KV index `id:<kind>:<value>` maps each identity to one [`UserId`], so
//! one person's context follows them across channels.
//!
//! Only verified identities link users together (see ../shared/PROTOCOLS.md):
//! - a site user by `user_id` + `user_hash = hex(HMAC-SHA256(identity secret, user_id))`, the
//!   Intercom/Chatwoot scheme, or by a JWT signed HS256 with the same secret and an `exp`;
//! - a phone number by the channel that delivered it (WhatsApp, Twilio).
//!
//! An email typed by an anonymous visitor links nothing: anyone can type anyone's address.

use crate::ids::UserId;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// One way a channel knows a person.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChannelIdentity {
    /// An anonymous web visitor (the widget's stored id).
    Visitor(String),
    /// A signed-in user of the embedding site, verified by `user_hash` or JWT.
    WebUser(String),
    /// A verified email address (from a verified web identity).
    Email(String),
    /// A verified phone number, E.164 (`+4915112345678`).
    Phone(String),
    /// A Messenger page-scoped id.
    MessengerPsid(String),
    /// A WhatsApp id (the number without `+`).
    WhatsApp(String),
    /// A Telegram chat id.
    Telegram(String),
    /// A caller whose number is withheld, known for one call (its `CallSid`).
    Caller(String),
}

impl ChannelIdentity {
    /// The KV index key: `id:<kind>:<value>`.
    pub fn index_key(&self) -> String {
        let (kind, value) = match self {
            Self::Visitor(v) => ("visitor", v),
            Self::WebUser(v) => ("web", v),
            Self::Email(v) => ("email", v),
            Self::Phone(v) => ("phone", v),
            Self::MessengerPsid(v) => ("messenger", v),
            Self::WhatsApp(v) => ("whatsapp", v),
            Self::Telegram(v) => ("telegram", v),
            Self::Caller(v) => ("call", v),
        };
        format!("id:{kind}:{value}")
    }

    /// The user id a first-seen identity gets: derived, so resolving it needs no write.
    pub fn new_user(&self) -> UserId {
        let digest = |s: &str| {
            let mut mac = HmacSha256::new_from_slice(b"switchboard user id").expect("any key length");
            mac.update(s.as_bytes());
            crate::token::hex(&mac.finalize().into_bytes()[..12])
        };
        let id = match self {
            // Visitor ids are random already; the others may be personal data and are hashed.
            Self::Visitor(v) => format!("u-{v}"),
            other => format!("u-{}", digest(&other.index_key())),
        };
        UserId::parse(&id).expect("derived ids are safe")
    }
}

/// Normalises a phone number to E.164 (`+` and 8–15 digits), dropping spaces, dashes, dots and
/// brackets; `None` when it is not one.
pub fn e164(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let digits: String = trimmed.chars().filter(|c| c.is_ascii_digit()).collect();
    let allowed = trimmed.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    (allowed && (8..=15).contains(&digits.len())).then(|| format!("+{digits}"))
}

/// What a verified web identity says about the person.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VerifiedUser {
    /// The site's user id.
    pub user_id: String,
    /// Email, when the site vouches for it.
    pub email: Option<String>,
    /// Phone (E.164), when the site vouches for it.
    pub phone: Option<String>,
    /// Display name.
    pub name: Option<String>,
}

impl VerifiedUser {
    /// The identities this user is known by, the site user first.
    pub fn identities(&self) -> Vec<ChannelIdentity> {
        let mut ids = vec![ChannelIdentity::WebUser(self.user_id.clone())];
        ids.extend(self.email.iter().map(|e| ChannelIdentity::Email(e.to_lowercase())));
        ids.extend(self.phone.iter().map(|p| ChannelIdentity::Phone(p.clone())));
        ids
    }
}

/// Why an identity was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum IdentityError {
    /// The deployment has no identity secret, so nothing can be verified.
    #[error("identity verification is not configured (set IDENTITY_SECRET)")]
    NotConfigured,
    /// `user_hash` does not match `user_id`.
    #[error("user_hash does not match user_id")]
    BadHash,
    /// The JWT is not three base64url parts of JSON.
    #[error("malformed JWT: {0}")]
    MalformedJwt(&'static str),
    /// The JWT's algorithm is not HS256.
    #[error("JWT algorithm must be HS256")]
    WrongAlgorithm,
    /// The JWT's signature does not match.
    #[error("bad JWT signature")]
    BadSignature,
    /// The JWT has no `exp`, or it has passed.
    #[error("JWT expired or without 'exp'")]
    Expired,
    /// The user id is empty or too long.
    #[error("user_id must be 1 to 256 characters")]
    BadUserId,
}

/// Checks `user_hash = hex(HMAC-SHA256(secret, user_id))` in constant time.
pub fn verify_user_hash(secret: &[u8], user_id: &str, user_hash: &str) -> Result<(), IdentityError> {
    check_user_id(user_id)?;
    let expected = crate::token::unhex(user_hash.trim()).ok_or(IdentityError::BadHash)?;
    let mut mac = HmacSha256::new_from_slice(secret).expect("any key length");
    mac.update(user_id.as_bytes());
    mac.verify_slice(&expected).map_err(|_| IdentityError::BadHash)
}

fn check_user_id(user_id: &str) -> Result<(), IdentityError> {
    if user_id.is_empty() || user_id.len() > 256 {
        return Err(IdentityError::BadUserId);
    }
    Ok(())
}

#[derive(Deserialize)]
struct JwtHeader {
    alg: String,
}

#[derive(Deserialize)]
struct JwtClaims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    exp: Option<f64>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// Verifies an HS256 JWT (`sub` or `user_id` names the user; `exp` is required) at `now_ms`.
pub fn verify_jwt(secret: &[u8], jwt: &str, now_ms: u64) -> Result<VerifiedUser, IdentityError> {
    let parts: Vec<&str> = jwt.trim().split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return Err(IdentityError::MalformedJwt("expected three dot-separated parts"));
    };
    let decode = |part: &str| base64url(part).ok_or(IdentityError::MalformedJwt("invalid base64url"));
    let header: JwtHeader =
        serde_json::from_slice(&decode(header)?).map_err(|_| IdentityError::MalformedJwt("header is not JSON"))?;
    // Checked before the signature: "alg": "none" and RSA/HMAC confusion are the classic attacks.
    if header.alg != "HS256" {
        return Err(IdentityError::WrongAlgorithm);
    }
    let mut mac = HmacSha256::new_from_slice(secret).expect("any key length");
    mac.update(&jwt.trim().as_bytes()[..parts[0].len() + 1 + parts[1].len()]);
    mac.verify_slice(&decode(signature)?).map_err(|_| IdentityError::BadSignature)?;
    let claims: JwtClaims =
        serde_json::from_slice(&decode(claims)?).map_err(|_| IdentityError::MalformedJwt("claims are not JSON"))?;
    match claims.exp {
        Some(exp) if exp * 1000.0 > now_ms as f64 => {}
        _ => return Err(IdentityError::Expired),
    }
    let user_id = claims.sub.or(claims.user_id).unwrap_or_default();
    check_user_id(&user_id)?;
    Ok(VerifiedUser { user_id, email: claims.email, phone: claims.phone.as_deref().and_then(e164), name: claims.name })
}

/// Decodes unpadded base64url (RFC 4648 §5), as JWTs use.
fn base64url(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        } as u32)
    };
    let bytes = text.trim_end_matches('=').as_bytes();
    if bytes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= value(c)? << (18 - 6 * i);
        }
        let n = chunk.len() * 6 / 8;
        out.extend_from_slice(&acc.to_be_bytes()[1..1 + n]);
    }
    Some(out)
}

/// Encodes unpadded base64url (for tests and tools that make JWTs).
pub fn base64url_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let mut acc = 0u32;
        for (i, &b) in chunk.iter().enumerate() {
            acc |= (b as u32) << (16 - 8 * i);
        }
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((acc >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Signs claims as an HS256 JWT (what an embedding site's backend does; used by tests).
pub fn sign_jwt(secret: &[u8], claims: &serde_json::Value) -> String {
    let header = base64url_encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = base64url_encode(claims.to_string().as_bytes());
    let mut mac = HmacSha256::new_from_slice(secret).expect("any key length");
    mac.update(format!("{header}.{body}").as_bytes());
    format!("{header}.{body}.{}", base64url_encode(&mac.finalize().into_bytes()))
}

/// `hex(HMAC-SHA256(secret, user_id))`: what the embedding site computes (used by tests).
pub fn user_hash(secret: &[u8], user_id: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("any key length");
    mac.update(user_id.as_bytes());
    crate::token::hex(&mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn published_hmac_vectors_verify() {
        // ../shared/PROTOCOLS.md, "Web identity verification".
        let vectors = [
            ("secret", "Message", "aa747c502a898200f9e4fa21bac68136f886a0e27aec70ba06daf2e2a5cb5597"),
            ("webwidget.hmac_token", "identifier", "c86fb0978a6600bc1121d785571e4aa730b223e5a0ea9987f1b925799c3ec291"),
        ];
        for (key, id, hash) in vectors {
            assert_eq!(user_hash(key.as_bytes(), id), hash);
            assert_eq!(verify_user_hash(key.as_bytes(), id, hash), Ok(()));
            assert_eq!(verify_user_hash(key.as_bytes(), id, &hash.to_uppercase()), Ok(()), "hex case does not matter");
            let forged = format!("{}0", &hash[..63]);
            assert_eq!(verify_user_hash(key.as_bytes(), id, &forged), Err(IdentityError::BadHash));
            assert_eq!(verify_user_hash(key.as_bytes(), "someone-else", hash), Err(IdentityError::BadHash));
        }
        assert_eq!(verify_user_hash(b"k", "u", "not hex"), Err(IdentityError::BadHash));
    }

    #[test]
    fn jwts_verify_with_expiry_and_claims() {
        let now = 1_764_000_000_000;
        let claims =
            json!({"sub": "user-42", "exp": now / 1000 + 60, "email": "Ann@Example.com", "phone": "+49 151 1234567"});
        let jwt = sign_jwt(b"s3cret", &claims);
        let user = verify_jwt(b"s3cret", &jwt, now).unwrap();
        assert_eq!(user.user_id, "user-42");
        assert_eq!(user.phone.as_deref(), Some("+491511234567"));
        assert_eq!(user.identities()[1], ChannelIdentity::Email("ann@example.com".into()));

        assert_eq!(verify_jwt(b"other", &jwt, now), Err(IdentityError::BadSignature));
        assert_eq!(verify_jwt(b"s3cret", &jwt, now + 61_000), Err(IdentityError::Expired));
        let no_exp = sign_jwt(b"s3cret", &json!({"sub": "user-42"}));
        assert_eq!(verify_jwt(b"s3cret", &no_exp, now), Err(IdentityError::Expired));
        let mut tampered: Vec<&str> = jwt.split('.').collect();
        let evil = base64url_encode(json!({"sub": "admin", "exp": now / 1000 + 60}).to_string().as_bytes());
        tampered[1] = &evil;
        assert_eq!(verify_jwt(b"s3cret", &tampered.join("."), now), Err(IdentityError::BadSignature));
        let none = format!("{}.{}.", base64url_encode(br#"{"alg":"none"}"#), evil);
        assert_eq!(verify_jwt(b"s3cret", &none, now), Err(IdentityError::WrongAlgorithm));
        assert!(matches!(verify_jwt(b"s3cret", "a.b", now), Err(IdentityError::MalformedJwt(_))));
    }

    #[test]
    fn base64url_round_trips() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(base64url(&base64url_encode(&bytes)).unwrap(), bytes);
        }
        assert_eq!(base64url("a"), None);
    }

    #[test]
    fn identities_map_to_index_keys_and_stable_users() {
        let phone = ChannelIdentity::Phone("+491511234567".into());
        assert_eq!(phone.index_key(), "id:phone:+491511234567");
        assert_eq!(phone.new_user(), phone.new_user());
        assert!(!phone.new_user().as_str().contains("4915"), "personal data is not in user ids");
        assert_eq!(ChannelIdentity::Visitor("v-abc12345".into()).new_user().as_str(), "u-v-abc12345");
        assert_eq!(e164("+1 (415) 555-0100"), Some("+14155550100".into()));
        assert_eq!(e164("call me"), None);
    }
}
