//! Findings from what the collector saw rather than from code: features a
//! server or database uses that no scan of its scripts can find (CLR
//! assemblies, linked servers, column data types, temporal tables, Agent
//! jobs, references to other databases ...).
//!
//! Each fact is stated as the observation the same feature produces in code
//! (a CLR assembly is `CREATE ASSEMBLY`, a geography column is the data type
//! `GEOGRAPHY`, a reference to another database is a cross-database name), so
//! the catalog decides status, effort and advice the same way for a script
//! and for a live server. Facts with no statement of their own are
//! `server_object` features (`rules/server.toml`). A unit test checks that
//! every fact this module can state is known to the shipped catalog.
//!
//! Guarantees: one finding per (feature, object) in a database or on the
//! server; findings are attributed to `target/(server)` or `target/database`
//! at line 1, with the object when there is one; the snippet names the
//! object and the fact, never code.

use std::collections::HashSet;

use super::Analyzer;
use crate::collect::inventory::{DatabaseInventory, Inventory};
use crate::findings::{Finding, ObjectKind, ObjectRef, Status};
use crate::tsql::observation::{Observation, ObservationKind};

/// The observation a database feature count stands for, by the count's name
/// in [`crate::collect::queries::FEATURE_COUNTS`], with a noun for snippets.
/// Counts that are supported everywhere (sequences, types) are listed too:
/// the catalog, not this table, says they need no change.
const FEATURE_FACTS: &[(&str, ObservationKind, &str, &str, &str)] = &[
    (
        "clr_assemblies",
        ObservationKind::Statement,
        "CREATE ASSEMBLY",
        "",
        "CLR assemblies",
    ),
    (
        "service_broker_queues",
        ObservationKind::Statement,
        "CREATE QUEUE",
        "",
        "Service Broker queues",
    ),
    (
        "fulltext_catalogs",
        ObservationKind::Statement,
        "CREATE FULLTEXT CATALOG",
        "",
        "full-text catalogs",
    ),
    (
        "fulltext_indexes",
        ObservationKind::Statement,
        "CREATE FULLTEXT INDEX",
        "",
        "full-text indexes",
    ),
    (
        "filestream_filegroups",
        ObservationKind::Option,
        "FILESTREAM",
        "CREATE DATABASE",
        "FILESTREAM filegroups",
    ),
    (
        "partition_schemes",
        ObservationKind::Statement,
        "CREATE PARTITION SCHEME",
        "",
        "partition schemes",
    ),
    (
        "sequences",
        ObservationKind::Statement,
        "CREATE SEQUENCE",
        "",
        "sequences",
    ),
    (
        "synonyms",
        ObservationKind::Statement,
        "CREATE SYNONYM",
        "",
        "synonyms",
    ),
    (
        "xml_schema_collections",
        ObservationKind::Statement,
        "CREATE XML SCHEMA COLLECTION",
        "",
        "XML schema collections",
    ),
    (
        "user_defined_types",
        ObservationKind::Statement,
        "CREATE TYPE",
        "",
        "user-defined types",
    ),
    (
        "table_types",
        ObservationKind::Statement,
        "CREATE TYPE",
        "",
        "table types",
    ),
    (
        "change_tracking_tables",
        ObservationKind::Option,
        "CHANGE_TRACKING",
        "ALTER DATABASE",
        "tables with change tracking",
    ),
];

/// Server options whose non-default value is a migration item.
const CONFIGURATION_FACTS: &[(&str, ObservationKind, &str)] = &[
    ("xp_cmdshell", ObservationKind::Procedure, "XP_CMDSHELL"),
    (
        "Ole Automation Procedures",
        ObservationKind::Procedure,
        "SP_OACREATE",
    ),
    (
        "Database Mail XPs",
        ObservationKind::Procedure,
        "SP_SEND_DBMAIL",
    ),
    (
        "cross db ownership chaining",
        ObservationKind::ServerObject,
        "CROSS DB OWNERSHIP CHAINING",
    ),
];

/// Findings for one collected server, with the analyzer's effort
/// calibration applied as for code ([`Analyzer::calibrated`]).
pub fn findings(analyzer: &Analyzer<'_>, inventory: &Inventory) -> Vec<Finding> {
    let mut out = Findings {
        analyzer,
        target: &inventory.target,
        findings: Vec::new(),
        seen: HashSet::new(),
    };
    server_facts(&mut out, inventory);
    for db in &inventory.databases {
        database_facts(&mut out, db, &inventory.server.collation);
    }
    out.findings
}

/// An observation a fact stands for: kind, name and enclosing statement.
type What = (ObservationKind, &'static str, &'static str);

fn server_facts(out: &mut Findings<'_, '_>, inv: &Inventory) {
    use ObservationKind::{ServerObject, Statement};
    let mut facts: Vec<(Option<ObjectRef>, What, String)> = Vec::new();
    if inv.unverified_certificate {
        facts.push((
            None,
            (ServerObject, "UNVERIFIED CERTIFICATE", ""),
            "collected over TLS without certificate verification \
             (dangerously_trust_server_certificate = true)"
                .to_owned(),
        ));
    }
    for ag in &inv.server.availability_groups {
        facts.push((
            Some(other(ag)),
            (ServerObject, "AVAILABILITY GROUP", ""),
            format!("availability group {ag}"),
        ));
    }
    for s in &inv.linked_servers {
        facts.push((
            Some(other(&s.name)),
            (ServerObject, "LINKED SERVER", ""),
            format!(
                "linked server {} (product {}, provider {})",
                s.name, s.product, s.provider
            ),
        ));
    }
    for t in &inv.server_triggers {
        facts.push((
            Some(named(&t.name, ObjectKind::Trigger)),
            (ServerObject, "SERVER TRIGGER", ""),
            format!("server trigger {}", t.name),
        ));
    }
    for e in &inv.endpoints {
        facts.push((
            Some(other(&e.name)),
            (Statement, "CREATE ENDPOINT", ""),
            format!("endpoint {} ({} over {})", e.name, e.kind, e.protocol),
        ));
    }
    for c in &inv.credentials {
        facts.push((
            Some(other(c)),
            (Statement, "CREATE CREDENTIAL", ""),
            format!("credential {c}"),
        ));
    }
    for a in &inv.audits {
        facts.push((
            Some(other(&a.name)),
            (Statement, "CREATE SERVER AUDIT", ""),
            format!("server audit {} (to {})", a.name, a.kind),
        ));
    }
    let windows: i64 = inv
        .logins
        .iter()
        .filter(|l| l.kind.starts_with("WINDOWS_"))
        .map(|l| l.count)
        .sum();
    if windows > 0 {
        facts.push((
            None,
            (ServerObject, "WINDOWS LOGINS", ""),
            format!("{windows} Windows logins and groups"),
        ));
    }
    for (option, kind, name) in CONFIGURATION_FACTS {
        if inv
            .configurations
            .iter()
            .any(|s| s.non_default && s.name.eq_ignore_ascii_case(option))
        {
            facts.push((
                None,
                (*kind, name, ""),
                format!("server option '{option}' is enabled"),
            ));
        }
    }
    let mut jobs: Vec<&str> = inv.job_steps.iter().map(|s| s.job.as_str()).collect();
    jobs.dedup();
    for job in jobs {
        facts.push((
            Some(named(job, ObjectKind::Job)),
            (ServerObject, "AGENT JOB", ""),
            format!("SQL Server Agent job {job}"),
        ));
    }
    for (object, what, snippet) in facts {
        out.fact(None, object, what, || snippet);
    }
}

fn database_facts(out: &mut Findings<'_, '_>, db: &DatabaseInventory, server_collation: &str) {
    use ObservationKind::{Clause, DataType, Option as Opt, Procedure, ServerObject, Statement};
    let at = Some(db.name.as_str());
    let database = named(&db.name, ObjectKind::Database);
    let collation_differs = !db.collation.is_empty()
        && !server_collation.is_empty()
        && !db.collation.eq_ignore_ascii_case(server_collation);
    let flags: [(bool, What, String); 4] = [
        (
            collation_differs,
            (ServerObject, "DATABASE COLLATION", ""),
            format!(
                "database collation {} differs from the server's {server_collation}",
                db.collation
            ),
        ),
        (
            db.tde,
            (Statement, "CREATE DATABASE ENCRYPTION KEY", ""),
            "transparent data encryption is on".to_owned(),
        ),
        (
            db.cdc_enabled,
            (Procedure, "SP_CDC_ENABLE_DB", ""),
            "change data capture is enabled".to_owned(),
        ),
        (
            !db.replication.is_empty(),
            (Procedure, "SP_REPLICATIONDBOPTION", ""),
            format!("replication: {}", db.replication.join(", ")),
        ),
    ];
    for (on, what, snippet) in flags {
        if on {
            out.fact(at, Some(database.clone()), what, || snippet);
        }
    }
    for (count, kind, name, statement, noun) in FEATURE_FACTS {
        let n = db.features.get(*count).copied().unwrap_or(0);
        if n > 0 {
            out.fact(at, Some(database.clone()), (*kind, name, statement), || {
                format!("{n} {noun}")
            });
        }
    }
    for t in &db.tables {
        let table = ObjectRef {
            schema: Some(t.schema.clone()),
            name: t.name.clone(),
            kind: ObjectKind::Table,
        };
        let label = format!("table {}.{}", t.schema, t.name);
        let storage: [(bool, What, &str); 4] = [
            (
                t.memory_optimized,
                (Opt, "MEMORY_OPTIMIZED", "CREATE TABLE"),
                "is memory-optimized",
            ),
            (
                t.temporal,
                (Opt, "SYSTEM_VERSIONING", "CREATE TABLE"),
                "is system-versioned (temporal)",
            ),
            (
                t.filetable,
                (Opt, "FILETABLE", "CREATE TABLE"),
                "is a FileTable",
            ),
            (
                t.columnstore,
                (Statement, "CREATE COLUMNSTORE INDEX", ""),
                "has a columnstore index",
            ),
        ];
        for (on, what, description) in storage {
            if on {
                out.fact(at, Some(table.clone()), what, || {
                    format!("{label} {description}")
                });
            }
        }
        for c in &t.columns {
            let declared = match (&c.base_type, c.user_defined) {
                (Some(base), true) => base,
                _ => &c.data_type,
            };
            let what = (DataType, declared.to_ascii_uppercase(), "CREATE TABLE");
            out.fact(at, Some(table.clone()), (what.0, &what.1, what.2), || {
                format!("{label}: column {} is {}", c.name, c.data_type)
            });
        }
    }
    for r in &db.references {
        let object = ObjectRef {
            schema: Some(r.schema.clone()),
            name: r.object.clone(),
            kind: object_kind(&r.kind),
        };
        let (what, target): (What, String) = match (&r.server, &r.database) {
            (Some(server), d) => (
                (Clause, "REMOTE OBJECT REFERENCE", ""),
                match d {
                    Some(d) => format!("linked server {server}, database {d}"),
                    None => format!("linked server {server}"),
                },
            ),
            (None, Some(d)) if !d.eq_ignore_ascii_case(&db.name) => (
                (ServerObject, "CROSS DATABASE REFERENCE", ""),
                format!("database {d}"),
            ),
            _ => continue,
        };
        out.fact(at, Some(object), what, || {
            format!("{}.{} refers to {target}", r.schema, r.object)
        });
    }
    for m in db.modules.iter().filter(|m| m.encrypted) {
        let object = ObjectRef {
            schema: Some(m.schema.clone()),
            name: m.name.clone(),
            kind: object_kind(&m.kind),
        };
        out.fact(
            at,
            Some(object),
            (ServerObject, "ENCRYPTED MODULE", ""),
            || format!("{}.{} is encrypted", m.schema, m.name),
        );
    }
}

/// Findings being collected for one server.
struct Findings<'m, 'c> {
    analyzer: &'m Analyzer<'c>,
    target: &'m str,
    findings: Vec<Finding>,
    /// (database, feature, object) already reported.
    seen: HashSet<(Option<String>, String, Option<ObjectRef>)>,
}

impl Findings<'_, '_> {
    /// States one fact; adds a finding unless the catalog calls it
    /// supported or the same feature was already reported for the object.
    fn fact(
        &mut self,
        database: Option<&str>,
        object: Option<ObjectRef>,
        (kind, name, statement): (ObservationKind, &str, &str),
        snippet: impl FnOnce() -> String,
    ) {
        let obs = Observation {
            kind,
            name: name.to_owned(),
            detail: None,
            statement: statement.to_owned(),
            offset: 0,
            len: 0,
            in_string: false,
        };
        let Some((feature, status)) = self.analyzer.matcher().classify_fact(&obs) else {
            return;
        };
        let (status, effort_minutes) = self.analyzer.calibrated(feature, status);
        if status == Status::Supported
            || !self.seen.insert((
                database.map(str::to_owned),
                feature.id.clone(),
                object.clone(),
            ))
        {
            return;
        }
        self.findings.push(Finding {
            file: format!("{}/{}", self.target, database.unwrap_or("(server)")),
            line: 1,
            column: 1,
            object,
            feature: feature.id.clone(),
            group: feature.group.clone(),
            status,
            complexity: feature.complexity,
            effort_minutes,
            snippet: snippet(),
            in_dynamic_sql: false,
            workload: None,
        });
    }
}

fn named(name: &str, kind: ObjectKind) -> ObjectRef {
    ObjectRef {
        schema: None,
        name: name.to_owned(),
        kind,
    }
}

fn other(name: &str) -> ObjectRef {
    named(name, ObjectKind::Other)
}

/// The object kind of a `sys.objects.type_desc`.
fn object_kind(type_desc: &str) -> ObjectKind {
    match type_desc {
        "SQL_STORED_PROCEDURE" | "CLR_STORED_PROCEDURE" | "EXTENDED_STORED_PROCEDURE" => {
            ObjectKind::Procedure
        }
        "VIEW" => ObjectKind::View,
        "USER_TABLE" => ObjectKind::Table,
        "SEQUENCE_OBJECT" => ObjectKind::Sequence,
        "SYNONYM" => ObjectKind::Synonym,
        t if t.ends_with("_FUNCTION") => ObjectKind::Function,
        t if t.ends_with("_TRIGGER") => ObjectKind::Trigger,
        _ => ObjectKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::inventory::{
        Column, ExternalReference, JobStep, LinkedServer, ModuleDef, ServerInfo, Setting, Table,
    };
    use crate::rules::{Catalog, Matcher};

    fn matcher(catalog: &Catalog) -> Matcher<'_> {
        Matcher::new(catalog, catalog.latest())
    }

    #[test]
    fn every_fact_is_known_to_the_shipped_catalog() {
        let catalog = Catalog::shipped().unwrap();
        let m = matcher(&catalog);
        let known = |kind, name: &str, statement: &str| {
            m.classify_fact(&Observation {
                kind,
                name: name.to_owned(),
                detail: None,
                statement: statement.to_owned(),
                offset: 0,
                len: 0,
                in_string: false,
            })
            .is_some()
        };
        for (count, kind, name, statement, _) in FEATURE_FACTS {
            assert!(known(*kind, name, statement), "{count}: {name}");
        }
        for (option, kind, name) in CONFIGURATION_FACTS {
            assert!(known(*kind, name, ""), "{option}: {name}");
        }
        for name in [
            "AVAILABILITY GROUP",
            "LINKED SERVER",
            "SERVER TRIGGER",
            "WINDOWS LOGINS",
            "AGENT JOB",
            "DATABASE COLLATION",
            "ENCRYPTED MODULE",
            "UNVERIFIED CERTIFICATE",
        ] {
            assert!(known(ObservationKind::ServerObject, name, ""), "{name}");
        }
        for (kind, name, statement) in [
            (ObservationKind::Statement, "CREATE ENDPOINT", ""),
            (ObservationKind::Statement, "CREATE CREDENTIAL", ""),
            (ObservationKind::Statement, "CREATE SERVER AUDIT", ""),
            (
                ObservationKind::Statement,
                "CREATE DATABASE ENCRYPTION KEY",
                "",
            ),
            (ObservationKind::Procedure, "SP_CDC_ENABLE_DB", ""),
            (ObservationKind::Procedure, "SP_REPLICATIONDBOPTION", ""),
            (ObservationKind::Option, "MEMORY_OPTIMIZED", "CREATE TABLE"),
            (ObservationKind::Option, "SYSTEM_VERSIONING", "CREATE TABLE"),
            (ObservationKind::Option, "FILETABLE", "CREATE TABLE"),
            (ObservationKind::Statement, "CREATE COLUMNSTORE INDEX", ""),
            (ObservationKind::Clause, "REMOTE OBJECT REFERENCE", ""),
            (
                ObservationKind::ServerObject,
                "CROSS DATABASE REFERENCE",
                "",
            ),
            (ObservationKind::DataType, "GEOGRAPHY", "CREATE TABLE"),
        ] {
            assert!(known(kind, name, statement), "{name}");
        }
    }

    fn inventory() -> Inventory {
        let column = |name: &str, ty: &str| Column {
            name: name.into(),
            data_type: ty.into(),
            base_type: None,
            user_defined: false,
            clr: ty == "geography",
        };
        Inventory {
            target: "sql-01".into(),
            unverified_certificate: true,
            server: ServerInfo {
                collation: "SQL_Latin1_General_CP1_CI_AS".into(),
                availability_groups: vec!["ag1".into()],
                ..ServerInfo::default()
            },
            configurations: vec![Setting {
                name: "xp_cmdshell".into(),
                value: "1".into(),
                non_default: true,
            }],
            linked_servers: vec![LinkedServer {
                name: "ORA".into(),
                product: "Oracle".into(),
                provider: "OraOLEDB.Oracle".into(),
            }],
            job_steps: vec![
                JobStep {
                    job: "nightly".into(),
                    step_id: 1,
                    subsystem: "TSQL".into(),
                    command: String::new(),
                },
                JobStep {
                    job: "nightly".into(),
                    step_id: 2,
                    subsystem: "TSQL".into(),
                    command: String::new(),
                },
            ],
            databases: vec![DatabaseInventory {
                name: "Sales".into(),
                collation: "Latin1_General_100_CS_AS".into(),
                features: [
                    ("clr_assemblies".to_owned(), 2),
                    ("sequences".to_owned(), 4),
                ]
                .into_iter()
                .collect(),
                tables: vec![Table {
                    schema: "dbo".into(),
                    name: "Cities".into(),
                    temporal: true,
                    columns: vec![
                        column("Id", "int"),
                        column("Location", "geography"),
                        column("Node", "hierarchyid"),
                        column("Parent", "hierarchyid"),
                    ],
                    ..Table::default()
                }],
                references: vec![ExternalReference {
                    schema: "dbo".into(),
                    object: "Report".into(),
                    kind: "SQL_STORED_PROCEDURE".into(),
                    server: None,
                    database: Some("Archive".into()),
                    count: 3,
                }],
                modules: vec![ModuleDef {
                    schema: "dbo".into(),
                    name: "Secret".into(),
                    kind: "SQL_STORED_PROCEDURE".into(),
                    encrypted: true,
                    definition: None,
                }],
                ..DatabaseInventory::default()
            }],
            ..Inventory::default()
        }
    }

    #[test]
    fn server_and_database_facts_become_findings_once_per_object() {
        let catalog = Catalog::shipped().unwrap();
        let a = Analyzer::new(&catalog, catalog.latest());
        let found = findings(&a, &inventory());
        let ids: Vec<(&str, &str)> = found
            .iter()
            .map(|f| (f.file.as_str(), f.feature.as_str()))
            .collect();
        for expected in [
            ("sql-01/(server)", "server.availability_group"),
            ("sql-01/(server)", "server.linked_server"),
            ("sql-01/(server)", "server.agent_job"),
            ("sql-01/(server)", "assessment.unverified_certificate"),
            ("sql-01/Sales", "server.database_collation"),
            ("sql-01/Sales", "statement.create_assembly"),
            ("sql-01/Sales", "ddl.temporal.create_table"),
            ("sql-01/Sales", "data_type.hierarchyid"),
            ("sql-01/Sales", "server.cross_database_reference"),
            ("sql-01/Sales", "server.encrypted_module"),
        ] {
            assert!(ids.contains(&expected), "{expected:?} not in {ids:?}");
        }
        // Two hierarchyid columns in one table: one finding for the table;
        // geography is supported on the latest target.
        assert_eq!(
            ids.iter()
                .filter(|(_, f)| *f == "data_type.hierarchyid")
                .count(),
            1
        );
        assert!(!ids.iter().any(|(_, f)| *f == "data_type.geography"));
        // Two steps of one job: one job finding.
        assert_eq!(
            ids.iter().filter(|(_, f)| *f == "server.agent_job").count(),
            1
        );
        // Supported features (sequences, int columns) are not findings.
        assert!(
            !ids.iter()
                .any(|(_, f)| f.contains("sequence") || f.ends_with(".int"))
        );
        assert!(found.iter().any(|f| f.feature.contains("xp_cmdshell")));
        let temporal = found
            .iter()
            .find(|f| f.feature == "ddl.temporal.create_table")
            .unwrap();
        assert_eq!(temporal.object.as_ref().unwrap().name, "Cities");
        assert_eq!(temporal.status, Status::NotSupported);
    }

    #[test]
    fn the_effort_calibration_applies_to_facts_as_to_code() {
        let catalog = Catalog::shipped().unwrap();
        let effort = crate::rules::EffortOverrides::parse(
            "[feature.\"ddl.temporal.create_table\"]\nstatus = \"review_manually\"\n\
             effort_minutes = 7\n[feature.\"server.agent_job\"]\nstatus = \"supported\"\n",
            "calib.toml",
            &catalog,
        )
        .unwrap();
        let a = Analyzer::new(&catalog, catalog.latest()).with_effort(&effort);
        let found = findings(&a, &inventory());
        let temporal = found
            .iter()
            .find(|f| f.feature == "ddl.temporal.create_table")
            .unwrap();
        assert_eq!(temporal.status, Status::ReviewManually);
        assert_eq!(temporal.effort_minutes, 7);
        // Overridden to supported: no longer a finding.
        assert!(!found.iter().any(|f| f.feature == "server.agent_job"));
    }

    #[test]
    fn an_inventory_without_features_has_no_findings() {
        let catalog = Catalog::shipped().unwrap();
        let a = Analyzer::new(&catalog, catalog.latest());
        let mut inv = Inventory::default();
        inv.databases.push(DatabaseInventory {
            name: "Plain".into(),
            ..DatabaseInventory::default()
        });
        assert!(findings(&a, &inv).is_empty());
    }
}
