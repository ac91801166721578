//! The analytics dashboard at `/console/dashboard.html` against a scripted set of
//! conversations on the web and on WhatsApp: every figure it draws (the totals, each bar of
//! each chart, each bin of the resolution time histograms of all channels and of each channel,
//! for the period and for the day, the top unmatched utterances) is the expected one, read from
//! the page's DOM; two unmatched utterances become a training-phrase patch, which
//! `switchboard patch` applies to the demo agent.

use fantoccini::Locator;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use switchboard_e2e::browser::Browser;
use switchboard_e2e::fake_api::FakeApi;
use switchboard_e2e::http::{get, post};
use switchboard_e2e::stack::{ADMIN_TOKEN, Stack};
use switchboard_e2e::{root, wait_for};

const WAIT: Duration = Duration::from_secs(20);
const APP_SECRET: &str = "e2e-meta-app-secret";

/// A new visitor's web conversation through the API: its id and token.
async fn open(stack: &Stack) -> (String, String) {
    let body = json!({"channel": "web"}).to_string();
    let (status, json) = post(&stack.url("/v1/conversations"), &body, None).await.expect("POST conversations");
    assert_eq!(status, 201, "{json}");
    (json["conversation_id"].as_str().unwrap().into(), json["token"].as_str().unwrap().into())
}

async fn vote(stack: &Stack, (id, token): &(String, String), helpful: bool) {
    let url = stack.url(&format!("/v1/conversations/{id}/feedback"));
    let (status, json) = post(&url, &json!({"helpful": helpful}).to_string(), Some(token)).await.expect("feedback");
    assert_eq!(status, 204, "{json}");
}

/// A WhatsApp text from `phone`, signed as Meta signs deliveries.
async fn whatsapp(stack: &Stack, phone: &str, id: &str, text: &str) {
    let status = switchboard_e2e::fake_api::whatsapp_text(
        &stack.url("/channels/whatsapp"),
        APP_SECRET,
        phone,
        "Customer",
        id,
        text,
    )
    .await;
    assert_eq!(status, 200, "{}", stack.log());
}

/// The scripted period. Web: 4 conversations, 7 turns (3 matched, 3 unmatched, 1 answer to a
/// prompt), 1 handoff, 2 resolved, votes 2 of 3 helpful. WhatsApp: 2 conversations, 3 turns
/// (all matched), 1 handoff, 1 resolved, no votes.
async fn script(stack: &Stack) {
    let a = open(stack).await;
    stack.say(&a.0, &a.1, "Where is my order?").await;
    stack.say(&a.0, &a.1, "123456").await;
    vote(stack, &a, true).await;
    let url = stack.url(&format!("/v1/conversations/{}/end", a.0));
    assert_eq!(post(&url, "", Some(&a.1)).await.expect("end").0, 204);

    let b = open(stack).await;
    stack.say(&b.0, &b.1, "the weather on mars is cold").await;
    stack.say(&b.0, &b.1, "purple elephants dance").await;
    vote(stack, &b, false).await;

    let c = open(stack).await;
    stack.say(&c.0, &c.1, "I want to speak to a person").await;

    let d = open(stack).await;
    stack.say(&d.0, &d.1, "The weather on Mars is cold").await;
    vote(stack, &d, true).await;
    stack.say(&d.0, &d.1, "Goodbye").await;

    whatsapp(stack, "15550000001", "wamid.e1", "I want to speak to a person").await;
    whatsapp(stack, "15550000002", "wamid.f1", "Hello").await;
    whatsapp(stack, "15550000002", "wamid.f2", "Goodbye").await;
}

/// Figures as the scripted period must show them: `(figure, channel or "total") → value`.
fn expected() -> BTreeMap<(&'static str, &'static str), Value> {
    let mut e = BTreeMap::new();
    for (channel, figures) in [
        ("web", [json!(0.5), json!(0.4286), json!(0.25), json!(0.6667)]),
        ("whatsapp", [json!(1.0), json!(0.0), json!(0.5), Value::Null]),
        ("total", [json!(0.6667), json!(0.3), json!(0.3333), json!(0.6667)]),
    ] {
        for (name, value) in
            ["intent_recognition_rate", "no_match_rate", "handoff_rate", "helpful_ratio"].iter().zip(figures)
        {
            e.insert((*name, channel), value);
        }
    }
    for (name, value) in [("conversations", 6), ("turns", 10), ("handoffs", 2), ("resolved", 3)] {
        e.insert((name, "total"), json!(value));
    }
    e
}

/// The resolution time histograms' bins, as labelled on the page (`RESOLUTION_BINS`).
const BINS: [&str; 6] = ["< 1 min", "1–5 min", "5–15 min", "15–60 min", "1–4 h", "≥ 4 h"];

/// The resolution time histograms of the scripted period (and of its only day), per bin: every
/// resolution took less than a minute (web: the ended one and the goodbye; WhatsApp: the goodbye).
const HISTOGRAMS: [(&str, [u64; 6]); 3] =
    [("all channels", [3, 0, 0, 0, 0, 0]), ("web", [2, 0, 0, 0, 0, 0]), ("whatsapp", [1, 0, 0, 0, 0, 0])];

/// [`HISTOGRAMS`] as drawn: `(series, bin) → count`.
fn expected_histograms() -> BTreeMap<(String, String), f64> {
    let bars = HISTOGRAMS.iter().flat_map(|(series, counts)| {
        BINS.iter().zip(counts).map(|(bin, n)| (((*series).to_owned(), (*bin).to_owned()), *n as f64))
    });
    bars.collect()
}

/// The bars of the resolution time histograms: `(series, bin) → count`.
fn histograms(drawn: &BTreeMap<(String, String, String), f64>) -> BTreeMap<(String, String), f64> {
    let bars = drawn.iter().filter(|((chart, _, _), _)| chart == "resolution_distribution");
    bars.map(|((_, bin, series), n)| ((series.clone(), bin.clone()), *n)).collect()
}

async fn report(stack: &Stack) -> Value {
    // Analytics is written after each answer: wait until the last turn is in.
    wait_for("the scripted period in the analytics", WAIT, || async {
        let (_, report) = get(&stack.url("/v1/analytics"), Some(ADMIN_TOKEN)).await.ok()?;
        Some(report).filter(|r| r["total"]["turns"] == 10 && r["total"]["resolved"] == 3 && r["total"]["feedback"] == 3)
    })
    .await
}

/// The worker, its WhatsApp replies going to a fake Graph API on loopback.
async fn start() -> (Stack, FakeApi) {
    let graph = FakeApi::start().await;
    let graph_url = graph.base.clone();
    let vars =
        [("META_APP_SECRET", APP_SECRET), ("WHATSAPP_TOKEN", "e2e-whatsapp-token"), ("GRAPH_API_URL", &graph_url)];
    (Stack::start_with(None, &vars).await, graph)
}

async fn sign_in(browser: &Browser, stack: &Stack) {
    browser.client.goto(&stack.url("/console/dashboard.html")).await.expect("the dashboard loads");
    let field =
        wait_for("the sign-in form", WAIT, || async { browser.client.find(Locator::Id("token")).await.ok() }).await;
    field.send_keys(&format!("{ADMIN_TOKEN}\u{E007}")).await.expect("typing the token");
    wait_for("the charts", WAIT, || async {
        browser.client.find(Locator::Css("figure[data-chart='resolution_distribution']")).await.ok()
    })
    .await;
}

/// Every bar of every chart: `(chart, group, series) → value`.
async fn bars(browser: &Browser) -> BTreeMap<(String, String, String), f64> {
    let value = browser
        .eval(
            "return [...document.querySelectorAll('figure[data-chart] rect.bar')].map(r =>
                 [r.closest('figure').dataset.chart, r.dataset.group, r.dataset.series, Number(r.dataset.value)]);",
        )
        .await;
    let rows: Vec<(String, String, String, f64)> = serde_json::from_value(value).expect("bars");
    rows.into_iter().map(|(c, g, s, v)| ((c, g, s), v)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_draws_the_figures_of_a_scripted_period() {
    let (stack, _graph) = start().await;
    script(&stack).await;
    let api = report(&stack).await;
    let day = api["days"][0]["day"].as_str().expect("a day").to_owned();
    assert_eq!(api["days"].as_array().unwrap().len(), 1, "{api}");

    // The API agrees with the script first, so a failure below is the dashboard's.
    let expected = expected();
    for ((figure, channel), value) in &expected {
        let actual = match *channel {
            "total" => &api["total"][figure],
            channel => &api["days"][0]["channels"][channel][figure],
        };
        assert_eq!(actual, value, "API {figure} of {channel}: {api}");
    }
    for (channel, counts) in HISTOGRAMS {
        let (period, of_day) = match channel {
            "all channels" => (&api["total"], &api["days"][0]["total"]),
            channel => (&api["channels"][channel], &api["days"][0]["channels"][channel]),
        };
        assert_eq!(period["resolution_histogram"], json!(counts), "API histogram of {channel}: {api}");
        assert_eq!(of_day["resolution_histogram"], json!(counts), "API histogram of {channel} on {day}: {api}");
    }

    let browser = Browser::start().await;
    sign_in(&browser, &stack).await;

    // The totals.
    let totals: BTreeMap<String, String> = serde_json::from_value(
        browser
            .eval(
                "return Object.fromEntries([...document.querySelectorAll('[data-figure]')]
                     .map(d => [d.dataset.figure, d.dataset.value]));",
            )
            .await,
    )
    .unwrap();
    for ((figure, channel), value) in expected.iter().filter(|((_, c), _)| *c == "total") {
        let shown: f64 = totals[*figure].parse().unwrap_or_else(|_| panic!("{figure} {channel}: {totals:?}"));
        assert_eq!(shown, value.as_f64().unwrap(), "total {figure}");
    }
    assert_eq!(totals["median_resolution_ms"], api["total"]["median_resolution_ms"].to_string());

    // Each bar of each rate chart, per day and channel; no bar where a rate is undefined.
    let drawn = bars(&browser).await;
    let is_rate = |figure: &str| figure.ends_with("rate") || figure.ends_with("ratio");
    for ((figure, channel), value) in expected.iter().filter(|((f, c), _)| *c != "total" && is_rate(f)) {
        let key = ((*figure).to_owned(), day.clone(), (*channel).to_owned());
        assert_eq!(drawn.get(&key).copied(), value.as_f64(), "{figure} bar of {channel} on {day}");
    }
    let rate_bars = drawn.keys().filter(|(chart, _, _)| is_rate(chart)).count();
    assert_eq!(rate_bars, 7, "4 charts × 2 channels, but WhatsApp had no votes");

    // Median resolution per channel, as the API computed it from the wall clock.
    for channel in ["web", "whatsapp"] {
        let key = ("median_resolution_ms".to_owned(), day.clone(), channel.to_owned());
        let median = api["days"][0]["channels"][channel]["median_resolution_ms"].as_f64().expect("a median");
        assert_eq!(drawn.get(&key).copied(), Some(median), "median resolution of {channel}");
    }
    // The resolution time histograms of the period, all channels then each channel: every bin.
    let facets = browser
        .eval("return [...document.querySelectorAll('figure[data-chart=resolution_distribution]')].map(f => f.dataset.facet);")
        .await;
    assert_eq!(facets, json!(["all channels", "web", "whatsapp"]));
    assert_eq!(histograms(&drawn), expected_histograms(), "the period's histograms");
    // The same for the day, chosen in the histograms' day picker.
    let picker = browser.client.find(Locator::Id("distribution-day")).await.expect("the day picker");
    picker.select_by_value(&day).await.expect("the scripted day");
    let shown = format!("[data-day='{day}'] figure[data-chart=resolution_distribution]");
    wait_for("the day's histograms", WAIT, || async { browser.client.find(Locator::Css(&shown)).await.ok() }).await;
    assert_eq!(histograms(&bars(&browser).await), expected_histograms(), "the histograms of {day}");

    // The top unmatched utterances, masked and counted, most first.
    let unmatched = browser
        .eval("return [...document.querySelectorAll('.unmatched-item')].map(li => [li.dataset.text, Number(li.dataset.count)]);")
        .await;
    assert_eq!(unmatched, json!([["the weather on mars is cold", 2], ["purple elephants dance", 1]]));

    // Two of them become training phrases of intents of the deployed (built-in) agent.
    let options = browser.eval("return document.querySelectorAll('#intent-0 option').length;").await;
    assert_eq!(options, 12, "a placeholder and the demo agent's 11 intents");
    add_to_patch(&browser, 0, "BrowseLamps", None).await;
    add_to_patch(&browser, 1, "TalkToHuman", Some("purple elephants, put me through to a person")).await;
    let text = wait_for("the patch", WAIT, || async {
        let text = browser.eval("return document.querySelector('.patch-json').textContent;").await;
        Some(text.as_str().unwrap_or_default().to_owned()).filter(|t| t.contains("TalkToHuman"))
    })
    .await;
    let patch: Value = serde_json::from_str(&text).expect("the patch is JSON");
    assert_eq!(
        patch,
        json!([
            {"intent": "BrowseLamps", "phrase": "the weather on mars is cold"},
            {"intent": "TalkToHuman", "phrase": "purple elephants, put me through to a person"}
        ])
    );

    // The CLI applies the export to the agent file, and the result validates.
    let dir = tempfile::tempdir().unwrap();
    let (patch_file, out) = (dir.path().join("patch.json"), dir.path().join("agent.json"));
    std::fs::write(&patch_file, &text).unwrap();
    let output = std::process::Command::new("cargo")
        .current_dir(root())
        .args(["run", "--quiet", "--package", "switchboard-cli", "--", "patch", "edge/agents/retail-demo.json"])
        .arg(&patch_file)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("cargo runs the CLI");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{printed}{}", String::from_utf8_lossy(&output.stderr));
    assert!(printed.contains("added     \"purple elephants, put me through to a person\" to TalkToHuman"), "{printed}");
    let _ = browser.client.clone().close().await;
}

/// Picks `intent` for the `i`-th unmatched utterance, optionally rewrites the phrase, and adds it.
async fn add_to_patch(browser: &Browser, i: usize, intent: &str, phrase: Option<&str>) {
    let select = browser.client.find(Locator::Id(&format!("intent-{i}"))).await.expect("the intent picker");
    select.select_by_value(intent).await.expect("an intent of the agent");
    if let Some(phrase) = phrase {
        let field = browser.client.find(Locator::Id(&format!("phrase-{i}"))).await.expect("the phrase");
        field.clear().await.expect("clear");
        field.send_keys(phrase).await.expect("typing");
    }
    let form = select.find(Locator::XPath("ancestor::form")).await.expect("its form");
    form.find(Locator::Css("button[type=submit]")).await.expect("the add button").click().await.expect("click");
}

/// The dashboard for the README and docs/console.md, written to `docs/screenshots/dashboard.png`
/// (nothing is compared): `cargo test -p switchboard-e2e --test dashboard -- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes docs/screenshots/; run with --ignored"]
async fn screenshot_of_the_dashboard() {
    let (stack, _graph) = start().await;
    script(&stack).await;
    report(&stack).await;
    let browser = Browser::start().await;
    browser.client.set_window_size(1280, 2700).await.expect("a tall window");
    sign_in(&browser, &stack).await;
    add_to_patch(&browser, 1, "TalkToHuman", Some("purple elephants, put me through to a person")).await;
    wait_for("the patch entry", WAIT, || async { browser.client.find(Locator::Css(".patch-entries li")).await.ok() })
        .await;
    browser.eval("document.activeElement?.blur(); return true;").await;
    let png = browser.client.screenshot().await.expect("a screenshot");
    std::fs::write(root().join("docs/screenshots/dashboard.png"), png).expect("write the screenshot");
    let _ = browser.client.clone().close().await;
}
