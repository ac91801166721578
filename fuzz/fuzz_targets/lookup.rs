//! Declarative HTTP lookups (`kind: http`): the request built from session parameters, the answer mapped.
//!
//! The first line is the session parameters (a JSON object: what users said), the second the
//! response's status, the rest its body (what the shop's API answered). Whatever the
//! parameters, the request goes to the host the agent names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_edge::lookup;
use switchboard_edge::ports::HttpResponse;
use switchboard_fuzz::lookups;

fuzz_target!(|text: &str| {
    let mut lines = text.splitn(3, '\n');
    let parameters = serde_json::from_str(lines.next().unwrap_or_default()).unwrap_or_default();
    let status = lines.next().and_then(|s| s.trim().parse().ok()).unwrap_or(200);
    let response = HttpResponse { status, body: lines.next().unwrap_or_default().as_bytes().to_vec() };
    for (origin, definition) in lookups() {
        if let Ok(request) = lookup::request(definition, Vec::new(), 5000, &parameters) {
            assert!(request.url.starts_with(origin), "{} left {origin}", request.url);
        }
        let _ = lookup::answer(definition, &parameters, &response);
    }
});
