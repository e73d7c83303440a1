//! The SARIF 2.1.0 report, for code-scanning tools (GitHub code scanning,
//! Azure DevOps, IDE viewers).
//!
//! One run. `tool.driver.rules` holds one rule per catalog feature found, in
//! the summary's feature order; each result names its rule by `ruleId` and
//! `ruleIndex`. Levels: `not_supported` is `error`, the three `review_*`
//! statuses are `warning`, `ignored` is `note`, `supported` is `none`.
//! Locations are relative URIs (percent-encoded, `/`-separated) against the
//! `%SRCROOT%` base (the input root, or the folder common to several
//! inputs); columns count Unicode code points
//! (`columnKind`), as the findings do. Skipped input files are `warning`
//! tool execution notifications of the run's one invocation (present only
//! when some file was skipped).

use std::collections::HashMap;
use std::io::{self, Write};

use serde::Serialize;
use serde_json::{Value, json};

use super::{ReportInput, Summary, complexity_str, kind_str, object_display, summarize};
use crate::findings::Status;

/// The SARIF version written.
pub const SARIF_VERSION: &str = "2.1.0";

/// The schema URI written in `$schema` (a name, never fetched).
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// `tool.driver.informationUri`. The project has no web page of its own, so
/// this is the documentation its verdicts come from: AWS's table of what
/// Babelfish supports, the page the rule catalog's statuses cite most
/// (`assessor/rules/versions.toml`). Each rule's `helpUri` is its own
/// feature's page from the catalog.
pub const INFORMATION_URI: &str = "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/babelfish-compatibility.supported-functionality-table.html";

/// The base id locations are relative to.
pub const SRCROOT: &str = "%SRCROOT%";

/// The SARIF level of a status.
pub fn level(status: Status) -> &'static str {
    match status {
        Status::NotSupported => "error",
        Status::ReviewManually | Status::ReviewSemantics | Status::ReviewPerformance => "warning",
        Status::Ignored => "note",
        Status::Supported => "none",
    }
}

/// Writes the SARIF log (compact: a machine format, and indentation more
/// than doubles a large log; trailing newline).
pub fn write_sarif(w: &mut dyn Write, input: &ReportInput<'_>) -> io::Result<()> {
    let summary = summarize(input);
    write_sarif_with(w, input, &summary)
}

pub(crate) fn write_sarif_with(
    w: &mut dyn Write,
    input: &ReportInput<'_>,
    summary: &Summary,
) -> io::Result<()> {
    let rule_index: HashMap<&str, usize> = summary
        .features
        .iter()
        .enumerate()
        .map(|(i, f)| (f.feature.as_str(), i))
        .collect();
    // Typed, not `Value`: results are most of a large log, and a tree of
    // maps for each would dominate the time. Made one at a time as they are
    // written, never all held: a large workload has 100,000.
    let results = Results {
        findings: input.findings,
        features: input.features,
        rule_index: &rule_index,
    };

    // A skipped file is a tool execution notification (SARIF 3.58), a
    // warning: the run succeeded, but did not cover that file.
    let invocations = (!input.skipped.is_empty()).then(|| {
        let notes: Vec<Value> = input
            .skipped
            .iter()
            .map(|f| {
                json!({
                    "level": "warning",
                    "message": { "text": format!("not analysed ({}): {}", f.kind.as_str(), f.reason) },
                    "locations": [{ "physicalLocation": { "artifactLocation": {
                        "uri": relative_uri(&f.file),
                        "uriBaseId": SRCROOT,
                    }}}],
                    "properties": { "skipKind": f.kind.as_str() },
                })
            })
            .collect();
        [json!({ "executionSuccessful": true, "toolExecutionNotifications": notes })]
    });
    let log = Log {
        schema: SARIF_SCHEMA,
        version: SARIF_VERSION,
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    information_uri: INFORMATION_URI,
                    name: super::json::TOOL_NAME,
                    rules: Rules {
                        summary,
                        features: input.features,
                    },
                    version: input.tool_version,
                },
            },
            original_uri_base_ids: json!({
                SRCROOT: { "description": { "text": "The input root the analysis was run on (with several inputs, the folder that holds them all)." } },
            }),
            column_kind: "unicodeCodePoints",
            results,
            invocations,
            properties: json!({
                "target": input.target,
                "readinessPercent": summary.readiness_percent,
                "objectsTotal": summary.objects_total,
                "objectsReady": summary.objects_ready,
                "effortMinutes": summary.effort.minutes,
                "filesSkipped": summary.files_skipped,
                "workloadExecutions": input.workload.map(|w| w.executions_total),
                "workloadReadinessByExecutionsPercent":
                    input.workload.and_then(|w| w.readiness_by_executions_percent),
            }),
        }],
    };
    serde_json::to_writer(&mut *w, &log).map_err(io::Error::from)?;
    w.write_all(b"\n")
}

/// The rules of a log (one per feature found), each made as it is
/// serialized. Typed and borrowed, like the results: a tree of `Value` maps
/// for a thousand rules, built and then copied into the log, was the largest
/// allocation of a whole run.
struct Rules<'a> {
    summary: &'a Summary,
    features: &'a dyn super::FeatureCatalog,
}

impl Serialize for Rules<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.summary.features.iter().map(|f| {
            let info = self.features.feature_text(&f.feature);
            Rule {
                default_configuration: DefaultConfiguration {
                    level: level(f.status),
                },
                full_description: info.map(|i| Text {
                    text: i.description,
                }),
                help: info.map(|i| Text {
                    text: i.remediation,
                }),
                help_uri: info.and_then(|i| i.docs_url),
                id: &f.feature,
                properties: RuleProperties {
                    group: &f.group,
                    status: f.status.as_str(),
                    tags: [&f.group],
                },
                short_description: Text {
                    text: info.map_or(f.feature.as_str(), |i| i.title),
                },
            }
        }))
    }
}

/// The results of a log, each made as it is serialized.
struct Results<'a, 'r> {
    findings: &'a [crate::findings::Finding],
    features: &'a dyn super::FeatureCatalog,
    rule_index: &'r HashMap<&'r str, usize>,
}

impl Serialize for Results<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.findings.iter().map(|f| self.result(f)))
    }
}

impl<'a> Results<'a, '_> {
    fn result(&self, f: &'a crate::findings::Finding) -> SarifResult<'a> {
        let features = self.features;
        let rule_index = self.rule_index;
        let title = features
            .feature_text(&f.feature)
            .map(|i| i.title)
            .unwrap_or(&f.feature);
        SarifResult {
            rule_id: &f.feature,
            rule_index: rule_index.get(f.feature.as_str()).copied(),
            level: level(f.status),
            message: Text {
                text: format!("{title} ({})", f.status.as_str()),
            },
            locations: [Location {
                physical_location: PhysicalLocation {
                    artifact_location: ArtifactLocation {
                        uri: relative_uri(&f.file),
                        uri_base_id: SRCROOT,
                    },
                    region: Region {
                        start_line: f.line.max(1),
                        start_column: f.column.max(1),
                        snippet: Text { text: &f.snippet },
                    },
                },
                logical_locations: f.object.as_ref().map(|o| {
                    [LogicalLocation {
                        fully_qualified_name: object_display(Some(o)),
                        name: &o.name,
                    }]
                }),
            }],
            properties: ResultProperties {
                status: f.status.as_str(),
                group: &f.group,
                complexity: complexity_str(f.complexity),
                effort_minutes: f.effort_minutes,
                object_kind: f.object.as_ref().map(|o| kind_str(o.kind)),
                in_dynamic_sql: f.in_dynamic_sql,
                executions: f.workload.map(|w| w.executions),
                cpu_ms: f.workload.map(|w| w.cpu_ms),
                executions_percent: f.workload.map(|w| w.executions_percent),
            },
        }
    }
}

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

// Fields in alphabetical order, the order the log had when these were
// `serde_json::Value` maps, so that the bytes do not change.
#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    information_uri: &'static str,
    name: &'static str,
    rules: Rules<'a>,
    version: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule<'a> {
    default_configuration: DefaultConfiguration,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_description: Option<Text<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<Text<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<&'a str>,
    id: &'a str,
    properties: RuleProperties<'a>,
    short_description: Text<&'a str>,
}

#[derive(Serialize)]
struct DefaultConfiguration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties<'a> {
    group: &'a str,
    status: &'static str,
    tags: [&'a str; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    original_uri_base_ids: Value,
    column_kind: &'static str,
    results: Results<'a, 'a>,
    /// Only when files were skipped: one warning notification each.
    #[serde(skip_serializing_if = "Option::is_none")]
    invocations: Option<[Value; 1]>,
    properties: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    message: Text<String>,
    locations: [Location<'a>; 1],
    properties: ResultProperties<'a>,
}

#[derive(Serialize)]
struct Text<T> {
    text: T,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    physical_location: PhysicalLocation<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logical_locations: Option<[LogicalLocation<'a>; 1]>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation<'a> {
    artifact_location: ArtifactLocation,
    region: Region<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    uri_base_id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region<'a> {
    start_line: u32,
    start_column: u32,
    snippet: Text<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation<'a> {
    fully_qualified_name: String,
    name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties<'a> {
    status: &'static str,
    group: &'a str,
    complexity: &'static str,
    effort_minutes: u32,
    object_kind: Option<&'static str>,
    /// The construct sits in a string the code runs as T-SQL.
    in_dynamic_sql: bool,
    /// Workload findings only: their statement's use.
    #[serde(skip_serializing_if = "Option::is_none")]
    executions: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    executions_percent: Option<f64>,
}

/// A relative URI reference for a relative path: `/`-separated, with every
/// byte outside RFC 3986 unreserved characters percent-encoded.
///
/// The reference never leaves `%SRCROOT%`, whatever the path (a finding's
/// file name comes from the input, and a viewer resolves the URI against
/// the checkout): `\` separates like `/`, leading separators, empty and `.`
/// segments are dropped, and `..` removes the segment before it (or nothing,
/// at the root), so neither `../` nor an absolute path survives.
pub fn relative_uri(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            segment => segments.push(segment),
        }
    }
    let mut out = String::with_capacity(path.len());
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        for byte in segment.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    out.push(char::from(byte));
                }
                b => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_and_encoded() {
        assert_eq!(relative_uri("procs/orders.sql"), "procs/orders.sql");
        assert_eq!(relative_uri("my procs\\a b.sql"), "my%20procs/a%20b.sql");
        assert_eq!(relative_uri("c:#?%é.sql"), "c%3A%23%3F%25%C3%A9.sql");
        assert_eq!(relative_uri("/abs/x.sql"), "abs/x.sql");
    }

    #[test]
    fn uris_never_climb_out_of_the_source_root() {
        assert_eq!(relative_uri("../../etc/passwd"), "etc/passwd");
        assert_eq!(relative_uri("..\\..\\windows\\win.ini"), "windows/win.ini");
        assert_eq!(relative_uri("procs/../../../x.sql"), "x.sql");
        assert_eq!(relative_uri("a/./b//c.sql"), "a/b/c.sql");
        assert_eq!(relative_uri("//server/share/x.sql"), "server/share/x.sql");
        assert_eq!(relative_uri(".."), "");
        // Dots inside a name are a name, not a step up.
        assert_eq!(relative_uri("a/..b/c...sql"), "a/..b/c...sql");
        for hostile in ["../../etc/passwd", "/etc/passwd", "a/../../b", "..\\x"] {
            let uri = relative_uri(hostile);
            assert!(
                !uri.starts_with('/') && !uri.split('/').any(|s| s == ".." || s == "."),
                "{hostile} -> {uri}"
            );
        }
    }

    #[test]
    fn levels_follow_status() {
        assert_eq!(level(Status::NotSupported), "error");
        assert_eq!(level(Status::ReviewSemantics), "warning");
        assert_eq!(level(Status::ReviewManually), "warning");
        assert_eq!(level(Status::ReviewPerformance), "warning");
        assert_eq!(level(Status::Ignored), "note");
    }
}
