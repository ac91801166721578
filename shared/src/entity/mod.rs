//! Entity recognisers: spans of user text resolved to typed values.
//!
//! System entities (`@sys.number`, `@sys.date`, `@sys.time`, `@sys.email`,
//! `@sys.phone-number`, `@sys.any`) are built in; agents define list entities (values with synonyms, matched with typo tolerance) and regex
//! entities (`regex-lite`, small in wasm) of their own.

mod contact;
mod datetime;
mod list;
mod number;

pub use datetime::Date;
pub use list::{ListEntity, ListEntry};
use serde_json::Value;

/// A recognised entity: where it stands in the text and what it resolves to.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityMatch {
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset just past the last character.
    pub end: usize,
    /// The text as the user wrote it.
    pub original: String,
    /// The resolved value (a JSON number for `@sys.number`, the canonical value for a list).
    pub value: Value,
}

/// The entity type a parameter is filled with.
#[derive(Debug, Clone)]
pub enum EntityType {
    /// `@sys.number`.
    Number,
    /// `@sys.date`: a calendar date, `YYYY-MM-DD`; relative forms need the user's today.
    Date,
    /// `@sys.time`: a time of day, `HH:MM:SS`.
    Time,
    /// `@sys.email`: an e-mail address, lowercased.
    Email,
    /// `@sys.phone-number`: 7 to 15 digits with an optional `+`, spaces, dots, dashes or
    /// parentheses; resolved to the digits (and `+`).
    PhoneNumber,
    /// `@sys.any`: the whole utterance.
    Any,
    /// An agent's list entity.
    List(std::sync::Arc<ListEntity>),
    /// An agent's regex entity; the value is the matched text.
    Regex(std::sync::Arc<regex_lite::Regex>),
}

impl PartialEq for EntityType {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::List(a), Self::List(b)) => a == b,
            (Self::Regex(a), Self::Regex(b)) => a.as_str() == b.as_str(),
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

impl EntityType {
    /// A system entity by name, e.g. `@sys.number`.
    pub fn system(name: &str) -> Option<Self> {
        match name {
            "@sys.number" => Some(Self::Number),
            "@sys.date" => Some(Self::Date),
            "@sys.time" => Some(Self::Time),
            "@sys.email" => Some(Self::Email),
            "@sys.phone-number" => Some(Self::PhoneNumber),
            "@sys.any" => Some(Self::Any),
            _ => None,
        }
    }

    /// The system entity names, for error messages.
    pub const SYSTEM: &'static [&'static str] =
        &["@sys.number", "@sys.date", "@sys.time", "@sys.email", "@sys.phone-number", "@sys.any"];

    /// Every match of this type in `text`, left to right, with no reference date.
    pub fn find_all(&self, text: &str) -> Vec<EntityMatch> {
        self.find_all_on(text, None)
    }

    /// Every match of this type in `text`, left to right; relative dates count from `today`.
    pub fn find_all_on(&self, text: &str, today: Option<Date>) -> Vec<EntityMatch> {
        match self {
            Self::Number => number::numbers(text),
            Self::Date => datetime::dates(text, today),
            Self::Time => datetime::times(text),
            Self::Email => contact::emails(text),
            Self::PhoneNumber => contact::phone_numbers(text),
            Self::Any => {
                let trimmed = text.trim();
                if trimmed.is_empty() {
                    return Vec::new();
                }
                let start = text.find(trimmed).unwrap_or(0);
                vec![EntityMatch {
                    start,
                    end: start + trimmed.len(),
                    original: trimmed.to_owned(),
                    value: Value::String(trimmed.to_owned()),
                }]
            }
            Self::List(list) => list.find_all(text),
            Self::Regex(re) => re
                .find_iter(text)
                .filter(|m| !m.is_empty())
                .map(|m| EntityMatch {
                    start: m.start(),
                    end: m.end(),
                    original: m.as_str().to_owned(),
                    value: Value::String(m.as_str().to_owned()),
                })
                .collect(),
        }
    }
}

/// Lowercased word spans `(start, end, word)`: runs of alphanumeric characters, which may also
/// hold `joiners` inside a word (`2026-12-01` with `-`); a trailing joiner is not part of it.
fn word_spans(text: &str, joiners: &[char]) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        let inside = c.is_alphanumeric() || (start.is_some() && joiners.contains(&c));
        match (inside, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                let word = text[s..i].trim_end_matches(|c| joiners.contains(&c));
                out.push((s, s + word.len(), word.to_lowercase()));
                start = None;
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Texts mixing the recognisers' ASCII delimiters with characters of two to four bytes, so
    /// every byte offset a recogniser steps to may fall inside a character.
    pub(crate) fn awkward_texts(count: usize) -> Vec<String> {
        const PIECES: &[&str] = &[
            "a",
            "Z",
            "1",
            "9",
            "12",
            " ",
            "@",
            ".",
            "-",
            ":",
            "+",
            "(",
            ")",
            "pm",
            "noon",
            "the",
            "of",
            "may",
            "2027-01-05",
            "é",
            "ü",
            "€",
            "İ",
            "日",
            "😀",
            "\u{301}",
            "\u{200b}",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..count)
            .map(|_| {
                let len = next() % 12;
                (0..len).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect()
            })
            .collect()
    }

    #[test]
    fn recognisers_never_panic_and_spans_point_into_the_text() {
        let list = ListEntity {
            name: "size".into(),
            entries: vec![ListEntry { value: "large".into(), synonyms: vec!["é big".into(), "日".into()] }],
            fuzzy: true,
        };
        let types = [
            EntityType::Number,
            EntityType::Date,
            EntityType::Time,
            EntityType::Email,
            EntityType::PhoneNumber,
            EntityType::Any,
            EntityType::List(std::sync::Arc::new(list)),
        ];
        let today = Date::new(2026, 11, 25);
        for text in awkward_texts(20_000) {
            for t in &types {
                for m in t.find_all_on(&text, today) {
                    assert_eq!(text.get(m.start..m.end), Some(m.original.as_str()), "{t:?} in {text:?}");
                }
            }
        }
    }
}
