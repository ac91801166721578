//! Property tests over the platform-free core: random sequences of opens, messages, identifies,
//! logouts, channel deliveries (and their redeliveries) and agent actions, with random ids and
//! texts, against one in-memory edge. After every step:
//! - no response is a 5xx (the memory store never fails);
//! - no one reads another person's words: every message a customer is shown carries only
//!   markers of the person the model says they are (a visitor merges into a site user only by
//!   identifying while anonymous);
//! - a credential of a visitor since linked to a verified person never resumes their
//!   conversation, and a credential the server did not issue never resumes anything;
//! - a channel delivery is answered once: its redelivery sends nothing;
//! - a redacted value (a card number) never reaches storage.
//!
//! `PROPTEST_CASES=2000 cargo test -p switchboard-edge --test properties` runs longer.

// Native only (proptest has no wasm32 randomness); tests may panic: a panic is a failed test.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use futures_executor::block_on;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use switchboard_dialog::agent::Agent;
use switchboard_edge::Config;
use switchboard_edge::api::{self, ApiRequest};
use switchboard_edge::channels::{self, Received};
use switchboard_edge::memory::{MemoryDurable, ScriptedHttp};

const AGENT: &str = r#"
name: prop
fallback: ["Sorry?"]
webhook_error: ["Sorry."]
handoff: { messages: ["A person will be with you."] }
entities: { card: { regex: "4111 1111 1111 [0-9]{4}" } }
intents:
  - name: Pay
    training_phrases: ["I want to pay", "pay my bill", "pay by card"]
    parameters:
      - { name: card, entity: "@card", mandatory: true, redact: true, prompts: ["Card number?"] }
    responses: ["Charging card $card."]
  - name: Note
    training_phrases: ["take a note", "write this down", "note please"]
    parameters:
      - { name: note, entity: "@sys.any", mandatory: true, prompts: ["What should I note?"] }
    responses: ["Noted: $note"]
  - name: Human
    training_phrases: ["talk to a person", "a human please", "agent please"]
    handoff: true
"#;

const APP_SECRET: &str = "prop-app-secret";
const TG_SECRET: &str = "prop-telegram-secret";

fn agent() -> &'static Agent {
    static AGENT_ONCE: std::sync::OnceLock<Agent> = std::sync::OnceLock::new();
    AGENT_ONCE.get_or_init(|| Agent::from_yaml(AGENT).unwrap())
}

fn config() -> Config {
    let mut config = Config::for_tests();
    for (name, value) in [
        ("META_APP_SECRET", APP_SECRET),
        ("WHATSAPP_TOKEN", "wa-token"),
        ("GRAPH_API_URL", "http://graph.test"),
        ("TELEGRAM_BOT_TOKEN", "1:abc"),
        ("TELEGRAM_SECRET_TOKEN", TG_SECRET),
        ("TELEGRAM_API_URL", "http://telegram.test"),
        ("HANDOFFS_PER_IP", "1000"),
    ] {
        config.set(name, value).unwrap();
    }
    config
}

/// What a step does. Indexes pick among a few browsers, site users and channel senders.
#[derive(Debug, Clone)]
enum Op {
    /// A browser opens (with the credential it holds, if any).
    Open(usize),
    /// A browser opens signed in as a site user.
    OpenSignedIn(usize, usize),
    /// A browser says something (a marker of who it is, a card number, an intent).
    Say(usize, Said),
    /// A browser identifies as a site user.
    Identify(usize, usize),
    /// A browser reads its history.
    History(usize),
    /// The page logs out: the browser forgets its credential.
    Shutdown(usize),
    /// A browser presents a visitor id of its own making.
    Forge(usize, String),
    /// A browser presents, as its visitor id, an id it could have learnt (a user id from the
    /// desk or a reply, with or without its `u-`): the classic confusion of ids and credentials.
    Impersonate(usize, usize, bool),
    /// A WhatsApp sender or Telegram chat writes; `again`: the same delivery is redelivered.
    Channel { telegram: bool, sender: usize, said: Said, again: bool },
    /// An agent claims the longest-waiting conversation, answers and resolves or releases it.
    Agent { resolve: bool },
}

#[derive(Debug, Clone)]
enum Said {
    Marker,
    Card(u16),
    Text(&'static str),
}

fn said() -> impl Strategy<Value = Said> {
    prop_oneof![
        3 => Just(Said::Marker),
        1 => (0u16..10_000).prop_map(Said::Card),
        2 => prop::sample::select(vec!["I want to pay", "take a note", "talk to a person", "hello", "where is it"]).prop_map(Said::Text),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let browser = 0..3usize;
    prop_oneof![
        3 => browser.clone().prop_map(Op::Open),
        1 => (browser.clone(), 0..2usize).prop_map(|(b, u)| Op::OpenSignedIn(b, u)),
        6 => (browser.clone(), said()).prop_map(|(b, s)| Op::Say(b, s)),
        2 => (browser.clone(), 0..2usize).prop_map(|(b, u)| Op::Identify(b, u)),
        2 => browser.clone().prop_map(Op::History),
        1 => browser.clone().prop_map(Op::Shutdown),
        1 => (browser.clone(), "[a-zA-Z0-9_-]{0,70}").prop_map(|(b, v)| Op::Forge(b, v)),
        2 => (browser, 0..16usize, any::<bool>()).prop_map(|(b, i, strip)| Op::Impersonate(b, i, strip)),
        4 => (any::<bool>(), 0..2usize, said(), prop::bool::weighted(0.3))
            .prop_map(|(telegram, sender, said, again)| Op::Channel { telegram, sender, said, again }),
        1 => any::<bool>().prop_map(|resolve| Op::Agent { resolve }),
    ]
}

/// Union-find over people: a visitor who identifies while anonymous becomes the site user.
#[derive(Default)]
struct People {
    parent: BTreeMap<String, String>,
}

impl People {
    fn root(&self, person: &str) -> String {
        let mut p = person.to_owned();
        while let Some(next) = self.parent.get(&p) {
            p = next.clone();
        }
        p
    }

    fn merge(&mut self, from: &str, into: &str) {
        let (a, b) = (self.root(from), self.root(into));
        if a != b {
            self.parent.insert(a, b);
        }
    }
}

#[derive(Default, Clone)]
struct Browser {
    credential: Option<String>,
    session: Option<Session>,
    /// Whom this browser's conversation belongs to.
    person: Option<String>,
    /// Signed in (as opposed to anonymous).
    signed_in: bool,
}

struct World {
    edge: TestEdge,
    seen: MemoryDurable,
    people: People,
    browsers: Vec<Browser>,
    /// Credentials and the person each opened as; `true` once linked to a verified person.
    credentials: BTreeMap<String, (String, bool)>,
    /// Marker → the person who wrote it.
    markers: BTreeMap<String, String>,
    next: u32,
    delivery: u64,
    last_delivery: BTreeMap<(bool, usize), ApiRequest>,
    cards: BTreeSet<String>,
    /// User ids seen anywhere (replies, the desk).
    user_ids: Vec<String>,
}

impl World {
    fn new() -> Self {
        Self {
            edge: switchboard_edge::memory::edge(agent(), config(), ScriptedHttp::default()),
            seen: MemoryDurable::default(),
            people: People::default(),
            browsers: vec![Browser::default(); 3],
            credentials: BTreeMap::new(),
            markers: BTreeMap::new(),
            next: 0,
            delivery: 0,
            last_delivery: BTreeMap::new(),
            cards: BTreeSet::new(),
            user_ids: Vec::new(),
        }
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{}", self.next)
    }

    fn call(&self, request: ApiRequest) -> (u16, Value) {
        let response = block_on(api::handle(&self.edge, request));
        assert!(response.status < 500, "5xx: {} {}", response.status, response.body);
        (
            response.status,
            if response.body.is_empty() { Value::Null } else { serde_json::from_str(&response.body).unwrap() },
        )
    }

    /// Every marker in `shown` belongs to `person`.
    fn check_reader(&self, person: &str, shown: &Value) {
        let text = shown.to_string();
        let root = self.people.root(person);
        for (marker, owner) in &self.markers {
            if text.contains(&format!("{marker}.")) {
                assert_eq!(self.people.root(owner), root, "{person} was shown {marker} of {owner}: {text}");
            }
        }
    }

    fn text(&mut self, person: &str, said: &Said) -> String {
        match said {
            Said::Marker => {
                let marker = self.fresh("zq");
                self.markers.insert(marker.clone(), person.to_owned());
                format!("note {marker}.")
            }
            // A card number outside the payment question is just words; see `say`.
            Said::Card(n) => format!("4111 1111 1111 {n:04}"),
            Said::Text(t) => (*t).to_owned(),
        }
    }

    fn opened(&mut self, b: usize, status: u16, created: &Value, person: String, signed_in: bool) {
        let credential = created["visitor_id"].as_str().unwrap().to_owned();
        if let Some(user) = created["user_id"].as_str() {
            self.user_ids.push(user.to_owned());
        }
        let browser = &mut self.browsers[b];
        browser.session = Some(Session::from(created));
        browser.person = Some(person.clone());
        browser.signed_in = signed_in;
        browser.credential = Some(credential.clone());
        // The credential an identified open returns is a fresh, anonymous visitor's.
        let holder = if signed_in { self.fresh("anon") } else { person };
        self.credentials.entry(credential).or_insert((holder, false));
        let _ = status;
    }

    fn open(&mut self, b: usize) {
        let sent = self.browsers[b].credential.clone();
        let body = match &sent {
            Some(c) => json!({"channel": "web", "visitor_id": c}),
            None => json!({"channel": "web"}),
        };
        let (status, created) = self.call(ApiRequest::post("/v1/conversations", &body.to_string()));
        assert!(status == 200 || status == 201, "{status} {created}");
        let person = match sent.as_ref().and_then(|c| self.credentials.get(c).cloned()) {
            // A known anonymous credential resumes its own conversation (or a new one).
            Some((person, false)) => person,
            // Linked to a verified person since: never that person's conversation again.
            Some((_, true)) => {
                assert_eq!(status, 201, "a linked credential resumed: {created}");
                self.fresh("anon")
            }
            None => {
                assert_eq!(status, 201, "an unknown credential resumed: {created}");
                self.fresh("anon")
            }
        };
        self.check_reader(&person, &created);
        self.opened(b, status, &created, person, false);
    }

    fn sign_in(&mut self, b: usize, site_user: usize, with_open: bool) {
        let user_id = format!("site-user-{site_user}");
        let claims = json!({"user_id": user_id, "user_hash": site_hash(&user_id)});
        let browser = self.browsers[b].clone();
        let (status, linked) = if with_open {
            let mut body = claims.clone();
            body["channel"] = json!("web");
            if let Some(c) = &browser.credential {
                body["visitor_id"] = json!(c);
            }
            self.call(ApiRequest::post("/v1/conversations", &body.to_string()))
        } else {
            let Some(session) = &browser.session else { return };
            self.call(ApiRequest::post(&session.path("identify"), &claims.to_string()).bearer(&session.token))
        };
        if status != 200 {
            // The anonymous token went stale (its visitor was linked from another door).
            assert!(status == 404 || status == 401, "{status} {linked}");
            return;
        }
        let person = format!("site-{site_user}");
        // An anonymous browser's conversation becomes the person's; a signed-in one's is
        // another person's and stays apart.
        let anonymous_person = match (with_open, browser.signed_in, &browser.credential) {
            (false, false, _) => browser.person.clone(),
            (true, _, Some(c)) => self.credentials.get(c).filter(|(_, linked)| !linked).map(|(p, _)| p.clone()),
            _ => None,
        };
        if let Some(anonymous) = anonymous_person {
            self.people.merge(&anonymous, &person);
        }
        if let Some(c) = &browser.credential
            && let Some(entry) = self.credentials.get_mut(c)
        {
            entry.1 = true;
        }
        // Every credential whose person is now this one is linked.
        let linked_people: Vec<String> = self.credentials.keys().cloned().collect();
        for c in linked_people {
            let root = self.people.root(&self.credentials[&c].0);
            if root == self.people.root(&person) {
                self.credentials.get_mut(&c).unwrap().1 = true;
            }
        }
        self.check_reader(&person, &linked);
        self.opened(b, status, &linked, person, true);
    }

    fn say(&mut self, b: usize, said: &Said) {
        let Some(session) = self.browsers[b].session.clone() else { return };
        let person = self.browsers[b].person.clone().unwrap();
        if let Said::Card(n) = said {
            // Asked for the card (a `redact` parameter), the customer gives it: from then on
            // it must never be stored.
            let body = json!({ "text": "I want to pay" }).to_string();
            let (_, asked) = self.call(ApiRequest::post(&session.path("messages"), &body).bearer(&session.token));
            if asked.to_string().contains("Card number?") {
                self.cards.insert(format!("4111 1111 1111 {n:04}"));
            }
        }
        let text = self.text(&person, said);
        let body = json!({ "text": text }).to_string();
        let (status, reply) = self.call(ApiRequest::post(&session.path("messages"), &body).bearer(&session.token));
        assert!(matches!(status, 200 | 401 | 404 | 429), "{status} {reply}");
        self.check_reader(&person, &reply);
    }

    fn history(&mut self, b: usize) {
        let Some(session) = self.browsers[b].session.clone() else { return };
        let person = self.browsers[b].person.clone().unwrap();
        let (status, page) = self.call(ApiRequest::get(&session.path("messages")).bearer(&session.token));
        assert!(matches!(status, 200 | 401 | 404), "{status} {page}");
        self.check_reader(&person, &page);
    }

    fn channel(&mut self, telegram: bool, sender: usize, said: &Said, again: bool) {
        let again = again && self.last_delivery.contains_key(&(telegram, sender));
        let request = match (again, self.last_delivery.get(&(telegram, sender))) {
            (true, Some(previous)) => previous.clone(),
            _ => {
                let person = if telegram { format!("tg-{sender}") } else { format!("wa-{sender}") };
                let text = self.text(&person, said);
                self.delivery += 1;
                let request = if telegram {
                    let update = json!({"update_id": self.delivery, "message": {"message_id": self.delivery,
                        "chat": {"id": 500 + sender, "type": "private"}, "from": {"id": 500 + sender}, "text": text}});
                    ApiRequest::post("/channels/telegram", &update.to_string())
                        .header("X-Telegram-Bot-Api-Secret-Token", TG_SECRET)
                } else {
                    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
                        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "1555", "phone_number_id": "PNID"},
                                  "messages": [{"from": format!("1555000{sender:04}"), "id": format!("wamid.{}", self.delivery),
                                                "timestamp": "1", "type": "text", "text": {"body": text}}]}}]}]})
                    .to_string();
                    let signature =
                        format!("sha256={}", switchboard_edge::identity::user_hash(APP_SECRET.as_bytes(), &body));
                    ApiRequest::post("/channels/whatsapp", &body).header("X-Hub-Signature-256", &signature)
                };
                self.last_delivery.insert((telegram, sender), request.clone());
                request
            }
        };
        let person = if telegram { format!("tg-{sender}") } else { format!("wa-{sender}") };
        let received = block_on(channels::receive(&self.edge, &request));
        let Ok(Received::Events { envelopes, .. }) = received else {
            panic!("a signed delivery was refused: {:?}", received.err())
        };
        for envelope in envelopes {
            let rendered = block_on(channels::deliver(&self.edge, &self.seen, &envelope, |_| ())).unwrap();
            if again {
                assert!(rendered.sends.is_empty(), "a redelivery was answered again");
            }
            let sent: Vec<Value> = rendered
                .sends
                .iter()
                .filter_map(|r| r.body.as_deref().and_then(|b| serde_json::from_str(b).ok()))
                .collect();
            self.check_reader(&person, &json!(sent));
        }
    }

    fn agent(&mut self, resolve: bool) {
        let (status, queue) = self.call(ApiRequest::get("/v1/agent/queue").bearer("alice-token"));
        assert_eq!(status, 200);
        for entry in queue["conversations"].as_array().unwrap() {
            self.user_ids.push(entry["user_id"].as_str().unwrap().to_owned());
        }
        let Some(id) = queue["conversations"][0]["conversation_id"].as_str().map(str::to_owned) else { return };
        let path = format!("/v1/agent/conversations/{id}");
        let (status, _) = self.call(ApiRequest::post(&format!("{path}/claim"), "").bearer("alice-token"));
        if status != 200 {
            return;
        }
        self.call(ApiRequest::post(&format!("{path}/messages"), r#"{"text":"Alice here."}"#).bearer("alice-token"));
        let action = if resolve { "resolve" } else { "release" };
        self.call(ApiRequest::post(&format!("{path}/{action}"), "").bearer("alice-token"));
    }

    fn step(&mut self, op: &Op) {
        match op {
            Op::Open(b) => self.open(*b),
            Op::OpenSignedIn(b, u) => self.sign_in(*b, *u, true),
            Op::Say(b, said) => self.say(*b, said),
            Op::Identify(b, u) => self.sign_in(*b, *u, false),
            Op::History(b) => self.history(*b),
            Op::Shutdown(b) => self.browsers[*b] = Browser::default(),
            Op::Forge(b, value) => {
                let (status, created) = self.call(ApiRequest::post(
                    "/v1/conversations",
                    &json!({"channel": "web", "visitor_id": value}).to_string(),
                ));
                if self.credentials.contains_key(value) {
                    return;
                }
                assert_eq!(status, 201, "a forged visitor id resumed: {created}");
                let person = self.fresh("anon");
                self.check_reader(&person, &created);
                self.opened(*b, status, &created, person, false);
            }
            Op::Impersonate(b, i, strip) => {
                let Some(user) = self.user_ids.get(i % self.user_ids.len().max(1)).cloned() else { return };
                let value = if *strip { user.trim_start_matches("u-").to_owned() } else { user };
                self.step(&Op::Forge(*b, value));
                return;
            }
            Op::Channel { telegram, sender, said, again } => self.channel(*telegram, *sender, said, *again),
            Op::Agent { resolve } => self.agent(*resolve),
        }
        let stored = everything_stored(&self.edge);
        for card in &self.cards {
            assert!(!stored.contains(card.as_str()), "{card} was stored");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        max_shrink_iters: 4000,
        // Shrunk failures become named regression tests below, not files.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_customer_reads_another_and_nothing_secret_is_stored(ops in prop::collection::vec(op(), 1..40)) {
        let mut world = World::new();
        for op in &ops {
            world.step(op);
        }
    }
}
