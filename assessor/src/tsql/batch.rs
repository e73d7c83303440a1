//! Splitting a script into batches.
//!
//! Guarantees: batches are separated only by `GO [n]` alone on a line, as
//! the lexer recognises it, so a `GO` inside a string or comment spanning
//! lines never splits; sqlcmd directive lines are taken out of the batches
//! and reported separately; comments are dropped. A script without `GO`
//! (SSDT) is one batch. Linear in the number of tokens.

use super::lexer::{Lexer, Token, TokenKind};
use std::ops::Range;

/// A script cut into batches of significant tokens.
#[derive(Debug, Clone, Default)]
pub struct Batches {
    /// Significant tokens of all batches, in order (no comments, batch
    /// separators or directive lines).
    pub tokens: Vec<Token>,
    /// Each batch as a range of `tokens`; empty batches are left out.
    pub batches: Vec<Range<usize>>,
    /// sqlcmd directives, batch separators and `$(var)` references, in order.
    pub sqlcmd: Vec<Token>,
}

/// Lexes `src` and cuts it into batches.
pub fn split(src: &str) -> Batches {
    let mut out = Batches::default();
    let mut start = 0;
    for tok in Lexer::new(src) {
        match tok.kind {
            TokenKind::LineComment | TokenKind::BlockComment => {}
            TokenKind::BatchSeparator => {
                if out.tokens.len() > start {
                    out.batches.push(start..out.tokens.len());
                }
                start = out.tokens.len();
                out.sqlcmd.push(tok);
            }
            TokenKind::SqlcmdDirective => out.sqlcmd.push(tok),
            TokenKind::SqlcmdVariable => {
                out.sqlcmd.push(tok);
                // Also a name-like token where it stands (`USE $(db)`).
                out.tokens.push(tok);
            }
            _ => out.tokens.push(tok),
        }
    }
    if out.tokens.len() > start {
        out.batches.push(start..out.tokens.len());
    }
    out
}

/// The repeat count of a `GO n` separator (`None` for a plain `GO`).
pub fn go_count(src: &str, separator: &Token) -> Option<u64> {
    let text = separator.text(src);
    let digits: String = text
        .get(2..)
        .unwrap_or("")
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_in_comment_or_string_does_not_split() {
        let src = "select 1\n/*\nGO\n*/ select '\nGO\n'\nGO\nselect 2\nGO 3\n";
        let b = split(src);
        assert_eq!(b.batches.len(), 2);
        assert_eq!(b.sqlcmd.len(), 2);
        assert_eq!(go_count(src, &b.sqlcmd[1]), Some(3));
        assert_eq!(go_count(src, &b.sqlcmd[0]), None);
    }
}
