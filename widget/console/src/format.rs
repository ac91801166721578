//! How figures and times read on screen; pure, tested natively.

use serde_json::{Map, Value};

/// A waiting time, from `since_ms` to `now_ms`, in whole seconds at least: `0 s`, `45 s`, `3 min`.
pub fn waited(now_ms: u64, since_ms: u64) -> String {
    match now_ms.saturating_sub(since_ms) {
        0..1000 => "0 s".into(),
        ms => duration(ms),
    }
}

/// A duration: `350 ms`, `45 s`, `3 min`, `2 h 05 min`, `3 d 4 h`.
pub fn duration(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0 => format!("{ms} ms"),
        1..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// A rate (0..=1) as a percentage with one decimal, `–` when undefined.
pub fn percent(rate: Option<f64>) -> String {
    match rate {
        Some(r) => format!("{:.1} %", r * 100.0),
        None => "–".into(),
    }
}

/// Filled parameters as `name: value` pairs, strings unquoted.
pub fn parameters(parameters: &Map<String, Value>) -> Vec<String> {
    parameters
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}: {s}"),
            other => format!("{k}: {other}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(waited(100_000, 55_000), "45 s");
        assert_eq!(waited(55_000, 100_000), "0 s", "a clock behind the server's is not negative");
        assert_eq!(duration(350), "350 ms");
        assert_eq!(duration(3 * 60_000 + 59_000), "3 min");
        assert_eq!(duration(2 * 3_600_000 + 5 * 60_000), "2 h 05 min");
        assert_eq!(duration(3 * 86_400_000 + 4 * 3_600_000), "3 d 4 h");
    }

    #[test]
    fn rates_and_parameters() {
        assert_eq!(percent(Some(0.6667)), "66.7 %");
        assert_eq!(percent(Some(1.0)), "100.0 %");
        assert_eq!(percent(None), "–");
        let map = serde_json::json!({"order-number": "123456", "count": 2}).as_object().unwrap().clone();
        assert_eq!(parameters(&map), ["count: 2", "order-number: 123456"]);
    }
}
