//! Reports: the executive summary and the four renderers (HTML, JSON, CSV,
//! SARIF) of one findings model.
//!
//! The caller (the CLI or the appliance job) gathers a [`ReportInput`]: the
//! findings, every object analysed (so objects without findings count towards
//! readiness) and the display text of the catalog features. [`summarize`]
//! computes the executive summary; each `write_*` function renders one format
//! to any writer; [`write_all`] writes several formats into a directory,
//! atomically (temporary file, then rename), so a reader never sees half a
//! report.
//!
//! Guarantees:
//! - Every renderer reads the same [`Summary`], so the numbers agree across
//!   formats.
//! - Output is deterministic: the same input gives the same bytes (no clock,
//!   no hash-map order); the caller supplies the timestamp if it wants one.
//! - Customer text (object and file names, snippets) is escaped for the
//!   format it lands in: HTML-escaped in HTML, formula-neutralised and
//!   RFC 4180-quoted in CSV, JSON-escaped in JSON and SARIF.
//! - Snippets are customer code: they go into the report files and nowhere
//!   else. No error message of this module contains one.
//!
//! The JSON format is versioned ([`json::SCHEMA_VERSION`]) and documented in
//! `docs/report-schema.md`.

pub mod csv;
pub mod excerpt;
pub mod html;
pub mod json;
pub mod overview;
pub mod sarif;
pub mod summary;
pub mod timestamp;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::findings::{Finding, ObjectRef};

pub use excerpt::Excerpt;
pub use summary::{SkipCounts, Summary, summarize};

/// Everything a report is made of.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    /// The assessor version that produced the findings.
    pub tool_version: &'a str,
    /// The target the findings were computed for, e.g. `babelfish-5.5`.
    pub target: &'a str,
    /// Babelfish settings chosen for the target (`--setting NAME=VALUE`),
    /// `(name, value)` by name; empty means Babelfish's defaults.
    pub settings: &'a [(String, String)],
    /// The input roots as the user named them (display only).
    pub inputs: &'a [String],
    /// When the analysis ran (RFC 3339), if the caller wants it shown. Left
    /// out, the report is byte-for-byte reproducible.
    pub generated_at: Option<&'a str>,
    pub findings: &'a [Finding],
    /// Every object analysed, including those without findings. Findings
    /// whose object is not listed here are still counted (their object is
    /// added), so an incomplete list cannot hide a blocker.
    pub objects: &'a [ObjectSummary],
    /// Display text for the catalog features the findings name.
    pub features: &'a dyn FeatureCatalog,
    pub files_analyzed: usize,
    pub lines_analyzed: u64,
    /// Input files listed but not analysed, with the reason. The summary
    /// counts them and every format but CSV (one row per finding) lists
    /// them, so a report never looks complete when it is not.
    pub skipped: &'a [SkippedFile],
    /// The workload section, when captured workloads were analysed
    /// (`assessor analyze --workload`); their findings are in `findings`.
    pub workload: Option<&'a crate::workload::WorkloadSummary>,
    /// Source lines around the findings, per file, for the HTML report's
    /// drill-down ([`excerpt`]); a file without one shows the snippet only.
    pub excerpts: &'a [Excerpt],
    /// The servers an appliance run assessed ([`overview`]); empty for an
    /// offline analysis.
    pub servers: &'a [overview::ServerOverview],
    /// Supported constructs seen in the scripts, by feature id
    /// ([`crate::analyze::Analysis::supported_occurrences`]); `None` when
    /// the caller did not count them (the summary then says so with `null`).
    pub supported: Option<&'a BTreeMap<String, usize>>,
    /// The user's effort calibration (`assessor analyze --effort`), recorded
    /// in the summary. Applying it is the caller's job, where findings are
    /// made ([`crate::analyze::Analyzer::with_effort`], and
    /// [`crate::rules::effort::Calibrated`] for `features`), so every
    /// number already carries it.
    pub effort_overrides: Option<&'a crate::rules::EffortOverrides>,
}

/// Why a listed input file was not analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipKind {
    /// Not text: a binary file with a script's name.
    Binary,
    /// Could not be read (permissions, I/O error, vanished).
    Unreadable,
}

impl SkipKind {
    /// All kinds, in report order.
    pub const ALL: [SkipKind; 2] = [SkipKind::Binary, SkipKind::Unreadable];

    /// The word used in JSON, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipKind::Binary => "binary",
            SkipKind::Unreadable => "unreadable",
        }
    }
}

/// An input file that was listed but not analysed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedFile {
    /// Path as in [`Finding::file`].
    pub file: String,
    pub kind: SkipKind,
    /// The reason in words, with what to do (never the file's content).
    pub reason: String,
}

/// One unit of code the readiness score counts: a database object defined by
/// a script, or the top-level code of a file (batches outside any
/// CREATE/ALTER of an object).
///
/// Counts by status are not stored here: they are derived from the findings,
/// so the summary and the findings list cannot disagree.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectSummary {
    /// Path as in [`Finding::file`]: two inputs holding the same relative
    /// file give two paths, so their objects are counted apart.
    pub file: String,
    /// `None` for the top-level code of `file`; it matches findings whose
    /// `object` is `None`.
    pub object: Option<ObjectRef>,
    /// 1-based line where the definition starts (1 for top-level code).
    pub line: u32,
    /// SHA-256 of the object's normalised source
    /// ([`crate::analyze::fingerprint`]): equal for the same code however it
    /// is laid out, so an estate report counts it once. `None` when unknown
    /// (top-level code beside objects, objects only findings name).
    #[serde(default)]
    pub code_sha256: Option<String>,
}

/// Display text of one catalog feature, owned (for callers that build a
/// map, and for tests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureInfo {
    /// One line, e.g. "Service Broker queues".
    pub title: String,
    /// What the feature is and how it fares on the target.
    pub description: String,
    /// What to do about it.
    pub remediation: String,
    /// Where to read more (https URL), if the catalog has one.
    pub docs_url: Option<String>,
    /// What that page covers (the link's text), when the catalog lists it.
    #[serde(default)]
    pub docs_title: Option<String>,
    /// Minutes to learn the remediation, counted once per report for a
    /// feature found (0 if none).
    #[serde(default)]
    pub learning_minutes: u32,
    /// A worked example of the remediation, `(before, after)`.
    #[serde(default)]
    pub rewrite: Option<(String, String)>,
}

impl FeatureInfo {
    /// The borrowed view renderers read.
    pub fn text(&self) -> FeatureText<'_> {
        FeatureText {
            title: &self.title,
            description: &self.description,
            remediation: &self.remediation,
            docs_url: self.docs_url.as_deref(),
            docs_title: self.docs_title.as_deref(),
            learning_minutes: self.learning_minutes,
            rewrite: self
                .rewrite
                .as_ref()
                .map(|(before, after)| RewriteText { before, after }),
        }
    }
}

/// Display text of one catalog feature, borrowed from wherever the catalog
/// keeps it. Serialised as the `feature_catalog` entries of the JSON report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FeatureText<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub remediation: &'a str,
    pub docs_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docs_title: Option<&'a str>,
    pub learning_minutes: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<RewriteText<'a>>,
}

/// A feature's remediation as code: what the feature looks like in use,
/// and the same intent written so the target runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RewriteText<'a> {
    pub before: &'a str,
    pub after: &'a str,
}

/// Looks up the display text of a feature by its catalog id.
///
/// Implemented for the rule catalog ([`crate::rules::Catalog`]) and for maps
/// of [`FeatureInfo`]. A feature the catalog does not describe is rendered
/// with its id as title.
pub trait FeatureCatalog: Sync {
    fn feature_text(&self, id: &str) -> Option<FeatureText<'_>>;
}

impl FeatureCatalog for BTreeMap<String, FeatureInfo> {
    fn feature_text(&self, id: &str) -> Option<FeatureText<'_>> {
        self.get(id).map(FeatureInfo::text)
    }
}

impl<S: std::hash::BuildHasher + Sync> FeatureCatalog for HashMap<String, FeatureInfo, S> {
    fn feature_text(&self, id: &str) -> Option<FeatureText<'_>> {
        self.get(id).map(FeatureInfo::text)
    }
}

/// The catalog has no separate title: its description's first line serves,
/// and the whole description is the description.
impl FeatureCatalog for crate::rules::Catalog {
    fn feature_text(&self, id: &str) -> Option<FeatureText<'_>> {
        self.feature(id).map(|f| FeatureText {
            title: f.description.lines().next().unwrap_or(&f.id),
            description: &f.description,
            remediation: &f.remediation,
            docs_url: (!f.docs.is_empty()).then_some(f.docs.as_str()),
            docs_title: self.docs_title(&f.docs),
            learning_minutes: f.learning_minutes,
            rewrite: f.rewrite.as_ref().map(|r| RewriteText {
                before: &r.before,
                after: &r.after,
            }),
        })
    }
}

impl std::fmt::Debug for dyn FeatureCatalog + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FeatureCatalog")
    }
}

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Html,
    Json,
    Csv,
    Sarif,
}

impl Format {
    /// All formats, in the order [`write_all`] writes them.
    pub const ALL: [Format; 4] = [Format::Html, Format::Json, Format::Csv, Format::Sarif];

    /// The word used on the command line (`--format html,json`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Sarif => "sarif",
        }
    }

    /// Parses the word used on the command line.
    pub fn parse(word: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == word)
    }

    /// The format a file name's extension names, any case: `.html` or
    /// `.htm`, `.json`, `.csv`, `.sarif` or `.sarif.json` (the name GitHub
    /// code scanning uses). `None` for any other name.
    pub fn for_file_name(name: &str) -> Option<Format> {
        let name = name.to_ascii_lowercase();
        // `.sarif.json` first: it also ends in `.json`.
        [
            (".sarif.json", Format::Sarif),
            (".sarif", Format::Sarif),
            (".html", Format::Html),
            (".htm", Format::Html),
            (".json", Format::Json),
            (".csv", Format::Csv),
        ]
        .into_iter()
        .find(|(ext, _)| name.ends_with(ext))
        .map(|(_, f)| f)
    }

    /// The file [`write_all`] writes this format to.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Html => "report.html",
            Format::Json => "report.json",
            Format::Csv => "findings.csv",
            Format::Sarif => "report.sarif",
        }
    }

    /// Renders `input` in this format.
    pub fn write(self, w: &mut dyn Write, input: &ReportInput<'_>) -> io::Result<()> {
        self.write_with(w, input, &summarize(input))
    }

    /// Renders with a summary already computed from `input`.
    pub(crate) fn write_with(
        self,
        w: &mut dyn Write,
        input: &ReportInput<'_>,
        summary: &Summary,
    ) -> io::Result<()> {
        match self {
            Format::Html => html::write_html_with(w, input, summary),
            Format::Json => json::write_json_with(w, input, summary),
            Format::Csv => csv::write_csv(w, input),
            Format::Sarif => sarif::write_sarif_with(w, input, summary),
        }
    }
}

/// Why a report could not be written. Messages name the file, never its
/// contents.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(
        "cannot create the report directory {}: {source}; check the path and its permissions",
        dir.display()
    )]
    CreateDir { dir: PathBuf, source: io::Error },
    #[error(
        "cannot write the {format} report {}: {source}; check free space and permissions",
        path.display(),
        format = format.as_str()
    )]
    Write {
        format: Format,
        path: PathBuf,
        source: io::Error,
    },
}

/// Writes each of `formats` into `dir` (created if missing) under
/// [`Format::file_name`], and returns the paths written, in order.
///
/// Each file is written to a temporary file in `dir`, flushed to disk, then
/// renamed over the final name: a reader sees the old report or the new one,
/// never a partial file. The formats are rendered at the same time; on error
/// the failed format's temporary file is removed, the formats that succeeded
/// stay in place, and the error is the first failed format's, in the order
/// given. New files are created with mode
/// 0600 on Unix: reports hold customer code.
pub fn write_all(
    dir: &Path,
    formats: &[Format],
    input: &ReportInput<'_>,
) -> Result<Vec<PathBuf>, ReportError> {
    fs::create_dir_all(dir).map_err(|source| ReportError::CreateDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let summary = summarize(input);
    let write = |format: Format| {
        let path = dir.join(format.file_name());
        match write_atomically(&path, |w| format.write_with(w, input, &summary)) {
            Ok(()) => Ok(path),
            Err(source) => Err(ReportError::Write {
                format,
                path,
                source,
            }),
        }
    };
    // The formats are independent renderings of the same input: on as
    // many threads as there are cores, a run costs about its slowest
    // format, not their sum.
    let mut results = Vec::with_capacity(formats.len());
    crate::parallel::ordered(
        formats.len(),
        formats.len(),
        |i| write(formats[i]),
        |_, r| results.push(r),
    );
    results.into_iter().collect()
}

/// Writes `path` through a temporary sibling file and a rename.
pub(crate) fn write_atomically(
    path: &Path,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Same directory, so the rename cannot cross file systems; the pid keeps
    // two concurrent runs from writing the same temporary file.
    let tmp = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        // A leftover from a crashed run with the same pid is ours to replace;
        // `create_new` then refuses to follow anything planted meanwhile.
        match fs::remove_file(&tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        // Reports hold customer code: readable by the owner only.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&tmp)?;
        let mut w = BufWriter::new(file);
        render(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: the original error is the one worth reporting.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The display name of an object: `schema.name`, or `name`, or
/// "(top-level code)" for code outside any object.
pub(crate) fn object_display(object: Option<&ObjectRef>) -> String {
    match object {
        Some(ObjectRef {
            schema: Some(schema),
            name,
            ..
        }) => format!("{schema}.{name}"),
        Some(ObjectRef { name, .. }) => name.clone(),
        None => "(top-level code)".to_string(),
    }
}

/// The word for an object kind, as serde writes it.
pub(crate) fn kind_str(kind: crate::findings::ObjectKind) -> &'static str {
    use crate::findings::ObjectKind as K;
    match kind {
        K::Table => "table",
        K::View => "view",
        K::Procedure => "procedure",
        K::Function => "function",
        K::Trigger => "trigger",
        K::Index => "index",
        K::Type => "type",
        K::Sequence => "sequence",
        K::Synonym => "synonym",
        K::Schema => "schema",
        K::Database => "database",
        K::Login => "login",
        K::User => "user",
        K::Role => "role",
        K::Job => "job",
        K::Other => "other",
    }
}

/// The word for a complexity, as serde writes it.
pub(crate) fn complexity_str(c: crate::findings::Complexity) -> &'static str {
    use crate::findings::Complexity as C;
    match c {
        C::Low => "low",
        C::Medium => "medium",
        C::High => "high",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_catalog_describes_its_features() {
        let catalog = crate::rules::Catalog::from_sources(&[
            (
                "versions.toml",
                "[[version]]\nid = \"5.5\"\npostgres = \"17\"\n",
            ),
            (
                "test.toml",
                r#"
[[feature]]
id = "code.unparsed"
group = "Unparsed code"
description = "Code the analyzer could not parse.\nReview it by hand."
complexity = "medium"
effort_minutes = 30
learning_minutes = 45
remediation = "Read the code."
docs = "https://example.org/unparsed"
status = { "5.5" = "review_manually" }
match = [{ kind = "unparsed", name = "*" }]

[[feature]]
id = "sqlcmd.other"
group = "sqlcmd"
description = "d"
complexity = "low"
effort_minutes = 5
remediation = "r"
docs = "https://example.org"
status = { "5.5" = "review_manually" }
match = [{ kind = "sqlcmd", name = "*" }]

[[page]]
url = "https://example.org/unparsed"
about = "Parsing limits"
"#,
            ),
        ])
        .unwrap();
        let text = catalog.feature_text("code.unparsed").unwrap();
        assert_eq!(text.docs_title, Some("Parsing limits"));
        assert_eq!(
            catalog.feature_text("sqlcmd.other").unwrap().docs_title,
            None
        );
        assert_eq!(text.title, "Code the analyzer could not parse.");
        assert_eq!(
            text.description,
            "Code the analyzer could not parse.\nReview it by hand."
        );
        assert_eq!(text.remediation, "Read the code.");
        assert_eq!(text.docs_url, Some("https://example.org/unparsed"));
        assert_eq!(text.learning_minutes, 45);
        assert!(catalog.feature_text("no.such.feature").is_none());
    }

    #[test]
    fn formats_parse_their_own_words() {
        for f in Format::ALL {
            assert_eq!(Format::parse(f.as_str()), Some(f));
        }
        assert_eq!(Format::parse("pdf"), None);
    }

    #[test]
    fn file_names_name_their_format() {
        for f in Format::ALL {
            assert_eq!(Format::for_file_name(f.file_name()), Some(f));
        }
        assert_eq!(Format::for_file_name("out/R.HTM"), Some(Format::Html));
        assert_eq!(
            Format::for_file_name("scan.sarif.json"),
            Some(Format::Sarif)
        );
        assert_eq!(Format::for_file_name("report.txt"), None);
        assert_eq!(Format::for_file_name("report"), None);
        assert_eq!(Format::for_file_name("html"), None);
    }
}
