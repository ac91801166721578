//! Language understanding: normalisation, features and the intent classifier.
//!
//! The classifier is a nearest-neighbour search over TF-IDF vectors of the training phrases.
//! Features are word unigrams, word bigrams and character trigrams (for typos and inflections);
//! numbers collapse to one `<num>` token so "track order 123" matches "track order 456".
//! The score is a cosine similarity in `[0, 1]`; below the agent's threshold nothing matches.

use std::collections::HashMap;

/// Splits text into lowercase word tokens; digit runs become `<num>`.
pub fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            if w.chars().all(|c| c.is_ascii_digit()) {
                NUM_TOKEN.to_owned()
            } else {
                w.to_lowercase()
            }
        })
        .collect()
}

const NUM_TOKEN: &str = "<num>";

/// Weighted features of one utterance, before TF-IDF.
fn features(text: &str) -> HashMap<String, f32> {
    let words = tokens(text);
    let mut out: HashMap<String, f32> = HashMap::new();
    for w in &words {
        *out.entry(format!("w:{w}")).or_default() += 1.0;
        if w != NUM_TOKEN {
            let padded: Vec<char> = format!("#{w}#").chars().collect();
            for tri in padded.windows(3) {
                *out.entry(format!("c:{}", tri.iter().collect::<String>()))
                    .or_default() += CHAR_WEIGHT;
            }
        }
    }
    for pair in words.windows(2) {
        *out.entry(format!("b:{} {}", pair[0], pair[1])).or_default() += 1.0;
    }
    out
}

/// Character trigrams help with typos but must not outvote whole words.
const CHAR_WEIGHT: f32 = 0.25;

/// A sparse, L2-normalised vector: feature ids ascending.
#[derive(Debug, Clone, Default)]
struct SparseVec(Vec<(u32, f32)>);

impl SparseVec {
    fn dot(&self, other: &SparseVec) -> f32 {
        let (mut i, mut j, mut sum) = (0, 0, 0.0);
        while i < self.0.len() && j < other.0.len() {
            match self.0[i].0.cmp(&other.0[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    sum += self.0[i].1 * other.0[j].1;
                    i += 1;
                    j += 1;
                }
            }
        }
        sum
    }
}

/// The result of classifying one utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// Index of the best intent in the agent's intent list.
    pub intent: usize,
    /// Cosine similarity to the nearest training phrase, in `[0, 1]`.
    pub confidence: f32,
}

/// An intent classifier trained from the agent's training phrases.
#[derive(Debug, Clone, Default)]
pub struct IntentClassifier {
    vocabulary: HashMap<String, u32>,
    idf: Vec<f32>,
    examples: Vec<(usize, SparseVec)>,
}

impl IntentClassifier {
    /// Trains on `(intent index, phrase)` pairs.
    pub fn train<'a>(phrases: impl IntoIterator<Item = (usize, &'a str)>) -> Self {
        let raw: Vec<(usize, HashMap<String, f32>)> = phrases
            .into_iter()
            .map(|(intent, text)| (intent, features(text)))
            .collect();
        let mut vocabulary = HashMap::new();
        let mut document_frequency: Vec<u32> = Vec::new();
        for (_, feats) in &raw {
            for name in feats.keys() {
                let next = vocabulary.len() as u32;
                let id = *vocabulary.entry(name.clone()).or_insert(next);
                if id as usize == document_frequency.len() {
                    document_frequency.push(0);
                }
                document_frequency[id as usize] += 1;
            }
        }
        let n = raw.len().max(1) as f32;
        let idf = document_frequency
            .iter()
            .map(|&df| ((1.0 + n) / (1.0 + df as f32)).ln() + 1.0)
            .collect();
        let mut classifier = Self {
            vocabulary,
            idf,
            examples: Vec::new(),
        };
        classifier.examples = raw
            .iter()
            .map(|(intent, feats)| (*intent, classifier.vectorise(feats)))
            .collect();
        classifier
    }

    fn vectorise(&self, feats: &HashMap<String, f32>) -> SparseVec {
        let mut v: Vec<(u32, f32)> = feats
            .iter()
            .filter_map(|(name, tf)| {
                self.vocabulary
                    .get(name)
                    .map(|&id| (id, tf * self.idf[id as usize]))
            })
            .collect();
        v.sort_unstable_by_key(|(id, _)| *id);
        let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|(_, w)| *w /= norm);
        }
        SparseVec(v)
    }

    /// The best intent for `text`, or `None` when the classifier knows none of its features.
    pub fn classify(&self, text: &str) -> Option<Classification> {
        let query = self.vectorise(&features(text));
        if query.0.is_empty() {
            return None;
        }
        let mut best: Option<Classification> = None;
        for (intent, example) in &self.examples {
            let confidence = query.dot(example).clamp(0.0, 1.0);
            if best.as_ref().is_none_or(|b| confidence > b.confidence) {
                best = Some(Classification {
                    intent: *intent,
                    confidence,
                });
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classifier() -> IntentClassifier {
        IntentClassifier::train([
            (0, "where is my order"),
            (0, "track order"),
            (0, "order status"),
            (0, "where is order 123456"),
            (1, "hello"),
            (1, "hi there"),
            (2, "talk to a human"),
        ])
    }

    #[test]
    fn tokens_lowercase_and_collapse_digits() {
        assert_eq!(
            tokens("Where's ORDER #123456?"),
            vec!["where", "s", "order", "<num>"]
        );
        assert_eq!(tokens("Größe"), vec!["größe"]);
    }

    #[test]
    fn classifies_paraphrases_and_typos() {
        let c = classifier();
        assert_eq!(c.classify("Where is my order?").unwrap().intent, 0);
        assert_eq!(c.classify("where is order 42").unwrap().intent, 0);
        assert_eq!(c.classify("trak my ordr").unwrap().intent, 0);
        assert_eq!(c.classify("Hello!").unwrap().intent, 1);
        assert_eq!(
            c.classify("can I talk to a human please").unwrap().intent,
            2
        );
    }

    #[test]
    fn exact_phrase_scores_one_and_unrelated_text_scores_low() {
        let c = classifier();
        let exact = c.classify("track order").unwrap();
        assert!((exact.confidence - 1.0).abs() < 1e-5, "{exact:?}");
        let unrelated = c
            .classify("what's the weather like in paris")
            .map_or(0.0, |c| c.confidence);
        assert!(unrelated < 0.3, "{unrelated}");
        assert_eq!(c.classify("   ?!"), None);
    }
}
