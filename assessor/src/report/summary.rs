//! The executive summary: readiness, counts, effort and top blockers,
//! computed once from a [`ReportInput`] and rendered by every format.
//!
//! Definitions (also in docs/report-schema.md):
//! - An *object* is a database object defined by a script, or the top-level
//!   code of a file (see [`ObjectSummary`]). Objects named by findings but
//!   missing from [`ReportInput::objects`] are added, so a blocker always
//!   counts.
//! - An object is *ready* when none of its findings is a blocker
//!   ([`Status::is_blocker`], i.e. `not_supported`). Readiness is the share
//!   of ready objects, in percent, rounded to one decimal; it is `None` when
//!   no object was analysed (there is nothing to be ready).
//! - Effort is the sum of the findings' `effort_minutes` (remediation) plus,
//!   once per feature found, the catalog's `learning_minutes` for it
//!   (learning the remediation). Hours are total minutes / 60 and
//!   person-days are hours / [`HOURS_PER_PERSON_DAY`], both rounded to one
//!   decimal.
//! - Effort by object type ([`Summary::by_object_type`]) is remediation
//!   only: learning time belongs to a feature, not to the objects using it.
//! - Supported constructs ([`Summary::supported_constructs`]) are counted
//!   apart from findings, which are never `supported`.
//! - Top blockers are the features with `not_supported` findings, most
//!   occurrences first (ties: more objects first, then feature id), at most
//!   [`TOP_BLOCKERS`].

use std::collections::BTreeMap;

use serde::Serialize;

use super::{ObjectSummary, ReportInput, SkipKind, SkippedFile, kind_str};
use crate::findings::{Complexity, Finding, ObjectRef, Status};
use crate::rules::EffortOverrides;

/// Working hours in one person-day of effort.
pub const HOURS_PER_PERSON_DAY: f64 = 8.0;

/// How many features the top-blockers list shows.
pub const TOP_BLOCKERS: usize = 10;

/// The object type of a file's top-level code in
/// [`Summary::by_object_type`] (the others are object kinds).
pub const TOP_LEVEL: &str = "top_level";

/// The executive summary of one report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Babelfish settings the statuses were computed with (name -> value);
    /// empty: Babelfish's defaults ([`ReportInput::settings`]).
    pub settings: BTreeMap<String, String>,
    pub files_analyzed: usize,
    pub lines_analyzed: u64,
    /// Input files listed but not analysed ([`ReportInput::skipped`]).
    pub files_skipped: usize,
    pub skipped_by_kind: SkipCounts,
    pub objects_total: usize,
    /// Objects without any blocker.
    pub objects_ready: usize,
    /// `objects_ready / objects_total` in percent, one decimal; `None` when
    /// no object was analysed.
    pub readiness_percent: Option<f64>,
    pub findings_total: usize,
    pub by_status: StatusCounts,
    pub by_complexity: ComplexityCounts,
    pub effort: Effort,
    /// Readiness and remediation effort by object type: the object kind
    /// (`procedure`, `view`, ...) or [`TOP_LEVEL`].
    pub by_object_type: BTreeMap<String, ObjectTypeReadiness>,
    /// Constructs recognised as supported (not findings); `None` when the
    /// caller did not count them ([`ReportInput::supported`]).
    pub supported_constructs: Option<SupportedConstructs>,
    /// The effort calibration the numbers were computed with
    /// ([`ReportInput::effort_overrides`]); `None`: the catalog's.
    pub effort_overrides: Option<EffortOverrides>,
    /// Features with blockers, most occurrences first, at most
    /// [`TOP_BLOCKERS`].
    pub top_blockers: Vec<FeatureUsage>,
    /// Every feature found, worst status first, then most occurrences.
    pub features: Vec<FeatureUsage>,
    /// Every object, by file, then line, then name.
    pub objects: Vec<ObjectReadiness>,
}

/// Finding counts by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    pub not_supported: usize,
    pub review_manually: usize,
    pub review_semantics: usize,
    pub review_performance: usize,
    pub ignored: usize,
    pub supported: usize,
}

impl StatusCounts {
    /// The count for one status.
    pub fn get(&self, status: Status) -> usize {
        match status {
            Status::NotSupported => self.not_supported,
            Status::ReviewManually => self.review_manually,
            Status::ReviewSemantics => self.review_semantics,
            Status::ReviewPerformance => self.review_performance,
            Status::Ignored => self.ignored,
            Status::Supported => self.supported,
        }
    }

    pub(crate) fn add(&mut self, status: Status) {
        *self.slot(status) += 1;
    }

    /// Adds every count of `other`.
    fn add_all(&mut self, other: &StatusCounts) {
        for s in Status::ALL {
            *self.slot(s) += other.get(s);
        }
    }

    fn slot(&mut self, status: Status) -> &mut usize {
        match status {
            Status::NotSupported => &mut self.not_supported,
            Status::ReviewManually => &mut self.review_manually,
            Status::ReviewSemantics => &mut self.review_semantics,
            Status::ReviewPerformance => &mut self.review_performance,
            Status::Ignored => &mut self.ignored,
            Status::Supported => &mut self.supported,
        }
    }

    /// The worst status with a non-zero count ([`Status::ALL`] order).
    pub fn worst(&self) -> Option<Status> {
        Status::ALL.into_iter().find(|&s| self.get(s) > 0)
    }
}

/// Skipped input files by why they were skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SkipCounts {
    pub binary: usize,
    pub unreadable: usize,
}

impl SkipCounts {
    /// Counts the kinds of `skipped`.
    pub fn of(skipped: &[SkippedFile]) -> SkipCounts {
        let mut counts = SkipCounts::default();
        for s in skipped {
            match s.kind {
                SkipKind::Binary => counts.binary += 1,
                SkipKind::Unreadable => counts.unreadable += 1,
            }
        }
        counts
    }

    /// The count for one kind.
    pub fn get(&self, kind: SkipKind) -> usize {
        match kind {
            SkipKind::Binary => self.binary,
            SkipKind::Unreadable => self.unreadable,
        }
    }

    /// The non-zero counts in words, e.g. "2 binary, 1 unreadable".
    pub fn describe(&self) -> String {
        SkipKind::ALL
            .into_iter()
            .filter(|&k| self.get(k) > 0)
            .map(|k| format!("{} {}", self.get(k), k.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Finding counts by complexity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ComplexityCounts {
    pub low: usize,
    pub medium: usize,
    pub high: usize,
}

impl ComplexityCounts {
    /// The count for one complexity.
    pub fn get(&self, complexity: Complexity) -> usize {
        match complexity {
            Complexity::Low => self.low,
            Complexity::Medium => self.medium,
            Complexity::High => self.high,
        }
    }

    fn add(&mut self, complexity: Complexity) {
        match complexity {
            Complexity::Low => self.low += 1,
            Complexity::Medium => self.medium += 1,
            Complexity::High => self.high += 1,
        }
    }
}

/// Estimated remediation effort.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Effort {
    /// Remediation plus learning.
    pub minutes: u64,
    /// Sum of the findings' `effort_minutes`.
    pub remediation_minutes: u64,
    /// Once per feature found, the catalog's learning time.
    pub learning_minutes: u64,
    /// One decimal.
    pub hours: f64,
    /// Hours / [`HOURS_PER_PERSON_DAY`], one decimal.
    pub person_days: f64,
}

impl Effort {
    fn new(remediation_minutes: u64, learning_minutes: u64) -> Effort {
        let minutes = remediation_minutes.saturating_add(learning_minutes);
        // Precision: u64 minutes beyond 2^53 are not a realistic estimate.
        let hours = minutes as f64 / 60.0;
        Effort {
            minutes,
            remediation_minutes,
            learning_minutes,
            hours: round1(hours),
            person_days: round1(hours / HOURS_PER_PERSON_DAY),
        }
    }
}

/// Readiness and effort of the objects of one type.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObjectTypeReadiness {
    pub objects_total: usize,
    /// Objects without any blocker.
    pub objects_ready: usize,
    /// `objects_ready / objects_total` in percent, one decimal.
    pub readiness_percent: f64,
    pub findings: usize,
    pub by_status: StatusCounts,
    /// Sum of their findings' `effort_minutes` (no learning time).
    pub effort_minutes: u64,
    /// `effort_minutes / 60`, one decimal.
    pub hours: f64,
}

/// Constructs the analysis recognised as supported on the target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SupportedConstructs {
    pub total: usize,
    /// Occurrences by catalog feature id.
    pub by_feature: BTreeMap<String, usize>,
}

impl SupportedConstructs {
    fn of(counts: &BTreeMap<String, usize>) -> SupportedConstructs {
        SupportedConstructs {
            total: counts.values().sum(),
            by_feature: counts.clone(),
        }
    }
}

/// How one catalog feature occurs in the analysed code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeatureUsage {
    pub feature: String,
    /// The catalog group (from the first finding of the feature).
    pub group: String,
    /// The worst status among its findings.
    pub status: Status,
    pub occurrences: usize,
    pub by_status: StatusCounts,
    /// Distinct objects it occurs in.
    pub objects: usize,
    pub effort_minutes: u64,
}

/// The readiness of one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectReadiness {
    pub file: String,
    /// `None` for the top-level code of `file`.
    pub object: Option<ObjectRef>,
    pub line: u32,
    /// No blocker among its findings.
    pub ready: bool,
    pub findings: usize,
    pub by_status: StatusCounts,
    pub effort_minutes: u64,
    /// [`ObjectSummary::code_sha256`]: the fingerprint of its normalised
    /// source, `None` when unknown.
    pub code_sha256: Option<String>,
}

/// Computes the executive summary. Linear in findings plus objects (times a
/// logarithm for the maps).
pub fn summarize(input: &ReportInput<'_>) -> Summary {
    let mut objects: BTreeMap<(&str, Option<&ObjectRef>), ObjectAcc> = BTreeMap::new();
    for ObjectSummary {
        file,
        object,
        line,
        code_sha256,
    } in input.objects
    {
        let acc = objects
            .entry((file.as_str(), object.as_ref()))
            .or_insert_with(|| ObjectAcc::new(*line));
        acc.line = acc.line.min(*line);
        if acc.code_sha256.is_none() {
            acc.code_sha256 = code_sha256.as_deref();
        }
    }

    let mut by_status = StatusCounts::default();
    let mut by_complexity = ComplexityCounts::default();
    let mut minutes: u64 = 0;
    let mut features: BTreeMap<&str, FeatureAcc<'_>> = BTreeMap::new();
    for finding in input.findings {
        by_status.add(finding.status);
        by_complexity.add(finding.complexity);
        let effort = u64::from(finding.effort_minutes);
        minutes = minutes.saturating_add(effort);

        let key = (finding.file.as_str(), finding.object.as_ref());
        // An object the caller did not list still counts (see module docs).
        let obj = objects
            .entry(key)
            .or_insert_with(|| ObjectAcc::new(finding.line));
        obj.line = obj.line.min(finding.line.max(1));
        obj.findings += 1;
        obj.by_status.add(finding.status);
        obj.effort = obj.effort.saturating_add(effort);

        let feat = features
            .entry(finding.feature.as_str())
            .or_insert_with(|| FeatureAcc::new(finding));
        feat.occurrences += 1;
        feat.by_status.add(finding.status);
        feat.effort = feat.effort.saturating_add(effort);
        feat.objects.insert(key);
    }

    let objects: Vec<ObjectReadiness> = objects
        .into_iter()
        .map(|((file, object), acc)| ObjectReadiness {
            file: file.to_string(),
            object: object.cloned(),
            line: acc.line,
            ready: !Status::ALL
                .into_iter()
                .any(|s| s.is_blocker() && acc.by_status.get(s) > 0),
            findings: acc.findings,
            by_status: acc.by_status,
            effort_minutes: acc.effort,
            code_sha256: acc.code_sha256.map(str::to_owned),
        })
        .collect();
    let mut objects = objects;
    objects.sort_by(|a, b| (&a.file, a.line, &a.object).cmp(&(&b.file, b.line, &b.object)));

    let mut features: Vec<FeatureUsage> = features
        .into_iter()
        .map(|(id, acc)| FeatureUsage {
            feature: id.to_string(),
            group: acc.group.to_string(),
            // A feature in the map has at least one finding.
            status: acc.by_status.worst().unwrap_or(Status::Supported),
            occurrences: acc.occurrences,
            by_status: acc.by_status,
            objects: acc.objects.len(),
            effort_minutes: acc.effort,
        })
        .collect();
    features.sort_by(|a, b| {
        rank(a.status)
            .cmp(&rank(b.status))
            .then(b.occurrences.cmp(&a.occurrences))
            .then(a.feature.cmp(&b.feature))
    });

    let mut top_blockers: Vec<FeatureUsage> = features
        .iter()
        .filter(|f| blockers(&f.by_status) > 0)
        .cloned()
        .collect();
    top_blockers.sort_by(|a, b| {
        blockers(&b.by_status)
            .cmp(&blockers(&a.by_status))
            .then(b.objects.cmp(&a.objects))
            .then(a.feature.cmp(&b.feature))
    });
    top_blockers.truncate(TOP_BLOCKERS);

    let learning: u64 = features
        .iter()
        .filter_map(|f| input.features.feature_text(&f.feature))
        .map(|t| u64::from(t.learning_minutes))
        .sum();

    let objects_total = objects.len();
    let objects_ready = objects.iter().filter(|o| o.ready).count();
    let by_object_type = by_object_type(&objects);
    let readiness_percent =
        (objects_total > 0).then(|| round1(objects_ready as f64 * 100.0 / objects_total as f64));

    Summary {
        settings: input.settings.iter().cloned().collect(),
        files_analyzed: input.files_analyzed,
        lines_analyzed: input.lines_analyzed,
        files_skipped: input.skipped.len(),
        skipped_by_kind: SkipCounts::of(input.skipped),
        objects_total,
        objects_ready,
        readiness_percent,
        findings_total: input.findings.len(),
        by_status,
        by_complexity,
        effort: Effort::new(minutes, learning),
        by_object_type,
        supported_constructs: input.supported.map(SupportedConstructs::of),
        effort_overrides: input.effort_overrides.cloned(),
        top_blockers,
        features,
        objects,
    }
}

/// Groups object readiness by object type ([`Summary::by_object_type`]).
fn by_object_type(objects: &[ObjectReadiness]) -> BTreeMap<String, ObjectTypeReadiness> {
    let mut out: BTreeMap<String, ObjectTypeReadiness> = BTreeMap::new();
    for o in objects {
        let kind = o.object.as_ref().map_or(TOP_LEVEL, |r| kind_str(r.kind));
        let t = out.entry(kind.to_string()).or_default();
        t.objects_total += 1;
        t.objects_ready += usize::from(o.ready);
        t.findings += o.findings;
        t.by_status.add_all(&o.by_status);
        t.effort_minutes = t.effort_minutes.saturating_add(o.effort_minutes);
    }
    for t in out.values_mut() {
        // Every entry has at least one object.
        t.readiness_percent = round1(t.objects_ready as f64 * 100.0 / t.objects_total as f64);
        t.hours = round1(t.effort_minutes as f64 / 60.0);
    }
    out
}

/// Position in [`Status::ALL`]: 0 is the worst.
pub(crate) fn rank(status: Status) -> usize {
    status.rank()
}

fn blockers(counts: &StatusCounts) -> usize {
    Status::ALL
        .into_iter()
        .filter(|s| s.is_blocker())
        .map(|s| counts.get(s))
        .sum()
}

pub(crate) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

struct ObjectAcc<'a> {
    line: u32,
    findings: usize,
    by_status: StatusCounts,
    effort: u64,
    code_sha256: Option<&'a str>,
}

impl ObjectAcc<'_> {
    fn new<'a>(line: u32) -> ObjectAcc<'a> {
        ObjectAcc {
            line: line.max(1),
            findings: 0,
            by_status: StatusCounts::default(),
            effort: 0,
            code_sha256: None,
        }
    }
}

struct FeatureAcc<'a> {
    group: &'a str,
    occurrences: usize,
    by_status: StatusCounts,
    effort: u64,
    objects: std::collections::BTreeSet<(&'a str, Option<&'a ObjectRef>)>,
}

impl<'a> FeatureAcc<'a> {
    fn new(first: &'a Finding) -> FeatureAcc<'a> {
        FeatureAcc {
            group: &first.group,
            occurrences: 0,
            by_status: StatusCounts::default(),
            effort: 0,
            objects: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::findings::ObjectKind;
    use crate::report::FeatureInfo;

    fn obj(name: &str) -> ObjectRef {
        ObjectRef {
            schema: Some("dbo".into()),
            name: name.into(),
            kind: ObjectKind::Procedure,
        }
    }

    /// An object of `a.sql` starting at `line`.
    fn listed(object: Option<ObjectRef>, line: u32) -> ObjectSummary {
        ObjectSummary {
            file: "a.sql".into(),
            object,
            line,
            code_sha256: None,
        }
    }

    /// A report input of `findings` and `objects`, nothing else.
    fn input<'a>(
        findings: &'a [Finding],
        objects: &'a [ObjectSummary],
        features: &'a BTreeMap<String, FeatureInfo>,
    ) -> ReportInput<'a> {
        ReportInput {
            tool_version: "0",
            target: "t",
            settings: &[],
            inputs: &[],
            generated_at: None,
            findings,
            objects,
            features,
            files_analyzed: 0,
            lines_analyzed: 0,
            skipped: &[],
            workload: None,
            excerpts: &[],
            servers: &[],
            supported: None,
            effort_overrides: None,
        }
    }

    fn finding(file: &str, object: Option<ObjectRef>, feature: &str, status: Status) -> Finding {
        Finding {
            file: file.into(),
            line: 3,
            column: 1,
            object,
            feature: feature.into(),
            group: "g".into(),
            status,
            complexity: Complexity::Medium,
            effort_minutes: 30,
            snippet: "x".into(),
            in_dynamic_sql: false,
            workload: None,
        }
    }

    #[test]
    fn readiness_counts_objects_without_findings_and_unlisted_objects() {
        let objects = vec![
            listed(Some(obj("p1")), 1),
            listed(Some(obj("p2")), 10),
            listed(Some(obj("clean")), 20),
        ];
        let findings = vec![
            finding("a.sql", Some(obj("p1")), "f.block", Status::NotSupported),
            finding("a.sql", Some(obj("p1")), "f.block", Status::NotSupported),
            finding(
                "a.sql",
                Some(obj("p2")),
                "f.review",
                Status::ReviewSemantics,
            ),
            // Not listed in `objects`: must still count, as not ready.
            finding("b.sql", Some(obj("p3")), "f.other", Status::NotSupported),
            finding("b.sql", None, "f.review", Status::ReviewSemantics),
        ];
        let mut features: BTreeMap<String, FeatureInfo> = BTreeMap::new();
        let learn = |minutes| FeatureInfo {
            title: "t".into(),
            description: String::new(),
            remediation: String::new(),
            docs_url: None,
            docs_title: None,
            learning_minutes: minutes,
            rewrite: None,
        };
        // Counted once although f.block occurs twice.
        features.insert("f.block".into(), learn(60));
        features.insert("f.review".into(), learn(30));
        // Not found: not counted.
        features.insert("f.unused".into(), learn(1000));
        let input = ReportInput {
            files_analyzed: 2,
            lines_analyzed: 40,
            ..input(&findings, &objects, &features)
        };
        let s = summarize(&input);
        assert_eq!(s.objects_total, 5);
        // p2, clean, b.sql top-level code.
        assert_eq!(s.objects_ready, 3);
        assert_eq!(s.readiness_percent, Some(60.0));
        assert_eq!(s.by_status.not_supported, 3);
        assert_eq!(s.by_status.review_semantics, 2);
        assert_eq!(s.by_complexity.medium, 5);
        assert_eq!(s.effort.remediation_minutes, 150);
        assert_eq!(s.effort.learning_minutes, 90);
        assert_eq!(s.effort.minutes, 240);
        assert_eq!(s.effort.hours, 4.0);
        assert_eq!(s.effort.person_days, 0.5);
        let top: Vec<(&str, usize)> = s
            .top_blockers
            .iter()
            .map(|f| (f.feature.as_str(), f.occurrences))
            .collect();
        assert_eq!(top, vec![("f.block", 2), ("f.other", 1)]);
        assert_eq!(s.features[0].status, Status::NotSupported);
        let review = s.features.iter().find(|f| f.feature == "f.review").unwrap();
        assert_eq!(review.objects, 2);
        let p1 = s
            .objects
            .iter()
            .find(|o| o.object.as_ref().is_some_and(|o| o.name == "p1"))
            .unwrap();
        assert!(!p1.ready);
        assert_eq!(p1.findings, 2);
        assert_eq!(p1.effort_minutes, 60);
    }

    #[test]
    fn readiness_and_effort_are_broken_down_by_object_type() {
        let view = ObjectRef {
            schema: Some("dbo".into()),
            name: "v".into(),
            kind: ObjectKind::View,
        };
        let objects = vec![
            listed(Some(obj("p1")), 1),
            listed(Some(obj("p2")), 9),
            listed(Some(view.clone()), 20),
        ];
        let findings = vec![
            finding("a.sql", Some(obj("p1")), "f.block", Status::NotSupported),
            finding(
                "a.sql",
                Some(obj("p1")),
                "f.review",
                Status::ReviewSemantics,
            ),
            finding("a.sql", Some(view), "f.review", Status::ReviewSemantics),
            finding("a.sql", None, "f.block", Status::NotSupported),
        ];
        let features: BTreeMap<String, FeatureInfo> = BTreeMap::new();
        let supported: BTreeMap<String, usize> =
            [("function.getdate".to_string(), 3), ("f.ok".to_string(), 2)].into();
        let input = ReportInput {
            files_analyzed: 1,
            lines_analyzed: 30,
            supported: Some(&supported),
            ..input(&findings, &objects, &features)
        };
        let s = summarize(&input);
        let kinds: Vec<&str> = s.by_object_type.keys().map(String::as_str).collect();
        assert_eq!(kinds, ["procedure", TOP_LEVEL, "view"]);
        let procs = &s.by_object_type["procedure"];
        assert_eq!((procs.objects_total, procs.objects_ready), (2, 1));
        assert_eq!(procs.readiness_percent, 50.0);
        assert_eq!(procs.findings, 2);
        assert_eq!(procs.by_status.not_supported, 1);
        assert_eq!(procs.by_status.review_semantics, 1);
        assert_eq!(procs.effort_minutes, 60);
        assert_eq!(procs.hours, 1.0);
        let top = &s.by_object_type[TOP_LEVEL];
        assert_eq!((top.objects_total, top.objects_ready), (1, 0));
        assert_eq!(top.readiness_percent, 0.0);
        let views = &s.by_object_type["view"];
        assert_eq!((views.objects_total, views.objects_ready), (1, 1));
        assert_eq!(views.readiness_percent, 100.0);
        assert_eq!(views.effort_minutes, 30);
        // The types add up to the whole.
        let total: usize = s.by_object_type.values().map(|t| t.objects_total).sum();
        assert_eq!(total, s.objects_total);
        let minutes: u64 = s.by_object_type.values().map(|t| t.effort_minutes).sum();
        assert_eq!(minutes, s.effort.remediation_minutes);

        let sc = s.supported_constructs.as_ref().unwrap();
        assert_eq!(sc.total, 5);
        assert_eq!(sc.by_feature["function.getdate"], 3);
        // Findings are never supported: by_status keeps its meaning.
        assert_eq!(s.by_status.supported, 0);
        assert_eq!(s.effort_overrides, None);
    }

    #[test]
    fn no_objects_means_no_readiness_figure() {
        let features: BTreeMap<String, FeatureInfo> = BTreeMap::new();
        let input = ReportInput {
            files_analyzed: 0,
            lines_analyzed: 0,
            ..input(&[], &[], &features)
        };
        let s = summarize(&input);
        assert_eq!(s.readiness_percent, None);
        assert!(s.top_blockers.is_empty());
        assert!(s.by_object_type.is_empty());
        // Not counted by the caller: unknown, not zero.
        assert_eq!(s.supported_constructs, None);
    }
}
