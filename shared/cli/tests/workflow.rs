//! The CLI's whole workflow, as a user runs it: import (Dialogflow CX intents, Rasa NLU),
//! validate, train, cross-validate, chat, golden conversations, on imported agents and on the
//! demo agent.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn switchboard(args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the CLI starts");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("input");
    child.wait_with_output().expect("the CLI ends")
}

fn ok(args: &[&str]) -> String {
    let output = switchboard(args, "");
    assert!(output.status.success(), "switchboard {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8")
}

#[test]
fn an_agent_imported_from_dialogflow_cx_validates_trains_tests_and_chats() {
    let dir = tempfile_dir("cx");
    let agent = dir.join("agent.json");
    let model = dir.join("agent.model");
    let misclassified = dir.join("misclassified.json");
    let (agent, model, misclassified) =
        (agent.to_str().unwrap(), model.to_str().unwrap(), misclassified.to_str().unwrap());
    let imported = ok(&[
        "import",
        "cx",
        "shared/cli/tests/fixtures/cx/check-order-status.json",
        "shared/cli/tests/fixtures/cx/opening-hours.json",
        "--webhook",
        "builtin:demo-orders",
        "-o",
        agent,
    ]);
    assert!(imported.contains("written from 2 file(s)"), "{imported}");
    assert!(ok(&["validate", agent]).contains("ok (2 intents, 11 training phrases, 1 webhooks)"));
    assert!(ok(&["train", agent, "-o", model]).contains("2 intents, 11 phrases"));
    let report = ok(&["test", agent, "--folds", "3", "--misclassified", misclassified]);
    assert!(report.contains("CheckOrderStatus") && report.contains("OpeningHours"), "{report}");
    let errors: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(misclassified).unwrap()).unwrap();
    assert!(errors.is_array(), "{errors}");
    // The imported intent asks for its parameter and calls its webhook (the demo order system).
    let chat = switchboard(&["chat", agent], "where is my order\n123456\n");
    let transcript = String::from_utf8_lossy(&chat.stdout);
    assert!(transcript.contains("bot> Can you provide your order number?"), "{transcript}");
    assert!(transcript.contains("bot> Your order 123456 is out for delivery"), "{transcript}");
}

#[test]
fn an_agent_imported_from_rasa_keeps_entities_synonyms_and_regexes() {
    let dir = tempfile_dir("rasa");
    let agent = dir.join("agent.json");
    let agent = agent.to_str().unwrap();
    ok(&[
        "import",
        "rasa",
        "shared/cli/tests/fixtures/rasa/nlu.yml",
        "--webhook",
        "http://127.0.0.1:9/hook",
        "-o",
        agent,
    ]);
    assert!(ok(&["validate", agent]).contains("ok (3 intents"));
    let report = ok(&["test", agent, "--folds", "2"]);
    assert!(report.contains("book_service"), "{report}");
    let state = switchboard(&["chat", agent, "--offline"], "I need a fix for my lamp\n/state\n");
    let out = String::from_utf8_lossy(&state.stdout);
    assert!(out.contains("\"service\""), "the synonym resolved into the parameter: {out}");
    assert!(out.contains("\"repair\""), "{out}");
}

#[test]
fn the_demo_agent_passes_its_golden_conversations_and_a_broken_file_names_line_and_field() {
    let golden = ok(&["test-conversations", "edge/tests/conversations", "--agent", "edge/agents/retail-demo.json"]);
    assert!(golden.contains(" passed, 0 failed"), "{golden}");
    let dir = tempfile_dir("broken");
    let broken = dir.join("broken.yaml");
    std::fs::write(
        &broken,
        "name: x\nfallback: ['?']\nwebhook_error: ['!']\nintents:\n  - name: A\n    training_phrase: [hi]\n",
    )
    .unwrap();
    let output = switchboard(&["validate", broken.to_str().unwrap()], "");
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("broken.yaml") && error.contains("training_phrase") && error.contains("line 6"), "{error}");
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("switchboard-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
