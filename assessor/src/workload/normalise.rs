//! Normalisation of captured statement text: the privacy control of the
//! workload path.
//!
//! Guarantees:
//! - Every literal the project's T-SQL lexer ([`crate::tsql::lexer`]) knows
//!   (string, N-string, integer, decimal, float, binary, money) is replaced
//!   by a fixed placeholder of the same token kind, so the parser still sees
//!   the same statement shape and no value survives. Comments are dropped
//!   (they can hold anything), and so are sqlcmd directive arguments.
//! - A string, identifier or comment left unterminated (a truncated capture)
//!   becomes an unterminated placeholder: the analyzer still reports the
//!   unterminated text, the text itself is gone.
//! - While `SET QUOTED_IDENTIFIER OFF` is in force in the text, `"..."` is a
//!   string literal and is replaced too.
//! - A driver's `EXEC sp_executesql N'stmt', N'@p int', @p = 5` is the
//!   statement it carries: its first argument is unescaped and normalised
//!   the same way, its parameter values are dropped. This is what Query Store
//!   records, and it lets every call of one parameterised statement share one
//!   normalised form.
//! - One exception, so the catalog still classifies what the code asks for:
//!   the property-name argument of a property function
//!   (`SERVERPROPERTY('ProductVersion')`, `OBJECTPROPERTY(id, 'IsTable')`,
//!   the list the parser uses) is kept when it is a single string of at most
//!   64 ASCII letters, digits and underscores. Such a string names a
//!   catalog constant, not data; anything else there is replaced.
//! - Whitespace runs (newlines included) become one space; tokens that
//!   touched stay touching (`dbo.t`, `@p0=0`), so snippets still read as SQL.
//! - The de-duplication key is the normalised text, ASCII case folded.
//!
//! Nothing here logs, and nothing returns the raw text.

use crate::tsql::lexer::{Lexer, Token, TokenKind};

/// How deep `sp_executesql` calls are unwrapped (a call of a call...).
const MAX_UNWRAP: usize = 4;

/// A statement with its literals replaced.
#[derive(Clone, PartialEq, Eq)]
pub struct Normalised {
    /// The text the analyzer reads (and snippets show).
    pub text: String,
    /// What de-duplication compares: `text`, ASCII case folded.
    pub key: String,
}

/// `Debug` shows sizes only: even normalised text is customer code.
impl std::fmt::Debug for Normalised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Normalised")
            .field("text_len", &self.text.len())
            .finish_non_exhaustive()
    }
}

/// Normalises one captured statement (see the module docs).
pub fn normalise(raw: &str) -> Normalised {
    let text = normalise_text(raw, 0);
    let key = text.to_ascii_lowercase();
    Normalised { text, key }
}

fn normalise_text(raw: &str, depth: usize) -> String {
    let tokens: Vec<Token> = Lexer::new(raw).collect();
    if depth < MAX_UNWRAP
        && let Some(inner) = sp_executesql_statement(raw, &tokens)
    {
        return normalise_text(&inner, depth + 1);
    }
    let keep = property_names(raw, &tokens);
    let mut out = String::with_capacity(raw.len().min(1 << 16));
    let mut quoted_identifier_off = false;
    let mut prev_end: Option<usize> = None;
    let mut gap = false;
    for (i, t) in tokens.iter().enumerate() {
        // `SET QUOTED_IDENTIFIER OFF|ON`: from here on, `"x"` is a string
        // (OFF) or an identifier (ON).
        if t.is_word(raw, "QUOTED_IDENTIFIER")
            && i > 0
            && tokens[i - 1].is_word(raw, "SET")
            && let Some(next) = tokens.get(i + 1)
        {
            if next.is_word(raw, "OFF") {
                quoted_identifier_off = true;
            } else if next.is_word(raw, "ON") {
                quoted_identifier_off = false;
            }
        }
        if prev_end.is_some_and(|end| end < t.start) {
            gap = true;
        }
        let replacement: Option<&str> = match t.kind {
            TokenKind::LineComment | TokenKind::BlockComment => {
                gap = true;
                continue;
            }
            TokenKind::String | TokenKind::NString if keep.contains(&i) => None,
            TokenKind::String => Some("'?'"),
            TokenKind::NString => Some("N'?'"),
            TokenKind::Integer => Some("0"),
            TokenKind::Decimal => Some("0.0"),
            TokenKind::Float => Some("0E0"),
            TokenKind::Binary => Some("0x00"),
            TokenKind::Money => Some("$0"),
            TokenKind::QuotedIdent if quoted_identifier_off && t.text(raw).starts_with('"') => {
                Some("\"?\"")
            }
            TokenKind::Error => match t.text(raw).as_bytes() {
                [b'N' | b'n', b'\'', ..] => Some("N'?"),
                [b'\'', ..] => Some("'?"),
                [b'[', ..] => Some("[?"),
                [b'"', ..] => Some("\"?"),
                // An unterminated comment, or a byte that starts no token.
                _ => {
                    gap = true;
                    continue;
                }
            },
            // Line-oriented sqlcmd forms keep their own line; a directive's
            // arguments (`:setvar name 'value'`) are dropped with the rest.
            TokenKind::BatchSeparator => {
                push_line(&mut out, "GO");
                prev_end = Some(t.end);
                gap = false;
                continue;
            }
            TokenKind::SqlcmdDirective => {
                push_line(&mut out, directive_word(t.text(raw)));
                prev_end = Some(t.end);
                gap = false;
                continue;
            }
            TokenKind::Word
            | TokenKind::QuotedIdent
            | TokenKind::Variable
            | TokenKind::GlobalVariable
            | TokenKind::Operator
            | TokenKind::SqlcmdVariable => None,
        };
        if gap && !out.is_empty() && !out.ends_with('\n') {
            out.push(' ');
        }
        gap = false;
        out.push_str(replacement.unwrap_or_else(|| t.text(raw)));
        prev_end = Some(t.end);
    }
    out.trim_end().to_string()
}

/// Longest property name kept verbatim.
const MAX_PROPERTY_NAME: usize = 64;

/// Indices of the string tokens that are the property-name argument of a
/// property function and look like a property name (see the module docs).
fn property_names(raw: &str, tokens: &[Token]) -> Vec<usize> {
    let code: Vec<usize> = (0..tokens.len())
        .filter(|&i| !tokens[i].is_trivia())
        .collect();
    let mut keep = Vec::new();
    for (c, &i) in code.iter().enumerate() {
        let t = &tokens[i];
        if t.kind != TokenKind::Word {
            continue;
        }
        let Some(wanted) = crate::tsql::property_argument(&t.text(raw).to_ascii_uppercase()) else {
            continue;
        };
        if !code.get(c + 1).is_some_and(|&j| tokens[j].is_op(raw, "(")) {
            continue;
        }
        let (mut depth, mut arg) = (0usize, 0usize);
        for (k, &j) in code.iter().enumerate().skip(c + 2) {
            let a = &tokens[j];
            if a.is_op(raw, "(") {
                depth += 1;
            } else if a.is_op(raw, ")") {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            } else if a.is_op(raw, ",") && depth == 0 {
                arg += 1;
            } else if depth == 0
                && arg == wanted
                && matches!(a.kind, TokenKind::String | TokenKind::NString)
                && is_property_name(a.text(raw))
                && code
                    .get(k + 1)
                    .is_some_and(|&n| tokens[n].is_op(raw, ",") || tokens[n].is_op(raw, ")"))
                && code
                    .get(k - 1)
                    .is_some_and(|&p| tokens[p].is_op(raw, ",") || tokens[p].is_op(raw, "("))
            {
                keep.push(j);
            }
        }
    }
    keep
}

/// `'Name'` or `N'Name'` with a short identifier-like name inside.
fn is_property_name(literal: &str) -> bool {
    let inner = literal
        .strip_prefix(['N', 'n'])
        .unwrap_or(literal)
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .unwrap_or("");
    !inner.is_empty()
        && inner.len() <= MAX_PROPERTY_NAME
        && inner
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Puts `line` on a line of its own.
fn push_line(out: &mut String, line: &str) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(line);
    out.push('\n');
}

/// The command word of a sqlcmd directive line: `:setvar`, `:r`, `!!`.
fn directive_word(line: &str) -> &str {
    let end = line
        .char_indices()
        .skip(1)
        .find(|&(_, c)| !(c.is_ascii_alphabetic() || c == '!'))
        .map_or(line.len(), |(i, _)| i);
    line.get(..end).unwrap_or("")
}

/// When the whole text is `EXEC[UTE] [[db.]sys.]sp_executesql '<stmt>' ...`,
/// the statement it runs, unescaped (`''` -> `'`).
fn sp_executesql_statement(raw: &str, tokens: &[Token]) -> Option<String> {
    let mut code = tokens.iter().filter(|t| !t.is_trivia());
    let first = code.next()?;
    if !(first.is_word(raw, "EXEC") || first.is_word(raw, "EXECUTE")) {
        return None;
    }
    // The procedure name: parts separated by dots, the last one
    // `sp_executesql` (bracketed or not).
    let mut last_part = None;
    let mut next = code.next()?;
    loop {
        match next.kind {
            TokenKind::Word | TokenKind::QuotedIdent => last_part = Some(*next),
            TokenKind::Operator if next.is_op(raw, ".") => {}
            _ => break,
        }
        next = code.next()?;
    }
    let name = last_part?.text(raw);
    let name = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    if !name.eq_ignore_ascii_case("sp_executesql") {
        return None;
    }
    let body = match next.kind {
        TokenKind::NString => next.text(raw).get(2..)?,
        TokenKind::String => next.text(raw).get(1..)?,
        _ => return None,
    };
    Some(body.strip_suffix('\'')?.replace("''", "'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(raw: &str) -> String {
        normalise(raw).text
    }

    #[test]
    fn every_literal_kind_is_replaced_by_its_placeholder() {
        assert_eq!(
            n("SELECT 'a', N'b', 42, 4.2, 4.2e1, 0xBEEF, $12.50 FROM t"),
            "SELECT '?', N'?', 0, 0.0, 0E0, 0x00, $0 FROM t"
        );
        assert_eq!(n("SELECT 'it''s' + n'x'"), "SELECT '?' + N'?'");
    }

    #[test]
    fn comments_go_and_whitespace_collapses_without_joining_tokens() {
        assert_eq!(
            n("SELECT  a,\r\n\tb -- secret\nFROM dbo.t/*x*/WHERE c=1"),
            "SELECT a, b FROM dbo.t WHERE c=0"
        );
        assert_eq!(n("  \n "), "");
    }

    #[test]
    fn unterminated_text_keeps_its_kind_but_not_its_content() {
        assert_eq!(n("SELECT 'secret"), "SELECT '?");
        assert_eq!(n("SELECT N'secret"), "SELECT N'?");
        assert_eq!(n("SELECT [secret"), "SELECT [?");
        assert_eq!(n("SELECT 1 /* secret"), "SELECT 0");
    }

    #[test]
    fn double_quotes_are_strings_only_while_quoted_identifier_is_off() {
        assert_eq!(
            n(
                "SELECT \"col\" FROM t; SET QUOTED_IDENTIFIER OFF; SELECT \"secret\"; SET QUOTED_IDENTIFIER ON; SELECT \"c2\""
            ),
            "SELECT \"col\" FROM t; SET QUOTED_IDENTIFIER OFF; SELECT \"?\"; SET QUOTED_IDENTIFIER ON; SELECT \"c2\""
        );
    }

    #[test]
    fn sp_executesql_is_the_statement_it_carries() {
        let a = normalise(
            "exec sp_executesql N'INSERT INTO [dbo].[T] ([Name]) VALUES (@p0) WHERE x = ''secret''',N'@p0 nvarchar(4000)',@p0=N'alice'",
        );
        assert_eq!(
            a.text,
            "INSERT INTO [dbo].[T] ([Name]) VALUES (@p0) WHERE x = '?'"
        );
        let b = normalise(
            "EXECUTE [sys].[sp_executesql] N'insert into [dbo].[T] ([Name]) values (@p0) where x = ''other''', N'@p0 nvarchar(4000)', @p0 = N'bob'",
        );
        assert_eq!(a.key, b.key);
        // Not a driver call: the variable is kept, the literal replaced.
        assert_eq!(
            n("EXEC sp_executesql @sql, N'@id int', @id = 7"),
            "EXEC sp_executesql @sql, N'?', @id = 0"
        );
    }

    #[test]
    fn calls_differing_only_in_values_or_case_share_a_key() {
        let a = normalise("SELECT * FROM t WHERE id = 1 AND name = 'x'");
        let b = normalise("select *   from T where ID = 99 and NAME = 'y'");
        let c = normalise("SELECT * FROM t WHERE id = 1 AND name = N'x'");
        assert_eq!(a.key, b.key);
        assert_ne!(a.key, normalise("SELECT * FROM t WHERE id > 1").key);
        // A string and an N-string are different statements to the server
        // (different parameter types), so they stay apart.
        assert_ne!(a.key, c.key);
    }

    #[test]
    fn property_names_are_kept_and_nothing_else_in_property_functions() {
        assert_eq!(
            n(
                "SELECT SERVERPROPERTY('ProductVersion'), OBJECTPROPERTY(OBJECT_ID('dbo.secret'), N'IsUserTable')"
            ),
            "SELECT SERVERPROPERTY('ProductVersion'), OBJECTPROPERTY(OBJECT_ID('?'), N'IsUserTable')"
        );
        // Not a name, not alone, or not the property argument: replaced.
        assert_eq!(
            n(
                "SELECT SERVERPROPERTY('secret value'), SERVERPROPERTY('a' + 'b'), INDEXPROPERTY(1, 'ix_secret', 'IsClustered'), STR('IsTable')"
            ),
            "SELECT SERVERPROPERTY('?'), SERVERPROPERTY('?' + '?'), INDEXPROPERTY(0, '?', 'IsClustered'), STR('?')"
        );
    }

    #[test]
    fn sqlcmd_lines_keep_their_line_but_lose_their_arguments() {
        assert_eq!(
            n("SELECT 1\nGO\n:setvar secret 'x'\nSELECT 2"),
            "SELECT 0\nGO\n:setvar\nSELECT 0"
        );
    }

    #[test]
    fn debug_shows_no_text() {
        let shown = format!("{:?}", normalise("SELECT canary_col FROM t"));
        assert!(!shown.contains("canary"), "{shown}");
    }
}
