//! Text for channels with limits: splitting long messages, shortening button titles, plain
//! speech for voice, XML escaping for TwiML, base64 for Twilio's signature.

/// Splits `text` into pieces of at most `max` characters, at a paragraph, line or word break
/// when there is one in the second half of a piece.
pub fn split(text: &str, max: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest = text.trim();
    while rest.chars().count() > max {
        let limit = rest.char_indices().nth(max).map_or(rest.len(), |(i, _)| i);
        let window = &rest[..limit];
        let cut =
            ["\n\n", "\n", " "].iter().find_map(|sep| window.rfind(sep).filter(|&at| at >= limit / 2)).unwrap_or(limit);
        pieces.push(rest[..cut].trim_end().to_owned());
        rest = rest[cut..].trim_start();
    }
    if !rest.is_empty() {
        pieces.push(rest.to_owned());
    }
    pieces
}

/// `text` cut to `max` characters, with `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `text` cut to at most `max` bytes at a character boundary (Telegram's `callback_data`).
pub fn shorten_bytes(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Text as a voice reads it: markdown-lite markup (`**bold**`, `_italics_`, `[label](url)`)
/// reduced to its words, bare URLs, emoji and pictographs dropped, whitespace collapsed.
pub fn plain_speech(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '['
            && let Some(close) = rest.find("](")
            && let Some(end) = rest[close + 2..].find(')')
        {
            out.push_str(&rest[1..close]);
            rest = &rest[close + 2 + end + 1..];
            continue;
        }
        if rest.starts_with("https://") || rest.starts_with("http://") {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            rest = &rest[end..];
            continue;
        }
        if !(matches!(c, '*' | '_' | '`' | '#') || is_pictograph(c)) {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Emoji, pictographs and their joiners and selectors.
fn is_pictograph(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0xFE00..=0xFE0F | 0x200D | 0x20E3 | 0xE0020..=0xE007F)
}

/// Escapes text for an XML element or attribute.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

pub use crate::keys::base64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_splits_at_breaks_within_the_limit() {
        let text = format!("{}\n\n{}", "word ".repeat(300).trim(), "tail of it");
        let pieces = split(&text, 320);
        assert!(pieces.iter().all(|p| p.chars().count() <= 320), "{pieces:?}");
        assert_eq!(pieces.join(" ").split_whitespace().count(), text.split_whitespace().count(), "nothing lost");
        let paragraphs = format!("{}\n\n{}", "a ".repeat(100).trim(), "b ".repeat(100).trim());
        assert_eq!(
            split(&paragraphs, 320),
            ["a ".repeat(100).trim(), "b ".repeat(100).trim()],
            "a paragraph break is preferred"
        );
        assert_eq!(split("short", 10), ["short"]);
        assert_eq!(split("", 10), Vec::<String>::new());
        let unbroken = "ü".repeat(25);
        assert_eq!(split(&unbroken, 10).iter().map(|p| p.chars().count()).collect::<Vec<_>>(), [10, 10, 5]);
    }

    #[test]
    fn titles_shorten_with_an_ellipsis() {
        assert_eq!(shorten("Desk setup consultation", 20), "Desk setup consulta…");
        assert_eq!(shorten("Yes", 20), "Yes");
        assert_eq!(shorten_bytes("ééé", 5), "éé");
    }

    #[test]
    fn speech_is_plain_words() {
        assert_eq!(
            plain_speech("**Great** 🎉 see [our shop](https://shop.example) or https://x.example now_"),
            "Great see our shop or now"
        );
        assert_eq!(plain_speech("Order #123456 👍🏽 is _here_"), "Order 123456 is here");
    }

    #[test]
    fn xml_and_base64() {
        assert_eq!(
            xml_escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;"
        );
        assert_eq!(xml_escape("bell\u{7}"), "bell");
        for (input, encoded) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(input.as_bytes()), encoded);
        }
    }
}
