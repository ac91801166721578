//! Language understanding: text normalisation and features ([`text`]) and the intent
//! classifier ([`classifier`]).

pub mod classifier;
pub mod text;

pub use classifier::{Classification, IntentClassifier, ModelError, TrainingOptions};
pub use text::tokens;
