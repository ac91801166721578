// A mobile app's side of a conversation over Switchboard's REST API (the API the widget
// uses; reference: edge/openapi.json, served at /v1/openapi.json). Runnable with Node >= 18:
//
//   node docs/examples/mobile-app.mjs http://127.0.0.1:8787 [visitor-id from an earlier run]
//
// An iOS or Android app does the same with its HTTP client: keep the visitor id the server
// issues in the app's storage (a credential: the first open goes without one, and the latest
// one returned is the one to keep), or let the app's backend sign a JWT for the signed-in user
// and pass it as `jwt`;
// open or resume the conversation, send what the user types or taps (a quick reply sends its
// payload), show the replies, and on resume fetch what is newer with `?after=`.
// The test `cargo test -p switchboard-e2e --test channels` runs this file against the worker.

const base = process.argv[2] ?? 'http://127.0.0.1:8787';
const visitorId = process.argv[3];

async function api(method, path, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(base + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    const { error } = await response.json();
    throw new Error(`${method} ${path}: ${response.status} ${error.code}: ${error.message}`);
  }
  return response.status === 204 ? null : response.json();
}

function show(message) {
  console.log(`bot> ${message.text}`);
  const choices = (message.quick_replies ?? []).map((q) => `[${q.label}]`);
  if (choices.length) console.log(`     ${choices.join(' ')}`);
}

// 1. Open (201) or resume (200) the visitor's conversation; the welcome comes with it.
const opened = await api('POST', '/v1/conversations', { channel: 'web', visitor_id: visitorId });
const { conversation_id: id, token } = opened;
console.log(`conversation ${id} (user ${opened.user_id}; keep visitor id ${opened.visitor_id})`);
opened.messages.forEach(show);

// 2. The user taps the first quick reply, then types an order number.
const tapped = opened.messages.at(-1)?.quick_replies?.[0];
let last = opened.messages.at(-1)?.id;
for (const send of [
  { text: tapped?.label ?? 'Where is my order?', payload: tapped?.payload },
  { text: '123456' },
]) {
  console.log(`you> ${send.text}`);
  const { messages } = await api('POST', `/v1/conversations/${id}/messages`, send, token);
  messages.forEach(show);
  last = messages.at(-1)?.id ?? last;
}

// 3. Back in the foreground later: anything newer than the last message shown (a human
//    agent's answer, or a turn on another channel of the same user).
const { messages: newer } = await api('GET', `/v1/conversations/${id}/messages?after=${last}`, undefined, token);
console.log(`${newer.length} newer message(s)`);

// 4. "Was this helpful?"
await api('POST', `/v1/conversations/${id}/feedback`, { message_id: last, helpful: true }, token);
console.log('feedback sent');
