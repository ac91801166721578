//! Training-phrase patches: unmatched utterances turned into phrases of chosen intents,
//! exported as the JSON file `switchboard patch` applies to an agent file
//! (`[{"intent": "...", "phrase": "..."}]`), and the deployed agent's intent names to choose from.

use serde::{Deserialize, Serialize};

/// The built-in demo agent, the one that answers while none was uploaded: the same file the
/// worker embeds.
const BUILTIN_AGENT: &str = include_str!("../../../../edge/agents/retail-demo.json");

/// One training phrase to add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchEntry {
    /// The intent's name.
    pub intent: String,
    /// The phrase.
    pub phrase: String,
}

/// Adds an entry unless the same phrase is already there for the intent; whether it was added.
pub fn add(patch: &mut Vec<PatchEntry>, intent: &str, phrase: &str) -> bool {
    let phrase = phrase.split_whitespace().collect::<Vec<_>>().join(" ");
    if intent.is_empty() || phrase.is_empty() || patch.iter().any(|e| e.intent == intent && e.phrase == phrase) {
        return false;
    }
    patch.push(PatchEntry { intent: intent.to_owned(), phrase });
    true
}

/// The patch file's text.
pub fn to_json(patch: &[PatchEntry]) -> String {
    serde_json::to_string_pretty(patch).expect("strings serialise")
}

#[derive(Deserialize)]
struct Names {
    intents: Vec<Named>,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

/// The intent names of an agent file (JSON or YAML, as uploaded); of the built-in agent when
/// `file` is `None`. `None` when the text cannot be read as an agent.
pub fn intent_names(file: Option<&str>) -> Option<Vec<String>> {
    let text = file.unwrap_or(BUILTIN_AGENT);
    let names: Names = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).ok()?
    } else {
        serde_saphyr::from_str(text).ok()?
    };
    let mut names: Vec<String> = names.intents.into_iter().map(|i| i.name).collect();
    names.sort();
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_collects_distinct_phrases_as_the_cli_reads_them() {
        let mut patch = Vec::new();
        assert!(add(&mut patch, "CheckOrderStatus", "  where's   my parcel "));
        assert!(!add(&mut patch, "CheckOrderStatus", "where's my parcel"), "the same phrase once");
        assert!(add(&mut patch, "TalkToHuman", "where's my parcel"));
        assert!(!add(&mut patch, "", "no intent chosen"));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&to_json(&patch)).unwrap(),
            serde_json::json!([
                {"intent": "CheckOrderStatus", "phrase": "where's my parcel"},
                {"intent": "TalkToHuman", "phrase": "where's my parcel"}
            ])
        );
    }

    #[test]
    fn intent_names_come_from_json_yaml_or_the_builtin_agent() {
        let builtin = intent_names(None).unwrap();
        assert!(builtin.contains(&"CheckOrderStatus".to_owned()) && builtin.contains(&"TalkToHuman".to_owned()));
        let yaml = "name: Shop\nintents:\n  - name: Returns\n    training_phrases: [return this]\n  - name: Hours\n    training_phrases: [when are you open]\n";
        assert_eq!(intent_names(Some(yaml)).unwrap(), ["Hours", "Returns"]);
        assert_eq!(intent_names(Some(r#"{"intents": [{"name": "A"}]}"#)).unwrap(), ["A"]);
        assert_eq!(intent_names(Some("not: [an agent")), None);
    }
}
