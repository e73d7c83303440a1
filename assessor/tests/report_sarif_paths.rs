//! SARIF locations never leave `%SRCROOT%`: a finding whose file name climbs
//! out (`../../etc/passwd`) or is absolute gets a relative URI with no `..`.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use assessor::findings::{Complexity, Finding, Status};
use assessor::report::{FeatureInfo, Format, ReportInput};
use serde_json::Value;

fn finding(file: &str) -> Finding {
    Finding {
        file: file.to_owned(),
        line: 1,
        column: 1,
        object: None,
        feature: "f".to_owned(),
        group: "g".to_owned(),
        status: Status::NotSupported,
        complexity: Complexity::Low,
        effort_minutes: 1,
        snippet: "x".to_owned(),
        in_dynamic_sql: false,
        workload: None,
    }
}

#[test]
fn sarif_uris_have_no_parent_steps_or_absolute_paths() {
    let hostile = [
        "../../etc/passwd",
        "/etc/shadow",
        "procs/../../../root/.ssh/id_rsa",
        "..\\..\\windows\\win.ini",
    ];
    let findings: Vec<Finding> = hostile.iter().map(|f| finding(f)).collect();
    let mut features = BTreeMap::new();
    features.insert(
        "f".to_owned(),
        FeatureInfo {
            title: "F".to_owned(),
            description: String::new(),
            remediation: String::new(),
            docs_url: None,
            docs_title: None,
            learning_minutes: 0,
            rewrite: None,
        },
    );
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
    let mut out = Vec::new();
    Format::Sarif.write(&mut out, &input).unwrap();
    let log: Value = serde_json::from_slice(&out).unwrap();
    let uris: Vec<&str> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        uris,
        [
            "etc/passwd",
            "etc/shadow",
            "root/.ssh/id_rsa",
            "windows/win.ini"
        ]
    );
    for uri in uris {
        assert!(
            !uri.contains("..") && !uri.starts_with('/') && !uri.contains('\\'),
            "{uri}"
        );
    }
}
