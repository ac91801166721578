//! Language understanding: text normalisation and features ([`text`]), the intent
//! classifier ([`classifier`]) and the slot tagger ([`tagger`]).

pub mod annotate;
pub mod classifier;
pub mod tagger;
pub mod text;

pub use classifier::{Classification, IntentClassifier, ModelError, TrainingOptions};
pub use tagger::{SlotTagger, TaggedPhrase, TaggerOptions};
pub use text::tokens;

/// Fisher-Yates with xorshift64: deterministic training order, no dependency.
pub(crate) fn shuffle(items: &mut [usize], state: &mut u64) {
    for i in (1..items.len()).rev() {
        let j = (next_random(state) % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// The next xorshift64 number; `state` must not be 0.
pub(crate) fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}
