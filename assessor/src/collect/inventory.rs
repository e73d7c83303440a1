//! What the collector hands on: the server's inventory and its code.
//!
//! Names, definitions and configuration values are customer data: the
//! `Debug` impls here print counts and kinds, never them.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A `Debug` that prints one harmless field and hides the names (customer
/// data) the type carries.
macro_rules! redacted_debug {
    ($type:ident, $field:ident) => {
        impl fmt::Debug for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($type))
                    .field(stringify!($field), &self.$field)
                    .finish_non_exhaustive()
            }
        }
    };
}

/// Everything collected from one SQL Server.
///
/// Serialized as the bundle's `inventory.json` and sealed in the session
/// store; module definitions and job step commands are never part of it
/// (code travels as findings).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// The config's label for the server.
    pub target: String,
    pub server: ServerInfo,
    pub configurations: Vec<Setting>,
    /// Logins by type (counts only: never names or password hashes).
    pub logins: Vec<LoginCount>,
    pub linked_servers: Vec<LinkedServer>,
    pub server_triggers: Vec<ServerTrigger>,
    /// User endpoints (mirroring, Service Broker, ...), not the built-in TSQL ones.
    pub endpoints: Vec<EndpointInfo>,
    /// Credential names (never identities or secrets).
    pub credentials: Vec<String>,
    pub audits: Vec<Audit>,
    pub databases: Vec<DatabaseInventory>,
    /// SQL Agent T-SQL job steps (their text goes through the analyzer).
    pub job_steps: Vec<JobStep>,
    /// Steps that could not be read, with the reason and the permission
    /// needed. Never silent partial results.
    pub skipped: Vec<Skipped>,
    /// Queries sent (for the benchmark: must not grow with object count).
    pub round_trips: u32,
    /// The connection trusted any certificate (the config's
    /// `dangerously_trust_server_certificate`): reported as a finding,
    /// because nothing collected is authenticated.
    pub unverified_certificate: bool,
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

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub version: String,
    pub edition: String,
    pub product_level: String,
    pub collation: String,
    pub is_clustered: bool,
    pub hadr_enabled: bool,
    /// `None` when the host query was skipped (VIEW SERVER STATE).
    pub cpu_count: Option<i32>,
    pub memory_mb: Option<i64>,
    pub availability_groups: Vec<String>,
}

impl fmt::Debug for ServerInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerInfo")
            .field("version", &self.version)
            .field("edition", &self.edition)
            .field("availability_groups", &self.availability_groups.len())
            .finish_non_exhaustive()
    }
}

/// Logins of one type (`SQL_LOGIN`, `WINDOWS_LOGIN`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginCount {
    pub kind: String,
    pub count: i64,
    pub disabled: i64,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedServer {
    pub name: String,
    pub product: String,
    pub provider: String,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerTrigger {
    pub name: String,
    pub disabled: bool,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointInfo {
    pub name: String,
    /// `TCP`, `HTTP`, ...
    pub protocol: String,
    /// `DATABASE_MIRRORING`, `SERVICE_BROKER`, `TSQL`, ...
    pub kind: String,
    pub state: String,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audit {
    pub name: String,
    /// Where it writes: `FILE`, `APPLICATION LOG`, `SECURITY LOG`, ...
    pub kind: String,
    pub enabled: bool,
}

redacted_debug!(LinkedServer, provider);
redacted_debug!(ServerTrigger, disabled);
redacted_debug!(EndpointInfo, kind);
redacted_debug!(Audit, enabled);

/// A `sys.configurations` value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseInventory {
    pub name: String,
    pub compatibility_level: i32,
    pub collation: String,
    pub recovery_model: String,
    pub data_mb: i64,
    pub log_mb: i64,
    /// Transparent data encryption is on.
    pub tde: bool,
    pub service_broker_enabled: bool,
    pub cdc_enabled: bool,
    /// Replication roles: `published`, `subscribed`, `merge_published`,
    /// `distributor`.
    pub replication: Vec<String>,
    /// Object counts by `sys.objects.type_desc` (constraints included:
    /// `PRIMARY_KEY_CONSTRAINT`, `FOREIGN_KEY_CONSTRAINT`, ...).
    pub object_counts: BTreeMap<String, i64>,
    /// Counts of the features in [`super::queries::FEATURE_COUNTS`], by name.
    pub features: BTreeMap<String, i64>,
    pub tables: Vec<Table>,
    /// Indexes by `sys.indexes.type_desc`.
    pub indexes: BTreeMap<String, i64>,
    /// Code that refers to other databases or linked servers.
    pub references: Vec<ExternalReference>,
    pub modules: Vec<ModuleDef>,
}

/// A user table, its storage features and its columns.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub schema: String,
    pub name: String,
    pub memory_optimized: bool,
    /// System-versioned (the current table of a temporal pair).
    pub temporal: bool,
    pub filetable: bool,
    pub partitioned: bool,
    pub columnstore: bool,
    pub columns: Vec<Column>,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// The declared type (`int`, `geography`, an alias or CLR type name).
    pub data_type: String,
    /// For an alias type, the system type it is based on.
    pub base_type: Option<String>,
    pub user_defined: bool,
    /// A CLR type (hierarchyid, geometry, geography, or a user assembly's).
    pub clr: bool,
}

/// Code in `schema.object` referring to `[server.]database` objects.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalReference {
    pub schema: String,
    pub object: String,
    /// `sys.objects.type_desc` of the referring object.
    pub kind: String,
    /// A linked server, for four-part names.
    pub server: Option<String>,
    pub database: Option<String>,
    /// References from this object to that database or server.
    pub count: i64,
}

redacted_debug!(Table, columns);
redacted_debug!(Column, clr);
redacted_debug!(ExternalReference, count);

impl fmt::Debug for DatabaseInventory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseInventory")
            .field("compatibility_level", &self.compatibility_level)
            .field("modules", &self.modules.len())
            .finish_non_exhaustive()
    }
}

/// A procedure, function, view or trigger definition.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleDef {
    pub schema: String,
    pub name: String,
    /// `sys.objects.type_desc`, e.g. `SQL_STORED_PROCEDURE`.
    pub kind: String,
    /// Created WITH ENCRYPTION: the server returns no definition.
    pub encrypted: bool,
    /// `None` for an encrypted module, and after deserialization: code is
    /// not part of the serialized inventory (it travels as findings).
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

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub step: String,
    /// The database, for per-database steps.
    pub database: Option<String>,
    /// Why (the server's error number and class, not its message text).
    pub reason: String,
    /// The permission that would let the step run.
    pub permission: String,
}
