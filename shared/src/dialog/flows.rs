//! Moving through a flow's pages: routes on intents and conditions, no-match and no-input
//! handlers with their counters, event routes, escalation.

use super::{HandoffReason, Match, Turn, hand_off};
use crate::agent::{Agent, Intent};
use crate::flow::{Event, FlowPosition, Page};

/// Page transitions in one turn beyond which a flow is considered to loop (condition routes
/// that keep firing); the conversation leaves the flow rather than spinning.
const MAX_HOPS: usize = 16;

/// What happened to the user's utterance, for the page in progress.
pub(super) enum Heard<'a> {
    /// An utterance, and the intent it matched if any.
    Said(Option<(&'a Intent, f32)>),
    /// Silence (a voice channel's timeout).
    Silence,
}

/// Moves through the flow in progress; true when the input was handled by it.
pub(super) fn follow_flow(agent: &Agent, turn: &mut Turn, heard: Heard) -> bool {
    let Some(position) = turn.state.flow.clone() else { return false };
    let Some(page) = agent.flows.get(&position.flow).and_then(|f| f.pages.get(&position.page)) else {
        // The agent changed under a stored conversation: leave the flow.
        turn.state.flow = None;
        return false;
    };
    let classified = match heard {
        Heard::Silence => return on_event(agent, turn, &position, page, Event::NoInput),
        Heard::Said(classified) => classified,
    };
    turn.state.no_input_count = 0;
    let parameters = turn.parameters();
    let route = page.routes.iter().find(|r| {
        let intent_ok = match (&r.intent, classified) {
            (None, _) => true,
            (Some(name), Some((intent, _))) => *name == intent.name,
            (Some(_), None) => false,
        };
        r.event.is_none()
            && (r.intent.is_some() || r.condition.is_some())
            && intent_ok
            && r.condition.as_ref().is_none_or(|c| c.holds(&parameters))
    });
    if let Some(route) = route {
        if let (Some(_), Some((intent, confidence))) = (&route.intent, classified) {
            turn.matched = Some(Match { intent: intent.name.clone(), confidence });
        }
        enter_page(agent, turn, &position.flow, &route.to, 0);
        return true;
    }
    match classified {
        // Another intent: leave the flow and serve it.
        Some((intent, _)) if !intent.in_flows_only => {
            turn.state.flow = None;
            false
        }
        _ => on_event(agent, turn, &position, page, Event::NoMatch),
    }
}

/// The page's handler for the event's n-th occurrence, then its event route, then escalation.
fn on_event(agent: &Agent, turn: &mut Turn, position: &FlowPosition, page: &Page, event: Event) -> bool {
    let (count, handlers) = match event {
        Event::NoMatch => {
            turn.state.no_match_count = turn.state.no_match_count.saturating_add(1);
            (turn.state.no_match_count, &page.no_match)
        }
        Event::NoInput => {
            turn.state.no_input_count = turn.state.no_input_count.saturating_add(1);
            (turn.state.no_input_count, &page.no_input)
        }
    };
    if let Some(handler) = handlers.get(count.saturating_sub(1) as usize) {
        turn.say(handler);
        return true;
    }
    if let Some(route) = page.routes.iter().find(|r| r.event == Some(event)) {
        enter_page(agent, turn, &position.flow, &route.to, 0);
        return true;
    }
    let escalate = match event {
        Event::NoMatch => agent.handoff.as_ref().filter(|h| h.after_no_match.is_some_and(|n| count >= n)),
        Event::NoInput => agent.handoff.as_ref().filter(|_| !handlers.is_empty()),
    };
    if let Some(handoff) = escalate {
        turn.state.flow = None;
        let reason = match event {
            Event::NoMatch => HandoffReason::RepeatedNoMatch { count },
            Event::NoInput => HandoffReason::RepeatedNoInput { count },
        };
        hand_off(turn, handoff, reason);
        return true;
    }
    // No handler left and nowhere to escalate: the last handler, or the page, again.
    match handlers.last() {
        Some(last) => turn.say(last),
        None => page.say.iter().for_each(|m| turn.say(m)),
    }
    true
}

/// Enters a page: says its messages, then follows the first condition-only route that holds.
pub(super) fn enter_page(agent: &Agent, turn: &mut Turn, flow: &str, page_name: &str, hops: usize) {
    // Callers name pages that validation or the caller checked exist; should one not, the
    // conversation leaves the flow rather than failing.
    let Some(page) = agent.flows.get(flow).and_then(|f| f.pages.get(page_name)) else {
        turn.state.flow = None;
        return;
    };
    page.say.iter().for_each(|m| turn.say(m));
    turn.state.flow = Some(FlowPosition { flow: flow.to_owned(), page: page_name.to_owned() });
    turn.state.no_match_count = 0;
    turn.state.no_input_count = 0;
    if page.end || page.handoff {
        turn.state.flow = None;
    }
    // Validation: handoff pages need the agent's handoff section.
    if let Some(handoff) = agent.handoff.as_ref().filter(|_| page.handoff) {
        hand_off(turn, handoff, HandoffReason::Requested { intent: format!("{flow}/{page_name}") });
        return;
    }
    if page.end {
        return;
    }
    let parameters = turn.parameters();
    let branch = page.routes.iter().find(|r| {
        r.intent.is_none() && r.event.is_none() && r.condition.as_ref().is_some_and(|c| c.holds(&parameters))
    });
    if let Some(route) = branch {
        if hops >= MAX_HOPS {
            turn.state.flow = None;
            return;
        }
        enter_page(agent, turn, flow, &route.to, hops + 1);
    }
}
