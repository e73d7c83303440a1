//! Golden tests: each `tests/tsql/NAME.sql` parses to the observations and
//! objects listed in `tests/tsql/NAME.expected`.
//!
//! After a deliberate parser change, regenerate with
//! `UPDATE_GOLDEN=1 cargo test --test tsql_golden` and review the diff.

use assessor::source::{LineIndex, decode};
use assessor::tsql::parse_script;
use std::fmt::Write;
use std::path::Path;

fn render(text: &str) -> String {
    let script = parse_script(text);
    let idx = LineIndex::new(text);
    let mut out = String::new();
    for o in &script.observations {
        let (line, col) = idx.position(text, o.offset);
        let snippet: String = text[o.offset..o.offset + o.len].chars().take(40).collect();
        let snippet = snippet.replace(['\r', '\n'], " ");
        let _ = writeln!(
            out,
            "{line}:{col} {:?} {}{} {{{}}} `{snippet}`",
            o.kind,
            o.name,
            o.detail
                .as_ref()
                .map(|d| format!(" [{d}]"))
                .unwrap_or_default(),
            o.statement,
        );
    }
    for s in &script.objects {
        let (l1, _) = idx.position(text, s.start);
        let (l2, _) = idx.position(text, s.end);
        let _ = writeln!(
            out,
            "object {:?} {}.{} lines {l1}-{l2}",
            s.object.kind,
            s.object.schema.as_deref().unwrap_or("-"),
            s.object.name
        );
    }
    out
}

#[test]
fn golden_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tsql");
    let mut fixtures: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 5, "fixtures missing in {}", dir.display());
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for sql in fixtures {
        let text = decode(&std::fs::read(&sql).unwrap()).unwrap().text;
        let got = render(&text);
        let expected_path = sql.with_extension("expected");
        if update {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}\n--- got\n{got}",
                sql.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
