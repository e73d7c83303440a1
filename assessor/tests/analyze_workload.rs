//! `assessor analyze --workload` end to end: the real binary on the captures
//! in `tests/workload/` (written by `tests/workload/generate.py`, whose
//! tables give every count asserted here), on hostile files, and the
//! privacy control: literals never reach any output.

// Test helpers unwrap too: their panic is the test failure, with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// In string literals of the fixtures (and in a comment).
const CANARY: &str = "ZQX-CANARY-4242";
/// In number literals of the fixtures.
const NUMERIC_CANARY: &str = "73195731";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/workload")
        .join(name)
}

fn run(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_assessor"))
        .args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "debug")
        .output()
        .unwrap()
}

/// Runs `analyze` with `args` and the JSON report on stdout.
fn json(args: &[&str], cwd: &Path) -> Value {
    let mut all = vec!["analyze"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json", "--output", "-"]);
    let out = run(&all, cwd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn copy_fixture(dir: &Path, name: &str, as_name: &str) -> String {
    std::fs::copy(fixture(name), dir.join(as_name)).unwrap();
    as_name.to_string()
}

fn blocker<'v>(w: &'v Value, feature: &str) -> &'v Value {
    w["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["feature"] == feature)
        .unwrap_or_else(|| panic!("no blocker {feature} in {}", w["blockers"]))
}

#[test]
fn an_extended_events_capture_is_weighted_by_executions_and_cpu() {
    let tmp = tempfile::tempdir().unwrap();
    let xe = copy_fixture(tmp.path(), "xevents.xml", "xevents.xml");
    let doc = json(&["--workload", &xe], tmp.path());
    let w = &doc["workload"];
    // generate.py: 500 events, of which 25 sql_batch_starting and 3
    // rpc_completed without text are skipped.
    assert_eq!(w["events_read"], 500);
    assert_eq!(w["events_used"], 472);
    assert_eq!(w["events_skipped"], 28);
    assert_eq!(w["skipped_by_reason"]["other_event"], 25);
    assert_eq!(w["skipped_by_reason"]["no_text"], 3);
    assert_eq!(w["skipped_by_reason"]["text_too_long"], 0);
    assert_eq!(w["captures"][0]["format"], "extended_events");
    assert_eq!(w["first_event"], "2026-11-30T09:00:00.000Z");
    assert_eq!(w["last_event"], "2026-11-30T09:58:13.499Z");
    // Ten statement shapes; every one of their calls differs in literals
    // (and sp_executesql parameter values), yet each is one statement.
    assert_eq!(w["statements_distinct"], 10);
    assert_eq!(w["executions_total"], 472);
    // Would fail: MERGE 120, ##global 30 + 20, CHECKSUM_AGG on ##global 8,
    // SET DATEFORMAT 4 = 182; ready: 472 - 182 = 290.
    assert_eq!(w["executions_failing"], 182);
    assert_eq!(w["executions_ready"], 290);
    assert_eq!(w["readiness_by_executions_percent"], 61.4);
    assert_eq!(w["statements_ready"], 5);
    assert_eq!(w["readiness_by_statements_percent"], 50.0);
    // CPU: sum of executions x microseconds per execution = 1,008,100 us.
    assert_eq!(w["cpu_ms_total"], 1008);

    // Ranked by the executions that would fail.
    let ranked: Vec<&str> = w["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["feature"].as_str().unwrap())
        .collect();
    assert_eq!(
        ranked,
        [
            "statement.merge",
            "statement.global_temp_table",
            "function.checksum_agg",
            "set.dateformat"
        ]
    );
    let merge = blocker(w, "statement.merge");
    assert_eq!(merge["executions"], 120);
    assert_eq!(merge["cpu_ms"], 240);
    assert_eq!(merge["executions_percent"], 65.9); // 120 / 182
    assert_eq!(merge["cumulative_percent"], 65.9);
    let global = blocker(w, "statement.global_temp_table");
    assert_eq!(global["statements"], 3);
    assert_eq!(global["executions"], 58);
    // Fixing MERGE and ##global fixes 120 + 50; the CHECKSUM_AGG statement
    // also needs CHECKSUM_AGG fixed.
    assert_eq!(global["cumulative_percent"], 93.4); // 170 / 182
    assert_eq!(
        blocker(w, "function.checksum_agg")["cumulative_percent"],
        97.8
    );
    assert_eq!(blocker(w, "set.dateformat")["cumulative_percent"], 100.0);
    assert_eq!(w["headline"]["blockers"], 3);
    assert_eq!(w["headline"]["executions_percent"], 97.8);

    // Each workload finding carries its statement's weight.
    let findings = doc["findings"].as_array().unwrap();
    let merge_finding = findings
        .iter()
        .find(|f| f["feature"] == "statement.merge")
        .unwrap();
    assert!(
        merge_finding["file"]
            .as_str()
            .unwrap()
            .starts_with("workload/xevents.xml#"),
        "{merge_finding}"
    );
    assert_eq!(merge_finding["status"], "not_supported");
    assert_eq!(merge_finding["workload"]["executions"], 120);
    assert_eq!(merge_finding["workload"]["cpu_ms"], 240);
    assert_eq!(merge_finding["workload"]["executions_percent"], 25.4); // 120 / 472
    assert_eq!(merge_finding["workload"]["cpu_percent"], 23.8); // 240,000 / 1,008,100
    let nolock = findings
        .iter()
        .find(|f| f["feature"] == "table_hint.nolock")
        .unwrap();
    assert_eq!(nolock["workload"]["executions"], 60);
    // The driver's sp_executesql is assessed as the statement it carries.
    let insert = findings
        .iter()
        .find(|f| f["feature"] == "global_variable.rowcount")
        .unwrap();
    assert_eq!(insert["workload"]["executions"], 200);
    assert!(
        !insert["snippet"]
            .as_str()
            .unwrap()
            .contains("sp_executesql"),
        "{insert}"
    );
    // A property name survives normalisation, so SERVERPROPERTY is judged
    // on what it asks for, not on a placeholder.
    assert!(
        findings
            .iter()
            .all(|f| f["feature"] != "function.property_argument.unknown"),
        "{findings:?}"
    );
    // Statements are listed most executed first, each once.
    let statements = w["statements"].as_array().unwrap();
    assert_eq!(statements.len(), 10);
    assert_eq!(statements[0]["executions"], 200);
    assert_eq!(statements[0]["ready"], true);
    assert_eq!(statements[1]["executions"], 120);
    assert_eq!(statements[1]["ready"], false);
    assert_eq!(doc["inputs"], serde_json::json!(["xevents.xml"]));
}

#[test]
fn a_profiler_trace_is_recognised_by_its_content_and_captures_add_up() {
    let tmp = tempfile::tempdir().unwrap();
    // No telling extension: the format comes from the content.
    let trace = copy_fixture(tmp.path(), "profiler.xml", "trace.dat");
    let doc = json(&["--workload", &trace], tmp.path());
    let w = &doc["workload"];
    assert_eq!(w["captures"][0]["format"], "profiler");
    assert_eq!(w["events_read"], 52);
    assert_eq!(w["events_used"], 48);
    assert_eq!(w["skipped_by_reason"]["other_event"], 4);
    assert_eq!(w["statements_distinct"], 10);
    assert_eq!(w["first_event"], "2026-11-30T10:00:00.5+01:00");
    assert_eq!(w["last_event"], "2026-11-30T10:00:51.5+01:00");
    // Profiler's CPU column is in milliseconds: 12 MERGEs at 2 ms.
    let merge = blocker(w, "statement.merge");
    assert_eq!(merge["executions"], 12);
    assert_eq!(merge["cpu_ms"], 24);

    // Both captures: the same statements, their counts added; the interval
    // spans both (09:00:00.5Z, the trace's first event, is after the XE's).
    let xe = copy_fixture(tmp.path(), "xevents.xml", "xevents.xml");
    let doc = json(&["--workload", &xe, "--workload", &trace], tmp.path());
    let w = &doc["workload"];
    assert_eq!(w["statements_distinct"], 10);
    assert_eq!(w["executions_total"], 472 + 48);
    assert_eq!(blocker(w, "statement.merge")["executions"], 132);
    assert_eq!(w["first_event"], "2026-11-30T09:00:00.000Z");
    assert_eq!(w["last_event"], "2026-11-30T09:58:13.499Z");
    assert_eq!(w["captures"].as_array().unwrap().len(), 2);
}

#[test]
fn scripts_and_a_workload_in_one_run_are_both_reported() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("scripts")).unwrap();
    std::fs::write(
        tmp.path().join("scripts/p.sql"),
        "CREATE PROCEDURE dbo.p AS SET DATEFORMAT mdy\nGO\n",
    )
    .unwrap();
    let xe = copy_fixture(tmp.path(), "xevents.xml", "xevents.xml");
    let doc = json(&["scripts", "--workload", &xe], tmp.path());
    let findings = doc["findings"].as_array().unwrap();
    let script = findings.iter().find(|f| f["file"] == "p.sql").unwrap();
    assert!(script["workload"].is_null(), "{script}");
    assert_eq!(doc["summary"]["files_analyzed"], 1);
    assert_eq!(doc["workload"]["executions_total"], 472);
}

/// Every byte the run wrote: report files, stdout and stderr.
fn assert_no_canary(out: &Output, dir: &Path) {
    let mut texts = vec![
        ("stdout".to_string(), out.stdout.clone()),
        ("stderr".to_string(), out.stderr.clone()),
    ];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        texts.push((path.display().to_string(), std::fs::read(&path).unwrap()));
    }
    for (name, bytes) in texts {
        let text = String::from_utf8_lossy(&bytes);
        for canary in [CANARY, NUMERIC_CANARY, "example.com", "Customer 7"] {
            assert!(!text.contains(canary), "{canary} in {name}");
        }
    }
}

#[test]
fn no_literal_of_the_capture_reaches_any_output() {
    let tmp = tempfile::tempdir().unwrap();
    let xe = copy_fixture(tmp.path(), "xevents.xml", "xevents.xml");
    let trace = copy_fixture(tmp.path(), "profiler.xml", "profiler.xml");
    assert!(
        std::fs::read_to_string(tmp.path().join(&xe))
            .unwrap()
            .contains(CANARY)
    );
    let out_dir = tmp.path().join("report");
    let out = run(
        &[
            "analyze",
            "--workload",
            &xe,
            "--workload",
            &trace,
            "--out",
            "report",
        ],
        tmp.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
    assert_eq!(written.len(), 4, "all four formats");
    assert_no_canary(&out, &out_dir);
    // The formats carry the weights.
    let csv = std::fs::read_to_string(out_dir.join("findings.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.ends_with(",executions,cpu_ms"), "{header}");
    assert!(
        csv.lines()
            .any(|l| l.contains("statement.merge") && l.ends_with(",132,264"))
    );
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("report.sarif")).unwrap())
            .unwrap();
    let merge = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "statement.merge")
        .unwrap();
    assert_eq!(merge["properties"]["executions"], 132);
    assert_eq!(merge["properties"]["cpuMs"], 264);
    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    assert!(html.contains("id=\"workload\""));
    assert!(
        html.contains("3 blockers cover 97.5 % of executions that would fail"),
        "headline missing"
    );

    // And on standard output.
    let out = run(
        &[
            "analyze",
            "--workload",
            &xe,
            "--format",
            "json",
            "--output",
            "-",
        ],
        tmp.path(),
    );
    assert!(out.status.success());
    let empty = tempfile::tempdir().unwrap();
    assert_no_canary(&out, empty.path());
}

/// Runs `analyze --workload NAME` on `bytes` written to NAME: exit 2, a
/// message naming the file and containing `what`, none of the file's text,
/// and no report.
fn refused(name: &str, bytes: &[u8], what: &str) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join(name), bytes).unwrap();
    refused_in(tmp.path(), name, what);
}

fn refused_in(dir: &Path, name: &str, what: &str) {
    let out = run(&["analyze", "--workload", name, "--out", "report"], dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
    assert!(stderr.contains(name), "{name}: {stderr}");
    assert!(stderr.contains(what), "{name}: want {what:?} in {stderr}");
    for leak in [CANARY, "lol", "SELECT", "ENTITY"] {
        assert!(!stderr.contains(leak), "{name} echoed {leak}: {stderr}");
    }
    assert!(out.stdout.is_empty());
    assert!(!dir.join("report").exists(), "{name}: a report was written");
}

#[test]
fn hostile_or_broken_captures_are_refused_naming_the_file_not_its_content() {
    // Billion laughs: refused at the DOCTYPE, nothing expanded.
    let bomb = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE events [\n<!ENTITY lol \"{CANARY}\">\n\
         <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n\
         <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>\n\
         <events><event name=\"sql_batch_completed\"><data name=\"batch_text\"><value>&lol3;</value></data></event></events>"
    );
    refused("bomb.xml", bomb.as_bytes(), "DOCTYPE");
    // An undeclared entity without a DOCTYPE: not expanded either.
    refused(
        "entity.xml",
        format!("<events><event name=\"sql_batch_completed\"><data name=\"batch_text\"><value>SELECT '{CANARY}' &lol;</value></data></event></events>").as_bytes(),
        "entity reference",
    );
    // Truncated half-way through an event.
    let xe = std::fs::read(fixture("xevents.xml")).unwrap();
    refused("truncated.xml", &xe[..xe.len() / 2], "truncated");
    // Not XML: a script, and binary bytes.
    refused(
        "script.xml",
        format!("SELECT '{CANARY}' FROM t\n").as_bytes(),
        "holds no Extended Events or Profiler events",
    );
    refused(
        "binary.xel",
        &[0x4c, 0x00, 0x00, 0x00, 0x7f, 0xfe, 0x00, 0x01, 0x02],
        "capture binary.xel",
    );
    // UTF-16, as SSMS saves a trace by default.
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            format!("<events>{CANARY}</events>")
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    refused("utf16.xml", &utf16, "UTF-16");
    // Valid XML, but no event in it.
    refused(
        "other.xml",
        format!("<html><body>{CANARY}</body></html>").as_bytes(),
        "holds no Extended Events or Profiler events",
    );
}

#[test]
fn an_oversized_capture_is_refused_before_it_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    // Sparse: 2 GiB + 1 byte of nothing, never written.
    let file = std::fs::File::create(tmp.path().join("huge.xml")).unwrap();
    file.set_len((2u64 << 30) + 1).unwrap();
    refused_in(tmp.path(), "huge.xml", "over the limit");
}

#[test]
fn a_workload_without_usable_events_or_no_input_at_all_is_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("starting.xml"),
        "<events><event name=\"sql_batch_starting\"><data name=\"batch_text\"><value>SELECT 1</value></data></event></events>",
    )
    .unwrap();
    let out = run(&["analyze", "--workload", "starting.xml"], tmp.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nothing to analyse"), "{stderr}");
    // Neither scripts nor a workload: a usage error.
    let out = run(&["analyze"], tmp.path());
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_bare_sequence_of_events_and_cdata_text_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("bare.xml"),
        "<event name=\"sql_batch_completed\" timestamp=\"2026-11-30T08:00:00Z\">\
         <data name=\"cpu_time\"><value>1000</value></data>\
         <data name=\"batch_text\"><value><![CDATA[MERGE t USING s ON 1=0 WHEN MATCHED THEN DELETE;]]></value></data></event>\n\
         <event name=\"sql_batch_completed\" timestamp=\"2026-11-30T08:00:01Z\">\
         <data name=\"batch_text\"><value>MERGE t USING s ON 1=0 WHEN MATCHED THEN DELETE;</value></data></event>\n",
    )
    .unwrap();
    let doc = json(&["--workload", "bare.xml"], tmp.path());
    let w = &doc["workload"];
    assert_eq!(w["statements_distinct"], 1);
    assert_eq!(w["executions_total"], 2);
    assert_eq!(w["cpu_ms_total"], 1);
    assert_eq!(w["last_event"], "2026-11-30T08:00:01Z");
    assert_eq!(blocker(w, "statement.merge")["executions"], 2);
}

#[test]
fn the_schema_document_names_every_workload_field() {
    let tmp = tempfile::tempdir().unwrap();
    let xe = copy_fixture(tmp.path(), "xevents.xml", "xevents.xml");
    let doc = json(&["--workload", &xe], tmp.path());
    let schema_doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/report-schema.md"
    ))
    .unwrap();
    let w = &doc["workload"];
    let finding = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| !f["workload"].is_null())
        .unwrap();
    let mut missing = Vec::new();
    for section in [
        w,
        &w["captures"][0],
        &w["captures"][0]["events_skipped"],
        &w["skipped_by_reason"],
        &w["blockers"][0],
        &w["headline"],
        &w["statements"][0],
        &finding["workload"],
    ] {
        for key in section.as_object().unwrap().keys() {
            if !schema_doc.contains(&format!("`{key}`")) {
                missing.push(key.clone());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/report-schema.md does not document: {missing:?}"
    );
}
