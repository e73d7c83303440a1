//! What the login may read, asked of the server without collecting
//! anything: the preflight behind `assessor check`.
//!
//! One read-only query (`HAS_PERMS_BY_NAME` for the current login) tells
//! which collection steps would be skipped and which permission each needs,
//! before a run is started.

use std::time::Duration;

use tiberius::Row;

use super::catalog::{CollectError, Refusal, int, query, server_info};
use super::connect::Client;
use super::inventory::ServerInfo;
use super::queries::SERVER_QUERY;

/// The permissions collection relies on, in the column order of
/// [`PERMISSIONS_QUERY`], with the steps that need each.
pub const PERMISSIONS: &[(&str, &[&str])] = &[
    ("VIEW ANY DATABASE", &["databases"]),
    (
        "VIEW ANY DEFINITION",
        &[
            "availability groups",
            "logins",
            "linked servers",
            "server triggers",
            "endpoints",
            "credentials",
            "audits",
            "object counts",
            "feature counts",
            "tables",
            "columns",
            "indexes",
            "cross-database references",
            "module definitions",
        ],
    ),
    (
        "CONNECT ANY DATABASE",
        &[
            "object counts",
            "feature counts",
            "tables",
            "columns",
            "indexes",
            "cross-database references",
            "module definitions",
        ],
    ),
    (
        "SELECT on msdb.dbo.sysjobs (SQLAgentReaderRole in msdb)",
        &["SQL Agent job steps"],
    ),
    ("VIEW SERVER STATE", &["host resources"]),
];

pub const PERMISSIONS_QUERY: &str = "SELECT \
CAST(ISNULL(HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW ANY DATABASE'), 0) AS int) AS view_any_database, \
CAST(ISNULL(HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW ANY DEFINITION'), 0) AS int) AS view_any_definition, \
CAST(ISNULL(HAS_PERMS_BY_NAME(NULL, NULL, 'CONNECT ANY DATABASE'), 0) AS int) AS connect_any_database, \
CAST(ISNULL(HAS_PERMS_BY_NAME('msdb.dbo.sysjobs', 'OBJECT', 'SELECT'), 0) AS int) AS agent_jobs, \
CAST(ISNULL(HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER STATE'), 0) AS int) AS view_server_state";

/// One permission and whether the login holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PermissionCheck {
    pub permission: &'static str,
    pub held: bool,
    /// The collection steps skipped without it.
    pub steps: &'static [&'static str],
}

/// What the preflight learned from the server.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServerProbe {
    pub server: ServerInfo,
    pub permissions: Vec<PermissionCheck>,
}

/// Asks the server who it is and what this login may read.
pub async fn probe(
    client: &mut Client,
    target: &str,
    timeout: Duration,
) -> Result<ServerProbe, CollectError> {
    let server = rows(client, target, "server properties", SERVER_QUERY, timeout).await?;
    let server = server.first().map_or_else(ServerInfo::default, server_info);
    let perms = rows(client, target, "permissions", PERMISSIONS_QUERY, timeout).await?;
    let row = perms.first();
    let permissions = PERMISSIONS
        .iter()
        .enumerate()
        .map(|(i, (permission, steps))| PermissionCheck {
            permission,
            held: row.is_some_and(|r| int(r, i) != 0),
            steps,
        })
        .collect();
    Ok(ServerProbe {
        server,
        permissions,
    })
}

async fn rows(
    client: &mut Client,
    target: &str,
    step: &'static str,
    sql: &str,
    timeout: Duration,
) -> Result<Vec<Row>, CollectError> {
    // The preflight needs both answers: a refusal here is a failure.
    query(client, target, step, sql, timeout)
        .await
        .map_err(|refusal| match refusal {
            Refusal::Denied(code) => CollectError::Server {
                target: target.to_owned(),
                step,
                code,
            },
            Refusal::Failed(e) => e,
        })
}
