//! A finding about a whole statement is reported on the statement's first
//! line, where Compass reports it and where a reader starts, however far
//! down the clause that decides it sits (scripted and hand-formatted code
//! puts each clause on its own line). A finding about one construct stays
//! on the construct's line.

// Test helpers: a panic is a failed test with its location.
#![allow(clippy::unwrap_used)]

use assessor::analyze::Analyzer;
use assessor::rules::{Catalog, Version};

/// The line `feature` is reported on in `text`, if it is.
fn line_of(text: &str, feature: &str) -> Vec<u32> {
    let catalog = Catalog::shipped().unwrap();
    let analyzer = Analyzer::new(&catalog, Version::parse("5.5").unwrap());
    analyzer
        .analyze_text("t.sql", text)
        .findings
        .iter()
        .filter(|f| f.feature == feature)
        .map(|f| f.line)
        .collect()
}

#[test]
fn statement_level_findings_are_on_the_first_line() {
    let cases = [
        (
            "WITH src AS\n(\n    SELECT id FROM dbo.s\n)\nMERGE dbo.t AS t\nUSING src\nON t.id = src.id\nWHEN MATCHED THEN DELETE;",
            "statement.merge",
        ),
        (
            "INSERT INTO #t\n    (a,\n     b)\nEXECUTE sp_executesql\n    N'SELECT 1, 2';",
            "statement.insert_execute.sp_executesql",
        ),
        (
            "DELETE\nFROM dbo.t\nOUTPUT deleted.a\nINTO @gone (a)\nOUTPUT deleted.a\nWHERE a < 0;",
            "clause.output_twice",
        ),
        (
            "UPDATE dbo.t\nSET a = 1,\n    b = 2\nFROM dbo.t\nWHERE\n    CURRENT OF c;",
            "clause.where_current_of",
        ),
        (
            "GRANT SELECT\nON SCHEMA::dbo\nTO app_user\nWITH GRANT OPTION\nAS dbo;",
            "permission.as_principal",
        ),
        (
            "WITH c AS\n(\n    SELECT a\n    FROM dbo.t\n)\nUPDATE c\nSET a = 1;",
            "statement.dml_target_cte",
        ),
    ];
    for (text, feature) in cases {
        assert_eq!(line_of(text, feature), [1], "{feature} in {text:?}");
    }
}

#[test]
fn construct_findings_stay_on_their_line() {
    // A CTE's own construct is not moved to the WITH.
    let text = "WITH c AS\n(\n    SELECT a FROM ##g\n)\nSELECT a FROM c;";
    assert_eq!(line_of(text, "statement.global_temp_table"), [3]);
    // Nor is a clause of a statement that starts lines above.
    let text = "SELECT a\nFROM dbo.t\nFOR XML\n    AUTO;";
    assert_eq!(line_of(text, "clause.for_xml.auto"), [3]);
}
