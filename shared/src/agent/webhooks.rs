//! The `webhooks` section: Dialogflow CX webhooks and declarative HTTP lookups, their auth and
//! headers, and the templates they are written with.
//!
//! The engine only checks what is written here; the host resolves secrets, renders the
//! templates and makes the calls. Secrets never live in the agent file: a value that needs one
//! names it, `${ORDERS_TOKEN}`, and the host looks it up in its own settings.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// A fulfillment webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// Where CX requests are POSTed; for a lookup, its URL template as written.
    pub url: String,
    /// How long to wait for the reply.
    pub timeout_ms: u32,
    /// Credentials sent as the `Authorization` header.
    pub auth: Option<Auth>,
    /// More request headers, by name; values may name secrets.
    pub headers: BTreeMap<String, Template>,
    /// `Some`: a declarative HTTP lookup (`kind: http`) rather than a CX webhook.
    pub lookup: Option<Lookup>,
}

impl Webhook {
    /// Names of the secrets this webhook's auth and headers refer to.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        let auth: Vec<&Template> = match &self.auth {
            Some(Auth::Bearer(token)) => vec![token],
            Some(Auth::Basic { username, password }) => vec![username, password],
            None => Vec::new(),
        };
        auth.into_iter().chain(self.headers.values()).flat_map(Template::secrets)
    }
}

/// How a webhook authenticates.
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer(Template),
    /// `Authorization: Basic base64(<username>:<password>)`.
    Basic {
        /// The user name.
        username: Template,
        /// The password (always a secret reference).
        password: Template,
    },
}

/// A declarative HTTP fulfillment: a request built from session parameters, a JSON reply
/// mapped into messages and parameters, no code.
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    /// GET or POST.
    pub method: HttpMethod,
    /// The URL, with `$name` parameters (URL-encoded when filled in).
    pub url: Template,
    /// The JSON body of a POST, with `$name` parameters in its strings.
    pub body: Option<JsonTemplate>,
    /// What a 2xx reply becomes.
    pub reply: LookupReply,
    /// What other statuses become (`404`: "no such order"); statuses not listed and not 2xx
    /// are failures.
    pub on_status: BTreeMap<u16, LookupReply>,
}

/// An HTTP method a lookup may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// `GET`, without a body.
    Get,
    /// `POST`, with a JSON body.
    Post,
}

impl HttpMethod {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

/// How a lookup's answer becomes the agent's reply.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupReply {
    /// Text messages, with `$name` parameters and `${/json/pointer}` fields of the response.
    pub messages: Vec<Template>,
    /// Session parameters set from fields of the response: name → JSON pointer.
    pub set: BTreeMap<String, String>,
}

/// A JSON value whose strings are templates (a lookup's request body).
#[derive(Debug, Clone, PartialEq)]
pub enum JsonTemplate {
    /// A number, boolean or null, sent as written.
    Value(Value),
    /// A string; exactly `"$name"` is replaced by the parameter's JSON value (a number stays
    /// a number), anything else by text.
    Text(Template),
    /// An array.
    Array(Vec<JsonTemplate>),
    /// An object, in the order written.
    Object(Vec<(String, JsonTemplate)>),
}

/// Text with placeholders.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Template {
    parts: Vec<Part>,
}

/// A piece of a [`Template`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Text as written.
    Text(String),
    /// `$name`: a session parameter.
    Parameter(String),
    /// `${NAME}`: a secret the host holds.
    Secret(String),
    /// `${/a/b}`: a field of a lookup's JSON response, as a JSON pointer (RFC 6901).
    Field(String),
}

/// Which kinds of placeholder a place in the file allows.
#[derive(Debug, Clone, Copy)]
struct Allowed {
    parameters: bool,
    secrets: bool,
    fields: bool,
}

const CREDENTIALS: Allowed = Allowed { parameters: false, secrets: true, fields: false };
const REQUEST: Allowed = Allowed { parameters: true, secrets: false, fields: false };
const MESSAGE: Allowed = Allowed { parameters: true, secrets: false, fields: true };

impl Template {
    /// Parses `$name`, `${NAME}` and `${/json/pointer}` placeholders; a `$` followed by
    /// neither stays text.
    pub fn parse(source: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = source;
        while let Some(at) = rest.find('$') {
            text.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(inner) = after.strip_prefix('{') {
                let end = inner.find('}').ok_or_else(|| format!("'${{' without its '}}' in '{source}'"))?;
                let name = &inner[..end];
                let part = if name.starts_with('/') {
                    check_pointer(name)?;
                    Part::Field(name.to_owned())
                } else if is_secret_name(name) {
                    Part::Secret(name.to_owned())
                } else {
                    return Err(format!(
                        "'${{{name}}}' is neither a secret name (letters, digits, _) nor a JSON pointer (/order/status)"
                    ));
                };
                parts.extend((!text.is_empty()).then(|| Part::Text(std::mem::take(&mut text))));
                parts.push(part);
                rest = &inner[end + 1..];
                continue;
            }
            let len = after.find(|c: char| !is_parameter_char(c)).unwrap_or(after.len());
            if len == 0 {
                text.push('$');
            } else {
                parts.extend((!text.is_empty()).then(|| Part::Text(std::mem::take(&mut text))));
                parts.push(Part::Parameter(after[..len].to_owned()));
            }
            rest = &after[len..];
        }
        text.push_str(rest);
        parts.extend((!text.is_empty()).then_some(Part::Text(text)));
        Ok(Template { parts })
    }

    /// The pieces, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The names of the secrets it refers to.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Secret(name) => Some(name.as_str()),
            _ => None,
        })
    }

    /// The text with each placeholder replaced by what `fill` gives for it.
    pub fn render<E>(&self, mut fill: impl FnMut(&Part) -> Result<String, E>) -> Result<String, E> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                other => out.push_str(&fill(other)?),
            }
        }
        Ok(out)
    }

    /// Parses `source` at `field`, refusing placeholders the place does not allow.
    fn parse_at(source: &str, field: &str, allowed: Allowed) -> Result<Template, (String, String)> {
        let template = Template::parse(source).map_err(|e| (field.to_owned(), e))?;
        for part in &template.parts {
            let refused = match part {
                Part::Text(_) => None,
                Part::Parameter(name) if !allowed.parameters => {
                    Some(format!("parameters ('${name}') are not allowed here"))
                }
                Part::Secret(name) if !allowed.secrets => Some(format!(
                    "secrets ('${{{name}}}') are only allowed in 'auth' and 'headers', never in URLs, bodies or messages"
                )),
                Part::Field(pointer) if !allowed.fields => {
                    Some(format!("response fields ('${{{pointer}}}') are only allowed in a reply's messages"))
                }
                _ => None,
            };
            if let Some(message) = refused {
                return Err((field.to_owned(), message));
            }
        }
        Ok(template)
    }

    fn has_secret(&self) -> bool {
        self.secrets().next().is_some()
    }
}

/// Letters, digits, `-` and `_`: what a `$name` parameter reference is made of (as in
/// responses, [`crate::response::substitute`]).
fn is_parameter_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_'
}

fn is_secret_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_pointer(pointer: &str) -> Result<(), String> {
    if !pointer.starts_with('/') {
        return Err(format!("'{pointer}' is not a JSON pointer; write it like /order/status"));
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(format!("'{pointer}': '~' must be followed by 0 ('~') or 1 ('/')"));
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhook {
    #[serde(default)]
    kind: RawKind,
    url: String,
    #[serde(default = "default_timeout")]
    timeout_ms: u32,
    #[serde(default)]
    auth: Option<RawAuth>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    method: Option<RawMethod>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    reply: Option<RawReply>,
    #[serde(default)]
    on_status: BTreeMap<String, RawReply>,
}

fn default_timeout() -> u32 {
    5000
}

/// CX allows at most 30 s per webhook.
const MAX_TIMEOUT_MS: u32 = 30_000;

#[derive(Deserialize, Default, PartialEq)]
#[serde(rename_all = "lowercase")]
enum RawKind {
    #[default]
    Cx,
    Http,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
enum RawAuth {
    Bearer(String),
    Basic(RawBasic),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBasic {
    username: String,
    password: String,
}

#[derive(Deserialize)]
enum RawMethod {
    #[serde(rename = "GET", alias = "get")]
    Get,
    #[serde(rename = "POST", alias = "post")]
    Post,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReply {
    #[serde(default)]
    messages: Vec<String>,
    #[serde(default)]
    set: BTreeMap<String, String>,
}

/// Headers the edge sets itself.
const SET_BY_THE_EDGE: [&str; 4] = ["content-type", "content-length", "host", "accept"];

/// Whether a header by this name carries credentials, so its value must name a secret.
fn holds_credentials(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(name.as_str(), "authorization" | "proxy-authorization" | "cookie")
        || ["key", "token", "secret", "password"].iter().any(|w| name.contains(w))
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl RawWebhook {
    /// Checks the webhook `name`; errors are `(field path, message)`.
    pub(super) fn validate(self, name: &str) -> Result<Webhook, (String, String)> {
        let at = format!("webhooks.{name}");
        let fail = |field: String, message: String| Err((field, message));
        if !(1..=MAX_TIMEOUT_MS).contains(&self.timeout_ms) {
            return fail(format!("{at}.timeout_ms"), format!("{} is outside 1..={MAX_TIMEOUT_MS}", self.timeout_ms));
        }
        let auth = match self.auth {
            Some(RawAuth::Bearer(token)) => {
                let field = format!("{at}.auth.bearer");
                Some(Auth::Bearer(secret_template(&token, &field)?))
            }
            Some(RawAuth::Basic(basic)) => Some(Auth::Basic {
                username: Template::parse_at(&basic.username, &format!("{at}.auth.basic.username"), CREDENTIALS)?,
                password: secret_template(&basic.password, &format!("{at}.auth.basic.password"))?,
            }),
            None => None,
        };
        let mut headers = BTreeMap::new();
        for (header, value) in self.headers {
            let field = format!("{at}.headers.{header}");
            let lower = header.to_ascii_lowercase();
            if !is_header_name(&header) {
                return fail(field, format!("'{header}' is not a valid header name"));
            }
            if SET_BY_THE_EDGE.contains(&lower.as_str()) {
                return fail(field, format!("'{header}' is set by the edge and cannot be given"));
            }
            if lower == "authorization" && auth.is_some() {
                return fail(field, "give either 'auth' or an Authorization header, not both".into());
            }
            if value.contains(['\r', '\n']) {
                return fail(field, "a header value must be one line".into());
            }
            let template = Template::parse_at(&value, &field, CREDENTIALS)?;
            if holds_credentials(&header) && !template.has_secret() {
                return fail(field, secret_advice(&header));
            }
            headers.insert(header, template);
        }
        let lookup = match self.kind {
            RawKind::Cx => {
                let http_only = [
                    ("method", self.method.is_some()),
                    ("body", self.body.is_some()),
                    ("reply", self.reply.is_some()),
                    ("on_status", !self.on_status.is_empty()),
                ];
                if let Some((field, _)) = http_only.iter().find(|(_, given)| *given) {
                    return fail(
                        format!("{at}.{field}"),
                        "only a 'kind: http' lookup has this; a CX webhook is POSTed a WebhookRequest".into(),
                    );
                }
                None
            }
            RawKind::Http => Some(lookup(&at, &self.url, self.method, self.body, self.reply, self.on_status)?),
        };
        Ok(Webhook { url: self.url, timeout_ms: self.timeout_ms, auth, headers, lookup })
    }
}

/// A credential: a template that must name at least one secret.
fn secret_template(source: &str, field: &str) -> Result<Template, (String, String)> {
    let template = Template::parse_at(source, field, CREDENTIALS)?;
    if !template.has_secret() {
        let what = field.rsplit('.').next().unwrap_or_default();
        return Err((field.to_owned(), secret_advice(what)));
    }
    Ok(template)
}

fn secret_advice(what: &str) -> String {
    format!(
        "secrets do not belong in agent files: write a reference such as '${{ORDERS_TOKEN}}' for the {what} and \
         set that secret on the worker"
    )
}

fn lookup(
    at: &str,
    url: &str,
    method: Option<RawMethod>,
    body: Option<Value>,
    reply: Option<RawReply>,
    on_status: BTreeMap<String, RawReply>,
) -> Result<Lookup, (String, String)> {
    let url_field = format!("{at}.url");
    let template = Template::parse_at(url, &url_field, REQUEST)?;
    // The scheme and host are written out: a user's words may fill a path or query, never
    // choose the server.
    let fixed = match template.parts.first() {
        Some(Part::Text(text)) => text,
        _ => "",
    };
    let origin_fixed = ["http://", "https://"]
        .iter()
        .find_map(|scheme| fixed.strip_prefix(scheme))
        .is_some_and(|rest| rest.find(['/', '?', '#']).is_some_and(|end| end > 0));
    if !origin_fixed {
        return Err((
            url_field,
            format!("'{url}' must start with http:// or https:// and a host written out, then '/', '?' or '#'"),
        ));
    }
    let method = match method {
        Some(RawMethod::Post) => HttpMethod::Post,
        Some(RawMethod::Get) | None => HttpMethod::Get,
    };
    let body = match body {
        Some(_) if method == HttpMethod::Get => {
            return Err((format!("{at}.body"), "a GET request has no body; add 'method: POST'".into()));
        }
        Some(body) => Some(json_template(body, &format!("{at}.body"))?),
        None => None,
    };
    let Some(reply) = reply else {
        return Err((format!("{at}.reply"), "a 'kind: http' lookup needs a reply (messages, set)".into()));
    };
    let reply = lookup_reply(reply, &format!("{at}.reply"))?;
    let mut statuses = BTreeMap::new();
    for (status, reply) in on_status {
        let field = format!("{at}.on_status.{status}");
        let code = status.parse::<u16>().ok().filter(|c| (100..=599).contains(c));
        let Some(code) = code else {
            return Err((field, format!("'{status}' is not an HTTP status (100 to 599)")));
        };
        statuses.insert(code, lookup_reply(reply, &field)?);
    }
    Ok(Lookup { method, url: template, body, reply, on_status: statuses })
}

fn lookup_reply(raw: RawReply, at: &str) -> Result<LookupReply, (String, String)> {
    if raw.messages.is_empty() && raw.set.is_empty() {
        return Err((at.to_owned(), "needs 'messages', 'set' or both".into()));
    }
    let mut messages = Vec::with_capacity(raw.messages.len());
    for (i, message) in raw.messages.iter().enumerate() {
        messages.push(Template::parse_at(message, &format!("{at}.messages[{i}]"), MESSAGE)?);
    }
    for (parameter, pointer) in &raw.set {
        let field = format!("{at}.set.{parameter}");
        if parameter.is_empty() || !parameter.chars().all(is_parameter_char) {
            return Err((field, format!("'{parameter}' is not a parameter name (letters, digits, - and _)")));
        }
        check_pointer(pointer).map_err(|e| (field, e))?;
    }
    Ok(LookupReply { messages, set: raw.set })
}

fn json_template(value: Value, at: &str) -> Result<JsonTemplate, (String, String)> {
    Ok(match value {
        Value::String(s) => JsonTemplate::Text(Template::parse_at(&s, at, REQUEST)?),
        Value::Array(items) => JsonTemplate::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| json_template(v, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut fields = Vec::with_capacity(map.len());
            for (key, value) in map {
                let field = format!("{at}.{key}");
                fields.push((key, json_template(value, &field)?));
            }
            JsonTemplate::Object(fields)
        }
        other => JsonTemplate::Value(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_split_into_parameters_secrets_and_fields() {
        let t = Template::parse("Order $order-number: ${/order/status} (${TOKEN}) costs $ 5$").unwrap();
        assert_eq!(
            t.parts(),
            [
                Part::Text("Order ".into()),
                Part::Parameter("order-number".into()),
                Part::Text(": ".into()),
                Part::Field("/order/status".into()),
                Part::Text(" (".into()),
                Part::Secret("TOKEN".into()),
                Part::Text(") costs $ 5$".into()),
            ]
        );
        assert_eq!(t.secrets().collect::<Vec<_>>(), ["TOKEN"]);
        let out = t.render(|p| Ok::<_, ()>(format!("<{p:?}>"))).unwrap();
        assert!(out.starts_with("Order <Parameter(\"order-number\")>: <Field"), "{out}");
        for (bad, why) in
            [("${oops", "without its"), ("${two words}", "neither a secret name"), ("${/a~2}", "'~' must be followed")]
        {
            let err = Template::parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
