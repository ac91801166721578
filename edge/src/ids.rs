//! Identifier newtypes, so a visitor id is never passed where a user id is meant.

use crate::keys::{Key, Keys, ct_eq, hex};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Accepts 8 to 64 characters of `A-Z a-z 0-9 _ -`: safe in KV keys, URLs and tokens.
            pub fn parse(s: &str) -> Option<Self> {
                let ok = (8..=64).contains(&s.len())
                    && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                ok.then(|| Self(s.to_owned()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// The resolved person behind one or more channel identities; context is keyed by it.
    UserId
);
id_type!(
    /// One conversation of a user.
    ConversationId
);

impl UserId {
    /// `u-<hex>`: a user id derived from an identity ([`crate::identity::ChannelIdentity`]).
    pub(crate) fn derived(hex: &str) -> Self {
        Self(format!("u-{hex}"))
    }
}

impl ConversationId {
    /// A conversation id from a fresh random id.
    pub fn from_random(random: &str) -> Self {
        Self(format!("c-{random}"))
    }
}

/// How long the random part of a visitor credential is, in hex digits (128 bits).
const VISITOR_RANDOM_HEX: usize = 32;
/// How long its MAC is, in hex digits (96 bits: checked online, one guess per request).
const VISITOR_MAC_HEX: usize = 24;

/// An anonymous web visitor, known by the credential the server issued it: the widget keeps
/// it in `localStorage` and presents it as `visitor_id` to resume. The credential is
/// `v2-<32 hex random>-<24 hex MAC of the random part>` under the visitor key of
/// `TOKEN_SECRET` ([`crate::keys`]); only the random part names the visitor (its identity is
/// `id:visitor:<random>`), and the user id is derived from that under a secret key, so no
/// value a client sends can name another person's user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Visitor {
    random: String,
}

/// What a client's `visitor_id` turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisitorClaim {
    /// A credential this deployment issued (with the current or the previous secret).
    Issued(Visitor),
    /// A visitor id of the format issued before credentials were signed (`v-<32 hex>`): it
    /// may resume its own old conversation once, then gets a credential
    /// ([`crate::Edge::open`]).
    Legacy(String),
    /// Anything else: a new visitor is issued.
    Unknown,
}

impl Visitor {
    /// A new visitor from a fresh random id (lowercase hex, at least 128 bits), and its
    /// credential.
    pub fn issue(keys: &Keys, random: &str) -> (Self, String) {
        let random: String = random.chars().filter(char::is_ascii_hexdigit).take(VISITOR_RANDOM_HEX).collect();
        let random = format!("{random:0>width$}", width = VISITOR_RANDOM_HEX).to_ascii_lowercase();
        let credential = format!("v2-{random}-{}", Self::mac(keys.visitors.first(), &random));
        (Self { random }, credential)
    }

    /// Reads a `visitor_id` a client sent.
    pub fn claim(keys: &Keys, given: &str) -> VisitorClaim {
        let given = given.trim();
        if let Some(rest) = given.strip_prefix("v2-")
            && let Some((random, mac)) = rest.split_once('-')
            && random.len() == VISITOR_RANDOM_HEX
            && mac.len() == VISITOR_MAC_HEX
            && random.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            let valid = keys.visitors.iter().any(|k| ct_eq(Self::mac(Some(k), random).as_bytes(), mac.as_bytes()));
            return if valid {
                VisitorClaim::Issued(Self { random: random.to_owned() })
            } else {
                VisitorClaim::Unknown
            };
        }
        match given.strip_prefix("v-") {
            Some(random) if random.len() == 32 && random.bytes().all(|b| b.is_ascii_hexdigit()) => {
                VisitorClaim::Legacy(given.to_owned())
            }
            _ => VisitorClaim::Unknown,
        }
    }

    /// The visitor's identity value (the random part, never the credential).
    pub fn as_str(&self) -> &str {
        &self.random
    }

    fn mac(key: Option<&Key>, random: &str) -> String {
        let tag = key.map(|k| k.mac(format!("visitor:{random}").as_bytes())).unwrap_or_default();
        hex(tag.get(..VISITOR_MAC_HEX / 2).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_safe_ids_only() {
        assert!(UserId::parse("u-0123456789abcdef").is_some());
        assert!(UserId::parse("short").is_none());
        assert!(UserId::parse("has.dot.in.it.1234").is_none());
        assert!(UserId::parse("has space 12345").is_none());
        assert!(UserId::parse(&"x".repeat(65)).is_none());
    }

    #[test]
    fn visitor_credentials_verify_only_when_issued_here() {
        let keys = Keys::new(&[1; 32], None);
        let (visitor, credential) = Visitor::issue(&keys, &"ab".repeat(16));
        assert!(credential.len() <= 64 && credential.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        assert_eq!(Visitor::claim(&keys, &credential), VisitorClaim::Issued(visitor.clone()));
        assert_eq!(visitor.as_str(), "ab".repeat(16), "the identity is the random part, not the credential");
        // Another deployment's, or a tampered one, is unknown; so is anything of any length.
        assert_eq!(Visitor::claim(&Keys::new(&[2; 32], None), &credential), VisitorClaim::Unknown);
        let tampered = credential.replacen("ab", "ba", 1);
        assert_eq!(Visitor::claim(&keys, &tampered), VisitorClaim::Unknown);
        for len in 0..200 {
            assert_eq!(Visitor::claim(&keys, &"a".repeat(len)), VisitorClaim::Unknown);
        }
        // During a rotation the previous secret's credentials still verify.
        let rotated = Keys::new(&[2; 32], Some(&[1; 32]));
        assert_eq!(Visitor::claim(&rotated, &credential), VisitorClaim::Issued(visitor));
        let legacy = format!("v-{}", "0f".repeat(16));
        assert_eq!(Visitor::claim(&keys, &legacy), VisitorClaim::Legacy(legacy.clone()));
    }
}
