//! Deploying an agent: the file an operator uploads (`PUT /v1/admin/agent`), kept in KV under
//! [`AGENT_KEY`], and the per-isolate [`AgentCache`] through which each request finds the agent
//! that answers it (the uploaded one, else the built-in demo agent).
//!
//! An upload is validated and trained in full before anything is stored, so a malformed file
//! changes nothing. Other isolates read the key with KV's cache time ([`KV_CACHE_SECONDS`])
//! and keep what they read for [`AGENT_RECHECK_SECONDS`] (one read per isolate in that time,
//! not two a turn), so they answer with the new agent within the sum; the isolate that took
//! the upload uses it at once.

use crate::config::bindings;
use crate::conversation::Edge;
use crate::error::ApiError;
use crate::ports::{AnalyticsStore, Clock, ContextStore, HttpClient};
use serde::{Deserialize, Serialize};
use std::rc::Rc;
use switchboard_dialog::agent::Agent;
use switchboard_dialog::nlu::text::fnv64;

/// The KV key (namespace `CONTEXT`) of the uploaded agent file, stored as uploaded, no TTL.
pub const AGENT_KEY: &str = crate::layout::kv::AGENT;

/// Largest agent file accepted: agent files outgrow the API's usual 64 KiB body limit.
pub const MAX_AGENT_BYTES: usize = 1024 * 1024;

/// How long a KV read of [`AGENT_KEY`] may be served from KV's cache (KV's minimum): the
/// longest an isolate that did not take an upload keeps answering with the previous agent.
pub const KV_CACHE_SECONDS: u64 = 60;

/// How long an isolate answers with the agent it read before it reads the key again.
pub const AGENT_RECHECK_SECONDS: u64 = 5;

/// The agent that answers while none was uploaded.
pub const BUILTIN_AGENT: &str = include_str!("../agents/retail-demo.json");

/// How an agent file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentFormat {
    /// JSON.
    Json,
    /// YAML (the same fields).
    Yaml,
}

impl AgentFormat {
    /// JSON when the first non-whitespace character is `{`, else YAML.
    pub fn of(text: &str) -> Self {
        if text.trim_start().starts_with('{') { Self::Json } else { Self::Yaml }
    }
}

/// Parses, validates and trains an agent file in either format. Beyond the engine's checks, a
/// webhook may not name one of the worker's own settings as a secret (they are never handed
/// out, so its calls could only fail).
pub fn parse_agent(text: &str) -> Result<Agent, ApiError> {
    let format = AgentFormat::of(text);
    let parsed = match format {
        AgentFormat::Json => Agent::from_json(text),
        AgentFormat::Yaml => Agent::from_yaml(text),
    };
    let invalid = |detail: String| ApiError::InvalidAgent(format!("invalid agent file ({}): {detail}", label(format)));
    let agent = parsed.map_err(|e| invalid(e.to_string()))?;
    for (name, webhook) in &agent.webhooks {
        if let Some(secret) = webhook.secrets().find(|s| bindings::is_reserved(s)) {
            return Err(invalid(format!(
                "webhooks.{name}: ${{{secret}}} is one of the worker's own settings and is never \
                 handed to a webhook; give the webhook a secret of its own"
            )));
        }
    }
    Ok(agent)
}

fn label(format: AgentFormat) -> &'static str {
    match format {
        AgentFormat::Json => "JSON",
        AgentFormat::Yaml => "YAML",
    }
}

/// An uploaded agent, ready to answer: the hash of its file's text and the trained agent.
#[derive(Debug, Clone)]
pub struct DeployedAgent {
    /// [`fnv64`] of the file's text: what [`AgentCache`] compares KV's text with.
    pub text_hash: u64,
    /// The validated, trained agent.
    pub agent: Rc<Agent>,
}

/// What `PUT /v1/admin/agent` answers: the agent now deployed, and the secrets it needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentSummary {
    /// The agent's `name`.
    pub name: String,
    /// How the file was read.
    pub format: AgentFormat,
    /// Number of intents.
    pub intents: usize,
    /// Number of training phrases over all intents.
    pub training_phrases: usize,
    /// [`Agent::fingerprint`] in hex: names the intents and phrases a model was trained on.
    pub fingerprint: String,
    /// Secrets the webhooks refer to (`${NAME}`), each to be set on the worker
    /// (`wrangler secret put NAME`).
    pub secrets: Vec<String>,
}

impl AgentSummary {
    /// The summary of `agent`, read from a file in `format`.
    pub fn of(agent: &Agent, format: AgentFormat) -> Self {
        Self {
            name: agent.name.clone(),
            format,
            intents: agent.intents.len(),
            training_phrases: agent.intents.iter().map(|i| i.training_phrases.len()).sum(),
            fingerprint: format!("{:016x}", agent.fingerprint()),
            secrets: agent.secret_names().into_iter().map(str::to_owned).collect(),
        }
    }
}

/// What `GET /v1/admin/agent` answers: the uploaded file as it was uploaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAgentFile {
    /// How the file is written.
    pub format: AgentFormat,
    /// The file's text.
    pub text: String,
}

impl<S: ContextStore, H: HttpClient, C: Clock, A: AnalyticsStore> Edge<'_, S, H, C, A> {
    /// Validates an uploaded agent file and stores it under [`AGENT_KEY`]; a file that does
    /// not validate changes nothing. The trained agent waits in [`Edge::take_deployed`].
    pub async fn deploy(&self, body: &[u8]) -> Result<AgentSummary, ApiError> {
        let text = std::str::from_utf8(body)
            .map_err(|e| ApiError::InvalidAgent(format!("invalid agent file: not UTF-8 text: {e}")))?;
        let agent = parse_agent(text)?;
        self.store.put(AGENT_KEY, text, None).await?;
        let summary = AgentSummary::of(&agent, AgentFormat::of(text));
        self.log(serde_json::json!({
            "event": "agent_deployed",
            "name": summary.name,
            "fingerprint": summary.fingerprint,
            "intents": summary.intents,
            "bytes": text.len(),
        }));
        *self.deployed.borrow_mut() = Some(DeployedAgent { text_hash: fnv64(text.as_bytes()), agent: Rc::new(agent) });
        Ok(summary)
    }

    /// The uploaded agent file, if one was uploaded.
    pub async fn deployed_file(&self) -> Result<Option<StoredAgentFile>, ApiError> {
        let text = self.store.get(AGENT_KEY).await?;
        Ok(text.map(|text| StoredAgentFile { format: AgentFormat::of(&text), text }))
    }
}

/// An isolate's agent: parsed and trained once per distinct text of [`AGENT_KEY`], the
/// built-in agent when nothing was uploaded (or, which validation on upload rules out, when
/// the stored file no longer parses). The host reads KV and hands the result to
/// [`AgentCache::select`]; it skips the read while [`AgentCache::pinned`] answers.
#[derive(Debug)]
pub struct AgentCache {
    builtin_text: &'static str,
    builtin: Option<Rc<Agent>>,
    /// The hash of the text last read (`None`: no file) and the agent chosen for it.
    current: Option<(Option<u64>, Rc<Agent>)>,
    /// Until then, KV's cached reads may still hold the file before this isolate's upload.
    pinned_until_ms: u64,
}

impl AgentCache {
    /// A cache whose fallback is the agent file `builtin` (JSON), parsed when first needed.
    pub fn new(builtin_text: &'static str) -> Self {
        Self { builtin_text, builtin: None, current: None, pinned_until_ms: 0 }
    }

    /// The agent this isolate just deployed, while KV's cache may not show it yet.
    pub fn pinned(&self, now_ms: u64) -> Option<Rc<Agent>> {
        self.current.as_ref().filter(|_| now_ms < self.pinned_until_ms).map(|(_, agent)| agent.clone())
    }

    /// Keeps the agent just read ([`Self::select`]) for [`AGENT_RECHECK_SECONDS`] from `now_ms`
    /// (longer when an upload of this isolate pinned it).
    pub fn recheck_after(&mut self, now_ms: u64) {
        self.pinned_until_ms = self.pinned_until_ms.max(now_ms + AGENT_RECHECK_SECONDS * 1000);
    }

    /// Uses an agent this isolate deployed at once, for every request, without reading KV
    /// for [`KV_CACHE_SECONDS`].
    pub fn install(&mut self, deployed: DeployedAgent, now_ms: u64) {
        self.current = Some((Some(deployed.text_hash), deployed.agent));
        self.pinned_until_ms = now_ms + KV_CACHE_SECONDS * 1000;
    }

    /// The agent for what KV answered for [`AGENT_KEY`] (a failed read keeps the agent in
    /// use), and log lines (JSON) when the agent changed or the file did not parse.
    pub fn select(&mut self, stored: Result<Option<String>, String>) -> (Rc<Agent>, Vec<String>) {
        let mut logs = Vec::new();
        let text = match stored {
            Ok(text) => text,
            Err(detail) => {
                logs.push(serde_json::json!({ "event": "agent_read_failed", "detail": detail }).to_string());
                let agent = match &self.current {
                    Some((_, agent)) => agent.clone(),
                    None => self.builtin(),
                };
                return (agent, logs);
            }
        };
        let hash = text.as_deref().map(|t| fnv64(t.as_bytes()));
        if let Some((seen, agent)) = &self.current
            && *seen == hash
        {
            return (agent.clone(), logs);
        }
        let (agent, source) = match text.as_deref().map(parse_agent) {
            None => (self.builtin(), "builtin"),
            Some(Ok(agent)) => (Rc::new(agent), "uploaded"),
            Some(Err(e)) => {
                let line = serde_json::json!({
                    "event": "agent_invalid",
                    "key": AGENT_KEY,
                    "detail": e.to_string(),
                    "fallback": "builtin",
                });
                logs.push(line.to_string());
                (self.builtin(), "builtin")
            }
        };
        let fingerprint = format!("{:016x}", agent.fingerprint());
        let line =
            serde_json::json!({ "event": "agent", "source": source, "name": agent.name, "fingerprint": fingerprint });
        logs.push(line.to_string());
        self.current = Some((hash, agent.clone()));
        (agent, logs)
    }

    #[allow(clippy::expect_used)] // The built-in agent is compiled in; `tests::the_builtin_agent_loads` proves it parses.
    fn builtin(&mut self) -> Rc<Agent> {
        let text = self.builtin_text;
        self.builtin
            .get_or_insert_with(|| Rc::new(Agent::from_json(text).expect("the built-in agent is validated by tests")))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUILTIN: &str = r#"{"name": "builtin", "fallback": ["?"], "webhook_error": ["!"],
        "intents": [{"name": "Hi", "training_phrases": ["hello"], "responses": ["Hello!"]}]}"#;
    const UPLOADED: &str = "name: uploaded\nfallback: ['?']\nwebhook_error: ['!']\nintents:\n  - name: Bye\n    \
                            training_phrases: [bye, goodbye]\n    responses: [Bye!]\n";

    fn name(selected: (Rc<Agent>, Vec<String>)) -> (String, usize) {
        (selected.0.name.clone(), selected.1.len())
    }

    #[test]
    fn formats_are_told_by_the_first_character() {
        assert_eq!(AgentFormat::of("  \n{\"name\": \"x\"}"), AgentFormat::Json);
        assert_eq!(AgentFormat::of("# an agent\nname: x\n"), AgentFormat::Yaml);
        assert_eq!(AgentFormat::of(""), AgentFormat::Yaml);
    }

    #[test]
    fn the_builtin_agent_loads() {
        assert!(Agent::from_json(BUILTIN_AGENT).is_ok());
    }

    #[test]
    fn the_cache_parses_each_text_once_and_falls_back_to_the_builtin_agent() {
        let mut cache = AgentCache::new(BUILTIN);
        assert_eq!(name(cache.select(Ok(None))), ("builtin".into(), 1), "one line: which agent answers");
        assert_eq!(name(cache.select(Ok(None))), ("builtin".into(), 0));
        let (first, logs) = cache.select(Ok(Some(UPLOADED.into())));
        assert_eq!(first.name, "uploaded");
        assert!(logs[0].contains(r#""source":"uploaded""#), "{logs:?}");
        let (again, logs) = cache.select(Ok(Some(UPLOADED.into())));
        assert!(Rc::ptr_eq(&first, &again) && logs.is_empty(), "the same text is not parsed again");
        // A read that fails keeps the agent in use.
        let (kept, logs) = cache.select(Err("kv down".into()));
        assert!(Rc::ptr_eq(&first, &kept) && logs[0].contains("agent_read_failed"), "{logs:?}");
        // A file that no longer parses: the built-in agent, said once.
        let broken = Ok(Some(UPLOADED.replace("responses", "responsez")));
        let (agent, logs) = cache.select(broken.clone());
        assert_eq!(agent.name, "builtin");
        assert!(logs[0].contains(r#""event":"agent_invalid""#) && logs[0].contains("responsez"), "{logs:?}");
        assert_eq!(name(cache.select(broken)), ("builtin".into(), 0));
    }

    #[test]
    fn an_agent_deployed_here_answers_at_once_and_kv_is_trusted_again_after_its_cache_time() {
        let mut cache = AgentCache::new(BUILTIN);
        cache.select(Ok(None));
        assert!(cache.pinned(0).is_none());
        let agent = Rc::new(parse_agent(UPLOADED).unwrap());
        cache.install(DeployedAgent { text_hash: fnv64(UPLOADED.as_bytes()), agent: agent.clone() }, 1_000);
        let pinned = cache.pinned(1_000 + KV_CACHE_SECONDS * 1000 - 1).expect("pinned");
        assert!(Rc::ptr_eq(&pinned, &agent));
        assert!(cache.pinned(1_000 + KV_CACHE_SECONDS * 1000).is_none());
        // KV now answers the same text: no second parse.
        let (selected, logs) = cache.select(Ok(Some(UPLOADED.into())));
        assert!(Rc::ptr_eq(&selected, &agent) && logs.is_empty(), "{logs:?}");
    }

    #[test]
    fn an_agent_read_is_kept_a_few_seconds_then_read_again() {
        let mut cache = AgentCache::new(BUILTIN_AGENT);
        assert!(cache.pinned(0).is_none(), "nothing read yet");
        let (agent, _) = cache.select(Ok(Some(UPLOADED.into())));
        cache.recheck_after(10_000);
        let kept = cache.pinned(10_000 + AGENT_RECHECK_SECONDS * 1000 - 1).expect("kept");
        assert!(Rc::ptr_eq(&kept, &agent));
        assert!(cache.pinned(10_000 + AGENT_RECHECK_SECONDS * 1000).is_none(), "then KV is read again");
        // A read does not shorten the pin of an upload.
        cache.pinned_until_ms = 100_000;
        cache.recheck_after(10_000);
        assert!(cache.pinned(99_999).is_some());
    }

    #[test]
    fn webhooks_may_not_name_the_workers_own_settings() {
        let text = "name: t\nfallback: ['?']\nwebhook_error: ['!']\nwebhooks:\n  orders:\n    \
                    url: https://shop.example/hook\n    auth: { bearer: '${TOKEN_SECRET}' }\nintents:\n  \
                    - name: Hi\n    training_phrases: [hello]\n    fulfillment: { webhook: orders, tag: hi }\n";
        let err = parse_agent(text).unwrap_err().to_string();
        assert!(err.contains("webhooks.orders: ${TOKEN_SECRET} is one of the worker's own settings"), "{err}");
        assert!(parse_agent(&text.replace("TOKEN_SECRET", "ORDERS_TOKEN")).is_ok());
    }
}
