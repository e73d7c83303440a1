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
    /// Every distinct statement, most executions first.
    pub statements: Vec<WorkloadStatement>,
}

/// A blocker feature by workload weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadBlocker {
    pub feature: String,
    /// Failing statements it occurs in.
    pub statements: usize,
    /// Their executions.
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

/// One distinct statement by use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadStatement {
    /// Its pseudo-file name, as in findings.
    pub file: String,
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

/// Analyses every distinct statement of `workload` and weighs the findings.
pub fn analyze(workload: &Workload, analyzer: &Analyzer<'_>) -> WorkloadAnalysis {
    let statements = workload.statements();
    let executions_total: u64 = statements.iter().map(|s| s.executions).sum();
    let cpu_us_total: u64 = statements.iter().map(|s| s.cpu_us).sum();
    let mut findings = Vec::new();
    let mut objects = Vec::new();
    let mut rows = Vec::with_capacity(statements.len());
    // Per blocker feature: (statements, executions, cpu_us).
    let mut by_feature: HashMap<String, (usize, u64, u64)> = HashMap::new();
    // Each failing statement's blocker features and executions.
    let mut failing: Vec<(BTreeSet<String>, u64)> = Vec::new();
    let (mut statements_ready, mut executions_ready) = (0usize, 0u64);
    for s in statements {
        let weight = WorkloadWeight {
            executions: s.executions,
            cpu_ms: ms(s.cpu_us),
            executions_percent: percent(s.executions, executions_total).unwrap_or(0.0),
            cpu_percent: percent(s.cpu_us, cpu_us_total).unwrap_or(0.0),
        };
        let mut result = analyzer.analyze_text(&s.file, &s.text);
        let blockers: BTreeSet<String> = result
            .findings
            .iter()
            .filter(|f| f.status.is_blocker())
            .map(|f| f.feature.clone())
            .collect();
        let ready = blockers.is_empty();
        if ready {
            statements_ready += 1;
            executions_ready += s.executions;
        } else {
            for feature in &blockers {
                let e = by_feature.entry(feature.clone()).or_default();
                e.0 += 1;
                e.1 += s.executions;
                e.2 = e.2.saturating_add(s.cpu_us);
            }
            failing.push((blockers, s.executions));
        }
        for f in &mut result.findings {
            f.workload = Some(weight);
        }
        findings.append(&mut result.findings);
        objects.append(&mut result.objects);
        rows.push(WorkloadStatement {
            file: s.file.clone(),
            executions: s.executions,
            cpu_ms: weight.cpu_ms,
            duration_ms: ms(s.duration_us),
            executions_percent: weight.executions_percent,
            cpu_percent: weight.cpu_percent,
            ready,
        });
    }
    rows.sort_by(|a, b| b.executions.cmp(&a.executions).then(a.file.cmp(&b.file)));
    let executions_failing = executions_total - executions_ready;
    let blockers = rank_blockers(by_feature, &failing, executions_failing);
    let headline = blockers
        .get(blockers.len().min(HEADLINE_BLOCKERS).wrapping_sub(1))
        .map(|b| Headline {
            blockers: blockers.len().min(HEADLINE_BLOCKERS),
            executions_percent: b.cumulative_percent,
        });
    let summary = WorkloadSummary {
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
        executions_total,
        executions_ready,
        executions_failing,
        readiness_by_executions_percent: percent(executions_ready, executions_total),
        cpu_ms_total: ms(cpu_us_total),
        blockers,
        headline,
        statements: rows,
    };
    WorkloadAnalysis {
        findings,
        objects,
        summary,
    }
}

/// Blockers by failing executions, with the cumulative share each rank fixes.
fn rank_blockers(
    by_feature: HashMap<String, (usize, u64, u64)>,
    failing: &[(BTreeSet<String>, u64)],
    executions_failing: u64,
) -> Vec<WorkloadBlocker> {
    let mut ranked: Vec<(String, (usize, u64, u64))> = by_feature.into_iter().collect();
    ranked.sort_by(|(fa, a), (fb, b)| b.1.cmp(&a.1).then(b.0.cmp(&a.0)).then(fa.cmp(fb)));
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
        .map(|((feature, (statements, executions, cpu_us)), fixed)| {
            cumulative += fixed;
            WorkloadBlocker {
                feature,
                statements,
                executions,
                cpu_ms: ms(cpu_us),
                executions_percent: percent(executions, executions_failing).unwrap_or(0.0),
                cumulative_percent: percent(cumulative, executions_failing).unwrap_or(0.0),
            }
        })
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
