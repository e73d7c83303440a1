//! Catalog fixtures for the TDS peer: what a SQL Server would answer to the
//! collector's queries, built from real sample databases.
//!
//! [`CatalogFixture::wide_world_importers`] takes every procedure, function
//! and view of Microsoft's WideWorldImporters and WideWorldImportersDW SSDT
//! projects (`../shared/corpora/tsql/`) as module definitions, so the collector
//! and the analyzer see a realistic database. Tests add databases with hostile
//! names, refused steps or a server that disappears mid-collection.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

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

/// How a database answers the per-database queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Normal,
    /// The module query is refused with error 229 (permission denied).
    ModulesRefused,
    /// The server process exits when the module query arrives.
    DropsConnection,
}

#[derive(Debug, Clone)]
pub struct FixtureDatabase {
    pub name: String,
    pub modules: Vec<FixtureModule>,
    pub behaviour: Behaviour,
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
}

/// The shared T-SQL corpora (`ASSESSOR_CORPORA` or `../shared/corpora/tsql`).
pub fn corpora_dir() -> Result<PathBuf> {
    let dir = std::env::var_os("ASSESSOR_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| tools::repo_root().join("../shared/corpora/tsql"));
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(PeerError::Missing {
            tool: "the shared T-SQL corpora",
            path: dir.display().to_string(),
        })
    }
}

fn kind_of(folder: &str) -> Option<&'static str> {
    match folder {
        "Stored Procedures" => Some("SQL_STORED_PROCEDURE"),
        "Functions" => Some("SQL_SCALAR_FUNCTION"),
        "Views" => Some("VIEW"),
        _ => None,
    }
}

/// Modules of an SSDT project laid out as `<Schema>/<Kind>/<Name>.sql`.
fn ssdt_modules(root: &Path) -> Result<Vec<FixtureModule>> {
    let io = |source| PeerError::Io {
        what: "reading the corpora",
        source,
    };
    let mut modules = Vec::new();
    let mut schemas: Vec<_> = std::fs::read_dir(root)
        .map_err(io)?
        .flatten()
        .map(|e| e.path())
        .collect();
    schemas.sort();
    for schema_dir in schemas.iter().filter(|p| p.is_dir()) {
        let schema = schema_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let mut kinds: Vec<_> = std::fs::read_dir(schema_dir)
            .map_err(io)?
            .flatten()
            .map(|e| e.path())
            .collect();
        kinds.sort();
        for kind_dir in kinds.iter().filter(|p| p.is_dir()) {
            let Some(kind) = kind_dir
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(kind_of)
            else {
                continue;
            };
            let mut files: Vec<_> = std::fs::read_dir(kind_dir)
                .map_err(io)?
                .flatten()
                .map(|e| e.path())
                .collect();
            files.sort();
            for file in files
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            {
                let bytes = std::fs::read(file).map_err(io)?;
                let text =
                    String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes))
                        .into_owned();
                modules.push(FixtureModule {
                    schema: schema.clone(),
                    name: file
                        .file_stem()
                        .and_then(|n| n.to_str())
                        .unwrap_or_default()
                        .to_owned(),
                    kind: kind.to_owned(),
                    definition: Some(text),
                });
            }
        }
    }
    Ok(modules)
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
    /// WideWorldImporters and WideWorldImportersDW, as one server.
    pub fn wide_world_importers() -> Result<CatalogFixture> {
        let corpora = corpora_dir()?;
        Ok(CatalogFixture {
            version: "16.0.4125.3".into(),
            databases: vec![
                FixtureDatabase {
                    name: "WideWorldImporters".into(),
                    modules: ssdt_modules(&corpora.join("wide-world-importers/wwi-ssdt"))?,
                    behaviour: Behaviour::Normal,
                },
                FixtureDatabase {
                    name: "WideWorldImportersDW".into(),
                    modules: ssdt_modules(&corpora.join("wide-world-importers-dw/wwi-dw-ssdt"))?,
                    behaviour: Behaviour::Normal,
                },
            ],
            job_steps: vec![(
                "WWI nightly purge".into(),
                1,
                "TSQL".into(),
                "EXEC [WideWorldImporters].[DataLoadSimulation].[DailyProcessToCreateHistory] @StartDate = '20130101'"
                    .into(),
            )],
            permissions: [true; 4],
        })
    }

    /// The fixture document for `tests/peers/tds_peer.py`.
    pub fn to_json(&self) -> Value {
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
                            ["connect_any_database","int"],["agent_jobs","int"]],
                "rows": [self.permissions.map(i32::from)]
            }),
            json!({
                "match": "FROM sys\\.configurations",
                "columns": [["name","nvarchar"],["value","nvarchar"]],
                "rows": [["clr enabled","1"],["cost threshold for parallelism","5"],["xp_cmdshell","0"]]
            }),
            json!({
                "match": "FROM msdb\\.dbo\\.sysjobs",
                "columns": [["name","nvarchar"],["step_id","int"],["subsystem","nvarchar"],["command","nvarchar(max)"]],
                "rows": self.job_steps.iter().map(|(j, s, sub, c)| json!([j, s, sub, c])).collect::<Vec<_>>()
            }),
            json!({
                "match": "FROM sys\\.databases",
                "columns": [["name","nvarchar"],["compatibility_level","int"],["collation_name","nvarchar"],["recovery_model_desc","nvarchar"]],
                "rows": self.databases.iter().map(|d| json!([d.name, 160, "Latin1_General_100_CI_AS", "FULL"])).collect::<Vec<_>>()
            }),
        ];
        for db in &self.databases {
            let q = re_escape(&quoted(&db.name));
            let mut counts = std::collections::BTreeMap::<&str, i64>::new();
            for m in &db.modules {
                *counts.entry(&m.kind).or_default() += 1;
            }
            queries.push(json!({
                "match": format!("FROM {q}\\.sys\\.objects AS o WHERE"),
                "columns": [["type_desc","nvarchar"],["n","bigint"]],
                "rows": counts.iter().map(|(k, n)| json!([k, n])).collect::<Vec<_>>()
            }));
            let modules_match = format!("FROM {q}\\.sys\\.sql_modules");
            queries.push(match db.behaviour {
                Behaviour::Normal => json!({
                    "match": modules_match,
                    "columns": [["schema_name","nvarchar"],["object_name","nvarchar"],["type_desc","nvarchar"],["definition","nvarchar(max)"]],
                    "rows": db.modules.iter().map(|m| json!([m.schema, m.name, m.kind, m.definition])).collect::<Vec<_>>()
                }),
                Behaviour::ModulesRefused => json!({ "match": modules_match, "error": 229 }),
                Behaviour::DropsConnection => json!({ "match": modules_match, "drop": true }),
            });
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

    pub fn module_count(&self) -> usize {
        self.databases.iter().map(|d| d.modules.len()).sum()
    }
}
