//! Flows: multi-step conversations as pages joined by routes (Dialogflow CX's pages, reduced).
//!
//! An intent with `"flow": "<name>"` starts the flow at its `start` page. Each page says its
//! messages; the user's next utterance follows the route whose intent it matches (`yes` → the
//! next check). A page ends the flow (`end`) or hands off (`handoff`); a page without routes
//! must do one of these. Another intent leaves the flow; an utterance that matches no route
//! hears the page again.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A validated flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// The first page.
    pub start: String,
    /// Pages by name.
    pub pages: BTreeMap<String, Page>,
}

/// One step of a flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Messages said on entering the page.
    pub say: Vec<String>,
    /// Where each intent leads.
    pub routes: Vec<Route>,
    /// The flow ends here.
    pub end: bool,
    /// The conversation is handed to a human here.
    pub handoff: bool,
}

/// `intent` → `to`.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The intent the user's utterance must match.
    pub intent: String,
    /// The page it leads to.
    pub to: String,
}

/// Where a conversation stands in a flow (stored in the dialog state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowPosition {
    /// The flow's name.
    pub flow: String,
    /// The current page.
    pub page: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFlow {
    start: String,
    pages: BTreeMap<String, RawPage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPage {
    #[serde(default)]
    say: Vec<String>,
    #[serde(default)]
    routes: Vec<RawRoute>,
    #[serde(default)]
    end: bool,
    #[serde(default)]
    handoff: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    intent: String,
    to: String,
}

impl RawFlow {
    /// Checks references and reachability; errors are `(field path, message)`.
    pub(crate) fn validate(self, name: &str, intents: &[&str], can_hand_off: bool) -> Result<Flow, (String, String)> {
        let at = format!("flows.{name}");
        if !self.pages.contains_key(&self.start) {
            return Err((format!("{at}.start"), format!("unknown page '{}'", self.start)));
        }
        let mut pages = BTreeMap::new();
        for (page_name, page) in self.pages {
            let at = format!("{at}.pages.{page_name}");
            if page.routes.is_empty() && !page.end && !page.handoff {
                return Err((at, "a page without routes must 'end' or 'handoff'".into()));
            }
            if page.handoff && !can_hand_off {
                return Err((format!("{at}.handoff"), "the agent has no 'handoff' section".into()));
            }
            let mut routes = Vec::new();
            for (i, r) in page.routes.into_iter().enumerate() {
                if !intents.contains(&r.intent.as_str()) {
                    return Err((format!("{at}.routes[{i}].intent"), format!("unknown intent '{}'", r.intent)));
                }
                routes.push(Route { intent: r.intent, to: r.to });
            }
            pages.insert(page_name, Page { say: page.say, routes, end: page.end, handoff: page.handoff });
        }
        for (page_name, page) in &pages {
            for (i, r) in page.routes.iter().enumerate() {
                if !pages.contains_key(&r.to) {
                    return Err((format!("{at}.pages.{page_name}.routes[{i}].to"), format!("unknown page '{}'", r.to)));
                }
            }
        }
        let mut seen = BTreeSet::from([self.start.clone()]);
        let mut queue = vec![self.start.clone()];
        while let Some(p) = queue.pop() {
            for r in &pages[&p].routes {
                if seen.insert(r.to.clone()) {
                    queue.push(r.to.clone());
                }
            }
        }
        if let Some(unreachable) = pages.keys().find(|p| !seen.contains(*p)) {
            return Err((format!("{at}.pages.{unreachable}"), "unreachable from the start page".into()));
        }
        Ok(Flow { start: self.start, pages })
    }
}

#[cfg(test)]
mod tests {
    use crate::agent::Agent;

    fn agent_with(pages: &str) -> Result<Agent, String> {
        let text = format!(
            r#"{{"name": "x", "fallback": ["?"], "webhook_error": ["!"],
                "flows": {{ "fix": {{ "start": "a", "pages": {pages} }} }},
                "intents": [ {{"name": "Fix", "training_phrases": ["fix it"], "flow": "fix"}},
                             {{"name": "Yes", "training_phrases": ["yes"], "in_flows_only": true}} ]}}"#
        );
        Agent::from_json(&text).map_err(|e| e.to_string())
    }

    #[test]
    fn a_valid_flow_loads() {
        let agent =
            agent_with(r#"{"a": {"say": ["ok?"], "routes": [{"intent": "Yes", "to": "b"}]}, "b": {"end": true}}"#)
                .unwrap();
        assert_eq!(agent.flows["fix"].pages["a"].routes[0].to, "b");
    }

    #[test]
    fn broken_flows_are_rejected_with_the_field() {
        let cases = [
            (r#"{"b": {"end": true}}"#, "flows.fix.start: unknown page 'a'"),
            (
                r#"{"a": {"routes": [{"intent": "Yes", "to": "zz"}]}}"#,
                "flows.fix.pages.a.routes[0].to: unknown page 'zz'",
            ),
            (
                r#"{"a": {"routes": [{"intent": "Maybe", "to": "a"}]}}"#,
                "flows.fix.pages.a.routes[0].intent: unknown intent 'Maybe'",
            ),
            (r#"{"a": {"say": ["hm"]}}"#, "flows.fix.pages.a: a page without routes must 'end' or 'handoff'"),
            (r#"{"a": {"end": true}, "b": {"end": true}}"#, "flows.fix.pages.b: unreachable from the start page"),
            (r#"{"a": {"handoff": true}}"#, "flows.fix.pages.a.handoff: the agent has no 'handoff' section"),
        ];
        for (pages, expected) in cases {
            assert_eq!(agent_with(pages).unwrap_err(), expected, "{pages}");
        }
    }
}
