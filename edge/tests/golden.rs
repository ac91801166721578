//! Runs every transcript in `tests/conversations/` against the demo agent.
// Tests may panic: a panic here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use switchboard_dialog::agent::Agent;
use switchboard_edge::golden;

#[test]
fn golden_conversations_pass() {
    let agent = Agent::from_json(include_str!("../agents/retail-demo.json")).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conversations");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 4, "transcripts found: {files:?}");
    let mut report = String::new();
    for file in &files {
        for failure in golden::run(&agent, &std::fs::read_to_string(file).unwrap()) {
            report.push_str(&format!("{}:{}: {}\n", file.display(), failure.line, failure.message));
        }
    }
    assert!(report.is_empty(), "golden conversations failed:\n{report}");
}

#[test]
fn a_wrong_expectation_is_reported_with_its_line() {
    let agent = Agent::from_json(include_str!("../agents/retail-demo.json")).unwrap();
    let failures = golden::run(&agent, "# x\n> Where is my order?\n< What is your order number?\n< And more?\n");
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert_eq!(failures[0].line, 3);
    assert!(failures[0].message.contains("Can you provide your order number?"));
    assert_eq!(failures[1].line, 4);
    let bad = golden::run(&agent, "user: hi\n");
    assert_eq!(bad[0].line, 1);
}
