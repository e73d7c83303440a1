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
//! - A step refused for lack of permission is recorded in
//!   [`Inventory::skipped`] with the permission it needs; any other failure
//!   fails the collection (never a half inventory reported as complete).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures_util::TryStreamExt;
use tiberius::{QueryItem, Row};

use super::connect::Client;
use super::inventory::{
    Audit, Column, DatabaseInventory, EndpointInfo, ExternalReference, Inventory, JobStep,
    LinkedServer, LoginCount, ModuleDef, ServerInfo, ServerTrigger, Setting, Skipped, Table,
};
pub use super::queries::is_collector_statement;
use super::queries::{self as q, SERVER_QUERY};
use super::sql::quote_ident;

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
    c.server().await?;
    let databases = c
        .rows(
            "databases",
            q::DATABASES_QUERY.to_owned(),
            "VIEW ANY DATABASE",
        )
        .await?
        .unwrap_or_default();
    for row in &databases {
        let name = text(row, 0);
        if !only_databases.is_empty()
            && !only_databases.iter().any(|d| d.eq_ignore_ascii_case(&name))
        {
            continue;
        }
        let db = c.database(row, name).await?;
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
    /// The server-level steps.
    async fn server(&mut self) -> Result<(), CollectError> {
        if let Some(row) = self
            .rows("server properties", SERVER_QUERY.to_owned(), PUBLIC)
            .await?
            .as_ref()
            .and_then(|rows| rows.first())
        {
            self.inventory.server = server_info(row);
        }
        if let Some(row) = self
            .rows("host resources", q::HOST_QUERY.to_owned(), SERVER_STATE)
            .await?
            .as_ref()
            .and_then(|rows| rows.first())
        {
            self.inventory.server.cpu_count = Some(int(row, 0));
            self.inventory.server.memory_mb = Some(bigint(row, 1));
        }
        if let Some(rows) = self
            .rows(
                "availability groups",
                q::AVAILABILITY_GROUPS_QUERY.to_owned(),
                ANY_DEFINITION,
            )
            .await?
        {
            self.inventory.server.availability_groups = rows.iter().map(|r| text(r, 0)).collect();
        }
        if let Some(rows) = self
            .rows("configurations", q::CONFIGURATIONS_QUERY.to_owned(), PUBLIC)
            .await?
        {
            self.inventory.configurations = rows.iter().map(setting).collect();
        }
        if let Some(rows) = self
            .rows("logins", q::LOGINS_QUERY.to_owned(), ANY_DEFINITION)
            .await?
        {
            self.inventory.logins = rows
                .iter()
                .map(|r| LoginCount {
                    kind: text(r, 0),
                    count: bigint(r, 1),
                    disabled: bigint(r, 2),
                })
                .collect();
        }
        if let Some(rows) = self
            .rows(
                "linked servers",
                q::LINKED_SERVERS_QUERY.to_owned(),
                ANY_DEFINITION,
            )
            .await?
        {
            self.inventory.linked_servers = rows
                .iter()
                .map(|r| LinkedServer {
                    name: text(r, 0),
                    product: text(r, 1),
                    provider: text(r, 2),
                })
                .collect();
        }
        if let Some(rows) = self
            .rows(
                "server triggers",
                q::SERVER_TRIGGERS_QUERY.to_owned(),
                ANY_DEFINITION,
            )
            .await?
        {
            self.inventory.server_triggers = rows
                .iter()
                .map(|r| ServerTrigger {
                    name: text(r, 0),
                    disabled: int(r, 1) != 0,
                })
                .collect();
        }
        if let Some(rows) = self
            .rows("endpoints", q::ENDPOINTS_QUERY.to_owned(), ANY_DEFINITION)
            .await?
        {
            self.inventory.endpoints = rows
                .iter()
                .map(|r| EndpointInfo {
                    name: text(r, 0),
                    protocol: text(r, 1),
                    kind: text(r, 2),
                    state: text(r, 3),
                })
                .collect();
        }
        if let Some(rows) = self
            .rows(
                "credentials",
                q::CREDENTIALS_QUERY.to_owned(),
                ANY_DEFINITION,
            )
            .await?
        {
            self.inventory.credentials = rows.iter().map(|r| text(r, 0)).collect();
        }
        if let Some(rows) = self
            .rows("audits", q::AUDITS_QUERY.to_owned(), ANY_DEFINITION)
            .await?
        {
            self.inventory.audits = rows
                .iter()
                .map(|r| Audit {
                    name: text(r, 0),
                    kind: text(r, 1),
                    enabled: int(r, 2) != 0,
                })
                .collect();
        }
        if let Some(rows) = self
            .rows(
                "SQL Agent job steps",
                q::JOB_STEPS_QUERY.to_owned(),
                "SQLAgentReaderRole in msdb",
            )
            .await?
        {
            self.inventory.job_steps = rows
                .iter()
                .map(|r| JobStep {
                    job: text(r, 0),
                    step_id: int(r, 1),
                    subsystem: text(r, 2),
                    command: text(r, 3),
                })
                .collect();
        }
        Ok(())
    }

    /// The per-database steps, for a [`q::DATABASES_QUERY`] row.
    async fn database(
        &mut self,
        row: &Row,
        name: String,
    ) -> Result<DatabaseInventory, CollectError> {
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
        let mut db = DatabaseInventory {
            name: name.clone(),
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
        };
        let quoted = quote_ident(&name);
        self.current_db = Some(name);
        if let Some(rows) = self
            .rows("object counts", q::objects_query(&quoted), IN_DATABASE)
            .await?
        {
            db.object_counts = counts(&rows);
        }
        if let Some(row) = self
            .rows("feature counts", q::features_query(&quoted), IN_DATABASE)
            .await?
            .as_ref()
            .and_then(|rows| rows.first())
        {
            db.features = q::FEATURE_COUNTS
                .iter()
                .enumerate()
                .map(|(i, (feature, _))| ((*feature).to_owned(), bigint(row, i)))
                .collect();
        }
        if let Some(rows) = self
            .rows("tables", q::tables_query(&quoted), IN_DATABASE)
            .await?
        {
            db.tables = rows
                .iter()
                .map(|r| Table {
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
                .collect();
        }
        if let Some(rows) = self
            .rows("columns", q::columns_query(&quoted), IN_DATABASE)
            .await?
        {
            attach_columns(&mut db.tables, &rows);
        }
        if let Some(rows) = self
            .rows("indexes", q::indexes_query(&quoted), IN_DATABASE)
            .await?
        {
            db.indexes = counts(&rows);
        }
        if let Some(rows) = self
            .rows(
                "cross-database references",
                q::references_query(&quoted),
                IN_DATABASE,
            )
            .await?
        {
            db.references = rows
                .iter()
                .map(|r| ExternalReference {
                    schema: text(r, 0),
                    object: text(r, 1),
                    kind: text(r, 2),
                    server: optional_text(r, 3),
                    database: optional_text(r, 4),
                    count: bigint(r, 5),
                })
                .collect();
        }
        if let Some(rows) = self
            .rows("module definitions", q::modules_query(&quoted), IN_DATABASE)
            .await?
        {
            db.modules = rows
                .iter()
                .map(|r| {
                    let definition = r.get::<&str, _>(3).map(str::to_owned);
                    ModuleDef {
                        schema: text(r, 0),
                        name: text(r, 1),
                        kind: text(r, 2),
                        encrypted: definition.is_none(),
                        definition,
                    }
                })
                .collect();
        }
        self.current_db = None;
        Ok(db)
    }

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

/// `(type_desc, n)` rows as a map.
fn counts(rows: &[Row]) -> BTreeMap<String, i64> {
    rows.iter().map(|r| (text(r, 0), bigint(r, 1))).collect()
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
fn attach_columns(tables: &mut [Table], rows: &[Row]) {
    let index: HashMap<(String, String), usize> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| ((t.schema.clone(), t.name.clone()), i))
        .collect();
    for r in rows {
        if let Some(&i) = index.get(&(text(r, 0), text(r, 1))) {
            tables[i].columns.push(column(r));
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
