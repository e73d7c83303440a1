//! The servers an appliance run assessed, as the HTML report's "Servers"
//! section shows them: version, edition, collation, CPU and memory, each
//! database with its size, compatibility level, recovery model and the
//! findings in it, and what could not be collected and why.
//!
//! This is a view for people, built by the appliance job from the
//! collected inventory (`inventory.json` keeps the full record). An offline
//! `assessor analyze` has no server, so it passes none and the section is
//! left out.

use super::summary::StatusCounts;

/// One assessed SQL Server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerOverview {
    /// The target's name in the job config.
    pub target: String,
    pub version: String,
    pub edition: String,
    pub product_level: String,
    pub collation: String,
    pub cpu_count: Option<i32>,
    pub memory_mb: Option<i64>,
    pub clustered: bool,
    pub hadr_enabled: bool,
    pub databases: Vec<DatabaseOverview>,
    /// Collection steps that could not run, with the permission each needs.
    pub not_collected: Vec<NotCollected>,
}

/// One user database of a server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseOverview {
    pub name: String,
    pub compatibility_level: i32,
    pub collation: String,
    pub recovery_model: String,
    pub data_mb: i64,
    pub log_mb: i64,
    /// The findings in this database's code and catalog, by status.
    pub findings: StatusCounts,
    /// The findings view filter that lists them (`q=` over file names).
    pub filter: String,
}

/// A collection step that did not run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotCollected {
    /// What the step reads, e.g. `agent_jobs`.
    pub step: String,
    pub database: Option<String>,
    /// Why, as the server's error number and class (never its message).
    pub reason: String,
    /// The permission that would let it run.
    pub permission: String,
}
