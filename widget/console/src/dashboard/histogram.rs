//! The resolution time distribution as small multiples: for the whole period or one day, a
//! histogram of all channels and one per channel, over the report's fixed bins
//! ([`RESOLUTION_BINS`](switchboard_dialog::protocol::RESOLUTION_BINS)), each on its own count
//! scale so that a quiet channel's shape shows beside a busy one's. Pure and tested natively.

use super::chart::{Chart, Grouped, count_max, layout};
use switchboard_dialog::protocol::{Report, ResolutionHistogram};

/// The all-channels histogram's name, and its bars' series.
pub const ALL_CHANNELS: &str = "all channels";

/// One histogram of the row.
#[derive(Debug, Clone, PartialEq)]
pub struct Multiple {
    /// [`ALL_CHANNELS`] or the channel's name.
    pub name: String,
    /// One bar per bin, coloured as the channel is in the per-day charts.
    pub chart: Chart,
}

/// The row for `day` (`None`, or a day without activity: the whole period): all channels
/// first, then every channel of the period in name order, each with all its bins (a channel
/// without resolutions that day has empty ones).
pub fn multiples(report: &Report, day: Option<&str>) -> Vec<Multiple> {
    let day = day.and_then(|d| report.days.iter().find(|f| f.day == d));
    let total = day.map_or(&report.total, |d| &d.total).resolution_histogram;
    let channels = report.channels.iter().map(|(name, period)| {
        let figures = match day {
            Some(d) => d.channels.get(name),
            None => Some(period),
        };
        (name.clone(), figures.map(|f| f.resolution_histogram).unwrap_or_default())
    });
    // Channel i is series i of the per-day charts (both in name order); all channels takes the
    // colour after theirs.
    let colours = std::iter::once(report.channels.len()).chain(0..);
    std::iter::once((ALL_CHANNELS.to_owned(), total))
        .chain(channels)
        .zip(colours)
        .map(|((name, histogram), colour)| Multiple { chart: chart(&name, &histogram, colour), name })
        .collect()
}

fn chart(name: &str, histogram: &ResolutionHistogram, colour: usize) -> Chart {
    let groups = histogram.bins().map(|(label, n)| (label.to_owned(), vec![Some(n as f64)])).collect();
    let most = histogram.0.iter().copied().max().unwrap_or(0) as f64;
    let mut chart = layout(&Grouped { series: vec![name.to_owned()], groups }, count_max(most), |n| format!("{n:.0}"));
    for bar in &mut chart.bars {
        bar.series_index = colour;
    }
    chart
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use switchboard_dialog::protocol::{DayFigures, Figures, RESOLUTION_BINS};

    fn figures(bins: [u64; 6]) -> Figures {
        Figures { resolution_histogram: ResolutionHistogram(bins), ..Figures::default() }
    }

    fn report() -> Report {
        let day = |day: &str, total, channels: &[(&str, [u64; 6])]| DayFigures {
            day: day.into(),
            total: figures(total),
            channels: channels.iter().map(|(name, bins)| ((*name).to_owned(), figures(*bins))).collect(),
            resolutions_ms: Vec::new(),
        };
        Report {
            from: "2026-11-24".into(),
            to: "2026-11-25".into(),
            total: figures([3, 1, 0, 0, 0, 9]),
            channels: BTreeMap::from([
                ("sms".into(), figures([0, 0, 0, 0, 0, 9])),
                ("web".into(), figures([3, 1, 0, 0, 0, 0])),
            ]),
            days: vec![
                day("2026-11-24", [2, 0, 0, 0, 0, 9], &[("sms", [0, 0, 0, 0, 0, 9]), ("web", [2, 0, 0, 0, 0, 0])]),
                day("2026-11-25", [1, 1, 0, 0, 0, 0], &[("web", [1, 1, 0, 0, 0, 0])]),
            ],
            top_intents: Vec::new(),
            top_unmatched: Vec::new(),
        }
    }

    /// `(name, bar values, bar colour, top tick)` of each histogram.
    fn drawn(multiples: &[Multiple]) -> Vec<(&str, Vec<f64>, usize, &str)> {
        multiples
            .iter()
            .map(|m| {
                let values = m.chart.bars.iter().map(|b| b.value).collect();
                let top = m.chart.ticks.last().map_or("", |t| t.1.as_str());
                (m.name.as_str(), values, m.chart.bars[0].series_index, top)
            })
            .collect()
    }

    #[test]
    fn the_period_has_a_histogram_for_all_channels_then_one_per_channel() {
        let row = multiples(&report(), None);
        assert_eq!(
            drawn(&row),
            [
                ("all channels", vec![3.0, 1.0, 0.0, 0.0, 0.0, 9.0], 2, "12"),
                ("sms", vec![0.0, 0.0, 0.0, 0.0, 0.0, 9.0], 0, "12"),
                ("web", vec![3.0, 1.0, 0.0, 0.0, 0.0, 0.0], 1, "4"),
            ]
        );
        let groups: Vec<&str> = row[2].chart.bars.iter().map(|b| b.group.as_str()).collect();
        assert_eq!(groups, RESOLUTION_BINS.map(|b| b.1));
        assert!(row[2].chart.bars.iter().all(|b| b.series == "web"));
    }

    #[test]
    fn a_day_shows_its_own_bins_and_every_channel_of_the_period() {
        let row = multiples(&report(), Some("2026-11-25"));
        assert_eq!(
            drawn(&row),
            [
                ("all channels", vec![1.0, 1.0, 0.0, 0.0, 0.0, 0.0], 2, "4"),
                ("sms", vec![0.0; 6], 0, "4"),
                ("web", vec![1.0, 1.0, 0.0, 0.0, 0.0, 0.0], 1, "4"),
            ]
        );
        assert_eq!(multiples(&report(), Some("2020-01-01")), multiples(&report(), None), "unknown day: the period");
    }
}
