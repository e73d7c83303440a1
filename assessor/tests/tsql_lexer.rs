//! Lexer: every token kind, escapes, nesting, offsets, error tokens.

use assessor::tsql::lexer::{TokenKind as T, tokenize};

fn lex(src: &str) -> Vec<(T, &str)> {
    tokenize(src)
        .into_iter()
        .map(|t| (t.kind, t.text(src)))
        .collect()
}

#[test]
fn identifiers_and_quoting() {
    assert_eq!(
        lex(r#"[a]]b] "c""d" dbo.#t ##g @v @@ROWCOUNT $partition"#),
        vec![
            (T::QuotedIdent, "[a]]b]"),
            (T::QuotedIdent, r#""c""d""#),
            (T::Word, "dbo"),
            (T::Operator, "."),
            (T::Word, "#t"),
            (T::Word, "##g"),
            (T::Variable, "@v"),
            (T::GlobalVariable, "@@ROWCOUNT"),
            (T::Word, "$partition"),
        ]
    );
}

#[test]
fn strings_with_doubled_quotes() {
    assert_eq!(
        lex("'it''s' N'x''y' n'z' ''"),
        vec![
            (T::String, "'it''s'"),
            (T::NString, "N'x''y'"),
            (T::NString, "n'z'"),
            (T::String, "''"),
        ]
    );
}

#[test]
fn comments_nest() {
    let src = "/* a /* b */ c */ x -- d /* e\ny";
    assert_eq!(
        lex(src),
        vec![
            (T::BlockComment, "/* a /* b */ c */"),
            (T::Word, "x"),
            (T::LineComment, "-- d /* e"),
            (T::Word, "y"),
        ]
    );
}

#[test]
fn numbers() {
    assert_eq!(
        lex("42 3.14 .5 1. 1e10 1.5E-3 2e+7 0x1F 0x $12.50 $-3 $.5"),
        vec![
            (T::Integer, "42"),
            (T::Decimal, "3.14"),
            (T::Decimal, ".5"),
            (T::Decimal, "1."),
            (T::Float, "1e10"),
            (T::Float, "1.5E-3"),
            (T::Float, "2e+7"),
            (T::Binary, "0x1F"),
            (T::Binary, "0x"),
            (T::Money, "$12.50"),
            (T::Money, "$-3"),
            (T::Money, "$.5"),
        ]
    );
}

#[test]
fn operators() {
    let ops: Vec<&str> =
        lex("a::b += -= *= /= %= &= |= ^= <> != !< !> <= >= = < > ( ) , ; . + - * / % & | ^ ~")
            .into_iter()
            .filter(|(k, _)| *k == T::Operator)
            .map(|(_, s)| s)
            .collect();
    assert_eq!(
        ops,
        vec![
            "::", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<>", "!=", "!<", "!>", "<=",
            ">=", "=", "<", ">", "(", ")", ",", ";", ".", "+", "-", "*", "/", "%", "&", "|", "^",
            "~"
        ]
    );
}

#[test]
fn sqlcmd_forms() {
    let src = ":setvar db \"x\"\r\nUSE $(db)\n  !! dir\n:!! ls\nselect ':r no'\nGO 2\n";
    assert_eq!(
        lex(src),
        vec![
            (T::SqlcmdDirective, ":setvar db \"x\""),
            (T::Word, "USE"),
            (T::SqlcmdVariable, "$(db)"),
            (T::SqlcmdDirective, "!! dir"),
            (T::SqlcmdDirective, ":!! ls"),
            (T::Word, "select"),
            (T::String, "':r no'"),
            (T::BatchSeparator, "GO 2"),
        ]
    );
}

#[test]
fn unterminated_constructs_run_to_the_end() {
    for src in [
        "select 'abc",
        "select N'abc",
        "select [abc",
        "select \"abc",
        "select /* a /* b */",
    ] {
        let toks = tokenize(src);
        let last = toks.last().unwrap();
        assert_eq!(last.kind, T::Error, "{src}");
        assert_eq!(last.end, src.len(), "{src}");
        assert_eq!(last.start, 7, "{src}");
    }
}

#[test]
fn offsets_are_byte_ranges_and_cover_no_whitespace() {
    let src = "SELECT  é,\r\n\t[x]";
    let toks = tokenize(src);
    assert_eq!(toks.len(), 4);
    assert_eq!((toks[1].start, toks[1].end), (8, 10));
    assert_eq!(&src[toks[3].start..toks[3].end], "[x]");
    assert!(toks.windows(2).all(|w| w[0].end <= w[1].start));
}

#[test]
fn keywords_are_words_in_any_case() {
    let src = "sElEcT";
    let t = tokenize(src);
    assert!(t[0].is_word(src, "SELECT"));
}

#[test]
fn control_bytes_are_error_tokens_not_loops() {
    let src = "select \u{1} 1";
    let toks = tokenize(src);
    assert_eq!(toks[1].kind, T::Error);
    assert_eq!(toks.len(), 3);
}

#[test]
fn binary_constant_continued_over_lines() {
    // A backslash-newline (LF or CRLF) continues a binary constant; a
    // backslash not followed by a newline ends it.
    assert_eq!(
        lex("0x0102\\\n0304 0xAB\\\r\nCD 0x01\\x"),
        vec![
            (T::Binary, "0x0102\\\n0304"),
            (T::Binary, "0xAB\\\r\nCD"),
            (T::Binary, "0x01"),
            (T::Operator, "\\"),
            (T::Word, "x"),
        ]
    );
}
