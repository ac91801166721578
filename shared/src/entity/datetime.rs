//! `@sys.date` and `@sys.time`: calendar dates and times of day in English.
//!
//! Dates: `today`, `tomorrow`, `the day after tomorrow`, `yesterday`, weekday names (`friday`,
//! `on tue`, `next monday`: the next such day after today), `in 3 days`, `in a week`, ISO
//! `2026-12-01`, and day-month forms (`1 December`, `December 1st`, `the 3rd of march 2027`;
//! without a year, the next such date from today). Relative forms need the user's `today`; without
//! it only absolute dates resolve. Resolved to `YYYY-MM-DD`.
//!
//! Times: `3pm`, `3:30 pm`, `11 a.m.`, `15:30`, `noon`, `midnight`. Resolved to `HH:MM:SS`.

use super::EntityMatch;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A calendar date (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date {
    /// Year, e.g. 2026.
    pub year: i32,
    /// Month, 1 to 12.
    pub month: u32,
    /// Day of the month, from 1.
    pub day: u32,
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

impl Date {
    /// A valid date, or `None`.
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)).then_some(Date {
            year,
            month,
            day,
        })
    }

    /// The date `days` days after 1970-01-01 (Howard Hinnant's civil-from-days).
    pub fn from_unix_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// The date of a Unix timestamp in milliseconds (UTC).
    pub fn from_unix_ms(ms: u64) -> Date {
        Date::from_unix_days((ms / 86_400_000) as i64)
    }

    /// Days since 1970-01-01.
    pub fn unix_days(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// 0 for Monday to 6 for Sunday.
    pub fn weekday(self) -> u32 {
        (self.unix_days() + 3).rem_euclid(7) as u32
    }

    /// The date `n` days later (earlier when negative).
    pub fn add_days(self, n: i64) -> Date {
        Date::from_unix_days(self.unix_days() + n)
    }

    /// `YYYY-MM-DD`.
    pub fn iso(self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

const MONTHS: &[&str] = &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn month(word: &str) -> Option<u32> {
    let full = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    full.iter()
        .position(|m| *m == word)
        .or_else(|| MONTHS.iter().position(|m| *m == word || (word == "sept" && *m == "sep")))
        .map(|i| i as u32 + 1)
}

fn weekday(word: &str) -> Option<u32> {
    let full = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    full.iter()
        .position(|d| *d == word)
        .or_else(|| WEEKDAYS.iter().position(|d| *d == word))
        .or(match word {
            "tues" => Some(1),
            "thur" | "thurs" => Some(3),
            _ => None,
        })
        .map(|i| i as u32)
}

/// `1`, `1st`, `22nd`, `3rd`, `14th` → the day number.
fn day_number(word: &str) -> Option<u32> {
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &word[digits.len()..];
    let ok = suffix.is_empty() || ["st", "nd", "rd", "th"].contains(&suffix);
    let n: u32 = digits.parse().ok()?;
    (ok && (1..=31).contains(&n)).then_some(n)
}

fn small_number(word: &str) -> Option<i64> {
    let words =
        ["a", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"];
    word.parse().ok().or_else(|| words.iter().position(|w| *w == word).map(|i| i.max(1) as i64))
}

/// Dates in `text`, relative ones resolved against `today`.
pub(super) fn dates(text: &str, today: Option<Date>) -> Vec<EntityMatch> {
    let w = super::word_spans(text, &['-']);
    let mut found = Vec::new();
    let mut i = 0;
    while i < w.len() {
        let word = |k: usize| w.get(i + k).map_or("", |x| x.2.as_str());
        let mut hit: Option<(Date, usize)> = None;
        if let Some(t) = today {
            hit = match word(0) {
                "today" | "tonight" => Some((t, 1)),
                "tomorrow" => Some((t.add_days(1), 1)),
                "yesterday" => Some((t.add_days(-1), 1)),
                "day" if word(1) == "after" && word(2) == "tomorrow" => Some((t.add_days(2), 3)),
                "in" => small_number(word(1)).and_then(|n| match word(2) {
                    "day" | "days" => Some((t.add_days(n), 3)),
                    "week" | "weeks" => Some((t.add_days(7 * n), 3)),
                    _ => None,
                }),
                _ => None,
            };
            if hit.is_none() {
                let (skip, name) = if ["next", "this", "on"].contains(&word(0)) { (1, word(1)) } else { (0, word(0)) };
                if let Some(d) = weekday(name) {
                    let ahead = (i64::from(d) - i64::from(t.weekday())).rem_euclid(7);
                    hit = Some((t.add_days(if ahead == 0 { 7 } else { ahead }), skip + 1));
                }
            }
        }
        if hit.is_none() {
            hit = absolute(&|k| word(k).to_owned(), today);
        }
        match hit {
            Some((date, len)) => {
                // `len` counts words that `word` found, so they are all in `w`.
                let span = w.get(i).zip(w.get(i + len.saturating_sub(1))).map(|(first, last)| (first.0, last.1));
                if let Some((start, end)) = span
                    && let Some(original) = text.get(start..end)
                {
                    found.push(EntityMatch {
                        start,
                        end,
                        original: original.to_owned(),
                        value: Value::String(date.iso()),
                    });
                }
                i += len.max(1);
            }
            None => i += 1,
        }
    }
    found
}

/// ISO dates and day-month forms; returns the date and how many words it took.
fn absolute(word: &dyn Fn(usize) -> String, today: Option<Date>) -> Option<(Date, usize)> {
    let first = word(0);
    let parts: Vec<&str> = first.split('-').collect();
    if let [y, m, d] = parts.as_slice()
        && y.len() == 4
    {
        return Some((Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?, 1));
    }
    let offset = usize::from(first == "the");
    // `1 december`, `1st of december`, `december 1st`.
    let (day, month_no, len) = if let Some(day) = day_number(&word(offset)) {
        let of = usize::from(word(offset + 1) == "of");
        (day, month(&word(offset + 1 + of))?, offset + 2 + of)
    } else {
        let m = month(&word(offset))?;
        (day_number(&word(offset + 1))?, m, offset + 2)
    };
    let year: Option<i32> = word(len).parse().ok().filter(|y: &i32| (1900..=2200).contains(y));
    match (year, today) {
        (Some(y), _) => Some((Date::new(y, month_no, day)?, len + 1)),
        (None, Some(t)) => {
            let this_year = Date::new(t.year, month_no, day);
            match this_year {
                Some(d) if d >= t => Some((d, len)),
                _ => Some((Date::new(t.year + 1, month_no, day)?, len)),
            }
        }
        (None, None) => None,
    }
}

/// Times of day.
pub(super) fn times(text: &str) -> Vec<EntityMatch> {
    // Every word looked for is ASCII: ASCII lowercasing keeps each byte where it was, so offsets
    // into `lower` are offsets into `text` (Unicode lowercasing may change a text's length).
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let at = |j: usize| bytes.get(j).copied();
    let word_start = |j: usize| !j.checked_sub(1).and_then(at).is_some_and(|b| b.is_ascii_alphanumeric());
    // Byte slices, not `str` ones: `i` steps through every byte, inside characters too.
    let rest = |j: usize| bytes.get(j..).unwrap_or_default();
    let word_at = |i: usize, w: &str| {
        rest(i).starts_with(w.as_bytes())
            && word_start(i)
            && bytes.get(i + w.len()).is_none_or(|b| !b.is_ascii_alphanumeric())
    };
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(c) = at(i) {
        if let Some((w, h)) = [("noon", 12), ("midday", 12), ("midnight", 0)].into_iter().find(|(w, _)| word_at(i, w)) {
            found.extend(time_match(text, i, i + w.len(), h, 0));
            i += w.len();
            continue;
        }
        if !c.is_ascii_digit() || !word_start(i) {
            i += 1;
            continue;
        }
        let mut end = i;
        while at(end).is_some_and(|b| b.is_ascii_digit()) {
            end += 1;
        }
        let hour: u32 = lower.get(i..end).and_then(|h| h.parse().ok()).unwrap_or(99);
        let mut minute = None;
        if at(end) == Some(b':') {
            let m = lower.get(end + 1..end + 3).and_then(|m| m.parse::<u32>().ok());
            if m.is_some() && at(end + 3).is_none_or(|b| !b.is_ascii_digit()) {
                minute = m;
                end += 3;
            }
        }
        let mut after = end;
        while at(after) == Some(b' ') {
            after += 1;
        }
        let meridiem = ["a.m.", "p.m.", "am", "pm"].into_iter().find(|m| {
            rest(after).starts_with(m.as_bytes()) && at(after + m.len()).is_none_or(|b| !b.is_ascii_alphanumeric())
        });
        let resolved = match meridiem {
            Some(m) if (1..=12).contains(&hour) => {
                let pm = m.starts_with('p');
                Some(((hour % 12) + if pm { 12 } else { 0 }, after + m.len()))
            }
            None if minute.is_some() && hour <= 23 => Some((hour, end)),
            _ => None,
        };
        match resolved.filter(|_| minute.unwrap_or(0) <= 59) {
            Some((h, stop)) => {
                found.extend(time_match(text, i, stop, h, minute.unwrap_or(0)));
                i = stop;
            }
            _ => i = end.max(i + 1),
        }
    }
    found
}

/// A time found at `start..end` (ASCII bytes on both ends, so on character boundaries).
fn time_match(text: &str, start: usize, end: usize, hour: u32, minute: u32) -> Option<EntityMatch> {
    Some(EntityMatch {
        start,
        end,
        original: text.get(start..end)?.to_owned(),
        value: Value::String(format!("{hour:02}:{minute:02}:00")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // A Wednesday.
    const TODAY: Date = Date { year: 2026, month: 11, day: 25 };

    fn date(text: &str) -> Vec<String> {
        dates(text, Some(TODAY)).into_iter().map(|m| m.value.as_str().unwrap().to_owned()).collect()
    }

    fn time(text: &str) -> Vec<String> {
        times(text).into_iter().map(|m| m.value.as_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn civil_days_round_trip() {
        assert_eq!(Date::from_unix_days(0), Date { year: 1970, month: 1, day: 1 });
        assert_eq!(TODAY.weekday(), 2);
        for d in [-800_000, -1, 0, 59, 10_957, 20_000, 2_932_896] {
            assert_eq!(Date::from_unix_days(d).unix_days(), d);
        }
        assert_eq!(Date::from_unix_ms(1_795_617_937_688), Date { year: 2026, month: 11, day: 25 });
        assert_eq!(Date::new(2028, 2, 29).map(Date::iso).as_deref(), Some("2028-02-29"));
        assert_eq!(Date::new(2026, 2, 29), None);
    }

    #[test]
    fn relative_dates() {
        assert_eq!(date("today"), ["2026-11-25"]);
        assert_eq!(date("Tomorrow please"), ["2026-11-26"]);
        assert_eq!(date("the day after tomorrow"), ["2026-11-27"]);
        assert_eq!(date("on Friday"), ["2026-11-27"]);
        assert_eq!(date("next wednesday"), ["2026-12-02"], "the same weekday means next week");
        assert_eq!(date("in 3 days"), ["2026-11-28"]);
        assert_eq!(date("in a week"), ["2026-12-02"]);
    }

    #[test]
    fn absolute_dates() {
        assert_eq!(date("2027-01-15"), ["2027-01-15"]);
        assert_eq!(date("1 December"), ["2026-12-01"]);
        assert_eq!(date("December 1st"), ["2026-12-01"]);
        assert_eq!(date("the 3rd of March"), ["2027-03-03"], "a past day this year means next year");
        assert_eq!(date("on 5 jan 2028"), ["2028-01-05"]);
        assert!(date("may I book").is_empty(), "'may' alone is not a date");
        assert!(dates("tomorrow", None).is_empty(), "relative dates need today");
        assert_eq!(dates("2027-01-15", None).len(), 1);
        assert!(date("31 february").is_empty());
    }

    #[test]
    fn times_of_day() {
        assert_eq!(time("at 3pm"), ["15:00:00"]);
        assert_eq!(time("3:30 pm or 11 a.m."), ["15:30:00", "11:00:00"]);
        assert_eq!(time("15:45"), ["15:45:00"]);
        assert_eq!(time("12am and noon"), ["00:00:00", "12:00:00"]);
        assert!(time("order 123456").is_empty());
        assert!(time("at 3").is_empty(), "an hour alone is ambiguous");
        assert!(time("25:00 and 13pm").is_empty());
    }

    #[test]
    fn times_in_text_that_is_not_ascii() {
        // Every byte offset used to be sliced, mid-character too: "é" crashed the recogniser.
        assert_eq!(time("café à 3pm"), ["15:00:00"]);
        assert_eq!(time("Über Mittag, noon"), ["12:00:00"]);
        // Lowercasing may change a text's length ("İ" is two bytes, "i̇" three): spans still
        // point into the text as written.
        let found = times("İİİ 3pm");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].original, "3pm");
        assert_eq!(&"İİİ 3pm"[found[0].start..found[0].end], "3pm");
        assert_eq!(time("NOON or 4 PM"), ["12:00:00", "16:00:00"]);
    }
}
