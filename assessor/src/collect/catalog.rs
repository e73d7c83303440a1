//! The collection: runs the statements of [`super::queries`] and turns
//! their rows into an [`Inventory`].
//!
//! Guarantees:
//! - Only the statements of [`super::queries`] are ever sent (a test records
//!   every statement the server receives and checks each against
//!   [`is_collector_statement`]).
//! - Round trips grow with the number of databases, not the number of
//!   objects: a fixed set of server statements, then a fixed set per
//!   database. Rows are streamed.
//! - Catalog metadata only (see [`super::queries`]): job step commands of
//!   T-SQL steps only, and the host step (VIEW SERVER STATE) only with the
//!   target's `host_resources` opt-in.
//! - A step refused for lack of permission is recorded in
//!   [`Inventory::skipped`] with the permission it needs; any other failure
//!   fails the collection (never a half inventory reported as complete).
//! - What one server may send is bounded ([`Limits`]): one value, the rows
//!   of one query and the bytes of the whole target. Each row is checked as
//!   it arrives and turned into its inventory entry at once (no result is
//!   held twice), and below the driver the connection's [`Meter`] stops
//!   reading when one row takes more bytes than the value limit allows, so
//!   an oversized value is never buffered whole. Past a limit the target
//!   fails with [`CollectError::Limit`], which names the limit, the step and
//!   the key to raise, never the data.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use futures_util::TryStreamExt;
use tiberius::{ColumnData, QueryItem, Row};

use super::connect::{Client, Meter, Tripped};
use super::inventory::{
    Audit, Column, DatabaseInventory, EndpointInfo, ExternalReference, Inventory, JobStep,
    LinkedServer, LoginCount, ModuleDef, ServerInfo, ServerTrigger, Setting, Skipped, Table,
};
pub use super::queries::is_collector_statement;
use super::queries::{self as q, SERVER_QUERY};
use super::sql::quote_ident;
use crate::config::CollectConfig;
pub use crate::config::Limits;

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

/// The permission each step needs, as the skipped record names it.
const PUBLIC: &str = "none (public)";
const SERVER_STATE: &str = "VIEW SERVER STATE";
const ANY_DEFINITION: &str = "VIEW ANY DEFINITION";
const IN_DATABASE: &str = "VIEW ANY DEFINITION, CONNECT ANY DATABASE";

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
    #[error(
        "{target}: {step}: {limit}; the assessment of this server was stopped and nothing more \
         was read from it. If the server really holds that much, raise limits.{key} in the job \
         config",
        key = limit.key()
    )]
    Limit {
        target: String,
        step: &'static str,
        limit: LimitExceeded,
    },
}

/// Which limit an answer went past, and its configured value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitExceeded {
    /// One value (or, on the wire, one row) was larger than this many bytes.
    Value(u64),
    /// One query returned more rows than this.
    Rows(u64),
    /// The server sent more than this many bytes in all.
    Target(u64),
}

impl LimitExceeded {
    /// The job config key that sets this limit (under `[limits]`).
    pub fn key(self) -> &'static str {
        match self {
            LimitExceeded::Value(_) => "max_value_bytes",
            LimitExceeded::Rows(_) => "max_rows_per_query",
            LimitExceeded::Target(_) => "max_target_bytes",
        }
    }
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitExceeded::Value(n) => write!(
                f,
                "the server sent a value larger than limits.max_value_bytes ({n} bytes)"
            ),
            LimitExceeded::Rows(n) => write!(
                f,
                "the server sent more rows than limits.max_rows_per_query ({n})"
            ),
            LimitExceeded::Target(n) => write!(
                f,
                "the server sent more than limits.max_target_bytes ({n} bytes) in all"
            ),
        }
    }
}

/// Bytes one row may take on the wire besides its one large value: every
/// other column of the collector's queries is a name (`sysname`, 256 bytes)
/// or a number, and the TDS and TLS framing around them.
const ROW_OVERHEAD: u64 = 64 << 10;
/// The same for the whole connection: the answers' metadata, DONE tokens,
/// framing.
const TARGET_OVERHEAD: u64 = 16 << 20;

/// What one target may still send: the [`Limits`] and what was counted.
#[derive(Debug, Clone)]
pub struct Budget {
    limits: Limits,
    collected: u64,
}

impl Budget {
    pub fn new(limits: Limits) -> Budget {
        Budget {
            limits,
            collected: 0,
        }
    }

    /// Arms the connection's meter. Text arrives as UTF-16, at most twice
    /// its UTF-8 size, so a row past twice the value limit (plus the
    /// framing) holds a value past the limit: the read stops there, before
    /// the driver has buffered the value whole.
    pub(super) fn arm(&self, meter: &Meter) {
        let l = &self.limits;
        meter.arm(
            l.max_value_bytes
                .saturating_mul(2)
                .saturating_add(ROW_OVERHEAD),
            l.max_target_bytes
                .saturating_mul(2)
                .saturating_add(TARGET_OVERHEAD),
        );
    }

    /// Counts one decoded row against the value and target limits.
    fn count(&mut self, row: &Row) -> Result<(), LimitExceeded> {
        let mut bytes = 0u64;
        for (_, data) in row.cells() {
            let n = match data {
                ColumnData::String(Some(s)) => s.len(),
                ColumnData::Binary(Some(b)) => b.len(),
                _ => 8,
            };
            let n = u64::try_from(n).unwrap_or(u64::MAX);
            if n > self.limits.max_value_bytes {
                return Err(LimitExceeded::Value(self.limits.max_value_bytes));
            }
            bytes = bytes.saturating_add(n);
        }
        self.collected = self.collected.saturating_add(bytes);
        if self.collected > self.limits.max_target_bytes {
            return Err(LimitExceeded::Target(self.limits.max_target_bytes));
        }
        Ok(())
    }

    /// The limit a tripped meter stands for.
    fn tripped(&self, tripped: Tripped) -> LimitExceeded {
        match tripped {
            Tripped::Row => LimitExceeded::Value(self.limits.max_value_bytes),
            Tripped::Total => LimitExceeded::Target(self.limits.max_target_bytes),
        }
    }
}

/// SQL Server errors that mean "not allowed", so the step is skipped.
const PERMISSION_ERRORS: &[u32] = &[229, 230, 262, 297, 300, 916, 15247];

/// Runs one collection over an open connection, with the default
/// [`Limits`].
pub async fn collect(
    client: &mut Client,
    target: &str,
    only_databases: &[String],
    query_timeout: Duration,
) -> Result<Inventory, CollectError> {
    collect_within(
        client,
        target,
        only_databases,
        query_timeout,
        Limits::default(),
    )
    .await
}

/// Runs one collection over an open connection; the server's answers must
/// stay within `limits`.
pub async fn collect_within(
    client: &mut Client,
    target: &str,
    only_databases: &[String],
    query_timeout: Duration,
    limits: Limits,
) -> Result<Inventory, CollectError> {
    collect_with_options(
        client,
        target,
        only_databases,
        query_timeout,
        limits,
        CollectConfig::default(),
    )
    .await
}

/// Runs one collection within `limits` with the target's opt-ins
/// (`[targets.collect]`): without `host_resources` no statement needing
/// VIEW SERVER STATE is sent.
pub async fn collect_with_options(
    client: &mut Client,
    target: &str,
    only_databases: &[String],
    query_timeout: Duration,
    limits: Limits,
    options: CollectConfig,
) -> Result<Inventory, CollectError> {
    let budget = Budget::new(limits);
    budget.arm(&client.meter());
    let mut c = Collector {
        client,
        target,
        timeout: query_timeout,
        budget,
        options,
        inventory: Inventory::default(),
        current_db: None,
    };
    c.inventory.target = target.to_owned();
    c.server().await?;
    let databases = c
        .rows(
            "databases",
            q::DATABASES_QUERY.to_owned(),
            "VIEW ANY DATABASE",
            database_row,
        )
        .await?
        .unwrap_or_default();
    for db in databases {
        if !only_databases.is_empty()
            && !only_databases
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&db.name))
        {
            continue;
        }
        let db = c.database(db).await?;
        c.inventory.databases.push(db);
    }
    Ok(c.inventory)
}

struct Collector<'a> {
    client: &'a mut Client,
    target: &'a str,
    timeout: Duration,
    budget: Budget,
    options: CollectConfig,
    inventory: Inventory,
    current_db: Option<String>,
}

impl Collector<'_> {
    /// The server-level steps.
    async fn server(&mut self) -> Result<(), CollectError> {
        if let Some(info) = self
            .rows(
                "server properties",
                SERVER_QUERY.to_owned(),
                PUBLIC,
                server_info,
            )
            .await?
            .and_then(|rows| rows.into_iter().next())
        {
            self.inventory.server = info;
        }
        // VIEW SERVER STATE also reads every session's SQL text: the host
        // step runs only when the target opts in.
        if !self.options.host_resources {
            tracing::debug!(target = %self.target, "host resources not collected: not opted in");
        } else if let Some((cpus, memory)) = self
            .rows(
                "host resources",
                q::HOST_QUERY.to_owned(),
                SERVER_STATE,
                |r| (int(r, 0), bigint(r, 1)),
            )
            .await?
            .and_then(|rows| rows.into_iter().next())
        {
            self.inventory.server.cpu_count = Some(cpus);
            self.inventory.server.memory_mb = Some(memory);
        }
        if let Some(rows) = self
            .rows(
                "availability groups",
                q::AVAILABILITY_GROUPS_QUERY.to_owned(),
                ANY_DEFINITION,
                |r| text(r, 0),
            )
            .await?
        {
            self.inventory.server.availability_groups = rows;
        }
        if let Some(rows) = self
            .rows(
                "configurations",
                q::CONFIGURATIONS_QUERY.to_owned(),
                PUBLIC,
                setting,
            )
            .await?
        {
            self.inventory.configurations = rows;
        }
        if let Some(rows) = self
            .rows("logins", q::LOGINS_QUERY.to_owned(), ANY_DEFINITION, |r| {
                LoginCount {
                    kind: text(r, 0),
                    count: bigint(r, 1),
                    disabled: bigint(r, 2),
                }
            })
            .await?
        {
            self.inventory.logins = rows;
        }
        if let Some(rows) = self
            .rows(
                "linked servers",
                q::LINKED_SERVERS_QUERY.to_owned(),
                ANY_DEFINITION,
                |r| LinkedServer {
                    name: text(r, 0),
                    product: text(r, 1),
                    provider: text(r, 2),
                },
            )
            .await?
        {
            self.inventory.linked_servers = rows;
        }
        if let Some(rows) = self
            .rows(
                "server triggers",
                q::SERVER_TRIGGERS_QUERY.to_owned(),
                ANY_DEFINITION,
                |r| ServerTrigger {
                    name: text(r, 0),
                    disabled: int(r, 1) != 0,
                },
            )
            .await?
        {
            self.inventory.server_triggers = rows;
        }
        if let Some(rows) = self
            .rows(
                "endpoints",
                q::ENDPOINTS_QUERY.to_owned(),
                ANY_DEFINITION,
                |r| EndpointInfo {
                    name: text(r, 0),
                    protocol: text(r, 1),
                    kind: text(r, 2),
                    state: text(r, 3),
                },
            )
            .await?
        {
            self.inventory.endpoints = rows;
        }
        if let Some(rows) = self
            .rows(
                "credentials",
                q::CREDENTIALS_QUERY.to_owned(),
                ANY_DEFINITION,
                |r| text(r, 0),
            )
            .await?
        {
            self.inventory.credentials = rows;
        }
        if let Some(rows) = self
            .rows("audits", q::AUDITS_QUERY.to_owned(), ANY_DEFINITION, |r| {
                Audit {
                    name: text(r, 0),
                    kind: text(r, 1),
                    enabled: int(r, 2) != 0,
                }
            })
            .await?
        {
            self.inventory.audits = rows;
        }
        if let Some(rows) = self
            .rows(
                "SQL Agent job steps",
                q::JOB_STEPS_QUERY.to_owned(),
                "SQLAgentReaderRole in msdb",
                |r| JobStep {
                    job: text(r, 0),
                    step_id: int(r, 1),
                    subsystem: text(r, 2),
                    command: text(r, 3),
                },
            )
            .await?
        {
            self.inventory.job_steps = rows;
        }
        // The other steps are listed without their command, which this
        // query does not select: it never leaves the server.
        if let Some(rows) = self
            .rows(
                "SQL Agent job steps (other subsystems)",
                q::OTHER_JOB_STEPS_QUERY.to_owned(),
                "SQLAgentReaderRole in msdb",
                |r| JobStep {
                    job: text(r, 0),
                    step_id: int(r, 1),
                    subsystem: text(r, 2),
                    command: String::new(),
                },
            )
            .await?
        {
            self.inventory.job_steps.extend(rows);
            self.inventory
                .job_steps
                .sort_by(|a, b| (&a.job, a.step_id).cmp(&(&b.job, b.step_id)));
        }
        Ok(())
    }

    /// The per-database steps, for a database from [`database_row`].
    async fn database(
        &mut self,
        mut db: DatabaseInventory,
    ) -> Result<DatabaseInventory, CollectError> {
        let quoted = quote_ident(&db.name);
        self.current_db = Some(db.name.clone());
        if let Some(rows) = self
            .rows(
                "object counts",
                q::objects_query(&quoted),
                IN_DATABASE,
                count_row,
            )
            .await?
        {
            db.object_counts = rows.into_iter().collect();
        }
        if let Some(values) = self
            .rows(
                "feature counts",
                q::features_query(&quoted),
                IN_DATABASE,
                |r| {
                    (0..q::FEATURE_COUNTS.len())
                        .map(|i| bigint(r, i))
                        .collect::<Vec<_>>()
                },
            )
            .await?
            .and_then(|rows| rows.into_iter().next())
        {
            db.features = q::FEATURE_COUNTS
                .iter()
                .zip(values)
                .map(|((feature, _), n)| ((*feature).to_owned(), n))
                .collect();
        }
        if let Some(rows) = self
            .rows("tables", q::tables_query(&quoted), IN_DATABASE, |r| Table {
                schema: text(r, 0),
                name: text(r, 1),
                memory_optimized: int(r, 2) != 0,
                // 2 = SYSTEM_VERSIONED_TEMPORAL_TABLE (1 is its history table).
                temporal: int(r, 3) == 2,
                filetable: int(r, 4) != 0,
                partitioned: int(r, 5) != 0,
                columnstore: int(r, 6) != 0,
                columns: Vec::new(),
            })
            .await?
        {
            db.tables = rows;
        }
        if let Some(rows) = self
            .rows("columns", q::columns_query(&quoted), IN_DATABASE, |r| {
                ((text(r, 0), text(r, 1)), column(r))
            })
            .await?
        {
            attach_columns(&mut db.tables, rows);
        }
        if let Some(rows) = self
            .rows("indexes", q::indexes_query(&quoted), IN_DATABASE, count_row)
            .await?
        {
            db.indexes = rows.into_iter().collect();
        }
        if let Some(rows) = self
            .rows(
                "cross-database references",
                q::references_query(&quoted),
                IN_DATABASE,
                |r| ExternalReference {
                    schema: text(r, 0),
                    object: text(r, 1),
                    kind: text(r, 2),
                    server: optional_text(r, 3),
                    database: optional_text(r, 4),
                    count: bigint(r, 5),
                },
            )
            .await?
        {
            db.references = rows;
        }
        if let Some(rows) = self
            .rows(
                "module definitions",
                q::modules_query(&quoted),
                IN_DATABASE,
                |r| {
                    let definition = r.get::<&str, _>(3).map(str::to_owned);
                    ModuleDef {
                        schema: text(r, 0),
                        name: text(r, 1),
                        kind: text(r, 2),
                        encrypted: definition.is_none(),
                        definition,
                    }
                },
            )
            .await?
        {
            db.modules = rows;
        }
        self.current_db = None;
        Ok(db)
    }

    /// Runs one query, turning each row into a `T` as it arrives;
    /// `Ok(None)` when it was skipped for lack of permission.
    async fn rows<T>(
        &mut self,
        step: &'static str,
        sql: String,
        permission: &'static str,
        each: impl FnMut(&Row) -> T,
    ) -> Result<Option<Vec<T>>, CollectError> {
        self.inventory.round_trips += 1;
        match query(
            self.client,
            self.target,
            step,
            &sql,
            self.timeout,
            &mut self.budget,
            each,
        )
        .await
        {
            Err(Refusal::Denied(code)) => {
                tracing::warn!(target = %self.target, step, code, "collection step skipped: permission denied");
                self.inventory.skipped.push(Skipped {
                    step: step.to_owned(),
                    database: self.current_db.clone(),
                    reason: format!("permission denied (error {code})"),
                    permission: permission.to_owned(),
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

/// Why reading an answer stopped early.
enum Stop {
    Driver(tiberius::error::Error),
    Limit(LimitExceeded),
}

/// Runs one read-only query with a timeout, within `budget`, turning each
/// row into a `T` as it arrives (the row is dropped at once); a refusal for
/// lack of permission is told apart so the caller can skip the step.
pub(super) async fn query<T>(
    client: &mut Client,
    target: &str,
    step: &'static str,
    sql: &str,
    timeout: Duration,
    budget: &mut Budget,
    mut each: impl FnMut(&Row) -> T,
) -> Result<Vec<T>, Refusal> {
    let meter = client.meter();
    meter.mark();
    let max_rows = budget.limits.max_rows_per_query;
    let run = async {
        let mut stream = client.simple_query(sql).await.map_err(Stop::Driver)?;
        let mut out = Vec::new();
        let mut rows = 0u64;
        while let Some(item) = stream.try_next().await.map_err(Stop::Driver)? {
            // Each complete item restarts the meter's per-row budget.
            meter.mark();
            let QueryItem::Row(row) = item else {
                continue;
            };
            rows += 1;
            if rows > max_rows {
                return Err(Stop::Limit(LimitExceeded::Rows(max_rows)));
            }
            budget.count(&row).map_err(Stop::Limit)?;
            out.push(each(&row));
        }
        Ok(out)
    };
    let outcome = tokio::time::timeout(timeout, run).await;
    let target = target.to_owned();
    let limit = |limit| {
        Err(Refusal::Failed(CollectError::Limit {
            target: target.clone(),
            step,
            limit,
        }))
    };
    match outcome {
        Err(_) => Err(Refusal::Failed(CollectError::Timeout {
            target,
            step,
            seconds: timeout.as_secs(),
        })),
        Ok(Ok(rows)) => Ok(rows),
        Ok(Err(Stop::Limit(l))) => limit(l),
        // The meter failed the read: the driver only saw an I/O error.
        Ok(Err(Stop::Driver(_))) if meter.tripped().is_some() => {
            limit(budget.tripped(meter.tripped().unwrap_or(Tripped::Row)))
        }
        Ok(Err(Stop::Driver(tiberius::error::Error::Server(e))))
            if PERMISSION_ERRORS.contains(&e.code()) =>
        {
            Err(Refusal::Denied(e.code()))
        }
        Ok(Err(Stop::Driver(tiberius::error::Error::Server(e)))) => {
            Err(Refusal::Failed(CollectError::Server {
                target,
                step,
                code: e.code(),
            }))
        }
        Ok(Err(Stop::Driver(e))) => Err(Refusal::Failed(CollectError::ConnectionLost {
            target,
            step,
            detail: e.to_string(),
        })),
    }
}

/// A [`q::DATABASES_QUERY`] row: the database with its own facts.
fn database_row(row: &Row) -> DatabaseInventory {
    let replication = [
        (9, "published"),
        (10, "subscribed"),
        (11, "merge_published"),
        (12, "distributor"),
    ]
    .into_iter()
    .filter(|(i, _)| int(row, *i) != 0)
    .map(|(_, role)| role.to_owned())
    .collect();
    DatabaseInventory {
        name: text(row, 0),
        compatibility_level: int(row, 1),
        collation: text(row, 2),
        recovery_model: text(row, 3),
        data_mb: bigint(row, 4),
        log_mb: bigint(row, 5),
        tde: int(row, 6) != 0,
        service_broker_enabled: int(row, 7) != 0,
        cdc_enabled: int(row, 8) != 0,
        replication,
        ..DatabaseInventory::default()
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
        ..ServerInfo::default()
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

pub(super) fn bigint(row: &Row, i: usize) -> i64 {
    row.try_get::<i64, _>(i)
        .ok()
        .flatten()
        .or_else(|| row.try_get::<i32, _>(i).ok().flatten().map(i64::from))
        .unwrap_or_default()
}

fn optional_text(row: &Row, i: usize) -> Option<String> {
    row.try_get::<&str, _>(i).ok().flatten().map(str::to_owned)
}

/// A `(type_desc, n)` row.
fn count_row(row: &Row) -> (String, i64) {
    (text(row, 0), bigint(row, 1))
}

/// A [`q::CONFIGURATIONS_QUERY`] row, marked when it differs from the default.
fn setting(row: &Row) -> Setting {
    let (name, value) = (text(row, 0), text(row, 1));
    let non_default = CONFIG_DEFAULTS
        .iter()
        .any(|(n, d)| n.eq_ignore_ascii_case(&name) && *d != value);
    Setting {
        name,
        value,
        non_default,
    }
}

/// Gives each table its [`q::columns_query`] rows (in column order). A
/// column of a table the tables query did not list (created in between) is
/// left out, as the table is.
fn attach_columns(tables: &mut [Table], rows: Vec<((String, String), Column)>) {
    let index: HashMap<(String, String), usize> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| ((t.schema.clone(), t.name.clone()), i))
        .collect();
    for (table, column) in rows {
        if let Some(&i) = index.get(&table) {
            tables[i].columns.push(column);
        }
    }
}

fn column(r: &Row) -> Column {
    Column {
        name: text(r, 2),
        data_type: text(r, 3),
        base_type: optional_text(r, 4),
        user_defined: int(r, 5) != 0,
        clr: int(r, 6) != 0,
    }
}
