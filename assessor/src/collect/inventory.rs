//! What the collector hands on: the server's inventory and its code.
//!
//! Names, definitions and configuration values are customer data: the
//! `Debug` impls here print counts and kinds, never them.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// Everything collected from one SQL Server.
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// The config's label for the server.
    pub target: String,
    pub server: ServerInfo,
    pub configurations: Vec<Setting>,
    pub databases: Vec<DatabaseInventory>,
    /// SQL Agent T-SQL job steps (their text goes through the analyzer).
    pub job_steps: Vec<JobStep>,
    /// Steps that could not be read, with the reason and the permission
    /// needed. Never silent partial results.
    pub skipped: Vec<Skipped>,
    /// Queries sent (for the benchmark: must not grow with object count).
    pub round_trips: u32,
}

impl fmt::Debug for Inventory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inventory")
            .field("target", &self.target)
            .field("databases", &self.databases.len())
            .field(
                "modules",
                &self
                    .databases
                    .iter()
                    .map(|d| d.modules.len())
                    .sum::<usize>(),
            )
            .field("skipped", &self.skipped.len())
            .field("round_trips", &self.round_trips)
            .finish()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServerInfo {
    pub version: String,
    pub edition: String,
    pub product_level: String,
    pub collation: String,
    pub is_clustered: bool,
    pub hadr_enabled: bool,
}

/// A `sys.configurations` value.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    pub name: String,
    pub value: String,
    /// Differs from SQL Server's default.
    pub non_default: bool,
}

impl fmt::Debug for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Setting")
            .field("non_default", &self.non_default)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Default, PartialEq, Eq, Serialize)]
pub struct DatabaseInventory {
    pub name: String,
    pub compatibility_level: i32,
    pub collation: String,
    pub recovery_model: String,
    /// Object counts by `sys.objects.type_desc`.
    pub object_counts: BTreeMap<String, i64>,
    pub modules: Vec<ModuleDef>,
}

impl fmt::Debug for DatabaseInventory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseInventory")
            .field("compatibility_level", &self.compatibility_level)
            .field("modules", &self.modules.len())
            .finish_non_exhaustive()
    }
}

/// A procedure, function, view or trigger definition.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct ModuleDef {
    pub schema: String,
    pub name: String,
    /// `sys.objects.type_desc`, e.g. `SQL_STORED_PROCEDURE`.
    pub kind: String,
    /// `None` for a module created WITH ENCRYPTION (reported as such).
    /// Not part of the serialized inventory: code travels as findings.
    #[serde(skip)]
    pub definition: Option<String>,
}

impl fmt::Debug for ModuleDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModuleDef")
            .field("kind", &self.kind)
            .field("encrypted", &self.definition.is_none())
            .finish_non_exhaustive()
    }
}

#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct JobStep {
    pub job: String,
    pub step_id: i32,
    pub subsystem: String,
    /// Analysed like a module; not part of the serialized inventory.
    #[serde(skip)]
    pub command: String,
}

impl fmt::Debug for JobStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobStep")
            .field("subsystem", &self.subsystem)
            .finish_non_exhaustive()
    }
}

/// A collection step that could not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub step: &'static str,
    /// The database, for per-database steps.
    pub database: Option<String>,
    /// Why (the server's error number and class, not its message text).
    pub reason: String,
    /// The permission that would let the step run.
    pub permission: &'static str,
}
