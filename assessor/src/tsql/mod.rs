//! T-SQL: lexer, batch splitter (sqlcmd-aware) and error-tolerant parser.
//!
//! [`lexer`] turns text into tokens with byte offsets; [`batch`] cuts the
//! tokens at `GO` and takes sqlcmd directive lines out; the parser walks each
//! batch and reports [`Observation`]s and [`ObjectSpan`]s. [`parse_script`]
//! runs all three.
//!
//! Guarantees: linear time in the input, never panics, never loops, bounded
//! recursion (deep nesting becomes an `Unparsed` observation); code it
//! cannot parse becomes an [`observation::ObservationKind::Unparsed`]
//! observation and parsing resumes at the next statement, `;` or batch.
//! String literals passed to `EXEC (...)` / `sp_executesql` are parsed as
//! dynamic SQL, their observations reported at their offsets in the outer
//! text. Observation details never echo string literal values (option
//! values given as strings become `STRING`); names are keywords and
//! identifiers.
//!
//! # Vocabulary
//!
//! Names the parser emits, per [`ObservationKind`] (the rule catalog matches
//! on these):
//!
//! - `Statement`: leading keywords, e.g. `SELECT`, `INSERT`, `UPDATE`,
//!   `DELETE`, `MERGE`, `BULK INSERT`, `TRUNCATE TABLE`, `DECLARE`,
//!   `DECLARE CURSOR`, `SET`, `EXECUTE`, `PRINT`, `RAISERROR`, `THROW`,
//!   `BEGIN TRANSACTION`, `BEGIN DISTRIBUTED TRANSACTION`, `SAVE TRANSACTION`,
//!   `COMMIT`, `ROLLBACK`, `BEGIN TRY`, `BEGIN CATCH`, `BEGIN ATOMIC`,
//!   `CHECKPOINT`, `DBCC <NAME>`, `GRANT`/`REVOKE`/`DENY`, `BACKUP`,
//!   `RESTORE`, `USE`, `WAITFOR`, `GOTO`, `RETURN`, `OPEN`, `FETCH`,
//!   `UPDATE STATISTICS`, `ENABLE TRIGGER`, `SEND`, `RECEIVE`, and
//!   `CREATE|ALTER|CREATE OR ALTER|DROP <TYPE>` where TYPE is `PROCEDURE`,
//!   `FUNCTION`, `VIEW`, `TRIGGER`, `TABLE`, `INDEX` (modifiers such as
//!   `UNIQUE`, `CLUSTERED`, `COLUMNSTORE` become `Option`s), `XML INDEX`,
//!   `FULLTEXT INDEX`, `DATABASE`, `XML SCHEMA COLLECTION`, `SEQUENCE`,
//!   `AUTHORIZATION`, ... (see `parser::keywords::OBJECT_TYPES`).
//! - `Function`: the call name (dotted for user functions, `DBO.FN`);
//!   `detail` is the argument count. Niladic `CURRENT_TIMESTAMP` & co. too.
//! - `DataType`: the type without length (`NVARCHAR`, `DECIMAL`, a user type
//!   as `DBO.NAME`); `detail` is `MAX` for `(max)`, `SCHEMA` for typed XML.
//! - `GlobalVariable`: `@@ROWCOUNT`, ...
//! - `SystemObject`: `SYS.OBJECTS`, `INFORMATION_SCHEMA.TABLES`, objects of
//!   the `cdc` schema (`CDC.CHANGE_TABLES`), compatibility views as
//!   `SYSOBJECTS`, and objects of msdb, SSISDB and distribution named with
//!   their database (`MSDB.DBO.SYSJOBS`, `SSISDB.CATALOG.EXECUTIONS`).
//! - `Procedure`: `EXEC` targets; `sp_`/`xp_` procedures without schema
//!   (`SP_ADDEXTENDEDPROPERTY`, `detail` = deepest level type, e.g. `INDEX`),
//!   others dotted as written.
//! - `TableHint` (`NOLOCK`, `INDEX`, ...), `QueryHint` (`MAXRECURSION`
//!   with the number, `HASH JOIN`, `OPTIMIZE FOR UNKNOWN`, ...), `JoinHint`
//!   (`LOOP`, `HASH`, `MERGE`, `REMOTE`).
//! - `SetOption`: the option and its value (`NOCOUNT`/`ON`,
//!   `DATEFORMAT`/`MDY`, `TRANSACTION ISOLATION LEVEL`/`SNAPSHOT`,
//!   `STATISTICS IO`/`ON`, `IDENTITY_INSERT`/`ON`).
//! - `Option`: statement options with their value: `WITH (...)` items
//!   (`DATA_COMPRESSION`/`PAGE`, `SYSTEM_VERSIONING`/`ON`, `PAD_INDEX`/`OFF`,
//!   `COMPRESS_ALL_ROW_GROUPS`/`ON`), `ALTER DATABASE ... SET` items
//!   (`RECOVERY`/`SIMPLE`, `OPTIMIZED_LOCKING`/`ON`), routine options
//!   (`EXECUTE AS`/`OWNER`, `SCHEMABINDING`, `RECOMPILE`, `ENCRYPTION`,
//!   `NATIVE_COMPILATION`), constraint and index flags (`PRIMARY KEY`,
//!   `UNIQUE`, `CLUSTERED`, `NONCLUSTERED`, `COLUMNSTORE`), cursor options
//!   (`FAST_FORWARD`, ...), `RAISERROR` options (`LOG`, `NOWAIT`),
//!   `ALTER INDEX` actions (`REORGANIZE`, `REBUILD`), `CONVERT STYLE` (the
//!   style number), `AUTHORIZATION`, `WITH CHECK`/`WITH NOCHECK`, DDL
//!   trigger events (`DDL_DATABASE_LEVEL_EVENTS`).
//! - `Clause`: `EXECUTE STRING`, `EXECUTE VARIABLE`, `EXECUTE AS`,
//!   `EXECUTE AT`, `CTE`, `RECURSIVE CTE`, `WITH XMLNAMESPACES`,
//!   `FOR XML PATH|RAW|AUTO|EXPLICIT`, `FOR JSON PATH|AUTO`, `FOR BROWSE`,
//!   `FOR SYSTEM_TIME`, `OUTPUT`, `OUTPUT INTO`, `PIVOT`, `UNPIVOT`,
//!   `CROSS APPLY`, `OUTER APPLY`, `OVER`, `OVER ROWS`, `OVER RANGE`,
//!   `TOP PERCENT`, `TOP WITHOUT ORDER BY`, `WITH TIES`, `GROUPING SETS`,
//!   `CUBE`, `ROLLUP`, `WITH ROLLUP`, `WITH CUBE`, `COMPUTE`, `TABLESAMPLE`,
//!   `COLLATE` (detail: collation), `IDENTITY`, `COMPUTED COLUMN` (detail
//!   `PERSISTED` when persisted), `PERSISTED`, `SPARSE`, `ROWGUIDCOL`,
//!   `FILESTREAM`, `MASKED WITH`, `GENERATED ALWAYS`, `HIDDEN`,
//!   `PERIOD FOR SYSTEM_TIME` (detail `ADD`/`DROP` in ALTER TABLE),
//!   `INLINE INDEX`, `FILTERED INDEX`, `$PARTITION`, `NEXT VALUE FOR`,
//!   `WITH CHECK OPTION`, `INSTEAD OF`, `NOT FOR REPLICATION`,
//!   `DDL TRIGGER` (detail `DATABASE`/`ALL SERVER`), `WHEN NOT MATCHED`,
//!   `WHEN NOT MATCHED BY SOURCE|TARGET`, `CROSS DATABASE REFERENCE`,
//!   `LINKED SERVER REFERENCE`, `TEMPORARY TABLE`, `GLOBAL TEMPORARY TABLE`,
//!   `TABLE VARIABLE`, `WITH SCHEMA` (OPENJSON/OPENXML), `NOCHECK CONSTRAINT`,
//!   `CHECK CONSTRAINT`, `ENABLE TRIGGER`, `SWITCH`, `ALTER DATABASE CURRENT`,
//!   `INLINE TABLE-VALUED FUNCTION`, `MULTI-STATEMENT TABLE-VALUED FUNCTION`,
//!   `EXTERNAL NAME`, `NUMBERED PROCEDURE`, `OLD STYLE OUTER JOIN` (detail
//!   `*=`/`=*`), `INSERT|UPDATE|DELETE TOP`, `WHERE CURRENT OF`,
//!   `GROUP BY ALL`, `VALUES IN FROM`, `DML TABLE SOURCE`, `!<`, `!>`,
//!   `LIKE BRACKETS`, `SPECIAL COLUMN` (a query's `$IDENTITY`/`$ROWGUID`/
//!   `IDENTITYCOL`/`ROWGUIDCOL`),
//!   `SELECT INTO ON FILEGROUP`, `GRAPH PSEUDO COLUMN` (detail `$NODE_ID`/`$EDGE_ID`/`$FROM_ID`/`$TO_ID`),
//!   `WINDOW` and `OVER WINDOW NAME` (named windows), `NULL TREATMENT`
//!   (detail `IGNORE`/`RESPECT`),
//!   `@@LOCAL VARIABLE`, `DB_OWNER SCHEMA` (any fixed-role schema),
//!   `MONEY LITERAL`, `DOUBLE BAR CONCATENATION` (detail `||`/`||=`),
//!   `LINE CONTINUATION`, `DOUBLE QUOTED STRING` (under
//!   `SET QUOTED_IDENTIFIER OFF`), `TRIM FROM` (detail `LEADING`/`TRAILING`/
//!   `BOTH` when given), `RAISERROR MESSAGE NUMBER` and `THROW ERROR
//!   NUMBER` (detail: a literal number below 50000), `UDT MUTATOR CALL`
//!   (`UPDATE ... SET col.Method(...)`, detail: the method).
//! - `Statement` details: `WAITFOR` (`DELAY`/`TIME`), `BACKUP`/`RESTORE`/
//!   `KILL` (`DATABASE`, `LOG`, `CERTIFICATE`, `MASTER KEY`, `SERVICE MASTER
//!   KEY`, `SYMMETRIC KEY`, `STATS JOB`, `QUERY NOTIFICATION SUBSCRIPTION`),
//!   `CREATE TABLE` (`AS SELECT`), `BEGIN DIALOG` (`CONVERSATION`).
//! - `Method`: `VALUE`, `NODES`, `QUERY`, `EXIST`, `MODIFY`, `TOSTRING`,
//!   `GETANCESTOR`, `STGEOMFROMWKB`, `POINT` (`type::Method`), ...;
//!   `detail` is the argument count. Any name called or read as a property
//!   on a variable (`@g.STX`, `@p.X`) or after a parenthesis (`(...).X`);
//!   on a two-part name (`c.value(...)`) only the known method names, as
//!   `schema.function(...)` looks the same.
//! - `Sqlcmd`: `:SETVAR`, `:R`, `:ON ERROR`, `:CONNECT`, `!!`, ...,
//!   `$(NAME)` (also inside string literals), `GO` with the count of `GO n`.
//! - `Unparsed`: `UNKNOWN STATEMENT`, `UNEXPECTED END`, `UNEXPECTED ELSE`,
//!   `UNBALANCED PARENTHESIS`, `UNTERMINATED STRING OR COMMENT`,
//!   `NESTING TOO DEEP`, `UNKNOWN OBJECT TYPE`, ...

pub mod batch;
pub mod lexer;
pub mod observation;
mod parser;

/// Which argument of a property function (`SERVERPROPERTY`, `OBJECTPROPERTY`,
/// ...) names the property, by the function's upper-case name.
pub(crate) use parser::keywords::property_argument;

use crate::findings::ObjectRef;
use lexer::{Token, TokenKind};
use observation::{Observation, ObservationKind};

/// An object defined by the script (CREATE/ALTER PROCEDURE, VIEW, ...), with
/// the byte range of its definition, so findings can name their enclosing
/// object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSpan {
    pub object: ObjectRef,
    /// Byte range in the decoded text.
    pub start: usize,
    pub end: usize,
}

/// Everything the parser learned from one script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    /// In order of offset.
    pub observations: Vec<Observation>,
    /// Objects defined in the script, in order of offset, not overlapping.
    pub objects: Vec<ObjectSpan>,
}

/// Parses a whole decoded script (sqlcmd directives, `GO` batches, or an
/// SSDT file without `GO`).
pub fn parse_script(text: &str) -> Script {
    let batches = batch::split(text);
    let mut observations = Vec::new();
    let mut objects = Vec::new();
    sqlcmd_observations(text, &batches, &mut observations);
    for range in &batches.batches {
        if let Some(toks) = batches.tokens.get(range.clone()) {
            parser::parse_tokens(text, toks, 0, &mut observations, &mut objects);
        }
    }
    // `$(var)` inside string literals (sqlcmd substitutes there too).
    for t in &batches.tokens {
        if matches!(t.kind, TokenKind::String | TokenKind::NString) {
            let s = t.text(text);
            let mut from = 0;
            while let Some(k) = s[from..].find("$(") {
                let at = from + k;
                let Some(close) = s[at..].find(')') else {
                    break;
                };
                let var = &s[at + 2..at + close];
                if !var.is_empty()
                    && var
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80)
                {
                    observations.push(sqlcmd_var(var, t.start + at, close + 1));
                }
                from = at + close + 1;
            }
        }
    }
    double_quoted_strings(text, &batches.tokens, &mut observations);
    observations.sort_by_key(|o| o.offset);
    objects.sort_by_key(|o| o.start);
    Script {
        observations,
        objects,
    }
}

/// While `SET QUOTED_IDENTIFIER OFF` is in force (it lasts across batches
/// until set back ON), `"text"` is a string literal, not an identifier.
fn double_quoted_strings(text: &str, tokens: &[Token], out: &mut Vec<Observation>) {
    let switches: Vec<(usize, bool)> = out
        .iter()
        .filter(|o| o.kind == ObservationKind::SetOption && o.name == "QUOTED_IDENTIFIER")
        .map(|o| (o.offset, o.detail.as_deref() == Some("OFF")))
        .collect();
    if !switches.iter().any(|&(_, off)| off) {
        return;
    }
    let found: Vec<Observation> = tokens
        .iter()
        .filter(|t| t.kind == TokenKind::QuotedIdent && t.text(text).starts_with('"'))
        .filter(|t| {
            switches
                .iter()
                .rfind(|&&(at, _)| at < t.start)
                .is_some_and(|&(_, off)| off)
        })
        .map(|t| Observation {
            kind: ObservationKind::Clause,
            name: "DOUBLE QUOTED STRING".to_owned(),
            detail: None,
            statement: String::new(),
            offset: t.start,
            len: t.end - t.start,
            in_string: false,
        })
        .collect();
    out.extend(found);
}

fn sqlcmd_var(var: &str, offset: usize, len: usize) -> Observation {
    Observation {
        kind: ObservationKind::Sqlcmd,
        name: format!("$({})", var.to_uppercase()),
        detail: None,
        statement: String::new(),
        offset,
        len,
        in_string: false,
    }
}

/// Observations for directive lines, `GO n` and `$(var)` references.
fn sqlcmd_observations(text: &str, batches: &batch::Batches, out: &mut Vec<Observation>) {
    for t in &batches.sqlcmd {
        let s = t.text(text);
        let (name, detail) = match t.kind {
            TokenKind::BatchSeparator => match batch::go_count(text, t) {
                Some(n) => ("GO".to_owned(), Some(n.to_string())),
                None => continue,
            },
            TokenKind::SqlcmdVariable => {
                out.push(sqlcmd_var(
                    s.get(2..s.len().saturating_sub(1)).unwrap_or(""),
                    t.start,
                    s.len(),
                ));
                continue;
            }
            _ => {
                // `:setvar`, `:r`, `:on error`, `!!`: the command word only.
                let cmd = if s.starts_with("!!") || s.starts_with(":!!") {
                    "!!".to_owned()
                } else {
                    let word: String = s
                        .chars()
                        .skip(1)
                        .take_while(|c| c.is_ascii_alphabetic())
                        .collect();
                    let mut cmd = format!(":{}", word.to_uppercase());
                    if cmd == ":ON" {
                        cmd.push_str(" ERROR");
                    }
                    cmd
                };
                (cmd, None)
            }
        };
        out.push(Observation {
            kind: ObservationKind::Sqlcmd,
            name,
            detail,
            statement: String::new(),
            offset: t.start,
            len: s.len(),
            in_string: false,
        });
    }
}
