//! What Messenger and WhatsApp share, both being Meta webhooks: the `X-Hub-Signature-256`
//! signature and the subscription handshake (../shared/PROTOCOLS.md, "Meta").

use super::settings::{Settings, names};
use super::{RelayError, constant_time_eq, field, form, verify_hmac_sha256_hex};
use crate::api::{ApiRequest, ApiResponse};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// Checks `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`.
pub fn verify(channel: &'static str, settings: &Settings, request: &ApiRequest) -> Result<(), RelayError> {
    let secret = Settings::require(channel, &settings.meta_app_secret, names::META_APP_SECRET)?;
    let header = request.header_value(SIGNATURE_HEADER).ok_or(RelayError::MissingSignature(SIGNATURE_HEADER))?;
    let hex = header.trim().strip_prefix("sha256=").ok_or(RelayError::BadSignature(SIGNATURE_HEADER))?;
    if !verify_hmac_sha256_hex(secret.as_bytes(), &request.body, hex) {
        return Err(RelayError::BadSignature(SIGNATURE_HEADER));
    }
    Ok(())
}

/// `GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C`: 200 with C when T is the
/// configured token, else 403.
pub fn handshake(channel: &'static str, settings: &Settings, request: &ApiRequest) -> Result<ApiResponse, RelayError> {
    let expected = Settings::require(channel, &settings.meta_verify_token, names::META_VERIFY_TOKEN)?;
    let query = form(request.query.as_bytes());
    let token = field(&query, "hub.verify_token").unwrap_or_default();
    let subscribe = field(&query, "hub.mode") == Some("subscribe");
    match field(&query, "hub.challenge") {
        Some(challenge) if subscribe && constant_time_eq(token.as_bytes(), expected.as_bytes()) => {
            Ok(ApiResponse::text(200, "text/plain; charset=utf-8", challenge.to_owned()))
        }
        _ => Err(RelayError::BadSignature("hub.verify_token")),
    }
}

/// The Graph API URL of a resource, like `https://graph.facebook.com/v21.0/<id>/messages`.
pub fn graph_url(settings: &Settings, path: &str) -> String {
    format!("{}/{}/{path}", settings.graph_api_url, settings.graph_api_version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        let mut s = Settings::default();
        s.set(names::META_APP_SECRET, "secret").unwrap();
        s.set(names::META_VERIFY_TOKEN, "verify-me").unwrap();
        s
    }

    #[test]
    fn the_published_vector_verifies_and_forgeries_do_not() {
        // ../shared/PROTOCOLS.md: HMAC-SHA256(key="secret", msg="test").
        let signed = |sig: &str| ApiRequest::post("/channels/messenger", "test").header(SIGNATURE_HEADER, sig);
        let good = "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914";
        assert_eq!(verify("messenger", &settings(), &signed(good)), Ok(()));
        assert_eq!(verify("messenger", &settings(), &signed(&good.to_uppercase().replace("SHA256", "sha256"))), Ok(()));
        let forged = "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0915";
        assert_eq!(verify("messenger", &settings(), &signed(forged)), Err(RelayError::BadSignature(SIGNATURE_HEADER)));
        assert_eq!(
            verify("messenger", &settings(), &signed(&good.replace("sha256=", "sha1="))),
            Err(RelayError::BadSignature(SIGNATURE_HEADER))
        );
        let tampered = ApiRequest::post("/channels/messenger", "test!").header(SIGNATURE_HEADER, good);
        assert_eq!(verify("messenger", &settings(), &tampered), Err(RelayError::BadSignature(SIGNATURE_HEADER)));
        let unsigned = ApiRequest::post("/channels/messenger", "test");
        assert_eq!(verify("messenger", &settings(), &unsigned), Err(RelayError::MissingSignature(SIGNATURE_HEADER)));
        assert_eq!(
            verify("messenger", &Settings::default(), &signed(good)),
            Err(RelayError::NotConfigured("messenger", names::META_APP_SECRET))
        );
    }

    #[test]
    fn the_handshake_echoes_the_challenge_for_the_right_token_only() {
        let get = |q: &str| ApiRequest::get(&format!("/channels/whatsapp?{q}"));
        let ok = handshake(
            "whatsapp",
            &settings(),
            &get("hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444"),
        )
        .unwrap();
        assert_eq!((ok.status, ok.body.as_str()), (200, "1158201444"));
        for q in [
            "hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1",
            "hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=1",
            "hub.mode=subscribe&hub.verify_token=verify-me",
            "",
        ] {
            assert_eq!(handshake("whatsapp", &settings(), &get(q)).unwrap_err().status(), 403, "{q}");
        }
    }
}
