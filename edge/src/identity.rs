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
use crate::keys::{Key, ct_eq, hex, hmac};
use serde::Deserialize;

/// One way a channel knows a person.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChannelIdentity {
    /// An anonymous web visitor: the random part of the credential the server issued it
    /// ([`crate::ids::Visitor`]).
    Visitor(String),
    /// A signed-in user of the embedding site, verified by `user_hash` or JWT.
    WebUser(String),
    /// A verified email address (from a verified web identity).
    Email(String),
    /// A verified phone number, E.164 (`+4915112345678`): a WhatsApp sender, a JWT's `phone`,
    /// a caller whose number the carrier attested (STIR/SHAKEN level A).
    Phone(String),
    /// A Messenger page-scoped id.
    MessengerPsid(String),
    /// A WhatsApp id (the number without `+`).
    WhatsApp(String),
    /// A Telegram chat id (private chats only).
    Telegram(String),
    /// The `From` of an SMS: anyone can send one from any number, so it links nothing and
    /// stays apart from [`Self::Phone`].
    Sms(String),
    /// A caller's number without the carrier's full attestation: caller ID is easily spoofed,
    /// so it stays apart from [`Self::Phone`] and from SMS.
    Call(String),
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
            Self::Sms(v) => ("sms", v),
            Self::Call(v) => ("call", v),
            Self::Caller(v) => ("callsid", v),
        };
        crate::layout::kv::identity(kind, value)
    }

    /// The user id a first-seen identity gets: `u-` and 96 bits of an HMAC of the index key
    /// under the user-id key of `TOKEN_SECRET`, so resolving it needs no write, nobody without
    /// the secret can compute another person's user id, and identities of different kinds
    /// (a visitor's and a Telegram chat's) cannot meet.
    pub fn new_user(&self, key: &Key) -> UserId {
        UserId::derived(&hex(key.mac(self.index_key().as_bytes()).get(..12).unwrap_or_default()))
    }

    /// The user id this identity got before user ids were keyed by a secret (migration: the
    /// context stored under it is taken over once, see [`crate::Edge::resolve`]).
    pub fn legacy_user(&self) -> Option<UserId> {
        let kind = match self {
            // Visitors' users were `u-<visitor id>` (see `Edge::open` for their migration); SMS
            // senders and callers were `phone` identities, which a spoofed number must not
            // take over: they start afresh.
            Self::Visitor(_) | Self::Sms(_) | Self::Call(_) => return None,
            _ => self.index_key(),
        };
        Some(UserId::derived(&hex(hmac(b"switchboard user id", kind.as_bytes()).get(..12).unwrap_or_default())))
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
    /// The JWT's `nbf` or `iat` is in the future.
    #[error("JWT not valid yet ('nbf' or 'iat' in the future)")]
    NotYetValid,
    /// The JWT lives longer than allowed.
    #[error("JWT lifetime longer than {0} seconds ('exp' too far from 'iat')")]
    TooLong(u64),
    /// The JWT's `aud` is not this deployment's.
    #[error("JWT 'aud' does not name this deployment")]
    WrongAudience,
    /// The JWT's `iss` is not the configured issuer.
    #[error("JWT 'iss' is not the configured issuer")]
    WrongIssuer,
    /// The user id is empty or too long.
    #[error("user_id must be 1 to 256 characters")]
    BadUserId,
}

/// How the embedding site's claims are checked: the keys of `user_hash` and of JWTs (never the
/// same key, see [`crate::keys`]) and what a JWT must say.
#[derive(Clone, Debug, Default)]
pub struct IdentityKeys {
    /// Key of `user_hash`: `IDENTITY_SECRET` itself.
    pub user_hash: Vec<u8>,
    /// HS256 key of JWTs: `IDENTITY_JWT_SECRET`, else derived from `IDENTITY_SECRET`.
    pub jwt: Vec<u8>,
    /// `aud` a JWT must carry (`IDENTITY_JWT_AUDIENCE`), when set.
    pub audience: Option<String>,
    /// `iss` a JWT must carry (`IDENTITY_JWT_ISSUER`), when set.
    pub issuer: Option<String>,
    /// Longest a JWT may live, `exp` minus `iat` (or minus now without `iat`), in seconds.
    pub max_lifetime_seconds: u64,
}

/// A JWT may live a day unless configured otherwise.
pub const DEFAULT_JWT_MAX_LIFETIME_SECONDS: u64 = 24 * 3600;
/// Clock skew tolerated on `nbf` and `iat`.
const LEEWAY_SECONDS: f64 = 60.0;

impl IdentityKeys {
    /// Keys from `IDENTITY_SECRET` (and an optional separate JWT secret).
    pub fn new(identity_secret: &[u8], jwt_secret: Option<&[u8]>) -> Self {
        Self {
            user_hash: identity_secret.to_vec(),
            jwt: jwt_secret.map_or_else(|| crate::keys::jwt_key(identity_secret), <[u8]>::to_vec),
            audience: None,
            issuer: None,
            max_lifetime_seconds: DEFAULT_JWT_MAX_LIFETIME_SECONDS,
        }
    }
}

/// Checks `user_hash = hex(HMAC-SHA256(secret, user_id))` in constant time.
pub fn verify_user_hash(secret: &[u8], user_id: &str, user_hash: &str) -> Result<(), IdentityError> {
    check_user_id(user_id)?;
    let expected = crate::keys::unhex(user_hash.trim()).ok_or(IdentityError::BadHash)?;
    if !ct_eq(&hmac(secret, user_id.as_bytes()), &expected) {
        return Err(IdentityError::BadHash);
    }
    Ok(())
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

/// `aud` is a string or an array of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
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
    nbf: Option<f64>,
    #[serde(default)]
    iat: Option<f64>,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// Verifies an HS256 JWT at `now_ms`: `sub` or `user_id` names the user; `exp` is required and
/// at most the maximum lifetime away; `nbf` and `iat` must not be in the future; `aud` and
/// `iss` must match when configured.
pub fn verify_jwt(keys: &IdentityKeys, jwt: &str, now_ms: u64) -> Result<VerifiedUser, IdentityError> {
    let jwt = jwt.trim();
    let mut parts = jwt.split('.');
    let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdentityError::MalformedJwt("expected three dot-separated parts"));
    };
    let decode = |part: &str| base64url(part).ok_or(IdentityError::MalformedJwt("invalid base64url"));
    let header: JwtHeader =
        serde_json::from_slice(&decode(header)?).map_err(|_| IdentityError::MalformedJwt("header is not JSON"))?;
    // Checked before the signature: "alg": "none" and RSA/HMAC confusion are the classic attacks.
    if header.alg != "HS256" {
        return Err(IdentityError::WrongAlgorithm);
    }
    let signed = jwt.get(..header_len(jwt)).ok_or(IdentityError::MalformedJwt("expected three parts"))?;
    if !ct_eq(&hmac(&keys.jwt, signed.as_bytes()), &decode(signature)?) {
        return Err(IdentityError::BadSignature);
    }
    let claims: JwtClaims =
        serde_json::from_slice(&decode(claims)?).map_err(|_| IdentityError::MalformedJwt("claims are not JSON"))?;
    let now = now_ms as f64 / 1000.0;
    let exp = claims.exp.filter(|exp| *exp > now).ok_or(IdentityError::Expired)?;
    if claims.nbf.is_some_and(|nbf| nbf > now + LEEWAY_SECONDS)
        || claims.iat.is_some_and(|iat| iat > now + LEEWAY_SECONDS)
    {
        return Err(IdentityError::NotYetValid);
    }
    let issued = claims.iat.unwrap_or(now).min(now);
    if exp - issued > keys.max_lifetime_seconds as f64 + LEEWAY_SECONDS {
        return Err(IdentityError::TooLong(keys.max_lifetime_seconds));
    }
    if let Some(expected) = &keys.audience {
        let matches = match &claims.aud {
            Some(Audience::One(aud)) => aud == expected,
            Some(Audience::Many(auds)) => auds.contains(expected),
            None => false,
        };
        if !matches {
            return Err(IdentityError::WrongAudience);
        }
    }
    if keys.issuer.as_ref().is_some_and(|expected| claims.iss.as_ref() != Some(expected)) {
        return Err(IdentityError::WrongIssuer);
    }
    let user_id = claims.sub.or(claims.user_id).unwrap_or_default();
    check_user_id(&user_id)?;
    Ok(VerifiedUser { user_id, email: claims.email, phone: claims.phone.as_deref().and_then(e164), name: claims.name })
}

/// The length of `header.claims` in a JWT (what its signature covers).
fn header_len(jwt: &str) -> usize {
    jwt.rfind('.').unwrap_or(0)
}

use crate::keys::{base64url as base64url_encode_bytes, base64url_decode as base64url};

/// Encodes unpadded base64url (for tests and tools that make JWTs).
pub fn base64url_encode(bytes: &[u8]) -> String {
    base64url_encode_bytes(bytes)
}

/// Signs claims as an HS256 JWT with `key` (what an embedding site's backend does; used by
/// tests and tools).
pub fn sign_jwt(key: &[u8], claims: &serde_json::Value) -> String {
    let header = base64url_encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = base64url_encode(claims.to_string().as_bytes());
    let tag = hmac(key, format!("{header}.{body}").as_bytes());
    format!("{header}.{body}.{}", base64url_encode(&tag))
}

/// `hex(HMAC-SHA256(secret, message))`: the site's `user_hash` of a user id; also the
/// signature format of the help-desk webhook (used by tests).
pub fn user_hash(secret: &[u8], message: &str) -> String {
    hex(&hmac(secret, message.as_bytes()))
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

    fn keys() -> IdentityKeys {
        IdentityKeys::new(b"an identity secret of 32 bytes!!", None)
    }

    #[test]
    fn jwts_verify_with_expiry_and_claims() {
        let keys = keys();
        let now = 1_764_000_000_000;
        let claims =
            json!({"sub": "user-42", "exp": now / 1000 + 60, "email": "Ann@Example.com", "phone": "+49 151 1234567"});
        let jwt = sign_jwt(&keys.jwt, &claims);
        let user = verify_jwt(&keys, &jwt, now).unwrap();
        assert_eq!(user.user_id, "user-42");
        assert_eq!(user.phone.as_deref(), Some("+491511234567"));
        assert_eq!(user.identities()[1], ChannelIdentity::Email("ann@example.com".into()));

        let other = IdentityKeys::new(b"another identity secret, 32 byte", None);
        assert_eq!(verify_jwt(&other, &jwt, now), Err(IdentityError::BadSignature));
        assert_eq!(verify_jwt(&keys, &jwt, now + 61_000), Err(IdentityError::Expired));
        let no_exp = sign_jwt(&keys.jwt, &json!({"sub": "user-42"}));
        assert_eq!(verify_jwt(&keys, &no_exp, now), Err(IdentityError::Expired));
        let mut tampered: Vec<&str> = jwt.split('.').collect();
        let evil = base64url_encode(json!({"sub": "admin", "exp": now / 1000 + 60}).to_string().as_bytes());
        tampered[1] = &evil;
        assert_eq!(verify_jwt(&keys, &tampered.join("."), now), Err(IdentityError::BadSignature));
        let none = format!("{}.{}.", base64url_encode(br#"{"alg":"none"}"#), evil);
        assert_eq!(verify_jwt(&keys, &none, now), Err(IdentityError::WrongAlgorithm));
        for bad in ["a.b", "a.b.c.d", "", "...", "\u{0}.\u{0}.\u{0}"] {
            assert!(matches!(verify_jwt(&keys, bad, now), Err(IdentityError::MalformedJwt(_))), "{bad}");
        }
    }

    #[test]
    fn a_user_hash_over_a_dotted_user_id_is_not_a_jwt() {
        // The site signs any user id it is given with user_hash; an attacker who registers the
        // user id `<header>.<claims>` must not get a JWT signature out of it.
        let keys = keys();
        let now = 1_764_000_000_000u64;
        let header = base64url_encode(br#"{"alg":"HS256"}"#);
        let claims = base64url_encode(json!({"sub": "victim", "exp": now / 1000 + 60}).to_string().as_bytes());
        let dotted = format!("{header}.{claims}");
        let hash = user_hash(&keys.user_hash, &dotted);
        assert_eq!(verify_user_hash(&keys.user_hash, &dotted, &hash), Ok(()));
        let tag = base64url_encode(&unhex_bytes(&hash));
        assert_eq!(verify_jwt(&keys, &format!("{dotted}.{tag}"), now), Err(IdentityError::BadSignature));
    }

    fn unhex_bytes(hex: &str) -> Vec<u8> {
        crate::keys::unhex(hex).unwrap()
    }

    #[test]
    fn jwt_audience_issuer_not_before_and_lifetime_are_checked() {
        let mut keys = keys();
        keys.audience = Some("shop.example".into());
        keys.issuer = Some("https://shop.example".into());
        let now = 1_764_000_000_000u64;
        let s = now / 1000;
        let good =
            json!({"sub": "u", "exp": s + 600, "iat": s, "aud": ["x", "shop.example"], "iss": "https://shop.example"});
        assert!(verify_jwt(&keys, &sign_jwt(&keys.jwt, &good), now).is_ok());
        let with = |field: &str, value: serde_json::Value| {
            let mut claims = good.clone();
            claims[field] = value;
            verify_jwt(&keys, &sign_jwt(&keys.jwt, &claims), now)
        };
        assert_eq!(with("aud", json!("other.example")), Err(IdentityError::WrongAudience));
        assert_eq!(with("aud", serde_json::Value::Null), Err(IdentityError::WrongAudience));
        assert_eq!(with("iss", json!("https://evil.example")), Err(IdentityError::WrongIssuer));
        assert_eq!(with("nbf", json!(s + 3600)), Err(IdentityError::NotYetValid));
        assert_eq!(with("iat", json!(s + 3600)), Err(IdentityError::NotYetValid));
        assert!(with("nbf", json!(s + 30)).is_ok(), "a minute of clock skew is tolerated");
        assert_eq!(
            with("exp", json!(s + 10 * 365 * 86400)),
            Err(IdentityError::TooLong(DEFAULT_JWT_MAX_LIFETIME_SECONDS))
        );
        // Without `iat` the lifetime counts from now.
        let mut no_iat = good.clone();
        no_iat.as_object_mut().unwrap().remove("iat");
        no_iat["exp"] = json!(s + 2 * 86400);
        assert_eq!(verify_jwt(&keys, &sign_jwt(&keys.jwt, &no_iat), now), Err(IdentityError::TooLong(86400)));
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
    fn identities_map_to_index_keys_and_keyed_users() {
        let key = crate::keys::Keys::new(&[1; 32], None).user_ids;
        let phone = ChannelIdentity::Phone("+491511234567".into());
        assert_eq!(phone.index_key(), "id:phone:+491511234567");
        assert_eq!(phone.new_user(&key), phone.new_user(&key));
        assert!(!phone.new_user(&key).as_str().contains("4915"), "personal data is not in user ids");
        // Without the secret nobody computes it: another key gives another id, the old
        // unkeyed derivation too.
        let other = crate::keys::Keys::new(&[2; 32], None).user_ids;
        assert_ne!(phone.new_user(&key), phone.new_user(&other));
        assert_ne!(Some(phone.new_user(&key)), phone.legacy_user());
        // Kinds never meet, whatever the value.
        let value = "42".to_owned();
        let kinds = [
            ChannelIdentity::Visitor(value.clone()),
            ChannelIdentity::Telegram(value.clone()),
            ChannelIdentity::Sms(value.clone()),
            ChannelIdentity::Call(value.clone()),
            ChannelIdentity::Phone(value.clone()),
            ChannelIdentity::Caller(value),
        ];
        for (i, a) in kinds.iter().enumerate() {
            assert!(
                kinds
                    .iter()
                    .skip(i + 1)
                    .all(|b| a.new_user(&key) != b.new_user(&key) && a.index_key() != b.index_key())
            );
        }
        assert_eq!(e164("+1 (415) 555-0100"), Some("+14155550100".into()));
        assert_eq!(e164("call me"), None);
    }
}
