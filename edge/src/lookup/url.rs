//! A lookup's URL from its template: parameter values percent-encoded for where they land,
//! and refused where they would change the path's shape.
//!
//! Every value is encoded as one URI component: RFC 3986's unreserved characters stay, every
//! other byte becomes `%XX`, `%` itself included (so `%2e%2e` arrives as `%252e%252e`, and
//! `/`, `\`, `?`, `#`, `&`, `=` and control characters cannot end a segment or a query value).
//! Encoding alone leaves `.` and `..` as they are, and those are path operations, not names:
//! a value in the path that is, or decodes to, a dot segment (also between a decoded `/` or
//! `\`, as a server that decodes `%2F` or normalises backslashes would read it), or that makes
//! a segment empty or a dot segment together with the template's text, is refused and the
//! request is never sent.

use crate::fulfillment::Failure;
use serde_json::{Map, Value};
use std::ops::Range;
use switchboard_dialog::agent::{Part, Template};

/// How many layers of percent-encoding are peeled off a value before it is judged: more
/// than any chain of proxies and frameworks decodes.
const DECODE_ROUNDS: usize = 8;

/// The URL for `template` with these session parameters.
pub(super) fn fill(template: &Template, parameters: &Map<String, Value>) -> Result<String, Failure> {
    let mut url = String::new();
    let mut in_path = Vec::new();
    for part in template.parts() {
        match part {
            Part::Text(text) => url.push_str(text),
            Part::Parameter(name) => {
                let value = super::text_of(super::parameter(parameters, name)?);
                // Values are encoded, so the first `?` or `#` is the template's own.
                let path = !url.contains(['?', '#']);
                if path && moves_in_path(&value) {
                    return Err(Failure::PathValue(name.clone()));
                }
                let start = url.len();
                url.push_str(&encode(&value));
                if path {
                    in_path.push((name, start..url.len()));
                }
            }
            // The engine allows only text and parameters in a lookup's URL.
            Part::Secret(_) | Part::Field(_) => {}
        }
    }
    for (name, range) in in_path {
        let segment = decode(segment_around(&url, &range));
        if matches!(segment.as_str(), "" | "." | "..") {
            return Err(Failure::PathValue(name.clone()));
        }
    }
    Ok(url)
}

/// Percent-encodes everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`):
/// the value is one path segment, one query name or value, whatever the user typed.
pub(super) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Whether `value`, read by a server that decodes it (more than once, perhaps) and splits it
/// at `/` or `\`, holds a dot segment: `.`, `..`, `%2e%2e`, `a/../b`, `..\x`, `..;x`, `．．`.
pub(super) fn moves_in_path(value: &str) -> bool {
    let mut layer = value.to_owned();
    for _ in 0..DECODE_ROUNDS {
        if layer.split(['/', '\\']).any(is_dot_segment) {
            return true;
        }
        let next = decode(&layer);
        if next == layer {
            return false;
        }
        layer = next;
    }
    // Still changing after that many layers: nothing honest is encoded this deep.
    true
}

/// `.` or `..` as servers read a segment: dot look-alikes that Unicode normalisation (NFKC)
/// turns into dots count as dots, `;` starts path parameters (Tomcat: `..;x` is `..`), and
/// trailing white space and control characters are dropped (Windows: `.. ` is `..`).
fn is_dot_segment(segment: &str) -> bool {
    let name = segment.split(';').next().unwrap_or_default();
    let mut dots = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '\u{FF0E}' | '\u{2024}' | '\u{FE52}' => dots.push('.'),
            '\u{2025}' => dots.push_str(".."),
            c => dots.push(c),
        }
    }
    matches!(dots.trim_end_matches(|c: char| c.is_whitespace() || c.is_control()), "." | "..")
}

/// `%XX` sequences decoded (invalid ones kept as written), as UTF-8 where lenient decoders
/// read overlong forms of `.`, `/` and `\\` (`%c0%ae`) as those characters; other invalid
/// bytes become U+FFFD.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(decoded) if byte == b'%' => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&without_overlong(&out)).into_owned()
}

/// Overlong UTF-8 forms of `.`, `/` and `\\` replaced by the characters themselves.
fn without_overlong(bytes: &[u8]) -> Vec<u8> {
    const FORMS: [(&[u8], u8); 6] = [
        (&[0xC0, 0xAE], b'.'),
        (&[0xE0, 0x80, 0xAE], b'.'),
        (&[0xC0, 0xAF], b'/'),
        (&[0xE0, 0x80, 0xAF], b'/'),
        (&[0xC1, 0x9C], b'\\'),
        (&[0xE0, 0x81, 0x9C], b'\\'),
    ];
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    'bytes: while let [first, tail @ ..] = rest {
        for (form, plain) in FORMS {
            if let Some(after) = rest.strip_prefix(form) {
                out.push(plain);
                rest = after;
                continue 'bytes;
            }
        }
        out.push(*first);
        rest = tail;
    }
    out
}

/// The path segment of `url` that holds `range` (a value, possibly empty, in the path).
fn segment_around<'a>(url: &'a str, range: &Range<usize>) -> &'a str {
    let start = url.get(..range.start).and_then(|before| before.rfind('/')).map_or(0, |slash| slash + 1);
    let end = url.get(range.end..).and_then(|after| after.find(['/', '?', '#'])).map_or(url.len(), |i| range.end + i);
    url.get(start..end).unwrap_or_default()
}
