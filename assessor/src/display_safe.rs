//! Text that someone else controls, made safe to show on a terminal or in a
//! log line.
//!
//! A string from a server (a SQL Server's version or edition, a TDS routing
//! host, an S3 error message), from a bucket (object keys) or from a report
//! bundle (the manifest's `run_id` and file names) may carry terminal escape
//! sequences (`ESC [ 2 J` clears the screen, OSC 8 forges links, OSC 52
//! writes the clipboard), line breaks that forge extra output lines, or
//! bidirectional overrides that make text read differently from what it is.
//! [`Escaped`] shows such characters as Rust-style `\u{..}` escapes and
//! leaves everything else as is:
//!
//! - C0 controls U+0000..U+001F (tab and newline included) and DEL U+007F;
//! - C1 controls U+0080..U+009F (a lone U+009B is a CSI on some terminals);
//! - bidi embeddings, overrides and isolates U+202A..U+202E, U+2066..U+2069,
//!   the implicit marks U+200E, U+200F, U+061C, and the line and paragraph
//!   separators U+2028, U+2029.
//!
//! Backslashes are left alone (SQL Server instance names contain them), so
//! the escaping is for display, not a reversible encoding.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

/// Whether `c` is shown escaped.
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}' | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// Displays the wrapped text with every [`is_unsafe`] character escaped as
/// `\u{1b}`.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(is_unsafe) {
            f.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            write!(f, "\\u{{{:x}}}", u32::from(c))?;
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// `text` with every [`is_unsafe`] character escaped; borrowed when there is
/// nothing to escape.
pub fn escape(text: &str) -> Cow<'_, str> {
    if text.contains(is_unsafe) {
        let mut out = String::with_capacity(text.len() + 8);
        let _ = write!(out, "{}", Escaped(text));
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_unchanged_and_borrowed() {
        for text in [
            "",
            "report.html",
            "Microsoft SQL Server 2022 (RTM) - 16.0.1000.6",
            "SQL01\\INSTANCE",
            "résumé 日本語 emoji \u{1f600}",
        ] {
            assert!(
                matches!(escape(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
            assert_eq!(Escaped(text).to_string(), text);
        }
    }

    #[test]
    fn terminal_escapes_and_line_breaks_are_escaped() {
        assert_eq!(escape("run\x1b[2J-1"), "run\\u{1b}[2J-1");
        assert_eq!(escape("a\nb\r\tc\0"), "a\\u{a}b\\u{d}\\u{9}c\\u{0}");
        assert_eq!(escape("\x7f"), "\\u{7f}");
        // C1: CSI and the OSC introducer as single code points.
        assert_eq!(escape("\u{9b}31m\u{9d}"), "\\u{9b}31m\\u{9d}");
        assert_eq!(escape("\u{80}\u{9f}\u{a0}"), "\\u{80}\\u{9f}\u{a0}");
        // OSC 8 hyperlink forgery.
        assert!(
            !escape("\x1b]8;;https://evil\x07x\x1b]8;;\x07").contains('\x1b'),
            "ESC survived"
        );
    }

    #[test]
    fn bidi_overrides_and_isolates_are_escaped() {
        assert_eq!(escape("abc\u{202e}lmth.exe"), "abc\\u{202e}lmth.exe");
        for c in ['\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}'] {
            assert!(is_unsafe(c), "{c:?}");
        }
        for c in ['\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'] {
            assert!(is_unsafe(c), "{c:?}");
        }
        for c in ['\u{200e}', '\u{200f}', '\u{61c}', '\u{2028}', '\u{2029}'] {
            assert!(is_unsafe(c), "{c:?}");
        }
        for c in ['\u{2065}', '\u{206a}', '\u{2027}', '\u{202f}', '\u{200d}'] {
            assert!(!is_unsafe(c), "{c:?}");
        }
    }

    #[test]
    fn escaping_twice_changes_nothing_more() {
        let once = escape("x\x1b[2J\u{202e}y").into_owned();
        assert_eq!(escape(&once), once);
        assert!(!once.contains(is_unsafe));
    }
}
