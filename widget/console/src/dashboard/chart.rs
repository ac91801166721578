//! Chart geometry, computed here and drawn as inline SVG by [`crate::dashboard::svg`]: grouped
//! bars (one group per day or bin, one bar per series) on a linear scale from zero. Pure and
//! tested natively; no chart library.

/// The drawing area, in SVG user units.
pub const WIDTH: f64 = 640.0;
/// Height of the whole chart.
pub const HEIGHT: f64 = 240.0;
/// Room on the left for the scale, below for the group labels.
pub const LEFT: f64 = 60.0;
/// Room below the plot for the group labels.
pub const BOTTOM: f64 = 28.0;
/// Room above the plot.
pub const TOP: f64 = 12.0;

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// The group (day or bin) it belongs to.
    pub group: String,
    /// Its series (channel).
    pub series: String,
    /// Index of the series, for its colour.
    pub series_index: usize,
    /// The value drawn.
    pub value: f64,
    /// The value as shown to people.
    pub label: String,
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

/// A laid-out chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The bars, group by group.
    pub bars: Vec<Bar>,
    /// Group labels and the x of their centres.
    pub groups: Vec<(f64, String)>,
    /// Scale ticks: y and label.
    pub ticks: Vec<(f64, String)>,
}

/// The data of a grouped bar chart: per group, one optional value per series (`None`: no bar,
/// e.g. a rate without a denominator).
#[derive(Debug, Clone, PartialEq)]
pub struct Grouped {
    /// Series names (channels), in drawing order.
    pub series: Vec<String>,
    /// Group label and its values, one per series.
    pub groups: Vec<(String, Vec<Option<f64>>)>,
}

/// Lays out `data` with the scale running from 0 to `max` (a larger value is drawn at the
/// top); `label` formats values and ticks.
pub fn layout(data: &Grouped, max: f64, label: impl Fn(f64) -> String) -> Chart {
    let plot_width = WIDTH - LEFT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let max = if max > 0.0 { max } else { 1.0 };
    let group_width = plot_width / data.groups.len().max(1) as f64;
    let bar_width = group_width * 0.8 / data.series.len().max(1) as f64;
    let mut chart = Chart { bars: Vec::new(), groups: Vec::new(), ticks: Vec::new() };
    for (g, (name, values)) in data.groups.iter().enumerate() {
        let left = LEFT + g as f64 * group_width + group_width * 0.1;
        chart.groups.push((LEFT + (g as f64 + 0.5) * group_width, name.clone()));
        for (s, value) in values.iter().enumerate() {
            let Some(value) = *value else { continue };
            let height = (value.min(max) / max * plot_height).max(0.0);
            chart.bars.push(Bar {
                group: name.clone(),
                series: data.series.get(s).cloned().unwrap_or_default(),
                series_index: s,
                value,
                label: label(value),
                x: left + s as f64 * bar_width,
                y: TOP + plot_height - height,
                width: bar_width,
                height,
            });
        }
    }
    chart.ticks = (0..=4).map(|i| (TOP + plot_height * (1.0 - i as f64 / 4.0), label(max * i as f64 / 4.0))).collect();
    chart
}

/// A round upper bound for a scale: 1, 2 or 5 × a power of ten, at least `value`.
pub fn nice_max(value: f64) -> f64 {
    if value <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * power).find(|m| *m >= value).unwrap_or(10.0 * power)
}

/// An upper bound for a scale of counts: a multiple of 4, so that the 4 ticks are whole numbers.
pub fn count_max(value: f64) -> f64 {
    (value / 4.0).ceil().max(1.0) * 4.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pct(v: f64) -> String {
        format!("{:.0} %", v * 100.0)
    }

    #[test]
    fn bars_sit_on_the_baseline_in_proportion() {
        let data = Grouped {
            series: vec!["web".into(), "whatsapp".into()],
            groups: vec![
                ("2026-11-24".into(), vec![Some(1.0), Some(0.5)]),
                ("2026-11-25".into(), vec![None, Some(0.0)]),
            ],
        };
        let chart = layout(&data, 1.0, pct);
        let baseline = HEIGHT - BOTTOM;
        assert_eq!(chart.bars.len(), 3, "no bar where the rate is undefined");
        let full = &chart.bars[0];
        assert_eq!((full.y, full.y + full.height), (TOP, baseline));
        let half = &chart.bars[1];
        assert_eq!(half.height, full.height / 2.0);
        assert_eq!((half.series.as_str(), half.series_index, half.label.as_str()), ("whatsapp", 1, "50 %"));
        assert!(half.x >= full.x + full.width, "bars of a group do not overlap");
        assert_eq!((chart.bars[2].height, chart.bars[2].y), (0.0, baseline));
        assert!(chart.groups[1].0 > chart.bars[1].x, "the second group is right of the first");
        assert_eq!(chart.ticks.first().map(|t| t.1.as_str()), Some("0 %"));
        assert_eq!(chart.ticks.last().map(|t| (t.0, t.1.as_str())), Some((TOP, "100 %")));
    }

    #[test]
    fn scales_end_on_round_numbers() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(3.0), 5.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(120_000.0), 200_000.0);
        assert_eq!(nice_max(10.0), 10.0);
        assert_eq!((count_max(0.0), count_max(3.0), count_max(9.0)), (4.0, 4.0, 12.0));
    }
}
