//! The analytics dashboard page (`/console/dashboard.html`), behind the admin token: per day
//! and channel, the intent recognition, no-match, handoff and helpful rates and the median
//! resolution time as bar charts; the resolution time distribution as histograms, one for all
//! channels and one per channel, for the period or a chosen day; and the top unmatched
//! utterances, each of which can become a training phrase of a chosen intent in a patch file
//! for `switchboard patch`. The report is `switchboard_dialog::protocol::Report`, the type the
//! edge serves.

pub mod chart;
pub mod histogram;
pub mod patch;
pub mod svg;

use crate::api::{ApiError, Client};
use crate::format;
use crate::session;
use crate::signin::SignIn;
use chart::{Grouped, layout, nice_max};
use leptos::prelude::*;
use leptos::task::spawn_local;
use patch::PatchEntry;
use svg::BarChart;
use switchboard_dialog::protocol::{Figures, Report};
use wasm_bindgen::JsCast;

/// The page.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let token = RwSignal::new(session::load(session::ADMIN_TOKEN));
    let refused = RwSignal::new(None::<String>);
    let sign_in = Callback::new(move |t: String| {
        session::save(session::ADMIN_TOKEN, &t);
        refused.set(None);
        token.set(Some(t));
    });
    let sign_out = Callback::new(move |reason: Option<String>| {
        session::forget(session::ADMIN_TOKEN);
        refused.set(reason);
        token.set(None);
    });
    move || match token.get() {
        None => view! {
            <SignIn title="Analytics dashboard" label="Admin token" error=refused.into() on_token=sign_in />
        }
        .into_any(),
        Some(t) => view! { <Dashboard client=Client::new(t) sign_out=sign_out /> }.into_any(),
    }
}

/// `YYYY-MM-DD` of the UTC day `days` after today (negative: before).
fn utc_day(days: i32) -> String {
    let ms = js_sys::Date::now() + f64::from(days) * 86_400_000.0;
    let iso: String = js_sys::Date::new(&ms.into()).to_iso_string().into();
    iso.chars().take(10).collect()
}

#[component]
fn Dashboard(client: Client, sign_out: Callback<Option<String>>) -> impl IntoView {
    let report = RwSignal::new(None::<Report>);
    let intents = RwSignal::new(Vec::<String>::new());
    let problem = RwSignal::new(None::<String>);
    let period = RwSignal::new((utc_day(-29), utc_day(0)));
    let patch = RwSignal::new(Vec::<PatchEntry>::new());

    let fail = move |e: ApiError| match e {
        ApiError::Unauthorized => sign_out.run(Some("The admin token was refused.".into())),
        e => problem.set(Some(e.describe())),
    };
    let load = {
        let client = client.clone();
        move || {
            let (from, to) = period.get_untracked();
            let client = client.clone();
            spawn_local(async move {
                match client.analytics::<Report>(&from, &to).await {
                    Ok(r) => {
                        problem.set(None);
                        report.set(Some(r));
                    }
                    Err(e) => fail(e),
                }
            });
        }
    };
    load();
    {
        let client = client.clone();
        spawn_local(async move {
            match client.agent_file().await {
                Ok(file) => match patch::intent_names(file.as_deref()) {
                    Some(names) => intents.set(names),
                    None => problem.set(Some("The deployed agent file could not be read for its intents.".into())),
                },
                Err(e) => fail(e),
            }
        });
    }
    let reload = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = |name: &str| field::<web_sys::HtmlInputElement>(&ev, name).map(|i| i.value()).unwrap_or_default();
        period.set((value("from"), value("to")));
        load();
    };

    view! {
        <header class="bar">
            <h1>"Analytics dashboard"</h1>
            <nav><a href="./">"Agent console"</a></nav>
            <p class="problem" role="status">{move || problem.get()}</p>
            <button type="button" class="secondary" on:click=move |_| sign_out.run(None)>"Sign out"</button>
        </header>
        <main class="dashboard">
            <form class="period" on:submit=reload>
                <label for="from">"From"</label>
                <input id="from" name="from" type="date" value=period.get_untracked().0 required />
                <label for="to">"To"</label>
                <input id="to" name="to" type="date" value=period.get_untracked().1 required />
                <button type="submit">"Show"</button>
            </form>
            {move || report.get().map(|r| view! {
                <Totals figures=r.total.clone() />
                <Charts report=r.clone() />
                <Distribution report=r.clone() />
                <Unmatched report=r intents=intents.into() patch=patch />
            })}
            <PatchExport patch=patch />
        </main>
    }
}

/// The period's totals, each with `data-figure` and `data-value`.
#[component]
fn Totals(figures: Figures) -> impl IntoView {
    let f = figures;
    let count = |v: u64| (v.to_string(), v.to_string());
    let rate = |v: Option<f64>| (v.map(|v| v.to_string()).unwrap_or_default(), format::percent(v));
    let rows = [
        ("conversations", "Conversations", count(f.conversations)),
        ("turns", "Turns", count(f.turns)),
        ("handoffs", "Handoffs", count(f.handoffs)),
        ("resolved", "Resolved", count(f.resolved)),
        ("intent_recognition_rate", "Intent recognition", rate(f.intent_recognition_rate)),
        ("no_match_rate", "No match", rate(f.no_match_rate)),
        ("handoff_rate", "Handoff rate", rate(f.handoff_rate)),
        ("helpful_ratio", "Helpful", rate(f.helpful_ratio)),
        (
            "median_resolution_ms",
            "Median resolution",
            (
                f.median_resolution_ms.map(|v| v.to_string()).unwrap_or_default(),
                f.median_resolution_ms.map_or("–".into(), format::duration),
            ),
        ),
    ];
    view! {
        <section aria-labelledby="totals-title">
            <h2 id="totals-title">"The period"</h2>
            <dl class="totals">
                {rows.into_iter().map(|(key, label, (value, shown))| view! {
                    <div class="total">
                        <dt>{label}</dt>
                        <dd data-figure=key data-value=value>{shown}</dd>
                    </div>
                }).collect_view()}
            </dl>
        </section>
    }
}

/// A per-day, per-channel series of one figure.
fn per_channel(report: &Report, figure: impl Fn(&Figures) -> Option<f64>) -> Grouped {
    let series: Vec<String> = report.channels.keys().cloned().collect();
    let groups = report
        .days
        .iter()
        .map(|d| (d.day.clone(), series.iter().map(|s| d.channels.get(s).and_then(&figure)).collect()))
        .collect();
    Grouped { series, groups }
}

#[component]
fn Charts(report: Report) -> impl IntoView {
    let channels: Vec<String> = report.channels.keys().cloned().collect();
    let pct = |v: f64| format::percent(Some(v));
    let rate_chart = |kind: &'static str, title: &'static str, figure: fn(&Figures) -> Option<f64>| {
        let chart = layout(&per_channel(&report, figure), 1.0, pct);
        view! { <BarChart kind=kind title=title chart=chart series=channels.clone() /> }
    };
    let medians = per_channel(&report, |f| f.median_resolution_ms.map(|ms| ms as f64));
    let longest = medians.groups.iter().flat_map(|g| g.1.iter().flatten()).fold(0.0, |a: f64, b| a.max(*b));
    let medians = layout(&medians, nice_max(longest), |ms| format::duration(ms as u64));
    view! {
        <section class="charts" aria-labelledby="charts-title">
            <h2 id="charts-title">"Per day and channel"</h2>
            {rate_chart("intent_recognition_rate", "Intent recognition rate", |f| f.intent_recognition_rate)}
            {rate_chart("no_match_rate", "No-match rate", |f| f.no_match_rate)}
            {rate_chart("handoff_rate", "Handoff rate", |f| f.handoff_rate)}
            {rate_chart("helpful_ratio", "Helpful ratio", |f| f.helpful_ratio)}
            <BarChart kind="median_resolution_ms" title="Median resolution time" chart=medians series=channels.clone() />
        </section>
    }
}

/// The resolution time distribution: a row of histograms (conversations per bin), all channels
/// then each channel, for the whole period or the day chosen; the row carries the day shown in
/// `data-day` (empty: the period).
#[component]
fn Distribution(report: Report) -> impl IntoView {
    let day = RwSignal::new(String::new());
    let days: Vec<String> = report.days.iter().map(|d| d.day.clone()).collect();
    let histograms = move || {
        let chosen = day.get();
        let row = histogram::multiples(&report, Some(chosen.as_str()).filter(|d| !d.is_empty()));
        row.into_iter()
            .map(|m| {
                let title = if m.name == histogram::ALL_CHANNELS { "All channels".to_owned() } else { m.name.clone() };
                view! { <BarChart kind="resolution_distribution" facet=m.name title=title chart=m.chart series=Vec::new() /> }
            })
            .collect_view()
    };
    view! {
        <section class="distribution" aria-labelledby="distribution-title">
            <h2 id="distribution-title">"Resolution time distribution"</h2>
            <p class="hint">"Conversations by the time from their start to their resolution; each chart has its own scale."</p>
            <p>
                <label for="distribution-day">"Day"</label>
                " "
                <select id="distribution-day" on:change=move |ev| day.set(event_target_value(&ev))>
                    <option value="" selected>"All days of the period"</option>
                    {days.into_iter().map(|d| view! { <option value=d.clone()>{d.clone()}</option> }).collect_view()}
                </select>
            </p>
            <div class="charts" data-day=move || day.get()>{histograms}</div>
        </section>
    }
}

/// The top unmatched utterances, each with an intent picker and the phrase to add.
#[component]
fn Unmatched(report: Report, intents: Signal<Vec<String>>, patch: RwSignal<Vec<PatchEntry>>) -> impl IntoView {
    let rows = report.top_unmatched.into_iter().enumerate().map(move |(i, u)| {
        let (intent_id, phrase_id) = (format!("intent-{i}"), format!("phrase-{i}"));
        let add = move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let intent = field::<web_sys::HtmlSelectElement>(&ev, "intent").map(|s| s.value()).unwrap_or_default();
            let phrase = field::<web_sys::HtmlInputElement>(&ev, "phrase").map(|p| p.value()).unwrap_or_default();
            patch.update(|p| {
                patch::add(p, &intent, &phrase);
            });
        };
        view! {
            <li class="unmatched-item" data-text=u.text.clone() data-count=u.count.to_string()>
                <p><q class="utterance">{u.text.clone()}</q> " " <span class="count">{format!("× {}", u.count)}</span></p>
                <form class="to-phrase" on:submit=add>
                    <label for=intent_id.clone()>"Intent"</label>
                    <select id=intent_id name="intent" required>
                        <option value="">"Choose an intent…"</option>
                        {move || intents.get().into_iter().map(|name| view! {
                            <option value=name.clone()>{name.clone()}</option>
                        }).collect_view()}
                    </select>
                    <label for=phrase_id.clone()>"Phrase"</label>
                    <input id=phrase_id name="phrase" type="text" value=u.text.clone() required />
                    <button type="submit">"Add to patch"</button>
                </form>
            </li>
        }
    });
    let rows: Vec<_> = rows.collect();
    let empty = rows.is_empty().then(|| view! { <p class="empty">"Nothing went unmatched in this period."</p> });
    view! {
        <section class="unmatched" aria-labelledby="unmatched-title">
            <h2 id="unmatched-title">"Top unmatched utterances"</h2>
            <p class="hint">"Numbers and e-mail addresses were masked; edit the phrase before adding it."</p>
            <ol class="unmatched-list">{rows}</ol>
            {empty}
        </section>
    }
}

/// The patch so far, and its export.
#[component]
fn PatchExport(patch: RwSignal<Vec<PatchEntry>>) -> impl IntoView {
    let json = move || patch::to_json(&patch.get());
    let download = move |_| {
        let _ = save_file("patch.json", &json());
    };
    view! {
        <section class="patch" aria-labelledby="patch-title">
            <h2 id="patch-title">"Training-phrase patch"</h2>
            <p class="hint">
                "Apply it to the agent file and deploy the result: "
                <code>"switchboard patch agent.json patch.json -o agent.json"</code>
            </p>
            <ul class="patch-entries" aria-live="polite">
                {move || patch.get().into_iter().enumerate().map(|(i, e)| view! {
                    <li data-intent=e.intent.clone() data-phrase=e.phrase.clone()>
                        <span>{format!("{} ← “{}”", e.intent, e.phrase)}</span>
                        <button type="button" class="secondary" on:click=move |_| patch.update(|p| { p.remove(i); })>
                            "Remove"
                        </button>
                    </li>
                }).collect_view()}
            </ul>
            <pre class="patch-json" aria-label="patch.json">{json}</pre>
            <button type="button" class="export" on:click=download disabled=move || patch.with(Vec::is_empty)>
                "Download patch.json"
            </button>
        </section>
    }
}

/// A form control of the submitted form, by name.
fn field<T: JsCast>(ev: &leptos::ev::SubmitEvent, name: &str) -> Option<T> {
    let form: web_sys::HtmlFormElement = ev.target()?.dyn_into().ok()?;
    form.elements().named_item(name)?.dyn_into().ok()
}

/// Offers `text` as a file download.
fn save_file(name: &str, text: &str) -> Result<(), wasm_bindgen::JsValue> {
    let parts = js_sys::Array::of1(&text.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/json");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let link: web_sys::HtmlAnchorElement = document.create_element("a")?.dyn_into()?;
    link.set_href(&url);
    link.set_download(name);
    link.click();
    web_sys::Url::revoke_object_url(&url)
}
