//! The parts of `GET /v1/analytics` the dashboard draws. The report's types belong to the
//! edge (`switchboard_edge::analytics::Report`, which this wasm cannot link without the worker
//! runtime); these mirror its fields by name, and the dashboard's end-to-end test compares
//! what is drawn with the API's own answer.

use serde::Deserialize;
use std::collections::BTreeMap;

/// Figures over a period.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Report {
    /// First day, inclusive.
    pub from: String,
    /// Last day, inclusive.
    pub to: String,
    /// The whole period.
    pub total: Figures,
    /// Each day that had activity, oldest first.
    pub days: Vec<DayFigures>,
    /// Most frequent unmatched utterances (masked), most first.
    pub top_unmatched: Vec<Ranked>,
}

/// Rates and counts; a rate is `None` when its denominator is zero.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Figures {
    /// Conversations started.
    pub conversations: u64,
    /// User turns.
    pub turns: u64,
    /// Handoffs.
    pub handoffs: u64,
    /// Conversations resolved.
    pub resolved: u64,
    /// matched / (matched + unmatched).
    pub intent_recognition_rate: Option<f64>,
    /// unmatched / turns.
    pub no_match_rate: Option<f64>,
    /// handoffs / conversations.
    pub handoff_rate: Option<f64>,
    /// Median time to resolution (ms).
    pub median_resolution_ms: Option<u64>,
    /// helpful / votes.
    pub helpful_ratio: Option<f64>,
    /// Votes cast.
    pub feedback: u64,
}

/// One day, overall and per channel.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DayFigures {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// All channels.
    pub total: Figures,
    /// Per channel.
    pub channels: BTreeMap<String, Figures>,
    /// The day's resolution times (ms).
    pub resolutions_ms: Vec<u64>,
}

/// An utterance and how often it came.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Ranked {
    /// The masked utterance.
    pub text: String,
    /// How often.
    pub count: u64,
}

impl Report {
    /// Every channel that had activity in the period, in name order.
    pub fn channels(&self) -> Vec<String> {
        let mut names: Vec<String> = self.days.iter().flat_map(|d| d.channels.keys().cloned()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// All resolution times of the period.
    pub fn resolutions_ms(&self) -> Vec<u64> {
        self.days.iter().flat_map(|d| d.resolutions_ms.iter().copied()).collect()
    }
}
