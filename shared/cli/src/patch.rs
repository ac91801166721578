//! `switchboard patch`: training phrases added to an agent file from a patch file, as the
//! analytics dashboard exports it (`[{"intent": "TrackOrder", "phrase": "where's my parcel"}]`).
//!
//! The file is edited as text, so its formatting, key order and comments stay as they were:
//! each new phrase goes after its intent's last training phrase, written the way that list is
//! written (a JSON or YAML flow list `[…]`, or a YAML block list of `- item` lines). Where the
//! phrases are is read with `serde-saphyr`'s source spans (JSON is YAML here). The caller
//! validates the result as `switchboard validate` does before writing it.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_saphyr::Spanned;

/// One line of a patch file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPhrase {
    /// The intent's name.
    pub intent: String,
    /// The training phrase to add.
    pub phrase: String,
}

/// Reads a patch file: a JSON list of `{"intent", "phrase"}`.
pub fn read_patch(text: &str) -> Result<Vec<NewPhrase>> {
    let patch: Vec<NewPhrase> = serde_json::from_str(text).context(
        "a patch file is a JSON list like [{\"intent\": \"CheckOrderStatus\", \"phrase\": \"where's my parcel\"}]",
    )?;
    for (i, p) in patch.iter().enumerate() {
        if p.phrase.trim().is_empty() || p.intent.trim().is_empty() {
            bail!("patch entry {i}: intent and phrase must not be empty");
        }
    }
    Ok(patch)
}

/// What applying a patch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patched {
    /// The agent file's new text.
    pub text: String,
    /// Phrases added.
    pub added: Vec<NewPhrase>,
    /// Phrases the intent already had (compared without case and surrounding space).
    pub skipped: Vec<NewPhrase>,
}

#[derive(Deserialize)]
struct Agent {
    intents: Vec<Intent>,
}

#[derive(Deserialize)]
struct Intent {
    name: String,
    training_phrases: Vec<Spanned<String>>,
}

/// Adds the phrases of `patch` to the agent file `text` (JSON or YAML).
pub fn apply(text: &str, patch: &[NewPhrase]) -> Result<Patched> {
    let agent: Agent = serde_saphyr::from_str(text).map_err(|e| {
        anyhow::anyhow!("cannot read the agent file's intents: {}", e.to_string().lines().next().unwrap_or_default())
    })?;
    let same = |a: &str, b: &str| a.trim().to_lowercase() == b.trim().to_lowercase();
    let mut added = Vec::new();
    let mut skipped = Vec::new();
    // Per intent (by index): the new phrases, in patch order.
    let mut new: Vec<Vec<&str>> = vec![Vec::new(); agent.intents.len()];
    for entry in patch {
        let Some(at) = agent.intents.iter().position(|i| i.name == entry.intent) else {
            let names: Vec<&str> = agent.intents.iter().map(|i| i.name.as_str()).collect();
            bail!("unknown intent '{}'; expected one of {}", entry.intent, names.join(", "));
        };
        let known = agent.intents[at].training_phrases.iter().any(|p| same(&p.value, &entry.phrase))
            || new[at].iter().any(|p| same(p, &entry.phrase));
        if known {
            skipped.push(entry.clone());
        } else {
            new[at].push(entry.phrase.trim());
            added.push(entry.clone());
        }
    }
    let mut insertions = Vec::new();
    for (intent, phrases) in agent.intents.iter().zip(&new).filter(|(_, p)| !p.is_empty()) {
        let last = intent.training_phrases.last().with_context(|| {
            format!("intent '{}' has no training phrases to add to; add one by hand first", intent.name)
        })?;
        insertions.push(insertion(text, last, phrases).with_context(|| format!("intent '{}'", intent.name))?);
    }
    // From the end of the file backwards, so earlier offsets stay valid.
    insertions.sort_by_key(|(offset, _)| std::cmp::Reverse(*offset));
    let mut text = text.to_owned();
    for (offset, inserted) in insertions {
        text.insert_str(offset, &inserted);
    }
    Ok(Patched { text, added, skipped })
}

/// Where and what to insert so that `phrases` follow the list item `last`.
fn insertion(text: &str, last: &Spanned<String>, phrases: &[&str]) -> Result<(usize, String)> {
    let span = last.referenced.span();
    let (start, len) = span.byte_offset().zip(span.byte_len()).context("no source position for a phrase")?;
    let (start, end) = (start as usize, (start + len) as usize);
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let prefix = &text[line_start..start];
    let before = text[..start].trim_end().chars().last();
    let quoted: Vec<String> = phrases.iter().map(|p| serde_json::to_string(p).expect("a string")).collect();
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
    let each = |separator: &str| quoted.iter().map(|q| format!("{separator}{q}")).collect::<String>();
    Ok(match before {
        // A block list: `- item` lines, each new one like the last, after its comment if any.
        Some('-') => (line_end, each(&format!("\n{prefix}"))),
        // A flow list with one item per line.
        Some('[' | ',') if prefix.trim().is_empty() => (end, each(&format!(",\n{prefix}"))),
        // A flow list on one line.
        Some('[' | ',') => (end, each(", ")),
        _ => bail!("training_phrases is not a list this command can extend"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrase(intent: &str, phrase: &str) -> NewPhrase {
        NewPhrase { intent: intent.into(), phrase: phrase.into() }
    }

    #[test]
    fn json_lists_grow_in_their_own_layout() {
        let text = "{\n  \"intents\": [\n    {\n      \"name\": \"A\",\n      \"training_phrases\": [\n        \"hi\",\n        \"hello\"\n      ]\n    },\n    { \"name\": \"B\", \"training_phrases\": [\"bye\"] }\n  ]\n}\n";
        let patched =
            apply(text, &[phrase("B", "see you"), phrase("A", "hey \"you\""), phrase("A", "HELLO ")]).unwrap();
        assert_eq!(
            patched.text,
            "{\n  \"intents\": [\n    {\n      \"name\": \"A\",\n      \"training_phrases\": [\n        \"hi\",\n        \"hello\",\n        \"hey \\\"you\\\"\"\n      ]\n    },\n    { \"name\": \"B\", \"training_phrases\": [\"bye\", \"see you\"] }\n  ]\n}\n"
        );
        assert_eq!((patched.added.len(), patched.skipped), (2, vec![phrase("A", "HELLO ")]));
        assert!(serde_json::from_str::<serde_json::Value>(&patched.text).is_ok());
    }

    #[test]
    fn yaml_block_and_flow_lists_keep_comments() {
        let text = "name: x # the name\nintents:\n  - name: A\n    training_phrases:\n      - hello there\n      - 'it''s me'  # last\n    responses: [Hi]\n  - name: B\n    training_phrases: [a, b]\n";
        let patched = apply(text, &[phrase("A", "good day"), phrase("B", "c: d"), phrase("A", "yo")]).unwrap();
        assert_eq!(
            patched.text,
            "name: x # the name\nintents:\n  - name: A\n    training_phrases:\n      - hello there\n      - 'it''s me'  # last\n      - \"good day\"\n      - \"yo\"\n    responses: [Hi]\n  - name: B\n    training_phrases: [a, b, \"c: d\"]\n"
        );
    }

    #[test]
    fn unknown_intents_and_bad_patches_are_refused() {
        let text = "intents:\n  - name: A\n    training_phrases: [a]\n  - name: B\n    training_phrases: [b]\n";
        let error = apply(text, &[phrase("C", "x")]).unwrap_err().to_string();
        assert_eq!(error, "unknown intent 'C'; expected one of A, B");
        assert!(read_patch(r#"[{"intent": "A"}]"#).is_err());
        assert!(read_patch(r#"[{"intent": "A", "phrase": "  "}]"#).unwrap_err().to_string().contains("entry 0"));
        assert_eq!(read_patch(r#"[{"intent": "A", "phrase": "x"}]"#).unwrap(), [phrase("A", "x")]);
    }
}
