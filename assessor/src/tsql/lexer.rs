//! The T-SQL lexer.
//!
//! Guarantees: every byte of the input belongs to at most one token, tokens
//! come in order and are never empty, so lexing is linear and always ends;
//! it never panics and never allocates per token. Unterminated strings,
//! quoted identifiers and comments become one [`TokenKind::Error`] token that
//! runs to the end of the input.
//!
//! The lexer also knows the two line-oriented sqlcmd forms, because only it
//! knows whether a line start is inside a string or comment: `GO [n]` alone on
//! a line ([`TokenKind::BatchSeparator`]) and directives such as `:setvar`
//! or `!!` ([`TokenKind::SqlcmdDirective`]).

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// An unquoted identifier or keyword (`SELECT`, `dbo`, `#temp`, `$partition`).
    Word,
    /// `[name]` or `"name"`.
    QuotedIdent,
    /// `'text'`.
    String,
    /// `N'text'`.
    NString,
    /// `@name`.
    Variable,
    /// `@@name`.
    GlobalVariable,
    Integer,
    Decimal,
    /// `1e10`, `1.5E-3`.
    Float,
    /// `0x1F`.
    Binary,
    /// `$12.50`.
    Money,
    /// Punctuation and operators (`(`, `,`, `::`, `+=`, `<>`, ...).
    Operator,
    LineComment,
    BlockComment,
    /// A sqlcmd directive line (`:setvar x y`, `:r file`, `!! cmd`).
    SqlcmdDirective,
    /// `$(name)`.
    SqlcmdVariable,
    /// `GO` or `GO n` alone on a line (with an optional trailing comment).
    BatchSeparator,
    /// An unterminated string, identifier or comment (runs to the end of the
    /// input), or a byte that starts no token.
    Error,
}

/// A token: its kind and byte range in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

impl Token {
    /// The token's text.
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        src.get(self.start..self.end).unwrap_or("")
    }

    /// Whether this token is the word `kw` (ASCII case-insensitive).
    pub fn is_word(&self, src: &str, kw: &str) -> bool {
        self.kind == TokenKind::Word && self.text(src).eq_ignore_ascii_case(kw)
    }

    /// Whether this token is the operator `op`.
    pub fn is_op(&self, src: &str, op: &str) -> bool {
        self.kind == TokenKind::Operator && self.text(src) == op
    }

    /// Comments carry no meaning for the parser.
    pub fn is_trivia(&self) -> bool {
        matches!(self.kind, TokenKind::LineComment | TokenKind::BlockComment)
    }
}

/// An iterator over the tokens of a text (whitespace is skipped).
#[derive(Debug, Clone)]
pub struct Lexer<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Only whitespace since the last newline (or start of input).
    at_line_start: bool,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Lexer<'a> {
        Lexer {
            bytes: src.as_bytes(),
            pos: 0,
            at_line_start: true,
        }
    }

    fn peek(&self, ahead: usize) -> u8 {
        self.bytes.get(self.pos + ahead).copied().unwrap_or(0)
    }

    fn tok(&mut self, kind: TokenKind, start: usize) -> Token {
        // Every token ends on an ASCII byte or at the end, hence on a char
        // boundary; clamp defensively anyway.
        self.pos = self.pos.min(self.bytes.len());
        self.at_line_start = false;
        Token {
            kind,
            start,
            end: self.pos,
        }
    }

    fn skip_ident_chars(&mut self) {
        while let Some(&b) = self.bytes.get(self.pos) {
            if is_ident_continue(b) {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn skip_digits(&mut self) {
        while self.peek(0).is_ascii_digit() {
            self.pos += 1;
        }
    }

    fn skip_to_line_end(&mut self) {
        match memchr_newline(&self.bytes[self.pos..]) {
            Some(i) => self.pos += i,
            None => self.pos = self.bytes.len(),
        }
    }

    /// A quoted run closed by `close`, where a doubled `close` is an escape.
    /// Returns false when unterminated (pos is then at the end).
    fn quoted(&mut self, close: u8) -> bool {
        loop {
            match self.bytes[self.pos..].iter().position(|&b| b == close) {
                None => {
                    self.pos = self.bytes.len();
                    return false;
                }
                Some(i) => {
                    self.pos += i + 1;
                    if self.peek(0) == close {
                        self.pos += 1;
                    } else {
                        return true;
                    }
                }
            }
        }
    }

    /// `GO [count] [-- comment]` alone on the line, at the current position.
    fn batch_separator_len(&self) -> Option<usize> {
        let b = self.bytes;
        let p = self.pos;
        if !(b.get(p).is_some_and(|c| c.eq_ignore_ascii_case(&b'g'))
            && b.get(p + 1).is_some_and(|c| c.eq_ignore_ascii_case(&b'o')))
        {
            return None;
        }
        let mut i = p + 2;
        if b.get(i).is_some_and(|&c| is_ident_continue(c)) {
            return None;
        }
        let blank = |i: &mut usize| {
            while b.get(*i).is_some_and(|&c| c == b' ' || c == b'\t') {
                *i += 1;
            }
        };
        blank(&mut i);
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        blank(&mut i);
        if b.get(i) == Some(&b'-') && b.get(i + 1) == Some(&b'-') {
            i += memchr_newline(&b[i..]).unwrap_or(b.len() - i);
        }
        match b.get(i) {
            None | Some(b'\n') => Some(i - p),
            Some(b'\r') if matches!(b.get(i + 1), None | Some(b'\n')) => Some(i - p),
            _ => None,
        }
    }
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n' || c == b'\r')
}

/// Identifier characters; any non-ASCII byte counts, so multi-byte letters
/// stay whole and tokens always split on char boundaries.
fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_continue(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'@' | b'#' | b'$') || b >= 0x80
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        // Whitespace, tracking line starts.
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b'\n' => {
                    self.at_line_start = true;
                    self.pos += 1;
                }
                b' ' | b'\t' | b'\r' | 0x0B | 0x0C | 0 => self.pos += 1,
                _ => break,
            }
        }
        let start = self.pos;
        let b = *self.bytes.get(start)?;
        let b1 = self.peek(1);

        if self.at_line_start {
            if let Some(len) = self.batch_separator_len() {
                // The range covers `GO`, the count and a trailing comment.
                self.pos += len;
                return Some(self.tok(TokenKind::BatchSeparator, start));
            }
            // `:setvar x 1`, `!! dir`, and `:!! dir` (the colon is optional).
            let shell = b1 == b'!' && (b == b'!' || b == b':' && self.peek(2) == b'!');
            if (b == b':' && b1.is_ascii_alphabetic()) || shell {
                self.skip_to_line_end();
                return Some(self.tok(TokenKind::SqlcmdDirective, start));
            }
        }

        let kind = match b {
            b'-' if b1 == b'-' => {
                self.skip_to_line_end();
                TokenKind::LineComment
            }
            b'/' if b1 == b'*' => {
                // Nested block comments: count depth, linear scan.
                self.pos += 2;
                let mut depth = 1usize;
                loop {
                    match (self.bytes.get(self.pos), self.bytes.get(self.pos + 1)) {
                        (None, _) => break TokenKind::Error,
                        (Some(b'*'), Some(b'/')) => {
                            self.pos += 2;
                            depth -= 1;
                            if depth == 0 {
                                break TokenKind::BlockComment;
                            }
                        }
                        (Some(b'/'), Some(b'*')) => {
                            self.pos += 2;
                            depth += 1;
                        }
                        _ => self.pos += 1,
                    }
                }
            }
            b'\'' => {
                self.pos += 1;
                if self.quoted(b'\'') {
                    TokenKind::String
                } else {
                    TokenKind::Error
                }
            }
            b'N' | b'n' if b1 == b'\'' => {
                self.pos += 2;
                if self.quoted(b'\'') {
                    TokenKind::NString
                } else {
                    TokenKind::Error
                }
            }
            b'[' => {
                self.pos += 1;
                if self.quoted(b']') {
                    TokenKind::QuotedIdent
                } else {
                    TokenKind::Error
                }
            }
            b'"' => {
                self.pos += 1;
                if self.quoted(b'"') {
                    TokenKind::QuotedIdent
                } else {
                    TokenKind::Error
                }
            }
            b'@' if b1 == b'@' => {
                self.pos += 2;
                self.skip_ident_chars();
                TokenKind::GlobalVariable
            }
            b'@' => {
                self.pos += 1;
                self.skip_ident_chars();
                TokenKind::Variable
            }
            b'#' => {
                self.pos += 1;
                self.skip_ident_chars();
                TokenKind::Word
            }
            b'$' if b1 == b'(' => {
                // sqlcmd variable; an unclosed one is just `$` and `(`.
                match self.bytes[self.pos + 2..]
                    .iter()
                    .position(|&c| !(is_ident_continue(c) || c == b'-' || c == b'.'))
                {
                    Some(i) if self.bytes[self.pos + 2 + i] == b')' => {
                        self.pos += 3 + i;
                        TokenKind::SqlcmdVariable
                    }
                    _ => {
                        self.pos += 1;
                        TokenKind::Operator
                    }
                }
            }
            b'$' if is_ident_start(b1) => {
                self.pos += 1;
                self.skip_ident_chars();
                TokenKind::Word
            }
            b'$' if b1.is_ascii_digit() || b1 == b'.' || b1 == b'-' || b1 == b'+' => {
                self.pos += 1;
                if matches!(self.peek(0), b'-' | b'+') {
                    self.pos += 1;
                }
                self.skip_digits();
                if self.peek(0) == b'.' {
                    self.pos += 1;
                    self.skip_digits();
                }
                TokenKind::Money
            }
            b'0' if b1 == b'x' || b1 == b'X' => {
                self.pos += 2;
                loop {
                    while self.peek(0).is_ascii_hexdigit() {
                        self.pos += 1;
                    }
                    // A backslash-newline continues the constant on the next
                    // line (`0x0102\<newline>0304`), as in a string.
                    let newline = match (self.peek(0), self.peek(1), self.peek(2)) {
                        (b'\\', b'\n', _) => 2,
                        (b'\\', b'\r', b'\n') => 3,
                        _ => break,
                    };
                    self.pos += newline;
                }
                TokenKind::Binary
            }
            b'0'..=b'9' => self.number(),
            b'.' if b1.is_ascii_digit() => self.number(),
            _ if is_ident_start(b) => {
                self.pos += 1;
                self.skip_ident_chars();
                TokenKind::Word
            }
            _ => {
                self.pos += operator_len(b, b1);
                if operator_len(b, b1) == 1 && !b.is_ascii_punctuation() {
                    TokenKind::Error
                } else {
                    TokenKind::Operator
                }
            }
        };
        Some(self.tok(kind, start))
    }
}

impl Lexer<'_> {
    fn number(&mut self) -> TokenKind {
        let mut kind = TokenKind::Integer;
        self.skip_digits();
        if self.peek(0) == b'.' {
            self.pos += 1;
            self.skip_digits();
            kind = TokenKind::Decimal;
        }
        if matches!(self.peek(0), b'e' | b'E') {
            let sign = usize::from(matches!(self.peek(1), b'+' | b'-'));
            if self.peek(1 + sign).is_ascii_digit() {
                self.pos += 1 + sign;
                self.skip_digits();
                kind = TokenKind::Float;
            } else if sign == 0 && !is_ident_continue(self.peek(1)) {
                // `1e` is a float in T-SQL (exponent 0).
                self.pos += 1;
                kind = TokenKind::Float;
            }
        }
        kind
    }
}

fn operator_len(b: u8, b1: u8) -> usize {
    match (b, b1) {
        (b':', b':')
        | (b'<', b'>' | b'=')
        | (b'>', b'=')
        | (b'!', b'=' | b'<' | b'>')
        | (b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^', b'=') => 2,
        _ => 1,
    }
}

/// All tokens of `src`, including comments.
pub fn tokenize(src: &str) -> Vec<Token> {
    Lexer::new(src).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(TokenKind, &str)> {
        Lexer::new(src).map(|t| (t.kind, t.text(src))).collect()
    }

    #[test]
    fn go_needs_its_own_line() {
        let k = kinds("select 1 go\nGO 5 -- x\r\n gO\ngoto x");
        assert_eq!(k[2], (TokenKind::Word, "go"));
        assert_eq!(k[3], (TokenKind::BatchSeparator, "GO 5 -- x"));
        assert_eq!(k[4], (TokenKind::BatchSeparator, "gO"));
        assert_eq!(k[5], (TokenKind::Word, "goto"));
    }

    #[test]
    fn unicode_identifiers_stay_whole() {
        let k = kinds("SELECT größe, 名前 FROM t");
        assert_eq!(k[1], (TokenKind::Word, "größe"));
        assert_eq!(k[3], (TokenKind::Word, "名前"));
    }
}
