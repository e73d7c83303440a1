//! The fingerprint of a piece of code: a SHA-256 over its normalised
//! tokens, so the same module deployed on several servers is recognised as
//! the same code (`assessor report merge` counts its effort once).
//!
//! Normalisation, over the project's T-SQL lexer ([`crate::tsql::lexer`]):
//! - comments and whitespace are dropped (a reformatted or re-commented
//!   module is the same code);
//! - words, quoted identifiers and variables are ASCII case folded (T-SQL
//!   names and keywords are case-insensitive under the default collations);
//! - every other token (string, number, binary, money literals, operators)
//!   is kept byte for byte: code that differs in a literal is other code;
//! - each token is hashed with its kind and length, so no two token
//!   sequences hash alike by joining differently.
//!
//! The fingerprint reveals nothing of the code beyond equality with other
//! code whose text one already has.

use crate::tsql::lexer::{Lexer, TokenKind};

/// Lower-case hex SHA-256 of the normalised tokens of `code`.
pub fn code_sha256(code: &str) -> String {
    let mut digest = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for token in Lexer::new(code) {
        let text = token.text(code);
        let (tag, folded): (u8, Option<String>) = match token.kind {
            TokenKind::LineComment | TokenKind::BlockComment => continue,
            TokenKind::Word => (1, Some(text.to_ascii_lowercase())),
            TokenKind::QuotedIdent => (2, Some(text.to_ascii_lowercase())),
            TokenKind::Variable => (3, Some(text.to_ascii_lowercase())),
            TokenKind::GlobalVariable => (4, Some(text.to_ascii_lowercase())),
            TokenKind::BatchSeparator => (5, Some(text.trim().to_ascii_lowercase())),
            _ => (6, None),
        };
        let bytes = folded.as_deref().unwrap_or(text).as_bytes();
        digest.update(&[tag]);
        digest.update(&(bytes.len() as u64).to_le_bytes());
        digest.update(bytes);
    }
    digest
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::code_sha256;

    #[test]
    fn layout_comments_and_case_do_not_change_the_fingerprint() {
        let a = "CREATE PROCEDURE dbo.p AS\nBEGIN\n  SELECT 1 FROM t -- note\nEND";
        let b = "create   procedure DBO.P as begin /* other */ select 1 from T end";
        assert_eq!(code_sha256(a), code_sha256(b));
        assert_eq!(code_sha256(a).len(), 64);
    }

    #[test]
    fn literals_and_names_do() {
        let base = code_sha256("SELECT 'a' FROM t");
        assert_ne!(base, code_sha256("SELECT 'A' FROM t"));
        assert_ne!(base, code_sha256("SELECT 'a' FROM u"));
        assert_ne!(base, code_sha256("SELECT 'a b' FROM t"));
        // Joining tokens differently cannot collide: `ab` is not `a b`.
        assert_ne!(code_sha256("SELECT ab"), code_sha256("SELECT a b"));
    }
}
