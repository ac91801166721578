//! The resolution time distribution: resolution times counted into fixed bins.

/// Upper bounds (exclusive, ms) of the bins and their labels; the last bin is open-ended.
pub const BINS: &[(u64, &str)] = &[
    (60_000, "< 1 min"),
    (5 * 60_000, "1–5 min"),
    (15 * 60_000, "5–15 min"),
    (60 * 60_000, "15–60 min"),
    (4 * 3_600_000, "1–4 h"),
    (u64::MAX, "≥ 4 h"),
];

/// How many of `times_ms` fall in each of [`BINS`], with the bins' labels.
pub fn histogram(times_ms: &[u64]) -> Vec<(&'static str, u64)> {
    let mut counts: Vec<(&'static str, u64)> = BINS.iter().map(|(_, label)| (*label, 0)).collect();
    for t in times_ms {
        let bin = BINS.iter().position(|(upper, _)| t < upper).unwrap_or(BINS.len() - 1);
        counts[bin].1 += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_fall_into_their_bins() {
        let counts = histogram(&[0, 59_999, 60_000, 299_999, 3_600_000, 4 * 3_600_000, u64::MAX]);
        let n: Vec<u64> = counts.iter().map(|c| c.1).collect();
        assert_eq!(n, [2, 2, 0, 0, 1, 2]);
        assert_eq!(counts[0].0, "< 1 min");
        assert!(histogram(&[]).iter().all(|c| c.1 == 0));
    }
}
