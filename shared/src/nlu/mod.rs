//! Language understanding: text normalisation and features ([`text`]), the intent
//! classifier ([`classifier`]) and the slot tagger ([`tagger`]).

pub mod annotate;
pub mod classifier;
pub mod tagger;
pub mod text;

pub use classifier::{Classification, IntentClassifier, ModelError, TrainingOptions};
pub use tagger::{SlotTagger, TaggedPhrase, TaggerOptions};
pub use text::tokens;
