//! List entities: canonical values with synonyms, matched on whole words with typo tolerance.

use super::EntityMatch;
use crate::nlu::tokens;
use serde_json::Value;

/// One value of a list entity.
#[derive(Debug, Clone, PartialEq)]
pub struct ListEntry {
    /// The canonical value sent to webhooks.
    pub value: String,
    /// Other ways to say it (the value itself always matches).
    pub synonyms: Vec<String>,
}

/// A list entity, e.g. `@service`: haircut (cut, trim), colouring (color, dye).
#[derive(Debug, Clone, PartialEq)]
pub struct ListEntity {
    /// Its name without `@`.
    pub name: String,
    /// The values.
    pub entries: Vec<ListEntry>,
    /// Accept one typo in words of five letters or more (two from nine).
    pub fuzzy: bool,
}

/// Optimal string alignment distance (Damerau-Levenshtein with adjacent swaps), capped.
// Indexing cannot fail: `d` has `a.len() + 1` rows of `b.len() + 1` cells, `i` runs over
// `1..=a.len()` and `j` over `1..=b.len()`, and `i - 2`, `j - 2` are read only when `i, j > 1`.
#[allow(clippy::indexing_slicing)]
fn distance(a: &str, b: &str, cap: usize) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > cap {
        return cap + 1;
    }
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    (0..=a.len()).for_each(|i| d[i][0] = i);
    (0..=b.len()).for_each(|j| d[0][j] = j);
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

impl ListEntity {
    fn word_matches(&self, written: &str, expected: &str) -> bool {
        if written == expected {
            return true;
        }
        let allowed = match expected.chars().count() {
            n if !self.fuzzy || n < 5 => 0,
            n if n < 9 => 1,
            _ => 2,
        };
        allowed > 0 && distance(written, expected, allowed) <= allowed
    }

    /// Every non-overlapping match, longest synonym first at each position.
    pub fn find_all(&self, text: &str) -> Vec<EntityMatch> {
        let spans = super::word_spans(text, &[]);
        let mut candidates: Vec<(Vec<String>, &str)> = Vec::new();
        for entry in &self.entries {
            for phrase in std::iter::once(&entry.value).chain(&entry.synonyms) {
                let t = tokens(phrase);
                if !t.is_empty() {
                    candidates.push((t, entry.value.as_str()));
                }
            }
        }
        candidates.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        let mut found = Vec::new();
        let mut rest = spans.as_slice();
        while let Some(first) = rest.first() {
            let hit = candidates.iter().find(|(t, _)| {
                t.len() <= rest.len() && t.iter().zip(rest).all(|(w, (_, _, s))| self.word_matches(s, w))
            });
            // A candidate has at least one word and no more than `rest` has.
            match hit.and_then(|(t, value)| Some((rest.get(t.len().checked_sub(1)?)?, t.len(), value))) {
                Some((last, len, value)) => {
                    let (start, end) = (first.0, last.1);
                    if let Some(original) = text.get(start..end) {
                        found.push(EntityMatch {
                            start,
                            end,
                            original: original.to_owned(),
                            value: Value::String((*value).to_owned()),
                        });
                    }
                    rest = rest.get(len..).unwrap_or_default();
                }
                None => rest = rest.get(1..).unwrap_or_default(),
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn services() -> ListEntity {
        ListEntity {
            name: "service".into(),
            entries: vec![
                ListEntry { value: "haircut".into(), synonyms: vec!["cut".into(), "trim".into()] },
                ListEntry { value: "colouring".into(), synonyms: vec!["color".into(), "hair dye".into()] },
            ],
            fuzzy: true,
        }
    }

    fn values(text: &str) -> Vec<String> {
        services().find_all(text).into_iter().map(|m| m.value.as_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn synonyms_resolve_to_the_canonical_value() {
        assert_eq!(values("I'd like a trim and some Hair Dye"), ["haircut", "colouring"]);
    }

    #[test]
    fn tolerates_typos_in_long_words_only() {
        assert_eq!(values("a hiarcut please"), ["haircut"]);
        assert_eq!(values("colorung"), ["colouring"]);
        assert!(values("a cat").is_empty(), "short words must match exactly");
    }

    #[test]
    fn distance_counts_swaps_once() {
        assert_eq!(distance("abcd", "acbd", 2), 1);
        assert_eq!(distance("kitten", "sitting", 3), 3);
    }
}
