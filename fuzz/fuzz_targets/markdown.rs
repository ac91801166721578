//! The widget's markdown-lite (`markdown_lite`): no panic, nothing invented, only web links.
//!
//! What the pieces show is the text's own characters in order, and only http(s) URLs without
//! spaces become links or images.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_fuzz::markdown::{Inline, markdown_lite};

fuzz_target!(|text: &str| {
    let mut source = text.chars();
    for piece in markdown_lite(text) {
        let shown = match &piece {
            Inline::Text(t) | Inline::Bold(t) | Inline::Italic(t) => t,
            Inline::Link { text: label, href: url } | Inline::Image { alt: label, src: url } => {
                assert!(url.starts_with("https://") || url.starts_with("http://"), "{url:?} from {text:?}");
                assert!(!url.contains(char::is_whitespace), "{url:?} from {text:?}");
                label
            }
        };
        assert!(shown.chars().all(|c| source.any(|s| s == c)), "{piece:?} is not from {text:?}");
    }
});
