//! The storage layout: every key the edge reads or writes, spelled here and nowhere else.
//!
//! Three stores, each with its own keys:
//!
//! - **KV** (`CONTEXT`), read everywhere, written for a user only from that user's object
//!   (through [`crate::write_behind`]): `ctx:<user>` a user's context, `hist:<conversation>` a
//!   conversation's messages, `id:<kind>:<value>` the index from a channel identity to its user,
//!   `id:legacy-visitor:<old id>` the marker of a visitor id of the unsigned format migrated
//!   once, `agent:current` the uploaded agent.
//! - **A user's object storage**: `seen:<channel>` the channel deliveries it has seen,
//!   `parked:<KV key>` a KV write waiting for its key's next second.
//! - **The hub's storage**: `day:<YYYY-MM-DD>` one day's analytics, `desk:<conversation>` a
//!   conversation waiting for or with a human.
//!
//! Ids in keys are the validated types' strings ([`crate::ids`]): a key never carries text a
//! client chose beyond what those types allow.

/// Keys in KV.
pub mod kv {
    use std::fmt::Display;

    /// A user's context (or the record that it was merged into another user).
    pub fn context(user: impl Display) -> String {
        format!("ctx:{user}")
    }

    /// A conversation's messages.
    pub fn history(conversation: impl Display) -> String {
        format!("hist:{conversation}")
    }

    /// What every identity index entry starts with.
    pub const IDENTITY_PREFIX: &str = "id:";

    /// The index entry of a channel identity of `kind` (`visitor`, `phone`, `sms`, …).
    pub fn identity(kind: &str, value: &str) -> String {
        format!("{IDENTITY_PREFIX}{kind}:{value}")
    }

    /// The value of an identity index key of `kind`, if it is one.
    pub fn identity_value<'k>(key: &'k str, kind: &str) -> Option<&'k str> {
        key.strip_prefix(IDENTITY_PREFIX)?.strip_prefix(kind)?.strip_prefix(':')
    }

    /// The marker that a visitor id of the unsigned format was exchanged for a credential.
    pub fn legacy_visitor(old: &str) -> String {
        identity("legacy-visitor", old)
    }

    /// The agent an operator uploaded.
    pub const AGENT: &str = "agent:current";
}

/// Keys in a user's Durable Object storage.
pub mod user_object {
    /// The recent deliveries of one channel (by its name).
    pub fn seen(channel: &str) -> String {
        format!("seen:{channel}")
    }

    /// What every parked write starts with.
    pub const PARKED_PREFIX: &str = "parked:";

    /// A parked write of the KV key `key`.
    pub fn parked(key: &str) -> String {
        format!("{PARKED_PREFIX}{key}")
    }
}

/// Keys in the analytics hub's Durable Object storage.
pub mod hub {
    /// What every day's record starts with.
    pub const DAY_PREFIX: &str = "day:";

    /// One day's analytics (`YYYY-MM-DD`).
    pub fn day(day: &str) -> String {
        format!("{DAY_PREFIX}{day}")
    }

    /// The day a day's key names.
    pub fn day_of(key: &str) -> Option<&str> {
        key.strip_prefix(DAY_PREFIX)
    }

    /// What every desk entry starts with.
    pub const DESK_PREFIX: &str = "desk:";

    /// A conversation's desk entry.
    pub fn desk(conversation: &str) -> String {
        format!("{DESK_PREFIX}{conversation}")
    }

    /// The conversation a desk key names.
    pub fn desk_of(key: &str) -> Option<&str> {
        key.strip_prefix(DESK_PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_different_things_never_meet() {
        let keys = [
            kv::context("u-1"),
            kv::history("c-1"),
            kv::identity("visitor", "1"),
            kv::legacy_visitor("1"),
            kv::AGENT.to_owned(),
            user_object::seen("sms"),
            user_object::parked("ctx:u-1"),
            hub::day("2026-12-04"),
            hub::desk("c-1"),
        ];
        let distinct: std::collections::BTreeSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len());
        assert_eq!(kv::identity_value(&kv::identity("sms", "+4915"), "sms"), Some("+4915"));
        assert_eq!(kv::identity_value(&kv::identity("sms", "+4915"), "s"), None);
        assert_eq!(hub::day_of(&hub::day("2026-12-04")), Some("2026-12-04"));
        assert_eq!(hub::desk_of(&hub::desk("c-1")), Some("c-1"));
    }
}
