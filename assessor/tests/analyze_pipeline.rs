//! The analysis pipeline on real files: encodings, objects, de-duplication,
//! skipped files, statuses per target.

use assessor::analyze::Analyzer;
use assessor::findings::{ObjectKind, Status};
use assessor::rules::{Catalog, Version};

const SCRIPT: &str = "CREATE PROCEDURE Sales.usp_Load\nWITH EXECUTE AS OWNER\nAS\nBEGIN\n  BEGIN TRAN;\n  BULK INSERT Sales.Orders FROM 'c:\\\\x.csv';\n  COMMIT;\nEND\nGO\nALTER DATABASE CURRENT SET RECOVERY SIMPLE, PAGE_VERIFY CHECKSUM\nGO\nSELECT STR(1.0), GETDATE(), UPPER('a')\n";

fn utf16le(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

#[test]
fn utf8_and_utf16_give_the_same_findings_with_objects_and_lines() {
    let catalog = Catalog::shipped().unwrap();
    let analyzer = Analyzer::new(&catalog, Version::parse("5.5").unwrap());
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("a.sql"), SCRIPT).unwrap();
    std::fs::write(tmp.path().join("b.sql"), utf16le(SCRIPT)).unwrap();
    std::fs::write(
        tmp.path().join("c.sql"),
        [0u8, 1, 2, 0, 0, 0, 3, 0, 0, 0, 0, 9],
    )
    .unwrap();
    let analysis = analyzer
        .analyze_paths(&[tmp.path().to_path_buf()], &mut |_| {})
        .unwrap();
    assert_eq!(analysis.files_analyzed, 2);
    assert_eq!(analysis.skipped.len(), 1, "{:?}", analysis.skipped);
    assert_eq!(analysis.skipped[0].file, "c.sql");

    let of = |file: &str| -> Vec<(u32, String, Status)> {
        analysis
            .findings
            .iter()
            .filter(|f| f.file == file)
            .map(|f| (f.line, f.feature.clone(), f.status))
            .collect()
    };
    assert_eq!(of("a.sql"), of("b.sql"));
    let a = of("a.sql");
    let has = |line: u32, feature: &str, status: Status| {
        assert!(
            a.contains(&(line, feature.to_string(), status)),
            "missing {line} {feature} in {a:?}"
        );
    };
    has(
        5,
        "statement.begin_transaction.security_definer",
        Status::NotSupported,
    );
    has(
        7,
        "statement.commit_transaction.security_definer",
        Status::NotSupported,
    );
    has(6, "statement.bulk_insert", Status::NotSupported);
    // Both options of one ALTER DATABASE are reported at its first line.
    has(10, "database_option.recovery", Status::NotSupported);
    has(10, "database_option.page_verify", Status::NotSupported);
    has(10, "statement.alter_database.current", Status::NotSupported);
    has(12, "function.str", Status::ReviewSemantics);
    // One finding per feature and line.
    let mut keys: Vec<_> = a.iter().map(|(l, f, _)| (*l, f.clone())).collect();
    let before = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), before);

    let bulk = analysis
        .findings
        .iter()
        .find(|f| f.file == "a.sql" && f.feature == "statement.bulk_insert")
        .unwrap();
    let object = bulk.object.as_ref().unwrap();
    assert_eq!(object.name, "usp_Load");
    assert_eq!(object.schema.as_deref(), Some("Sales"));
    assert_eq!(object.kind, ObjectKind::Procedure);
    assert_eq!(bulk.column, 3);
    assert!(bulk.snippet.starts_with("BULK INSERT"));
    // The top-level code after the procedure is an object of its own.
    assert!(
        analysis
            .objects
            .iter()
            .any(|o| o.file == "a.sql" && o.object.is_none())
    );
    assert!(
        analysis
            .objects
            .iter()
            .any(|o| o.file == "a.sql" && o.object.is_some())
    );
    // Supported constructs are counted, not reported.
    assert!(
        analysis
            .supported_occurrences
            .get("function.getdate")
            .copied()
            .unwrap_or(0)
            >= 2
    );
    assert!(
        analysis
            .findings
            .iter()
            .all(|f| f.status != Status::Supported)
    );
}

#[test]
fn a_missing_input_path_is_an_error_naming_it() {
    let catalog = Catalog::shipped().unwrap();
    let analyzer = Analyzer::new(&catalog, catalog.latest());
    let err = analyzer
        .analyze_paths(&["/no/such/dir-for-assessor".into()], &mut |_| {})
        .unwrap_err();
    assert!(
        err.to_string().contains("/no/such/dir-for-assessor"),
        "{err}"
    );
}

/// Files are analysed on several threads, yet the analysis comes out in the
/// order the files are listed, and progress counts them in that order: a
/// large file listed first must not let the small ones after it jump ahead.
#[test]
fn files_come_out_in_listing_order_whatever_finishes_first() {
    let catalog = Catalog::shipped().unwrap();
    let analyzer = Analyzer::new(&catalog, Version::parse("5.5").unwrap());
    let tmp = tempfile::tempdir().unwrap();
    let big = SCRIPT.repeat(400);
    let mut names = Vec::new();
    for i in 0..40 {
        let name = format!("f{i:02}.sql");
        let text = if i % 10 == 0 { big.as_str() } else { SCRIPT };
        std::fs::write(tmp.path().join(&name), text).unwrap();
        names.push(name);
    }
    let mut seen = Vec::new();
    let analysis = analyzer
        .analyze_paths(&[tmp.path().to_path_buf()], &mut |p| {
            seen.push((p.files_done, p.file.to_string()));
        })
        .unwrap();
    let expected: Vec<(usize, String)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (i + 1, n.clone()))
        .collect();
    assert_eq!(seen, expected);
    let mut files: Vec<&str> = analysis.findings.iter().map(|f| f.file.as_str()).collect();
    files.dedup();
    assert_eq!(
        files, names,
        "findings are grouped by file in listing order"
    );
    let objects: Vec<&str> = analysis.objects.iter().map(|o| o.file.as_str()).collect();
    let mut grouped = objects.clone();
    grouped.dedup();
    assert_eq!(
        grouped, names,
        "objects are grouped by file in listing order"
    );
    assert_eq!(analysis.files_analyzed, 40);
    let one = analyzer.analyze_text("x.sql", SCRIPT);
    assert_eq!(
        analysis.findings.len(),
        36 * one.findings.len() + 4 * analyzer.analyze_text("x.sql", &big).findings.len()
    );
}
