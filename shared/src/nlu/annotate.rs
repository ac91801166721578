//! Annotated training phrases: `track order [123456](order-number)` marks a parameter's value,
//! from which the slot tagger learns; the classifier sees the plain text.

/// A phrase with its annotations removed, and the annotated spans as byte ranges of the plain
/// text with their parameter names.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotated {
    /// The phrase without annotation marks.
    pub plain: String,
    /// `(start, end, parameter)`.
    pub spans: Vec<(usize, usize, String)>,
}

/// Parses `[value](parameter)` annotations; anything else, brackets included, is kept as text.
pub fn parse(phrase: &str) -> Annotated {
    let mut plain = String::with_capacity(phrase.len());
    let mut spans = Vec::new();
    let mut rest = phrase;
    while let Some(open) = rest.find('[') {
        let parsed = rest[open..].find("](").and_then(|close| {
            let close = open + close;
            let end = rest[close + 2..].find(')')? + close + 2;
            let name = &rest[close + 2..end];
            let valid = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_');
            valid.then_some((close, end, name))
        });
        match parsed {
            Some((close, end, name)) => {
                plain.push_str(&rest[..open]);
                let start = plain.len();
                plain.push_str(&rest[open + 1..close]);
                spans.push((start, plain.len(), name.to_owned()));
                rest = &rest[end + 1..];
            }
            None => {
                plain.push_str(&rest[..=open]);
                rest = &rest[open + 1..];
            }
        }
    }
    plain.push_str(rest);
    Annotated { plain, spans }
}

/// Words of `text` for the tagger: whitespace-separated, outer punctuation trimmed, with their
/// byte ranges.
pub fn words(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for piece in text.split_inclusive(char::is_whitespace) {
        let trimmed_start = piece.len() - piece.trim_start_matches(|c: char| !c.is_alphanumeric()).len();
        let core = piece.trim_matches(|c: char| !c.is_alphanumeric());
        if !core.is_empty() {
            out.push((offset + trimmed_start, offset + trimmed_start + core.len()));
        }
        offset += piece.len();
    }
    out
}

/// BIO tags for `words` from annotated spans.
pub fn bio(words: &[(usize, usize)], spans: &[(usize, usize, String)]) -> Vec<String> {
    let mut tags = Vec::with_capacity(words.len());
    let mut previous: Option<usize> = None;
    for (start, end) in words {
        let span = spans.iter().enumerate().find(|(_, (s, e, _))| start < e && end > s);
        tags.push(match span {
            Some((i, (_, _, name))) if previous == Some(i) => format!("I-{name}"),
            Some((_, (_, _, name))) => format!("B-{name}"),
            None => "O".to_owned(),
        });
        previous = span.map(|(i, _)| i);
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_become_spans_of_the_plain_text() {
        let a = parse("book for [Anna Lee](name) on [Friday](day), [not] this");
        assert_eq!(a.plain, "book for Anna Lee on Friday, [not] this");
        assert_eq!(a.spans, vec![(9, 17, "name".to_owned()), (21, 27, "day".to_owned())]);
        let w = words(&a.plain);
        let tags = bio(&w, &a.spans);
        assert_eq!(tags, ["O", "O", "B-name", "I-name", "O", "B-day", "O", "O"]);
        assert_eq!(&a.plain[w[6].0..w[6].1], "not");
    }
}
