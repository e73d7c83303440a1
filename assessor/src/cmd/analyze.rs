//! `assessor analyze`: analyse exported T-SQL scripts offline and write a
//! report.
//!
//! Exit codes: 0 done; 2 usage or input error (one message naming what is
//! wrong: an unknown target lists the valid ones, a missing path names it);
//! 3 the run completed but a finding reached the `--fail-on` threshold
//! ([`EXIT_FAIL_ON`]); 1 the run could not complete (e.g. the report could
//! not be written).
//!
//! Where the report goes: `--out DIR` (default) gets every `--format` given
//! (all four without one). `--output PATH` writes one format to PATH, `-`
//! for standard output: the `--format` given, else the one PATH's extension
//! names ([`Format::for_file_name`]), else JSON for `-`. An extension that
//! names another format than `--format`, or that names none when there is
//! no `--format`, is a usage error: the file would not be what its name
//! says.
//!
//! Words for formats and statuses are matched in any case, as targets are.
//!
//! A run that analysed no file (no `.sql` file found, or every one skipped)
//! is a usage error and writes no report: an empty report would say that
//! nothing blocks the migration. Skipped files are named on stderr, counted
//! there and listed in the report.
//!
//! `--effort FILE.toml` calibrates effort and statuses
//! ([`assessor::rules::effort`]); a file that does not validate is a usage
//! error listing every problem with its key path and line, and nothing is
//! analysed or written. Its status overrides are applied as findings are
//! made, so readiness, counts and `--fail-on` see them.
//!
//! `--workload FILE` (repeatable, with or without script paths) adds a
//! captured workload: an Extended Events capture read to XML or a Profiler
//! trace saved as XML ([`assessor::workload`]). A capture that cannot be
//! read is a usage error naming the file (never quoting it); captures that
//! hold no statement text are "nothing analysed" too.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::builder::PossibleValue;

use super::{EXIT_USAGE, write_stdout};
use crate::logging::{self, Verbosity, note};
use assessor::analyze::{Analysis, AnalyzeError, Analyzer, Progress};
use assessor::findings::Status;
use assessor::report::{self, Format, ReportInput, SkipCounts, Summary};
use assessor::rules::effort::Calibrated;
use assessor::rules::{Catalog, EffortOverrides};
use assessor::source::SourceError;
use assessor::workload::{self, Limits, Workload, WorkloadAnalysis};

/// Exit code when `--fail-on` matched a finding.
pub const EXIT_FAIL_ON: u8 = 3;

/// Inputs at least this large get a progress line on a terminal.
const PROGRESS_MIN_FILES: usize = 50;
const PROGRESS_MIN_BYTES: u64 = 4 * 1024 * 1024;

/// Analyse exported T-SQL scripts for Babelfish compatibility.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or directories of `.sql` scripts.
    #[arg(required_unless_present = "workload")]
    pub paths: Vec<PathBuf>,
    /// A captured workload: an Extended Events capture read to XML
    /// (the event_data of sys.fn_xe_file_target_read_file) or a Profiler
    /// trace saved as XML. Repeatable. Literals are replaced before anything
    /// is kept; findings are weighted by executions and CPU.
    #[arg(long, value_name = "FILE")]
    pub workload: Vec<PathBuf>,
    /// Babelfish version to assess against, e.g. `babelfish-6.1` (default:
    /// the newest version the rule catalog documents).
    #[arg(long)]
    pub target: Option<String>,
    /// A Babelfish setting of the target, NAME=VALUE, e.g.
    /// `escape_hatch_table_hints=strict` (the `babelfishpg_tsql.` prefix is
    /// optional). Repeatable. Unset settings keep Babelfish's defaults; the
    /// modelled settings and their values are in assessor/rules/settings.toml.
    #[arg(long = "setting", value_name = "NAME=VALUE")]
    pub settings: Vec<String>,
    /// Calibrate effort and statuses with a TOML overrides file: per
    /// complexity (`[complexity] low = 10`) and per feature
    /// (`[feature."table_hint.nolock"] effort_minutes = 5`,
    /// `learning_minutes = 0`, `status = "ignored"`). Checked strictly
    /// against the catalog; the overrides used are recorded in the report.
    #[arg(long, value_name = "FILE.toml")]
    pub effort: Option<PathBuf>,
    /// Report formats, comma-separated or repeated (default: all four into
    /// --out; with --output, the one its extension names).
    #[arg(long, value_delimiter = ',', ignore_case = true)]
    pub format: Vec<FormatArg>,
    /// Directory the report files are written to.
    #[arg(long, default_value = "assessment-report")]
    pub out: PathBuf,
    /// Write ONE format to this file instead of --out, or to standard output
    /// with `-`. The format is --format's, else the one the file's extension
    /// names (.html, .json, .csv, .sarif, .sarif.json), else json for `-`;
    /// an extension that contradicts --format is an error.
    #[arg(long, conflicts_with = "out")]
    pub output: Option<String>,
    /// Exit with code 3 when any finding has this status or a worse one.
    /// Worst first: not_supported, review_manually, review_semantics,
    /// review_performance, ignored (supported: any finding). Repeatable or
    /// comma-separated: the mildest status given is the threshold, so each
    /// one adds to what fails.
    #[arg(long, value_name = "STATUS", value_delimiter = ',', ignore_case = true)]
    pub fail_on: Vec<StatusArg>,
    /// Write rewritten copies of the scripts that have a mechanical
    /// rewrite (RAISERROR ... WITH LOG, ALTER TABLE ... ADD of several
    /// items) into DIR, a new or empty folder outside the inputs, at their
    /// report paths. The inputs are never changed; each edit is marked with
    /// a comment and keeps the line numbers
    #[arg(long, value_name = "DIR")]
    pub rewrite: Option<PathBuf>,
}

/// A `--format` word: the library's [`Format`], spelled as
/// [`Format::as_str`] so the CLI and the reports cannot drift apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatArg(pub Format);

impl clap::ValueEnum for FormatArg {
    fn value_variants<'a>() -> &'a [Self] {
        const ALL: [FormatArg; 4] = [
            FormatArg(Format::Html),
            FormatArg(Format::Json),
            FormatArg(Format::Csv),
            FormatArg(Format::Sarif),
        ];
        &ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.as_str()))
    }
}

/// A `--fail-on` word: a [`Status`], spelled as [`Status::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusArg(pub Status);

impl clap::ValueEnum for StatusArg {
    fn value_variants<'a>() -> &'a [Self] {
        const ALL: [StatusArg; 6] = [
            StatusArg(Status::NotSupported),
            StatusArg(Status::ReviewManually),
            StatusArg(Status::ReviewSemantics),
            StatusArg(Status::ReviewPerformance),
            StatusArg(Status::Ignored),
            StatusArg(Status::Supported),
        ];
        &ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.as_str()))
    }
}

/// A usage error: printed as one line, exit code 2.
fn usage(message: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    eprintln!("assessor: {message}");
    Ok(ExitCode::from(EXIT_USAGE))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let catalog =
        Catalog::shipped().context("the rule catalog shipped with this build is invalid")?;
    let target = match &args.target {
        None => catalog.latest(),
        Some(word) => match catalog.resolve_target(word) {
            Some(v) => v,
            None => {
                return usage(format_args!(
                    "unknown target `{word}`; valid targets: {}",
                    catalog.target_names().join(", ")
                ));
            }
        },
    };
    let settings = match catalog.resolve_settings(&args.settings) {
        Ok(s) => s,
        Err(e) => return usage(format_args!("--setting: {e}")),
    };
    let effort = match &args.effort {
        None => None,
        Some(path) => match EffortOverrides::load(path, &catalog) {
            Ok(e) => Some(e),
            Err(e) => return usage(format_args!("--effort: {e}")),
        },
    };
    let mut formats: Vec<Format> = Vec::new();
    for FormatArg(f) in &args.format {
        if !formats.contains(f) {
            formats.push(*f);
        }
    }
    match args.output.as_deref() {
        Some(path) => match output_format(path, &formats) {
            Ok(f) => formats = vec![f],
            Err(message) => return usage(message),
        },
        None if formats.is_empty() => formats.extend(Format::ALL),
        None => {}
    }
    // The mildest status given: each threshold fails a superset of the
    // stricter ones, so the union of all of them is the mildest one's.
    let fail_on = args.fail_on.iter().map(|s| s.0).max_by_key(|s| s.rank());

    if let Some(dir) = &args.rewrite
        && let Err(e) = assessor::rewrite::check_target(dir, &args.paths)
    {
        return usage(e);
    }
    let mut analyzer = Analyzer::with_settings(&catalog, target, &settings);
    if let Some(effort) = &effort {
        analyzer = analyzer.with_effort(effort);
    }
    let mut progress = ProgressLine::new(logging::verbosity(), std::io::stderr().is_terminal());
    let analysed = if args.paths.is_empty() {
        Ok(Analysis::default())
    } else {
        analyzer.analyze_paths(&args.paths, &mut |p| progress.update(p))
    };
    let mut analysis = match analysed {
        Ok(a) => a,
        Err(AnalyzeError::Source(SourceError::Io { path, source })) => {
            progress.finish();
            return usage(format_args!(
                "cannot read input {}: {source}",
                path.display()
            ));
        }
        Err(AnalyzeError::Source(e)) => {
            progress.finish();
            return usage(e);
        }
    };
    progress.finish();
    for s in &analysis.skipped {
        note!("skipped {}: {}", s.file, s.reason);
    }
    for w in &analysis.warnings {
        note!("warning: {}: {}", w.file, w.reason);
    }
    if !args.paths.is_empty() && analysis.files_analyzed == 0 {
        // An empty report would read "no feature blocks the migration".
        return usage(nothing_analysed(&args.paths, &analysis));
    }
    let mut workload = match read_workload(&args.workload, &analyzer) {
        Ok(w) => w,
        Err(message) => return usage(message),
    };
    if let Some(w) = &mut workload {
        // Moved, not copied: a workload can hold 100k statements' findings.
        analysis.findings.append(&mut w.findings);
        analysis.objects.append(&mut w.objects);
    }
    if !analysis.skipped.is_empty() {
        note!(
            "{} skipped ({}), listed in the report",
            files(analysis.skipped.len()),
            SkipCounts::of(&analysis.skipped).describe()
        );
    }
    tracing::debug!(
        files = analysis.files_analyzed,
        findings = analysis.findings.len(),
        target = %target,
        "analysis complete"
    );

    let target_name = target.target_name();
    let chosen: Vec<(String, String)> = settings.to_map().into_iter().collect();
    let inputs: Vec<String> = args
        .paths
        .iter()
        .chain(&args.workload)
        .map(|p| p.display().to_string())
        .collect();
    let generated_at = assessor::report::timestamp::generated_at();
    let no_overrides = EffortOverrides::default();
    let calibrated = Calibrated {
        catalog: &catalog,
        effort: effort.as_ref().unwrap_or(&no_overrides),
    };
    let input = ReportInput {
        tool_version: env!("CARGO_PKG_VERSION"),
        target: &target_name,
        settings: &chosen,
        inputs: &inputs,
        generated_at: Some(&generated_at),
        findings: &analysis.findings,
        objects: &analysis.objects,
        features: &calibrated,
        files_analyzed: analysis.files_analyzed,
        lines_analyzed: analysis.lines_analyzed,
        skipped: &analysis.skipped,
        workload: workload.as_ref().map(|w| &w.summary),
        excerpts: &analysis.excerpts,
        servers: &[],
        supported: Some(&analysis.supported_occurrences),
        effort_overrides: effort.as_ref(),
    };
    match args.output.as_deref() {
        Some("-") => {
            write_stdout(|out| formats[0].write(out, &input))
                .context("cannot write the report to standard output")?;
        }
        Some(path) => {
            let path = PathBuf::from(path);
            let file = std::fs::File::create(&path)
                .with_context(|| format!("cannot create the report file {}", path.display()))?;
            // Buffered: the renderers write in small pieces (unbuffered, a
            // large JSON report took 27 s instead of 3 s).
            let mut file = std::io::BufWriter::new(file);
            formats[0]
                .write(&mut file, &input)
                .and_then(|()| file.flush())
                .with_context(|| format!("cannot write the report file {}", path.display()))?;
            note!("report written to {}", path.display());
        }
        None => {
            let written = report::write_all(&args.out, &formats, &input)?;
            for path in written {
                note!("report written to {}", path.display());
            }
        }
    }
    if let Some(dir) = &args.rewrite {
        let written = assessor::rewrite::write_copies(&args.paths, &analysis.findings, dir)?;
        let edits: Vec<String> = written
            .edits
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(feature, n)| format!("{feature}: {n}"))
            .collect();
        note!(
            "{} rewritten {} written to {} ({})",
            written.files,
            if written.files == 1 { "copy" } else { "copies" },
            dir.display(),
            if edits.is_empty() {
                "no mechanical rewrite applies".to_string()
            } else {
                edits.join(", ")
            }
        );
    }
    if logging::verbosity() >= Verbosity::Normal {
        let place = match args.output.as_deref() {
            Some("-") => "standard output".to_string(),
            Some(path) => path.to_string(),
            None => args.out.display().to_string(),
        };
        let summary = report::summarize(&input);
        eprintln!(
            "assessor: {}",
            closing_summary(&summary, &target_name, &place, &formats)
        );
    }
    if let Some(threshold) = fail_on {
        let matched = analysis
            .findings
            .iter()
            .filter(|f| f.status.is_at_least(threshold))
            .count();
        if matched > 0 {
            eprintln!(
                "assessor: {matched} finding(s) with status {} or worse (--fail-on)",
                threshold.as_str()
            );
            return Ok(ExitCode::from(EXIT_FAIL_ON));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads, normalises and analyses the `--workload` captures (`None`
/// without any), saying on stderr what each held (counts only); the error is
/// the usage message.
fn read_workload(
    captures: &[PathBuf],
    analyzer: &Analyzer<'_>,
) -> Result<Option<WorkloadAnalysis>, String> {
    if captures.is_empty() {
        return Ok(None);
    }
    let mut workload = Workload::new(Limits::default());
    for path in captures {
        let info = workload.read_capture(path).map_err(|e| e.to_string())?;
        let skipped = info.events_read - info.events_used;
        note!(
            "workload {}: {} events read, {} counted, {} skipped",
            path.display(),
            info.events_read,
            info.events_used,
            skipped
        );
    }
    if workload.statements().is_empty() {
        return Err(format!(
            "nothing to analyse in the workload: no event in {} is a completed batch, RPC or \
             statement with its text; capture sql_batch_completed, rpc_completed or \
             sql_statement_completed (Profiler: SQL:BatchCompleted, RPC:Completed) with their text",
            captures
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let analysis = workload::analyze(&workload, analyzer);
    let s = &analysis.summary;
    note!(
        "workload: {} distinct statements, {} executions; {}",
        s.statements_distinct,
        s.executions_total,
        s.headline
            .map_or_else(|| "no blocker".to_string(), |h| h.sentence())
    );
    Ok(Some(analysis))
}

/// "1 file", "2 files".
fn files(n: usize) -> String {
    format!("{n} file{}", plural(n))
}

/// Why a run analysed nothing, and what to do about it.
fn nothing_analysed(paths: &[PathBuf], analysis: &Analysis) -> String {
    if !analysis.skipped.is_empty() {
        let found = match analysis.skipped.len() {
            1 => "the 1 file found was".to_string(),
            n => format!("all {n} files found were"),
        };
        return format!(
            "nothing to analyse: {found} skipped ({}, named above); export the scripts \
             as text (UTF-8 or UTF-16) and make sure they are readable",
            SkipCounts::of(&analysis.skipped).describe()
        );
    }
    let roots = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let ignored = match analysis.files_ignored {
        0 => String::new(),
        1 => " (1 other file ignored: folders are searched for .sql files only)".to_string(),
        n => format!(" ({n} other files ignored: folders are searched for .sql files only)"),
    };
    format!(
        "nothing to analyse: no .sql file in {roots}{ignored}; point assessor at the folder \
         that holds the exported scripts, or name a script file itself (any extension)"
    )
}

/// The one format `--output PATH` writes (see the module docs), or the
/// usage message saying why PATH and `formats` do not make one.
fn output_format(path: &str, formats: &[Format]) -> Result<Format, String> {
    let named = || {
        formats
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    if formats.len() > 1 {
        return Err(format!(
            "--output writes one format but --format names {}: give a single --format, \
             or use --out DIR for several",
            named()
        ));
    }
    if path == "-" {
        return Ok(formats.first().copied().unwrap_or(Format::Json));
    }
    match (formats.first(), Format::for_file_name(path)) {
        (Some(&given), Some(by_name)) if given != by_name => Err(format!(
            "--format {} contradicts --output {path}, whose extension says {}: \
             make them agree, or drop --format to let the extension decide",
            given.as_str(),
            by_name.as_str()
        )),
        (Some(&given), _) => Ok(given),
        (None, Some(by_name)) => Ok(by_name),
        (None, None) => Err(format!(
            "cannot tell the report format from --output {path}: name it with --format \
             (html, json, csv, sarif), or end the file name in .html, .json, .csv or .sarif"
        )),
    }
}

/// The closing paragraph of a run: readiness, blockers, effort, where the
/// report went. Counts and catalog words only: never a file, object or
/// snippet (the report is where customer names belong).
fn closing_summary(summary: &Summary, target: &str, place: &str, formats: &[Format]) -> String {
    let readiness = match summary.readiness_percent {
        Some(p) => format!(
            "{} of {} objects ({p:.1} %) ready for {target}",
            summary.objects_ready, summary.objects_total
        ),
        None => format!("no object to assess for {target}"),
    };
    let blocking = summary.by_status.not_supported;
    let blockers = if blocking == 0 {
        "no blocker (no not_supported finding)".to_string()
    } else {
        let features = summary
            .features
            .iter()
            .filter(|f| f.by_status.not_supported > 0)
            .count();
        format!(
            "{blocking} blocker{} (not_supported finding{}) in {features} distinct feature{}",
            plural(blocking),
            plural(blocking),
            plural(features)
        )
    };
    let formats = formats
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    // The number of overrides, not the file's name: counts only.
    let calibrated = summary
        .effort_overrides
        .as_ref()
        .map(|e| {
            format!(
                ", calibrated by --effort ({} override{})",
                e.overrides,
                plural(e.overrides)
            )
        })
        .unwrap_or_default();
    format!(
        "Summary: {readiness}; {blockers}; estimated effort {:.1} hours ({:.1} person-days{calibrated}) \
         over {} finding{}; report ({formats}) written to {place}.",
        summary.effort.hours,
        summary.effort.person_days,
        summary.findings_total,
        plural(summary.findings_total)
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// What [`ProgressLine`] prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProgressMode {
    /// `--quiet`, or a normal run whose stderr is not a terminal.
    Off,
    /// A `\r` counter, on a terminal, for large inputs only.
    Counter,
    /// `--verbose`: one line per file, terminal or not.
    PerFile,
}

impl ProgressMode {
    fn choose(verbosity: Verbosity, stderr_is_terminal: bool) -> ProgressMode {
        match verbosity {
            Verbosity::Quiet => ProgressMode::Off,
            Verbosity::Verbose => ProgressMode::PerFile,
            Verbosity::Normal if stderr_is_terminal => ProgressMode::Counter,
            Verbosity::Normal => ProgressMode::Off,
        }
    }
}

/// The counter's text: "analysing: 3/120 files, 1.2 MB" (no file name).
fn progress_text(p: &Progress<'_>) -> String {
    format!(
        "analysing: {}/{} files, {:.1} MB",
        p.files_done,
        p.files_total,
        p.bytes_done as f64 / 1_048_576.0
    )
}

/// Progress on stderr: a one-line counter on a terminal for large inputs,
/// or a line per file with `--verbose`.
struct ProgressLine {
    mode: ProgressMode,
    shown: bool,
}

impl ProgressLine {
    fn new(verbosity: Verbosity, stderr_is_terminal: bool) -> ProgressLine {
        ProgressLine {
            mode: ProgressMode::choose(verbosity, stderr_is_terminal),
            shown: false,
        }
    }

    fn update(&mut self, p: Progress<'_>) {
        match self.mode {
            ProgressMode::Off => {}
            ProgressMode::PerFile => {
                eprintln!("assessor: [{}/{}] {}", p.files_done, p.files_total, p.file);
            }
            ProgressMode::Counter => {
                let large =
                    p.files_total >= PROGRESS_MIN_FILES || p.bytes_done >= PROGRESS_MIN_BYTES;
                if large {
                    self.shown = true;
                    eprint!("\r{}", progress_text(&p));
                }
            }
        }
    }

    fn finish(&mut self) {
        if self.shown {
            eprintln!();
            self.shown = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_a_counter_on_a_terminal_per_file_when_verbose_and_off_when_quiet() {
        use ProgressMode::*;
        assert_eq!(ProgressMode::choose(Verbosity::Normal, true), Counter);
        assert_eq!(ProgressMode::choose(Verbosity::Normal, false), Off);
        assert_eq!(ProgressMode::choose(Verbosity::Quiet, true), Off);
        assert_eq!(ProgressMode::choose(Verbosity::Quiet, false), Off);
        assert_eq!(ProgressMode::choose(Verbosity::Verbose, false), PerFile);
        assert_eq!(ProgressMode::choose(Verbosity::Verbose, true), PerFile);
    }

    #[test]
    fn the_counter_says_files_done_of_total_and_megabytes_without_a_name() {
        let p = Progress {
            file: "secret/customer.sql",
            files_done: 3,
            files_total: 120,
            bytes_done: 1_572_864,
        };
        assert_eq!(progress_text(&p), "analysing: 3/120 files, 1.5 MB");
    }
}
