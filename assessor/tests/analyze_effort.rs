//! `assessor analyze --effort FILE.toml` end to end: the real binary, with
//! numbers computed by hand from the catalog's and the file's minutes.

use std::path::Path;
use std::process::{Command, Output};

/// Top-level SET DATEFORMAT (low, 10 min, learning 15, not_supported),
/// MERGE in a procedure (high, 120, learning 240, not_supported), GETDATE
/// (supported) and NOLOCK in a view (medium, 30, learning 60,
/// review_semantics).
const SCRIPT: &str = "SET DATEFORMAT mdy\nGO\nCREATE PROCEDURE dbo.p AS\nBEGIN\n  \
                      MERGE t USING s ON t.id = s.id WHEN MATCHED THEN DELETE;\n  \
                      SELECT GETDATE()\nEND\nGO\n\
                      CREATE VIEW dbo.v AS SELECT a FROM t WITH (NOLOCK)\nGO\n";

#[allow(clippy::unwrap_used)] // A test helper: the panic is the test failure.
fn setup() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("in")).unwrap();
    std::fs::write(tmp.path().join("in/a.sql"), SCRIPT).unwrap();
    tmp
}

#[allow(clippy::unwrap_used)] // A test helper: the panic is the test failure.
fn run(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_assessor"))
        .args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// The JSON report of `in` with `extra` arguments; panics unless it exits 0.
#[allow(clippy::unwrap_used)] // A test helper: the panic is the test failure.
fn report(cwd: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["analyze", "in", "--format", "json", "--output", "-"];
    args.extend(extra);
    let out = run(&args, cwd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[allow(clippy::unwrap_used)] // A test helper: the panic is the test failure.
fn effort_of(doc: &serde_json::Value, feature: &str) -> Vec<u64> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["feature"] == feature)
        .map(|f| f["effort_minutes"].as_u64().unwrap())
        .collect()
}

#[test]
fn overrides_change_the_effort_exactly_and_are_recorded() {
    let tmp = setup();
    let before = report(tmp.path(), &[]);
    // The catalog's numbers: 10 + 120 + 30 remediation, 15 + 240 + 60 learning.
    assert_eq!(before["summary"]["effort"]["remediation_minutes"], 160);
    assert_eq!(before["summary"]["effort"]["learning_minutes"], 315);
    assert_eq!(
        before["summary"]["effort_overrides"],
        serde_json::Value::Null
    );

    std::fs::write(
        tmp.path().join("calib.toml"),
        "[complexity]\nlow = 7\nhigh = 500\n\n\
         [feature.\"statement.merge\"]\neffort_minutes = 200\nlearning_minutes = 0\n",
    )
    .unwrap();
    let after = report(tmp.path(), &["--effort", "calib.toml"]);
    // DATEFORMAT: low -> 7. MERGE: its own 200 wins over high's 500.
    // NOLOCK: medium, not overridden -> 30.
    assert_eq!(effort_of(&after, "set.dateformat"), vec![7]);
    assert_eq!(effort_of(&after, "statement.merge"), vec![200]);
    assert_eq!(effort_of(&after, "table_hint.nolock"), vec![30]);
    let effort = &after["summary"]["effort"];
    assert_eq!(effort["remediation_minutes"], 7 + 200 + 30);
    // Learning: DATEFORMAT 15, MERGE 0 (overridden), NOLOCK 60.
    assert_eq!(effort["learning_minutes"], 15 + 60);
    assert_eq!(effort["minutes"], 237 + 75);
    // 312 min = 5.2 h = 0.65 person-days, rounded to one decimal.
    assert_eq!(effort["hours"], 5.2);
    assert_eq!(effort["person_days"], 0.7);
    assert_eq!(
        after["feature_catalog"]["statement.merge"]["learning_minutes"],
        0
    );
    // Effort changes, statuses do not.
    assert_eq!(
        after["summary"]["by_status"],
        before["summary"]["by_status"]
    );

    let recorded = &after["summary"]["effort_overrides"];
    assert_eq!(recorded["file"], "calib.toml");
    assert_eq!(recorded["overrides"], 4);
    assert_eq!(recorded["complexity"]["low"], 7);
    assert_eq!(recorded["complexity"]["high"], 500);
    assert_eq!(
        recorded["features"]["statement.merge"]["effort_minutes"],
        200
    );
    assert_eq!(
        recorded["features"]["statement.merge"]["status"],
        serde_json::Value::Null
    );
}

#[test]
fn a_status_override_changes_readiness_counts_and_fail_on() {
    let tmp = setup();
    let gate = ["--fail-on", "not_supported"];
    let mut args = vec!["analyze", "in", "--out", "r1"];
    args.extend(gate);
    // Without overrides the two blockers fail the gate.
    assert_eq!(run(&args, tmp.path()).status.code(), Some(3));

    std::fs::write(
        tmp.path().join("calib.toml"),
        "[feature.\"set.dateformat\"]\nstatus = \"review_semantics\"\n\
         [feature.\"statement.merge\"]\nstatus = \"ignored\"\n\
         [feature.\"table_hint.nolock\"]\nstatus = \"supported\"\n",
    )
    .unwrap();
    let mut args = vec!["analyze", "in", "--out", "r2", "--effort", "calib.toml"];
    args.extend(gate);
    let out = run(&args, tmp.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // The closing summary says so, with counts only (no file name).
    assert!(
        err.contains("3 of 3 objects (100.0 %) ready")
            && err.contains("person-days, calibrated by --effort (3 overrides))"),
        "{err}"
    );

    let doc = report(tmp.path(), &["--effort", "calib.toml"]);
    let s = &doc["summary"];
    assert_eq!(s["readiness_percent"], 100.0);
    assert_eq!(s["by_status"]["not_supported"], 0);
    assert_eq!(s["by_status"]["review_semantics"], 1);
    assert_eq!(s["by_status"]["ignored"], 1);
    // NOLOCK overridden to supported: a supported construct, not a finding.
    assert_eq!(s["findings_total"], 2);
    assert!(effort_of(&doc, "table_hint.nolock").is_empty());
    assert_eq!(
        s["supported_constructs"]["by_feature"]["table_hint.nolock"],
        1
    );
    assert_eq!(s["by_object_type"]["procedure"]["objects_ready"], 1);
    let statuses: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["status"].as_str().unwrap())
        .collect();
    assert!(!statuses.contains(&"not_supported"), "{statuses:?}");

    // The HTML says the effort was calibrated, with what.
    let html = std::fs::read_to_string(tmp.path().join("r2/report.html")).unwrap();
    assert!(
        html.contains("Effort calibrated with calib.toml: 3 overrides"),
        "no calibration line in the HTML"
    );
    assert!(html.contains("set.dateformat"));
}

#[test]
fn invalid_overrides_are_refused_with_key_path_and_line_and_no_report() {
    let tmp = setup();
    std::fs::write(
        tmp.path().join("bad.toml"),
        "[complexity]\nlow = -1\nhuge = 3\n\
         [feature.\"statement.merge\"]\neffort_minutes = 100001\nstatus = \"fine\"\n\
         [feature.\"no.such\"]\neffort_minutes = 1\n",
    )
    .unwrap();
    let out = run(
        &["analyze", "in", "--out", "r", "--effort", "bad.toml"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "bad.toml: 5 problem(s)",
        "`complexity.low` is negative (-1): minutes are 0 or more (line 2)",
        "unknown complexity `huge` in `complexity.huge`: use low, medium or high (line 3)",
        "`feature.\"statement.merge\".effort_minutes` is more than 100000 minutes",
        "`feature.\"statement.merge\".status`: unknown status `fine`",
        "unknown feature id `no.such`",
    ] {
        assert!(err.contains(expected), "{expected:?} not in {err}");
    }
    assert!(err.contains("(line 5)") && err.contains("(line 6)") && err.contains("(line 7)"));
    assert!(!tmp.path().join("r").exists(), "a report was written");

    // A file that is not there is a usage error too, naming it.
    let out = run(
        &["analyze", "in", "--out", "r", "--effort", "missing.toml"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
    assert!(!tmp.path().join("r").exists());
}

#[test]
fn the_summary_breaks_readiness_down_by_object_type_and_counts_supported_constructs() {
    let tmp = setup();
    let doc = report(tmp.path(), &[]);
    let s = &doc["summary"];
    let types = &s["by_object_type"];
    assert_eq!(types["top_level"]["objects_total"], 1);
    assert_eq!(types["top_level"]["objects_ready"], 0);
    assert_eq!(types["procedure"]["effort_minutes"], 120);
    assert_eq!(types["procedure"]["readiness_percent"], 0.0);
    assert_eq!(types["view"]["objects_ready"], 1);
    assert_eq!(types["view"]["by_status"]["review_semantics"], 1);
    assert_eq!(
        s["supported_constructs"]["by_feature"]["function.getdate"],
        1
    );
    assert!(s["supported_constructs"]["total"].as_u64().unwrap() >= 1);
    // by_status keeps its meaning: findings only, never supported.
    assert_eq!(s["by_status"]["supported"], 0);
}
