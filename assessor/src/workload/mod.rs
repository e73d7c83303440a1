//! Captured workloads: the SQL a server actually ran, read from an Extended
//! Events capture or a Profiler trace saved as XML (`assessor analyze
//! --workload FILE`), de-duplicated and weighted by use.
//!
//! The flow: [`xml`] streams the file (hardened, bounded) and hands over
//! one event at a time, in the shape [`xevents`] or [`profiler`] describes;
//! [`Workload::read_capture`] normalises the event's text at once
//! ([`normalise`]: every literal replaced) and keeps only the normalised
//! form, counted; [`weights`] analyses each distinct statement with the
//! ordinary [`crate::analyze::Analyzer`] and weighs its findings by
//! executions and CPU.
//!
//! Guarantees:
//! - Privacy: the raw text of an event lives only in the reader's buffer
//!   until its event closes; what any structure keeps is normalised text.
//!   No error, log line, panic message or `Debug` output holds either.
//! - Bounded: file size, event count and one statement's text have limits
//!   ([`Limits`]); a file over the first two is refused, a statement over the
//!   third is skipped and counted ([`SkipReason::TextTooLong`]), so one huge
//!   batch does not void a capture.
//! - Each distinct statement is a pseudo-file named
//!   `workload/<capture file name>#<n>`: `n` numbers distinct statements
//!   across all captures in order of first appearance, and the capture is
//!   the one it first appeared in.

mod normalise;
mod profiler;
pub mod weights;
mod xevents;
mod xml;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use normalise::{Normalised, normalise};
pub use weights::{ModuleRun, WorkloadAnalysis, WorkloadSummary, analyze, analyze_into};

/// The folder part of every workload pseudo-file name.
pub const PSEUDO_DIR: &str = "workload";

/// How much one capture may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The file's size in bytes.
    pub max_file_bytes: u64,
    /// Events of any kind in one file.
    pub max_events: u64,
    /// One event's statement text, in bytes (as decoded).
    pub max_statement_bytes: usize,
}

impl Default for Limits {
    /// 2 GiB, 10 million events, 1 MiB per statement: a day of a busy
    /// server's completed batches fits; memory stays proportional to the
    /// distinct statements, not to the file.
    fn default() -> Limits {
        Limits {
            max_file_bytes: 2 << 30,
            max_events: 10_000_000,
            max_statement_bytes: 1 << 20,
        }
    }
}

/// Which tool wrote a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureFormat {
    ExtendedEvents,
    Profiler,
    /// Read live from a server's Query Store (`[targets.workload]`).
    QueryStore,
    /// Read live from a server's plan cache (`[targets.workload]`).
    PlanCache,
}

/// Why an event was read but not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Not a completed execution (a `*_starting` event, a login, ...).
    OtherEvent,
    /// A completed execution without statement text.
    NoText,
    /// The statement text is over [`Limits::max_statement_bytes`].
    TextTooLong,
}

impl SkipReason {
    pub const ALL: [SkipReason; 3] = [
        SkipReason::OtherEvent,
        SkipReason::NoText,
        SkipReason::TextTooLong,
    ];

    /// The word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::OtherEvent => "other_event",
            SkipReason::NoText => "no_text",
            SkipReason::TextTooLong => "text_too_long",
        }
    }
}

/// Why a capture could not be read. Every message names the file, says
/// what was wrong and what to do, and never quotes the file's content.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error(
        "cannot read the workload capture {}: {source}; check the path and its permissions",
        path.display()
    )]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot read the workload capture {}: {message}; check the file and try again",
        path.display()
    )]
    Read { path: PathBuf, message: String },
    #[error(
        "the workload capture {} is {size} bytes, over the limit of {limit}: capture a \
         shorter interval or split the events over several files (--workload is repeatable)",
        path.display()
    )]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error(
        "the workload capture {} holds more than {limit} events: capture a shorter interval \
         or split the events over several files (--workload is repeatable)",
        path.display()
    )]
    TooManyEvents { path: PathBuf, limit: u64 },
    #[error(
        "the workload capture {} declares a DOCTYPE (near byte {at}), which captures never \
         have and which is not processed: export the events again (Extended Events: \
         sys.fn_xe_file_target_read_file; Profiler: Save As > Trace XML File)",
        path.display()
    )]
    Doctype { path: PathBuf, at: u64 },
    #[error(
        "the workload capture {} uses an entity reference other than the five XML predefines \
         and character references (near byte {at}), which is not expanded: export the events \
         again from SQL Server",
        path.display()
    )]
    Entity { path: PathBuf, at: u64 },
    #[error(
        "the workload capture {} is UTF-16: save it as UTF-8 (e.g. in SSMS, Save As > \
         Save with Encoding > UTF-8) and try again",
        path.display()
    )]
    Utf16 { path: PathBuf },
    #[error(
        "the workload capture {} is not UTF-8 text (near byte {at}): save it as UTF-8 XML",
        path.display()
    )]
    NotUtf8 { path: PathBuf, at: u64 },
    #[error(
        "the workload capture {} is not well-formed XML (near byte {at}): export the events \
         again, or check that the file was copied whole",
        path.display()
    )]
    Malformed { path: PathBuf, at: u64 },
    #[error(
        "the workload capture {} ends inside an element: the file is truncated; copy or \
         export it again",
        path.display()
    )]
    Truncated { path: PathBuf },
    #[error(
        "the workload capture {} holds no Extended Events or Profiler events: give the \
         event_data of sys.fn_xe_file_target_read_file as XML, or a Profiler trace saved as \
         Trace XML File",
        path.display()
    )]
    NotACapture { path: PathBuf },
}

/// One distinct normalised statement and how it was used.
#[derive(Clone, PartialEq, Eq)]
pub struct Statement {
    /// Its pseudo-file name (see the module docs).
    pub file: String,
    /// Normalised text: literals replaced.
    pub text: String,
    /// Events that ran it.
    pub executions: u64,
    /// Their CPU time, summed, in microseconds.
    pub cpu_us: u64,
    /// Their elapsed time, summed, in microseconds.
    pub duration_us: u64,
}

/// `Debug` leaves out the text: it is customer code.
impl std::fmt::Debug for Statement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Statement")
            .field("executions", &self.executions)
            .field("cpu_us", &self.cpu_us)
            .finish_non_exhaustive()
    }
}

/// What one capture file (or live source of one server) held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureInfo {
    /// The file as the user named it.
    pub file: String,
    pub format: CaptureFormat,
    /// Events of any kind.
    pub events_read: u64,
    /// Events counted as executions.
    pub events_used: u64,
    /// Events not counted, by reason (every reason present).
    pub events_skipped: BTreeMap<SkipReason, u64>,
    /// Earliest and latest event time, as the capture wrote them.
    pub first_event: Option<String>,
    pub last_event: Option<String>,
}

/// Every capture read so far, de-duplicated into distinct statements.
#[derive(Default)]
pub struct Workload {
    limits: Limits,
    statements: Vec<Statement>,
    /// Normalised key -> index in `statements`.
    index: HashMap<String, usize>,
    captures: Vec<CaptureInfo>,
}

/// `Debug` shows counts only: the statements are customer code.
impl std::fmt::Debug for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workload")
            .field("limits", &self.limits)
            .field("statements", &self.statements.len())
            .field("captures", &self.captures.len())
            .finish()
    }
}

impl Workload {
    pub fn new(limits: Limits) -> Workload {
        Workload {
            limits,
            ..Workload::default()
        }
    }

    /// The distinct statements, in order of first appearance.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// The captures read, in order.
    pub fn captures(&self) -> &[CaptureInfo] {
        &self.captures
    }

    /// Reads one capture into the workload. On error nothing of the file is
    /// kept.
    pub fn read_capture(&mut self, path: &Path) -> Result<&CaptureInfo, WorkloadError> {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let mut info = CaptureInfo {
            file: path.display().to_string(),
            format: CaptureFormat::ExtendedEvents,
            events_read: 0,
            events_used: 0,
            events_skipped: SkipReason::ALL.iter().map(|&r| (r, 0)).collect(),
            first_event: None,
            last_event: None,
        };
        let mut first: Option<(i64, String)> = None;
        let mut last: Option<(i64, String)> = None;
        // New statements go to a staging list so a failed file leaves the
        // workload as it was.
        let mut added: Vec<Statement> = Vec::new();
        let mut added_index: HashMap<String, usize> = HashMap::new();
        let mut counts: HashMap<usize, (u64, u64, u64)> = HashMap::new();
        let base = self.statements.len();
        let format = xml::read(
            path,
            &[&xevents::DIALECT, &profiler::DIALECT],
            &self.limits,
            &mut |record| {
                info.events_read += 1;
                let skip = if !record.counted {
                    Some(SkipReason::OtherEvent)
                } else if record.text_too_long {
                    Some(SkipReason::TextTooLong)
                } else {
                    None
                };
                // Normalised before anything is kept: the raw text is the
                // reader's buffer and goes when this closure returns.
                let normalised = match (skip, record.text) {
                    (Some(reason), _) => Err(reason),
                    (None, Some(raw)) => {
                        let n = normalise(raw);
                        if n.text.is_empty() {
                            Err(SkipReason::NoText)
                        } else {
                            Ok(n)
                        }
                    }
                    (None, None) => Err(SkipReason::NoText),
                };
                let n = match normalised {
                    Ok(n) => n,
                    Err(reason) => {
                        *info.events_skipped.entry(reason).or_default() += 1;
                        return;
                    }
                };
                info.events_used += 1;
                if let Some(at) = record.timestamp.and_then(timestamp_micros) {
                    let shown = record.timestamp.unwrap_or_default();
                    if first.as_ref().is_none_or(|(t, _)| at < *t) {
                        first = Some((at, shown.to_string()));
                    }
                    if last.as_ref().is_none_or(|(t, _)| at > *t) {
                        last = Some((at, shown.to_string()));
                    }
                }
                let i = match self.index.get(&n.key).or_else(|| added_index.get(&n.key)) {
                    Some(&i) => i,
                    None => {
                        let i = base + added.len();
                        added.push(Statement {
                            file: format!("{PSEUDO_DIR}/{name}#{}", i + 1),
                            text: n.text,
                            executions: 0,
                            cpu_us: 0,
                            duration_us: 0,
                        });
                        added_index.insert(n.key, i);
                        i
                    }
                };
                let c = counts.entry(i).or_default();
                c.0 += 1;
                c.1 = c.1.saturating_add(record.cpu_us.unwrap_or(0));
                c.2 = c.2.saturating_add(record.duration_us.unwrap_or(0));
            },
        )?;
        info.format = format;
        info.first_event = first.map(|(_, s)| s);
        info.last_event = last.map(|(_, s)| s);
        self.statements.extend(added);
        self.index.extend(added_index);
        for (i, (executions, cpu, duration)) in counts {
            if let Some(s) = self.statements.get_mut(i) {
                s.executions += executions;
                s.cpu_us = s.cpu_us.saturating_add(cpu);
                s.duration_us = s.duration_us.saturating_add(duration);
            }
        }
        self.captures.push(info);
        // Just pushed, so `last` is `Some`.
        Ok(&self.captures[self.captures.len() - 1])
    }
}

/// A live source's statements for [`Workload::add_source`]: already
/// normalised by the collector.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceStatement {
    /// Normalised text (its ASCII lower case is the de-duplication key).
    pub text: String,
    pub executions: u64,
    pub cpu_us: u64,
    pub duration_us: u64,
}

/// `Debug` leaves out the text: it is customer code.
impl std::fmt::Debug for SourceStatement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceStatement")
            .field("executions", &self.executions)
            .finish_non_exhaustive()
    }
}

impl Workload {
    /// Adds the statements one live source of one server returned (Query
    /// Store or the plan cache, read by [`crate::collect::workload`], which
    /// normalised every text before keeping it). `info.file` names the
    /// source (`<target>.<source>`) and becomes the pseudo-files' capture
    /// name; statements already present (from another source or server)
    /// have their counts added.
    pub fn add_source(&mut self, info: CaptureInfo, statements: Vec<SourceStatement>) {
        let name = info.file.clone();
        for s in statements {
            if s.text.is_empty() {
                continue;
            }
            let key = s.text.to_ascii_lowercase();
            let i = match self.index.get(&key) {
                Some(&i) => i,
                None => {
                    let i = self.statements.len();
                    self.statements.push(Statement {
                        file: format!("{PSEUDO_DIR}/{name}#{}", i + 1),
                        text: s.text,
                        executions: 0,
                        cpu_us: 0,
                        duration_us: 0,
                    });
                    self.index.insert(key, i);
                    i
                }
            };
            let t = &mut self.statements[i];
            t.executions = t.executions.saturating_add(s.executions);
            t.cpu_us = t.cpu_us.saturating_add(s.cpu_us);
            t.duration_us = t.duration_us.saturating_add(s.duration_us);
        }
        self.captures.push(info);
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction][Z|+HH:MM|-HH:MM]` (a space for `T` is
/// accepted) as microseconds since 1970 UTC; no zone is read as UTC.
/// `None` for anything else, so a timestamp field cannot carry other text
/// into the report.
pub fn timestamp_micros(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let s = b.get(from..from + len)?;
        s.iter().all(u8::is_ascii_digit).then_some(())?;
        std::str::from_utf8(s).ok()?.parse().ok()
    };
    let sep = |at: usize, c: &[u8]| b.get(at).is_some_and(|x| c.contains(x));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"T ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, s) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut i = 19;
    let mut micros = 0i64;
    if sep(i, b".") {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 6 {
                micros = micros * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start).min(6)..6 {
            micros *= 10;
        }
    }
    let offset_minutes = match b.get(i) {
        None => 0,
        Some(b'Z') if i + 1 == b.len() => 0,
        Some(&c @ (b'+' | b'-')) if b.len() == i + 6 && sep(i + 3, b":") => {
            let m = num(i + 1, 2)? * 60 + num(i + 4, 2)?;
            if c == b'-' { -m } else { m }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + h * 3600 + mi * 60 + s - offset_minutes * 60;
    Some(seconds * 1_000_000 + micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.xml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn batch(text: &str) -> String {
        format!(
            "<event name=\"sql_batch_completed\"><data name=\"batch_text\"><value>{text}</value></data></event>"
        )
    }

    #[test]
    fn too_many_events_refuse_the_file_and_keep_nothing() {
        let (_dir, path) = capture(&format!("<events>{}</events>", batch("SELECT 1").repeat(4)));
        let mut w = Workload::new(Limits {
            max_events: 3,
            ..Limits::default()
        });
        let e = w.read_capture(&path).unwrap_err();
        assert!(
            matches!(e, WorkloadError::TooManyEvents { limit: 3, .. }),
            "{e}"
        );
        assert!(w.statements().is_empty() && w.captures().is_empty());
        let mut w = Workload::new(Limits {
            max_events: 4,
            ..Limits::default()
        });
        assert_eq!(w.read_capture(&path).unwrap().events_used, 4);
    }

    #[test]
    fn a_statement_over_its_limit_is_skipped_and_counted() {
        let long = format!("SELECT '{}'", "x".repeat(200));
        let (_dir, path) = capture(&format!(
            "<events>{}{}</events>",
            batch(&long),
            batch("SELECT 1")
        ));
        let mut w = Workload::new(Limits {
            max_statement_bytes: 100,
            ..Limits::default()
        });
        let info = w.read_capture(&path).unwrap().clone();
        assert_eq!(info.events_read, 2);
        assert_eq!(info.events_used, 1);
        assert_eq!(info.events_skipped[&SkipReason::TextTooLong], 1);
        assert_eq!(w.statements().len(), 1);
    }

    #[test]
    fn a_file_over_its_size_limit_is_refused() {
        let (_dir, path) = capture(&format!("<events>{}</events>", batch("SELECT 1")));
        let mut w = Workload::new(Limits {
            max_file_bytes: 10,
            ..Limits::default()
        });
        let e = w.read_capture(&path).unwrap_err();
        assert!(
            matches!(e, WorkloadError::TooLarge { limit: 10, .. }),
            "{e}"
        );
    }

    #[test]
    fn entities_resolve_to_text_before_normalisation() {
        let (_dir, path) = capture(&format!(
            "<events>{}{}</events>",
            batch("SELECT &apos;a&apos;, &#x41;&#66; FROM t WHERE x &lt; 1"),
            batch("SELECT 'b', AB FROM t WHERE x &lt; 2")
        ));
        let mut w = Workload::new(Limits::default());
        w.read_capture(&path).unwrap();
        assert_eq!(w.statements().len(), 1);
        assert_eq!(w.statements()[0].text, "SELECT '?', AB FROM t WHERE x < 0");
        assert_eq!(w.statements()[0].executions, 2);
        assert_eq!(w.statements()[0].file, "workload/c.xml#1");
    }

    #[test]
    fn errors_and_debug_never_show_the_text() {
        let (_dir, path) = capture(&format!("<events>{}<event>", batch("SELECT 'canary'")));
        let e = Workload::new(Limits::default())
            .read_capture(&path)
            .unwrap_err();
        assert!(matches!(e, WorkloadError::Truncated { .. }), "{e}");
        assert!(!format!("{e} {e:?}").contains("canary"));
        let (_dir, path) = capture(&format!("<events>{}</events>", batch("SELECT canary_col")));
        let mut w = Workload::new(Limits::default());
        w.read_capture(&path).unwrap();
        assert!(!format!("{w:?}").contains("canary"), "{w:?}");
    }

    #[test]
    fn timestamps_compare_across_zones_and_refuse_other_text() {
        let utc = timestamp_micros("2026-12-01T10:00:00.123Z").unwrap();
        assert_eq!(
            utc,
            timestamp_micros("2026-12-01T11:00:00.123+01:00").unwrap()
        );
        assert_eq!(timestamp_micros("1970-01-01T00:00:01.5"), Some(1_500_000));
        assert_eq!(
            timestamp_micros("2026-12-01 10:00:00.1234567Z"),
            Some(utc - 123_000 + 123_456)
        );
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00",
            "2026-12-01T10:00:00 canary",
            "2026-12-01T10:00:00.",
        ] {
            assert_eq!(timestamp_micros(bad), None, "{bad}");
        }
    }
}
