//! Analytics: what each turn and each piece of feedback adds to the day's figures, and the
//! report `GET /v1/analytics` returns.
//!
//! Storage is one [`DailyStats`] per UTC day, folded by [`DailyStats::record`]; the worker keeps
//! them in a single analytics Durable Object (see ARCHITECTURE.md for why not KV aggregates:
//! KV allows one write per second per key, a day's counter key would be hot). Definitions:
//! - intent recognition rate: matched utterances / (matched + unmatched) — answers to a prompt
//!   ("123456") are neither;
//! - no-match rate: unmatched utterances / all turns;
//! - handoff rate: handoffs / conversations started;
//! - resolution time: from a conversation's start to its end (an `end_session` intent or
//!   `POST …/end`), median over the period;
//! - helpful ratio: "helpful" votes / all votes, per message and per conversation together.
//!
//! Each channel's figures include its own median resolution time and helpful ratio.
//!
//! Unmatched utterances are kept for review (the dashboard turns them into training phrases),
//! with numbers and email addresses masked: analytics holds no personal data.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Distinct unmatched utterances kept per day; later new ones are dropped, known ones counted.
const MAX_UNMATCHED_PER_DAY: usize = 500;
/// Resolution times kept per day for the median.
const MAX_RESOLUTIONS_PER_DAY: usize = 5000;

/// Something that happened, for the day's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A conversation began.
    ConversationStarted {
        /// UTC day, `YYYY-MM-DD`.
        day: String,
        /// Channel name.
        channel: String,
    },
    /// The user said something and the agent answered.
    Turn {
        /// UTC day.
        day: String,
        /// Channel name.
        channel: String,
        /// The intent matched, if any.
        intent: Option<String>,
        /// Nothing was understood.
        no_match: bool,
        /// The turn handed the conversation to a human.
        handoff: bool,
        /// The utterance, masked, when nothing was understood.
        unmatched: Option<String>,
        /// Time from the user's message to the reply.
        duration_ms: u64,
    },
    /// A conversation ended resolved.
    Resolved {
        /// UTC day.
        day: String,
        /// Channel name.
        channel: String,
        /// From its start to its end.
        resolution_ms: u64,
    },
    /// "Was this helpful?"
    Feedback {
        /// UTC day.
        day: String,
        /// Channel name (empty in events stored before votes were counted per channel).
        #[serde(default)]
        channel: String,
        /// The vote.
        helpful: bool,
        /// About one message (else the whole conversation).
        message: bool,
    },
}

impl Event {
    /// The day the event counts for.
    pub fn day(&self) -> &str {
        match self {
            Event::ConversationStarted { day, .. }
            | Event::Turn { day, .. }
            | Event::Resolved { day, .. }
            | Event::Feedback { day, .. } => day,
        }
    }
}

/// Counts for one channel on one day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Conversations started.
    pub conversations: u64,
    /// User turns.
    pub turns: u64,
    /// Turns that matched an intent.
    pub matched: u64,
    /// Turns that matched nothing.
    pub no_match: u64,
    /// Handoffs to a human.
    pub handoffs: u64,
    /// Conversations resolved.
    pub resolved: u64,
    /// Sum of reply durations, for the mean.
    pub turn_ms_total: u64,
    /// "Helpful" votes.
    #[serde(default)]
    pub helpful: u64,
    /// "Not helpful" votes.
    #[serde(default)]
    pub unhelpful: u64,
    /// Resolution times (ms), for the channel's median (bounded like the day's).
    #[serde(default)]
    pub resolutions_ms: Vec<u64>,
}

/// One day's figures, as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DailyStats {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Counts per channel.
    pub channels: BTreeMap<String, Counts>,
    /// Matches per intent.
    pub intents: BTreeMap<String, u64>,
    /// Masked unmatched utterances and how often each came.
    pub unmatched: BTreeMap<String, u64>,
    /// Resolution times (ms).
    pub resolutions_ms: Vec<u64>,
    /// "Helpful" votes.
    pub helpful: u64,
    /// "Not helpful" votes.
    pub unhelpful: u64,
}

impl DailyStats {
    /// An empty day.
    pub fn new(day: &str) -> Self {
        Self { day: day.to_owned(), ..Self::default() }
    }

    /// Folds an event of this day in.
    pub fn record(&mut self, event: &Event) {
        match event {
            Event::ConversationStarted { channel, .. } => self.channel(channel).conversations += 1,
            Event::Turn { channel, intent, no_match, handoff, unmatched, duration_ms, .. } => {
                let counts = self.channel(channel);
                counts.turns += 1;
                counts.matched += u64::from(intent.is_some());
                counts.no_match += u64::from(*no_match);
                counts.handoffs += u64::from(*handoff);
                counts.turn_ms_total += duration_ms;
                if let Some(intent) = intent {
                    *self.intents.entry(intent.clone()).or_default() += 1;
                }
                if let Some(text) = unmatched.as_ref().filter(|t| !t.is_empty()) {
                    let full = self.unmatched.len() >= MAX_UNMATCHED_PER_DAY;
                    match self.unmatched.get_mut(text) {
                        Some(n) => *n += 1,
                        None if !full => {
                            self.unmatched.insert(text.clone(), 1);
                        }
                        None => {}
                    }
                }
            }
            Event::Resolved { channel, resolution_ms, .. } => {
                let room = self.resolutions_ms.len() < MAX_RESOLUTIONS_PER_DAY;
                let counts = self.channel(channel);
                counts.resolved += 1;
                if room {
                    counts.resolutions_ms.push(*resolution_ms);
                    self.resolutions_ms.push(*resolution_ms);
                }
            }
            Event::Feedback { channel, helpful, .. } => {
                let (yes, no) = (u64::from(*helpful), u64::from(!*helpful));
                self.helpful += yes;
                self.unhelpful += no;
                if !channel.is_empty() {
                    let c = self.channel(channel);
                    c.helpful += yes;
                    c.unhelpful += no;
                }
            }
        }
    }

    fn channel(&mut self, channel: &str) -> &mut Counts {
        self.channels.entry(channel.to_owned()).or_default()
    }
}

/// Figures over a period, overall and per day and channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// First day, inclusive.
    pub from: String,
    /// Last day, inclusive.
    pub to: String,
    /// The whole period.
    pub total: Figures,
    /// Each day that had activity, per channel.
    pub days: Vec<DayFigures>,
    /// Most matched intents, most first.
    pub top_intents: Vec<Ranked>,
    /// Most frequent unmatched utterances (masked), most first.
    pub top_unmatched: Vec<Ranked>,
}

/// Rates and counts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Figures {
    /// Conversations started.
    pub conversations: u64,
    /// User turns.
    pub turns: u64,
    /// Handoffs.
    pub handoffs: u64,
    /// Conversations resolved.
    pub resolved: u64,
    /// matched / (matched + unmatched); `null` without such turns.
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

/// One day's figures, overall and per channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayFigures {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// All channels.
    pub total: Figures,
    /// Per channel.
    pub channels: BTreeMap<String, Figures>,
    /// Resolution times of the day (ms), for a distribution chart.
    pub resolutions_ms: Vec<u64>,
}

/// A name or utterance and its count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranked {
    /// The intent name or masked utterance.
    pub text: String,
    /// How often.
    pub count: u64,
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| (num as f64 / den as f64 * 10_000.0).round() / 10_000.0)
}

fn median(values: &mut [u64]) -> Option<u64> {
    values.sort_unstable();
    match values.len() {
        0 => None,
        n if n % 2 == 1 => Some(values[n / 2]),
        n => Some((values[n / 2 - 1] + values[n / 2]) / 2),
    }
}

fn figures(counts: &Counts, resolutions: &mut [u64], helpful: u64, unhelpful: u64) -> Figures {
    Figures {
        conversations: counts.conversations,
        turns: counts.turns,
        handoffs: counts.handoffs,
        resolved: counts.resolved,
        intent_recognition_rate: ratio(counts.matched, counts.matched + counts.no_match),
        no_match_rate: ratio(counts.no_match, counts.turns),
        handoff_rate: ratio(counts.handoffs, counts.conversations),
        median_resolution_ms: median(resolutions),
        helpful_ratio: ratio(helpful, helpful + unhelpful),
        feedback: helpful + unhelpful,
    }
}

fn add(into: &mut Counts, c: &Counts) {
    into.conversations += c.conversations;
    into.turns += c.turns;
    into.matched += c.matched;
    into.no_match += c.no_match;
    into.handoffs += c.handoffs;
    into.resolved += c.resolved;
    into.turn_ms_total += c.turn_ms_total;
}

fn top(counts: BTreeMap<String, u64>, n: usize) -> Vec<Ranked> {
    let mut ranked: Vec<Ranked> = counts.into_iter().map(|(text, count)| Ranked { text, count }).collect();
    ranked.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.text.cmp(&b.text)));
    ranked.truncate(n);
    ranked
}

impl Report {
    /// The report for `from..=to` from the days stored for it.
    pub fn build(from: &str, to: &str, days: &[DailyStats]) -> Report {
        let mut total = Counts::default();
        let mut resolutions = Vec::new();
        let (mut helpful, mut unhelpful) = (0, 0);
        let mut intents = BTreeMap::new();
        let mut unmatched = BTreeMap::new();
        let mut per_day = Vec::new();
        for day in days.iter().filter(|d| d.day.as_str() >= from && d.day.as_str() <= to) {
            let mut day_total = Counts::default();
            let mut channels = BTreeMap::new();
            for (name, c) in &day.channels {
                add(&mut day_total, c);
                channels.insert(name.clone(), figures(c, &mut c.resolutions_ms.clone(), c.helpful, c.unhelpful));
            }
            add(&mut total, &day_total);
            resolutions.extend(&day.resolutions_ms);
            helpful += day.helpful;
            unhelpful += day.unhelpful;
            for (k, v) in &day.intents {
                *intents.entry(k.clone()).or_insert(0) += v;
            }
            for (k, v) in &day.unmatched {
                *unmatched.entry(k.clone()).or_insert(0) += v;
            }
            let mut day_resolutions = day.resolutions_ms.clone();
            per_day.push(DayFigures {
                day: day.day.clone(),
                total: figures(&day_total, &mut day_resolutions, day.helpful, day.unhelpful),
                channels,
                resolutions_ms: day_resolutions,
            });
        }
        per_day.sort_by(|a, b| a.day.cmp(&b.day));
        Report {
            from: from.to_owned(),
            to: to.to_owned(),
            total: figures(&total, &mut resolutions, helpful, unhelpful),
            days: per_day,
            top_intents: top(intents, 10),
            top_unmatched: top(unmatched, 20),
        }
    }
}

/// An utterance as analytics may keep it: lowercased, words with digits → `<number>`, with
/// `@` → `<email>`, at most 200 characters.
pub fn mask(text: &str) -> String {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            if w.contains('@') {
                "<email>".to_owned()
            } else if w.chars().any(|c| c.is_ascii_digit()) {
                "<number>".to_owned()
            } else {
                w.to_lowercase()
            }
        })
        .collect();
    let joined = words.join(" ");
    match joined.char_indices().nth(200) {
        Some((at, _)) => joined[..at].to_owned(),
        None => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(day: &str, channel: &str, intent: Option<&str>, no_match: bool, handoff: bool, text: &str) -> Event {
        Event::Turn {
            day: day.into(),
            channel: channel.into(),
            intent: intent.map(Into::into),
            no_match,
            handoff,
            unmatched: no_match.then(|| mask(text)),
            duration_ms: 10,
        }
    }

    #[test]
    fn a_scripted_period_gives_the_expected_figures() {
        let events = [
            Event::ConversationStarted { day: "2026-11-24".into(), channel: "web".into() },
            turn("2026-11-24", "web", Some("CheckOrderStatus"), false, false, ""),
            turn("2026-11-24", "web", None, false, false, "123456"),
            turn("2026-11-24", "web", None, true, false, "Do you sell BIKES"),
            Event::Resolved { day: "2026-11-24".into(), channel: "web".into(), resolution_ms: 60_000 },
            Event::ConversationStarted { day: "2026-11-25".into(), channel: "whatsapp".into() },
            turn("2026-11-25", "whatsapp", None, true, false, "do you sell bikes"),
            turn("2026-11-25", "whatsapp", Some("TalkToHuman"), false, true, ""),
            Event::ConversationStarted { day: "2026-11-25".into(), channel: "web".into() },
            Event::Resolved { day: "2026-11-25".into(), channel: "web".into(), resolution_ms: 20_000 },
            Event::Feedback { day: "2026-11-25".into(), channel: "web".into(), helpful: true, message: true },
            Event::Feedback { day: "2026-11-25".into(), channel: "web".into(), helpful: false, message: false },
            Event::Feedback { day: "2026-11-25".into(), channel: "whatsapp".into(), helpful: true, message: false },
        ];
        let mut days: BTreeMap<String, DailyStats> = BTreeMap::new();
        for e in &events {
            days.entry(e.day().to_owned()).or_insert_with(|| DailyStats::new(e.day())).record(e);
        }
        let days: Vec<DailyStats> = days.into_values().collect();
        let report = Report::build("2026-11-24", "2026-11-25", &days);
        let t = &report.total;
        assert_eq!((t.conversations, t.turns, t.handoffs, t.resolved, t.feedback), (3, 5, 1, 2, 3));
        assert_eq!(t.intent_recognition_rate, Some(0.5));
        assert_eq!(t.no_match_rate, Some(0.4));
        assert_eq!(t.handoff_rate, Some(0.3333));
        assert_eq!(t.median_resolution_ms, Some(40_000));
        assert_eq!(t.helpful_ratio, Some(0.6667));
        assert_eq!(report.top_unmatched, [Ranked { text: "do you sell bikes".into(), count: 2 }]);
        assert_eq!(report.top_intents.len(), 2);
        assert_eq!(report.days.len(), 2);
        assert_eq!(report.days[1].channels["whatsapp"].handoff_rate, Some(1.0));
        // Votes and resolution times per channel, too.
        let (web, whatsapp) = (&report.days[1].channels["web"], &report.days[1].channels["whatsapp"]);
        assert_eq!((web.helpful_ratio, web.feedback, whatsapp.helpful_ratio), (Some(0.5), 2, Some(1.0)));
        assert_eq!((web.median_resolution_ms, whatsapp.median_resolution_ms), (Some(20_000), None));
        assert_eq!(report.days[0].channels["web"].median_resolution_ms, Some(60_000));
        let one_day = Report::build("2026-11-25", "2026-11-25", &days);
        assert_eq!(one_day.total.conversations, 2);
    }

    #[test]
    fn masking_drops_numbers_and_addresses() {
        assert_eq!(mask("Order 123456 for ann@example.com PLEASE"), "order <number> for <email> please");
        assert_eq!(mask(&"a".repeat(300)).len(), 200);
    }

    #[test]
    fn unmatched_utterances_are_bounded_per_day() {
        let mut day = DailyStats::new("2026-11-25");
        for i in 0..(MAX_UNMATCHED_PER_DAY + 10) {
            let word: String = [i / 676, i / 26 % 26, i % 26].iter().map(|d| (b'a' + *d as u8) as char).collect();
            day.record(&turn("2026-11-25", "web", None, true, false, &word));
        }
        assert_eq!(day.unmatched.len(), MAX_UNMATCHED_PER_DAY);
    }
}
