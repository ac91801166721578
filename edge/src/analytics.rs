//! Analytics: what each turn and each piece of feedback adds to the day's figures, and the
//! report `GET /v1/analytics` returns.
//!
//! Storage is one [`DailyStats`] per UTC day, folded by [`DailyStats::record`]; the worker keeps
//! them in a single analytics Durable Object (see ARCHITECTURE.md for why not KV aggregates:
//! KV allows one write per second per key, a day's counter key would be hot). [`report`] turns
//! them into the [`Report`], whose wire types live in `switchboard_dialog::protocol` (the
//! dashboard reads them too). Definitions:
//! - intent recognition rate: matched utterances / (matched + unmatched) — answers to a prompt
//!   ("123456") are neither;
//! - no-match rate: unmatched utterances / all turns;
//! - handoff rate: handoffs / conversations started;
//! - resolution time: from a conversation's start to its end (an `end_session` intent or
//!   `POST …/end`), median over the period, and its distribution: counts per fixed bin
//!   ([`RESOLUTION_BINS`]: < 1 min, 1–5 min, 5–15 min, 15–60 min, 1–4 h, ≥ 4 h), per day and
//!   channel, per day, per channel and for the period;
//! - helpful ratio: "helpful" votes / all votes, per message and per conversation together.
//!
//! Each channel's figures include its own median resolution time, resolution histogram and
//! helpful ratio, per day and over the period.
//!
//! Unmatched utterances are kept for review (the dashboard turns them into training phrases),
//! with numbers and email addresses masked: analytics holds no personal data.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
pub use switchboard_dialog::protocol::{DayFigures, Figures, RESOLUTION_BINS, Ranked, Report, ResolutionHistogram};

/// Distinct unmatched utterances kept per day; later new ones are dropped, known ones counted.
const MAX_UNMATCHED_PER_DAY: usize = 500;
/// Resolution times kept per day for the median and the histogram.
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

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| (num as f64 / den as f64 * 10_000.0).round() / 10_000.0)
}

fn median(sorted: &[u64]) -> Option<u64> {
    let n = sorted.len();
    let upper = *sorted.get(n / 2)?;
    if n % 2 == 1 {
        return Some(upper);
    }
    let lower = *sorted.get(n / 2 - 1)?;
    Some(lower / 2 + upper / 2 + (lower % 2 + upper % 2) / 2)
}

/// Taken by value: a period's counts hold all its resolution times, sorted here in place.
fn figures(mut counts: Counts) -> Figures {
    counts.resolutions_ms.sort_unstable();
    let (times, helpful, unhelpful) = (&counts.resolutions_ms, counts.helpful, counts.unhelpful);
    Figures {
        conversations: counts.conversations,
        turns: counts.turns,
        handoffs: counts.handoffs,
        resolved: counts.resolved,
        intent_recognition_rate: ratio(counts.matched, counts.matched + counts.no_match),
        no_match_rate: ratio(counts.no_match, counts.turns),
        handoff_rate: ratio(counts.handoffs, counts.conversations),
        median_resolution_ms: median(times),
        resolution_histogram: ResolutionHistogram::of(times),
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
    into.helpful += c.helpful;
    into.unhelpful += c.unhelpful;
    into.resolutions_ms.extend(&c.resolutions_ms);
}

/// A day's counts over all its channels. Votes and resolution times come from the day's own
/// lists, which also hold votes without a channel and times stored before channels kept theirs.
fn day_total(day: &DailyStats) -> Counts {
    let mut total = Counts::default();
    for c in day.channels.values() {
        add(&mut total, c);
    }
    total.helpful = day.helpful;
    total.unhelpful = day.unhelpful;
    total.resolutions_ms = day.resolutions_ms.clone();
    total
}

fn top(counts: BTreeMap<String, u64>, n: usize) -> Vec<Ranked> {
    let mut ranked: Vec<Ranked> = counts.into_iter().map(|(text, count)| Ranked { text, count }).collect();
    ranked.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.text.cmp(&b.text)));
    ranked.truncate(n);
    ranked
}

/// The report for `from..=to` from the days stored for it.
pub fn report(from: &str, to: &str, days: &[DailyStats]) -> Report {
    let mut total = Counts::default();
    let mut channels: BTreeMap<String, Counts> = BTreeMap::new();
    let mut intents = BTreeMap::new();
    let mut unmatched = BTreeMap::new();
    let mut per_day = Vec::new();
    for day in days.iter().filter(|d| d.day.as_str() >= from && d.day.as_str() <= to) {
        for (name, c) in &day.channels {
            add(channels.entry(name.clone()).or_default(), c);
        }
        let mut day_total = day_total(day);
        day_total.resolutions_ms.sort_unstable();
        add(&mut total, &day_total);
        for (k, v) in &day.intents {
            *intents.entry(k.clone()).or_insert(0) += v;
        }
        for (k, v) in &day.unmatched {
            *unmatched.entry(k.clone()).or_insert(0) += v;
        }
        per_day.push(DayFigures {
            day: day.day.clone(),
            resolutions_ms: day_total.resolutions_ms.clone(),
            total: figures(day_total),
            channels: day.channels.iter().map(|(name, c)| (name.clone(), figures(c.clone()))).collect(),
        });
    }
    per_day.sort_by(|a, b| a.day.cmp(&b.day));
    Report {
        from: from.to_owned(),
        to: to.to_owned(),
        total: figures(total),
        channels: channels.into_iter().map(|(name, c)| (name, figures(c))).collect(),
        days: per_day,
        top_intents: top(intents, 10),
        top_unmatched: top(unmatched, 20),
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

    fn stored(events: &[Event]) -> Vec<DailyStats> {
        let mut days: BTreeMap<String, DailyStats> = BTreeMap::new();
        for e in events {
            days.entry(e.day().to_owned()).or_insert_with(|| DailyStats::new(e.day())).record(e);
        }
        days.into_values().collect()
    }

    fn resolved(day: &str, channel: &str, resolution_ms: u64) -> Event {
        Event::Resolved { day: day.into(), channel: channel.into(), resolution_ms }
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
        let days = stored(&events);
        let report = report("2026-11-24", "2026-11-25", &days);
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
        let one_day = super::report("2026-11-25", "2026-11-25", &days);
        assert_eq!(one_day.total.conversations, 2);
        // The period per channel.
        let (web, whatsapp) = (&report.channels["web"], &report.channels["whatsapp"]);
        assert_eq!((web.conversations, web.resolved, web.median_resolution_ms), (2, 2, Some(40_000)));
        assert_eq!((whatsapp.handoffs, whatsapp.helpful_ratio, whatsapp.median_resolution_ms), (1, Some(1.0), None));
    }

    #[test]
    fn resolution_times_are_binned_per_day_and_channel_and_add_up() {
        let events = [
            resolved("2026-11-24", "web", 30_000),
            resolved("2026-11-24", "web", 59_999),
            resolved("2026-11-24", "web", 60_000),
            resolved("2026-11-24", "web", 4 * 3_600_000),
            resolved("2026-11-24", "whatsapp", 300_000),
            resolved("2026-11-24", "whatsapp", 899_999),
            resolved("2026-11-25", "web", 900_000),
            resolved("2026-11-25", "web", 3_600_000),
            resolved("2026-11-25", "sms", 10_000),
            Event::ConversationStarted { day: "2026-11-25".into(), channel: "whatsapp".into() },
            resolved("2026-11-26", "web", 5_000),
        ];
        let days = stored(&events);
        let report = report("2026-11-24", "2026-11-25", &days);
        let bins = |f: &Figures| f.resolution_histogram.0;
        let (first, second) = (&report.days[0], &report.days[1]);
        assert_eq!(bins(&first.channels["web"]), [2, 1, 0, 0, 0, 1]);
        assert_eq!(bins(&first.channels["whatsapp"]), [0, 0, 2, 0, 0, 0]);
        assert_eq!(bins(&first.total), [2, 1, 2, 0, 0, 1]);
        assert_eq!(bins(&second.channels["web"]), [0, 0, 0, 1, 1, 0]);
        assert_eq!(bins(&second.channels["sms"]), [1, 0, 0, 0, 0, 0]);
        assert_eq!(bins(&second.channels["whatsapp"]), [0; 6], "active, nothing resolved");
        assert_eq!(bins(&second.total), [1, 0, 0, 1, 1, 0]);
        assert_eq!(bins(&report.channels["web"]), [2, 1, 0, 1, 1, 1]);
        assert_eq!(bins(&report.channels["whatsapp"]), [0, 0, 2, 0, 0, 0]);
        assert_eq!(bins(&report.channels["sms"]), [1, 0, 0, 0, 0, 0]);
        assert_eq!(bins(&report.total), [3, 1, 2, 1, 1, 1], "the 26th is outside the period");
        // Stable bins: channels add up to their day, days to the period, per channel too.
        let sum = |figures: &mut dyn Iterator<Item = &Figures>| {
            figures.fold(ResolutionHistogram::default(), |mut sum, f| {
                sum += f.resolution_histogram;
                sum
            })
        };
        for day in &report.days {
            assert_eq!(sum(&mut day.channels.values()), day.total.resolution_histogram, "{}", day.day);
        }
        assert_eq!(sum(&mut report.days.iter().map(|d| &d.total)), report.total.resolution_histogram);
        assert_eq!(sum(&mut report.channels.values()), report.total.resolution_histogram);
        for (name, channel) in &report.channels {
            let days = &mut report.days.iter().filter_map(|d| d.channels.get(name));
            assert_eq!(sum(days), channel.resolution_histogram, "{name}");
        }
        assert_eq!(report.total.resolution_histogram.total(), report.total.resolved);
        // On the wire: an array of the six counts.
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["channels"]["web"]["resolution_histogram"], serde_json::json!([2, 1, 0, 1, 1, 1]));
        assert_eq!(
            json["days"][0]["resolutions_ms"],
            serde_json::json!([30_000, 59_999, 60_000, 300_000, 899_999, 14_400_000])
        );
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
