//! Flows: multi-step conversations as pages joined by routes (Dialogflow CX's pages, reduced).
//!
//! An intent with `"flow": "<name>"` starts the flow at its `start` page. Each page says its
//! messages; then routes are tried in order. A route fires on an intent (`intent: Yes`), on a
//! condition over the session parameters (`condition: "$bulb = led"`), on both, or on an event
//! (`event: no-match` / `no-input`) once the page's own handlers are used up. Condition-only
//! routes are also tried on entering the page, so a page can branch without asking anything.
//! A page ends the flow (`end`) or hands off (`handoff`); a page without routes must do one of
//! these. Another intent leaves the flow; an utterance that matches no route hears the page's
//! `no_match` handlers in turn (`no-match-1..N`), then the event route, then escalation.

use crate::condition::Condition;
use crate::response::{RawResponse, Response, validate_all};
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
    pub say: Vec<Response>,
    /// Where the conversation goes next, tried in order.
    pub routes: Vec<Route>,
    /// Said on the 1st, 2nd, … utterance that no route takes (then the `no-match` route).
    pub no_match: Vec<Response>,
    /// Said on the 1st, 2nd, … silence (voice) (then the `no-input` route).
    pub no_input: Vec<Response>,
    /// The flow ends here.
    pub end: bool,
    /// The conversation is handed to a human here.
    pub handoff: bool,
}

/// A transition: when it fires and where it leads.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The intent the user's utterance must match, if any.
    pub intent: Option<String>,
    /// A condition on the session parameters that must hold, if any.
    pub condition: Option<Condition>,
    /// An event that fires the route instead of an utterance.
    pub event: Option<Event>,
    /// The page it leads to.
    pub to: String,
}

/// Events a route can listen for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    /// An utterance no route took, after the page's `no_match` handlers.
    NoMatch,
    /// Silence, after the page's `no_input` handlers.
    NoInput,
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
    say: Vec<RawResponse>,
    #[serde(default)]
    routes: Vec<RawRoute>,
    #[serde(default)]
    no_match: Vec<RawResponse>,
    #[serde(default)]
    no_input: Vec<RawResponse>,
    #[serde(default)]
    end: bool,
    #[serde(default)]
    handoff: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    #[serde(default)]
    intent: Option<String>,
    #[serde(default)]
    condition: Option<String>,
    #[serde(default)]
    event: Option<Event>,
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
                let at = format!("{at}.routes[{i}]");
                if let Some(intent) = r.intent.as_ref().filter(|i| !intents.contains(&i.as_str())) {
                    return Err((format!("{at}.intent"), format!("unknown intent '{intent}'")));
                }
                match (&r.intent, &r.condition, &r.event) {
                    (None, None, None) => {
                        return Err((at, "a route needs an 'intent', a 'condition' or an 'event'".into()));
                    }
                    (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
                        return Err((format!("{at}.event"), "an event route takes no 'intent' or 'condition'".into()));
                    }
                    _ => {}
                }
                let condition = match r.condition.as_deref().map(Condition::parse).transpose() {
                    Ok(c) => c,
                    Err(e) => return Err((format!("{at}.condition"), e)),
                };
                routes.push(Route { intent: r.intent, condition, event: r.event, to: r.to });
            }
            pages.insert(
                page_name,
                Page {
                    say: validate_all(page.say, &format!("{at}.say"))?,
                    routes,
                    no_match: validate_all(page.no_match, &format!("{at}.no_match"))?,
                    no_input: validate_all(page.no_input, &format!("{at}.no_input"))?,
                    end: page.end,
                    handoff: page.handoff,
                },
            );
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
            for r in pages.get(&p).into_iter().flat_map(|page| &page.routes) {
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
        assert_eq!(agent.flows["fix"].pages["a"].say[0].first_text(), "ok?");
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
            (
                r#"{"a": {"routes": [{"to": "a"}]}}"#,
                "flows.fix.pages.a.routes[0]: a route needs an 'intent', a 'condition' or an 'event'",
            ),
            (
                r#"{"a": {"routes": [{"condition": "$x >", "to": "a"}]}}"#,
                "flows.fix.pages.a.routes[0].condition: the condition ends too early",
            ),
            (
                r#"{"a": {"routes": [{"intent": "Yes", "event": "no-match", "to": "a"}]}}"#,
                "flows.fix.pages.a.routes[0].event: an event route takes no 'intent' or 'condition'",
            ),
            (
                r#"{"a": {"say": [{"txt": "x"}], "end": true}}"#,
                "line 2, column 80: unknown field `txt`, expected one of `text`, `quick_replies`, `cards`, `channels`",
            ),
        ];
        for (pages, expected) in cases {
            assert_eq!(agent_with(pages).unwrap_err(), expected, "{pages}");
        }
    }
}
