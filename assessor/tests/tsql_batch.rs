//! Batch splitting: GO rules, sqlcmd directives, SSDT files.

use assessor::tsql::batch::{go_count, split};
use assessor::tsql::lexer::TokenKind;
use assessor::tsql::observation::ObservationKind;
use assessor::tsql::parse_script;

fn batch_texts(src: &str) -> Vec<String> {
    let b = split(src);
    b.batches
        .iter()
        .map(|r| {
            let toks = &b.tokens[r.clone()];
            src[toks[0].start..toks[toks.len() - 1].end].to_owned()
        })
        .collect()
}

#[test]
fn go_splits_only_alone_on_a_line() {
    let src = "select 1\nGO\nselect 2 GO\nselect 3\n  go  -- done\nselect 4";
    assert_eq!(
        batch_texts(src),
        vec!["select 1", "select 2 GO\nselect 3", "select 4"]
    );
}

#[test]
fn go_inside_strings_and_comments_does_not_split() {
    let src = "select 'a\nGO\nb'\n/*\nGO\n*/\nselect 2\n-- GO\nGO\nselect 3";
    assert_eq!(batch_texts(src).len(), 2);
}

#[test]
fn go_with_count() {
    let src = "insert t default values\nGO 10\n";
    let b = split(src);
    assert_eq!(b.batches.len(), 1);
    assert_eq!(go_count(src, &b.sqlcmd[0]), Some(10));
    let script = parse_script(src);
    let go = script.observations.iter().find(|o| o.name == "GO").unwrap();
    assert_eq!(
        (go.kind, go.detail.as_deref()),
        (ObservationKind::Sqlcmd, Some("10"))
    );
}

#[test]
fn crlf_and_trailing_go_without_newline() {
    assert_eq!(
        batch_texts("select 1\r\nGO\r\nselect 2\r\nGO"),
        vec!["select 1", "select 2"]
    );
}

#[test]
fn ssdt_file_without_go_is_one_batch() {
    let src = "CREATE TABLE t (a int)\n;\nCREATE INDEX i ON t (a)";
    assert_eq!(split(src).batches.len(), 1);
}

#[test]
fn sqlcmd_directives_are_reported_not_parsed() {
    let src = ":setvar DatabaseName \"AW\"\n:on error exit\n:r .\\other.sql\n!! mkdir x\n:connect srv\n:out f.txt\nUSE $(DatabaseName);\nSELECT N'$(Path)data.csv'";
    let b = split(src);
    assert!(
        b.tokens
            .iter()
            .all(|t| t.kind != TokenKind::SqlcmdDirective)
    );
    let script = parse_script(src);
    let names: Vec<&str> = script
        .observations
        .iter()
        .filter(|o| o.kind == ObservationKind::Sqlcmd)
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(
        names,
        vec![
            ":SETVAR",
            ":ON ERROR",
            ":R",
            "!!",
            ":CONNECT",
            ":OUT",
            "$(DATABASENAME)",
            "$(PATH)"
        ]
    );
    assert!(
        script
            .observations
            .iter()
            .all(|o| o.kind != ObservationKind::Unparsed)
    );
    // The variable inside the string is reported where it is.
    let path = script
        .observations
        .iter()
        .find(|o| o.name == "$(PATH)")
        .unwrap();
    assert_eq!(&src[path.offset..path.offset + path.len], "$(Path)");
}
