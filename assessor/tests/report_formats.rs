//! The machine formats (JSON, CSV, SARIF) and `write_all`, on the shared
//! sample with hostile text.

// Helpers outside #[test] functions too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod report_support;

use std::collections::{BTreeMap, HashSet};

use assessor::findings::{Complexity, Finding, ObjectKind, ObjectRef, Status};
use assessor::report::{
    self, FeatureInfo, Format, ReportError, ReportInput, csv::COLUMNS, json::SCHEMA_VERSION,
};
use report_support::{XSS_SCRIPT, sample};
use serde_json::Value;

fn render(format: Format, input: &ReportInput<'_>) -> String {
    let mut out = Vec::new();
    format.write(&mut out, input).unwrap();
    String::from_utf8(out).unwrap()
}

// ---------------------------------------------------------------- JSON

#[test]
fn json_has_the_documented_shape_and_round_trips_findings() {
    let s = sample("http://127.0.0.1:9");
    let doc: Value = serde_json::from_str(&render(Format::Json, &s.input())).unwrap();

    assert_eq!(doc["schema_version"], SCHEMA_VERSION);
    assert_eq!(doc["tool"]["name"], "assessor");
    assert_eq!(doc["tool"]["version"], "0.1.0-test");
    assert_eq!(doc["target"], "babelfish-5.5");
    assert_eq!(doc["generated_at"], "2026-11-22T08:00:00Z");
    assert_eq!(doc["inputs"][0], "./exported <scripts>");

    let items = doc["findings"].as_array().unwrap();
    assert_eq!(items.len(), s.findings.len());
    for item in items {
        for key in [
            "file",
            "line",
            "column",
            "status",
            "feature",
            "group",
            "complexity",
            "effort_minutes",
            "object",
            "snippet",
        ] {
            assert!(item.get(key).is_some(), "finding lacks {key}");
        }
        assert!(Status::parse(item["status"].as_str().unwrap()).is_some());
    }
    // Snippets and hostile names survive exactly.
    let back: Vec<Finding> = serde_json::from_value(doc["findings"].clone()).unwrap();
    assert_eq!(back, s.findings);

    // Listed: orders (blocked), clean (ready), hostile view (review only:
    // ready), top-level code of setup.sql (blocked). Unlisted but named by a
    // finding: the <script> procedure (blocked). 2 of 5 ready.
    let sum = &doc["summary"];
    assert_eq!(sum["objects_total"], 5);
    assert_eq!(sum["objects_ready"], 2);
    assert_eq!(sum["readiness_percent"], 40.0);
    assert_eq!(
        sum["by_status"]["not_supported"],
        s.count(Status::NotSupported)
    );
    assert_eq!(sum["by_status"]["supported"], s.count(Status::Supported));
    let minutes: u64 = s.findings.iter().map(|f| u64::from(f.effort_minutes)).sum();
    assert_eq!(sum["effort"]["remediation_minutes"], minutes);
    let learning: u64 = s
        .features
        .iter()
        .filter(|(id, _)| s.findings.iter().any(|f| &f.feature == *id))
        .map(|(_, info)| u64::from(info.learning_minutes))
        .sum();
    assert!(learning > 0);
    assert_eq!(sum["effort"]["learning_minutes"], learning);
    assert_eq!(sum["effort"]["minutes"], minutes + learning);
    assert_eq!(sum["top_blockers"][0]["feature"], "service_broker.send");
    assert_eq!(sum["top_blockers"][0]["occurrences"], 2);
    // The catalog text of every described feature found, and nothing else.
    let catalog = doc["feature_catalog"].as_object().unwrap();
    assert!(catalog.contains_key("service_broker.send"));
    assert!(!catalog.contains_key("statement.select"));
}

#[test]
fn json_schema_document_names_every_field() {
    let s = sample("http://127.0.0.1:9");
    // With every optional part present, so their fields are checked too.
    let catalog = assessor::rules::Catalog::shipped().unwrap();
    let overrides = assessor::rules::EffortOverrides::parse(
        "[complexity]\nlow = 5\n[feature.\"statement.merge\"]\nstatus = \"ignored\"\n",
        "calib.toml",
        &catalog,
    )
    .unwrap();
    let supported: std::collections::BTreeMap<String, usize> =
        [("function.getdate".to_string(), 2)].into();
    let mut input = s.input();
    input.supported = Some(&supported);
    input.effort_overrides = Some(&overrides);
    let doc: Value = serde_json::from_str(&render(Format::Json, &input)).unwrap();
    let schema_doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/report-schema.md"
    ))
    .unwrap();
    let mut missing = Vec::new();
    let mut check = |key: &str| {
        if !schema_doc.contains(&format!("`{key}`")) {
            missing.push(key.to_string());
        }
    };
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    for k in keys(&doc) {
        check(&k);
    }
    for section in ["summary", "tool"] {
        for k in keys(&doc[section]) {
            check(&k);
        }
    }
    for path in [
        &doc["summary"]["effort"],
        &doc["summary"]["by_status"],
        &doc["summary"]["by_complexity"],
        &doc["summary"]["features"][0],
        &doc["summary"]["objects"][0],
        &doc["findings"][0],
        &doc["findings"][0]["object"],
        &doc["feature_catalog"]["service_broker.send"],
        &doc["summary"]["skipped_by_kind"],
        &doc["skipped_files"][0],
        &doc["summary"]["by_object_type"]["procedure"],
        &doc["summary"]["supported_constructs"],
        &doc["summary"]["effort_overrides"],
        &doc["summary"]["effort_overrides"]["features"]["statement.merge"],
    ] {
        for k in keys(path) {
            check(&k);
        }
    }
    assert!(
        missing.is_empty(),
        "docs/report-schema.md does not document: {missing:?}"
    );
    assert!(schema_doc.contains(&format!("`schema_version`: {SCHEMA_VERSION}")));
}

// ---------------------------------------------------------------- CSV

/// A strict RFC 4180 reader: CRLF records, quoted cells with doubled quotes,
/// after the UTF-8 byte-order mark the file must start with.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let text = text
        .strip_prefix('\u{feff}')
        .expect("the CSV starts with a UTF-8 byte-order mark, for Excel");
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_cell_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cell.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cell.push(c);
            }
            continue;
        }
        match c {
            '"' if at_cell_start => {
                quoted = true;
                at_cell_start = false;
            }
            '"' => panic!("bare quote inside an unquoted cell"),
            ',' => {
                row.push(std::mem::take(&mut cell));
                at_cell_start = true;
            }
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "CR without LF outside quotes");
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
                at_cell_start = true;
            }
            '\n' => panic!("LF without CR outside quotes"),
            c => {
                cell.push(c);
                at_cell_start = false;
            }
        }
    }
    assert!(!quoted, "unterminated quoted cell");
    assert!(cell.is_empty() && row.is_empty(), "last record lacks CRLF");
    rows
}

const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

#[test]
fn csv_is_rfc_4180_with_one_row_per_finding() {
    let s = sample("http://127.0.0.1:9");
    let rows = parse_csv(&render(Format::Csv, &s.input()));
    assert_eq!(rows[0], COLUMNS);
    assert_eq!(rows.len(), s.findings.len() + 1);
    let col = |name: &str| COLUMNS.iter().position(|c| *c == name).unwrap();
    for (row, f) in rows[1..].iter().zip(&s.findings) {
        assert_eq!(row.len(), COLUMNS.len());
        assert_eq!(row[col("file")], f.file);
        assert_eq!(row[col("line")], f.line.to_string());
        assert_eq!(row[col("status")], f.status.as_str());
        assert_eq!(row[col("feature")], f.feature);
        // Cells round-trip exactly unless neutralised with a leading quote.
        let snippet = &row[col("snippet")];
        if f.snippet.starts_with(FORMULA_STARTS) {
            assert_eq!(snippet, &format!("'{}", f.snippet));
        } else {
            assert_eq!(snippet, &f.snippet);
        }
    }
    // The multi-line snippet is one cell.
    assert!(
        rows.iter()
            .any(|r| r[col("snippet")].contains("NOLOCK)\nWHERE"))
    );
    // The hostile object name is data, not markup or a formula.
    assert!(rows.iter().any(|r| r[col("object_name")] == XSS_SCRIPT));
}

#[test]
fn csv_neutralises_formula_injection_in_every_text_cell() {
    let hostile = [
        "=cmd|' /C calc'!A0",
        "+1+1",
        "-2+3",
        "@SUM(1,2)",
        "\t=1",
        "\r=1",
    ];
    let mut findings = Vec::new();
    let mut features = BTreeMap::new();
    for (i, h) in hostile.iter().enumerate() {
        let id = format!("f{i}");
        features.insert(
            id.clone(),
            FeatureInfo {
                title: h.to_string(),
                description: String::new(),
                remediation: h.to_string(),
                docs_url: None,
                docs_title: None,
                learning_minutes: 0,
                rewrite: None,
            },
        );
        findings.push(Finding {
            file: h.to_string(),
            line: 1,
            column: 1,
            object: Some(ObjectRef {
                schema: Some(h.to_string()),
                name: h.to_string(),
                kind: ObjectKind::Procedure,
            }),
            feature: id,
            group: h.to_string(),
            status: Status::NotSupported,
            complexity: Complexity::Low,
            effort_minutes: 1,
            snippet: h.to_string(),
            in_dynamic_sql: false,
            workload: None,
        });
    }
    let input = ReportInput {
        tool_version: "t",
        target: "t",
        settings: &[],
        inputs: &[],
        generated_at: None,
        findings: &findings,
        objects: &[],
        features: &features,
        files_analyzed: 1,
        lines_analyzed: 1,
        skipped: &[],
        workload: None,
        excerpts: &[],
        servers: &[],
        supported: None,
        effort_overrides: None,
    };
    let rows = parse_csv(&render(Format::Csv, &input));
    assert_eq!(rows.len(), hostile.len() + 1);
    let mut neutralised = 0;
    for (row, h) in rows[1..].iter().zip(hostile) {
        for (name, cell) in COLUMNS.iter().zip(row) {
            assert!(
                !cell.starts_with(FORMULA_STARTS),
                "column {name} begins with a formula character: {cell:?}"
            );
            if cell == &format!("'{h}") {
                neutralised += 1;
            }
        }
    }
    // file, schema, name, feature title, group, snippet, remediation.
    assert_eq!(neutralised, hostile.len() * 7);
}

// ---------------------------------------------------------------- SARIF

fn as_str<'v>(v: &'v Value, what: &str) -> &'v str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what} must be a string, got {v}"))
}

fn message_string(v: &Value, what: &str) {
    assert!(v.is_object(), "{what} must be an object");
    as_str(&v["text"], &format!("{what}.text"));
}

/// Structural checks of a SARIF 2.1.0 log: the properties the OASIS
/// standard (sarif-v2.1.0, section 3) marks required, their types and
/// enumerations, and the cross-references between results and rules.
fn validate_sarif(log: &Value) {
    assert_eq!(log["version"], "2.1.0", "sarifLog.version (3.13.2)");
    if let Some(schema) = log.get("$schema") {
        as_str(schema, "$schema");
    }
    let runs = log["runs"].as_array().expect("sarifLog.runs (3.13.4)");
    for run in runs {
        let driver = &run["tool"]["driver"];
        assert!(
            !as_str(&driver["name"], "toolComponent.name (3.19.8)").is_empty(),
            "driver name is empty"
        );
        let rules = driver["rules"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let mut ids = HashSet::new();
        for rule in rules {
            let id = as_str(&rule["id"], "reportingDescriptor.id (3.49.3)");
            assert!(ids.insert(id), "duplicate rule id {id}");
            for key in ["shortDescription", "fullDescription", "help"] {
                if let Some(m) = rule.get(key) {
                    message_string(m, key);
                }
            }
            if let Some(uri) = rule.get("helpUri") {
                let uri = as_str(uri, "helpUri");
                assert!(uri.contains(':'), "helpUri must be an absolute URI");
            }
            if let Some(level) = rule.pointer("/defaultConfiguration/level") {
                assert!(
                    ["none", "note", "warning", "error"].contains(&as_str(level, "level")),
                    "bad default level"
                );
            }
            if let Some(p) = rule.get("properties") {
                assert!(p.is_object(), "property bag must be an object");
            }
        }
        let bases = run["originalUriBaseIds"].as_object();
        if let Some(kind) = run.get("columnKind") {
            assert!(["utf16CodeUnits", "unicodeCodePoints"].contains(&as_str(kind, "columnKind")));
        }
        let results = run["results"].as_array().expect("run.results");
        for result in results {
            message_string(&result["message"], "result.message (3.27.11)");
            let rule_id = as_str(&result["ruleId"], "result.ruleId");
            if let Some(index) = result.get("ruleIndex") {
                let index = index.as_u64().expect("ruleIndex is a non-negative integer") as usize;
                assert_eq!(
                    rules[index]["id"], rule_id,
                    "ruleIndex points at another rule"
                );
            }
            assert!(ids.contains(rule_id), "ruleId {rule_id} has no rule");
            let level = as_str(&result["level"], "result.level");
            assert!(["none", "note", "warning", "error"].contains(&level));
            for loc in result["locations"].as_array().expect("locations") {
                let phys = &loc["physicalLocation"];
                let art = &phys["artifactLocation"];
                let uri = as_str(&art["uri"], "artifactLocation.uri");
                assert!(
                    !uri.starts_with('/')
                        && !uri.contains("://")
                        && !uri.contains(['\\', ' ', '<']),
                    "uri must be a relative, encoded reference: {uri}"
                );
                if let Some(base) = art.get("uriBaseId") {
                    let base = as_str(base, "uriBaseId");
                    assert!(
                        bases.is_some_and(|b| b.contains_key(base)),
                        "uriBaseId {base} is not in originalUriBaseIds"
                    );
                }
                let region = &phys["region"];
                assert!(region["startLine"].as_u64().expect("startLine") >= 1);
                assert!(region["startColumn"].as_u64().expect("startColumn") >= 1);
                if let Some(snippet) = region.get("snippet") {
                    as_str(&snippet["text"], "snippet.text");
                }
                if let Some(logical) = loc.get("logicalLocations") {
                    for l in logical.as_array().expect("logicalLocations") {
                        as_str(&l["fullyQualifiedName"], "fullyQualifiedName");
                    }
                }
            }
        }
    }
}

#[test]
fn sarif_is_structurally_valid_2_1_0() {
    let s = sample("http://127.0.0.1:9");
    let log: Value = serde_json::from_str(&render(Format::Sarif, &s.input())).unwrap();
    validate_sarif(&log);

    let run = &log["runs"][0];
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), s.findings.len());
    for (r, f) in results.iter().zip(&s.findings) {
        let want = match f.status {
            Status::NotSupported => "error",
            Status::ReviewManually | Status::ReviewSemantics | Status::ReviewPerformance => {
                "warning"
            }
            Status::Ignored => "note",
            Status::Supported => "none",
        };
        assert_eq!(r["level"], want, "level of {}", f.status.as_str());
        assert_eq!(r["ruleId"], f.feature.as_str());
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], f.line);
        assert_eq!(region["startColumn"], f.column);
    }
    // One rule per feature found.
    let features: HashSet<&str> = s.findings.iter().map(|f| f.feature.as_str()).collect();
    assert_eq!(
        run["tool"]["driver"]["rules"].as_array().unwrap().len(),
        features.len()
    );
    // The hostile file name is percent-encoded, not passed through.
    assert!(results.iter().any(|r| {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            == "hostile/%3Cb%3Eevil%3C/b%3E.sql"
    }));
}

// ---------------------------------------------------------------- write_all

#[test]
fn write_all_writes_every_format_atomically() {
    let s = sample("http://127.0.0.1:9");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // An old report is replaced, not appended to.
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("report.json"), "old").unwrap();

    let paths = report::write_all(&out, &Format::ALL, &s.input()).unwrap();
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["report.html", "report.json", "findings.csv", "report.sarif"]
    );
    for (path, format) in paths.iter().zip(Format::ALL) {
        assert_eq!(
            std::fs::read_to_string(path).unwrap(),
            render(format, &s.input()),
            "{} differs from the renderer's output",
            format.as_str()
        );
    }
    #[cfg(unix)]
    for path in &paths {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is readable by others", path.display());
    }
    let mut entries: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        ["findings.csv", "report.html", "report.json", "report.sarif"],
        "no temporary file is left behind"
    );
}

#[test]
fn write_all_errors_name_the_file_and_leave_no_temporary() {
    let s = sample("http://127.0.0.1:9");
    let dir = tempfile::tempdir().unwrap();

    // The directory is a file.
    let not_dir = dir.path().join("file");
    std::fs::write(&not_dir, "x").unwrap();
    let err = report::write_all(&not_dir.join("sub"), &[Format::Json], &s.input()).unwrap_err();
    assert!(matches!(err, ReportError::CreateDir { .. }));

    // The target name is taken by a directory: the rename fails.
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join("report.json")).unwrap();
    let err = report::write_all(&out, &[Format::Csv, Format::Json], &s.input()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(
        err,
        ReportError::Write {
            format: Format::Json,
            ..
        }
    ));
    assert!(msg.contains("report.json"), "{msg}");
    for f in &s.findings {
        assert!(
            !msg.contains(&f.snippet),
            "error message carries customer code"
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    // The format written before the failure is complete.
    assert!(out.join("findings.csv").is_file());
}

/// Formats render concurrently, yet the error is always the first failed
/// format in the order asked for, whichever thread finished first; the
/// formats that succeeded are complete.
#[test]
fn write_all_reports_the_first_failed_format_in_the_order_given() {
    let s = sample("http://127.0.0.1:9");
    for (order, first_failed) in [
        ([Format::Html, Format::Csv, Format::Sarif], Format::Html),
        ([Format::Sarif, Format::Csv, Format::Html], Format::Sarif),
    ] {
        let dir = tempfile::tempdir().unwrap();
        // Both names are taken by directories: both renames fail.
        std::fs::create_dir_all(dir.path().join("report.html")).unwrap();
        std::fs::create_dir_all(dir.path().join("report.sarif")).unwrap();
        let err = report::write_all(dir.path(), &order, &s.input()).unwrap_err();
        match err {
            ReportError::Write { format, .. } => assert_eq!(format, first_failed, "{order:?}"),
            other => panic!("unexpected error {other}"),
        }
        let csv = std::fs::read_to_string(dir.path().join("findings.csv")).unwrap();
        assert_eq!(csv, render(Format::Csv, &s.input()));
    }
}

#[test]
fn output_is_deterministic() {
    let s = sample("http://127.0.0.1:9");
    for format in Format::ALL {
        assert_eq!(render(format, &s.input()), render(format, &s.input()));
    }
}
