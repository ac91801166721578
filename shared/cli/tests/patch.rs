//! `switchboard patch` as an agent author runs it on the dashboard's export: new training
//! phrases land in a JSON or YAML agent file with everything else as it was, the result
//! validates, and a patch that would break the agent writes nothing and says where.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn switchboard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .expect("the CLI runs")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("switchboard-patch-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

#[test]
fn the_dashboards_patch_adds_phrases_to_the_demo_agent() {
    let dir = dir("json");
    let (patch, out) = (dir.join("patch.json"), dir.join("agent.json"));
    let original = std::fs::read_to_string("../../edge/agents/retail-demo.json").expect("the demo agent");
    std::fs::write(
        &patch,
        r#"[
  {"intent": "CheckOrderStatus", "phrase": "where's my parcel"},
  {"intent": "TalkToHuman", "phrase": "can a real person call me"},
  {"intent": "CheckOrderStatus", "phrase": " where is MY order "}
]"#,
    )
    .unwrap();
    let before = stdout(&switchboard(&["validate", "edge/agents/retail-demo.json"]));
    let printed = stdout(&switchboard(&["patch", "edge/agents/retail-demo.json", s(&patch), "-o", s(&out)]));
    assert!(printed.contains("added     \"where's my parcel\" to CheckOrderStatus"), "{printed}");
    assert!(printed.contains("added     \"can a real person call me\" to TalkToHuman"), "{printed}");
    assert!(
        printed.contains("skipped   \" where is MY order \": already a training phrase of CheckOrderStatus"),
        "{printed}"
    );

    // The result validates with two more phrases, and the file is otherwise as it was.
    let count = |text: &str| -> usize {
        let at = text.find(" training phrases").expect("a phrase count");
        text[..at].rsplit(' ').next().unwrap().parse().unwrap()
    };
    let after = stdout(&switchboard(&["validate", s(&out)]));
    assert_eq!(count(&after), count(&before) + 2, "{before} → {after}");
    let patched = std::fs::read_to_string(&out).unwrap();
    let json: serde_json::Value = serde_json::from_str(&patched).unwrap();
    let phrases = |intent: &str| -> Vec<String> {
        let intent = json["intents"].as_array().unwrap().iter().find(|i| i["name"] == intent).unwrap();
        serde_json::from_value(intent["training_phrases"].clone()).unwrap()
    };
    assert_eq!(phrases("CheckOrderStatus").last().unwrap(), "where's my parcel");
    assert_eq!(phrases("TalkToHuman").last().unwrap(), "can a real person call me");
    let unpatched =
        patched.replace(",\n        \"where's my parcel\"", "").replace(",\n        \"can a real person call me\"", "");
    assert_eq!(unpatched, original, "only the two phrases were inserted, in the file's own layout");
    assert_eq!(std::fs::read_to_string("../../edge/agents/retail-demo.json").unwrap(), original, "-o leaves the input");
}

const YAML_AGENT: &str = "\
# The shop's agent.
name: Shop
fallback: [Sorry?]
webhook_error: [Oops.]
intents:
  - name: Hours
    training_phrases:
      - when are you open
      - opening hours   # the usual
    responses: [We open at 9.]
  - name: Greet
    parameters:
      - { name: who, entity: '@sys.any' }
    training_phrases: [hello, 'hi, I am [Ann](who)']
    responses: [Hello!]
";

#[test]
fn a_yaml_agent_is_patched_in_place_and_a_breaking_patch_writes_nothing() {
    let dir = dir("yaml");
    let (agent, patch) = (dir.join("agent.yaml"), dir.join("patch.json"));
    std::fs::write(&agent, YAML_AGENT).unwrap();
    std::fs::write(
        &patch,
        r#"[{"intent": "Hours", "phrase": "are you open on sunday"}, {"intent": "Greet", "phrase": "good morning"}]"#,
    )
    .unwrap();
    let printed = stdout(&switchboard(&["patch", s(&agent), s(&patch)]));
    assert!(printed.ends_with("ok (2 intents, 6 training phrases)\n"), "{printed}");
    assert_eq!(
        std::fs::read_to_string(&agent).unwrap(),
        YAML_AGENT
            .replace(
                "opening hours   # the usual\n",
                "opening hours   # the usual\n      - \"are you open on sunday\"\n"
            )
            .replace("'hi, I am [Ann](who)']", "'hi, I am [Ann](who)', \"good morning\"]")
    );

    // An annotation naming a parameter the intent lacks: refused with the field, file untouched.
    let written = std::fs::read_to_string(&agent).unwrap();
    std::fs::write(&patch, r#"[{"intent": "Hours", "phrase": "open for [Bob](visitor)?"}]"#).unwrap();
    let refused = switchboard(&["patch", s(&agent), s(&patch)]);
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(error.contains("nothing was written"), "{error}");
    assert!(error.contains("intents[0].training_phrases[3]: annotation names unknown parameter 'visitor'"), "{error}");
    assert_eq!(std::fs::read_to_string(&agent).unwrap(), written);

    // An intent the agent does not have is named with the ones it has.
    std::fs::write(&patch, r#"[{"intent": "Returns", "phrase": "I want a refund"}]"#).unwrap();
    let error = String::from_utf8_lossy(&switchboard(&["patch", s(&agent), s(&patch)]).stderr).into_owned();
    assert!(error.contains("unknown intent 'Returns'; expected one of Hours, Greet"), "{error}");
}
