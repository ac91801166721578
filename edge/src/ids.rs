//! Identifier newtypes, so a visitor id is never passed where a user id is meant.

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
    /// An anonymous web visitor, remembered by the widget in the browser.
    VisitorId
);
id_type!(
    /// The resolved person behind one or more channel identities; context is keyed by it.
    UserId
);
id_type!(
    /// One conversation of a user.
    ConversationId
);

impl UserId {
    /// The user an anonymous visitor resolves to (identity linking arrives with verified identities).
    pub fn for_visitor(visitor: &VisitorId) -> Self {
        Self(format!("u-{visitor}"))
    }
}

impl ConversationId {
    /// A conversation id from a fresh random id.
    pub fn from_random(random: &str) -> Self {
        Self(format!("c-{random}"))
    }
}

impl VisitorId {
    /// A visitor id from a fresh random id.
    pub fn from_random(random: &str) -> Self {
        Self(format!("v-{random}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_safe_ids_only() {
        assert!(VisitorId::parse("v-0123456789abcdef").is_some());
        assert!(VisitorId::parse("short").is_none());
        assert!(VisitorId::parse("has.dot.in.it.1234").is_none());
        assert!(VisitorId::parse("has space 12345").is_none());
        assert!(VisitorId::parse(&"x".repeat(65)).is_none());
    }

    #[test]
    fn derived_ids_stay_parseable() {
        let v = VisitorId::from_random(&"ab".repeat(16));
        let u = UserId::for_visitor(&v);
        assert_eq!(UserId::parse(u.as_str()), Some(u));
    }
}
