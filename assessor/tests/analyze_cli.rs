//! `assessor analyze` end to end: the real binary on scripts in a temporary
//! directory; exit codes, the JSON document on stdout, report files.

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str], cwd: &Path) -> std::io::Result<Output> {
    run_with(args, cwd, &[])
}

/// `run` with extra environment variables.
fn run_with(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> std::io::Result<Output> {
    Command::new(env!("CARGO_BIN_EXE_assessor"))
        .args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .output()
}

const SCRIPT: &str = "SET DATEFORMAT mdy\nGO\nCREATE PROCEDURE dbo.p AS\nBEGIN\n  SELECT STR(1.5), GETDATE()\n  MERGE t USING s ON t.id = s.id WHEN MATCHED THEN DELETE;\nEND\nGO\n";

fn write_script(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("procs"))?;
    std::fs::write(dir.join("procs/p.sql"), SCRIPT)
}

#[test]
fn json_to_stdout_has_findings_with_lines_statuses_and_summary() {
    let tmp = tempfile::tempdir().unwrap();
    write_script(&tmp.path().join("in")).unwrap();
    let out = run(
        &[
            "analyze",
            "in",
            "--target",
            "babelfish-5.5",
            "--format",
            "json",
            "--output",
            "-",
        ],
        tmp.path(),
    )
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["target"], "babelfish-5.5");
    assert!(doc["schema_version"].is_number());
    let findings = doc["findings"].as_array().unwrap();
    let find = |feature: &str| {
        findings
            .iter()
            .find(|f| f["feature"] == feature)
            .unwrap_or_else(|| panic!("no {feature} in {findings:?}"))
    };
    let dateformat = find("set.dateformat");
    assert_eq!(dateformat["file"], "procs/p.sql");
    assert_eq!(dateformat["line"], 1);
    assert_eq!(dateformat["status"], "not_supported");
    let merge = find("statement.merge");
    assert_eq!(merge["line"], 6);
    assert_eq!(merge["object"]["name"], "p");
    // STR() is accepted since 2.4 but formats differently: a deployment-time
    // difference Compass does not report.
    assert_eq!(find("function.str")["status"], "review_semantics");
    // Supported constructs (GETDATE) are not findings.
    assert!(findings.iter().all(|f| f["feature"] != "function.getdate"));
    let summary = &doc["summary"];
    assert_eq!(summary["by_status"]["not_supported"], 2);
    assert!(summary["objects_total"].as_u64().unwrap() >= 2);
    assert!(summary["readiness_percent"].is_number());
}

#[test]
fn older_target_changes_statuses() {
    let tmp = tempfile::tempdir().unwrap();
    write_script(&tmp.path().join("in")).unwrap();
    let out = run(
        &[
            "analyze",
            "in",
            "--target",
            "babelfish-2.3",
            "--output",
            "-",
        ],
        tmp.path(),
    )
    .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let str_finding = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["feature"] == "function.str")
        .unwrap();
    assert_eq!(str_finding["status"], "not_supported");
}

#[test]
fn fail_on_exits_3_and_usage_errors_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    write_script(&tmp.path().join("in")).unwrap();
    let out = run(
        &[
            "analyze",
            "in",
            "--output",
            "-",
            "--fail-on",
            "not_supported",
        ],
        tmp.path(),
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let out = run(
        &["analyze", "in", "--output", "-", "--fail-on", "ignored"],
        tmp.path(),
    )
    .unwrap();
    // A threshold: the not_supported findings are worse than ignored.
    assert_eq!(out.status.code(), Some(3));

    let out = run(&["analyze", "in", "--target", "babelfish-9.9"], tmp.path()).unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("babelfish-9.9") && err.contains("babelfish-5.5"),
        "{err}"
    );

    let out = run(&["analyze", "no-such-dir"], tmp.path()).unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-dir"));

    let out = run(
        &["analyze", "in", "--output", "-", "--format", "json,csv"],
        tmp.path(),
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["analyze", "in", "--fail-on", "bad"], tmp.path()).unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn default_writes_all_formats_to_the_out_directory() {
    let tmp = tempfile::tempdir().unwrap();
    write_script(&tmp.path().join("in")).unwrap();
    let out = run(&["analyze", "in"], tmp.path()).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tmp.path().join("assessment-report");
    for name in ["report.html", "report.json", "findings.csv", "report.sarif"] {
        assert!(dir.join(name).is_file(), "{name} missing");
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("assessment-report"), "{err}");
    // Customer code stays in the report files: nothing of it on stderr.
    assert!(
        !err.contains("DATEFORMAT") && !err.contains("MERGE"),
        "{err}"
    );
}

#[test]
fn the_html_report_carries_the_source_around_each_finding_and_no_more() {
    let tmp = tempfile::tempdir().unwrap();
    let mut script: Vec<String> = (1..=30).map(|n| format!("-- context line {n}")).collect();
    script[14] = "MERGE t USING s ON t.id = s.id WHEN MATCHED THEN DELETE;".into();
    std::fs::write(tmp.path().join("p.sql"), script.join("\n")).unwrap();
    let out = run(&["analyze", "p.sql", "--output", "report.html"], tmp.path()).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    // The MERGE is on line 15: lines 12-18 travel for the drill-down.
    for n in 12..=18 {
        if n != 15 {
            assert!(
                html.contains(&format!("-- context line {n}\"")),
                "line {n} missing"
            );
        }
    }
    for n in [11, 19, 1, 30] {
        assert!(
            !html.contains(&format!("-- context line {n}\"")),
            "line {n} in the report"
        );
    }
    assert!(
        html.contains("[12,[\"-- context line 12\""),
        "excerpt block"
    );
}

/// One `not_supported` finding and nothing else.
const ONLY_BLOCKER: &str = "SET DATEFORMAT mdy\nGO\n";
/// One `review_semantics` finding and nothing else.
const ONLY_SEMANTICS: &str = "SELECT STR(1.5)\nGO\n";

/// The JSON report's statuses, to check a fixture is what its name says.
#[allow(clippy::unwrap_used)] // A test helper: the panic is the test failure.
fn statuses(dir: &Path, file: &str) -> Vec<String> {
    let out = run(&["analyze", file, "--format", "json", "--output", "-"], dir).unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["status"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn fail_on_is_a_threshold_and_repeatable() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("blocker.sql"), ONLY_BLOCKER).unwrap();
    std::fs::write(tmp.path().join("semantics.sql"), ONLY_SEMANTICS).unwrap();
    assert_eq!(statuses(tmp.path(), "blocker.sql"), ["not_supported"]);
    assert_eq!(statuses(tmp.path(), "semantics.sql"), ["review_semantics"]);
    let code = |file: &str, fail_on: &[&str]| {
        let mut args = vec!["analyze", file, "--output", "-"];
        for s in fail_on {
            args.extend(["--fail-on", s]);
        }
        run(&args, tmp.path()).unwrap().status.code()
    };
    // A worse status than the threshold trips it (it passed before).
    assert_eq!(code("blocker.sql", &["review_semantics"]), Some(3));
    assert_eq!(code("blocker.sql", &["ignored"]), Some(3));
    assert_eq!(code("semantics.sql", &["review_semantics"]), Some(3));
    // A milder one does not.
    assert_eq!(code("semantics.sql", &["not_supported"]), Some(0));
    assert_eq!(code("semantics.sql", &["review_manually"]), Some(0));
    // Repeated: the least severe threshold given decides.
    assert_eq!(
        code("semantics.sql", &["not_supported", "review_performance"]),
        Some(3)
    );
    assert_eq!(
        code("semantics.sql", &["not_supported", "review_manually"]),
        Some(0)
    );
    // Case does not matter, as for --target.
    assert_eq!(code("blocker.sql", &["NOT_SUPPORTED"]), Some(3));
}

#[test]
fn format_words_ignore_case_and_output_extension_picks_or_checks_the_format() {
    let tmp = tempfile::tempdir().unwrap();
    write_script(&tmp.path().join("in")).unwrap();
    let read = |name: &str| std::fs::read_to_string(tmp.path().join(name)).unwrap();

    // The extension names the format when --format is not given.
    let out = run(&["analyze", "in", "--output", "report.html"], tmp.path()).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(read("report.html").starts_with("<!DOCTYPE html>"));
    let out = run(&["analyze", "in", "--output", "f.csv"], tmp.path()).unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(read("f.csv").starts_with("\u{feff}file,line,column"));
    let out = run(&["analyze", "in", "--output", "r.sarif.json"], tmp.path()).unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(read("r.sarif.json").contains("\"version\":\"2.1.0\""));

    // Format words ignore case, like --target's.
    let out = run(
        &[
            "analyze",
            "in",
            "--format",
            "HTML",
            "--output",
            "-",
            "--target",
            "Babelfish-5.5",
        ],
        tmp.path(),
    )
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.starts_with(b"<!DOCTYPE html>"));
    let out = run(
        &["analyze", "in", "--format", "Json,CSV", "--out", "both"],
        tmp.path(),
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(tmp.path().join("both/report.json").is_file());
    assert!(tmp.path().join("both/findings.csv").is_file());
    assert!(!tmp.path().join("both/report.html").exists());

    // An extension that contradicts --format is refused, naming both.
    let out = run(
        &[
            "analyze",
            "in",
            "--format",
            "json",
            "--output",
            "clash.html",
        ],
        tmp.path(),
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("json") && err.contains("clash.html"), "{err}");
    assert!(!tmp.path().join("clash.html").exists());

    // No --format and an extension that names none: say so rather than guess.
    let out = run(&["analyze", "in", "--output", "report.txt"], tmp.path()).unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("report.txt") && err.contains("--format"),
        "{err}"
    );
    assert!(!tmp.path().join("report.txt").exists());
    // With --format, any other extension is the user's choice.
    let out = run(
        &["analyze", "in", "--format", "csv", "--output", "report.txt"],
        tmp.path(),
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(0));

    // --output replaces --out: both at once is one too many.
    let out = run(
        &["analyze", "in", "--out", "dir", "--output", "-"],
        tmp.path(),
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out"));

    // The rule is in --help.
    let out = run(&["analyze", "--help"], tmp.path()).unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("extension"), "{help}");
}

/// What `analyze` leaves in `dir/assessment-report`, if anything.
fn report_dir_exists(dir: &Path) -> bool {
    dir.join("assessment-report").exists()
}

#[test]
fn nothing_to_analyse_is_an_error_and_writes_no_report() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = run(&["analyze", "empty"], tmp.path()).unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no .sql file") && err.contains("empty"),
        "{err}"
    );
    assert!(!report_dir_exists(tmp.path()));

    // Only other files: say how many were ignored and why.
    std::fs::write(empty.join("notes.txt"), "SELECT 1").unwrap();
    std::fs::write(empty.join("readme.md"), "x").unwrap();
    let out = run(&["analyze", "empty"], tmp.path()).unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 other files"), "{err}");
    assert!(!report_dir_exists(tmp.path()));

    // A binary file named .sql is skipped; if it was all, nothing was analysed.
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::write(bin.join("dump.sql"), [0u8, 1, 2, 0, 0, 0, 7, 0].repeat(64)).unwrap();
    for args in [
        &["analyze", "bin"][..],
        &["analyze", "bin", "--output", "-"],
    ] {
        let out = run(args, tmp.path()).unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("dump.sql") && err.contains("binary") && err.contains("1 file"),
            "{err}"
        );
        assert!(out.stdout.is_empty());
    }
    assert!(!report_dir_exists(tmp.path()));
}

#[test]
fn skipped_files_are_counted_in_every_summary() {
    let tmp = tempfile::tempdir().unwrap();
    write_script(&tmp.path().join("in")).unwrap();
    std::fs::write(
        tmp.path().join("in/dump.sql"),
        [0u8, 1, 2, 0, 0, 0, 7, 0].repeat(64),
    )
    .unwrap();
    let out = run(&["analyze", "in"], tmp.path()).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("skipped dump.sql"), "{err}");
    assert!(err.contains("1 file skipped"), "{err}");

    let dir = tmp.path().join("assessment-report");
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(doc["summary"]["files_analyzed"], 1);
    assert_eq!(doc["summary"]["files_skipped"], 1);
    assert_eq!(doc["summary"]["skipped_by_kind"]["binary"], 1);
    assert_eq!(doc["skipped_files"][0]["file"], "dump.sql");
    assert_eq!(doc["skipped_files"][0]["kind"], "binary");

    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(
        html.contains("1 file skipped"),
        "no skipped count in the HTML"
    );
    assert!(html.contains("dump.sql"));

    let sarif: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.sarif")).unwrap()).unwrap();
    let notes = &sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"];
    assert_eq!(notes.as_array().map(Vec::len), Some(1), "{sarif}");
    assert_eq!(
        notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "dump.sql"
    );
    assert_eq!(sarif["runs"][0]["properties"]["filesSkipped"], 1);
}

#[test]
fn two_roots_with_the_same_file_stay_apart() {
    let tmp = tempfile::tempdir().unwrap();
    for root in ["a", "b"] {
        std::fs::create_dir(tmp.path().join(root)).unwrap();
        std::fs::write(tmp.path().join(root).join("proc.sql"), SCRIPT).unwrap();
    }
    let out = run(&["analyze", "a", "b/", "--output", "-"], tmp.path()).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let summary = &doc["summary"];
    assert_eq!(summary["files_analyzed"], 2);
    // dbo.p once per root, plus each file's top-level SET DATEFORMAT.
    let procs: Vec<&str> = summary["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["object"]["name"] == "p")
        .map(|o| o["file"].as_str().unwrap())
        .collect();
    assert_eq!(procs, ["a/proc.sql", "b/proc.sql"]);
    assert_eq!(summary["objects_total"], 4);
    let files: std::collections::BTreeSet<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files.into_iter().collect::<Vec<_>>(),
        ["a/proc.sql", "b/proc.sql"]
    );

    // A file and a folder: both relative to the folder they share.
    let out = run(&["analyze", "a/proc.sql", "b", "--output", "-"], tmp.path()).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["summary"]["objects"][0]["file"], "a/proc.sql");
    assert_eq!(doc["summary"]["objects_total"], 4);
    // The same file reached through two roots is one file.
    let out = run(&["analyze", "a", "a/proc.sql", "--output", "-"], tmp.path()).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["summary"]["files_analyzed"], 1);
    assert_eq!(doc["summary"]["objects_total"], 2);
    // One root alone keeps paths relative to itself, as before.
    let out = run(&["analyze", "a", "--output", "-"], tmp.path()).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["findings"][0]["file"], "proc.sql");
}

/// Runs `assessor analyze` on one script: its exit code, JSON document
/// (`Null` when none was written) and stderr.
fn analyze_json(
    sql: &str,
    extra: &[&str],
) -> std::io::Result<(Option<i32>, serde_json::Value, String)> {
    let tmp = tempfile::tempdir()?;
    std::fs::write(tmp.path().join("s.sql"), sql)?;
    let mut args = vec!["analyze", "s.sql", "--format", "json", "--output", "-"];
    args.extend_from_slice(extra);
    let out = run(&args, tmp.path())?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    Ok((out.status.code(), doc, stderr))
}

/// The status of `feature`'s finding, `None` when there is none (supported).
fn status_of(doc: &serde_json::Value, feature: &str) -> Option<String> {
    doc["findings"]
        .as_array()?
        .iter()
        .find(|f| f["feature"] == feature)
        .and_then(|f| f["status"].as_str())
        .map(str::to_string)
}

#[test]
fn the_default_target_is_the_newest_version() {
    let (code, doc, err) = analyze_json("SELECT 1;\n", &[]).unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(doc["target"], "babelfish-6.1");
    let newest = assessor::rules::Catalog::shipped().unwrap().latest();
    assert_eq!(doc["target"], newest.target_name());
}

/// Each version added after 5.5 changes at least one status, seen through
/// the real binary: the same script against several targets.
#[test]
fn newer_targets_change_statuses_that_sources_document() {
    let sql = "SELECT a FROM t FOR XML PATH('x'), ELEMENTS XSINIL;\n\
               SELECT @@TEXTSIZE;\n\
               DECLARE @x XML = '<a/>';\nSELECT @x.query('/a');\n";
    let at = |target: &str| {
        let (code, doc, err) = analyze_json(sql, &["--target", target]).unwrap();
        assert_eq!(code, Some(0), "{target}: {err}");
        assert_eq!(doc["target"], target);
        (
            status_of(&doc, "clause.for_xml.elements"),
            status_of(&doc, "global_variable.textsize"),
            status_of(&doc, "method.xml.query"),
        )
    };
    let ns = || Some("not_supported".to_string());
    let ignored = || Some("ignored".to_string());
    // 5.5: none of the three.
    assert_eq!(at("babelfish-5.5"), (ns(), ignored(), ns()));
    // 5.6 adds FOR XML ... ELEMENTS and @@TEXTSIZE.
    assert_eq!(at("babelfish-5.6"), (None, None, ns()));
    // 5.7 adds the XML .query() method.
    assert_eq!(at("babelfish-5.7"), (None, None, None));
    // 6.0 has neither addition of 5.6 (6.1 brings them).
    assert_eq!(at("babelfish-6.0"), (ns(), ignored(), ns()));
    assert_eq!(at("babelfish-6.1"), (None, None, ns()));
}

/// Every modelled escape hatch changes a status: its example, analysed with
/// Babelfish's default and with each other value.
#[test]
fn every_setting_changes_a_status_of_its_example() {
    let catalog = assessor::rules::Catalog::shipped().unwrap();
    assert!(!catalog.settings().is_empty());
    for def in catalog.settings() {
        let statuses = |doc: &serde_json::Value| -> Vec<(String, Option<String>)> {
            def.effects
                .iter()
                .flat_map(|e| e.features.iter())
                .map(|f| (f.clone(), status_of(doc, f)))
                .collect()
        };
        let (code, default_doc, err) = analyze_json(&def.example, &[]).unwrap();
        assert_eq!(code, Some(0), "{}: {err}", def.name);
        assert_eq!(default_doc["summary"]["settings"], serde_json::json!({}));
        let defaults = statuses(&default_doc);
        for value in def.values.iter().filter(|v| **v != def.default) {
            let given = format!("{}={value}", def.name);
            let (code, doc, err) = analyze_json(&def.example, &["--setting", &given]).unwrap();
            assert_eq!(code, Some(0), "{given}: {err}");
            assert_eq!(
                doc["summary"]["settings"][def.name.as_str()],
                value.as_str()
            );
            let changed: Vec<_> = defaults
                .iter()
                .zip(statuses(&doc))
                .filter(|(a, b)| **a != *b)
                .collect();
            assert!(
                !changed.is_empty(),
                "{given} changes no status of its example {:?}: {defaults:?}",
                def.example
            );
        }
    }
}

#[test]
fn settings_are_reported_in_the_json_and_html_summaries() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("s.sql"),
        "SELECT a FROM t WITH (FORCESEEK);\n",
    )
    .unwrap();
    let out = run(
        &[
            "analyze",
            "s.sql",
            "--setting",
            "babelfishpg_tsql.escape_hatch_table_hints=strict",
            "--setting",
            "escape_hatch_index_clustering=Strict",
            "--out",
            "rep",
            "--format",
            "json,html",
        ],
        tmp.path(),
    )
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("rep/report.json")).unwrap())
            .unwrap();
    assert_eq!(
        doc["summary"]["settings"],
        serde_json::json!({
            "escape_hatch_index_clustering": "strict",
            "escape_hatch_table_hints": "strict"
        })
    );
    assert_eq!(
        status_of(&doc, "table_hint.forceseek").as_deref(),
        Some("not_supported")
    );
    let html = std::fs::read_to_string(tmp.path().join("rep/report.html")).unwrap();
    assert!(
        html.contains("escape_hatch_index_clustering = strict, escape_hatch_table_hints = strict"),
        "the HTML summary does not list the settings"
    );
    // Without settings the HTML says so.
    let out = run(
        &["analyze", "s.sql", "--out", "rep2", "--format", "html"],
        tmp.path(),
    )
    .unwrap();
    assert!(out.status.success());
    let html = std::fs::read_to_string(tmp.path().join("rep2/report.html")).unwrap();
    assert!(html.contains("Babelfish defaults"));
}

#[test]
fn unknown_settings_and_values_are_refused_with_exit_2_naming_them() {
    let (code, doc, err) = analyze_json(
        "SELECT 1;\n",
        &["--setting", "escape_hatch_nonesuch=ignore"],
    )
    .unwrap();
    assert_eq!(code, Some(2));
    assert_eq!(doc, serde_json::Value::Null, "no report is written");
    assert!(
        err.contains("escape_hatch_nonesuch") && err.contains("escape_hatch_table_hints"),
        "{err}"
    );
    let (code, _, err) = analyze_json(
        "SELECT 1;\n",
        &["--setting", "escape_hatch_table_hints=sometimes"],
    )
    .unwrap();
    assert_eq!(code, Some(2));
    assert!(
        err.contains("escape_hatch_table_hints")
            && err.contains("sometimes")
            && err.contains("ignore, strict"),
        "{err}"
    );
    let (code, _, err) =
        analyze_json("SELECT 1;\n", &["--setting", "escape_hatch_table_hints"]).unwrap();
    assert_eq!(code, Some(2));
    assert!(err.contains("NAME=VALUE"), "{err}");
}

#[test]
fn reports_say_when_they_were_made_and_honour_source_date_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    write_script(&tmp.path().join("in")).unwrap();
    let args = ["analyze", "in", "--format", "json", "--output", "-"];
    let now = run(&args, tmp.path()).unwrap();
    assert!(
        now.status.success(),
        "{}",
        String::from_utf8_lossy(&now.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&now.stdout).unwrap();
    let at = doc["generated_at"].as_str().expect("generated_at is set");
    assert!(
        at.len() == 20 && at.starts_with("20") && at.ends_with('Z'),
        "{at}"
    );

    // Reproducible runs: the same input and SOURCE_DATE_EPOCH give the
    // same bytes.
    let pinned = || run_with(&args, tmp.path(), &[("SOURCE_DATE_EPOCH", "1796457605")]).unwrap();
    let (a, b) = (pinned(), pinned());
    let doc: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(doc["generated_at"], "2026-12-05T08:00:05Z");
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn findings_in_dynamic_sql_say_so_in_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("in")).unwrap();
    std::fs::write(
        tmp.path().join("in/p.sql"),
        "CREATE PROCEDURE p AS\nBEGIN\n  EXEC ('SELECT * FROM ##g');\n  SELECT * FROM ##h;\nEND\n",
    )
    .unwrap();
    let out = run(&["analyze", "in", "--out", "r"], tmp.path()).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |name: &str| std::fs::read_to_string(tmp.path().join("r").join(name)).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&read("report.json")).unwrap();
    let dynamic: Vec<(u64, bool)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["feature"] == "statement.global_temp_table")
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["in_dynamic_sql"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(dynamic, [(3, true), (4, false)]);
    let csv = read("findings.csv");
    let header = csv.lines().next().unwrap();
    // in_dynamic_sql, then the workload weight (empty for scripts).
    assert!(
        header.ends_with(",in_dynamic_sql,executions,cpu_ms"),
        "{header}"
    );
    let yes = csv
        .lines()
        .filter(|l| l.contains("statement.global_temp_table") && l.ends_with(",yes,,"))
        .count();
    assert_eq!(yes, 1, "{csv}");
    let sarif: serde_json::Value = serde_json::from_str(&read("report.sarif")).unwrap();
    let flags: Vec<bool> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "statement.global_temp_table")
        .map(|r| r["properties"]["inDynamicSql"].as_bool().unwrap())
        .collect();
    assert_eq!(flags, [true, false]);
}

#[test]
fn rewrite_writes_fixed_copies_and_never_touches_the_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let script = "CREATE PROCEDURE dbo.load AS\nBEGIN\n  ALTER TABLE dbo.t ADD a int NULL, b decimal(10, 2) NULL;\n  RAISERROR('load failed', 16, 1) WITH NOWAIT, LOG;\n  MERGE dbo.t USING dbo.s ON 1 = 1 WHEN MATCHED THEN DELETE;\nEND\n";
    std::fs::create_dir_all(tmp.path().join("in/procs")).unwrap();
    std::fs::write(tmp.path().join("in/procs/load.sql"), script).unwrap();
    std::fs::write(tmp.path().join("in/clean.sql"), "SELECT 1;\n").unwrap();
    let out = run(
        &["analyze", "in", "--out", "report", "--rewrite", "fixed"],
        tmp.path(),
    )
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("1 rewritten copy written to fixed (statement.raiserror.with_log: 1, ddl.alter_table.add_multiple: 1)"),
        "{err}"
    );
    // The input is unchanged; a file without a rewrite gets no copy.
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("in/procs/load.sql")).unwrap(),
        script
    );
    assert!(!tmp.path().join("fixed/clean.sql").exists());
    let copy = std::fs::read_to_string(tmp.path().join("fixed/procs/load.sql")).unwrap();
    assert_eq!(copy.lines().count(), script.lines().count(), "{copy}");
    assert!(
        copy.contains("WITH NOWAIT/* assessor rewrite: statement.raiserror.with_log */;"),
        "{copy}"
    );
    // The copy no longer has what was rewritten, and keeps what needs a person.
    let out = run(
        &["analyze", "fixed", "--format", "json", "--output", "-"],
        tmp.path(),
    )
    .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for gone in [
        "statement.raiserror.with_log",
        "ddl.alter_table.add_multiple",
    ] {
        assert_eq!(status_of(&doc, gone), None, "{gone} still found in {copy}");
    }
    assert_eq!(
        status_of(&doc, "statement.merge").as_deref(),
        Some("not_supported")
    );

    // A folder inside an input, or one that is not empty: refused before
    // anything runs, nothing written.
    for dir in ["in/fixed", "fixed"] {
        let out = run(
            &["analyze", "in", "--out", "report2", "--rewrite", dir],
            tmp.path(),
        )
        .unwrap();
        assert_eq!(out.status.code(), Some(2), "--rewrite {dir}");
        assert!(!tmp.path().join("report2").exists());
    }
    assert!(!tmp.path().join("in/fixed").exists());
}
