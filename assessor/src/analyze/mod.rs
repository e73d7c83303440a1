//! The analysis: scripts -> observations -> findings, file by file.
//!
//! [`Analyzer`] ties the pipeline together: [`crate::source`] finds and
//! decodes the files, [`crate::tsql::parse_script`] observes constructs,
//! [`crate::rules::Matcher`] classifies them for the chosen target, and each
//! classification that is not `supported` becomes a [`Finding`] with its
//! file, 1-based line and column, enclosing object and a one-line snippet.
//!
//! Guarantees:
//! - Streaming: one script per worker thread (at most [`MAX_WORKERS`]) is
//!   in memory at a time; what is kept per file is its findings, object
//!   list and the lines around its findings (an [`Excerpt`], bounded by
//!   [`crate::report::excerpt`]), never its text.
//! - Deterministic: files are analysed on several threads but merged in
//!   the order they are listed, so the result is a one-thread run's.
//! - One finding per (feature, line) in a file: a construct observed twice
//!   on a line (e.g. a statement and its option) is reported once.
//! - Supported constructs are not findings, but are counted
//!   ([`Analysis::supported_occurrences`]).
//! - A file that cannot be read or decoded is recorded in
//!   [`Analysis::skipped`] with its kind and the reason (never its content)
//!   and the run goes on; a missing input path is an error naming the path.
//!   Whether a run that analysed nothing is a failure is the caller's call
//!   ([`Analysis::files_analyzed`] is 0; [`Analysis::files_ignored`] says
//!   how many other files the folders held).
//! - No log line or error message contains script text.

pub mod fingerprint;
#[cfg(feature = "appliance")]
pub mod inventory;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use crate::findings::Status;
use crate::findings::{Finding, ObjectRef};
use crate::report::{Excerpt, ObjectSummary, SkipKind, SkippedFile};
use crate::rules::{Catalog, EffortOverrides, Feature, Matcher, Settings, Version};
use crate::source::{self, InputFile, LineIndex, SourceError};
use crate::tsql::{self, ObjectSpan};

/// Most threads [`Analyzer::analyze_paths`] uses. Each holds one decoded
/// script at a time, so this also bounds the scripts in memory at once.
pub const MAX_WORKERS: usize = 4;

/// Longest snippet, in characters.
pub const SNIPPET_CHARS: usize = 160;

/// Why an analysis could not run.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// A file and a message about it (a decoding warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Path as in [`crate::findings::Finding::file`].
    pub file: String,
    /// Why (never the file's content).
    pub reason: String,
}

/// The result of analysing one script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileAnalysis {
    pub findings: Vec<Finding>,
    /// Objects the script defines, plus its top-level code when it has any.
    pub objects: Vec<ObjectSummary>,
    pub lines: u64,
    /// Supported constructs, by feature id.
    pub supported: BTreeMap<String, usize>,
}

/// The result of analysing all inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    pub findings: Vec<Finding>,
    pub objects: Vec<ObjectSummary>,
    pub files_analyzed: usize,
    pub lines_analyzed: u64,
    pub bytes_analyzed: u64,
    /// Supported constructs seen, by feature id.
    pub supported_occurrences: BTreeMap<String, usize>,
    /// Files listed but not analysed (unreadable, binary).
    pub skipped: Vec<SkippedFile>,
    /// Files in the input folders that are not `.sql` scripts, so were not
    /// listed (see [`crate::source::discover`]).
    pub files_ignored: usize,
    /// Files decoded with a fallback encoding, with the decoder's warning.
    pub warnings: Vec<Skipped>,
    /// Source lines around the findings of each file with findings, for
    /// the HTML report's drill-down.
    pub excerpts: Vec<Excerpt>,
}

impl Analysis {
    /// Appends `part` (the analysis of later files) to this one.
    fn absorb(&mut self, mut part: Analysis) {
        self.findings.append(&mut part.findings);
        self.objects.append(&mut part.objects);
        self.files_analyzed += part.files_analyzed;
        self.lines_analyzed += part.lines_analyzed;
        self.bytes_analyzed += part.bytes_analyzed;
        for (feature, n) in part.supported_occurrences {
            *self.supported_occurrences.entry(feature).or_default() += n;
        }
        self.skipped.append(&mut part.skipped);
        self.files_ignored += part.files_ignored;
        self.warnings.append(&mut part.warnings);
        self.excerpts.append(&mut part.excerpts);
    }
}

/// Progress of a run, reported after each file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress<'a> {
    /// The file just done, as findings name it (`--verbose` shows it).
    pub file: &'a str,
    pub files_done: usize,
    pub files_total: usize,
    pub bytes_done: u64,
}

/// Analyses scripts for one Babelfish target.
#[derive(Debug)]
pub struct Analyzer<'c> {
    matcher: Matcher<'c>,
    /// The user's calibration (`--effort`), if any.
    effort: Option<&'c EffortOverrides>,
}

impl<'c> Analyzer<'c> {
    pub fn new(catalog: &'c Catalog, target: Version) -> Analyzer<'c> {
        Analyzer {
            matcher: Matcher::new(catalog, target),
            effort: None,
        }
    }

    /// An analyzer for `target` with Babelfish `settings` applied (see
    /// [`crate::rules::settings`]).
    pub fn with_settings(
        catalog: &'c Catalog,
        target: Version,
        settings: &Settings,
    ) -> Analyzer<'c> {
        Analyzer {
            matcher: Matcher::with_settings(catalog, target, settings),
            effort: None,
        }
    }

    /// This analyzer with the user's effort and status overrides applied
    /// to every construct it classifies ([`crate::rules::effort`]): a
    /// status override replaces the catalog's before the construct becomes
    /// a finding (or, as `supported`, a supported construct), and a
    /// finding's `effort_minutes` is the overridden one.
    pub fn with_effort(self, effort: &'c EffortOverrides) -> Analyzer<'c> {
        Analyzer {
            effort: Some(effort),
            ..self
        }
    }

    /// The status and per-occurrence minutes a construct of `feature`
    /// classified as `status` gets, after the effort calibration
    /// ([`Analyzer::with_effort`]; the catalog's values without one).
    pub fn calibrated(&self, feature: &Feature, status: Status) -> (Status, u32) {
        match self.effort {
            None => (status, feature.effort_minutes),
            Some(e) => (
                e.status(&feature.id).unwrap_or(status),
                e.effort_minutes(&feature.id, feature.complexity)
                    .unwrap_or(feature.effort_minutes),
            ),
        }
    }

    pub fn target(&self) -> Version {
        self.matcher.target()
    }

    /// The catalog matcher, for findings that come from facts, not code.
    pub fn matcher(&self) -> &Matcher<'c> {
        &self.matcher
    }

    /// Analyses every `.sql` file under `paths`. Files are spread over up
    /// to [`MAX_WORKERS`] threads (one per core) by
    /// [`crate::parallel::ordered`], which merges their results in the order
    /// the files were listed, so the analysis (and every report made from
    /// it) is the same as one thread's. `progress` is called on this thread
    /// after each file is merged.
    pub fn analyze_paths(
        &self,
        paths: &[PathBuf],
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Analysis, AnalyzeError> {
        let found = source::discover_all(paths)?;
        let files = found.files;
        let mut out = Analysis {
            files_ignored: found.ignored,
            ..Analysis::default()
        };
        let total = files.len();
        crate::parallel::ordered(
            total,
            MAX_WORKERS,
            |i| {
                let mut part = Analysis::default();
                self.analyze_input(&files[i], &mut part);
                part
            },
            |i, part| {
                out.absorb(part);
                progress(Progress {
                    file: &files[i].relative,
                    files_done: i + 1,
                    files_total: total,
                    bytes_done: out.bytes_analyzed,
                });
            },
        );
        Ok(out)
    }

    /// Reads, decodes and analyses one listed file into `out`.
    pub fn analyze_input(&self, file: &InputFile, out: &mut Analysis) {
        let bytes = match std::fs::read(&file.path) {
            Ok(b) => b,
            Err(e) => {
                out.skipped.push(SkippedFile {
                    file: file.relative.clone(),
                    kind: SkipKind::Unreadable,
                    reason: format!("cannot read the file: {e}; check its permissions"),
                });
                return;
            }
        };
        let decoded = match source::decode(&bytes) {
            Ok(d) => d,
            Err(e) => {
                let kind = match e {
                    source::DecodeError::Binary { .. } => SkipKind::Binary,
                };
                out.skipped.push(SkippedFile {
                    file: file.relative.clone(),
                    kind,
                    reason: e.to_string(),
                });
                return;
            }
        };
        out.bytes_analyzed += bytes.len() as u64;
        drop(bytes);
        if let Some(warning) = decoded.warning {
            out.warnings.push(Skipped {
                file: file.relative.clone(),
                reason: warning,
            });
        }
        let result = self.analyze_text(&file.relative, &decoded.text);
        out.excerpts.extend(Excerpt::around(
            &file.relative,
            &decoded.text,
            result.findings.iter().map(|f| f.line),
        ));
        out.files_analyzed += 1;
        out.lines_analyzed += result.lines;
        out.findings.extend(result.findings);
        out.objects.extend(result.objects);
        for (feature, n) in result.supported {
            *out.supported_occurrences.entry(feature).or_default() += n;
        }
    }

    /// Analyses one decoded script; `file` is the name findings carry.
    pub fn analyze_text(&self, file: &str, text: &str) -> FileAnalysis {
        let script = tsql::parse_script(text);
        let index = LineIndex::new(text);
        let classified = self.matcher.classify(text, &script);
        let mut out = FileAnalysis {
            lines: index.line_count() as u64,
            ..FileAnalysis::default()
        };
        let mut seen: HashSet<(&str, u32)> = HashSet::new();
        let spans: Vec<(usize, usize)> = script.objects.iter().map(|o| (o.start, o.end)).collect();
        let mut top_level = script.objects.is_empty();
        for c in &classified {
            let object = crate::rules::matcher::find_object(&spans, c.offset)
                .and_then(|i| script.objects.get(i));
            top_level |= object.is_none();
            let (status, effort_minutes) = self.calibrated(c.feature, c.status);
            if status == crate::findings::Status::Supported {
                *out.supported.entry(c.feature.id.clone()).or_default() += 1;
                continue;
            }
            let (line, column) = index.position(text, c.offset);
            if !seen.insert((c.feature.id.as_str(), line)) {
                continue;
            }
            out.findings.push(Finding {
                file: file.to_string(),
                line,
                column,
                object: object.map(|o| o.object.clone()),
                feature: c.feature.id.clone(),
                group: c.feature.group.clone(),
                status,
                complexity: c.feature.complexity,
                effort_minutes,
                snippet: snippet(text, c.offset),
                in_dynamic_sql: script
                    .observations
                    .get(c.observation)
                    .is_some_and(|o| o.in_string),
                workload: None,
            });
        }
        // Top-level code counts as an object when observations fall outside
        // every object (or the script defines none).
        top_level |= script
            .observations
            .iter()
            .any(|o| crate::rules::matcher::find_object(&spans, o.offset).is_none());
        if top_level {
            // A script of top-level code only is one unit of code, with a
            // fingerprint; beside objects, its top-level part has none.
            out.objects.push(ObjectSummary {
                file: file.to_string(),
                object: None,
                line: 1,
                code_sha256: script
                    .objects
                    .is_empty()
                    .then(|| fingerprint::code_sha256(text)),
            });
        }
        out.objects.extend(
            script
                .objects
                .iter()
                .map(|o| object_summary(file, text, &index, o)),
        );
        out
    }
}

fn object_summary(file: &str, text: &str, index: &LineIndex, span: &ObjectSpan) -> ObjectSummary {
    let object: ObjectRef = span.object.clone();
    ObjectSummary {
        file: file.to_string(),
        object: Some(object),
        line: index.position(text, span.start).0,
        code_sha256: text.get(span.start..span.end).map(fingerprint::code_sha256),
    }
}

/// The source line containing `offset`, trimmed, at most [`SNIPPET_CHARS`]
/// characters (an ellipsis marks a cut).
pub fn snippet(text: &str, offset: usize) -> String {
    let mut offset = offset.min(text.len());
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = text[start..end].trim();
    if line.chars().count() <= SNIPPET_CHARS {
        return line.to_string();
    }
    let mut cut: String = line.chars().take(SNIPPET_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_carry_the_fingerprint_of_their_own_source() {
        let catalog = Catalog::shipped().unwrap();
        let analyzer = Analyzer::new(&catalog, catalog.latest());
        let a = analyzer.analyze_text(
            "a.sql",
            "CREATE PROCEDURE dbo.p AS SELECT 1\nGO\nCREATE VIEW dbo.v AS SELECT 2\n",
        );
        let b = analyzer.analyze_text(
            "b.sql",
            "-- deployed elsewhere\ncreate procedure DBO.P as\n  select 1\nGO\n",
        );
        let hash = |f: &FileAnalysis, name: &str| {
            f.objects
                .iter()
                .find(|o| {
                    o.object
                        .as_ref()
                        .is_some_and(|r| r.name.eq_ignore_ascii_case(name))
                })
                .and_then(|o| o.code_sha256.clone())
                .unwrap()
        };
        assert_eq!(hash(&a, "p"), hash(&b, "p"));
        assert_ne!(hash(&a, "p"), hash(&a, "v"));
        assert_eq!(
            hash(&a, "p"),
            fingerprint::code_sha256("CREATE PROCEDURE dbo.p AS SELECT 1")
        );
        // A script of top-level code only is fingerprinted whole.
        let top = analyzer.analyze_text("c.sql", "SELECT 1");
        assert_eq!(
            top.objects[0].code_sha256.as_deref(),
            Some(fingerprint::code_sha256("select 1").as_str())
        );
    }

    #[test]
    fn snippet_is_the_trimmed_line_and_bounded() {
        let text = "SELECT 1\r\n   SET DATEFORMAT mdy   \r\nGO";
        let at = text.find("DATEFORMAT").unwrap();
        assert_eq!(snippet(text, at), "SET DATEFORMAT mdy");
        let long = format!("x{}", "é".repeat(400));
        let s = snippet(&long, 3);
        assert_eq!(s.chars().count(), SNIPPET_CHARS);
        assert!(s.ends_with('…'));
        assert_eq!(snippet("", 10), "");
    }
}
