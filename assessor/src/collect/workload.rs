//! Live workload collection: the SQL a server actually runs, read from
//! Query Store and the plan cache (`[targets.workload]`), normalised in the
//! collector before anything keeps it.
//!
//! Guarantees:
//! - Opt-in per source; with neither on, nothing is sent.
//! - Asks only for what it needs, by server version ([`permissions_for`]):
//!   SQL Server 2022 (major 16) and later split the performance DMVs from
//!   the rest of server state, so there the collector needs VIEW SERVER
//!   PERFORMANCE STATE (plan cache) and VIEW DATABASE PERFORMANCE STATE
//!   (Query Store); before 2022 the same views need VIEW SERVER STATE and
//!   VIEW DATABASE STATE. An unreadable version is treated as pre-2022,
//!   whose permission names also grant the views on 2022.
//! - Every statement text is passed to [`crate::workload::normalise`] in the
//!   row callback, while the driver's row is still being read: what this
//!   module returns holds only normalised text (every literal replaced).
//!   Query Store texts marked `has_restricted_text` are filtered out in the
//!   statement's `WHERE`, so they never leave the server. Statements of
//!   modules (plan cache `objectid`, Query Store `object_id`) are left out
//!   too, so no execution is counted twice: modules are
//!   read from their definitions and weighted by
//!   `sys.dm_exec_procedure_stats`, which carries names and counts only.
//! - No text (raw or normalised) is logged, put into an error or shown by
//!   `Debug`.
//! - A source refused for lack of permission is recorded as a skipped step
//!   naming the permission it needs; the collection goes on.
//! - Bounded: each source's statement asks for its `max_statements` busiest
//!   rows (`TOP`), the same bound is enforced on the rows received, and the
//!   distinct statements kept for the target stop growing at it (the rest is
//!   counted in [`CollectedWorkload::statements_dropped`]).
//! - De-duplication: by normalised key. Within one source, executions, CPU
//!   and duration of texts that normalise alike are summed. Query Store and
//!   the plan cache observe the same executions, so across sources they are
//!   not added: each statement takes the counts of the source that saw it
//!   run most often.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tiberius::Row;

use super::catalog::{Budget, CollectError, Refusal, bigint, int, query, text};
use super::connect::Client;
use super::inventory::Skipped;
use super::sql::quote_ident;
use crate::config::{Limits, WorkloadConfig};
use crate::workload::{
    CaptureFormat, CaptureInfo, SkipReason, SourceStatement, Workload, normalise,
};

/// The first major version (SQL Server 2022) with the PERFORMANCE STATE
/// permissions.
pub const PERFORMANCE_STATE_MAJOR: u32 = 16;

/// The permissions the workload sources need on one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadPermissions {
    /// For the plan cache (server-scoped DMVs).
    pub server: &'static str,
    /// For Query Store (per database).
    pub database: &'static str,
}

/// What the workload sources need on a server of `major` version (see the
/// module docs).
pub fn permissions_for(major: Option<u32>) -> WorkloadPermissions {
    match major {
        Some(m) if m >= PERFORMANCE_STATE_MAJOR => WorkloadPermissions {
            server: "VIEW SERVER PERFORMANCE STATE",
            database: "VIEW DATABASE PERFORMANCE STATE",
        },
        _ => WorkloadPermissions {
            server: "VIEW SERVER STATE",
            database: "VIEW DATABASE STATE",
        },
    }
}

/// The major version of a `SERVERPROPERTY('ProductVersion')` (`16.0.4125.3`
/// is 16); `None` when it does not start with a number.
pub fn major_version(version: &str) -> Option<u32> {
    version.trim().split('.').next()?.parse().ok()
}

/// Where a statement was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    QueryStore,
    PlanCache,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::QueryStore => "query_store",
            Source::PlanCache => "plan_cache",
        }
    }
}

/// One distinct normalised statement and how it was used.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectedStatement {
    /// The source whose counts it carries (see the module docs).
    pub source: Source,
    /// The database whose Query Store had it (`None` for the plan cache).
    pub database: Option<String>,
    /// Normalised text: every literal replaced.
    pub text: String,
    /// The server's query hash (`0x...`), as a grouping hint.
    pub query_hash: Option<String>,
    pub executions: u64,
    /// Microseconds.
    pub cpu_us: u64,
    pub duration_us: u64,
    /// ISO 8601, as the server wrote it (`CONVERT(..., 126)`).
    pub last_execution: Option<String>,
}

/// `Debug` leaves out the text and the database name: customer data.
impl fmt::Debug for CollectedStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CollectedStatement")
            .field("source", &self.source)
            .field("executions", &self.executions)
            .field("cpu_us", &self.cpu_us)
            .finish_non_exhaustive()
    }
}

/// Executions and CPU of one module, from `sys.dm_exec_procedure_stats`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleUse {
    pub database: String,
    pub schema: String,
    pub name: String,
    pub executions: u64,
    pub cpu_us: u64,
    pub duration_us: u64,
    pub last_execution: Option<String>,
}

impl fmt::Debug for ModuleUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModuleUse")
            .field("executions", &self.executions)
            .finish_non_exhaustive()
    }
}

/// What one source read, for the report's "which interval, how reliable".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    pub source: Source,
    /// Databases read (Query Store); empty for the plan cache.
    pub databases: usize,
    /// Rows received.
    pub rows: u64,
    /// Rows without statement text once normalised (empty, or literals only
    /// in a comment).
    pub rows_without_text: u64,
    /// Earliest and latest execution seen, as the server wrote them.
    pub first_seen: Option<String>,
    pub last_execution: Option<String>,
}

/// The workload of one target, normalised.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectedWorkload {
    pub target: String,
    /// The server's major version, as the permissions were chosen.
    pub server_major: Option<u32>,
    pub sources: Vec<SourceInfo>,
    /// Distinct statements, in order of first appearance.
    pub statements: Vec<CollectedStatement>,
    pub modules: Vec<ModuleUse>,
    /// Distinct statements not kept because `max_statements` was reached.
    pub statements_dropped: u64,
    /// Sources (or databases) refused, with the permission they need.
    pub skipped: Vec<Skipped>,
}

impl fmt::Debug for CollectedWorkload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CollectedWorkload")
            .field("target", &self.target)
            .field("server_major", &self.server_major)
            .field("statements", &self.statements.len())
            .field("modules", &self.modules.len())
            .field("skipped", &self.skipped.len())
            .finish()
    }
}

impl CollectedWorkload {
    /// Moves this server's statements into `workload`, one capture per
    /// source named `<target>.<source>` (so findings name
    /// `workload/sql-01.query_store#12`), with the source's rows as events
    /// and its interval as the capture's. Moved, not copied: the texts of a
    /// large workload are held once.
    pub fn add_into(self, workload: &mut Workload) {
        let mut statements = self.statements;
        for info in &self.sources {
            let skipped = SkipReason::ALL
                .iter()
                .map(|&r| {
                    let n = if r == SkipReason::NoText {
                        info.rows_without_text
                    } else {
                        0
                    };
                    (r, n)
                })
                .collect();
            let capture = CaptureInfo {
                file: format!("{}.{}", self.target, info.source.as_str()),
                format: match info.source {
                    Source::QueryStore => CaptureFormat::QueryStore,
                    Source::PlanCache => CaptureFormat::PlanCache,
                },
                events_read: info.rows,
                events_used: info.rows - info.rows_without_text,
                events_skipped: skipped,
                first_event: info.first_seen.clone(),
                last_event: info.last_execution.clone(),
            };
            let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut statements)
                .into_iter()
                .partition(|s| s.source == info.source);
            statements = rest;
            let statements = mine
                .into_iter()
                .map(|s| SourceStatement {
                    text: s.text,
                    executions: s.executions,
                    cpu_us: s.cpu_us,
                    duration_us: s.duration_us,
                })
                .collect();
            workload.add_source(capture, statements);
        }
    }
}

// ---- statements ----------------------------------------------------------

/// Query Store's state in one database (`db` already quoted):
/// 1 READ_ONLY and 2 READ_WRITE hold data to read.
pub fn query_store_state_query(db: &str) -> String {
    format!(
        "SELECT CAST(actual_state AS int) AS actual_state FROM {db}.sys.database_query_store_options"
    )
}

/// The `top` busiest Query Store texts of one database, with their counts
/// over the retained interval (`db` already quoted). Restricted texts stay
/// on the server. Statements of modules (`object_id` set) are left out, as
/// in the plan cache: modules are weighed by their own statistics, so an
/// execution inside a procedure is not counted twice.
pub fn query_store_query(db: &str, top: u32) -> String {
    format!(
        "SELECT TOP ({top}) qt.query_sql_text, CONVERT(nvarchar(64), s.query_hash, 1) AS query_hash, \
         s.executions, s.cpu_us, s.duration_us, \
         CONVERT(nvarchar(33), s.first_execution, 126) AS first_execution, \
         CONVERT(nvarchar(33), s.last_execution, 126) AS last_execution \
         FROM {db}.sys.query_store_query_text AS qt \
         JOIN (SELECT q.query_text_id, MAX(q.query_hash) AS query_hash, \
         CAST(SUM(rs.count_executions) AS bigint) AS executions, \
         CAST(SUM(rs.avg_cpu_time * rs.count_executions) AS bigint) AS cpu_us, \
         CAST(SUM(rs.avg_duration * rs.count_executions) AS bigint) AS duration_us, \
         MIN(rs.first_execution_time) AS first_execution, MAX(rs.last_execution_time) AS last_execution \
         FROM {db}.sys.query_store_query AS q \
         JOIN {db}.sys.query_store_plan AS p ON p.query_id = q.query_id \
         JOIN {db}.sys.query_store_runtime_stats AS rs ON rs.plan_id = p.plan_id \
         WHERE q.object_id = 0 GROUP BY q.query_text_id) AS s ON s.query_text_id = qt.query_text_id \
         WHERE qt.has_restricted_text = 0 ORDER BY s.executions DESC"
    )
}

/// The `top` busiest cached ad hoc and prepared statements, each cut from
/// its batch by its offsets (UTF-16 byte offsets, -1 for "to the end").
pub fn plan_cache_query(top: u32) -> String {
    format!(
        "SELECT TOP ({top}) SUBSTRING(t.text, qs.statement_start_offset / 2 + 1, \
         (CASE WHEN qs.statement_end_offset = -1 THEN DATALENGTH(t.text) \
         ELSE qs.statement_end_offset END - qs.statement_start_offset) / 2 + 1) AS statement_text, \
         CONVERT(nvarchar(64), qs.query_hash, 1) AS query_hash, \
         CAST(qs.execution_count AS bigint) AS executions, CAST(qs.total_worker_time AS bigint) AS cpu_us, \
         CAST(qs.total_elapsed_time AS bigint) AS duration_us, \
         CONVERT(nvarchar(33), qs.creation_time, 126) AS first_execution, \
         CONVERT(nvarchar(33), qs.last_execution_time, 126) AS last_execution \
         FROM sys.dm_exec_query_stats AS qs CROSS APPLY sys.dm_exec_sql_text(qs.sql_handle) AS t \
         WHERE t.objectid IS NULL AND t.encrypted = 0 ORDER BY qs.execution_count DESC"
    )
}

/// Executions and CPU of the `top` busiest modules of user databases:
/// names and counts only.
pub fn procedure_stats_query(top: u32) -> String {
    format!(
        "SELECT TOP ({top}) DB_NAME(ps.database_id) AS database_name, \
         OBJECT_SCHEMA_NAME(ps.object_id, ps.database_id) AS schema_name, \
         OBJECT_NAME(ps.object_id, ps.database_id) AS object_name, \
         CAST(ps.execution_count AS bigint) AS executions, CAST(ps.total_worker_time AS bigint) AS cpu_us, \
         CAST(ps.total_elapsed_time AS bigint) AS duration_us, \
         CONVERT(nvarchar(33), ps.last_execution_time, 126) AS last_execution \
         FROM sys.dm_exec_procedure_stats AS ps WHERE ps.database_id > 4 \
         ORDER BY ps.execution_count DESC"
    )
}

/// Whether `sql` is one of this module's statements, for any `TOP` bound
/// and any database name quoted as [`quote_ident`] quotes it (the
/// collector's allow-list, [`super::queries::is_collector_statement`]).
pub fn is_workload_statement(sql: &str) -> bool {
    let sql = sql.trim();
    if let Some(rest) = sql.strip_prefix("SELECT TOP (") {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let Ok(top) = digits.parse::<u32>() else {
            return false;
        };
        if plan_cache_query(top) == sql || procedure_stats_query(top) == sql {
            return true;
        }
        return database_name(sql).is_some_and(|db| query_store_query(db, top) == sql);
    }
    database_name(sql).is_some_and(|db| query_store_state_query(db) == sql)
}

/// The bracketed database name after the first ` FROM [`.
fn database_name(sql: &str) -> Option<&str> {
    let start = sql.find(" FROM [")? + " FROM ".len();
    super::queries::bracketed(&sql[start..])
}

// ---- collection ----------------------------------------------------------

/// One source's rows, de-duplicated by normalised key.
#[derive(Default)]
struct Tally {
    /// key -> (statement, with this source's counts)
    by_key: HashMap<String, CollectedStatement>,
    order: Vec<String>,
}

/// Reads the enabled workload sources of one server. `server_version` is
/// the inventory's `ProductVersion`; `databases` the databases assessed.
/// Only a lost connection, a timeout, a server error other than a refusal
/// or a limit fails it; refusals are recorded in
/// [`CollectedWorkload::skipped`].
pub async fn collect_workload(
    client: &mut Client,
    target: &str,
    server_version: &str,
    databases: &[String],
    query_timeout: Duration,
    limits: Limits,
    config: WorkloadConfig,
) -> Result<CollectedWorkload, CollectError> {
    let major = major_version(server_version);
    let permissions = permissions_for(major);
    let mut out = CollectedWorkload {
        target: target.to_owned(),
        server_major: major,
        ..CollectedWorkload::default()
    };
    if !config.enabled() {
        return Ok(out);
    }
    let budget = Budget::new(limits);
    budget.arm(&client.meter());
    let mut run = Run {
        client,
        target,
        timeout: query_timeout,
        budget,
        max: config.max_statements,
        skipped: Vec::new(),
    };
    let mut tallies: Vec<Tally> = Vec::new();
    if config.query_store {
        let mut tally = Tally::default();
        let mut info = SourceInfo::new(Source::QueryStore);
        for db in databases {
            let quoted = quote_ident(db);
            let state = run
                .rows(
                    "Query Store state",
                    Some(db),
                    &query_store_state_query(&quoted),
                    permissions.database,
                    |r| int(r, 0),
                )
                .await?;
            // 1 READ_ONLY, 2 READ_WRITE; off (0), in error (3) or refused:
            // nothing to read.
            if !matches!(state.as_deref(), Some([1 | 2])) {
                continue;
            }
            let max = run.max;
            let rows = run
                .rows(
                    "Query Store statements",
                    Some(db),
                    &query_store_query(&quoted, max),
                    permissions.database,
                    |r| normalised_row(r, Source::QueryStore, Some(db)),
                )
                .await?;
            if let Some(rows) = rows {
                info.databases += 1;
                info.add(&mut tally, rows);
            }
        }
        out.sources.push(info);
        tallies.push(tally);
    }
    if config.plan_cache {
        let rows = run
            .rows(
                "plan cache statements",
                None,
                &plan_cache_query(run.max),
                permissions.server,
                |r| normalised_row(r, Source::PlanCache, None),
            )
            .await?;
        if let Some(rows) = rows {
            let mut tally = Tally::default();
            let mut info = SourceInfo::new(Source::PlanCache);
            info.add(&mut tally, rows);
            out.sources.push(info);
            tallies.push(tally);
        }
        if let Some(rows) = run
            .rows(
                "plan cache module statistics",
                None,
                &procedure_stats_query(run.max),
                permissions.server,
                module_use,
            )
            .await?
        {
            out.modules = rows;
        }
    }
    merge(&mut out, tallies, config.max_statements);
    out.skipped = run.skipped;
    Ok(out)
}

impl SourceInfo {
    fn new(source: Source) -> SourceInfo {
        SourceInfo {
            source,
            databases: 0,
            rows: 0,
            rows_without_text: 0,
            first_seen: None,
            last_execution: None,
        }
    }

    /// Counts `rows` into `tally` and this source's interval.
    fn add(
        &mut self,
        tally: &mut Tally,
        rows: Vec<Option<(String, CollectedStatement, Option<String>)>>,
    ) {
        for row in rows {
            self.rows += 1;
            let Some((key, s, first)) = row else {
                self.rows_without_text += 1;
                continue;
            };
            widen(
                &mut self.first_seen,
                first.as_deref(),
                std::cmp::Ordering::Less,
            );
            widen(
                &mut self.last_execution,
                s.last_execution.as_deref(),
                std::cmp::Ordering::Greater,
            );
            match tally.by_key.get_mut(&key) {
                Some(t) => {
                    t.executions = t.executions.saturating_add(s.executions);
                    t.cpu_us = t.cpu_us.saturating_add(s.cpu_us);
                    t.duration_us = t.duration_us.saturating_add(s.duration_us);
                    if s.last_execution > t.last_execution {
                        t.last_execution = s.last_execution;
                    }
                }
                None => {
                    tally.order.push(key.clone());
                    tally.by_key.insert(key, s);
                }
            }
        }
    }
}

/// Keeps in `slot` whichever of it and `candidate` compares as `keep`
/// (ISO 8601 times of one server compare as text).
fn widen(slot: &mut Option<String>, candidate: Option<&str>, keep: std::cmp::Ordering) {
    if let Some(c) = candidate
        && slot.as_deref().is_none_or(|s| c.cmp(s) == keep)
    {
        *slot = Some(c.to_owned());
    }
}

/// Merges the sources' tallies (see the module docs), keeping at most
/// `max` distinct statements.
fn merge(out: &mut CollectedWorkload, tallies: Vec<Tally>, max: u32) {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let mut index: HashMap<String, usize> = HashMap::new();
    for mut tally in tallies {
        for key in tally.order {
            let Some(s) = tally.by_key.remove(&key) else {
                continue;
            };
            match index.get(&key) {
                Some(&i) => {
                    if s.executions > out.statements[i].executions {
                        out.statements[i] = s;
                    }
                }
                None if out.statements.len() >= max => out.statements_dropped += 1,
                None => {
                    index.insert(key, out.statements.len());
                    out.statements.push(s);
                }
            }
        }
    }
}

/// A statement row: its text normalised at once, with its de-duplication
/// key and first execution; `None` when nothing is left of the text.
type NormalisedRow = Option<(String, CollectedStatement, Option<String>)>;

fn normalised_row(r: &Row, source: Source, database: Option<&String>) -> NormalisedRow {
    // The raw text is borrowed from the driver's row and dropped with it.
    let n = normalise(r.try_get::<&str, _>(0).ok().flatten()?);
    if n.text.is_empty() {
        return None;
    }
    let statement = CollectedStatement {
        source,
        database: database.cloned(),
        text: n.text,
        query_hash: optional(r, 1),
        executions: count(r, 2),
        cpu_us: count(r, 3),
        duration_us: count(r, 4),
        last_execution: optional(r, 6),
    };
    Some((n.key, statement, optional(r, 5)))
}

fn module_use(r: &Row) -> ModuleUse {
    ModuleUse {
        database: text(r, 0),
        schema: text(r, 1),
        name: text(r, 2),
        executions: count(r, 3),
        cpu_us: count(r, 4),
        duration_us: count(r, 5),
        last_execution: optional(r, 6),
    }
}

fn count(r: &Row, i: usize) -> u64 {
    u64::try_from(bigint(r, i)).unwrap_or(0)
}

fn optional(r: &Row, i: usize) -> Option<String> {
    r.try_get::<&str, _>(i).ok().flatten().map(str::to_owned)
}

struct Run<'a> {
    client: &'a mut Client,
    target: &'a str,
    timeout: Duration,
    budget: Budget,
    max: u32,
    skipped: Vec<Skipped>,
}

impl Run<'_> {
    /// Runs one statement, at most `max` rows; `Ok(None)` when refused for
    /// lack of `permission` (recorded as skipped).
    async fn rows<T>(
        &mut self,
        step: &'static str,
        database: Option<&String>,
        sql: &str,
        permission: &'static str,
        mut each: impl FnMut(&Row) -> T,
    ) -> Result<Option<Vec<T>>, CollectError> {
        let max = usize::try_from(self.max).unwrap_or(usize::MAX);
        let mut seen = 0usize;
        // The server was asked for TOP (max); a server sending more is held
        // to it here (the rest of the answer is read and dropped).
        let bounded = |r: &Row| {
            seen += 1;
            (seen <= max).then(|| each(r))
        };
        match query(
            self.client,
            self.target,
            step,
            sql,
            self.timeout,
            &mut self.budget,
            bounded,
        )
        .await
        {
            Ok(rows) => Ok(Some(rows.into_iter().flatten().collect())),
            Err(Refusal::Denied(code)) => {
                tracing::warn!(target = %self.target, step, code, permission, "workload step skipped: permission denied");
                self.skipped.push(Skipped {
                    step: step.to_owned(),
                    database: database.cloned(),
                    reason: format!("permission denied (error {code})"),
                    permission: permission.to_owned(),
                });
                Ok(None)
            }
            Err(Refusal::Failed(e)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_chooses_the_permission_model() {
        for (version, server, database) in [
            (
                "16.0.4125.3",
                "VIEW SERVER PERFORMANCE STATE",
                "VIEW DATABASE PERFORMANCE STATE",
            ),
            (
                "17.0.100.1",
                "VIEW SERVER PERFORMANCE STATE",
                "VIEW DATABASE PERFORMANCE STATE",
            ),
            ("15.0.4345.5", "VIEW SERVER STATE", "VIEW DATABASE STATE"),
            ("13.0.1601.5", "VIEW SERVER STATE", "VIEW DATABASE STATE"),
            // Unreadable: the older names, which also grant the views on 2022.
            ("", "VIEW SERVER STATE", "VIEW DATABASE STATE"),
            ("vNext", "VIEW SERVER STATE", "VIEW DATABASE STATE"),
        ] {
            let p = permissions_for(major_version(version));
            assert_eq!((p.server, p.database), (server, database), "{version}");
        }
        assert_eq!(major_version(" 16.0.1 "), Some(16));
        assert_eq!(major_version("x.1"), None);
    }

    /// Statements that ran inside a module are weighed through the module's
    /// statistics; both statement sources must leave them out, or each such
    /// execution would be counted twice. (The TDS peer matches statements by
    /// the views they read, so only the text can show the filter.)
    #[test]
    fn both_statement_sources_leave_out_statements_of_modules() {
        let qs = query_store_query("[Sales]", 10);
        let where_at = qs.find("WHERE q.object_id = 0 GROUP BY").unwrap();
        assert!(where_at > qs.find("FROM [Sales].sys.query_store_query AS q").unwrap());
        assert!(plan_cache_query(10).contains("WHERE t.objectid IS NULL"));
    }

    #[test]
    fn the_allow_list_accepts_these_statements_only() {
        for name in ["Sales", "x]; DROP TABLE y;--", "Ünï ' 名前"] {
            let db = quote_ident(name);
            assert!(is_workload_statement(&query_store_state_query(&db)));
            assert!(is_workload_statement(&query_store_query(&db, 100_000)));
        }
        assert!(is_workload_statement(&plan_cache_query(7)));
        assert!(is_workload_statement(&procedure_stats_query(1)));
        let qs = query_store_query(&quote_ident("Sales"), 10);
        for bad in [
            qs.replace("has_restricted_text = 0", "has_restricted_text = 1"),
            qs.replace("TOP (10)", "TOP (10 PERCENT)"),
            format!("{qs}; DROP TABLE y"),
            plan_cache_query(5).replace("t.objectid IS NULL AND ", ""),
            "SELECT TOP (1) * FROM sys.dm_exec_requests".to_owned(),
        ] {
            assert!(!is_workload_statement(&bad), "{bad}");
        }
    }

    #[test]
    fn statements_are_single_selects_reading_no_session_text() {
        let db = quote_ident("x]; DROP TABLE y;--");
        for sql in [
            query_store_state_query(&db),
            query_store_query(&db, 5),
            plan_cache_query(5),
            procedure_stats_query(5),
        ] {
            assert!(sql.starts_with("SELECT "), "{sql}");
            let outside = sql.replace(&db, "[db]");
            assert!(!outside.contains(';'), "{sql}");
            let lower = outside.to_ascii_lowercase();
            // Live sessions' text (requests, input buffers) is never read.
            for view in [
                "dm_exec_requests",
                "dm_exec_input_buffer",
                "dm_exec_sessions",
            ] {
                assert!(!lower.contains(view), "{sql}");
            }
        }
    }

    fn statement(source: Source, executions: u64) -> CollectedStatement {
        CollectedStatement {
            source,
            database: None,
            text: "SELECT 0".into(),
            query_hash: None,
            executions,
            cpu_us: executions * 10,
            duration_us: 0,
            last_execution: None,
        }
    }

    #[test]
    fn sources_are_summed_within_and_not_across() {
        let mut qs = Tally::default();
        let mut info = SourceInfo::new(Source::QueryStore);
        let row = |e| Some(("k".to_owned(), statement(Source::QueryStore, e), None));
        info.add(&mut qs, vec![row(3), row(4), None]);
        assert_eq!((info.rows, info.rows_without_text), (3, 1));
        let mut pc = Tally::default();
        let mut info = SourceInfo::new(Source::PlanCache);
        info.add(
            &mut pc,
            vec![
                Some(("k".to_owned(), statement(Source::PlanCache, 5), None)),
                Some(("other".to_owned(), statement(Source::PlanCache, 1), None)),
            ],
        );
        let mut out = CollectedWorkload::default();
        merge(&mut out, vec![qs, pc], 10);
        assert_eq!(out.statements.len(), 2);
        // Query Store saw 7, the plan cache 5: 7, not 12.
        assert_eq!(out.statements[0].executions, 7);
        assert_eq!(out.statements[0].source, Source::QueryStore);
        let mut out = CollectedWorkload::default();
        let mut t = Tally::default();
        SourceInfo::new(Source::PlanCache).add(
            &mut t,
            (0..5)
                .map(|i| Some((format!("k{i}"), statement(Source::PlanCache, 1), None)))
                .collect(),
        );
        merge(&mut out, vec![t], 3);
        assert_eq!((out.statements.len(), out.statements_dropped), (3, 2));
    }

    #[test]
    fn debug_shows_no_text_or_names() {
        let mut s = statement(Source::QueryStore, 1);
        s.text = "SELECT canary_col".into();
        s.database = Some("canary_db".into());
        let w = CollectedWorkload {
            statements: vec![s.clone()],
            ..CollectedWorkload::default()
        };
        let shown = format!("{s:?} {w:?}");
        assert!(!shown.contains("canary"), "{shown}");
    }
}
