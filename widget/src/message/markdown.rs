//! Markdown-lite: a message's text split into inline pieces (plain, bold, italics, links,
//! images) that [`super::rich_text`] turns into DOM nodes.
//!
//! Pure and `std`-only on purpose: the fuzz target `markdown` compiles this file on its own,
//! without Leptos or `web-sys`.

/// An inline piece of a message's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    /// Plain text.
    Text(String),
    /// `**bold**`.
    Bold(String),
    /// `*italics*` or `_italics_`.
    Italic(String),
    /// `[text](https://…)` or a bare `https://…`.
    Link {
        /// What is shown.
        text: String,
        /// Where it goes (http or https only).
        href: String,
    },
    /// `![description](https://…)`.
    Image {
        /// The image's text alternative.
        alt: String,
        /// Where it is (http or https only).
        src: String,
    },
}

/// Splits `text` into inline pieces: `**bold**`, `*italics*`, `_italics_`, `[text](url)`,
/// `![description](url)` and bare URLs. Anything that does not close is plain text.
pub fn markdown_lite(text: &str) -> Vec<Inline> {
    let mut out: Vec<Inline> = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    let flush = |plain: &mut String, out: &mut Vec<Inline>| {
        if !plain.is_empty() {
            out.push(Inline::Text(std::mem::take(plain)));
        }
    };
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("**")
            && let Some(end) = after.find("**").filter(|&e| e > 0)
        {
            flush(&mut plain, &mut out);
            out.push(Inline::Bold(after[..end].to_owned()));
            rest = &after[end + 2..];
            continue;
        }
        if (c == '*' || c == '_') && !plain.ends_with(|p: char| p.is_alphanumeric()) {
            let after = &rest[1..];
            if let Some(end) = after.find(c).filter(|&e| e > 0 && !after[..e].starts_with(' ')) {
                flush(&mut plain, &mut out);
                out.push(Inline::Italic(after[..end].to_owned()));
                rest = &after[end + 1..];
                continue;
            }
        }
        let image = rest.starts_with("![");
        if (c == '[' || image)
            && let Some(close) = rest.find("](")
            && let Some(end) = rest[close + 2..].find(')')
        {
            let href = rest[close + 2..close + 2 + end].to_owned();
            if is_web(&href) {
                flush(&mut plain, &mut out);
                let text = rest[if image { 2 } else { 1 }..close].to_owned();
                out.push(if image { Inline::Image { alt: text, src: href } } else { Inline::Link { text, href } });
                rest = &rest[close + 3 + end..];
                continue;
            }
        }
        if (rest.starts_with("https://") || rest.starts_with("http://"))
            && !plain.ends_with(|p: char| p.is_alphanumeric())
        {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            // A sentence's last full stop or comma is not part of the link.
            let url = rest[..end].trim_end_matches(['.', ',', ')', '!', '?', ';', ':']);
            flush(&mut plain, &mut out);
            out.push(Inline::Link { text: url.to_owned(), href: url.to_owned() });
            rest = &rest[url.len()..];
            continue;
        }
        plain.push(c);
        rest = &rest[c.len_utf8()..];
    }
    flush(&mut plain, &mut out);
    out
}

/// Whether `href` may become a link or an image: http(s) only, without spaces.
pub fn is_web(href: &str) -> bool {
    (href.starts_with("https://") || href.starts_with("http://")) && !href.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn markdown_lite_pieces() {
        assert_eq!(
            markdown_lite("Order **123456** is _on its way_: see [tracking](https://t.example/1)."),
            vec![
                Inline::Text("Order ".into()),
                Inline::Bold("123456".into()),
                Inline::Text(" is ".into()),
                Inline::Italic("on its way".into()),
                Inline::Text(": see ".into()),
                Inline::Link { text: "tracking".into(), href: "https://t.example/1".into() },
                Inline::Text(".".into()),
            ]
        );
        assert_eq!(
            markdown_lite("Visit https://shop.example/help."),
            vec![
                Inline::Text("Visit ".into()),
                Inline::Link { text: "https://shop.example/help".into(), href: "https://shop.example/help".into() },
                Inline::Text(".".into()),
            ]
        );
        assert_eq!(markdown_lite("[x](javascript:alert(1))"), vec![Inline::Text("[x](javascript:alert(1))".into())]);
        assert_eq!(
            markdown_lite("2 * 3 * 4 and snake_case_name"),
            vec![Inline::Text("2 * 3 * 4 and snake_case_name".into())]
        );
        assert_eq!(markdown_lite("**open"), vec![Inline::Text("**open".into())]);
        assert_eq!(
            markdown_lite("![Arc lamp](https://shop.example/arc.jpg) ![x](javascript:1)"),
            vec![
                Inline::Image { alt: "Arc lamp".into(), src: "https://shop.example/arc.jpg".into() },
                Inline::Text(" ![x](javascript:1)".into()),
            ]
        );
    }
}
