//! How long the report takes to compute and render, and how big it gets, for
//! a large synthetic assessment.
//!
//! `cargo bench -p assessor --no-default-features --bench report_render [-- FINDINGS]`
//!
//! A plain binary (no harness): prints, per step, the best of a few runs in
//! milliseconds and the output size. Synthetic data only (no customer code).

#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench: a panic is a failed run.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use assessor::findings::{Complexity, Finding, ObjectKind, ObjectRef, Status};
use assessor::report::{FeatureInfo, Format, ObjectSummary, ReportInput, summarize};

const RUNS: usize = 3;

fn best<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        let v = black_box(f());
        best = best.min(start.elapsed());
        out = Some(v);
    }
    (best, out.unwrap())
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let objects_n = (n / 20).max(1);
    let files_n = (n / 200).max(1);
    let features_n = 400;

    let objects: Vec<ObjectSummary> = (0..objects_n)
        .map(|i| ObjectSummary {
            file: format!("schema{}/file{}.sql", i % 7, i % files_n),
            object: Some(ObjectRef {
                schema: Some(format!("schema{}", i % 7)),
                name: format!("usp_Procedure_{i}"),
                kind: ObjectKind::Procedure,
            }),
            line: (i % 500) as u32 + 1,
            code_sha256: None,
        })
        .collect();
    let findings: Vec<Finding> = (0..n)
        .map(|i| {
            let o = &objects[i % objects_n];
            Finding {
                file: o.file.clone(),
                line: o.line + (i % 40) as u32,
                column: (i % 60) as u32 + 1,
                object: o.object.clone(),
                feature: format!("group{}.feature{}", i % 40, i % features_n),
                group: format!("group{}", i % 40),
                status: Status::ALL[i % Status::ALL.len()],
                complexity: [Complexity::Low, Complexity::Medium, Complexity::High][i % 3],
                effort_minutes: (i % 4) as u32 * 15,
                snippet: format!(
                    "SELECT TOP 10 o.OrderId, o.Total FROM Sales.Orders o WITH (NOLOCK) WHERE o.Id = {i};"
                ),
                in_dynamic_sql: false,
                workload: None,
            }
        })
        .collect();
    let features: BTreeMap<String, FeatureInfo> = (0..features_n)
        .map(|i| {
            (
                format!("group{}.feature{i}", i % 40),
                FeatureInfo {
                    title: format!("Feature {i}"),
                    description: "A synthetic feature used to measure the renderers.".into(),
                    remediation: "Rewrite the statement with a supported construct.".into(),
                    docs_url: Some("https://example.org/docs".into()),
                    docs_title: None,
                    learning_minutes: 30,
                    rewrite: None,
                },
            )
        })
        .collect();
    let inputs = vec!["./bench".to_string()];
    let input = ReportInput {
        tool_version: env!("CARGO_PKG_VERSION"),
        target: "babelfish-5.5",
        settings: &[],
        inputs: &inputs,
        generated_at: None,
        findings: &findings,
        objects: &objects,
        features: &features,
        files_analyzed: files_n,
        lines_analyzed: n as u64 * 10,
        skipped: &[],
        workload: None,
        excerpts: &[],
        servers: &[],
        supported: None,
        effort_overrides: None,
    };

    println!(
        "report_render: {n} findings, {objects_n} objects, {files_n} files, {features_n} features (best of {RUNS})"
    );
    let (t, _) = best(|| summarize(&input));
    println!("  summarize  {:>9.1} ms", t.as_secs_f64() * 1e3);
    for format in Format::ALL {
        let (t, out) = best(|| {
            let mut out = Vec::with_capacity(64 << 20);
            format.write(&mut out, &input).unwrap();
            out
        });
        println!(
            "  {:<10} {:>9.1} ms  {:>8.1} MiB",
            format.as_str(),
            t.as_secs_f64() * 1e3,
            out.len() as f64 / (1024.0 * 1024.0)
        );
    }
}
