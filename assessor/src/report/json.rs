//! The JSON report: the whole model, for machines (merging, dashboards,
//! CI gates).
//!
//! The format is versioned by `schema_version` and documented field by
//! field in `docs/report-schema.md`. Within one schema version fields are
//! only added, never renamed, removed or retyped.
//!
//! ```json
//! {
//!   "schema_version": 1,
//!   "tool": { "name": "assessor", "version": "0.1.0" },
//!   "target": "babelfish-5.5",
//!   "generated_at": null,
//!   "inputs": ["./scripts"],
//!   "summary": { "objects_total": 12, "readiness_percent": 75.0, "...": "..." },
//!   "feature_catalog": { "service_broker.queue": { "title": "...", "...": "..." } },
//!   "findings": [
//!     { "file": "procs/orders.sql", "line": 12, "column": 5,
//!       "object": { "schema": "Sales", "name": "usp_GetOrders", "kind": "procedure" },
//!       "feature": "...", "group": "...", "status": "not_supported",
//!       "complexity": "medium", "effort_minutes": 30, "snippet": "..." }
//!   ],
//!   "skipped_files": [
//!     { "file": "dump.sql", "kind": "binary", "reason": "..." }
//!   ],
//!   "workload": null
//! }
//! ```

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::{FeatureText, ReportInput, SkippedFile, Summary, summarize};
use crate::findings::Finding;
use crate::workload::WorkloadSummary;

/// The version of the JSON report format. Bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The name in `tool.name`.
pub const TOOL_NAME: &str = "assessor";

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    tool: Tool<'a>,
    target: &'a str,
    generated_at: Option<&'a str>,
    inputs: &'a [String],
    summary: &'a Summary,
    feature_catalog: BTreeMap<&'a str, FeatureText<'a>>,
    findings: &'a [Finding],
    skipped_files: &'a [SkippedFile],
    workload: Option<&'a WorkloadSummary>,
}

#[derive(Serialize)]
struct Tool<'a> {
    name: &'a str,
    version: &'a str,
}

/// Writes the JSON report (pretty-printed, UTF-8, trailing newline).
pub fn write_json(w: &mut dyn Write, input: &ReportInput<'_>) -> io::Result<()> {
    let summary = summarize(input);
    write_json_with(w, input, &summary)
}

pub(crate) fn write_json_with(
    w: &mut dyn Write,
    input: &ReportInput<'_>,
    summary: &Summary,
) -> io::Result<()> {
    let feature_catalog = summary
        .features
        .iter()
        .filter_map(|f| {
            input
                .features
                .feature_text(&f.feature)
                .map(|info| (f.feature.as_str(), info))
        })
        .collect();
    let doc = Document {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: TOOL_NAME,
            version: input.tool_version,
        },
        target: input.target,
        generated_at: input.generated_at,
        inputs: input.inputs,
        summary,
        feature_catalog,
        findings: input.findings,
        skipped_files: input.skipped,
        workload: input.workload,
    };
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(io::Error::from)?;
    w.write_all(b"\n")
}
