//! Named structural checks: small predicates over a statement's source text
//! for constructs the parser does not (yet) report as observations of their
//! own. A pattern opts in with `check = "name"`; unknown names are refused
//! when the catalog loads.
//!
//! Guarantees: every check is linear in the (bounded) text it reads, skips
//! string literals, delimited identifiers and comments, and never panics.

use std::collections::HashSet;

/// The checks the catalog may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Check {
    /// `ALTER TABLE t ADD a ..., b ...`: more than one item after `ADD`
    /// (Babelfish adds one column or constraint per statement).
    AlterTableAddMultiple,
    /// `ALTER TABLE t DROP COLUMN a, b` / `DROP CONSTRAINT c, COLUMN d`:
    /// more than one item after `DROP` (one per statement on Babelfish).
    AlterTableDropMultiple,
    /// `CREATE [UNIQUE] CLUSTERED INDEX ... ON v` where `v` is a view the
    /// same script creates (an indexed, i.e. materialised, view).
    IndexOnViewInScript,
    /// `col AS expr [PERSISTED]` where `expr` calls a schema-qualified
    /// (user-defined) function, or a method (same shape: `a.b(`).
    ComputedColumnUdfCall,
}

impl Check {
    pub fn parse(word: &str) -> Option<Check> {
        match word {
            "alter_table_add_multiple" => Some(Check::AlterTableAddMultiple),
            "alter_table_drop_multiple" => Some(Check::AlterTableDropMultiple),
            "index_on_view_in_script" => Some(Check::IndexOnViewInScript),
            "computed_column_udf_call" => Some(Check::ComputedColumnUdfCall),
            _ => None,
        }
    }

    /// Runs the check on the statement text starting at the construct.
    /// `views` holds the upper-case `SCHEMA.NAME` and `NAME` of every view the
    /// script defines.
    pub fn holds(self, text: &str, views: &HashSet<String>) -> bool {
        let tokens = tokens(text);
        match self {
            Check::AlterTableAddMultiple => alter_table_multiple(&tokens, "ADD"),
            Check::AlterTableDropMultiple => alter_table_multiple(&tokens, "DROP"),
            Check::IndexOnViewInScript => index_on_view(&tokens, views),
            Check::ComputedColumnUdfCall => computed_expression(&tokens).is_some_and(|e| {
                e.windows(4).any(|w| {
                    matches!(
                        w,
                        [
                            Token::Word(_),
                            Token::Punct('.'),
                            Token::Word(_),
                            Token::Punct('(')
                        ]
                    )
                })
            }),
        }
    }
}

/// A coarse token: a word (identifier, keyword or number, delimiters
/// removed) or a single punctuation character.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Punct(char),
    /// A string literal (content irrelevant to the checks).
    Str,
}

fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '-' if chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
            }
            '\'' => {
                // '' inside a literal is an escaped quote: keep scanning.
                loop {
                    match chars.next() {
                        None => break,
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                        }
                        Some('\'') => break,
                        Some(_) => {}
                    }
                }
                out.push(Token::Str);
            }
            '[' | '"' => {
                let close = if c == '[' { ']' } else { '"' };
                let mut word = String::new();
                while let Some(c) = chars.next() {
                    if c == close {
                        if chars.peek() == Some(&close) {
                            chars.next();
                            word.push(close);
                            continue;
                        }
                        break;
                    }
                    word.push(c);
                }
                out.push(Token::Word(word.to_uppercase()));
            }
            c if c.is_alphanumeric() || c == '_' || c == '@' || c == '#' || c == '$' => {
                let mut word = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_alphanumeric() || matches!(n, '_' | '@' | '#' | '$') {
                        word.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Word(word.to_uppercase()));
            }
            c => out.push(Token::Punct(c)),
        }
    }
    out
}

fn is_word(t: Option<&Token>, w: &str) -> bool {
    matches!(t, Some(Token::Word(x)) if x == w)
}

/// `ALTER TABLE t <verb> x, y`: a top-level comma after the first `verb`
/// (`ADD` or `DROP`) of an ALTER TABLE statement.
fn alter_table_multiple(tokens: &[Token], verb: &str) -> bool {
    if !(is_word(tokens.first(), "ALTER") && is_word(tokens.get(1), "TABLE")) {
        return false;
    }
    // The first top-level verb after the table name.
    let Some(at) = tokens
        .iter()
        .position(|t| matches!(t, Token::Word(w) if w == verb))
    else {
        return false;
    };
    // `ADD PERIOD FOR SYSTEM_TIME` is a different feature.
    if verb == "ADD" && is_word(tokens.get(at + 1), "PERIOD") {
        return false;
    }
    let mut depth = 0i32;
    for t in &tokens[at + 1..] {
        match t {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => depth -= 1,
            Token::Punct(';') if depth <= 0 => return false,
            Token::Punct(',') if depth == 0 => return true,
            _ => {}
        }
    }
    false
}

/// The expression of a computed column definition `name AS expr
/// [PERSISTED]` up to its top-level `,` or closing `)`. PERSISTED or not
/// makes no difference on Babelfish, which creates every computed column as
/// a stored generated column.
fn computed_expression(tokens: &[Token]) -> Option<&[Token]> {
    if !(matches!(tokens.first(), Some(Token::Word(_))) && is_word(tokens.get(1), "AS")) {
        return None;
    }
    let body = &tokens[2..];
    let mut depth = 0i32;
    let mut end = body.len();
    for (i, t) in body.iter().enumerate() {
        match t {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') if depth == 0 => {
                end = i;
                break;
            }
            Token::Punct(')') => depth -= 1,
            Token::Punct(',') | Token::Punct(';') if depth == 0 => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    Some(&body[..end])
}

fn index_on_view(tokens: &[Token], views: &HashSet<String>) -> bool {
    if views.is_empty() || !is_word(tokens.first(), "CREATE") {
        return false;
    }
    let mut i = 1;
    let mut clustered = false;
    while let Some(Token::Word(w)) = tokens.get(i) {
        match w.as_str() {
            "UNIQUE" | "NONCLUSTERED" => {}
            "CLUSTERED" => clustered = true,
            "INDEX" => break,
            _ => return false,
        }
        i += 1;
    }
    if !clustered || !is_word(tokens.get(i), "INDEX") {
        return false;
    }
    // INDEX name ON target
    if !is_word(tokens.get(i + 2), "ON") {
        return false;
    }
    let mut parts = Vec::new();
    let mut j = i + 3;
    while let Some(Token::Word(w)) = tokens.get(j) {
        parts.push(w.clone());
        if tokens.get(j + 1) == Some(&Token::Punct('.')) {
            j += 2;
        } else {
            break;
        }
    }
    let name = parts.join(".");
    !name.is_empty() && views.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alter_table_add_multiple_counts_top_level_items() {
        let views = HashSet::new();
        let multi = "ALTER TABLE [P].[B] ADD\n CONSTRAINT [FK_a] FOREIGN KEY (a, b) REFERENCES x(a, b) ON DELETE CASCADE,\n CONSTRAINT [FK_b] FOREIGN KEY (c) REFERENCES y(c);";
        assert!(Check::AlterTableAddMultiple.holds(multi, &views));
        let single =
            "ALTER TABLE t ADD CONSTRAINT pk PRIMARY KEY (a, b);\nALTER TABLE u ADD x int, y int";
        assert!(!Check::AlterTableAddMultiple.holds(single, &views));
        let cols = "ALTER TABLE t ADD a int NULL, b int NULL";
        assert!(Check::AlterTableAddMultiple.holds(cols, &views));
        let period = "ALTER TABLE t ADD PERIOD FOR SYSTEM_TIME (a, b)";
        assert!(!Check::AlterTableAddMultiple.holds(period, &views));
        let comment = "ALTER TABLE t ADD a int -- , b int\n";
        assert!(!Check::AlterTableAddMultiple.holds(comment, &views));
        let literal = "ALTER TABLE t ADD a varchar(3) DEFAULT 'x,y'";
        assert!(!Check::AlterTableAddMultiple.holds(literal, &views));
    }

    #[test]
    fn alter_table_drop_multiple_counts_top_level_items() {
        let views = HashSet::new();
        let multi = "ALTER TABLE dbo.t DROP CONSTRAINT df, COLUMN b;";
        assert!(Check::AlterTableDropMultiple.holds(multi, &views));
        assert!(Check::AlterTableDropMultiple.holds("ALTER TABLE t DROP COLUMN a, b", &views));
        let options = "ALTER TABLE t DROP CONSTRAINT pk WITH (ONLINE = ON, MAXDOP = 1);";
        assert!(!Check::AlterTableDropMultiple.holds(options, &views));
        assert!(!Check::AlterTableDropMultiple.holds("ALTER TABLE t ADD a int, b int", &views));
    }

    #[test]
    fn computed_columns_with_udf_calls() {
        let views = HashSet::new();
        let udf =
            "[AccountNumber] AS ISNULL('AW' + [dbo].[ufnLeadingZeros](CustomerID), ''),\n [x] int";
        assert!(Check::ComputedColumnUdfCall.holds(udf, &views));
        // PERSISTED changes nothing: Babelfish stores every computed column.
        let persisted = "[n] AS (N'SO' + dbo.f([id])) PERSISTED,";
        assert!(Check::ComputedColumnUdfCall.holds(persisted, &views));
        // A method call has the same shape; on a computed column it is not
        // supported either (hierarchyid, spatial and XML methods).
        let method = "[L] AS Node.GetLevel(),";
        assert!(Check::ComputedColumnUdfCall.holds(method, &views));
        assert!(!Check::ComputedColumnUdfCall.holds("[L] AS LEN(x),", &views));
        assert!(!Check::ComputedColumnUdfCall.holds("[a] int NOT NULL,", &views));
    }

    #[test]
    fn index_on_view_needs_a_view_from_the_script() {
        let views: HashSet<String> = ["PRODUCTION.VPRODUCT".to_string()].into_iter().collect();
        let text = "CREATE UNIQUE CLUSTERED INDEX [IX_v] ON [Production].[vProduct]([a], [b]);";
        assert!(Check::IndexOnViewInScript.holds(text, &views));
        let table = "CREATE UNIQUE CLUSTERED INDEX [IX_t] ON [Production].[Product]([a]);";
        assert!(!Check::IndexOnViewInScript.holds(table, &views));
        let nonclustered = "CREATE INDEX [IX_v] ON [Production].[vProduct]([a]);";
        assert!(!Check::IndexOnViewInScript.holds(nonclustered, &views));
        assert!(!Check::IndexOnViewInScript.holds(text, &HashSet::new()));
    }

    #[test]
    fn tokens_never_panic_on_unterminated_input() {
        for text in [
            "'abc",
            "[abc",
            "/* x",
            "-- x",
            "\"x",
            "ALTER TABLE t ADD (",
            "é'",
        ] {
            let _ = tokens(text);
            let _ = Check::AlterTableAddMultiple.holds(text, &HashSet::new());
        }
    }
}
