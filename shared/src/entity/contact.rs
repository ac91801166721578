//! `@sys.email` and `@sys.phone-number`.

use super::EntityMatch;
use serde_json::Value;

fn local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._%+-".contains(c)
}

fn domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '-'
}

/// E-mail addresses: `local@domain.tld`, lowercased.
pub(super) fn emails(text: &str) -> Vec<EntityMatch> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices('@') {
        // The address starts after the last character that cannot be in one, which may take
        // more than one byte. A letter there ("müller@…") glues the address to a word whose
        // start is not ASCII: no address, rather than a wrong one ("ller@…").
        let before = text[..at].char_indices().rev().find(|(_, c)| !local_char(*c));
        if before.is_some_and(|(_, c)| c.is_alphanumeric()) {
            continue;
        }
        let start = before.map_or(0, |(i, c)| i + c.len_utf8());
        let end = text[at + 1..].find(|c: char| !domain_char(c)).map_or(text.len(), |i| at + 1 + i);
        let (local, domain) = (&text[start..at], text[at + 1..end].trim_end_matches(['.', '-']));
        let tld_ok = domain.rsplit_once('.').is_some_and(|(host, tld)| {
            !host.is_empty() && tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic())
        });
        if local.is_empty() || local.starts_with('.') || !tld_ok {
            continue;
        }
        let end = at + 1 + domain.len();
        let original = &text[start..end];
        found.push(EntityMatch {
            start,
            end,
            original: original.to_owned(),
            value: Value::String(original.to_lowercase()),
        });
    }
    found
}

/// Phone numbers: runs of digits, spaces, dots, dashes and parentheses holding 7 to 15 digits,
/// with an optional leading `+`.
pub(super) fn phone_numbers(text: &str) -> Vec<EntityMatch> {
    let bytes = text.as_bytes();
    let at = |j: usize| bytes.get(j).copied();
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(first) = at(i) {
        let starts = (first == b'+' || first == b'(' || first.is_ascii_digit())
            && !i.checked_sub(1).and_then(at).is_some_and(|b| b.is_ascii_alphanumeric());
        if !starts {
            i += 1;
            continue;
        }
        let mut end = i;
        let mut digits = String::new();
        if first == b'+' {
            digits.push('+');
            end += 1;
        }
        while let Some(b) = at(end).filter(|b| b.is_ascii_digit() || b" .-()".contains(b)) {
            if b.is_ascii_digit() {
                digits.push(b as char);
            }
            end += 1;
        }
        // Give back trailing separators.
        while end > i && !at(end - 1).is_some_and(|b| b.is_ascii_digit()) {
            end -= 1;
        }
        let count = digits.trim_start_matches('+').len();
        let glued = at(end).is_some_and(|b| b.is_ascii_alphabetic());
        // ASCII bytes on both ends: `i..end` lies on character boundaries.
        match text.get(i..end).filter(|_| (7..=15).contains(&count) && !glued) {
            Some(original) => {
                found.push(EntityMatch { start: i, end, original: original.to_owned(), value: Value::String(digits) });
                i = end;
            }
            None => i = end.max(i + 1),
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_found_and_lowercased() {
        let m = emails("mail me at Ann.Lee+shop@Example.co.uk, thanks.");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].original, "Ann.Lee+shop@Example.co.uk");
        assert_eq!(m[0].value, "ann.lee+shop@example.co.uk");
        assert!(emails("me@localhost or @twitter or a@b.c").is_empty());
    }

    #[test]
    fn phone_numbers_keep_digits_and_plus() {
        let m = phone_numbers("call +1 (415) 555-0123 today");
        assert_eq!(m[0].value, "+14155550123");
        assert_eq!(m[0].original, "+1 (415) 555-0123");
        assert_eq!(phone_numbers("030 1234567")[0].value, "0301234567");
        assert!(phone_numbers("order 123456").is_empty(), "six digits are not a phone number");
        assert!(phone_numbers("ref 12345678X").is_empty());
    }

    #[test]
    fn emails_after_characters_that_are_not_ascii() {
        // The address starts after the last character that cannot be in one; that character
        // may take more than one byte.
        let m = emails("é ann@example.com, mail:bob@example.org, müller@example.de, «eve@example.fr»");
        let found: Vec<&str> = m.iter().map(|m| m.original.as_str()).collect();
        assert_eq!(found, ["ann@example.com", "bob@example.org", "eve@example.fr"]);
        assert_eq!(m[2].start, "é ann@example.com, mail:bob@example.org, müller@example.de, «".len());
        assert!(emails("écrivez à€@example.com").is_empty());
    }
}
