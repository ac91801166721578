//! The relays' settings: credentials from wrangler secrets, API base URLs from variables (tests
//! point them at servers on loopback). docs/channels.md says which to set for which channel.

/// Names of the relays' variables and secrets.
pub mod names {
    /// Secret: the Meta app's secret, which signs Messenger and WhatsApp deliveries.
    pub const META_APP_SECRET: &str = "META_APP_SECRET";
    /// Secret: the token Meta's subscription handshake must present.
    pub const META_VERIFY_TOKEN: &str = "META_VERIFY_TOKEN";
    /// Secret: the Messenger page access token (sends).
    pub const MESSENGER_PAGE_TOKEN: &str = "MESSENGER_PAGE_TOKEN";
    /// Secret: the WhatsApp Cloud API access token (sends).
    pub const WHATSAPP_TOKEN: &str = "WHATSAPP_TOKEN";
    /// Variable: Graph API base URL.
    pub const GRAPH_API_URL: &str = "GRAPH_API_URL";
    /// Variable: Graph API version, like `v21.0`.
    pub const GRAPH_API_VERSION: &str = "GRAPH_API_VERSION";
    /// Secret: the Telegram bot token (sends).
    pub const TELEGRAM_BOT_TOKEN: &str = "TELEGRAM_BOT_TOKEN";
    /// Secret: the `secret_token` given to Telegram's `setWebhook`.
    pub const TELEGRAM_SECRET_TOKEN: &str = "TELEGRAM_SECRET_TOKEN";
    /// Variable: Telegram Bot API base URL.
    pub const TELEGRAM_API_URL: &str = "TELEGRAM_API_URL";
    /// Secret: the Twilio auth token, which signs Twilio's requests and authenticates sends.
    pub const TWILIO_AUTH_TOKEN: &str = "TWILIO_AUTH_TOKEN";
    /// Variable: the Twilio account SID (sends).
    pub const TWILIO_ACCOUNT_SID: &str = "TWILIO_ACCOUNT_SID";
    /// Variable: Twilio REST API base URL.
    pub const TWILIO_API_URL: &str = "TWILIO_API_URL";
    /// Variable: the number a voice call is handed to (`<Dial>`), E.164.
    pub const TWILIO_HANDOFF_NUMBER: &str = "TWILIO_HANDOFF_NUMBER";
    /// Variable: the language of speech recognition and `<Say>`, like `en-US`.
    pub const VOICE_LANGUAGE: &str = "VOICE_LANGUAGE";
    /// Variable: the worker's public origin (`https://bot.example.com`) when a proxy changes
    /// the URL the worker sees; Twilio signs the URL it called.
    pub const PUBLIC_URL: &str = "PUBLIC_URL";

    /// Every name above.
    pub const ALL: &[&str] = &[
        META_APP_SECRET,
        META_VERIFY_TOKEN,
        MESSENGER_PAGE_TOKEN,
        WHATSAPP_TOKEN,
        GRAPH_API_URL,
        GRAPH_API_VERSION,
        TELEGRAM_BOT_TOKEN,
        TELEGRAM_SECRET_TOKEN,
        TELEGRAM_API_URL,
        TWILIO_AUTH_TOKEN,
        TWILIO_ACCOUNT_SID,
        TWILIO_API_URL,
        TWILIO_HANDOFF_NUMBER,
        VOICE_LANGUAGE,
        PUBLIC_URL,
    ];
}

/// The relays' settings; a channel without its credentials refuses deliveries (501).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Signs Messenger and WhatsApp deliveries.
    pub meta_app_secret: Option<String>,
    /// Meta's subscription handshake token.
    pub meta_verify_token: Option<String>,
    /// Messenger sends.
    pub messenger_page_token: Option<String>,
    /// WhatsApp sends.
    pub whatsapp_token: Option<String>,
    /// `https://graph.facebook.com` by default.
    pub graph_api_url: String,
    /// `v21.0` by default.
    pub graph_api_version: String,
    /// Telegram sends.
    pub telegram_bot_token: Option<String>,
    /// Telegram's secret header.
    pub telegram_secret_token: Option<String>,
    /// `https://api.telegram.org` by default.
    pub telegram_api_url: String,
    /// Twilio signatures and sends.
    pub twilio_auth_token: Option<String>,
    /// Twilio sends.
    pub twilio_account_sid: Option<String>,
    /// `https://api.twilio.com` by default.
    pub twilio_api_url: String,
    /// Where voice handoffs are dialled.
    pub twilio_handoff_number: Option<String>,
    /// Speech language, `en-US` by default.
    pub voice_language: String,
    /// The public origin Twilio calls, when it is not the URL the worker sees.
    pub public_url: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            meta_app_secret: None,
            meta_verify_token: None,
            messenger_page_token: None,
            whatsapp_token: None,
            graph_api_url: "https://graph.facebook.com".into(),
            graph_api_version: "v21.0".into(),
            telegram_bot_token: None,
            telegram_secret_token: None,
            telegram_api_url: "https://api.telegram.org".into(),
            twilio_auth_token: None,
            twilio_account_sid: None,
            twilio_api_url: "https://api.twilio.com".into(),
            twilio_handoff_number: None,
            voice_language: "en-US".into(),
            public_url: None,
        }
    }
}

impl Settings {
    /// Applies a variable or secret by name; false when the name is not a relay setting.
    /// Empty values count as unset.
    pub fn set(&mut self, name: &str, value: &str) -> Result<bool, String> {
        use names::*;
        let value = value.trim();
        let secret = || (!value.is_empty()).then(|| value.to_owned());
        let url = |current: &mut String| -> Result<(), String> {
            if !value.is_empty() {
                if !(value.starts_with("https://") || value.starts_with("http://")) {
                    return Err(format!("{name} must be an http(s) URL, not '{value}'"));
                }
                *current = value.trim_end_matches('/').to_owned();
            }
            Ok(())
        };
        match name {
            META_APP_SECRET => self.meta_app_secret = secret(),
            META_VERIFY_TOKEN => self.meta_verify_token = secret(),
            MESSENGER_PAGE_TOKEN => self.messenger_page_token = secret(),
            WHATSAPP_TOKEN => self.whatsapp_token = secret(),
            GRAPH_API_URL => url(&mut self.graph_api_url)?,
            GRAPH_API_VERSION if !value.is_empty() => self.graph_api_version = value.to_owned(),
            TELEGRAM_BOT_TOKEN => self.telegram_bot_token = secret(),
            TELEGRAM_SECRET_TOKEN => self.telegram_secret_token = secret(),
            TELEGRAM_API_URL => url(&mut self.telegram_api_url)?,
            TWILIO_AUTH_TOKEN => self.twilio_auth_token = secret(),
            TWILIO_ACCOUNT_SID => self.twilio_account_sid = secret(),
            TWILIO_API_URL => url(&mut self.twilio_api_url)?,
            TWILIO_HANDOFF_NUMBER => {
                self.twilio_handoff_number = match value {
                    "" => None,
                    v => Some(
                        crate::identity::e164(v).ok_or_else(|| format!("{name} must be a phone number, not '{v}'"))?,
                    ),
                }
            }
            VOICE_LANGUAGE if !value.is_empty() => self.voice_language = value.to_owned(),
            PUBLIC_URL => {
                let mut origin = String::new();
                url(&mut origin)?;
                self.public_url = (!origin.is_empty()).then_some(origin);
            }
            GRAPH_API_VERSION | VOICE_LANGUAGE => {}
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// A required credential, or which setting is missing.
    pub(crate) fn require<'a>(
        channel: &'static str,
        value: &'a Option<String>,
        name: &'static str,
    ) -> Result<&'a str, super::RelayError> {
        value.as_deref().ok_or(super::RelayError::NotConfigured(channel, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_apply_by_name_and_bad_values_say_why() {
        let mut s = Settings::default();
        assert_eq!(s.set(names::GRAPH_API_URL, "http://127.0.0.1:9/"), Ok(true));
        assert_eq!(s.graph_api_url, "http://127.0.0.1:9");
        assert_eq!(s.set(names::TWILIO_HANDOFF_NUMBER, "+1 (415) 555-0100"), Ok(true));
        assert_eq!(s.twilio_handoff_number.as_deref(), Some("+14155550100"));
        assert!(s.set(names::TWILIO_HANDOFF_NUMBER, "front desk").unwrap_err().contains("phone number"));
        assert!(s.set(names::TELEGRAM_API_URL, "api.telegram.org").unwrap_err().contains("http(s) URL"));
        assert_eq!(s.set(names::META_APP_SECRET, " "), Ok(true));
        assert_eq!(s.meta_app_secret, None, "empty is unset");
        assert_eq!(s.set("ORDERS_TOKEN", "x"), Ok(false));
        assert_eq!(names::ALL.len(), 15);
    }
}
