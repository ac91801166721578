//! What Twilio's SMS and voice relays share: the `X-Twilio-Signature` scheme
//! (../shared/PROTOCOLS.md, "Twilio") and the form fields of its requests.
//!
//! `X-Twilio-Signature = base64(HMAC-SHA1(auth token, URL + each POST parameter, sorted by
//! name, as name immediately followed by value))`. The URL is the one Twilio requested, query
//! included: the request's own URL, or `PUBLIC_URL` + path + query behind a proxy. A JSON body
//! is signed as the URL alone, its SHA-256 carried in the `bodySHA256` query parameter.

use super::settings::{Settings, names};
use super::text::base64;
use super::{RelayError, constant_time_eq, field, form};
use crate::api::ApiRequest;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

/// `base64(HMAC-SHA1(token, url + sorted name/value pairs))`.
pub fn signature(token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    // HMAC takes keys of any length: `new_from_slice` cannot fail.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(token.as_bytes()) else { return String::new() };
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64(&mac.finalize().into_bytes())
}

/// The URL Twilio requested, as it signed it.
fn signed_url(settings: &Settings, request: &ApiRequest) -> String {
    match &settings.public_url {
        Some(origin) if request.query.is_empty() => format!("{origin}{}", request.path),
        Some(origin) => format!("{origin}{}?{}", request.path, request.query),
        None => request.url.clone(),
    }
}

/// Checks the signature of a Twilio request; on success, the form fields it carried.
pub fn verify(
    channel: &'static str,
    settings: &Settings,
    request: &ApiRequest,
) -> Result<Vec<(String, String)>, RelayError> {
    let token = Settings::require(channel, &settings.twilio_auth_token, names::TWILIO_AUTH_TOKEN)?;
    let given = request.header_value(SIGNATURE_HEADER).ok_or(RelayError::MissingSignature(SIGNATURE_HEADER))?;
    let url = signed_url(settings, request);
    let query = form(request.query.as_bytes());
    let (params, body_digest) = match field(&query, "bodySHA256") {
        Some(digest) => (Vec::new(), Some(digest.to_ascii_lowercase())),
        None => (form(&request.body), None),
    };
    let expected = signature(token, &url, &params);
    if !constant_time_eq(given.trim().as_bytes(), expected.as_bytes()) {
        return Err(RelayError::BadSignature(SIGNATURE_HEADER));
    }
    if let Some(digest) = body_digest {
        let actual = crate::keys::hex(&Sha256::digest(&request.body));
        if !constant_time_eq(actual.as_bytes(), digest.as_bytes()) {
            return Err(RelayError::BadSignature("bodySHA256"));
        }
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn params(caller: &str) -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", caller),
            ("Digits", "1234"),
            ("From", caller),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    fn settings() -> Settings {
        let mut s = Settings::default();
        s.set(names::TWILIO_AUTH_TOKEN, "12345").unwrap();
        s
    }

    fn request(url: &str, body: &str) -> ApiRequest {
        let after = &url[url.find("://").unwrap() + 3..];
        let target = &after[after.find('/').unwrap()..];
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        ApiRequest { url: url.into(), query: query.into(), ..ApiRequest::post(path, body) }
    }

    #[test]
    fn the_published_vectors_verify() {
        // ../shared/PROTOCOLS.md, "Twilio".
        for (caller, expected) in [
            ("+14158675309", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
            ("+14158675310", "GvWf1cFY/Q7PnoempGyD5oXAezc="),
            ("+12349013030", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
        ] {
            assert_eq!(signature("12345", URL, &params(caller)), expected, "{caller}");
            let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(params(caller)).finish();
            let signed = request(URL, &body).header(SIGNATURE_HEADER, expected);
            assert_eq!(verify("voice", &settings(), &signed).unwrap(), params(caller));
        }
    }

    #[test]
    fn forged_missing_or_misplaced_signatures_are_rejected() {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(params("+14158675309")).finish();
        let good = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
        let bad = |r: ApiRequest| verify("voice", &settings(), &r).unwrap_err();
        assert_eq!(bad(request(URL, &body)), RelayError::MissingSignature(SIGNATURE_HEADER));
        // Another caller's signature, a changed parameter, another URL.
        assert_eq!(
            bad(request(URL, &body).header(SIGNATURE_HEADER, "GvWf1cFY/Q7PnoempGyD5oXAezc=")),
            RelayError::BadSignature(SIGNATURE_HEADER)
        );
        let changed = body.replace("Digits=1234", "Digits=9999");
        assert_eq!(
            bad(request(URL, &changed).header(SIGNATURE_HEADER, good)),
            RelayError::BadSignature(SIGNATURE_HEADER)
        );
        let moved = "https://mycompany.com/myapp.php?foo=1&bar=3";
        assert_eq!(
            bad(request(moved, &body).header(SIGNATURE_HEADER, good)),
            RelayError::BadSignature(SIGNATURE_HEADER)
        );
        let mut other = settings();
        other.set(names::TWILIO_AUTH_TOKEN, "54321").unwrap();
        assert!(verify("voice", &other, &request(URL, &body).header(SIGNATURE_HEADER, good)).is_err());
    }

    #[test]
    fn a_proxy_origin_and_json_bodies_sign_as_twilio_does() {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(params("+14158675309")).finish();
        let mut behind = settings();
        behind.set(names::PUBLIC_URL, "https://mycompany.com").unwrap();
        let seen = request("http://10.0.0.7:8787/myapp.php?foo=1&bar=2", &body)
            .header(SIGNATURE_HEADER, "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        assert!(verify("voice", &behind, &seen).is_ok());

        let json = r#"{"CallSid":"CA1"}"#;
        let digest = crate::keys::hex(&Sha256::digest(json.as_bytes()));
        let url = format!("https://mycompany.com/hook?bodySHA256={digest}");
        let signed = signature("12345", &url, &[]);
        assert_eq!(
            verify("voice", &settings(), &request(&url, json).header(SIGNATURE_HEADER, &signed)),
            Ok(Vec::new())
        );
        let tampered = request(&url, r#"{"CallSid":"CA2"}"#).header(SIGNATURE_HEADER, &signed);
        assert_eq!(verify("voice", &settings(), &tampered), Err(RelayError::BadSignature("bodySHA256")));
    }
}
