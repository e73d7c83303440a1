//! Findings of a captured workload, weighted by use.
//!
//! Each distinct statement is analysed by the ordinary analyzer as its own
//! pseudo-file, so the same catalog classifies scripts and workloads alike.
//! Every finding then carries its statement's executions and CPU, and the
//! [`WorkloadSummary`] says what the whole workload looks like by use:
//!
//! - a statement *would fail* when any of its findings is a blocker
//!   (`not_supported`); readiness is given by statements and by executions;
//! - blockers (features) are ranked by the executions of the failing
//!   statements they occur in (then statements, then feature id), and for
//!   each rank the cumulative share of failing executions that would no
//!   longer fail once the blockers up to it are fixed (a statement is fixed
//!   when all of its blockers are): "3 blockers cover 92 % of executions
//!   that would fail" is the third row's cumulative share.
//!
//! Modules the server ran (the appliance reads `sys.dm_exec_procedure_stats`)
//! are weighed alongside: their findings come from their definitions, their
//! executions and CPU from the statistics, and each counts like a statement
//! that fails when any of its findings is a blocker. The statement sources
//! leave out what ran inside modules, so no execution is counted twice.
//!
//! Percentages are rounded to one decimal; `None` when there is nothing to
//! divide by.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::{CaptureInfo, SkipReason, Workload, timestamp_micros};
use crate::analyze::Analyzer;
use crate::findings::{Finding, WorkloadWeight};
use crate::report::ObjectSummary;
use crate::report::summary::round1;

/// How many blockers the headline names at most.
pub const HEADLINE_BLOCKERS: usize = 3;

/// The findings, objects and summary of a workload.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadAnalysis {
    pub findings: Vec<Finding>,
    /// One top-level object per statement (more if a statement defines one).
    pub objects: Vec<ObjectSummary>,
    pub summary: WorkloadSummary,
}

/// The workload section of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadSummary {
    /// Each capture file read.
    pub captures: Vec<CaptureInfo>,
    /// Events of any kind read from all captures.
    pub events_read: u64,
    /// Events counted as executions.
    pub events_used: u64,
    /// Events not counted: `events_read - events_used`.
    pub events_skipped: u64,
    pub skipped_by_reason: BTreeMap<SkipReason, u64>,
    /// The interval the captures cover, as they wrote it; `None` when no
    /// counted event had a readable time.
    pub first_event: Option<String>,
    pub last_event: Option<String>,
    pub statements_distinct: usize,
    /// Statements without a blocker.
    pub statements_ready: usize,
    pub readiness_by_statements_percent: Option<f64>,
    /// Modules weighed by their execution statistics (none offline).
    #[serde(default)]
    pub modules_run: usize,
    /// Of them, modules without a blocker.
    #[serde(default)]
    pub modules_ready: usize,
    pub executions_total: u64,
    /// Executions of statements without a blocker.
    pub executions_ready: u64,
    /// Executions of statements with a blocker: what would fail.
    pub executions_failing: u64,
    pub readiness_by_executions_percent: Option<f64>,
    pub cpu_ms_total: u64,
    /// Blockers ranked by the executions that would fail (see module docs).
    pub blockers: Vec<WorkloadBlocker>,
    /// The headline: the first (at most [`HEADLINE_BLOCKERS`]) blockers and
    /// the share of failing executions they cover; `None` without blockers.
    pub headline: Option<Headline>,
    /// Every distinct statement and module run, most executions first.
    pub statements: Vec<WorkloadStatement>,
}

/// A blocker feature by workload weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadBlocker {
    pub feature: String,
    /// Failing statements it occurs in.
    pub statements: usize,
    /// Failing modules it occurs in.
    #[serde(default)]
    pub modules: usize,
    /// Their executions (statements' and modules').
    pub executions: u64,
    /// Their CPU, in milliseconds.
    pub cpu_ms: u64,
    /// `executions` / `executions_failing` * 100.
    pub executions_percent: f64,
    /// Share of failing executions fixed once this blocker and those ranked
    /// above it are fixed.
    pub cumulative_percent: f64,
}

/// "N blockers cover X % of executions that would fail".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    pub blockers: usize,
    pub executions_percent: f64,
}

impl Headline {
    /// The sentence, as the HTML report prints it.
    pub fn sentence(&self) -> String {
        format!(
            "{} blocker{} cover{} {:.1} % of executions that would fail",
            self.blockers,
            if self.blockers == 1 { "" } else { "s" },
            if self.blockers == 1 { "s" } else { "" },
            self.executions_percent
        )
    }
}

/// One distinct statement (or module run) by use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadStatement {
    /// Its pseudo-file name (a module's file), as in findings.
    pub file: String,
    /// A module weighed by its execution statistics, not a statement.
    #[serde(default)]
    pub module: bool,
    pub executions: u64,
    pub cpu_ms: u64,
    pub duration_ms: u64,
    pub executions_percent: f64,
    pub cpu_percent: f64,
    /// No blocker among its findings.
    pub ready: bool,
}

fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| round1(part as f64 * 100.0 / whole as f64))
}

fn ms(us: u64) -> u64 {
    us.saturating_add(500) / 1000
}

/// A module the server ran, by its execution statistics. Its findings are
/// those of its definition, analysed as a script named `file`.
#[derive(Clone, PartialEq, Eq)]
pub struct ModuleRun {
    /// The module's pseudo-file, as its findings name it.
    pub file: String,
    pub executions: u64,
    pub cpu_us: u64,
    pub duration_us: u64,
}

/// `Debug` leaves out the file: it names a customer's module.
impl std::fmt::Debug for ModuleRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleRun")
            .field("executions", &self.executions)
            .finish_non_exhaustive()
    }
}

/// Counts by use, statements and modules alike.
#[derive(Default)]
struct Tally {
    executions_total: u64,
    cpu_us_total: u64,
    /// Per blocker feature: (statements, modules, executions, cpu_us).
    by_feature: HashMap<String, (usize, usize, u64, u64)>,
    /// Each failing unit's blocker features and executions.
    failing: Vec<(BTreeSet<String>, u64)>,
    executions_ready: u64,
    rows: Vec<WorkloadStatement>,
}

impl Tally {
    fn weight(&self, executions: u64, cpu_us: u64) -> WorkloadWeight {
        WorkloadWeight {
            executions,
            cpu_ms: ms(cpu_us),
            executions_percent: percent(executions, self.executions_total).unwrap_or(0.0),
            cpu_percent: percent(cpu_us, self.cpu_us_total).unwrap_or(0.0),
        }
    }

    /// Counts one statement or module with the blocker features of its
    /// findings; returns the weight its findings carry.
    fn count(
        &mut self,
        file: &str,
        module: bool,
        (executions, cpu_us, duration_us): (u64, u64, u64),
        blockers: BTreeSet<String>,
    ) -> WorkloadWeight {
        let weight = self.weight(executions, cpu_us);
        let ready = blockers.is_empty();
        if ready {
            self.executions_ready += executions;
        } else {
            for feature in &blockers {
                let e = self.by_feature.entry(feature.clone()).or_default();
                if module {
                    e.1 += 1;
                } else {
                    e.0 += 1;
                }
                e.2 += executions;
                e.3 = e.3.saturating_add(cpu_us);
            }
            self.failing.push((blockers, executions));
        }
        self.rows.push(WorkloadStatement {
            file: file.to_owned(),
            module,
            executions,
            cpu_ms: weight.cpu_ms,
            duration_ms: ms(duration_us),
            executions_percent: weight.executions_percent,
            cpu_percent: weight.cpu_percent,
            ready,
        });
        weight
    }
}

fn blocker_features<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> BTreeSet<String> {
    findings
        .into_iter()
        .filter(|f| f.status.is_blocker())
        .map(|f| f.feature.clone())
        .collect()
}

/// Analyses every distinct statement of a captured `workload` (offline:
/// no modules) and weighs its findings.
pub fn analyze(workload: &Workload, analyzer: &Analyzer<'_>) -> WorkloadAnalysis {
    let mut findings = Vec::new();
    let mut objects = Vec::new();
    let summary = analyze_into(workload, analyzer, &[], &mut findings, &mut objects);
    WorkloadAnalysis {
        findings,
        objects,
        summary,
    }
}

/// Analyses every distinct statement of `workload`, appending its findings
/// and objects to `findings` and `objects`, and weighs them together with
/// the modules the server ran (`modules`): the findings already in
/// `findings` are the collected code's, and those of a module run get
/// their weight here (findings of modules not run are left as they are).
/// Appending in place keeps a large workload's findings in one buffer
/// rather than built apart and then copied after the modules'.
pub fn analyze_into(
    workload: &Workload,
    analyzer: &Analyzer<'_>,
    modules: &[ModuleRun],
    findings: &mut Vec<Finding>,
    objects: &mut Vec<ObjectSummary>,
) -> WorkloadSummary {
    let modules_end = findings.len();
    let modules = &merge_runs(modules);
    let statements = workload.statements();
    let mut tally = Tally {
        executions_total: statements.iter().map(|s| s.executions).sum::<u64>()
            + modules.iter().map(|m| m.executions).sum::<u64>(),
        cpu_us_total: statements
            .iter()
            .map(|s| s.cpu_us)
            .chain(modules.iter().map(|m| m.cpu_us))
            .fold(0u64, u64::saturating_add),
        rows: Vec::with_capacity(statements.len() + modules.len()),
        ..Tally::default()
    };
    for s in statements {
        let mut result = analyzer.analyze_text(&s.file, &s.text);
        let blockers = blocker_features(&result.findings);
        let weight = tally.count(
            &s.file,
            false,
            (s.executions, s.cpu_us, s.duration_us),
            blockers,
        );
        for f in &mut result.findings {
            f.workload = Some(weight);
        }
        findings.append(&mut result.findings);
        objects.append(&mut result.objects);
    }
    let module_findings = &mut findings[..modules_end];
    // Each module's findings, by index into `module_findings`.
    let slot: HashMap<&str, usize> = modules
        .iter()
        .enumerate()
        .map(|(i, m)| (m.file.as_str(), i))
        .collect();
    let mut mine: Vec<Vec<usize>> = vec![Vec::new(); modules.len()];
    for (at, f) in module_findings.iter().enumerate() {
        if let Some(&i) = slot.get(f.file.as_str()) {
            mine[i].push(at);
        }
    }
    for (m, mine) in modules.iter().zip(&mine) {
        let blockers = blocker_features(mine.iter().map(|&at| &module_findings[at]));
        let weight = tally.count(
            &m.file,
            true,
            (m.executions, m.cpu_us, m.duration_us),
            blockers,
        );
        for &at in mine {
            module_findings[at].workload = Some(weight);
        }
    }
    let Tally {
        executions_total,
        cpu_us_total,
        by_feature,
        failing,
        executions_ready,
        mut rows,
    } = tally;
    rows.sort_by(|a, b| b.executions.cmp(&a.executions).then(a.file.cmp(&b.file)));
    let ready = |module: bool| {
        rows.iter()
            .filter(|r| r.module == module && r.ready)
            .count()
    };
    let (statements_ready, modules_ready) = (ready(false), ready(true));
    let executions_failing = executions_total - executions_ready;
    let blockers = rank_blockers(by_feature, &failing, executions_failing);
    let headline = blockers
        .get(blockers.len().min(HEADLINE_BLOCKERS).wrapping_sub(1))
        .map(|b| Headline {
            blockers: blockers.len().min(HEADLINE_BLOCKERS),
            executions_percent: b.cumulative_percent,
        });
    WorkloadSummary {
        captures: workload.captures().to_vec(),
        events_read: workload.captures().iter().map(|c| c.events_read).sum(),
        events_used: workload.captures().iter().map(|c| c.events_used).sum(),
        events_skipped: workload
            .captures()
            .iter()
            .map(|c| c.events_read - c.events_used)
            .sum(),
        skipped_by_reason: SkipReason::ALL
            .iter()
            .map(|&r| {
                let n = workload
                    .captures()
                    .iter()
                    .map(|c| c.events_skipped.get(&r).copied().unwrap_or(0))
                    .sum();
                (r, n)
            })
            .collect(),
        first_event: extreme(workload.captures(), |c| c.first_event.as_deref(), false),
        last_event: extreme(workload.captures(), |c| c.last_event.as_deref(), true),
        statements_distinct: statements.len(),
        statements_ready,
        readiness_by_statements_percent: percent(statements_ready as u64, statements.len() as u64),
        modules_run: modules.len(),
        modules_ready,
        executions_total,
        executions_ready,
        executions_failing,
        readiness_by_executions_percent: percent(executions_ready, executions_total),
        cpu_ms_total: ms(cpu_us_total),
        blockers,
        headline,
        statements: rows,
    }
}

/// One run per module: the statistics hold a row per cached plan, so a
/// module recompiled with other SET options appears more than once.
fn merge_runs(modules: &[ModuleRun]) -> Vec<ModuleRun> {
    let mut at: HashMap<&str, usize> = HashMap::new();
    let mut merged: Vec<ModuleRun> = Vec::with_capacity(modules.len());
    for m in modules {
        match at.get(m.file.as_str()) {
            Some(&i) => {
                let into = &mut merged[i];
                into.executions = into.executions.saturating_add(m.executions);
                into.cpu_us = into.cpu_us.saturating_add(m.cpu_us);
                into.duration_us = into.duration_us.saturating_add(m.duration_us);
            }
            None => {
                at.insert(&m.file, merged.len());
                merged.push(m.clone());
            }
        }
    }
    merged
}

/// Blockers by failing executions, with the cumulative share each rank fixes.
fn rank_blockers(
    by_feature: HashMap<String, (usize, usize, u64, u64)>,
    failing: &[(BTreeSet<String>, u64)],
    executions_failing: u64,
) -> Vec<WorkloadBlocker> {
    let mut ranked: Vec<(String, (usize, usize, u64, u64))> = by_feature.into_iter().collect();
    ranked.sort_by(|(fa, a), (fb, b)| {
        b.2.cmp(&a.2)
            .then((b.0 + b.1).cmp(&(a.0 + a.1)))
            .then(fa.cmp(fb))
    });
    let rank: HashMap<&str, usize> = ranked
        .iter()
        .enumerate()
        .map(|(i, (f, _))| (f.as_str(), i))
        .collect();
    // A failing statement is fixed once its lowest-ranked blocker is.
    let mut fixed_at = vec![0u64; ranked.len()];
    for (features, executions) in failing {
        let last = features.iter().filter_map(|f| rank.get(f.as_str())).max();
        if let Some(slot) = last.and_then(|&r| fixed_at.get_mut(r)) {
            *slot += executions;
        }
    }
    let mut cumulative = 0u64;
    ranked
        .into_iter()
        .zip(fixed_at)
        .map(
            |((feature, (statements, modules, executions, cpu_us)), fixed)| {
                cumulative += fixed;
                WorkloadBlocker {
                    feature,
                    statements,
                    modules,
                    executions,
                    cpu_ms: ms(cpu_us),
                    executions_percent: percent(executions, executions_failing).unwrap_or(0.0),
                    cumulative_percent: percent(cumulative, executions_failing).unwrap_or(0.0),
                }
            },
        )
        .collect()
}

/// The earliest (or latest) of the captures' event times.
fn extreme(
    captures: &[CaptureInfo],
    field: impl Fn(&CaptureInfo) -> Option<&str>,
    latest: bool,
) -> Option<String> {
    let times = captures
        .iter()
        .filter_map(|c| field(c).and_then(|t| timestamp_micros(t).map(|at| (at, t))));
    let found = if latest {
        times.max_by_key(|&(at, _)| at)
    } else {
        times.min_by_key(|&(at, _)| at)
    };
    found.map(|(_, t)| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Catalog;
    use crate::workload::{CaptureFormat, Limits};

    fn workload(statements: &[(&str, u64)]) -> Workload {
        let mut w = Workload::new(Limits::default());
        w.add_source(
            CaptureInfo {
                file: "t.query_store".into(),
                format: CaptureFormat::QueryStore,
                events_read: statements.len() as u64,
                events_used: statements.len() as u64,
                events_skipped: BTreeMap::new(),
                first_event: None,
                last_event: None,
            },
            statements
                .iter()
                .map(|&(text, executions)| crate::workload::SourceStatement {
                    text: text.into(),
                    executions,
                    cpu_us: executions * 1000,
                    duration_us: executions * 2000,
                })
                .collect(),
        );
        w
    }

    fn run(file: &str, executions: u64) -> ModuleRun {
        ModuleRun {
            file: file.into(),
            executions,
            cpu_us: executions * 1000,
            duration_us: 0,
        }
    }

    #[test]
    fn modules_run_are_weighed_with_the_statements_and_rank_their_blockers() {
        let catalog = Catalog::shipped().unwrap();
        let a = Analyzer::new(&catalog, catalog.latest());
        let w = workload(&[("SELECT * FROM ##g", 10), ("SELECT 1", 30)]);
        let code = "CREATE PROCEDURE dbo.p AS SELECT a INTO ##x FROM t";
        let mut module_findings = a.analyze_text("s/db.dbo.p.sql", code).findings;
        module_findings.extend(a.analyze_text("s/db.dbo.unrun.sql", code).findings);
        // Two plans of the same procedure: one run of 60 executions.
        let runs = [
            run("s/db.dbo.p.sql", 40),
            run("s/db.dbo.ready.sql", 20),
            run("s/db.dbo.p.sql", 20),
        ];
        let modules_end = module_findings.len();
        let mut objects = Vec::new();
        let s = &analyze_into(&w, &a, &runs, &mut module_findings, &mut objects);
        let appended = &module_findings[modules_end..];
        assert!(
            !appended.is_empty(),
            "the statements' findings follow the modules'"
        );
        assert!(
            appended
                .iter()
                .all(|f| f.file.starts_with("workload/") && f.workload.is_some())
        );
        assert!(objects.iter().all(|o| o.file.starts_with("workload/")));
        assert_eq!((s.modules_run, s.modules_ready), (2, 1));
        assert_eq!((s.statements_distinct, s.statements_ready), (2, 1));
        assert_eq!(s.executions_total, 10 + 30 + 60 + 20);
        assert_eq!(s.executions_failing, 10 + 60);
        let top = &s.blockers[0];
        assert_eq!(top.feature, "statement.global_temp_table");
        assert_eq!((top.statements, top.modules, top.executions), (1, 1, 70));
        assert_eq!(top.cumulative_percent, 100.0);
        let first = &s.statements[0];
        assert_eq!(
            (first.file.as_str(), first.module, first.ready),
            ("s/db.dbo.p.sql", true, false)
        );
        assert_eq!(first.executions_percent, 50.0);
        for f in &module_findings[..modules_end] {
            let expected = (f.file == "s/db.dbo.p.sql").then_some(60);
            assert_eq!(f.workload.map(|w| w.executions), expected, "{}", f.file);
        }
    }

    #[test]
    fn without_modules_only_statements_count() {
        let catalog = Catalog::shipped().unwrap();
        let a = Analyzer::new(&catalog, catalog.latest());
        let out = analyze(&workload(&[("SELECT * FROM ##g", 10)]), &a);
        assert_eq!(
            (out.summary.modules_run, out.summary.executions_total),
            (0, 10)
        );
        assert!(out.summary.statements.iter().all(|r| !r.module));
        assert_eq!(out.summary.blockers[0].modules, 0);
    }
}
