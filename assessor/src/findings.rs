//! The findings model: what the analyzer concludes, and what every report
//! renders. One model, several renderers (see [`crate::report`]).
//!
//! A finding says *where* (file, line, column, enclosing object), *what*
//! (the catalog feature id) and *how bad* (status, complexity, effort). Its
//! snippet is customer code: it is sensitive data (see SECURITY.md) and must
//! never reach a log line or an error message.

use serde::{Deserialize, Serialize};

/// How a feature fares on the chosen Babelfish target version.
///
/// The six words are part of the JSON schema and the CLI (`--fail-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Runs unchanged.
    Supported,
    /// Fails on the target: the code must change.
    NotSupported,
    /// Cannot be decided statically (e.g. unparsable code, dynamic SQL).
    ReviewManually,
    /// Accepted, but behaves differently: test the results.
    ReviewSemantics,
    /// Accepted, but may perform differently: test under load.
    ReviewPerformance,
    /// Accepted and has no effect on the target (e.g. a no-op option).
    Ignored,
}

impl Status {
    /// All statuses, in report order (worst first).
    pub const ALL: [Status; 6] = [
        Status::NotSupported,
        Status::ReviewManually,
        Status::ReviewSemantics,
        Status::ReviewPerformance,
        Status::Ignored,
        Status::Supported,
    ];

    /// The word used in JSON, CSV and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Supported => "supported",
            Status::NotSupported => "not_supported",
            Status::ReviewManually => "review_manually",
            Status::ReviewSemantics => "review_semantics",
            Status::ReviewPerformance => "review_performance",
            Status::Ignored => "ignored",
        }
    }

    /// Parses the word used in JSON, CSV and on the command line.
    pub fn parse(word: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == word)
    }

    /// Severity rank: the position in [`Status::ALL`], 0 the worst.
    pub fn rank(self) -> usize {
        Status::ALL
            .iter()
            .position(|&s| s == self)
            .unwrap_or(Status::ALL.len())
    }

    /// Whether this status is `threshold` or worse (`--fail-on`): every
    /// status is at least `supported`, none but `not_supported` is at least
    /// `not_supported`.
    pub fn is_at_least(self, threshold: Status) -> bool {
        self.rank() <= threshold.rank()
    }

    /// Whether an object with a finding of this status needs changes before
    /// it can run on the target (a "blocker" in the executive summary).
    pub fn is_blocker(self) -> bool {
        matches!(self, Status::NotSupported)
    }
}

/// How hard a change is, from the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Complexity {
    Low,
    Medium,
    High,
}

/// The kind of a database object that encloses code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Table,
    View,
    Procedure,
    Function,
    Trigger,
    Index,
    Type,
    Sequence,
    Synonym,
    Schema,
    Database,
    Login,
    User,
    Role,
    Job,
    Other,
}

/// The object a finding sits in, e.g. `Sales.usp_GetOrders` (procedure).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectRef {
    /// Schema, when the code names one (`dbo` is not assumed).
    pub schema: Option<String>,
    pub name: String,
    pub kind: ObjectKind,
}

/// One occurrence of a catalog feature in the analysed code.
///
/// `Debug` leaves out the snippet, the object and the file: they are
/// customer data (code and names) and `Debug` output ends up in logs and
/// panic messages.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Path relative to the input root; the file name for a single file;
    /// with several inputs, relative to their common folder (see
    /// [`crate::source::discover`]), so each input's files stay apart.
    pub file: String,
    /// 1-based line in the decoded file.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
    /// The enclosing object, if the code is inside a CREATE/ALTER of one.
    pub object: Option<ObjectRef>,
    /// The catalog feature id (stable across releases).
    pub feature: String,
    /// The catalog group of the feature.
    pub group: String,
    pub status: Status,
    pub complexity: Complexity,
    /// Estimated minutes to remediate this occurrence.
    pub effort_minutes: u32,
    /// A short excerpt of the code (customer data: never logged).
    pub snippet: String,
    /// Found in dynamic SQL: a string the code runs as T-SQL (EXEC ('...'),
    /// sp_executesql). Compass does not look there.
    #[serde(default)]
    pub in_dynamic_sql: bool,
    /// How much the statement this finding sits in was used, for findings
    /// in captured workload text (`assessor analyze --workload`); `None`
    /// for scripts and collected code.
    #[serde(default)]
    pub workload: Option<WorkloadWeight>,
}

/// The use of a captured statement: its executions and CPU, and their share
/// of the whole workload's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WorkloadWeight {
    /// Events that ran the statement.
    pub executions: u64,
    /// Their CPU time, summed, in milliseconds (rounded).
    pub cpu_ms: u64,
    /// `executions` / the workload's executions * 100, one decimal.
    pub executions_percent: f64,
    /// CPU / the workload's CPU * 100, one decimal (0 when no CPU was
    /// recorded).
    pub cpu_percent: f64,
}

/// The percentages are rounded finite numbers, never NaN, so equality is
/// reflexive and `Finding` can stay `Eq`.
impl Eq for WorkloadWeight {}

impl std::fmt::Debug for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finding")
            .field("line", &self.line)
            .field("column", &self.column)
            .field("feature", &self.feature)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::Status;

    #[test]
    fn thresholds_follow_the_report_order() {
        use Status::*;
        assert!(NotSupported.is_at_least(ReviewSemantics));
        assert!(ReviewSemantics.is_at_least(ReviewSemantics));
        assert!(!ReviewPerformance.is_at_least(ReviewSemantics));
        assert!(!ReviewManually.is_at_least(NotSupported));
        assert!(Status::ALL.into_iter().all(|s| s.is_at_least(Supported)));
    }

    #[test]
    fn finding_debug_shows_no_code_or_names() {
        let finding = super::Finding {
            file: "secret_file.sql".into(),
            line: 3,
            column: 7,
            object: None,
            feature: "function.str".into(),
            group: "g".into(),
            status: super::Status::ReviewSemantics,
            complexity: super::Complexity::Low,
            effort_minutes: 10,
            snippet: "SELECT STR(canary_value)".into(),
            in_dynamic_sql: false,
            workload: None,
        };
        let shown = format!("{finding:?}");
        assert!(shown.contains("function.str"), "{shown}");
        assert!(
            !shown.contains("canary_value") && !shown.contains("secret_file"),
            "{shown}"
        );
    }
}
