//! The catalog queries and the collection that runs them.
//!
//! Guarantees:
//! - Only the SELECT statements in this file are ever sent (a test records
//!   every statement the server receives and checks each against this list).
//! - Database names reach SQL only through [`super::sql::quote_ident`].
//! - Queries are batched per database: round trips grow with the number of
//!   databases, not the number of objects. Rows are streamed.
//! - A step refused for lack of permission is recorded in
//!   [`Inventory::skipped`] with the permission it needs; any other failure
//!   fails the collection (never a half inventory reported as complete).

use std::time::Duration;

use futures_util::TryStreamExt;
use tiberius::{QueryItem, Row};

use super::connect::Client;
use super::inventory::{
    DatabaseInventory, Inventory, JobStep, ModuleDef, ServerInfo, Setting, Skipped,
};
use super::sql::quote_ident;

pub const SERVER_QUERY: &str = "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS version, \
CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition, \
CAST(SERVERPROPERTY('ProductLevel') AS nvarchar(128)) AS product_level, \
CAST(SERVERPROPERTY('Collation') AS nvarchar(128)) AS collation, \
CAST(ISNULL(SERVERPROPERTY('IsClustered'), 0) AS int) AS is_clustered, \
CAST(ISNULL(SERVERPROPERTY('IsHadrEnabled'), 0) AS int) AS hadr_enabled";

pub const CONFIGURATIONS_QUERY: &str = "SELECT name, CAST(value_in_use AS nvarchar(64)) AS value \
FROM sys.configurations ORDER BY name";

pub const DATABASES_QUERY: &str = "SELECT name, CAST(compatibility_level AS int) AS compatibility_level, \
collation_name, recovery_model_desc FROM sys.databases \
WHERE database_id > 4 AND state_desc = N'ONLINE' ORDER BY name";

pub const JOB_STEPS_QUERY: &str = "SELECT j.name, s.step_id, s.subsystem, s.command \
FROM msdb.dbo.sysjobs AS j JOIN msdb.dbo.sysjobsteps AS s ON s.job_id = j.job_id \
ORDER BY j.name, s.step_id";

/// Object counts in one database (`db` already quoted).
pub fn objects_query(db: &str) -> String {
    format!(
        "SELECT o.type_desc, COUNT_BIG(*) AS n FROM {db}.sys.objects AS o \
         WHERE o.is_ms_shipped = 0 GROUP BY o.type_desc ORDER BY o.type_desc"
    )
}

/// Every module definition in one database (`db` already quoted).
pub fn modules_query(db: &str) -> String {
    format!(
        "SELECT s.name AS schema_name, o.name AS object_name, o.type_desc, m.definition \
         FROM {db}.sys.sql_modules AS m \
         JOIN {db}.sys.objects AS o ON o.object_id = m.object_id \
         JOIN {db}.sys.schemas AS s ON s.schema_id = o.schema_id \
         WHERE o.is_ms_shipped = 0 ORDER BY s.name, o.name"
    )
}

/// `sys.configurations` defaults for the options an assessment cares about.
const CONFIG_DEFAULTS: &[(&str, &str)] = &[
    ("clr enabled", "0"),
    ("cross db ownership chaining", "0"),
    ("xp_cmdshell", "0"),
    ("Ole Automation Procedures", "0"),
    ("Database Mail XPs", "0"),
    ("Ad Hoc Distributed Queries", "0"),
    ("max degree of parallelism", "0"),
    ("cost threshold for parallelism", "5"),
    ("remote access", "1"),
    ("filestream access level", "0"),
    ("contained database authentication", "0"),
    ("nested triggers", "1"),
    ("default language", "0"),
    ("two digit year cutoff", "2049"),
];

/// Why collection failed. Names the target and the step, never data.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(
        "{target}: the connection was lost during {step}; nothing from this run is reported as complete: {detail}"
    )]
    ConnectionLost {
        target: String,
        step: &'static str,
        detail: String,
    },
    #[error(
        "{target}: {step} took longer than {seconds} s; raise timeouts.query_seconds or check the server's load"
    )]
    Timeout {
        target: String,
        step: &'static str,
        seconds: u64,
    },
    #[error("{target}: {step} failed with server error {code}")]
    Server {
        target: String,
        step: &'static str,
        code: u32,
    },
    #[error("{target}: {step} returned an answer of an unexpected shape (column {column})")]
    Shape {
        target: String,
        step: &'static str,
        column: usize,
    },
}

/// SQL Server errors that mean "not allowed", so the step is skipped.
const PERMISSION_ERRORS: &[u32] = &[229, 230, 262, 297, 300, 916, 15247];

/// Runs one collection over an open connection.
pub async fn collect(
    client: &mut Client,
    target: &str,
    only_databases: &[String],
    query_timeout: Duration,
) -> Result<Inventory, CollectError> {
    let mut c = Collector {
        client,
        target,
        timeout: query_timeout,
        inventory: Inventory::default(),
        current_db: None,
    };
    c.inventory.target = target.to_owned();

    let server = c
        .rows(
            "server properties",
            SERVER_QUERY.to_owned(),
            "none (public)",
        )
        .await?;
    if let Some(row) = server.as_ref().and_then(|rows| rows.first()) {
        c.inventory.server = server_info(row);
    }
    if let Some(rows) = c
        .rows(
            "configurations",
            CONFIGURATIONS_QUERY.to_owned(),
            "none (public)",
        )
        .await?
    {
        c.inventory.configurations = rows
            .iter()
            .map(|r| {
                let (name, value) = (text(r, 0), text(r, 1));
                let non_default = CONFIG_DEFAULTS
                    .iter()
                    .any(|(n, d)| n.eq_ignore_ascii_case(&name) && *d != value);
                Setting {
                    name,
                    value,
                    non_default,
                }
            })
            .collect();
    }
    if let Some(rows) = c
        .rows(
            "SQL Agent job steps",
            JOB_STEPS_QUERY.to_owned(),
            "SQLAgentReaderRole in msdb",
        )
        .await?
    {
        c.inventory.job_steps = rows
            .iter()
            .map(|r| JobStep {
                job: text(r, 0),
                step_id: int(r, 1),
                subsystem: text(r, 2),
                command: text(r, 3),
            })
            .collect();
    }
    let databases = c
        .rows("databases", DATABASES_QUERY.to_owned(), "VIEW ANY DATABASE")
        .await?
        .unwrap_or_default();
    for row in &databases {
        let name = text(row, 0);
        if !only_databases.is_empty()
            && !only_databases.iter().any(|d| d.eq_ignore_ascii_case(&name))
        {
            continue;
        }
        let mut db = DatabaseInventory {
            name: name.clone(),
            compatibility_level: int(row, 1),
            collation: text(row, 2),
            recovery_model: text(row, 3),
            ..DatabaseInventory::default()
        };
        let quoted = quote_ident(&name);
        c.current_db = Some(name.clone());
        if let Some(rows) = c
            .rows(
                "object counts",
                objects_query(&quoted),
                "VIEW ANY DEFINITION, CONNECT ANY DATABASE",
            )
            .await?
        {
            db.object_counts = rows.iter().map(|r| (text(r, 0), bigint(r, 1))).collect();
        }
        if let Some(rows) = c
            .rows(
                "module definitions",
                modules_query(&quoted),
                "VIEW ANY DEFINITION, CONNECT ANY DATABASE",
            )
            .await?
        {
            db.modules = rows
                .iter()
                .map(|r| ModuleDef {
                    schema: text(r, 0),
                    name: text(r, 1),
                    kind: text(r, 2),
                    definition: r.get::<&str, _>(3).map(str::to_owned),
                })
                .collect();
        }
        c.current_db = None;
        c.inventory.databases.push(db);
    }
    Ok(c.inventory)
}

struct Collector<'a> {
    client: &'a mut Client,
    target: &'a str,
    timeout: Duration,
    inventory: Inventory,
    current_db: Option<String>,
}

impl Collector<'_> {
    /// Runs one query; `Ok(None)` when it was skipped for lack of permission.
    async fn rows(
        &mut self,
        step: &'static str,
        sql: String,
        permission: &'static str,
    ) -> Result<Option<Vec<Row>>, CollectError> {
        self.inventory.round_trips += 1;
        match query(self.client, self.target, step, &sql, self.timeout).await {
            Err(Refusal::Denied(code)) => {
                tracing::warn!(target = %self.target, step, code, "collection step skipped: permission denied");
                self.inventory.skipped.push(Skipped {
                    step,
                    database: self.current_db.clone(),
                    reason: format!("permission denied (error {code})"),
                    permission,
                });
                Ok(None)
            }
            Err(Refusal::Failed(e)) => Err(e),
            Ok(rows) => Ok(Some(rows)),
        }
    }
}

/// Why [`query`] returned no rows.
pub(super) enum Refusal {
    /// The server refused for lack of permission (its error number).
    Denied(u32),
    Failed(CollectError),
}

/// Runs one read-only query with a timeout; a refusal for lack of
/// permission is told apart so the caller can skip the step.
pub(super) async fn query(
    client: &mut Client,
    target: &str,
    step: &'static str,
    sql: &str,
    timeout: Duration,
) -> Result<Vec<Row>, Refusal> {
    let run = async {
        client
            .simple_query(sql)
            .await?
            .try_filter_map(|item| async move {
                Ok(match item {
                    QueryItem::Row(row) => Some(row),
                    QueryItem::Metadata(_) => None,
                })
            })
            .try_collect::<Vec<Row>>()
            .await
    };
    let target = target.to_owned();
    match tokio::time::timeout(timeout, run).await {
        Err(_) => Err(Refusal::Failed(CollectError::Timeout {
            target,
            step,
            seconds: timeout.as_secs(),
        })),
        Ok(Ok(rows)) => Ok(rows),
        Ok(Err(tiberius::error::Error::Server(e))) if PERMISSION_ERRORS.contains(&e.code()) => {
            Err(Refusal::Denied(e.code()))
        }
        Ok(Err(tiberius::error::Error::Server(e))) => Err(Refusal::Failed(CollectError::Server {
            target,
            step,
            code: e.code(),
        })),
        Ok(Err(e)) => Err(Refusal::Failed(CollectError::ConnectionLost {
            target,
            step,
            detail: e.to_string(),
        })),
    }
}

/// A [`SERVER_QUERY`] row.
pub(super) fn server_info(row: &Row) -> ServerInfo {
    ServerInfo {
        version: text(row, 0),
        edition: text(row, 1),
        product_level: text(row, 2),
        collation: text(row, 3),
        is_clustered: int(row, 4) != 0,
        hadr_enabled: int(row, 5) != 0,
    }
}

pub(super) fn text(row: &Row, i: usize) -> String {
    row.try_get::<&str, _>(i)
        .ok()
        .flatten()
        .unwrap_or_default()
        .to_owned()
}

pub(super) fn int(row: &Row, i: usize) -> i32 {
    row.try_get::<i32, _>(i).ok().flatten().unwrap_or_default()
}

fn bigint(row: &Row, i: usize) -> i64 {
    row.try_get::<i64, _>(i)
        .ok()
        .flatten()
        .or_else(|| row.try_get::<i32, _>(i).ok().flatten().map(i64::from))
        .unwrap_or_default()
}

/// Every statement the collector may send, for the read-only test.
pub fn is_collector_statement(sql: &str) -> bool {
    let trimmed = sql.trim();
    [
        SERVER_QUERY,
        CONFIGURATIONS_QUERY,
        DATABASES_QUERY,
        JOB_STEPS_QUERY,
        super::permissions::PERMISSIONS_QUERY,
    ]
    .contains(&trimmed)
        || trimmed.starts_with("SELECT o.type_desc, COUNT_BIG(*) AS n FROM [")
        || trimmed.starts_with(
            "SELECT s.name AS schema_name, o.name AS object_name, o.type_desc, m.definition",
        )
}
