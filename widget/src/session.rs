//! What the widget remembers in the browser: the anonymous visitor's credential (the
//! `visitor_id` the API issues), per API endpoint.
//! The conversation itself lives at the edge, so a reload or another page resumes it.

fn key(endpoint: &str) -> String {
    ["switchboard:visitor:", endpoint].concat()
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The visitor id stored for `endpoint`, if any (none when storage is blocked).
pub fn visitor_id(endpoint: &str) -> Option<String> {
    storage()?.get_item(&key(endpoint)).ok()?
}

/// Remembers the visitor credential the API issued, replacing the stored one (the API may
/// rotate it on any open or identify); an empty one means "keep what you have".
pub fn remember_visitor(endpoint: &str, visitor_id: &str) {
    if visitor_id.is_empty() {
        return;
    }
    if let Some(s) = storage() {
        // Private modes may refuse to store; the conversation then lasts for the page view.
        let _ = s.set_item(&key(endpoint), visitor_id);
    }
}

/// Forgets the visitor (logout): the next visit starts as a new visitor.
pub fn forget(endpoint: &str) {
    if let Some(s) = storage() {
        let _ = s.remove_item(&key(endpoint));
    }
}
