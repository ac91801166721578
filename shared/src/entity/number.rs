//! `@sys.number`: integers and decimals written with digits, or small numbers in words.

use super::EntityMatch;
use serde_json::Value;

const NUMBER_WORDS: &[(&str, i64)] = &[
    ("zero", 0),
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
];

/// Finds numbers: digit runs with an optional sign and decimal part (`#123456`, `-3`, `2.5`),
/// and the words zero to twelve.
pub(super) fn numbers(text: &str) -> Vec<EntityMatch> {
    let bytes = text.as_bytes();
    let at = |j: usize| bytes.get(j).copied();
    // No letter or digit just before byte `j` (or `j` is the start).
    let word_start = |j: usize| !j.checked_sub(1).and_then(at).is_some_and(|b| b.is_ascii_alphanumeric());
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(c) = at(i) {
        if c.is_ascii_digit() && word_start(i) {
            let negative = i.checked_sub(1).is_some_and(|minus| at(minus) == Some(b'-') && word_start(minus));
            let start = if negative { i - 1 } else { i };
            let mut end = i;
            while at(end).is_some_and(|b| b.is_ascii_digit()) {
                end += 1;
            }
            if at(end) == Some(b'.') && at(end + 1).is_some_and(|b| b.is_ascii_digit()) {
                end += 1;
                while at(end).is_some_and(|b| b.is_ascii_digit()) {
                    end += 1;
                }
            }
            // Digits glued to letters ("A123", "123abc") are codes, not numbers.
            if at(end).is_some_and(|b| b.is_ascii_alphabetic()) {
                i = end;
                continue;
            }
            // ASCII bytes on both ends: `start..end` lies on character boundaries.
            if let Some(original) = text.get(start..end)
                && let Some(value) = number_value(original)
            {
                found.push(EntityMatch { start, end, original: original.to_owned(), value });
            }
            i = end;
        } else if c.is_ascii_alphabetic() && word_start(i) {
            let mut end = i;
            while at(end).is_some_and(|b| b.is_ascii_alphabetic()) {
                end += 1;
            }
            if let Some(original) = text.get(i..end) {
                let word = original.to_ascii_lowercase();
                if let Some((_, n)) = NUMBER_WORDS.iter().find(|(w, _)| *w == word) {
                    found.push(EntityMatch { start: i, end, original: original.to_owned(), value: (*n).into() });
                }
            }
            i = end;
        } else {
            // Non-ASCII bytes never start a match, so stepping byte by byte is safe.
            i += 1;
        }
    }
    found
}

/// Integral values become JSON integers (an order number stays `123456`, not `123456.0`).
fn number_value(s: &str) -> Option<Value> {
    if let Ok(n) = s.parse::<i64>() {
        return Some(n.into());
    }
    let f: f64 = s.parse().ok()?;
    serde_json::Number::from_f64(f).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<Value> {
        numbers(text).into_iter().map(|m| m.value).collect()
    }

    #[test]
    fn finds_integers_decimals_and_words() {
        assert_eq!(values("Where is order 123456?"), vec![Value::from(123456)]);
        assert_eq!(values("#42 and 2.5 and -3"), vec![Value::from(42), Value::from(2.5), Value::from(-3)]);
        assert_eq!(values("I want three"), vec![Value::from(3)]);
    }

    #[test]
    fn ignores_codes_and_embedded_digits() {
        assert!(values("sku A123 and 99abc").is_empty());
        assert!(values("someone").is_empty(), "'one' inside a word is not a number");
    }

    #[test]
    fn spans_point_into_the_text() {
        let text = "order: 987 please";
        let m = &numbers(text)[0];
        assert_eq!(&text[m.start..m.end], "987");
        assert_eq!(m.original, "987");
    }

    #[test]
    fn survives_non_ascii_text() {
        assert_eq!(values("Bestellung Nr. 55 für Müller 😀 7"), vec![Value::from(55), Value::from(7)]);
    }
}
