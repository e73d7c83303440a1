//! Catalog fixtures for the TDS peer: what a SQL Server would answer to the
//! collector's queries, built from real sample databases.
//!
//! [`CatalogFixture::wide_world_importers`] takes every procedure, function
//! and view of Microsoft's WideWorldImporters and WideWorldImportersDW SSDT
//! projects (vendored in `tests/corpora/tsql/`) as module definitions, so the collector
//! and the analyzer see a realistic database. Tests add databases with hostile
//! names, refused steps or a server that disappears mid-collection.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::workload_fixture::FixtureWorkload;
use crate::{PeerError, Result, tools};

/// One module as the server would list it.
#[derive(Debug, Clone)]
pub struct FixtureModule {
    pub schema: String,
    pub name: String,
    /// `sys.objects.type_desc`.
    pub kind: String,
    /// `None` for an encrypted module.
    pub definition: Option<String>,
}

impl FixtureModule {
    /// A stored procedure `dbo.{name}` whose definition is exactly `len`
    /// bytes of ASCII: a `CREATE PROCEDURE` padded with a comment of
    /// `filler` (for answers larger than the collector's limits).
    pub fn sized(name: &str, len: usize, filler: char) -> FixtureModule {
        assert!(filler.is_ascii(), "the filler must be one byte");
        let head = format!("CREATE PROCEDURE dbo.[{name}] AS SELECT 1\n-- ");
        let mut definition = String::with_capacity(len.max(head.len()));
        definition.push_str(&head);
        definition.extend(std::iter::repeat_n(filler, len.saturating_sub(head.len())));
        FixtureModule {
            schema: "dbo".into(),
            name: name.into(),
            kind: "SQL_STORED_PROCEDURE".into(),
            definition: Some(definition),
        }
    }
}

/// How a database answers the per-database queries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Behaviour {
    #[default]
    Normal,
    /// The module query is refused with error 229 (permission denied).
    ModulesRefused,
    /// The server process exits when the module query arrives.
    DropsConnection,
}

#[derive(Debug, Clone, Default)]
pub struct FixtureDatabase {
    pub name: String,
    pub modules: Vec<FixtureModule>,
    pub behaviour: Behaviour,
    pub tables: Vec<FixtureTable>,
    /// Answers to the feature counts, by column name (absent: 0).
    pub features: BTreeMap<String, i64>,
    pub references: Vec<FixtureReference>,
    /// Transparent data encryption, CDC, and the database's collation
    /// (`None`: Latin1_General_100_CI_AS).
    pub tde: bool,
    pub cdc: bool,
    pub collation: Option<String>,
}

/// A user table as `sys.tables` and `sys.columns` describe it.
#[derive(Debug, Clone, Default)]
pub struct FixtureTable {
    pub schema: String,
    pub name: String,
    pub memory_optimized: bool,
    pub temporal: bool,
    pub partitioned: bool,
    pub columnstore: bool,
    /// (column, type as `sys.types` names it, e.g. `geography`)
    pub columns: Vec<(String, String)>,
}

/// A `sys.sql_expression_dependencies` row leaving the database.
#[derive(Debug, Clone)]
pub struct FixtureReference {
    pub schema: String,
    pub object: String,
    pub kind: String,
    pub server: Option<String>,
    pub database: Option<String>,
}

/// Server-level objects beyond databases.
#[derive(Debug, Clone, Default)]
pub struct FixtureServer {
    /// (name, product, provider)
    pub linked_servers: Vec<(String, String, String)>,
    pub server_triggers: Vec<String>,
    /// (name, protocol, type)
    pub endpoints: Vec<(String, String, String)>,
    pub credentials: Vec<String>,
    pub audits: Vec<String>,
    pub availability_groups: Vec<String>,
}

/// A server's catalog.
#[derive(Debug, Clone)]
pub struct CatalogFixture {
    pub version: String,
    pub databases: Vec<FixtureDatabase>,
    /// (job, step, subsystem, command)
    pub job_steps: Vec<(String, i32, String, String)>,
    /// The login's answers to `HAS_PERMS_BY_NAME`: VIEW ANY DATABASE, VIEW
    /// ANY DEFINITION, CONNECT ANY DATABASE, SELECT on msdb.dbo.sysjobs.
    pub permissions: [bool; 4],
    /// The answer for VIEW SERVER STATE (the host resources step, sent
    /// only with the `host_resources` opt-in).
    pub view_server_state: bool,
    pub server: FixtureServer,
    /// `sys.configurations` (name, value in use).
    pub configurations: Vec<(String, String)>,
    /// Query Store and plan-cache answers (`None`: the workload statements
    /// are not in the fixture and would be refused with error 208).
    pub workload: Option<FixtureWorkload>,
}

/// The T-SQL corpora vendored in the repository (`tests/corpora/tsql`), or
/// `ASSESSOR_CORPORA` to point at another copy.
pub fn corpora_dir() -> Result<PathBuf> {
    let dir = std::env::var_os("ASSESSOR_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| tools::repo_root().join(CORPORA));
    if dir.join("wide-world-importers").is_dir() {
        Ok(dir)
    } else {
        Err(PeerError::NoCorpora {
            path: dir.display().to_string(),
        })
    }
}

/// Where the corpora live, relative to the repository root.
pub const CORPORA: &str = "tests/corpora/tsql";

fn kind_of(folder: &str) -> Option<&'static str> {
    match folder {
        "Stored Procedures" => Some("SQL_STORED_PROCEDURE"),
        "Functions" => Some("SQL_SCALAR_FUNCTION"),
        "Views" => Some("VIEW"),
        _ => None,
    }
}

/// `(schema, name, text)` of every `<Schema>/<folder>/<Name>.sql`, sorted.
fn ssdt_files(root: &Path, folder: &str) -> Result<Vec<(String, String, String)>> {
    let io = |source| PeerError::Io {
        what: "reading the corpora",
        source,
    };
    let mut out = Vec::new();
    let mut schemas: Vec<_> = std::fs::read_dir(root)
        .map_err(io)?
        .flatten()
        .map(|e| e.path())
        .collect();
    schemas.sort();
    for schema_dir in schemas.iter().filter(|p| p.join(folder).is_dir()) {
        let schema = schema_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let mut files: Vec<_> = std::fs::read_dir(schema_dir.join(folder))
            .map_err(io)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .collect();
        files.sort();
        for file in files {
            let bytes = std::fs::read(&file).map_err(io)?;
            let text =
                String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes))
                    .into_owned();
            let name = file
                .file_stem()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            out.push((schema.clone(), name, text));
        }
    }
    Ok(out)
}

/// Modules of an SSDT project laid out as `<Schema>/<Kind>/<Name>.sql`.
fn ssdt_modules(root: &Path) -> Result<Vec<FixtureModule>> {
    let mut modules = Vec::new();
    for folder in ["Functions", "Stored Procedures", "Views"] {
        let Some(kind) = kind_of(folder) else {
            continue;
        };
        for (schema, name, text) in ssdt_files(root, folder)? {
            modules.push(FixtureModule {
                schema,
                name,
                kind: kind.to_owned(),
                definition: Some(text),
            });
        }
    }
    Ok(modules)
}

/// Tables of an SSDT project (`<Schema>/Tables/<Name>.sql`), with column
/// types and storage features read from their CREATE TABLE text.
fn ssdt_tables(root: &Path) -> Result<Vec<FixtureTable>> {
    let mut tables = Vec::new();
    for (schema, name, text) in ssdt_files(root, "Tables")? {
        let upper = text.to_ascii_uppercase();
        let columns = text
            .lines()
            .filter_map(|line| {
                // `    [Name]   TYPE ...` or `    [Name] [sys].[geography] ...`
                let rest = line.strip_prefix("    [")?;
                let (column, rest) = rest.split_once(']')?;
                let word = rest.trim_start().split([' ', '(', ',']).next()?;
                let word = word.rsplit('.').next()?.trim_matches(['[', ']']);
                if word.is_empty() || word.eq_ignore_ascii_case("AS") {
                    return None; // computed column
                }
                Some((column.to_owned(), word.to_ascii_lowercase()))
            })
            .collect();
        tables.push(FixtureTable {
            schema,
            name,
            memory_optimized: upper.contains("MEMORY_OPTIMIZED = ON"),
            temporal: upper.contains("SYSTEM_VERSIONING = ON"),
            partitioned: upper.contains("ON [PS_"),
            columnstore: upper.contains("COLUMNSTORE"),
            columns,
        });
    }
    Ok(tables)
}

/// Feature counts an SSDT project implies (sequences in
/// `<Schema>/Sequences/`, partition schemes, memory-optimized filegroup).
fn ssdt_features(root: &Path) -> Result<BTreeMap<String, i64>> {
    let mut features = BTreeMap::new();
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let sequences = ssdt_files(root, "Sequences")?.len();
    features.insert("sequences".into(), count(sequences));
    let storage = root.join("Storage");
    let mut schemes = 0;
    let mut memory = 0;
    if let Ok(entries) = std::fs::read_dir(&storage) {
        for entry in entries.flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            schemes += text.matches("CREATE PARTITION SCHEME").count();
            memory += usize::from(text.contains("MEMORY_OPTIMIZED_DATA"));
        }
    }
    features.insert("partition_schemes".into(), count(schemes));
    features.insert("memory_optimized_filegroups".into(), count(memory));
    Ok(features)
}

/// The answers to one database's queries, matched by its quoted name.
fn database_answers(db: &FixtureDatabase) -> Vec<Value> {
    let q = re_escape(&quoted(&db.name));
    let mut counts = BTreeMap::<&str, i64>::new();
    for m in &db.modules {
        *counts.entry(&m.kind).or_default() += 1;
    }
    *counts.entry("USER_TABLE").or_default() += i64::try_from(db.tables.len()).unwrap_or(i64::MAX);
    let feature_columns = [
        "clr_assemblies",
        "service_broker_queues",
        "fulltext_catalogs",
        "fulltext_indexes",
        "filestream_filegroups",
        "memory_optimized_filegroups",
        "partition_schemes",
        "sequences",
        "synonyms",
        "xml_schema_collections",
        "user_defined_types",
        "table_types",
        "change_tracking_tables",
    ];
    let modules_match = format!("FROM {q}\\.sys\\.sql_modules");
    let flag = |b: bool| i32::from(b);
    vec![
        json!({
            "match": format!("FROM {q}\\.sys\\.objects AS o WHERE"),
            "columns": [["type_desc","nvarchar"],["n","bigint"]],
            "rows": counts.iter().map(|(k, n)| json!([k, n])).collect::<Vec<_>>()
        }),
        json!({
            "match": format!("FROM {q}\\.sys\\.assemblies"),
            "columns": feature_columns.iter().map(|c| json!([c, "bigint"])).collect::<Vec<_>>(),
            "rows": [feature_columns.iter().map(|c| db.features.get(*c).copied().unwrap_or(0)).collect::<Vec<_>>()]
        }),
        json!({
            "match": format!("FROM {q}\\.sys\\.tables AS t JOIN"),
            "columns": [["schema_name","nvarchar"],["table_name","nvarchar"],["memory_optimized","int"],
                        ["temporal_type","int"],["filetable","int"],["partitioned","int"],["columnstore","int"]],
            "rows": db.tables.iter().map(|t| json!([
                t.schema, t.name, flag(t.memory_optimized), if t.temporal { 2 } else { 0 }, 0,
                flag(t.partitioned), flag(t.columnstore)
            ])).collect::<Vec<_>>()
        }),
        json!({
            "match": format!("FROM {q}\\.sys\\.columns AS c"),
            "columns": [["schema_name","nvarchar"],["table_name","nvarchar"],["column_name","nvarchar"],
                        ["type_name","nvarchar"],["base_type","nvarchar"],["user_defined","int"],["assembly_type","int"]],
            "rows": db.tables.iter().flat_map(|t| t.columns.iter().map(|(c, ty)| {
                let clr = matches!(ty.as_str(), "geography" | "geometry" | "hierarchyid");
                json!([t.schema, t.name, c, ty, Value::Null, 0, i32::from(clr)])
            })).collect::<Vec<_>>()
        }),
        json!({
            "match": format!("^SELECT i\\.type_desc.*FROM {q}\\.sys\\.indexes AS i JOIN"),
            "columns": [["type_desc","nvarchar"],["n","bigint"]],
            "rows": [["CLUSTERED", db.tables.len()], ["NONCLUSTERED", db.tables.len() * 2]]
        }),
        json!({
            "match": format!("FROM {q}\\.sys\\.sql_expression_dependencies"),
            "columns": [["schema_name","nvarchar"],["object_name","nvarchar"],["type_desc","nvarchar"],
                        ["referenced_server_name","nvarchar"],["referenced_database_name","nvarchar"],["n","bigint"]],
            "rows": db.references.iter().map(|r| json!([r.schema, r.object, r.kind, r.server, r.database, 1])).collect::<Vec<_>>()
        }),
        match db.behaviour {
            Behaviour::Normal => json!({
                "match": modules_match,
                "columns": [["schema_name","nvarchar"],["object_name","nvarchar"],["type_desc","nvarchar"],["definition","nvarchar(max)"]],
                "rows": db.modules.iter().map(|m| json!([m.schema, m.name, m.kind, m.definition])).collect::<Vec<_>>()
            }),
            Behaviour::ModulesRefused => json!({ "match": modules_match, "error": 229 }),
            Behaviour::DropsConnection => json!({ "match": modules_match, "drop": true }),
        },
    ]
}

/// Escapes text for a Python regular expression (like `re.escape`).
fn re_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if !c.is_alphanumeric() && c != '_' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// QUOTENAME, as the collector quotes names.
fn quoted(name: &str) -> String {
    format!("[{}]", name.replace(']', "]]"))
}

impl CatalogFixture {
    /// WideWorldImporters and WideWorldImportersDW, as one server: their
    /// modules, tables (with column types, temporal, memory-optimized and
    /// partitioned tables) and sequences from the SSDT projects; one T-SQL
    /// Agent job; an availability group (the server reports HADR enabled).
    pub fn wide_world_importers() -> Result<CatalogFixture> {
        Self::wide_world_importers_from(&corpora_dir()?)
    }

    /// The same, from the corpora folder given.
    pub fn wide_world_importers_from(corpora: &Path) -> Result<CatalogFixture> {
        let database = |name: &str, dir: PathBuf| -> Result<FixtureDatabase> {
            Ok(FixtureDatabase {
                name: name.into(),
                modules: ssdt_modules(&dir)?,
                tables: ssdt_tables(&dir)?,
                features: ssdt_features(&dir)?,
                ..FixtureDatabase::default()
            })
        };
        Ok(CatalogFixture {
            version: "16.0.4125.3".into(),
            databases: vec![
                database(
                    "WideWorldImporters",
                    corpora.join("wide-world-importers/wwi-ssdt"),
                )?,
                database(
                    "WideWorldImportersDW",
                    corpora.join("wide-world-importers-dw/wwi-dw-ssdt"),
                )?,
            ],
            job_steps: vec![(
                "WWI nightly purge".into(),
                1,
                "TSQL".into(),
                "EXEC [WideWorldImporters].[DataLoadSimulation].[DailyProcessToCreateHistory] @StartDate = '20130101'"
                    .into(),
            )],
            permissions: [true; 4],
            view_server_state: true,
            server: FixtureServer {
                availability_groups: vec!["wwi-ag".into()],
                ..FixtureServer::default()
            },
            workload: None,
            configurations: [
                ("clr enabled", "1"),
                ("cost threshold for parallelism", "5"),
                ("xp_cmdshell", "0"),
            ]
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect(),
        })
    }

    /// A server holding only `databases`: nothing at server level beyond
    /// its version, every permission held.
    pub fn with_databases(databases: Vec<FixtureDatabase>) -> CatalogFixture {
        CatalogFixture {
            version: "16.0.4125.3".into(),
            databases,
            job_steps: Vec::new(),
            permissions: [true; 4],
            view_server_state: true,
            server: FixtureServer::default(),
            configurations: Vec::new(),
            workload: None,
        }
    }

    /// The fixture document for `tests/peers/tds_peer.py`.
    pub fn to_json(&self) -> Value {
        let srv = &self.server;
        let names = |v: &[String]| v.iter().map(|n| json!([n])).collect::<Vec<_>>();
        let mut permissions: Vec<i32> = self.permissions.map(i32::from).to_vec();
        permissions.push(i32::from(self.view_server_state));
        let mut queries = vec![
            json!({
                "match": "SERVERPROPERTY\\('ProductVersion'\\)",
                "columns": [["version","nvarchar"],["edition","nvarchar"],["product_level","nvarchar"],
                            ["collation","nvarchar"],["is_clustered","int"],["hadr_enabled","int"]],
                "rows": [[self.version, "Enterprise Edition (64-bit)", "RTM", "SQL_Latin1_General_CP1_CI_AS", 0, 1]]
            }),
            json!({
                "match": "HAS_PERMS_BY_NAME",
                "columns": [["view_any_database","int"],["view_any_definition","int"],
                            ["connect_any_database","int"],["agent_jobs","int"],["view_server_state","int"]],
                "rows": [permissions]
            }),
            if self.view_server_state {
                json!({
                    "match": "FROM sys\\.dm_os_sys_info",
                    "columns": [["cpu_count","int"],["memory_mb","bigint"]],
                    "rows": [[8, 65536]]
                })
            } else {
                json!({ "match": "FROM sys\\.dm_os_sys_info", "error": 300 })
            },
            json!({
                "match": "FROM sys\\.availability_groups",
                "columns": [["name","nvarchar"]],
                "rows": names(&srv.availability_groups)
            }),
            json!({
                "match": "FROM sys\\.configurations",
                "columns": [["name","nvarchar"],["value","nvarchar"]],
                "rows": self.configurations.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>()
            }),
            json!({
                "match": "FROM sys\\.server_principals",
                "columns": [["type_desc","nvarchar"],["n","bigint"],["disabled","bigint"]],
                "rows": [["SQL_LOGIN", 3, 1], ["WINDOWS_GROUP", 2, 0], ["WINDOWS_LOGIN", 5, 0]]
            }),
            json!({
                "match": "FROM sys\\.servers WHERE is_linked",
                "columns": [["name","nvarchar"],["product","nvarchar"],["provider","nvarchar"]],
                "rows": srv.linked_servers.iter().map(|(n, p, v)| json!([n, p, v])).collect::<Vec<_>>()
            }),
            json!({
                "match": "FROM sys\\.server_triggers",
                "columns": [["name","nvarchar"],["is_disabled","int"]],
                "rows": srv.server_triggers.iter().map(|n| json!([n, 0])).collect::<Vec<_>>()
            }),
            json!({
                "match": "FROM sys\\.endpoints",
                "columns": [["name","nvarchar"],["protocol_desc","nvarchar"],["type_desc","nvarchar"],["state_desc","nvarchar"]],
                "rows": srv.endpoints.iter().map(|(n, p, t)| json!([n, p, t, "STARTED"])).collect::<Vec<_>>()
            }),
            json!({
                "match": "FROM sys\\.credentials",
                "columns": [["name","nvarchar"]],
                "rows": names(&srv.credentials)
            }),
            json!({
                "match": "FROM sys\\.server_audits",
                "columns": [["name","nvarchar"],["type_desc","nvarchar"],["is_enabled","int"]],
                "rows": srv.audits.iter().map(|n| json!([n, "FILE", 1])).collect::<Vec<_>>()
            }),
            // As SQL Server answers the collector's two job step queries:
            // the command only for T-SQL steps (filtered in the WHERE), the
            // other steps without their command.
            json!({
                "match": "FROM msdb\\.dbo\\.sysjobs .* WHERE s\\.subsystem = N'TSQL'",
                "columns": [["name","nvarchar"],["step_id","int"],["subsystem","nvarchar"],["command","nvarchar(max)"]],
                "rows": self.job_steps.iter()
                    .filter(|(_, _, sub, _)| sub.eq_ignore_ascii_case("TSQL"))
                    .map(|(j, s, sub, c)| json!([j, s, sub, c])).collect::<Vec<_>>()
            }),
            json!({
                "match": "FROM msdb\\.dbo\\.sysjobs .* WHERE s\\.subsystem <> N'TSQL'",
                "columns": [["name","nvarchar"],["step_id","int"],["subsystem","nvarchar"]],
                "rows": self.job_steps.iter()
                    .filter(|(_, _, sub, _)| !sub.eq_ignore_ascii_case("TSQL"))
                    .map(|(j, s, sub, _)| json!([j, s, sub])).collect::<Vec<_>>()
            }),
            json!({
                "match": "FROM sys\\.databases",
                "columns": [["name","nvarchar"],["compatibility_level","int"],["collation_name","nvarchar"],
                            ["recovery_model_desc","nvarchar"],["data_mb","bigint"],["log_mb","bigint"],
                            ["tde","int"],["broker","int"],["cdc","int"],["published","int"],
                            ["subscribed","int"],["merge_published","int"],["distributor","int"]],
                "rows": self.databases.iter().map(|d| json!([
                    d.name, 160, d.collation.as_deref().unwrap_or("Latin1_General_100_CI_AS"), "FULL",
                    2048, 512, i32::from(d.tde), 0, i32::from(d.cdc), 0, 0, 0, 0
                ])).collect::<Vec<_>>()
            }),
        ];
        for db in &self.databases {
            queries.extend(database_answers(db));
        }
        if let Some(workload) = &self.workload {
            queries.extend(workload.answers());
        }
        json!({ "queries": queries })
    }

    /// Writes the fixture document to `path`.
    pub fn write(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_json().to_string()).map_err(|source| PeerError::Io {
            what: "writing the catalog fixture",
            source,
        })
    }

    /// The same server with `factor` times the objects: every module and
    /// table of each database repeated under suffixed names (`_2`, `_3`, ...),
    /// for measuring how collection grows with object count.
    pub fn scaled(&self, factor: usize) -> CatalogFixture {
        let mut out = self.clone();
        for db in &mut out.databases {
            let (modules, tables) = (db.modules.clone(), db.tables.clone());
            for copy in 2..=factor {
                db.modules.extend(modules.iter().map(|m| FixtureModule {
                    name: format!("{}_{copy}", m.name),
                    ..m.clone()
                }));
                db.tables.extend(tables.iter().map(|t| FixtureTable {
                    name: format!("{}_{copy}", t.name),
                    ..t.clone()
                }));
            }
        }
        out
    }

    /// The server version as `SERVERPROPERTY('ProductVersion')` answers:
    /// 16 (SQL Server 2022, the PERFORMANCE STATE permissions) or 15 (2019,
    /// VIEW SERVER STATE / VIEW DATABASE STATE).
    pub fn with_major_version(mut self, major: u32) -> CatalogFixture {
        self.version = match major {
            15 => "15.0.4345.5".into(),
            16 => "16.0.4125.3".into(),
            other => format!("{other}.0.100.1"),
        };
        self
    }

    pub fn module_count(&self) -> usize {
        self.databases.iter().map(|d| d.modules.len()).sum()
    }
}
