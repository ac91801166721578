//! Keys, one per purpose, derived from the worker's secrets; hex; constant-time comparison.
//!
//! One secret never signs two kinds of thing. From `TOKEN_SECRET` (and, during a rotation,
//! `TOKEN_SECRET_PREVIOUS`) come `HMAC-SHA256(secret, purpose)` keys for conversation tokens,
//! visitor credentials and derived user ids; from `IDENTITY_SECRET` the key of `user_hash`
//! (the secret itself: the Intercom/Chatwoot scheme sites already compute) and a separate JWT
//! key (`IDENTITY_JWT_SECRET`, or `hex(HMAC-SHA256(IDENTITY_SECRET, "switchboard jwt v1"))`),
//! so a `user_hash` over a dotted user id never verifies as a JWT signature.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Shortest secret accepted, in bytes: HMAC-SHA256 keys below its output length are weak.
pub const MIN_SECRET_BYTES: usize = 32;

/// `HMAC-SHA256(key, message)`.
pub fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    // `new_from_slice` refuses no key length for HMAC (longer keys are hashed, shorter padded).
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Whether two byte strings are equal, in time that depends on their lengths only.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    let digit = |n: u8| char::from_digit(u32::from(n), 16).unwrap_or('0');
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(digit(b >> 4));
        out.push(digit(b & 15));
    }
    out
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64_with(alphabet: &[u8; 64], bytes: &[u8], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let mut acc = 0u32;
        for (i, &b) in chunk.iter().enumerate() {
            acc |= u32::from(b) << (16 - 8 * i);
        }
        for i in 0..4 {
            if i <= chunk.len() {
                let index = ((acc >> (18 - 6 * i)) & 63) as usize;
                out.push(alphabet.get(index).map_or('=', |&c| char::from(c)));
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 with padding (RFC 4648 §4): Basic auth, Twilio signatures.
pub fn base64(bytes: &[u8]) -> String {
    base64_with(BASE64, bytes, true)
}

/// Unpadded base64url (RFC 4648 §5), as JWTs use.
pub fn base64url(bytes: &[u8]) -> String {
    base64_with(BASE64URL, bytes, false)
}

/// Decodes unpadded (or padded) base64url; `None` for anything else.
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> { BASE64URL.iter().position(|&a| a == c).map(|p| p as u32) };
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
        out.extend(acc.to_be_bytes().iter().skip(1).take(n));
    }
    Some(out)
}

/// Bytes from hex of either case; `None` unless it is an even number of hex digits.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// A key for one purpose, with a short id naming it (tokens carry the id, so a rotation knows
/// which key signed them).
#[derive(Clone)]
pub struct Key {
    /// Eight hex digits derived from the key (not the key).
    pub id: String,
    bytes: [u8; 32],
}

impl Key {
    /// The key for `purpose` under `secret`.
    pub fn derive(secret: &[u8], purpose: &str) -> Self {
        let bytes = hmac(secret, purpose.as_bytes());
        let id = hex(hmac(&bytes, b"key id").get(..4).unwrap_or_default());
        Self { id, bytes }
    }

    /// `HMAC-SHA256(key, message)`.
    pub fn mac(&self, message: &[u8]) -> [u8; 32] {
        hmac(&self.bytes, message)
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.id)
    }
}

/// The keys of `TOKEN_SECRET`: the current secret's first, then the previous one's.
#[derive(Clone, Debug)]
pub struct Keys {
    /// Conversation tokens ([`crate::token`]).
    pub tokens: Vec<Key>,
    /// Visitor credentials ([`crate::ids::VisitorId`]).
    pub visitors: Vec<Key>,
    /// User ids derived from identities ([`crate::identity::ChannelIdentity::new_user`]).
    pub user_ids: Key,
    /// Client origins: what the desk counts handoffs by, instead of IP addresses.
    pub origins: Key,
}

impl Keys {
    /// Keys from the current secret and, during a rotation, the previous one.
    pub fn new(current: &[u8], previous: Option<&[u8]>) -> Self {
        let secrets: Vec<&[u8]> = std::iter::once(current).chain(previous).collect();
        let all = |purpose: &str| secrets.iter().map(|s| Key::derive(s, purpose)).collect();
        Self {
            tokens: all("switchboard conversation token v2"),
            visitors: all("switchboard visitor credential v2"),
            user_ids: Key::derive(current, "switchboard user id v2"),
            origins: Key::derive(current, "switchboard client origin v1"),
        }
    }

    /// The origin of a client at `ip`: 64 bits of a keyed hash, so the desk counts handoffs
    /// per address without storing addresses.
    pub fn origin(&self, ip: &str) -> String {
        hex(self.origins.mac(ip.trim().as_bytes()).get(..8).unwrap_or_default())
    }
}

/// The HS256 key for site JWTs when no `IDENTITY_JWT_SECRET` is set: the lowercase hex of
/// `HMAC-SHA256(IDENTITY_SECRET, "switchboard jwt v1")`, used as the key's text.
pub fn jwt_key(identity_secret: &[u8]) -> Vec<u8> {
    hex(&hmac(identity_secret, b"switchboard jwt v1")).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_the_published_vector() {
        // RFC 4231-style check used across the project: HMAC-SHA256("secret", "Message").
        assert_eq!(
            hex(&hmac(b"secret", b"Message")),
            "aa747c502a898200f9e4fa21bac68136f886a0e27aec70ba06daf2e2a5cb5597"
        );
    }

    #[test]
    fn purposes_get_different_keys_and_ids() {
        let keys = Keys::new(&[7; 32], Some(&[8; 32]));
        let ids: Vec<&str> =
            keys.tokens.iter().chain(&keys.visitors).chain([&keys.user_ids]).map(|k| k.id.as_str()).collect();
        for (i, a) in ids.iter().enumerate() {
            assert_eq!(a.len(), 8);
            assert!(ids.iter().skip(i + 1).all(|b| b != a), "{ids:?}");
        }
        assert_ne!(jwt_key(b"identity"), b"identity".to_vec());
    }

    #[test]
    fn base64_matches_rfc_4648_and_base64url_round_trips() {
        for (input, encoded) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE=")]
        {
            assert_eq!(base64(input.as_bytes()), encoded);
        }
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(base64url_decode(&base64url(&bytes)).unwrap(), bytes);
        }
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
        for bad in ["a", "ab+c", "é"] {
            assert_eq!(base64url_decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        assert_eq!(unhex(&hex(&[0, 1, 254, 255])), Some(vec![0, 1, 254, 255]));
        for bad in ["0", "zz", "é0", "0g"] {
            assert_eq!(unhex(bad), None, "{bad}");
        }
        assert!(ct_eq(b"abc", b"abc") && !ct_eq(b"abc", b"abd") && !ct_eq(b"abc", b"ab"));
    }
}
