//! Keyword tables the parser consults, and allocation-free lookups in them.
//!
//! Guarantees: lookups are ASCII case-insensitive and never allocate; the
//! sorted tables are checked by a unit test.

/// Upper-cases a short word into a stack buffer; `None` if it is too long
/// to be a keyword.
fn upper(word: &str) -> Option<([u8; 40], usize)> {
    let b = word.as_bytes();
    if b.len() > 40 {
        return None;
    }
    let mut buf = [0u8; 40];
    for (d, s) in buf.iter_mut().zip(b) {
        *d = s.to_ascii_uppercase();
    }
    Some((buf, b.len()))
}

/// Whether `word` is in the sorted upper-case `table`.
pub(crate) fn in_sorted(table: &[&str], word: &str) -> bool {
    upper(word).is_some_and(|(buf, len)| {
        table
            .binary_search_by(|k| k.as_bytes().cmp(&buf[..len]))
            .is_ok()
    })
}

/// Whether `word` is one of `list` (small lists, any order).
pub(crate) fn one_of(word: &str, list: &[&str]) -> bool {
    list.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// T-SQL reserved keywords that are never function names when followed by
/// `(` (the reserved words that *are* functions are left out: COALESCE,
/// CONVERT, LEFT, RIGHT, NULLIF, UPDATE, USER, IDENTITY, CONTAINS, FREETEXT,
/// CONTAINSTABLE, FREETEXTTABLE, OPENQUERY, OPENROWSET, OPENXML,
/// OPENDATASOURCE, TSEQUAL, CURRENT_*).
pub(crate) const NOT_FUNCTIONS: &[&str] = &[
    "ADD",
    "ALL",
    "ALTER",
    "AND",
    "ANY",
    "AS",
    "ASC",
    "AUTHORIZATION",
    "BACKUP",
    "BEGIN",
    "BETWEEN",
    "BREAK",
    "BROWSE",
    "BULK",
    "BY",
    "CASCADE",
    "CASE",
    "CHECK",
    "CHECKPOINT",
    "CLOSE",
    "CLUSTERED",
    "COLLATE",
    "COLUMN",
    "COMMIT",
    "COMPUTE",
    "CONSTRAINT",
    "CONTINUE",
    "CREATE",
    "CROSS",
    "CURRENT",
    "CURSOR",
    "DATABASE",
    "DBCC",
    "DEALLOCATE",
    "DECLARE",
    "DEFAULT",
    "DELETE",
    "DENY",
    "DESC",
    "DISK",
    "DISTINCT",
    "DISTRIBUTED",
    "DOUBLE",
    "DROP",
    "DUMP",
    "ELSE",
    "END",
    "ERRLVL",
    "ESCAPE",
    "EXCEPT",
    "EXEC",
    "EXECUTE",
    "EXISTS",
    "EXIT",
    "EXTERNAL",
    "FETCH",
    "FILE",
    "FILLFACTOR",
    "FOR",
    "FOREIGN",
    "FROM",
    "FULL",
    "FUNCTION",
    "GOTO",
    "GRANT",
    "GROUP",
    "HAVING",
    "HOLDLOCK",
    "IF",
    "IN",
    "INCLUDE",
    "INDEX",
    "INNER",
    "INSERT",
    "INTERSECT",
    "INTO",
    "IS",
    "JOIN",
    "KEY",
    "KILL",
    "LIKE",
    "LINENO",
    "MERGE",
    "NATIONAL",
    "NOCHECK",
    "NONCLUSTERED",
    "NOT",
    "NULL",
    "OF",
    "OFF",
    "OFFSETS",
    "ON",
    "OPEN",
    "OPTION",
    "OR",
    "ORDER",
    "OUTER",
    "OUTPUT",
    "OVER",
    "PERCENT",
    "PIVOT",
    "PLAN",
    "PRECISION",
    "PRIMARY",
    "PRINT",
    "PROC",
    "PROCEDURE",
    "PUBLIC",
    "RAISERROR",
    "READ",
    "READTEXT",
    "RECONFIGURE",
    "REFERENCES",
    "REPLICATION",
    "RESTORE",
    "RESTRICT",
    "RETURN",
    "RETURNS",
    "REVERT",
    "REVOKE",
    "ROLLBACK",
    "ROWCOUNT",
    "ROWGUIDCOL",
    "RULE",
    "SAVE",
    "SCHEMA",
    "SELECT",
    "SET",
    "SETUSER",
    "SHUTDOWN",
    "SOME",
    "STATISTICS",
    "TABLE",
    "TABLESAMPLE",
    "TEXTSIZE",
    "THEN",
    "TO",
    "TOP",
    "TRAN",
    "TRANSACTION",
    "TRIGGER",
    "TRUNCATE",
    "UNION",
    "UNIQUE",
    "UNPIVOT",
    "UPDATETEXT",
    "USE",
    "USING",
    "VALUES",
    "VARYING",
    "VIEW",
    "WAITFOR",
    "WHEN",
    "WHERE",
    "WHILE",
    "WITH",
    "WRITETEXT",
];

/// Words that can start a statement (context rules in the parser decide
/// whether they do at a given point).
pub(crate) const STATEMENT_STARTS: &[&str] = &[
    "ADD",
    "ALTER",
    "BACKUP",
    "BEGIN",
    "BREAK",
    "BULK",
    "CHECKPOINT",
    "CLOSE",
    "COMMIT",
    "CONTINUE",
    "CREATE",
    "DBCC",
    "DEALLOCATE",
    "DECLARE",
    "DELETE",
    "DENY",
    "DISABLE",
    "DROP",
    "DUMP",
    "ELSE",
    "ENABLE",
    "END",
    "EXEC",
    "EXECUTE",
    "FETCH",
    "GET",
    "GOTO",
    "GRANT",
    "IF",
    "INSERT",
    "KILL",
    "LOAD",
    "MERGE",
    "MOVE",
    "OPEN",
    "PRINT",
    "RAISERROR",
    "READTEXT",
    "RECEIVE",
    "RECONFIGURE",
    "RESTORE",
    "RETURN",
    "REVERT",
    "REVOKE",
    "ROLLBACK",
    "SAVE",
    "SELECT",
    "SEND",
    "SET",
    "SETUSER",
    "SHUTDOWN",
    "THROW",
    "TRUNCATE",
    "UPDATE",
    "UPDATETEXT",
    "USE",
    "WAITFOR",
    "WHILE",
    "WRITETEXT",
];

/// Object types after CREATE / ALTER / DROP, longest first within a
/// shared prefix so the first match is the longest.
pub(crate) const OBJECT_TYPES: &[&[&str]] = &[
    &["APPLICATION", "ROLE"],
    &["AGGREGATE"],
    &["ASSEMBLY"],
    &["ASYMMETRIC", "KEY"],
    &["AUTHORIZATION"],
    &["AVAILABILITY", "GROUP"],
    &["BROKER", "PRIORITY"],
    &["CERTIFICATE"],
    &["COLUMN", "ENCRYPTION", "KEY"],
    &["COLUMN", "MASTER", "KEY"],
    &["CONTRACT"],
    &["COUNTER", "SIGNATURE"],
    &["CREDENTIAL"],
    &["CRYPTOGRAPHIC", "PROVIDER"],
    &["DATABASE", "AUDIT", "SPECIFICATION"],
    &["DATABASE", "ENCRYPTION", "KEY"],
    &["DATABASE", "SCOPED", "CONFIGURATION"],
    &["DATABASE", "SCOPED", "CREDENTIAL"],
    &["DATABASE"],
    &["DEFAULT"],
    &["ENDPOINT"],
    &["DIAGNOSTIC", "SESSION"],
    // Analytics Platform System spells it so; named DIAGNOSTIC SESSION.
    &["DIAGNOSTICS", "SESSION"],
    &["EVENT", "NOTIFICATION"],
    &["EVENT", "SESSION"],
    &["EXTERNAL", "DATA", "SOURCE"],
    &["EXTERNAL", "FILE", "FORMAT"],
    &["EXTERNAL", "LANGUAGE"],
    &["EXTERNAL", "LIBRARY"],
    &["EXTERNAL", "RESOURCE", "POOL"],
    &["EXTERNAL", "TABLE"],
    &["FEDERATION"],
    &["FULLTEXT", "CATALOG"],
    &["FULLTEXT", "INDEX"],
    &["FULLTEXT", "STOPLIST"],
    &["FUNCTION"],
    &["INDEX"],
    &["JSON", "INDEX"],
    &["LOGIN"],
    &["MASTER", "KEY"],
    // Azure Synapse.
    &["MATERIALIZED", "VIEW"],
    &["MESSAGE", "TYPE"],
    &["PARTITION", "FUNCTION"],
    &["PARTITION", "SCHEME"],
    &["PROCEDURE"],
    &["PROC"],
    &["QUEUE"],
    &["REMOTE", "SERVICE", "BINDING"],
    &["RESOURCE", "GOVERNOR"],
    &["RESOURCE", "POOL"],
    &["ROLE"],
    &["ROUTE"],
    &["RULE"],
    &["SCHEMA"],
    &["SEARCH", "PROPERTY", "LIST"],
    &["SECURITY", "POLICY"],
    &["SELECTIVE", "XML", "INDEX"],
    &["SENSITIVITY", "CLASSIFICATION"],
    &["SEQUENCE"],
    &["SERVER", "AUDIT", "SPECIFICATION"],
    &["SERVER", "AUDIT"],
    &["SERVER", "CONFIGURATION"],
    &["SERVER", "ROLE"],
    &["SERVICE", "MASTER", "KEY"],
    &["SERVICE"],
    &["SIGNATURE"],
    &["SPATIAL", "INDEX"],
    &["STATISTICS"],
    &["SYMMETRIC", "KEY"],
    &["SYNONYM"],
    &["TABLE"],
    &["TRIGGER"],
    &["TYPE"],
    &["USER"],
    &["VECTOR", "INDEX"],
    &["VIEW"],
    &["WORKLOAD", "CLASSIFIER"],
    &["WORKLOAD", "GROUP"],
    &["XML", "INDEX"],
    &["XML", "SCHEMA", "COLLECTION"],
];

/// Index modifiers that may precede INDEX (reported as options).
pub(crate) const INDEX_MODIFIERS: &[&str] = &[
    "UNIQUE",
    "CLUSTERED",
    "NONCLUSTERED",
    "COLUMNSTORE",
    "PRIMARY",
    "HASH",
];

/// Table hints (inside `WITH (...)` or legacy `table (hint)`).
pub(crate) const TABLE_HINTS: &[&str] = &[
    "FASTFIRSTROW",
    "FORCESCAN",
    "FORCESEEK",
    "HOLDLOCK",
    "IGNORE_CONSTRAINTS",
    "IGNORE_TRIGGERS",
    "INDEX",
    "KEEPDEFAULTS",
    "KEEPIDENTITY",
    "NOEXPAND",
    "NOLOCK",
    "NOWAIT",
    "PAGLOCK",
    "READCOMMITTED",
    "READCOMMITTEDLOCK",
    "READPAST",
    "READUNCOMMITTED",
    "REPEATABLEREAD",
    "ROWLOCK",
    "SERIALIZABLE",
    "SNAPSHOT",
    "SPATIAL_WINDOW_MAX_CELLS",
    "TABLOCK",
    "TABLOCKX",
    "UPDLOCK",
    "XLOCK",
];

/// Compatibility views from SQL Server 2000 (`dbo.sysobjects`, ...).
pub(crate) const COMPAT_VIEWS: &[&str] = &[
    "SYSALTFILES",
    "SYSCACHEOBJECTS",
    "SYSCHARSETS",
    "SYSCOLUMNS",
    "SYSCOMMENTS",
    "SYSCONFIGURES",
    "SYSCONSTRAINTS",
    "SYSCURCONFIGS",
    "SYSDATABASES",
    "SYSDEPENDS",
    "SYSDEVICES",
    "SYSFILEGROUPS",
    "SYSFILES",
    "SYSFOREIGNKEYS",
    "SYSFULLTEXTCATALOGS",
    "SYSINDEXES",
    "SYSINDEXKEYS",
    "SYSLANGUAGES",
    "SYSLOCKINFO",
    "SYSLOCKS",
    "SYSLOGINS",
    "SYSMEMBERS",
    "SYSMESSAGES",
    "SYSOBJECTS",
    "SYSOLEDBUSERS",
    "SYSPERFINFO",
    "SYSPERMISSIONS",
    "SYSPROCESSES",
    "SYSPROTECTS",
    "SYSREFERENCES",
    "SYSREMOTELOGINS",
    "SYSSERVERS",
    "SYSTYPES",
    "SYSUSERS",
    "SYSXLOGINS",
];

/// Methods called on XML, HIERARCHYID, spatial and other CLR values.
pub(crate) const METHODS: &[&str] = &[
    "EXIST",
    "GETANCESTOR",
    "GETDESCENDANT",
    "GETLEVEL",
    "GETREPARENTEDVALUE",
    "GETROOT",
    "ISDESCENDANTOF",
    "MODIFY",
    "NODES",
    "PARSE",
    "QUERY",
    "READ",
    "REDUCE",
    "STAREA",
    "STASTEXT",
    "STBUFFER",
    "STCONTAINS",
    "STDISTANCE",
    "STGEOMFROMTEXT",
    "STGEOMFROMWKB",
    "STINTERSECTS",
    "STISVALID",
    "STLENGTH",
    "STNUMPOINTS",
    "STPOINTN",
    "STSRID",
    "STX",
    "STY",
    "TOSTRING",
    "VALUE",
    "WRITE",
];

/// Property functions and which argument (0-based) names the property:
/// the parser reports that literal as `<FUNCTION> ARGUMENT`, so the catalog
/// can say which properties Babelfish answers. FORMAT's culture is read the
/// same way.
const PROPERTY_ARGUMENTS: &[(&str, usize)] = &[
    ("COLUMNPROPERTY", 2),
    ("CONNECTIONPROPERTY", 0),
    ("DATABASEPROPERTYEX", 1),
    // The culture: checked against the culture names Babelfish knows.
    ("FORMAT", 2),
    ("INDEXKEY_PROPERTY", 3),
    ("INDEXPROPERTY", 2),
    ("LOGINPROPERTY", 1),
    ("OBJECTPROPERTY", 1),
    ("OBJECTPROPERTYEX", 1),
    ("SERVERPROPERTY", 0),
    ("TYPEPROPERTY", 1),
];

/// The index of the property argument of `function` (upper case).
pub(crate) fn property_argument(function: &str) -> Option<usize> {
    PROPERTY_ARGUMENTS
        .iter()
        .find(|(f, _)| *f == function)
        .map(|&(_, i)| i)
}

/// Databases that SQL Server's own services create and keep: msdb (Agent,
/// backup history, Database Mail), SSISDB (the Integration Services
/// catalog) and distribution (the replication distributor). Their objects,
/// named with the database, are observed as `SystemObject`s.
pub(super) const SERVICE_DATABASES: &[&str] = &["MSDB", "SSISDB", "DISTRIBUTION"];

/// The fixed database roles, which are also schemas: objects created in them
/// (`db_owner.t`) have no equivalent on Babelfish.
pub(super) const LEGACY_SCHEMAS: &[&str] = &[
    "DB_ACCESSADMIN",
    "DB_BACKUPOPERATOR",
    "DB_DATAREADER",
    "DB_DATAWRITER",
    "DB_DDLADMIN",
    "DB_DENYDATAREADER",
    "DB_DENYDATAWRITER",
    "DB_OWNER",
    "DB_SECURITYADMIN",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_upper_case() {
        for table in [
            NOT_FUNCTIONS,
            STATEMENT_STARTS,
            TABLE_HINTS,
            COMPAT_VIEWS,
            METHODS,
        ] {
            assert!(table.windows(2).all(|w| w[0] < w[1]), "{:?}", table.first());
            assert!(table.iter().all(|k| k.to_ascii_uppercase() == *k));
        }
        assert!(in_sorted(NOT_FUNCTIONS, "select"));
        assert!(!in_sorted(NOT_FUNCTIONS, "isnull"));
    }
}
