//! A laid-out [`Chart`] drawn as inline SVG, with a legend and the same figures as a table for
//! screen readers. Each bar carries `data-group`, `data-series` and `data-value` (the figure as
//! the API gave it).

use super::chart::{BOTTOM, Chart, HEIGHT, LEFT, WIDTH};
use leptos::prelude::*;

fn n(v: f64) -> String {
    format!("{v:.2}")
}

/// A chart with its caption; `kind` names it in `data-chart`, `facet` (when one of a
/// small-multiples row) in `data-facet`.
#[component]
pub fn BarChart(
    /// `data-chart` of the figure, e.g. `no_match_rate`.
    kind: &'static str,
    /// Which chart of a small-multiples row of the same `kind` this is, e.g. a channel.
    #[prop(optional, into)]
    facet: Option<String>,
    /// The caption.
    #[prop(into)]
    title: String,
    /// The geometry.
    chart: Chart,
    /// Series names, for the legend (none: no legend).
    series: Vec<String>,
) -> impl IntoView {
    let caption = match &facet {
        Some(f) => format!("chart-{kind}-{}", f.replace(|c: char| !c.is_ascii_alphanumeric(), "-")),
        None => format!("chart-{kind}"),
    };
    let labelled_by = caption.clone();
    let summary = if chart.bars.is_empty() { "No data in this period." } else { "" };
    let table_rows = chart.bars.clone();
    let legend = (!series.is_empty()).then(|| {
        view! {
            <ul class="legend">
                {series.into_iter().enumerate().map(|(i, s)| view! {
                    <li><span class=format!("swatch series-{}", i % 6)></span>{s}</li>
                }).collect_view()}
            </ul>
        }
    });
    view! {
        <figure class="chart" data-chart=kind data-facet=facet aria-labelledby=labelled_by>
            <figcaption id=caption>{title.clone()}</figcaption>
            <svg class="chart-svg" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=title.clone()>
                {chart.ticks.into_iter().map(|(y, label)| view! {
                    <line class="tick" x1=n(LEFT) x2=n(WIDTH) y1=n(y) y2=n(y)></line>
                    <text class="tick-label" x=n(LEFT - 6.0) y=n(y + 4.0) text-anchor="end">{label}</text>
                }).collect_view()}
                {chart.bars.into_iter().map(|b| view! {
                    <rect class=format!("bar series-{}", b.series_index % 6) x=n(b.x) y=n(b.y) width=n(b.width)
                        height=n(b.height) data-group=b.group.clone() data-series=b.series.clone()
                        data-value=b.value.to_string() aria-label=format!("{} {}: {}", b.group, b.series, b.label)>
                    </rect>
                }).collect_view()}
                {chart.groups.into_iter().map(|(x, label)| view! {
                    <text class="group-label" x=n(x) y=n(HEIGHT - BOTTOM + 18.0) text-anchor="middle">{label}</text>
                }).collect_view()}
            </svg>
            {legend}
            <p class="no-data">{summary}</p>
            <table class="visually-hidden">
                <caption>{title}</caption>
                <tbody>
                    {table_rows.into_iter().map(|b| view! {
                        <tr><th scope="row">{format!("{} {}", b.group, b.series)}</th><td>{b.label}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </figure>
    }
}
