//! Criterion benches of the engine's hot path on the demo agent the worker ships
//! (`edge/agents/retail-demo.json`): classifying one utterance, whole turns through
//! [`dialog::step`], and loading the agent (what the worker does once per isolate).
//!
//! ```sh
//! cargo bench -p switchboard-dialog --bench engine
//! ```
//!
//! The CLINC150-scale figures (151 classes, natively and in wasm) come from `cargo xtask eval`.

// A bench, like a test, may stop at the first surprise: the engine's no-panic lints are for
// library code.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use switchboard_dialog::agent::Agent;
use switchboard_dialog::dialog::{self, DialogState, Effect, UserInput};

const DEMO_AGENT: &str = include_str!("../../edge/agents/retail-demo.json");

fn demo_agent() -> Agent {
    Agent::from_json(DEMO_AGENT).expect("the demo agent is valid")
}

fn classify(c: &mut Criterion) {
    let agent = demo_agent();
    let classifier = agent.classifier();
    c.bench_function("classify/retail-demo", |b| {
        b.iter(|| classifier.classify(black_box("Where is my order 123456?")))
    });
}

fn step(c: &mut Criterion) {
    let agent = demo_agent();
    let fresh = DialogState::default();

    // Every stage of a turn at once: the intent matches, its parameter is filled from the same
    // sentence, and the webhook is asked for. Checked first, so the bench measures that path.
    let order = UserInput::text("Where is my order 123456?");
    let turn = dialog::step(&agent, &fresh, &order);
    assert!(turn.effects.iter().any(|e| matches!(e, Effect::CallWebhook { .. })), "expected a webhook call: {turn:?}");
    c.bench_function("step/order-with-number", |b| {
        b.iter(|| dialog::step(&agent, black_box(&fresh), black_box(&order)))
    });

    // Slot filling: the answer to a prompt is taken as the awaited parameter.
    let prompted = dialog::step(&agent, &fresh, &UserInput::text("Where is my order?")).state;
    let answer = UserInput::text("123456");
    let turn = dialog::step(&agent, &prompted, &answer);
    assert!(turn.effects.iter().any(|e| matches!(e, Effect::CallWebhook { .. })), "expected a webhook call: {turn:?}");
    c.bench_function("step/answer-to-prompt", |b| {
        b.iter(|| dialog::step(&agent, black_box(&prompted), black_box(&answer)))
    });
}

fn load(c: &mut Criterion) {
    // Parse, validate and train: the worker's start-up cost when no model file is shipped.
    c.bench_function("agent/from-json-and-train", |b| b.iter(|| Agent::from_json(black_box(DEMO_AGENT))));
}

criterion_group!(benches, classify, step, load);
criterion_main!(benches);
