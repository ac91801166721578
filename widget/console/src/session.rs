//! Tokens kept in `sessionStorage`: they last as long as the browser tab, survive a reload, and
//! are gone when the tab closes (an agent console is often a shared machine).

/// The key of the agent token.
pub const AGENT_TOKEN: &str = "switchboard.console.agent-token";
/// The key of the signed-in agent's name, learnt from a claim.
pub const AGENT_NAME: &str = "switchboard.console.agent-name";
/// The key of the admin token (the dashboard).
pub const ADMIN_TOKEN: &str = "switchboard.console.admin-token";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// The token stored under `key`, if any.
pub fn load(key: &str) -> Option<String> {
    storage()?.get_item(key).ok()?.filter(|t| !t.is_empty())
}

/// Stores `token` under `key`.
pub fn save(key: &str, token: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(key, token);
    }
}

/// Forgets the token under `key` (sign out, or refused by the API).
pub fn forget(key: &str) {
    if let Some(s) = storage() {
        let _ = s.remove_item(key);
    }
}
