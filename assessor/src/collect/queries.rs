//! The collector's SQL: every statement it may send, and nothing else.
//!
//! Guarantees:
//! - Each statement is a single read-only `SELECT` on catalog views or
//!   server properties; none creates, alters, writes or executes anything.
//!   [`is_collector_statement`] is the allow-list a test checks every
//!   statement a server receives against.
//! - The only value from the server that enters SQL text is a database name,
//!   and only through [`super::sql::quote_ident`] (QUOTENAME semantics).
//! - Per-database queries read `{db}.sys.*` views by three-part names, so no
//!   `USE` is ever sent and the session's database never changes.
//! - Every column has an explicit type (`CAST`s to `int`, `bigint`,
//!   `nvarchar`), so answers have one shape on every SQL Server version.
//! - Catalog metadata only: a SQL Agent job step's `command` is selected
//!   only for T-SQL steps, filtered in the `WHERE` clause, so the commands of
//!   CmdExec, PowerShell, SSIS and other steps (which often hold passwords)
//!   never leave the server; [`HOST_QUERY`], the one statement that needs
//!   VIEW SERVER STATE (which would also read every session's SQL text), is
//!   sent only when the target opts in (`[targets.collect] host_resources`).

/// Server identity (also the preflight's first query).
pub const SERVER_QUERY: &str = "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS version, \
CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition, \
CAST(SERVERPROPERTY('ProductLevel') AS nvarchar(128)) AS product_level, \
CAST(SERVERPROPERTY('Collation') AS nvarchar(128)) AS collation, \
CAST(ISNULL(SERVERPROPERTY('IsClustered'), 0) AS int) AS is_clustered, \
CAST(ISNULL(SERVERPROPERTY('IsHadrEnabled'), 0) AS int) AS hadr_enabled";

/// CPU and memory of the host (VIEW SERVER STATE). Sent only when the
/// target's `[targets.collect] host_resources = true`.
pub const HOST_QUERY: &str = "SELECT CAST(cpu_count AS int) AS cpu_count, \
CAST(physical_memory_kb / 1024 AS bigint) AS memory_mb FROM sys.dm_os_sys_info";

pub const AVAILABILITY_GROUPS_QUERY: &str =
    "SELECT name FROM sys.availability_groups ORDER BY name";

pub const CONFIGURATIONS_QUERY: &str = "SELECT name, CAST(value_in_use AS nvarchar(64)) AS value \
FROM sys.configurations ORDER BY name";

/// Logins by type, never names or hashes.
pub const LOGINS_QUERY: &str = "SELECT type_desc, COUNT_BIG(*) AS n, \
CAST(SUM(CASE WHEN is_disabled = 1 THEN 1 ELSE 0 END) AS bigint) AS disabled \
FROM sys.server_principals WHERE type IN ('S', 'U', 'G', 'C', 'K', 'E', 'X') \
GROUP BY type_desc ORDER BY type_desc";

/// Linked servers and their providers (not their data sources or logins).
pub const LINKED_SERVERS_QUERY: &str = "SELECT name, product, provider FROM sys.servers \
WHERE is_linked = 1 ORDER BY name";

pub const SERVER_TRIGGERS_QUERY: &str = "SELECT name, CAST(is_disabled AS int) AS is_disabled \
FROM sys.server_triggers ORDER BY name";

/// User endpoints (ids 1-5 are the built-in TSQL endpoints).
pub const ENDPOINTS_QUERY: &str = "SELECT name, protocol_desc, type_desc, state_desc \
FROM sys.endpoints WHERE endpoint_id > 5 ORDER BY name";

/// Credential names only (never identities or secrets).
pub const CREDENTIALS_QUERY: &str = "SELECT name FROM sys.credentials ORDER BY name";

pub const AUDITS_QUERY: &str = "SELECT name, type_desc, CAST(is_state_enabled AS int) AS is_enabled \
FROM sys.server_audits ORDER BY name";

/// T-SQL job steps with their command, the only steps whose code is
/// analysed. The filter is in the `WHERE`: no other step's command is read.
pub const JOB_STEPS_QUERY: &str = "SELECT j.name, s.step_id, s.subsystem, s.command \
FROM msdb.dbo.sysjobs AS j JOIN msdb.dbo.sysjobsteps AS s ON s.job_id = j.job_id \
WHERE s.subsystem = N'TSQL' ORDER BY j.name, s.step_id";

/// Every other job step (CmdExec, PowerShell, SSIS, ...), listed by job and
/// subsystem for the report, without its command.
pub const OTHER_JOB_STEPS_QUERY: &str = "SELECT j.name, s.step_id, s.subsystem \
FROM msdb.dbo.sysjobs AS j JOIN msdb.dbo.sysjobsteps AS s ON s.job_id = j.job_id \
WHERE s.subsystem <> N'TSQL' ORDER BY j.name, s.step_id";

/// User databases with their settings, sizes, TDE and replication flags.
pub const DATABASES_QUERY: &str = "SELECT d.name, CAST(d.compatibility_level AS int) AS compatibility_level, \
d.collation_name, d.recovery_model_desc, \
CAST(ISNULL((SELECT SUM(CAST(f.size AS bigint)) FROM sys.master_files AS f \
WHERE f.database_id = d.database_id AND f.type = 0), 0) * 8 / 1024 AS bigint) AS data_mb, \
CAST(ISNULL((SELECT SUM(CAST(f.size AS bigint)) FROM sys.master_files AS f \
WHERE f.database_id = d.database_id AND f.type = 1), 0) * 8 / 1024 AS bigint) AS log_mb, \
CAST(d.is_encrypted AS int) AS tde, CAST(d.is_broker_enabled AS int) AS broker, \
CAST(d.is_cdc_enabled AS int) AS cdc, CAST(d.is_published AS int) AS published, \
CAST(d.is_subscribed AS int) AS subscribed, CAST(d.is_merge_published AS int) AS merge_published, \
CAST(d.is_distributor AS int) AS distributor \
FROM sys.databases AS d WHERE d.database_id > 4 AND d.state_desc = N'ONLINE' ORDER BY d.name";

/// The counts [`features_query`] returns, in column order: the column name
/// and the `FROM ... WHERE ...` it counts (with `{db}` for the database).
pub const FEATURE_COUNTS: &[(&str, &str)] = &[
    (
        "clr_assemblies",
        "{db}.sys.assemblies WHERE is_user_defined = 1",
    ),
    (
        "service_broker_queues",
        "{db}.sys.service_queues WHERE is_ms_shipped = 0",
    ),
    ("fulltext_catalogs", "{db}.sys.fulltext_catalogs"),
    ("fulltext_indexes", "{db}.sys.fulltext_indexes"),
    (
        "filestream_filegroups",
        "{db}.sys.filegroups WHERE type = 'FD'",
    ),
    (
        "memory_optimized_filegroups",
        "{db}.sys.filegroups WHERE type = 'FX'",
    ),
    ("partition_schemes", "{db}.sys.partition_schemes"),
    ("sequences", "{db}.sys.sequences"),
    ("synonyms", "{db}.sys.synonyms"),
    (
        "xml_schema_collections",
        "{db}.sys.xml_schema_collections WHERE xml_collection_id > 65535",
    ),
    (
        "user_defined_types",
        "{db}.sys.types WHERE is_user_defined = 1 AND is_table_type = 0",
    ),
    ("table_types", "{db}.sys.table_types"),
    ("change_tracking_tables", "{db}.sys.change_tracking_tables"),
];

/// One row of feature counts for one database (`db` already quoted).
pub fn features_query(db: &str) -> String {
    let columns: Vec<String> = FEATURE_COUNTS
        .iter()
        .map(|(name, from)| {
            format!(
                "(SELECT COUNT_BIG(*) FROM {}) AS {name}",
                from.replace("{db}", db)
            )
        })
        .collect();
    format!("SELECT {}", columns.join(", "))
}

/// Object counts by type in one database (`db` already quoted).
pub fn objects_query(db: &str) -> String {
    format!(
        "SELECT o.type_desc, COUNT_BIG(*) AS n FROM {db}.sys.objects AS o \
         WHERE o.is_ms_shipped = 0 GROUP BY o.type_desc ORDER BY o.type_desc"
    )
}

/// User tables with the storage features that matter for a migration.
pub fn tables_query(db: &str) -> String {
    format!(
        "SELECT s.name AS schema_name, t.name AS table_name, \
         CAST(t.is_memory_optimized AS int) AS memory_optimized, \
         CAST(t.temporal_type AS int) AS temporal_type, CAST(t.is_filetable AS int) AS filetable, \
         CAST(CASE WHEN EXISTS (SELECT 1 FROM {db}.sys.indexes AS i \
         JOIN {db}.sys.partition_schemes AS ps ON ps.data_space_id = i.data_space_id \
         WHERE i.object_id = t.object_id) THEN 1 ELSE 0 END AS int) AS partitioned, \
         CAST(CASE WHEN EXISTS (SELECT 1 FROM {db}.sys.indexes AS i \
         WHERE i.object_id = t.object_id AND i.type IN (5, 6)) THEN 1 ELSE 0 END AS int) AS columnstore \
         FROM {db}.sys.tables AS t JOIN {db}.sys.schemas AS s ON s.schema_id = t.schema_id \
         WHERE t.is_ms_shipped = 0 ORDER BY s.name, t.name"
    )
}

/// Every column of every user table with its type, in table order.
pub fn columns_query(db: &str) -> String {
    format!(
        "SELECT s.name AS schema_name, t.name AS table_name, c.name AS column_name, \
         ty.name AS type_name, b.name AS base_type, CAST(ty.is_user_defined AS int) AS user_defined, \
         CAST(ty.is_assembly_type AS int) AS assembly_type \
         FROM {db}.sys.columns AS c JOIN {db}.sys.tables AS t ON t.object_id = c.object_id \
         JOIN {db}.sys.schemas AS s ON s.schema_id = t.schema_id \
         JOIN {db}.sys.types AS ty ON ty.user_type_id = c.user_type_id \
         LEFT JOIN {db}.sys.types AS b ON b.user_type_id = ty.system_type_id AND ty.is_user_defined = 1 \
         WHERE t.is_ms_shipped = 0 ORDER BY s.name, t.name, c.column_id"
    )
}

/// Indexes on user objects by kind.
pub fn indexes_query(db: &str) -> String {
    format!(
        "SELECT i.type_desc, COUNT_BIG(*) AS n FROM {db}.sys.indexes AS i \
         JOIN {db}.sys.objects AS o ON o.object_id = i.object_id \
         WHERE o.is_ms_shipped = 0 GROUP BY i.type_desc ORDER BY i.type_desc"
    )
}

/// References from this database's code to other databases or servers.
pub fn references_query(db: &str) -> String {
    format!(
        "SELECT s.name AS schema_name, o.name AS object_name, o.type_desc, \
         d.referenced_server_name, d.referenced_database_name, COUNT_BIG(*) AS n \
         FROM {db}.sys.sql_expression_dependencies AS d \
         JOIN {db}.sys.objects AS o ON o.object_id = d.referencing_id \
         JOIN {db}.sys.schemas AS s ON s.schema_id = o.schema_id \
         WHERE d.referenced_server_name IS NOT NULL OR d.referenced_database_name IS NOT NULL \
         GROUP BY s.name, o.name, o.type_desc, d.referenced_server_name, d.referenced_database_name \
         ORDER BY s.name, o.name"
    )
}

/// Every module definition in one database (`db` already quoted).
pub fn modules_query(db: &str) -> String {
    format!(
        "SELECT s.name AS schema_name, o.name AS object_name, o.type_desc, m.definition \
         FROM {db}.sys.sql_modules AS m \
         JOIN {db}.sys.objects AS o ON o.object_id = m.object_id \
         JOIN {db}.sys.schemas AS s ON s.schema_id = o.schema_id \
         WHERE o.is_ms_shipped = 0 ORDER BY s.name, o.name"
    )
}

/// The fixed statements, in the order a collection sends them
/// ([`HOST_QUERY`] only with the `host_resources` opt-in).
pub const SERVER_STATEMENTS: &[&str] = &[
    SERVER_QUERY,
    HOST_QUERY,
    AVAILABILITY_GROUPS_QUERY,
    CONFIGURATIONS_QUERY,
    LOGINS_QUERY,
    LINKED_SERVERS_QUERY,
    SERVER_TRIGGERS_QUERY,
    ENDPOINTS_QUERY,
    CREDENTIALS_QUERY,
    AUDITS_QUERY,
    JOB_STEPS_QUERY,
    OTHER_JOB_STEPS_QUERY,
    DATABASES_QUERY,
];

/// Per-database statements, built for a quoted database name.
pub const DATABASE_STATEMENTS: &[fn(&str) -> String] = &[
    objects_query,
    features_query,
    tables_query,
    columns_query,
    indexes_query,
    references_query,
    modules_query,
];

/// Whether `sql` is a statement the collector (or the preflight) may send:
/// one of the fixed statements, a per-database statement for a database
/// name quoted exactly as [`super::sql::quote_ident`] quotes it, or a
/// workload statement ([`super::workload::is_workload_statement`], sent only
/// with a `[targets.workload]` opt-in).
pub fn is_collector_statement(sql: &str) -> bool {
    let sql = sql.trim();
    if SERVER_STATEMENTS.contains(&sql)
        || sql == super::permissions::PERMISSIONS_QUERY
        || super::workload::is_workload_statement(sql)
    {
        return true;
    }
    // The database name is the bracketed identifier after the first " FROM ["
    // (or "(SELECT COUNT_BIG(*) FROM [" for the feature counts): rebuild each
    // template with it and compare the whole text.
    let Some(start) = sql.find(" FROM [").map(|i| i + " FROM ".len()) else {
        return false;
    };
    let Some(quoted) = bracketed(&sql[start..]) else {
        return false;
    };
    DATABASE_STATEMENTS.iter().any(|build| build(quoted) == sql)
}

/// The leading `[...]` identifier of `text`, with `]]` escapes.
pub(super) fn bracketed(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'[') {
        return None;
    }
    let mut i = 1;
    while i < bytes.len() {
        if bytes[i] == b']' {
            if bytes.get(i + 1) == Some(&b']') {
                i += 2;
                continue;
            }
            return Some(&text[..=i]);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::sql::quote_ident;
    use super::*;

    #[test]
    fn every_statement_is_a_single_select() {
        let db = quote_ident("x]; DROP TABLE y;--");
        let all = SERVER_STATEMENTS
            .iter()
            .map(|s| (*s).to_owned())
            .chain(DATABASE_STATEMENTS.iter().map(|build| build(&db)));
        for sql in all {
            assert!(sql.starts_with("SELECT "), "{sql}");
            let outside_names = sql.replace(&db, "[db]");
            assert!(!outside_names.contains(';'), "{sql}");
            let words: Vec<String> = outside_names
                .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .map(str::to_ascii_uppercase)
                .collect();
            for word in [
                "INSERT", "UPDATE", "DELETE", "MERGE", "EXEC", "EXECUTE", "CREATE", "ALTER",
                "DROP", "TRUNCATE", "GRANT", "USE", "INTO", "DECLARE", "SET",
            ] {
                assert!(!words.iter().any(|w| w == word), "{word} in {sql}");
            }
        }
    }

    #[test]
    fn the_allow_list_accepts_the_collectors_statements_for_any_name() {
        for name in ["Sales", "x]; DROP TABLE y;--", "]]", "Ünï ' \" -- 名前"] {
            let db = quote_ident(name);
            for build in DATABASE_STATEMENTS {
                assert!(is_collector_statement(&build(&db)), "{name}");
            }
        }
        for sql in SERVER_STATEMENTS {
            assert!(is_collector_statement(sql));
        }
    }

    #[test]
    fn job_step_commands_are_read_for_tsql_steps_only() {
        // The one statement that reads `command` filters on the subsystem in
        // its WHERE clause; no other statement reads a job step's command.
        let reading_commands: Vec<&str> = SERVER_STATEMENTS
            .iter()
            .copied()
            .filter(|s| s.contains("command"))
            .collect();
        assert_eq!(reading_commands, [JOB_STEPS_QUERY]);
        let (select, filter) = JOB_STEPS_QUERY.split_once(" WHERE ").unwrap();
        assert!(select.contains("s.command"));
        assert!(
            filter.starts_with("s.subsystem = N'TSQL' ORDER BY"),
            "{filter}"
        );
        assert!(!OTHER_JOB_STEPS_QUERY.contains("command"));
        assert!(OTHER_JOB_STEPS_QUERY.contains("WHERE s.subsystem <> N'TSQL'"));
    }

    #[test]
    fn only_the_host_query_reads_server_state() {
        // Dynamic management views need VIEW SERVER STATE; only the opt-in
        // host step may touch one.
        let db = quote_ident("Sales");
        let all = SERVER_STATEMENTS
            .iter()
            .map(|s| (*s).to_owned())
            .chain(DATABASE_STATEMENTS.iter().map(|build| build(&db)));
        for sql in all {
            let reads_state = sql.to_ascii_lowercase().contains(".dm_");
            assert_eq!(reads_state, sql == HOST_QUERY, "{sql}");
        }
    }

    #[test]
    fn the_login_script_grants_server_state_only_in_its_commented_optional_block() {
        let script = include_str!("../../../policies/sqlserver-login.sql");
        // What SQL Server runs: the script without its comments.
        let mut code = String::new();
        let mut rest = script;
        while let Some(start) = rest.find("/*") {
            code.push_str(&rest[..start]);
            let end = rest[start..].find("*/").unwrap();
            rest = &rest[start + end + 2..];
        }
        code.push_str(rest);
        let code: String = code
            .lines()
            .map(|l| l.split("--").next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
            .to_ascii_uppercase();
        assert!(code.contains("GRANT VIEW ANY DEFINITION"), "{code}");
        for line in code.lines().filter(|l| l.contains("GRANT ")) {
            assert!(
                !line.contains("SERVER STATE") && !line.contains("SERVER PERFORMANCE"),
                "{line}"
            );
        }
        assert!(code.contains("REVOKE VIEW SERVER STATE FROM [SQLASSESS_READER]"));
        // The optional block is there, commented, naming the opt-in.
        assert!(script.contains("\nGRANT VIEW SERVER STATE TO [sqlassess_reader];\n*/"));
        assert!(script.contains("host_resources = true"));
        // The workload block: commented, naming its opt-ins, granting by
        // version (2022's narrower PERFORMANCE STATE permissions first).
        let block = &script[script.find("[targets.workload]").unwrap()..];
        let block = &block[..block.find("*/").unwrap()];
        assert!(block.contains("query_store = true") && block.contains("plan_cache = true"));
        for grant in [
            "GRANT VIEW SERVER PERFORMANCE STATE TO [sqlassess_reader]",
            "GRANT VIEW SERVER STATE TO [sqlassess_reader]",
            "GRANT VIEW DATABASE PERFORMANCE STATE TO [sqlassess_reader]",
            "GRANT VIEW DATABASE STATE TO [sqlassess_reader]",
        ] {
            assert!(block.contains(grant), "{grant}");
            assert!(
                !code.contains(&grant.to_ascii_uppercase()),
                "{grant} outside a comment"
            );
        }
    }

    #[test]
    fn the_allow_list_refuses_anything_else() {
        let db = quote_ident("Sales");
        let modules = modules_query(&db);
        for sql in [
            "DROP TABLE y".to_owned(),
            format!("{modules}; DROP TABLE y"),
            modules.replace("SELECT", "DELETE"),
            "SELECT * FROM [Sales].sys.objects".to_owned(),
            modules_query("[Sales]] x"),
            String::new(),
        ] {
            assert!(!is_collector_statement(&sql), "{sql}");
        }
    }
}
