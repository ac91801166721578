//! Agent file parsing and validation.

use super::*;

const MINIMAL: &str = r#"{
  "name": "t",
  "fallback": ["?"],
  "webhook_error": ["!"],
  "intents": [ { "name": "Hi", "training_phrases": ["hello"], "responses": ["Hello!"] } ]
}"#;

#[test]
fn loads_a_trained_model_and_refuses_a_stale_one() {
    let agent = Agent::from_json(MINIMAL).unwrap();
    let model = agent.classifier().to_bytes();
    let loaded = Agent::from_json_with_model(MINIMAL, &model).unwrap();
    assert_eq!(loaded.classifier().classify("hello").unwrap().intent, 0);
    let changed = MINIMAL.replace("[\"hello\"]", "[\"hello\", \"hey\"]");
    let err = Agent::from_json_with_model(&changed, &model).unwrap_err();
    assert!(err.to_string().starts_with("model: the model was trained on other intents"), "{err}");
}

const MINIMAL_YAML: &str = "name: t
fallback: ['?']
webhook_error: ['!']
intents:
  - name: Hi
    training_phrases: [hello, hi there]
    responses: [Hello!]
";

#[test]
fn yaml_agents_read_like_json_ones() {
    let agent = Agent::from_yaml(MINIMAL_YAML).unwrap();
    assert_eq!(agent.intent("Hi").unwrap().responses, vec!["Hello!"]);
    assert_eq!(
        agent.fingerprint(),
        Agent::from_json(&MINIMAL.replace("[\"hello\"]", "[\"hello\", \"hi there\"]")).unwrap().fingerprint()
    );
    let err = Agent::from_yaml(&MINIMAL_YAML.replace("responses:", "responsez:")).unwrap_err();
    let AgentError::Syntax { line, message, .. } = &err else { panic!("{err:?}") };
    assert!(message.contains("responsez"), "{message}");
    assert!((5..=7).contains(line), "line {line}: {message}");
}

#[test]
fn accepts_a_minimal_agent() {
    let agent = Agent::from_json(MINIMAL).unwrap();
    assert_eq!(agent.intent("Hi").unwrap().responses, vec!["Hello!"]);
    assert_eq!(agent.language, "en");
}

#[test]
fn syntax_errors_name_line_column_and_field() {
    let text = MINIMAL.replace("\"responses\"", "\"responsez\"");
    let err = Agent::from_json(&text).unwrap_err();
    let AgentError::Syntax { line, message, .. } = &err else { panic!("{err:?}") };
    assert_eq!(*line, 5);
    assert!(message.contains("responsez"), "{message}");
}

#[test]
fn rejects_unknown_entity_with_the_choices() {
    let text = MINIMAL.replace(
        "\"responses\"",
        r#""parameters": [{"name": "n", "entity": "@sys.nmber", "mandatory": true, "prompts": ["n?"]}], "responses""#,
    );
    let err = Agent::from_json(&text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "intents[0].parameters[0].entity: unknown entity type '@sys.nmber'; expected one of @sys.number, @sys.date, @sys.time, @sys.email, @sys.phone-number, @sys.any"
    );
}

#[test]
fn custom_entities_are_defined_once_and_checked() {
    let text = MINIMAL
        .replace(
            "\"intents\"",
            r#""entities": { "service": { "values": [ { "value": "haircut", "synonyms": ["trim"] } ] },
                             "code": { "regex": "[A-Z]{3}-[0-9]{3}" } },
               "intents""#,
        )
        .replace(
            "\"responses\"",
            r#""parameters": [{"name": "s", "entity": "@service"}, {"name": "c", "entity": "@code"}], "responses""#,
        );
    let agent = Agent::from_json(&text).unwrap();
    let params = &agent.intents[0].parameters;
    assert_eq!(params[0].entity.find_all("a trim please")[0].value, "haircut");
    assert_eq!(params[1].entity.find_all("ref ABC-123 ok")[0].value, "ABC-123");

    let bad = text.replace("[A-Z]{3}-[0-9]{3}", "[A-Z");
    let err = Agent::from_json(&bad).unwrap_err().to_string();
    assert!(err.starts_with("entities.code.regex: invalid pattern"), "{err}");
    let unknown = text.replace("\"@code\"", "\"@colour\"");
    let err = Agent::from_json(&unknown).unwrap_err().to_string();
    assert!(err.ends_with("@sys.any, @code, @service"), "{err}");
}

#[test]
fn rejects_mandatory_parameter_without_prompt() {
    let text = MINIMAL.replace(
        "\"responses\"",
        r#""parameters": [{"name": "n", "entity": "@sys.number", "mandatory": true}], "responses""#,
    );
    let err = Agent::from_json(&text).unwrap_err();
    assert_eq!(err.to_string(), "intents[0].parameters[0].prompts: mandatory parameter 'n' needs a prompt");
}

#[test]
fn rejects_unknown_webhook_and_duplicate_intents() {
    let text = MINIMAL.replace("\"responses\"", r#""fulfillment": {"webhook": "nope", "tag": "t"}, "responses""#);
    let err = Agent::from_json(&text).unwrap_err();
    assert_eq!(err.to_string(), "intents[0].fulfillment.webhook: unknown webhook 'nope'; expected one of []");

    let dup = MINIMAL.replace(
        "\"intents\": [ ",
        r#""intents": [ { "name": "Hi", "training_phrases": ["hey"], "responses": ["Hey"] }, "#,
    );
    let err = Agent::from_json(&dup).unwrap_err();
    assert_eq!(err.to_string(), "intents[1].name: duplicate intent 'Hi'");
}

const LOOKUP_YAML: &str = "name: shop
fallback: ['?']
webhook_error: ['Sorry, try again later.']
webhooks:
  orders:
    kind: http
    url: https://api.shop.example/orders/$order-number?lang=en
    timeout_ms: 3000
    auth: { bearer: '${ORDERS_TOKEN}' }
    headers: { X-Shop: demo, X-Api-Key: '${SHOP_KEY}' }
    reply:
      messages: ['Order $order-number is ${/status}.']
      set: { order-status: /status }
    on_status:
      404: { messages: ['There is no order $order-number.'] }
  crm:
    url: https://crm.example/cx
    auth: { basic: { username: switchboard, password: '${CRM_PASSWORD}' } }
intents:
  - name: Track
    training_phrases: [where is my order]
    parameters:
      - { name: order-number, entity: '@sys.number', mandatory: true, prompts: ['Order number?'] }
    fulfillment: { webhook: orders, tag: track }
";

#[test]
fn webhooks_take_auth_headers_and_declarative_lookups() {
    let agent = Agent::from_yaml(LOOKUP_YAML).unwrap();
    let orders = &agent.webhooks["orders"];
    assert_eq!(orders.timeout_ms, 3000);
    assert_eq!(orders.auth, Some(Auth::Bearer(Template::parse("${ORDERS_TOKEN}").unwrap())));
    assert_eq!(orders.headers["X-Shop"].parts(), [Part::Text("demo".into())]);
    let lookup = orders.lookup.as_ref().unwrap();
    assert_eq!(lookup.method, HttpMethod::Get);
    assert_eq!(lookup.url.parts()[1], Part::Parameter("order-number".into()));
    assert_eq!(lookup.reply.set["order-status"], "/status");
    assert_eq!(lookup.on_status[&404].messages.len(), 1);
    let crm = &agent.webhooks["crm"];
    assert!(crm.lookup.is_none());
    assert_eq!(crm.timeout_ms, 5000);
    assert_eq!(agent.secret_names().into_iter().collect::<Vec<_>>(), ["CRM_PASSWORD", "ORDERS_TOKEN", "SHOP_KEY"]);
}

#[test]
fn webhook_mistakes_name_their_field() {
    let cases = [
        (
            "bearer: '${ORDERS_TOKEN}'",
            "bearer: sk_live_123",
            "webhooks.orders.auth.bearer: secrets do not belong in agent files",
        ),
        ("bearer: '${ORDERS_TOKEN}'", "bearer: '${ORDERS TOKEN}'", "webhooks.orders.auth.bearer: '${ORDERS TOKEN}'"),
        ("password: '${CRM_PASSWORD}'", "password: hunter2", "webhooks.crm.auth.basic.password: secrets do not"),
        ("X-Api-Key: '${SHOP_KEY}'", "X-Api-Key: abc", "webhooks.orders.headers.X-Api-Key: secrets do not"),
        ("X-Shop: demo", "Content-Type: text/plain", "webhooks.orders.headers.Content-Type: 'Content-Type' is set"),
        ("X-Shop: demo", "Authorization: '${X}'", "webhooks.orders.headers.Authorization: give either 'auth'"),
        ("X-Shop: demo", "X-Shop: $order-number", "webhooks.orders.headers.X-Shop: parameters ('$order-number')"),
        ("https://api.shop.example/orders/", "https://$host/orders/", "webhooks.orders.url: 'https://$host/orders/"),
        ("?lang=en", "?key=${SHOP_KEY}", "webhooks.orders.url: secrets ('${SHOP_KEY}') are only allowed"),
        ("is ${/status}.", "is ${status}.", "webhooks.orders.reply.messages[0]: secrets ('${status}')"),
        ("is ${/status}.", "is ${/sta~tus}.", "webhooks.orders.reply.messages[0]: '/sta~tus'"),
        ("order-status: /status", "order-status: status", "webhooks.orders.reply.set.order-status: 'status'"),
        ("404: {", "4040: {", "webhooks.orders.on_status.4040: '4040' is not an HTTP status"),
        ("timeout_ms: 3000", "timeout_ms: 0", "webhooks.orders.timeout_ms: 0 is outside 1..=30000"),
        (
            "timeout_ms: 3000",
            "timeout_ms: 3000\n    body: { id: $order-number }",
            "webhooks.orders.body: a GET request",
        ),
        ("    kind: http\n", "", "webhooks.orders.reply: only a 'kind: http' lookup"),
    ];
    for (from, to, want) in cases {
        assert!(LOOKUP_YAML.contains(from), "{from}");
        let err = Agent::from_yaml(&LOOKUP_YAML.replacen(from, to, 1)).unwrap_err().to_string();
        assert!(err.starts_with(want), "{to}: {err}");
    }
    let err = Agent::from_yaml(&LOOKUP_YAML.replace("kind: http", "kind: grpc")).unwrap_err();
    assert!(matches!(err, AgentError::Syntax { .. }), "{err}");
    let post =
        LOOKUP_YAML.replace("timeout_ms: 3000", "method: POST\n    body: { id: $order-number, items: [a, '$x'] }");
    let agent = Agent::from_yaml(&post).unwrap();
    let lookup = agent.webhooks["orders"].lookup.clone().unwrap();
    assert_eq!(lookup.method, HttpMethod::Post);
    let Some(JsonTemplate::Object(fields)) = lookup.body else { panic!("{:?}", lookup.body) };
    assert_eq!(fields[0], ("id".into(), JsonTemplate::Text(Template::parse("$order-number").unwrap())));
}

#[test]
fn deeply_nested_agent_files_are_errors_not_stack_overflows() {
    // Nesting 100,000 deep: serde_json stops at 128 levels, serde-saphyr at 64 (block) or its
    // flow-nesting limit, with an error rather than a stack overflow. The webhook `body` is a
    // free-form value, so the nesting gets past the agent's own fields.
    let deep = 100_000;
    let nested = |open: &str, close: &str| format!("{}1{}", open.repeat(deep), close.repeat(deep));
    let json_body = |body: &str| {
        let hook =
            format!(r#""webhooks": {{ "h": {{ "kind": "http", "url": "https://example.com", "body": {body} }} }}"#);
        MINIMAL.replace(r#""intents""#, &format!("{hook}, \"intents\""))
    };
    for text in [json_body(&nested("[", "]")), json_body(&nested(r#"{"a":"#, "}"))] {
        let err = Agent::from_json(&text).unwrap_err();
        assert!(err.to_string().ends_with("recursion limit exceeded"), "{err}");
    }
    assert!(Agent::from_json(&nested("[", "]")).is_err());

    let yaml_body = |body: &str| {
        format!("{MINIMAL_YAML}webhooks:\n  h:\n    kind: http\n    url: https://example.com\n    body: {body}\n")
    };
    // Block nesting needs an indent per level: 2,000 levels (2 MB) are deep enough.
    let block: String = (6..2_006).map(|d| format!("\n{}a:", " ".repeat(d))).collect();
    for text in [
        yaml_body(&nested("[", "]")),
        yaml_body(&nested("{a: ", "}")),
        yaml_body(&format!("\n      {}x", "- ".repeat(deep))),
        yaml_body(&block),
    ] {
        let err = Agent::from_yaml(&text).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("recursion limit exceeded") || message.contains("Depth"), "{message}");
    }
    assert!(Agent::from_yaml(&nested("[", "]")).is_err());
}

#[test]
fn a_model_for_more_intents_than_the_agent_has_is_refused() {
    // The fingerprint is the model file's own claim; a model with other classes must not load,
    // or its answers would name intents the agent does not have.
    let agent = Agent::from_json(MINIMAL).unwrap();
    let other = crate::nlu::IntentClassifier::train([(0, "hello"), (1, "bye"), (2, "where is my order")])
        .with_fingerprint(agent.fingerprint());
    let err = Agent::from_json_with_model(MINIMAL, &other.to_bytes()).unwrap_err();
    assert!(err.to_string().starts_with("model: the model was trained on other intents"), "{err}");
}

#[test]
fn more_intents_than_the_classifier_can_number_is_an_error() {
    let intents: Vec<String> = (0..65_536)
        .map(|i| format!(r#"{{ "name": "I{i}", "training_phrases": ["p{i}"], "responses": ["r"] }}"#))
        .collect();
    let text = MINIMAL.replace(
        r#"[ { "name": "Hi", "training_phrases": ["hello"], "responses": ["Hello!"] } ]"#,
        &format!("[{}]", intents.join(",")),
    );
    let err = Agent::from_json(&text).unwrap_err();
    assert_eq!(err.to_string(), "intents: 65536 intents; at most 65,535");
}
