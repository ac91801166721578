//! `switchboard test`: k-fold cross-validation of an agent's intent classifier.
//!
//! Each intent's phrases are dealt round-robin into the folds (stratified); every fold is
//! classified by a model trained on the others, with the agent's no-match threshold.

use anyhow::{Result, bail};
use std::collections::BTreeMap;
use std::fmt::Write;
use switchboard_dialog::agent::Agent;
use switchboard_dialog::nlu::IntentClassifier;

/// One held-out phrase and what the model made of it.
pub struct Prediction {
    pub text: String,
    pub expected: String,
    /// `None`: below the threshold (no match).
    pub predicted: Option<String>,
    pub confidence: f32,
}

pub struct Report {
    pub folds: usize,
    pub intents: Vec<String>,
    pub predictions: Vec<Prediction>,
}

pub fn run(agent: &Agent, folds: usize) -> Result<Report> {
    if folds < 2 {
        bail!("--folds must be at least 2");
    }
    let examples = agent.training_examples();
    let mut fold_of = vec![0usize; examples.len()];
    let mut dealt: BTreeMap<usize, usize> = BTreeMap::new();
    for (i, (intent, _)) in examples.iter().enumerate() {
        let n = dealt.entry(*intent).or_default();
        fold_of[i] = *n % folds;
        *n += 1;
    }
    let names: Vec<String> = agent.intents.iter().map(|i| i.name.clone()).collect();
    let mut predictions = Vec::new();
    for fold in 0..folds {
        let train = examples.iter().zip(&fold_of).filter(|(_, f)| **f != fold).map(|(e, _)| *e);
        let model = IntentClassifier::train(train);
        for ((intent, text), _) in examples.iter().zip(&fold_of).filter(|(_, f)| **f == fold) {
            let c = model.classify(text);
            let confidence = c.as_ref().map_or(0.0, |c| c.confidence);
            let predicted = c.filter(|c| c.confidence >= agent.confidence_threshold).map(|c| names[c.intent].clone());
            predictions.push(Prediction {
                text: (*text).to_owned(),
                expected: names[*intent].clone(),
                predicted,
                confidence,
            });
        }
    }
    Ok(Report { folds, intents: names, predictions })
}

impl Report {
    /// Per-intent precision, recall and F1, accuracy, the most confused pairs.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let correct = self.predictions.iter().filter(|p| p.predicted.as_ref() == Some(&p.expected)).count();
        let _ = writeln!(
            out,
            "{}-fold cross-validation: {} phrases, accuracy {:.1} % (no-match counts as wrong)\n",
            self.folds,
            self.predictions.len(),
            100.0 * correct as f64 / self.predictions.len().max(1) as f64
        );
        let _ = writeln!(out, "{:<32} {:>9} {:>9} {:>9} {:>8}", "intent", "precision", "recall", "F1", "phrases");
        for intent in &self.intents {
            let tp = self
                .predictions
                .iter()
                .filter(|p| &p.expected == intent && p.predicted.as_ref() == Some(intent))
                .count();
            let predicted = self.predictions.iter().filter(|p| p.predicted.as_ref() == Some(intent)).count();
            let actual = self.predictions.iter().filter(|p| &p.expected == intent).count();
            let precision = if predicted > 0 { tp as f64 / predicted as f64 } else { 0.0 };
            let recall = if actual > 0 { tp as f64 / actual as f64 } else { 0.0 };
            let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
            let _ = writeln!(out, "{intent:<32} {precision:>9.2} {recall:>9.2} {f1:>9.2} {actual:>8}");
        }
        let mut pairs: BTreeMap<(String, String), usize> = BTreeMap::new();
        for p in self.predictions.iter().filter(|p| p.predicted.as_ref() != Some(&p.expected)) {
            let got = p.predicted.clone().unwrap_or_else(|| "(no match)".into());
            *pairs.entry((p.expected.clone(), got)).or_default() += 1;
        }
        let mut pairs: Vec<_> = pairs.into_iter().collect();
        pairs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if !pairs.is_empty() {
            let _ = writeln!(out, "\nmost confused (expected → predicted):");
            for ((expected, got), n) in pairs.iter().take(10) {
                let _ = writeln!(out, "  {n:>4}  {expected} → {got}");
            }
        }
        out
    }

    /// The misclassified phrases as a JSON array, for review.
    pub fn misclassified_json(&self) -> String {
        let items: Vec<serde_json::Value> = self
            .predictions
            .iter()
            .filter(|p| p.predicted.as_ref() != Some(&p.expected))
            .map(|p| {
                serde_json::json!({ "text": p.text, "expected": p.expected, "predicted": p.predicted, "confidence": p.confidence })
            })
            .collect();
        serde_json::to_string_pretty(&items).expect("JSON values serialise")
    }
}
