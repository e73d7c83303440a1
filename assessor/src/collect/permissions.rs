//! What the login may read, asked of the server without collecting
//! anything: the preflight behind `assessor check`.
//!
//! One read-only query (`HAS_PERMS_BY_NAME` for the current login) tells
//! which collection steps would be skipped and which permission each needs,
//! before a run is started.

use std::time::Duration;

use tiberius::Row;

use super::catalog::{Budget, CollectError, Limits, Refusal, int, query, server_info};
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

/// Permissions needed only by an opt-in step, with the config line that
/// turns it on. Without the opt-in the login should not hold them: VIEW
/// SERVER STATE also reads every session's live SQL text.
pub const OPT_IN_PERMISSIONS: &[(&str, &str)] = &[(
    "VIEW SERVER STATE",
    crate::config::CollectConfig::HOST_RESOURCES_OPT_IN,
)];

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
    /// For a permission only an opt-in step needs, the config line that
    /// turns the step on; `None` for what every collection needs.
    pub opt_in: Option<&'static str>,
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
    // A hostile server cannot make the preflight buffer an oversized answer.
    Budget::new(Limits::default()).arm(&client.meter());
    let server = rows(
        client,
        target,
        "server properties",
        SERVER_QUERY,
        timeout,
        server_info,
    )
    .await?
    .into_iter()
    .next()
    .unwrap_or_default();
    let held = rows(
        client,
        target,
        "permissions",
        PERMISSIONS_QUERY,
        timeout,
        |r| (0..PERMISSIONS.len()).map(|i| int(r, i) != 0).collect(),
    )
    .await?
    .into_iter()
    .next()
    .unwrap_or_else(|| vec![false; PERMISSIONS.len()]);
    let permissions = PERMISSIONS
        .iter()
        .zip(held)
        .map(|((permission, steps), held)| PermissionCheck {
            permission,
            held,
            steps,
            opt_in: OPT_IN_PERMISSIONS
                .iter()
                .find(|(p, _)| p == permission)
                .map(|(_, line)| *line),
        })
        .collect();
    Ok(ServerProbe {
        server,
        permissions,
    })
}

async fn rows<T>(
    client: &mut Client,
    target: &str,
    step: &'static str,
    sql: &str,
    timeout: Duration,
    each: impl FnMut(&Row) -> T,
) -> Result<Vec<T>, CollectError> {
    // The preflight needs both answers: a refusal here is a failure. Two
    // one-row answers: the default limits are far above them.
    let mut budget = Budget::new(Limits::default());
    query(client, target, step, sql, timeout, &mut budget, each)
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
