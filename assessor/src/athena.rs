//! The run as query tables: findings, objects and databases as
//! newline-delimited JSON under a date-partitioned layout, which Athena
//! reads through the Glue tables of `cloudformation/estate.yaml` (and
//! DuckDB or Spark read as they are):
//!
//! ```text
//! PREFIX/athena/findings/run_date=2026-12-05/RUN-ID.json
//! PREFIX/athena/objects/run_date=2026-12-05/RUN-ID.json
//! PREFIX/athena/databases/run_date=2026-12-05/RUN-ID.json
//! ```
//!
//! Guarantees:
//! - No code: rows carry ids, names, counts and statuses, never a snippet
//!   or an excerpt, so the query layer holds less than the report.
//! - One object per table per run, named after the run: written once
//!   (`If-None-Match`), never overwritten, so a table is the union of runs.
//! - The columns are exactly the Glue tables' (`tests/athena_tables.rs`
//!   compares the two), so a query written for Athena runs on the files.
//!
//! Partitioned by date only: targets are free-form names, which Athena's
//! partition projection cannot enumerate, so `target` is a column and every
//! run is queryable the moment it lands, with no crawler or `MSCK REPAIR`.

use std::io::{self, Write};

use serde::Serialize;

use crate::collect::inventory::Inventory;
use crate::findings::Finding;
use crate::report::Summary;

/// The folder under the report prefix.
pub const FOLDER: &str = "athena";
/// The tables, in the order they are uploaded.
pub const TABLES: [&str; 3] = ["findings", "objects", "databases"];

/// One finding.
#[derive(Debug, Serialize)]
pub struct FindingRow<'a> {
    pub run_id: &'a str,
    pub target: &'a str,
    pub database_name: Option<&'a str>,
    pub file: &'a str,
    pub line: u32,
    pub object_schema: Option<&'a str>,
    pub object_name: Option<&'a str>,
    pub object_kind: &'a str,
    pub feature: &'a str,
    pub feature_group: &'a str,
    pub status: &'a str,
    pub complexity: &'a str,
    pub effort_minutes: u32,
    pub in_dynamic_sql: bool,
}

/// One analysed object (or a file's top-level code).
#[derive(Debug, Serialize)]
pub struct ObjectRow<'a> {
    pub run_id: &'a str,
    pub target: &'a str,
    pub database_name: Option<&'a str>,
    pub file: &'a str,
    pub object_schema: Option<&'a str>,
    pub object_name: Option<&'a str>,
    pub object_kind: &'a str,
    pub ready: bool,
    pub findings: u64,
    pub not_supported: u64,
    pub effort_minutes: u64,
    pub code_sha256: Option<&'a str>,
}

/// One user database of an assessed server.
#[derive(Debug, Serialize)]
pub struct DatabaseRow<'a> {
    pub run_id: &'a str,
    pub target: &'a str,
    pub database_name: &'a str,
    pub server_version: &'a str,
    pub edition: &'a str,
    pub compatibility_level: i32,
    pub recovery_model: &'a str,
    pub collation: &'a str,
    pub data_mb: i64,
    pub log_mb: i64,
}

/// The run's query tables, each written on demand: the deliver stage
/// streams them to S3 one at a time ([`crate::deliver::upload_tables`]), so
/// the findings of a large workload are never held a second time as NDJSON.
pub struct Tables<'a> {
    pub run_id: &'a str,
    /// `YYYY-MM-DD` (UTC).
    pub run_date: &'a str,
    pub findings: &'a [Finding],
    pub summary: &'a Summary,
    pub inventories: &'a [Inventory],
}

/// Counts only: findings hold customer code (their snippets).
impl std::fmt::Debug for Tables<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tables")
            .field("run_id", &self.run_id)
            .field("run_date", &self.run_date)
            .field("findings", &self.findings.len())
            .field("objects", &self.summary.objects.len())
            .field("inventories", &self.inventories.len())
            .finish()
    }
}

impl Tables<'_> {
    /// The key of `table` (one of [`TABLES`]) under the report prefix.
    pub fn key(&self, table: &str) -> String {
        format!(
            "{FOLDER}/{table}/run_date={}/{}.json",
            self.run_date, self.run_id
        )
    }

    /// Writes `table` (one of [`TABLES`]) as newline-delimited JSON. Any
    /// other name is an error, never an empty table uploaded as if real.
    pub fn write(&self, table: &str, out: &mut dyn Write) -> io::Result<()> {
        match table {
            "findings" => self.write_findings(out),
            "objects" => self.write_objects(out),
            "databases" => self.write_databases(out),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not one of the query tables",
            )),
        }
    }

    fn write_findings(&self, out: &mut dyn Write) -> io::Result<()> {
        let run_id = self.run_id;
        for f in self.findings {
            let (target, database) = locate(&f.file, self.inventories);
            ndjson(
                out,
                &FindingRow {
                    run_id,
                    target,
                    database_name: database,
                    file: &f.file,
                    line: f.line,
                    object_schema: f.object.as_ref().and_then(|o| o.schema.as_deref()),
                    object_name: f.object.as_ref().map(|o| o.name.as_str()),
                    object_kind: f
                        .object
                        .as_ref()
                        .map_or("script", |o| crate::report::kind_str(o.kind)),
                    feature: &f.feature,
                    feature_group: &f.group,
                    status: f.status.as_str(),
                    complexity: complexity_word(f.complexity),
                    effort_minutes: f.effort_minutes,
                    in_dynamic_sql: f.in_dynamic_sql,
                },
            )?;
        }
        Ok(())
    }

    fn write_objects(&self, out: &mut dyn Write) -> io::Result<()> {
        let run_id = self.run_id;
        for o in &self.summary.objects {
            let (target, database) = locate(&o.file, self.inventories);
            ndjson(
                out,
                &ObjectRow {
                    run_id,
                    target,
                    database_name: database,
                    file: &o.file,
                    object_schema: o.object.as_ref().and_then(|o| o.schema.as_deref()),
                    object_name: o.object.as_ref().map(|o| o.name.as_str()),
                    object_kind: o
                        .object
                        .as_ref()
                        .map_or("script", |o| crate::report::kind_str(o.kind)),
                    ready: o.ready,
                    findings: o.findings as u64,
                    not_supported: o.by_status.not_supported as u64,
                    effort_minutes: o.effort_minutes,
                    code_sha256: o.code_sha256.as_deref(),
                },
            )?;
        }
        Ok(())
    }

    fn write_databases(&self, out: &mut dyn Write) -> io::Result<()> {
        for inv in self.inventories {
            for db in &inv.databases {
                ndjson(
                    out,
                    &DatabaseRow {
                        run_id: self.run_id,
                        target: &inv.target,
                        database_name: &db.name,
                        server_version: &inv.server.version,
                        edition: &inv.server.edition,
                        compatibility_level: db.compatibility_level,
                        recovery_model: &db.recovery_model,
                        collation: &db.collation,
                        data_mb: db.data_mb,
                        log_mb: db.log_mb,
                    },
                )?;
            }
        }
        Ok(())
    }
}

/// The target and database a report path names (`SERVER/DB.schema.name.sql`
/// or `SERVER/DB`), as `assessor report merge` reads them: the longest target
/// name followed by `/` (names may hold `/`), then the longest database of
/// its inventory that fits (names may hold `.`), else the part before the
/// first `.` (`msdb` for an Agent job step).
fn locate<'f>(file: &'f str, inventories: &[Inventory]) -> (&'f str, Option<&'f str>) {
    let inventory = inventories
        .iter()
        .filter(|i| {
            file.strip_prefix(i.target.as_str())
                .is_some_and(|r| r.starts_with('/'))
        })
        .max_by_key(|i| i.target.len());
    let (target, rest) = match inventory {
        Some(i) => file.split_at(i.target.len()),
        None => file.split_once('/').map_or((file, ""), |(t, r)| (t, r)),
    };
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let known = inventory
        .and_then(|i| database_of(rest, i.databases.iter().map(|d| d.name.as_str())))
        .map(|name| &rest[..name.len()]);
    let database = known.or_else(|| {
        let first = rest.split('.').next().unwrap_or(rest);
        (!first.is_empty()).then_some(first)
    });
    (target, database)
}

/// The word JSON reports use for a complexity.
fn complexity_word(c: crate::findings::Complexity) -> &'static str {
    use crate::findings::Complexity;
    match c {
        Complexity::Low => "low",
        Complexity::Medium => "medium",
        Complexity::High => "high",
    }
}

fn ndjson(out: &mut dyn Write, row: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, row)?;
    out.write_all(b"\n")
}

/// The database a report path names after its `SERVER/`: `rest` is the
/// database's name, or starts with it and a dot (`DB.schema.name.sql`);
/// with dotted database names the longest match wins.
pub(crate) fn database_of<'n>(rest: &str, names: impl Iterator<Item = &'n str>) -> Option<&'n str> {
    names
        .filter(|name| rest == *name || rest.strip_prefix(name).is_some_and(|r| r.starts_with('.')))
        .max_by_key(|name| name.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_database_name_wins_and_prefixes_alone_do_not_match() {
        let names = ["Sales", "Sales.Archive", "Other"];
        let of = |rest| database_of(rest, names.iter().copied());
        assert_eq!(of("Sales.dbo.p.sql"), Some("Sales"));
        assert_eq!(of("Sales"), Some("Sales"));
        assert_eq!(of("Sales.Archive.dbo.q.sql"), Some("Sales.Archive"));
        assert_eq!(of("SalesHistory.dbo.p.sql"), None);
        assert_eq!(of("msdb.nightly.step1.sql"), None);
    }
}
