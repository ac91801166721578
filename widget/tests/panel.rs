//! Component tests of the connected panel ([`ChatPanel`]) in headless Chromium, against a
//! scripted API standing in for `fetch` (one per made-up origin, so tests do not meet): the
//! visitor credential the API issues and rotates, and conversation tokens that expire.

use leptos::prelude::*;
use switchboard_dialog::protocol::Identify;
use switchboard_widget::api::Client;
use switchboard_widget::panel::{ChatPanel, Command};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

/// The scripted API. `window.fetch` answers for the origins in `window.__apis` like the edge
/// does: opening returns conversation `c1` with a fresh token `t<n>` and visitor credential
/// `v<n>`; a call with a token that is not live (see `expire`, `refuse`) gets a 401. Every
/// request is logged as one line of words, when answered. While `holdOpens` is set, opening
/// requests wait until the test calls one of the functions in `held` (in arrival order).
const FAKE_API: &str = r#"
if (!window.__apis) {
  window.__apis = {};
  const original = window.fetch;
  window.fetch = async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input.url);
    const api = window.__apis[url.origin];
    if (!api) return original(input, init);
    const token = (new Headers(init && init.headers).get('Authorization') || '').replace('Bearer ', '');
    const body = init && init.body ? JSON.parse(init.body) : null;
    if (api.holdOpens && url.pathname === '/v1/conversations') await new Promise((go) => api.held.push(go));
    const [line, status, json] = api.answer(url.pathname + url.search, token, body);
    api.log.push(line + ' -> ' + status);
    return new Response(JSON.stringify(json), { status, headers: { 'Content-Type': 'application/json' } });
  };
}
window.__fakeApi = (origin) => {
  const api = { log: [], opens: 0, identifies: 0, seq: 1, live: new Set(), refuse: false, status: 'bot',
    history: [], pending: [], identifyVisitor: '', holdOpens: false, held: [] };
  const message = (role, text) => ({ id: 'm' + api.seq++, role, text, ts: 0 });
  api.history.push(message('bot', 'Welcome!'));
  const created = (token, visitor) => {
    api.live.add(token);
    return { conversation_id: 'c1', token, user_id: 'u1', visitor_id: visitor, messages: api.history.slice(),
      status: api.status };
  };
  api.expire = () => api.live.clear();
  api.answer = (path, token, body) => {
    if (path === '/v1/conversations') {
      api.opens += 1;
      const line = 'open visitor=' + (body.visitor_id || 'none') + (body.user_id ? ' user=' + body.user_id : '');
      return [line, 201, created('t' + api.opens, 'v' + api.opens)];
    }
    const action = path.replace('/v1/conversations/c1/', '');
    const what = action.startsWith('messages?') ? 'poll' : body && body.text !== undefined ? 'send' : action;
    const line = [what, token, body && (body.text || body.message_id || body.user_id)].filter(Boolean).join(' ');
    if (api.refuse || !api.live.has(token)) {
      return [line, 401, { error: { code: 'unauthorized', message: 'token expired' } }];
    }
    if (what === 'send') {
      const reply = message('bot', 'echo: ' + body.text);
      api.history.push(message('user', body.text), reply);
      return [line, 200, { messages: [reply], status: api.status }];
    }
    if (what === 'poll') {
      const news = api.pending.splice(0).map((text) => message('agent', text));
      api.history.push(...news);
      return [line, 200, { messages: news, status: api.status }];
    }
    if (what === 'identify') {
      api.identifies += 1;
      return [line, 200, created('ti' + api.identifies, api.identifyVisitor)];
    }
    return [line, 200, {}];
  };
  window.__apis[origin] = api;
};
"#;

/// Installs the scripted API for `origin`.
fn fake(origin: &str) {
    js_sys::eval(FAKE_API).unwrap();
    js_sys::eval(&format!("window.__fakeApi({origin:?})")).unwrap();
}

/// Runs `script` with `api` bound to the scripted API of `origin`.
fn with_api(origin: &str, script: &str) -> wasm_bindgen::JsValue {
    js_sys::eval(&format!("(() => {{ const api = window.__apis[{origin:?}]; {script} }})()")).unwrap()
}

/// The requests the API got, one line each (`send t1 hello -> 401`).
fn log(origin: &str) -> Vec<String> {
    let json = with_api(origin, "return JSON.stringify(api.log);").as_string().unwrap();
    serde_json::from_str(&json).unwrap()
}

/// The visitor credential stored for `origin`.
fn stored_visitor(origin: &str) -> Option<String> {
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    storage.get_item(&["switchboard:visitor:", origin].concat()).unwrap()
}

/// Lets Leptos' effects and the fake's promises run.
async fn settle() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window().unwrap().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 10).unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

/// Waits for `done`, at most `steps` times [`settle`], so that a test that cannot succeed
/// fails with `what` (the runner gives the whole file 20 s).
async fn wait(what: &str, steps: usize, mut done: impl FnMut() -> bool) {
    for _ in 0..steps {
        if done() {
            return;
        }
        settle().await;
    }
    panic!("never happened: {what}");
}

/// Waits for what follows at once from the last step (the fake answers without delay).
async fn until(what: &str, done: impl FnMut() -> bool) {
    wait(what, 200, done).await;
}

/// Waits for what the panel's next poll brings (it polls every 3 s).
async fn until_next_poll(what: &str, done: impl FnMut() -> bool) {
    wait(what, 600, done).await;
}

/// A panel talking to the scripted API at `origin`.
struct Panel {
    origin: String,
    root: HtmlElement,
    commands: RwSignal<Vec<Command>>,
}

impl Panel {
    fn mount(origin: &str) -> Self {
        let document = web_sys::window().unwrap().document().unwrap();
        let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
        document.body().unwrap().append_child(&root).unwrap();
        let commands = RwSignal::new(Vec::new());
        let client = Client::new(origin.to_owned());
        let on_event = Callback::new(|_| {});
        leptos::mount::mount_to(root.clone(), move || {
            view! {
                <ChatPanel client=client title="Shop".to_owned() avatar=String::new() commands=commands
                    on_event=on_event />
            }
        })
        .forget();
        Self { origin: origin.to_owned(), root, commands }
    }

    fn command(&self, command: Command) {
        self.commands.update(|c| c.push(command));
    }

    fn texts(&self, selector: &str) -> Vec<String> {
        let list = self.root.query_selector_all(selector).unwrap();
        (0..list.length()).map(|i| list.item(i).unwrap().text_content().unwrap_or_default()).collect()
    }

    fn log(&self) -> Vec<String> {
        log(&self.origin)
    }

    /// Mounts, waits until the conversation is open, and lets its tokens expire.
    async fn opened_then_expired(origin: &str) -> Self {
        fake(origin);
        let panel = Self::mount(origin);
        until("the welcome", || panel.texts(".sb-bot .sb-text") == ["Welcome!"]).await;
        assert_eq!(panel.log(), ["open visitor=none -> 201"]);
        with_api(origin, "api.expire();");
        panel
    }
}

#[wasm_bindgen_test]
async fn a_send_refused_for_an_expired_token_reconnects_and_goes_out_once() {
    let origin = "https://send-expired.test";
    let panel = Panel::opened_then_expired(origin).await;
    assert_eq!(stored_visitor(origin).as_deref(), Some("v1"));

    panel.command(Command::SendMessage("hello".into()));
    let replied = || panel.texts(".sb-bot .sb-text").contains(&"echo: hello".to_owned());
    until("the reply or an error", || replied() || !panel.texts(".sb-error").is_empty()).await;
    assert_eq!(
        panel.log(),
        ["open visitor=none -> 201", "send t1 hello -> 401", "open visitor=v1 -> 201", "send t2 hello -> 200"],
        "one reconnect with the stored visitor, then the same message again"
    );
    assert_eq!(panel.texts(".sb-user .sb-text"), ["hello"], "shown once");
    assert_eq!(panel.texts(".sb-bot .sb-text"), ["Welcome!", "echo: hello"]);
    assert_eq!(stored_visitor(origin).as_deref(), Some("v2"), "the reopening's credential replaces the old");
    assert!(panel.texts(".sb-error").is_empty(), "{:?}", panel.texts(".sb-error"));

    // The next message uses the new token straight away.
    panel.command(Command::SendMessage("again".into()));
    until("the second reply", || panel.texts(".sb-bot .sb-text").contains(&"echo: again".to_owned())).await;
    assert_eq!(panel.log().last().map(String::as_str), Some("send t2 again -> 200"));
}

#[wasm_bindgen_test]
async fn a_token_refused_again_after_reconnecting_is_an_error_not_a_loop() {
    let origin = "https://send-refused.test";
    let panel = Panel::opened_then_expired(origin).await;
    with_api(origin, "api.refuse = true;");

    panel.command(Command::SendMessage("hello".into()));
    until("an error", || !panel.texts(".sb-error").is_empty()).await;
    for _ in 0..20 {
        settle().await;
    }
    assert_eq!(
        panel.log(),
        ["open visitor=none -> 201", "send t1 hello -> 401", "open visitor=v1 -> 201", "send t2 hello -> 401"]
    );
    assert_eq!(panel.texts(".sb-error"), ["The assistant is having trouble. Please try again. (unauthorized)"]);
    assert_eq!(panel.texts(".sb-user .sb-text"), ["hello"], "the message stays in the log");
}

#[wasm_bindgen_test]
async fn polling_reconnects_on_an_expired_token_rather_than_stopping() {
    let origin = "https://poll-expired.test";
    fake(origin);
    with_api(origin, "api.status = 'human';");
    let panel = Panel::mount(origin);
    until("the welcome", || panel.texts(".sb-bot .sb-text") == ["Welcome!"]).await;
    with_api(origin, "api.expire(); api.pending.push('Anna here, how can I help?');");

    until_next_poll("the first poll", || panel.log().len() >= 2).await;
    until("the reopening after its 401", || panel.log().len() >= 3).await;
    until_next_poll("the agent's message", || {
        panel.texts(".sb-text").contains(&"Anna here, how can I help?".to_owned())
    })
    .await;
    assert_eq!(panel.log(), ["open visitor=none -> 201", "poll t1 -> 401", "open visitor=v1 -> 201", "poll t2 -> 200"]);
    assert_eq!(panel.texts(".sb-text").iter().filter(|t| t.starts_with("Anna here")).count(), 1);
}

#[wasm_bindgen_test]
async fn a_vote_refused_for_an_expired_token_is_cast_again() {
    let origin = "https://feedback-expired.test";
    let panel = Panel::opened_then_expired(origin).await;
    let thumb: HtmlElement = panel.root.query_selector("[data-id=m1] .sb-vote").unwrap().unwrap().unchecked_into();
    thumb.click();
    until("the vote again", || panel.log().len() == 4).await;
    assert_eq!(
        panel.log(),
        ["open visitor=none -> 201", "feedback t1 m1 -> 401", "open visitor=v1 -> 201", "feedback t2 m1 -> 200"]
    );
}

fn identity() -> Identify {
    Identify { user_id: Some("42".into()), user_hash: Some("ab12".into()), ..Identify::default() }
}

#[wasm_bindgen_test]
async fn identify_stores_the_rotated_credential_and_an_empty_one_keeps_it() {
    let origin = "https://identify.test";
    fake(origin);
    let panel = Panel::mount(origin);
    until("the welcome", || panel.texts(".sb-bot .sb-text") == ["Welcome!"]).await;
    assert_eq!(stored_visitor(origin).as_deref(), Some("v1"));

    with_api(origin, "api.identifyVisitor = 'v-signed-42';");
    panel.command(Command::Identify(identity()));
    until("the new credential stored", || stored_visitor(origin).as_deref() == Some("v-signed-42")).await;

    // An empty visitor_id keeps the stored one; the identified conversation's token is used.
    with_api(origin, "api.identifyVisitor = '';");
    panel.command(Command::Identify(identity()));
    until("the second identify", || panel.log().len() == 3).await;
    panel.command(Command::SendMessage("hello".into()));
    until("the reply", || panel.texts(".sb-bot .sb-text").contains(&"echo: hello".to_owned())).await;
    assert_eq!(
        panel.log(),
        ["open visitor=none -> 201", "identify t1 42 -> 200", "identify ti1 42 -> 200", "send ti2 hello -> 200"]
    );
    assert_eq!(stored_visitor(origin).as_deref(), Some("v-signed-42"));

    // Shutdown forgets the visitor and starts afresh.
    panel.command(Command::Shutdown);
    until("a new conversation", || panel.log().len() == 5).await;
    assert_eq!(panel.log().last().map(String::as_str), Some("open visitor=none -> 201"));
    until("the new visitor stored", || stored_visitor(origin).as_deref() == Some("v2")).await;
}

#[wasm_bindgen_test]
async fn identify_with_an_expired_token_opens_again_with_the_identity() {
    let origin = "https://identify-expired.test";
    let panel = Panel::opened_then_expired(origin).await;
    with_api(origin, "api.identifyVisitor = 'v-signed-42';");
    panel.command(Command::Identify(identity()));
    until("the reopening", || panel.log().len() == 3).await;
    assert_eq!(panel.log(), ["open visitor=none -> 201", "identify t1 42 -> 401", "open visitor=v1 user=42 -> 201"]);
    until("the reopening's credential stored", || stored_visitor(origin).as_deref() == Some("v2")).await;
}

/// How many opening requests wait in the scripted API.
fn held(origin: &str) -> f64 {
    with_api(origin, "return api.held.length;").as_f64().unwrap()
}

#[wasm_bindgen_test]
async fn a_send_refused_while_polling_renews_waits_for_that_renewal() {
    let origin = "https://renewing.test";
    fake(origin);
    with_api(origin, "api.status = 'human';");
    let panel = Panel::mount(origin);
    until("the welcome", || panel.texts(".sb-bot .sb-text") == ["Welcome!"]).await;
    with_api(origin, "api.expire(); api.holdOpens = true;");
    until_next_poll("the first poll", || panel.log().len() == 2).await;
    until("polling's renewal", || held(origin) == 1.0).await;

    // The message is refused with the old token while that renewal is under way: it waits for
    // it rather than going out again with the old token.
    panel.command(Command::SendMessage("hello".into()));
    until("the refusal", || panel.log().len() >= 3).await;
    for _ in 0..20 {
        settle().await;
    }
    assert_eq!(panel.log(), ["open visitor=none -> 201", "poll t1 -> 401", "send t1 hello -> 401"]);
    assert_eq!(held(origin), 1.0, "one renewal at a time");

    with_api(origin, "api.held.shift()();");
    until("the reply", || panel.texts(".sb-bot .sb-text").contains(&"echo: hello".to_owned())).await;
    let log: Vec<String> = panel.log().into_iter().filter(|l| !l.starts_with("poll t2")).collect();
    assert_eq!(
        log,
        [
            "open visitor=none -> 201",
            "poll t1 -> 401",
            "send t1 hello -> 401",
            "open visitor=v1 -> 201",
            "send t2 hello -> 200"
        ]
    );
    assert_eq!(panel.texts(".sb-user .sb-text"), ["hello"]);
}

#[wasm_bindgen_test]
async fn a_renewal_answered_after_a_shutdown_does_not_bring_the_old_visitor_back() {
    let origin = "https://renewal-shutdown.test";
    let panel = Panel::opened_then_expired(origin).await;
    with_api(origin, "api.holdOpens = true;");
    panel.command(Command::SendMessage("hello".into()));
    until("the renewal", || held(origin) == 1.0).await;
    panel.command(Command::Shutdown);
    until("the new visitor's opening", || held(origin) == 2.0).await;

    // The new visitor's conversation opens first (v2); the old one's renewal (v3) comes late.
    with_api(origin, "api.held.splice(1, 1)[0]();");
    until("the new visitor stored", || stored_visitor(origin).as_deref() == Some("v2")).await;
    with_api(origin, "api.held.shift()();");
    until("the late renewal answered", || panel.log().len() == 4).await;
    for _ in 0..20 {
        settle().await;
    }
    assert_eq!(
        panel.log(),
        ["open visitor=none -> 201", "send t1 hello -> 401", "open visitor=none -> 201", "open visitor=v1 -> 201"]
    );
    assert_eq!(stored_visitor(origin).as_deref(), Some("v2"), "the old visitor's credential stays forgotten");
    assert!(panel.texts(".sb-user .sb-text").is_empty(), "{:?}", panel.texts(".sb-user .sb-text"));
}
