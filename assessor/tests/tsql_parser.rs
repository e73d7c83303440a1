//! Parser observations for representative statements, the two Compass
//! grammar-gap statements, object spans and dynamic SQL offsets.

use assessor::findings::ObjectKind;
use assessor::tsql::observation::{Observation, ObservationKind as K};
use assessor::tsql::parse_script;

fn obs(src: &str) -> Vec<Observation> {
    parse_script(src).observations
}

/// Finds the observation of `kind` and `name`, or fails listing what exists.
fn find<'a>(all: &'a [Observation], kind: K, name: &str) -> &'a Observation {
    all.iter()
        .find(|o| o.kind == kind && o.name == name)
        .unwrap_or_else(|| {
            panic!(
                "no {kind:?} {name}; have: {:#?}",
                all.iter().map(|o| (o.kind, &o.name)).collect::<Vec<_>>()
            )
        })
}

fn at<'a>(src: &'a str, o: &Observation) -> &'a str {
    &src[o.offset..o.offset + o.len]
}

/// (name, source text) of every observation of `kind`, in order.
fn named<'a>(src: &'a str, all: &'a [Observation], kind: K) -> Vec<(&'a str, &'a str)> {
    all.iter()
        .filter(|o| o.kind == kind)
        .map(|o| (o.name.as_str(), at(src, o)))
        .collect()
}

/// The names of every observation of `kind`, in order.
fn names(all: &[Observation], kind: K) -> Vec<&str> {
    all.iter()
        .filter(|o| o.kind == kind)
        .map(|o| o.name.as_str())
        .collect()
}

fn no_unparsed(all: &[Observation]) {
    let bad: Vec<_> = all.iter().filter(|o| o.kind == K::Unparsed).collect();
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn compass_grammar_gap_statements_parse() {
    let src = "ALTER DATABASE CURRENT SET OPTIMIZED_LOCKING = ON;\n\
               ALTER INDEX cci ON dbo.Fact REORGANIZE WITH (COMPRESS_ALL_ROW_GROUPS = ON);\n\
               SELECT 1;";
    let all = obs(src);
    no_unparsed(&all);
    let o = find(&all, K::Option, "OPTIMIZED_LOCKING");
    assert_eq!(
        (o.detail.as_deref(), o.statement.as_str()),
        (Some("ON"), "ALTER DATABASE")
    );
    let o = find(&all, K::Option, "COMPRESS_ALL_ROW_GROUPS");
    assert_eq!(
        (o.detail.as_deref(), o.statement.as_str()),
        (Some("ON"), "ALTER INDEX")
    );
    find(&all, K::Option, "REORGANIZE");
    // The batch goes on after them.
    assert_eq!(all.iter().filter(|o| o.kind == K::Statement).count(), 3);
}

#[test]
fn statements_are_named_by_leading_keywords() {
    let src = "CREATE PROC a AS SELECT 1\nGO\nALTER PROCEDURE a AS SELECT 1\nGO\n\
               CREATE OR ALTER PROCEDURE a AS SELECT 1\nGO\n\
               CREATE UNIQUE NONCLUSTERED INDEX i ON t (a)\nCREATE CLUSTERED COLUMNSTORE INDEX c ON t\n\
               BULK INSERT t FROM 'f'\nTRUNCATE TABLE t\nBEGIN TRAN\nSAVE TRAN s\nCOMMIT TRANSACTION\n\
               DBCC CHECKIDENT ('t')\nGRANT SELECT, INSERT ON t TO u\nDENY EXECUTE ON p TO u\n\
               CREATE XML SCHEMA COLLECTION x AS N'<a/>'\nCREATE FULLTEXT INDEX ON t (a) KEY INDEX pk\n\
               CREATE PARTITION FUNCTION pf (int) AS RANGE LEFT FOR VALUES (1)\nUPDATE STATISTICS t\n\
               ENABLE TRIGGER tr ON t\nALTER AUTHORIZATION ON SCHEMA::s TO u\nTHROW 50000, 'x', 1\n\
               DECLARE c CURSOR FOR SELECT 1\nOPEN c\nFETCH NEXT FROM c\nWAITFOR DELAY '00:00:01'\n\
               GOTO l\nl:\nRETURN";
    let all = obs(src);
    no_unparsed(&all);
    assert_eq!(
        names(&all, K::Statement),
        vec![
            "CREATE PROCEDURE",
            "SELECT",
            "ALTER PROCEDURE",
            "SELECT",
            "CREATE OR ALTER PROCEDURE",
            "SELECT",
            "CREATE INDEX",
            "CREATE INDEX",
            "BULK INSERT",
            "TRUNCATE TABLE",
            "BEGIN TRANSACTION",
            "SAVE TRANSACTION",
            "COMMIT",
            "DBCC CHECKIDENT",
            "GRANT",
            "DENY",
            "CREATE XML SCHEMA COLLECTION",
            "CREATE FULLTEXT INDEX",
            "CREATE PARTITION FUNCTION",
            "UPDATE STATISTICS",
            "ENABLE TRIGGER",
            "ALTER AUTHORIZATION",
            "THROW",
            "DECLARE CURSOR",
            "OPEN",
            "FETCH",
            "WAITFOR",
            "GOTO",
            "RETURN",
        ]
    );
    let opts: Vec<&str> = all
        .iter()
        .filter(|o| o.kind == K::Option && o.statement == "CREATE INDEX")
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(
        opts,
        vec!["UNIQUE", "NONCLUSTERED", "CLUSTERED", "COLUMNSTORE"]
    );
}

#[test]
fn statement_boundaries_without_semicolons() {
    // Keywords that continue a statement must not split it.
    let src = "INSERT INTO t (a) SELECT a FROM s UNION ALL SELECT 1\n\
               UPDATE t SET a = 1 WHERE b IN (SELECT b FROM u)\n\
               ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (a) ON DELETE CASCADE ON UPDATE SET NULL\n\
               DECLARE c CURSOR FOR SELECT a FROM t FOR UPDATE OF a\n\
               SELECT a FROM t ORDER BY a OFFSET 1 ROWS FETCH NEXT 5 ROWS ONLY\n\
               IF EXISTS (SELECT 1) DROP TABLE IF EXISTS t ELSE PRINT 'x'";
    let all = obs(src);
    no_unparsed(&all);
    assert_eq!(
        names(&all, K::Statement),
        vec![
            "INSERT",
            "UPDATE",
            "ALTER TABLE",
            "DECLARE CURSOR",
            "SELECT",
            "IF",
            "DROP TABLE",
            "PRINT"
        ]
    );
}

#[test]
fn an_update_or_delete_after_an_options_on_starts_a_statement() {
    // `ON UPDATE` / `ON DELETE` continue a statement only as a foreign
    // key's action; after a SET option's ON the next line is a statement.
    let src = "SET NOCOUNT ON\n\
               UPDATE dbo.t SET a = 1\n\
               SET XACT_ABORT ON\n\
               DELETE FROM ##g\n\
               ALTER DATABASE CURRENT SET AUTO_CLOSE ON\n\
               UPDATE STATISTICS dbo.t WITH FULLSCAN\n\
               CREATE TABLE c (a int REFERENCES p (a) ON UPDATE NO ACTION ON DELETE SET DEFAULT)\n\
               PRINT 'x'";
    let all = obs(src);
    no_unparsed(&all);
    assert_eq!(
        names(&all, K::Statement),
        vec![
            "SET",
            "UPDATE",
            "SET",
            "DELETE",
            "ALTER DATABASE",
            "UPDATE STATISTICS",
            "CREATE TABLE",
            "PRINT"
        ]
    );
    assert!(
        !all.iter()
            .any(|o| o.kind == K::SetOption && !matches!(o.name.as_str(), "NOCOUNT" | "XACT_ABORT")),
        "{all:#?}"
    );
}

#[test]
fn a_statement_after_all_rows_values_or_a_ddl_statement_starts_on_its_own() {
    // Without semicolons: `ALL` continues only a set operator, `ROWS` only
    // into a paging FETCH, an INSERT's VALUES closes its source, a DDL
    // statement's SET follows its header or opens a parenthesis, and
    // `SET MULTI_USER` takes no value.
    let src = "ALTER TABLE t NOCHECK CONSTRAINT ALL\n\
               DELETE FROM t\n\
               SELECT a FROM t UNION ALL SELECT b FROM u\n\
               SELECT a FROM t ORDER BY a OFFSET 10 ROWS\n\
               FETCH NEXT FROM c INTO @a\n\
               SELECT a FROM t ORDER BY a OFFSET 1 ROWS FETCH NEXT 5 ROWS ONLY\n\
               INSERT INTO t (a) VALUES (1)\n\
               EXEC dbo.p\n\
               INSERT INTO t DEFAULT VALUES\n\
               SELECT 1\n\
               ALTER TABLE t SET (LOCK_ESCALATION = AUTO)\n\
               SET @x = 1\n\
               ALTER TABLE t ADD c int NULL\n\
               SET NOCOUNT ON\n\
               CREATE TABLE #t (a int) ON [PRIMARY]\n\
               SET XACT_ABORT ON\n\
               ALTER DATABASE d SET MULTI_USER\n\
               UPDATE t SET a = 1\n\
               ALTER DATABASE [$(db)] SET ANSI_NULLS ON\n\
               ALTER DATABASE SCOPED CONFIGURATION FOR SECONDARY SET MAXDOP = 1";
    let all = obs(src);
    no_unparsed(&all);
    assert_eq!(
        names(&all, K::Statement),
        vec![
            "ALTER TABLE",
            "DELETE",
            "SELECT",
            "SELECT",
            "FETCH",
            "SELECT",
            "INSERT",
            "EXECUTE",
            "INSERT",
            "SELECT",
            "ALTER TABLE",
            "SET",
            "ALTER TABLE",
            "SET",
            "CREATE TABLE",
            "SET",
            "ALTER DATABASE",
            "UPDATE",
            "ALTER DATABASE",
            "ALTER DATABASE SCOPED CONFIGURATION"
        ]
    );
    let options: Vec<_> = all
        .iter()
        .filter(|o| o.kind == K::Option && o.statement.starts_with("ALTER DATABASE"))
        .map(|o| (o.name.as_str(), o.detail.as_deref()))
        .collect();
    assert_eq!(
        options,
        vec![
            ("MULTI_USER", None),
            ("ANSI_NULLS", Some("ON")),
            ("MAXDOP", Some("1"))
        ]
    );
    assert!(
        !all.iter().any(|o| o.name == "INSERT EXECUTE"),
        "an EXEC after INSERT ... VALUES is not the INSERT's source: {all:#?}"
    );
}

#[test]
fn functions_with_argument_counts_and_types() {
    let src = "SELECT STR(a, 10, 2), FORMAT(b, 'N'), CHOOSE(1, 'a', 'b'), IIF(a > 1, 1, 0), \
               TRY_CONVERT(int, '1'), CONVERT(varchar(30), GETDATE(), 113), CAST(x AS nvarchar(max)), \
               OBJECT_ID('t'), JSON_VALUE(j, '$.a'), STRING_AGG(a, ',') WITHIN GROUP (ORDER BY a), \
               dbo.fn(1), GETDATE()";
    let all = obs(src);
    no_unparsed(&all);
    for (name, count) in [
        ("STR", "3"),
        ("FORMAT", "2"),
        ("CHOOSE", "3"),
        ("IIF", "3"),
        ("TRY_CONVERT", "2"),
        ("CONVERT", "3"),
        ("CAST", "1"),
        ("OBJECT_ID", "1"),
        ("JSON_VALUE", "2"),
        ("STRING_AGG", "2"),
        ("DBO.FN", "1"),
        ("GETDATE", "0"),
    ] {
        assert_eq!(
            find(&all, K::Function, name).detail.as_deref(),
            Some(count),
            "{name}"
        );
    }
    assert_eq!(
        find(&all, K::Option, "CONVERT STYLE").detail.as_deref(),
        Some("113")
    );
    assert_eq!(
        find(&all, K::DataType, "NVARCHAR").detail.as_deref(),
        Some("MAX")
    );
    assert_eq!(find(&all, K::DataType, "VARCHAR").detail, None);
    find(&all, K::DataType, "INT");
}

#[test]
fn set_options_with_values() {
    let src = "SET NOCOUNT ON\nSET DATEFORMAT mdy\nSET NOEXEC ON\nSET ANSI_NULLS OFF\n\
               SET TRANSACTION ISOLATION LEVEL READ COMMITTED\nSET ROWCOUNT 10\nSET LOCK_TIMEOUT -1\n\
               SET @x = 1\nSET XACT_ABORT, ARITHABORT ON";
    let all = obs(src);
    no_unparsed(&all);
    let got: Vec<(&str, Option<&str>)> = all
        .iter()
        .filter(|o| o.kind == K::SetOption)
        .map(|o| (o.name.as_str(), o.detail.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("NOCOUNT", Some("ON")),
            ("DATEFORMAT", Some("MDY")),
            ("NOEXEC", Some("ON")),
            ("ANSI_NULLS", Some("OFF")),
            ("TRANSACTION ISOLATION LEVEL", Some("READ COMMITTED")),
            ("ROWCOUNT", Some("10")),
            ("LOCK_TIMEOUT", Some("-1")),
            ("XACT_ABORT", Some("ON")),
            ("ARITHABORT", Some("ON")),
        ]
    );
}

#[test]
fn routine_options_and_objects() {
    let src = "CREATE PROCEDURE [Sales].[Get Orders] @id int, @x xml OUTPUT\nWITH EXECUTE AS OWNER, RECOMPILE\nAS\nBEGIN\n  SELECT 1;\nEND;\nGO\n\
               CREATE VIEW dbo.v WITH SCHEMABINDING AS SELECT a FROM dbo.t\nGO\n\
               CREATE TABLE dbo.t (id int NOT NULL, CONSTRAINT pk PRIMARY KEY CLUSTERED (id))\n\
               CREATE SEQUENCE s.q START WITH 1\nCREATE SYNONYM syn FOR dbo.t\nCREATE TYPE dbo.tt AS TABLE (a int)\nGO\n\
               CREATE FUNCTION f(@a int) RETURNS TABLE AS RETURN (SELECT @a AS a)\nGO\n\
               CREATE TRIGGER tr ON dbo.t AFTER INSERT, UPDATE AS SELECT 1";
    let script = parse_script(src);
    no_unparsed(&script.observations);
    let objs: Vec<(Option<&str>, &str, ObjectKind)> = script
        .objects
        .iter()
        .map(|o| {
            (
                o.object.schema.as_deref(),
                o.object.name.as_str(),
                o.object.kind,
            )
        })
        .collect();
    assert_eq!(
        objs,
        vec![
            (Some("Sales"), "Get Orders", ObjectKind::Procedure),
            (Some("dbo"), "v", ObjectKind::View),
            (Some("dbo"), "t", ObjectKind::Table),
            (Some("s"), "q", ObjectKind::Sequence),
            (None, "syn", ObjectKind::Synonym),
            (Some("dbo"), "tt", ObjectKind::Type),
            (None, "f", ObjectKind::Function),
            (None, "tr", ObjectKind::Trigger),
        ]
    );
    // The procedure spans its whole batch; spans do not overlap.
    let p = &script.objects[0];
    assert_eq!(&src[p.start..p.end], &src[..src.find("\nGO").unwrap()]);
    assert!(script.objects.windows(2).all(|w| w[0].end <= w[1].start));
    let all = &script.observations;
    assert_eq!(
        find(all, K::Option, "EXECUTE AS").detail.as_deref(),
        Some("OWNER")
    );
    assert_eq!(
        find(all, K::Option, "EXECUTE AS").statement,
        "CREATE PROCEDURE"
    );
    find(all, K::Option, "RECOMPILE");
    assert_eq!(
        find(all, K::Option, "SCHEMABINDING").statement,
        "CREATE VIEW"
    );
    assert_eq!(find(all, K::Option, "CLUSTERED").statement, "CREATE TABLE");
    find(all, K::DataType, "XML");
}

#[test]
fn clauses_hints_and_names() {
    let src = "SELECT TOP (10) PERCENT WITH TIES a, ROW_NUMBER() OVER (ORDER BY a ROWS UNBOUNDED PRECEDING)\n\
               FROM dbo.t WITH (NOLOCK, INDEX(ix)) INNER LOOP JOIN db.dbo.u ON 1=1\n\
               LEFT JOIN srv.db.dbo.w (NOLOCK) ON 1=1 OUTER APPLY dbo.f(a) x\n\
               WHERE a COLLATE Latin1_General_BIN = 'x' GROUP BY ROLLUP (a) ORDER BY a\n\
               OPTION (MAXRECURSION 0, RECOMPILE) FOR JSON PATH\n\
               SELECT name FROM sys.objects, sysobjects, INFORMATION_SCHEMA.COLUMNS, @@SERVERNAME x\n\
               DELETE t OUTPUT deleted.* INTO #log FROM t\n\
               SELECT * FROM t FOR SYSTEM_TIME ALL UNPIVOT (v FOR k IN (a, b)) u";
    let all = obs(src);
    no_unparsed(&all);
    for (kind, name) in [
        (K::Clause, "TOP PERCENT"),
        (K::Clause, "WITH TIES"),
        (K::Clause, "OVER"),
        (K::Clause, "OVER ROWS"),
        (K::TableHint, "NOLOCK"),
        (K::TableHint, "INDEX"),
        (K::JoinHint, "LOOP"),
        (K::Clause, "CROSS DATABASE REFERENCE"),
        (K::Clause, "LINKED SERVER REFERENCE"),
        (K::Clause, "OUTER APPLY"),
        (K::Clause, "COLLATE"),
        (K::Clause, "ROLLUP"),
        (K::QueryHint, "MAXRECURSION"),
        (K::QueryHint, "RECOMPILE"),
        (K::Clause, "FOR JSON PATH"),
        (K::SystemObject, "SYS.OBJECTS"),
        (K::SystemObject, "SYSOBJECTS"),
        (K::SystemObject, "INFORMATION_SCHEMA.COLUMNS"),
        (K::GlobalVariable, "@@SERVERNAME"),
        (K::Clause, "OUTPUT"),
        (K::Clause, "OUTPUT INTO"),
        (K::Clause, "FOR SYSTEM_TIME"),
        (K::Clause, "UNPIVOT"),
        (K::Function, "DBO.F"),
    ] {
        find(&all, kind, name);
    }
    assert_eq!(
        find(&all, K::Clause, "COLLATE").detail.as_deref(),
        Some("LATIN1_GENERAL_BIN")
    );
    assert_eq!(
        find(&all, K::QueryHint, "MAXRECURSION").detail.as_deref(),
        Some("0")
    );
    // Three-part names outside table positions are columns, not databases.
    assert_eq!(
        all.iter()
            .filter(|o| o.name == "CROSS DATABASE REFERENCE")
            .count(),
        1
    );
    assert_eq!(
        all.iter()
            .filter(|o| o.name == "LINKED SERVER REFERENCE")
            .count(),
        1
    );
}

#[test]
fn xml_methods_and_temp_tables() {
    let src = "DECLARE @x xml, @t TABLE (a int)\n\
               SELECT n.c.value('.', 'int'), @x.exist('/a'), @x.query('/a') FROM @x.nodes('/a') n(c)\n\
               SET @x.modify('delete /a')\nCREATE TABLE #t (a int)\nCREATE TABLE ##g (a int)\nSELECT 1 AS a INTO #u";
    let all = obs(src);
    no_unparsed(&all);
    for m in ["VALUE", "EXIST", "QUERY", "NODES", "MODIFY"] {
        find(&all, K::Method, m);
    }
    find(&all, K::Clause, "TABLE VARIABLE");
    assert_eq!(
        all.iter().filter(|o| o.name == "TEMPORARY TABLE").count(),
        2
    );
    find(&all, K::Clause, "GLOBAL TEMPORARY TABLE");
    assert!(!all.iter().any(|o| o.kind == K::Function && o.name == "N"));
    assert!(parse_script(src).objects.is_empty());
}

#[test]
fn dynamic_sql_is_parsed_at_the_right_offsets() {
    let src = "EXEC ('SELECT FORMAT(1, ''N'') FROM sys.tables');\n\
               EXEC sp_executesql N'SELECT ''x'', CHOOSE(1, 2)', N'@p int', @p = 1;\n\
               EXEC (@sql);";
    let all = obs(src);
    no_unparsed(&all);
    assert_eq!(all.iter().filter(|o| o.name == "EXECUTE STRING").count(), 2);
    find(&all, K::Procedure, "SP_EXECUTESQL");
    let f = find(&all, K::Function, "FORMAT");
    assert_eq!(at(src, f), "FORMAT");
    let t = find(&all, K::SystemObject, "SYS.TABLES");
    assert_eq!(at(src, t), "sys.tables");
    let c = find(&all, K::Function, "CHOOSE");
    assert_eq!(at(src, c), "CHOOSE");
    assert_eq!(c.detail.as_deref(), Some("2"));
}

#[test]
fn concatenated_literals_are_one_dynamic_string_and_a_variable_makes_it_unknown() {
    let src = "EXEC ('SELECT CHOOSE(1, 2) ' + 'FROM sys.tables');\n\
               EXEC ('SELECT FORMAT(1, ''N'') FROM ' + @t);";
    let all = obs(src);
    let c = find(&all, K::Function, "CHOOSE");
    assert_eq!(at(src, c), "CHOOSE");
    let t = find(&all, K::SystemObject, "SYS.TABLES");
    assert_eq!(
        at(src, t),
        "sys.tables",
        "the second literal maps back to its own offset"
    );
    assert!(
        !all.iter()
            .any(|o| o.kind == K::Function && o.name == "FORMAT"),
        "a string with a variable in it is not read in part"
    );
}

#[test]
fn procedure_calls_and_execute_as() {
    let src = "EXEC sp_addextendedproperty N'MS_Description', N'x', N'SCHEMA', N'dbo', N'TABLE', N't', N'CONSTRAINT', N'pk'\n\
               EXECUTE master.dbo.xp_cmdshell 'dir'\nEXEC @rc = dbo.usp 1, @a OUTPUT\nEXECUTE AS LOGIN = 'x'\nREVERT\n\
               RAISERROR ('m', 16, 1) WITH LOG";
    let all = obs(src);
    no_unparsed(&all);
    assert_eq!(
        find(&all, K::Procedure, "SP_ADDEXTENDEDPROPERTY")
            .detail
            .as_deref(),
        Some("CONSTRAINT")
    );
    find(&all, K::Procedure, "XP_CMDSHELL");
    find(&all, K::Procedure, "DBO.USP");
    assert_eq!(
        find(&all, K::Statement, "EXECUTE AS").detail.as_deref(),
        Some("LOGIN")
    );
    assert_eq!(find(&all, K::Option, "LOG").statement, "RAISERROR");
}

#[test]
fn table_ddl_constructs() {
    let src = "CREATE TABLE dbo.t (\n id int IDENTITY(1,1) NOT FOR REPLICATION,\n g uniqueidentifier ROWGUIDCOL,\n \
               s varchar(10) SPARSE NULL,\n f varbinary(max) FILESTREAM,\n m varchar(9) MASKED WITH (FUNCTION = 'default()'),\n \
               c AS (id * 2),\n vf datetime2 GENERATED ALWAYS AS ROW START HIDDEN,\n vt datetime2 GENERATED ALWAYS AS ROW END,\n \
               PERIOD FOR SYSTEM_TIME (vf, vt),\n INDEX ix NONCLUSTERED (id)\n) WITH (SYSTEM_VERSIONING = ON (HISTORY_TABLE = dbo.h), DATA_COMPRESSION = PAGE)\n\
               ALTER TABLE dbo.t SET (SYSTEM_VERSIONING = OFF)\nALTER TABLE dbo.t NOCHECK CONSTRAINT ALL\n\
               ALTER TABLE dbo.t ADD x int, y AS x + 1\nALTER TABLE dbo.t ALTER COLUMN x bigint\nALTER TABLE dbo.t DROP PERIOD FOR SYSTEM_TIME";
    let all = obs(src);
    no_unparsed(&all);
    for (kind, name) in [
        (K::Clause, "IDENTITY"),
        (K::Clause, "NOT FOR REPLICATION"),
        (K::Clause, "ROWGUIDCOL"),
        (K::Clause, "SPARSE"),
        (K::Clause, "FILESTREAM"),
        (K::Clause, "MASKED WITH"),
        (K::Clause, "GENERATED ALWAYS"),
        (K::Clause, "HIDDEN"),
        (K::Clause, "INLINE INDEX"),
        (K::Option, "DATA_COMPRESSION"),
        (K::Clause, "NOCHECK CONSTRAINT"),
        (K::DataType, "BIGINT"),
    ] {
        find(&all, kind, name);
    }
    let sv: Vec<_> = all
        .iter()
        .filter(|o| o.name == "SYSTEM_VERSIONING")
        .collect();
    assert_eq!(sv.len(), 2);
    assert_eq!(
        (sv[0].statement.as_str(), sv[0].detail.as_deref()),
        ("CREATE TABLE", Some("ON"))
    );
    assert_eq!(
        (sv[1].statement.as_str(), sv[1].detail.as_deref()),
        ("ALTER TABLE", Some("OFF"))
    );
    let computed: Vec<_> = all.iter().filter(|o| o.name == "COMPUTED COLUMN").collect();
    assert_eq!(computed.len(), 2);
    let periods: Vec<_> = all
        .iter()
        .filter(|o| o.name == "PERIOD FOR SYSTEM_TIME")
        .map(|o| o.detail.as_deref())
        .collect();
    assert_eq!(periods, vec![None, Some("DROP")]);
}

#[test]
fn unparsable_code_is_reported_and_parsing_resumes() {
    let src = "SELECT 1;\nFOO BAR BAZ\nSELECT 2\nEND\nSELECT 3)\nSELECT 4";
    let all = obs(src);
    let bad = named(src, &all, K::Unparsed);
    assert_eq!(
        bad,
        vec![
            ("UNKNOWN STATEMENT", "FOO"),
            ("UNEXPECTED END", "END"),
            ("UNBALANCED PARENTHESIS", ")")
        ]
    );
    assert_eq!(all.iter().filter(|o| o.name == "SELECT").count(), 4);
}

#[test]
fn control_flow_blocks() {
    let src = "BEGIN TRY\n  IF @a = 1\n    BEGIN SELECT 1 END\n  ELSE IF @a = 2 SELECT 2; ELSE BEGIN SELECT 3; END;\n\
               WHILE @i < 10 BEGIN SET @i += 1; IF @i = 5 BREAK; CONTINUE; END\nEND TRY\n\
               BEGIN CATCH\n  SELECT CASE WHEN 1 = 1 THEN 'a' ELSE 'b' END;\n  THROW;\nEND CATCH";
    let all = obs(src);
    no_unparsed(&all);
    assert_eq!(all.iter().filter(|o| o.name == "SELECT").count(), 4);
    find(&all, K::Statement, "BEGIN TRY");
    find(&all, K::Statement, "BEGIN CATCH");
    find(&all, K::Statement, "THROW");
}

#[test]
fn top_without_order_by_per_query() {
    let src = "SELECT TOP 5 a FROM t WHERE b IN (SELECT TOP 1 c FROM u ORDER BY c) AND d IN (SELECT TOP 2 e FROM v)\n\
               SELECT TOP 3 a, ROW_NUMBER() OVER (ORDER BY a) FROM t\n\
               SELECT TOP (3) a FROM t ORDER BY a\nUPDATE TOP (1) t SET a = 1";
    let all = obs(src);
    no_unparsed(&all);
    let tops: Vec<usize> = all
        .iter()
        .filter(|o| o.name == "TOP WITHOUT ORDER BY")
        .map(|o| o.offset)
        .collect();
    let expected: Vec<usize> = ["TOP 5", "TOP 2", "TOP 3 a,"]
        .iter()
        .map(|t| src.find(t).unwrap())
        .collect();
    assert_eq!(tops, expected);
}

#[test]
fn legacy_and_rare_forms() {
    let src = "SELECT a FROM t, u WHERE t.a *= u.a AND t.b =* u.b COMPUTE SUM(a)\nSET @x *= 2\n\
               CREATE PROC p;2 AS SELECT CURRENT_TIMESTAMP, SYSTEM_USER\nGO\n\
               CREATE INDEX i ON t (a) WHERE a IS NOT NULL\nEXEC ('SELECT 1') AT srv\n\
               ALTER DATABASE SCOPED CONFIGURATION SET MAXDOP = 1\n\
               SELECT EVENTDATA().value('(/a)[1]', 'int'), geography::Point(1, 2, 4326).STAsText()\n\
               IF UPDATE(a) PRINT 'a'";
    let all = obs(src);
    no_unparsed(&all);
    let old: Vec<_> = all
        .iter()
        .filter(|o| o.name == "OLD STYLE OUTER JOIN")
        .map(|o| o.detail.as_deref())
        .collect();
    assert_eq!(old, vec![Some("*="), Some("=*")]);
    for (kind, name) in [
        (K::Clause, "COMPUTE"),
        (K::Clause, "NUMBERED PROCEDURE"),
        (K::Function, "CURRENT_TIMESTAMP"),
        (K::Clause, "FILTERED INDEX"),
        (K::Clause, "EXECUTE AT"),
        (K::Option, "MAXDOP"),
        (K::Method, "VALUE"),
        (K::Method, "POINT"),
        (K::Method, "STASTEXT"),
        (K::Function, "UPDATE"),
    ] {
        find(&all, kind, name);
    }
    assert!(
        !all.iter()
            .any(|o| o.kind == K::Statement && o.name == "UPDATE")
    );
}

#[test]
fn service_broker_and_signatures_are_statements() {
    let src = "BEGIN\n  END CONVERSATION @h WITH CLEANUP;\n  ADD SIGNATURE TO dbo.p BY CERTIFICATE c;\nEND\n\
               SELECT db.dbo.t.col FROM db.dbo.t";
    let all = obs(src);
    no_unparsed(&all);
    find(&all, K::Statement, "END CONVERSATION");
    find(&all, K::Statement, "ADD SIGNATURE");
    // A four-part column name is not a linked server; the table is cross-database.
    assert!(!all.iter().any(|o| o.name == "LINKED SERVER REFERENCE"));
    assert_eq!(
        all.iter()
            .filter(|o| o.name == "CROSS DATABASE REFERENCE")
            .count(),
        1
    );
}

/// BACKUP / RESTORE / KILL say what they act on (the catalog has one feature
/// per form), INSERT BULK is its own statement, and TRIM's standard form
/// (`chars FROM s`) is a clause, not any FROM later in the statement.
#[test]
fn backup_forms_insert_bulk_and_trim_from() {
    let src = "BACKUP SERVICE MASTER KEY TO FILE = 'k' ENCRYPTION BY PASSWORD = 'p';\n\
               RESTORE LOG db FROM DISK = 'l';\n\
               KILL STATS JOB 12;\n\
               KILL 52;\n\
               INSERT BULK dbo.t (a int);\n\
               SELECT TRIM('x' FROM a), TRIM(LEADING FROM b) FROM t;\n\
               SELECT TRIM(a) FROM t;";
    let all = obs(src);
    no_unparsed(&all);
    let details: Vec<_> = all
        .iter()
        .filter(|o| {
            o.kind == K::Statement && ["BACKUP", "RESTORE", "KILL"].contains(&o.name.as_str())
        })
        .map(|o| (o.name.as_str(), o.detail.as_deref()))
        .collect();
    assert_eq!(
        details,
        [
            ("BACKUP", Some("SERVICE MASTER KEY")),
            ("RESTORE", Some("LOG")),
            ("KILL", Some("STATS JOB")),
            ("KILL", Some("SPID")),
        ]
    );
    let bulk = find(&all, K::Statement, "INSERT BULK");
    assert_eq!(at(src, bulk), "INSERT BULK");
    let trims: Vec<_> = all
        .iter()
        .filter(|o| o.kind == K::Clause && o.name == "TRIM FROM")
        .map(|o| (at(src, o), o.detail.as_deref()))
        .collect();
    assert_eq!(trims, [("TRIM", None), ("TRIM", Some("LEADING"))]);
}

/// Clauses the catalog had rules for but the parser never observed.
#[test]
fn dml_top_current_of_values_and_legacy_literals() {
    let src = "DELETE TOP (10) FROM t WHERE CURRENT OF c;\n\
               SELECT a FROM t GROUP BY ALL a;\n\
               SELECT * FROM (VALUES (1)) AS v(a) WHERE a !< 1 AND b !> 2 AND n LIKE '[a-c]%';\n\
               INSERT INTO x SELECT id FROM (DELETE FROM t OUTPUT deleted.id) AS d;\n\
               SELECT $IDENTITY, $12.5 FROM db_owner.t;\n\
               DECLARE @@n int, @m int = @@ROWCOUNT;\n\
               CREATE TABLE db_datareader.t (id uniqueidentifier ROWGUIDCOL);\n\
               SELECT 'a\\\nb', 'c:\\';";
    let all = obs(src);
    no_unparsed(&all);
    let clauses = named(src, &all, K::Clause);
    assert_eq!(
        clauses,
        [
            ("DELETE TOP", "DELETE TOP"),
            ("WHERE CURRENT OF", "WHERE CURRENT OF"),
            ("GROUP BY ALL", "GROUP BY ALL"),
            ("VALUES IN FROM", "VALUES"),
            ("!<", "!<"),
            ("!>", "!>"),
            ("LIKE BRACKETS", "LIKE '[a-c]%'"),
            ("DML TABLE SOURCE", "DELETE"),
            ("OUTPUT", "OUTPUT"),
            ("SPECIAL COLUMN", "$IDENTITY"),
            ("MONEY LITERAL", "$12.5"),
            ("DB_OWNER SCHEMA", "db_owner.t"),
            ("@@LOCAL VARIABLE", "@@n"),
            ("DB_OWNER SCHEMA", "db_datareader.t"),
            // The column property (a rule of its own, bound to CREATE TABLE).
            ("ROWGUIDCOL", "ROWGUIDCOL"),
            ("LINE CONTINUATION", "'a\\\nb'"),
        ]
    );
    find(&all, K::GlobalVariable, "@@ROWCOUNT");
}

/// Synapse / Azure-only object types are statements, not unparsed code, and
/// a hint list that starts with a hint outside the common set is still hints.
#[test]
fn azure_object_types_and_rare_table_hints() {
    let src = "DROP SENSITIVITY CLASSIFICATION FROM dbo.t.c;\n\
               CREATE WORKLOAD CLASSIFIER wc WITH (WORKLOAD_GROUP = 'wg');\n\
               ALTER DIAGNOSTIC SESSION ds AS N'<x/>';\n\
               DROP FEDERATION f;\n\
               SELECT * FROM t WITH (FASTFIRSTROW, NOLOCK);";
    let all = obs(src);
    no_unparsed(&all);
    let statements = names(&all, K::Statement);
    assert_eq!(
        statements,
        [
            "DROP SENSITIVITY CLASSIFICATION",
            "CREATE WORKLOAD CLASSIFIER",
            "ALTER DIAGNOSTIC SESSION",
            "DROP FEDERATION",
            "SELECT",
        ]
    );
    let hints = names(&all, K::TableHint);
    assert_eq!(hints, ["FASTFIRSTROW", "NOLOCK"]);
}

/// IF and WHILE are statements of their own (their conditions were already
/// read in an `IF` / `WHILE` context, but nothing said the statement was there).
#[test]
fn if_and_while_are_statements() {
    let src = "IF @a > 0 PRINT 'x' ELSE WHILE @i < 3 SET @i += 1;";
    let all = obs(src);
    no_unparsed(&all);
    let statements = names(&all, K::Statement);
    assert_eq!(statements, ["IF", "PRINT", "WHILE", "SET"]);
}

/// Forms the catalog tells apart by the statement's detail.
#[test]
fn create_table_as_select_and_begin_dialog_conversation() {
    let src = "CREATE TABLE t2 WITH (DISTRIBUTION = HASH(a)) AS SELECT a FROM t;\n\
               CREATE TABLE t3 (a int, b AS (a + 1));\n\
               BEGIN DIALOG CONVERSATION @h FROM SERVICE s TO SERVICE 'x';\n\
               BEGIN DIALOG @h FROM SERVICE s TO SERVICE 'x';";
    let all = obs(src);
    no_unparsed(&all);
    let details: Vec<_> = all
        .iter()
        .filter(|o| o.kind == K::Statement && o.name != "SELECT")
        .map(|o| (o.name.as_str(), o.detail.as_deref()))
        .collect();
    assert_eq!(
        details,
        [
            ("CREATE TABLE", Some("AS SELECT")),
            ("CREATE TABLE", None),
            ("BEGIN DIALOG", Some("CONVERSATION")),
            ("BEGIN DIALOG", None),
        ]
    );
}

/// `"text"` is a string only while QUOTED_IDENTIFIER is OFF, across batches.
#[test]
fn double_quoted_strings_follow_quoted_identifier() {
    let src = "SELECT \"a\" FROM t;\nSET QUOTED_IDENTIFIER OFF;\nGO\nSELECT \"b\", [c];\n\
               SET QUOTED_IDENTIFIER ON;\nSELECT \"d\" FROM t;";
    let all = obs(src);
    assert_eq!(
        named(src, &all, K::Clause),
        [("DOUBLE QUOTED STRING", "\"b\"")]
    );
}

#[test]
fn ddl_storage_key_and_principal_clauses_are_observed() {
    let src = "CREATE TABLE t (a int) ON [PRIMARY];\n\
               CREATE TABLE o (id int, d date) ON ps_date (d);\n\
               CREATE NONCLUSTERED INDEX ix ON t (a) INCLUDE (b) ON fg_index;\n\
               ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES p (a) ON DELETE CASCADE;\n\
               ALTER TABLE t ADD CONSTRAINT pk PRIMARY KEY (a DESC);\n\
               ALTER TABLE t ALTER COLUMN a int NOT NULL;\n\
               ALTER TABLE t ALTER COLUMN e ADD MASKED WITH (FUNCTION = 'email()');\n\
               CREATE TABLE m (id int NOT NULL PRIMARY KEY NONCLUSTERED HASH WITH (BUCKET_COUNT = 8));\n\
               CREATE SEQUENCE s START WITH 1 CACHE 10;\n\
               ALTER LOGIN l DROP CREDENTIAL c;\n\
               CREATE LOGIN [D\\u] FROM WINDOWS;\n\
               CREATE USER u FOR LOGIN l;\n\
               ALTER LOGIN l WITH PASSWORD = 0x0200 HASHED;\n\
               ALTER LOGIN l WITH PASSWORD = 'n' OLD_PASSWORD = 'o';\n\
               ALTER LOGIN l WITH NO CREDENTIAL;";
    let all = obs(src);
    no_unparsed(&all);
    let named = |kind: K, name: &str| {
        all.iter()
            .filter(|o| o.kind == kind && o.name == name)
            .count()
    };
    // Storage: two filegroups (table, index), one partition scheme; the
    // table `ON t` of CREATE INDEX and `ON DELETE` are no storage.
    assert_eq!(named(K::Clause, "ON FILEGROUP"), 2);
    assert_eq!(
        at(src, find(&all, K::Clause, "ON PARTITION SCHEME")),
        "ON ps_date"
    );
    find(&all, K::Clause, "INCLUDE");
    find(&all, K::Clause, "DESC");
    find(&all, K::Clause, "ALTER COLUMN NOT NULL");
    find(&all, K::Clause, "MASKED WITH");
    // `ADD MASKED WITH` is no column definition: WITH is no data type.
    assert!(
        all.iter()
            .all(|o| !(o.kind == K::DataType && o.name == "WITH"))
    );
    find(&all, K::Option, "HASH");
    assert_eq!(find(&all, K::Option, "CACHE").statement, "CREATE SEQUENCE");
    // `DROP CREDENTIAL` inside ALTER LOGIN starts no statement.
    assert_eq!(
        find(&all, K::Option, "DROP CREDENTIAL").statement,
        "ALTER LOGIN"
    );
    assert!(
        all.iter()
            .all(|o| o.name != "DROP CREDENTIAL" || o.kind == K::Option)
    );
    find(&all, K::Option, "FROM WINDOWS");
    find(&all, K::Option, "FOR LOGIN");
    find(&all, K::Option, "HASHED");
    find(&all, K::Option, "OLD_PASSWORD");
    find(&all, K::Option, "NO CREDENTIAL");
}

#[test]
fn alter_table_rebuild_is_an_option_only_after_the_table_name() {
    let src = "ALTER TABLE dbo.t REBUILD WITH (DATA_COMPRESSION = PAGE);\n\
               ALTER TABLE t REBUILD;\n\
               ALTER TABLE t ADD rebuild int NULL;";
    let all = obs(src);
    let rebuilds = all
        .iter()
        .filter(|o| o.kind == K::Option && o.name == "REBUILD");
    assert_eq!(rebuilds.count(), 2);
}

#[test]
fn graph_tables_are_observed_but_not_computed_columns_named_node() {
    let src = "CREATE TABLE p (id int) AS NODE;\n\
               CREATE TABLE f (since date) AS EDGE;\n\
               CREATE TABLE g (node_count int, twice AS node_count * 2, w AS edge_weight);";
    let all = obs(src);
    let graph: Vec<&str> = all
        .iter()
        .filter(|o| o.kind == K::Clause && o.name.starts_with("AS "))
        .map(|o| at(src, o))
        .collect();
    assert_eq!(graph, ["AS NODE", "AS EDGE"]);
}

#[test]
fn string_aggregation_idiom_is_reported_at_its_subquery_not_at_the_call() {
    // The call's name and its subquery on different lines, as formatted code
    // writes them; Compass reports the subquery's line.
    let src = "SELECT SUBSTRING\n(\n  (\n    SELECT ',' + name FROM sys.objects\n    FOR XML PATH(''), TYPE\n  ).value('.', 'varchar(max)'),\n  2, 8000) AS list;";
    let all = obs(src);
    let o = find(&all, K::Clause, "FOR XML PATH STRING AGGREGATION");
    assert!(at(src, o).starts_with("(\n    SELECT"), "{:?}", at(src, o));
}

#[test]
fn a_static_method_of_a_type_other_than_the_system_ones_is_a_clr_call() {
    let src = "SET @re = RegEx::Expr(N'x').CaseSen;\nSELECT tSQLt.Private::Info();\nSELECT geometry::Point(1, 2, 0), [GEOGRAPHY]::STGeomFromText('POINT(1 2)', 4326), hierarchyid::GetRoot();\nSELECT * FROM ::fn_helpcollations();";
    let all = obs(src);
    let clr: Vec<&str> = all
        .iter()
        .filter(|o| o.kind == K::Clause && o.name == "CLR TYPE STATIC METHOD CALL")
        .map(|o| at(src, o))
        .collect();
    assert_eq!(clr, ["RegEx::Expr", "Private::Info"]);
}

#[test]
fn error_numbers_raised_and_tested_are_observed_with_their_number() {
    let src = "RAISERROR (13042, 14, 13);\nRAISERROR (50001, 16, 1);\nRAISERROR (@id, 16, 1);\nRAISERROR ('text', 16, 1);\nIF @@ERROR = 9999 PRINT 1;\nIF @@ERROR NOT IN (547, 4567) PRINT 1;\nIF ERROR_NUMBER() <> 3621 THROW;\nIF @@ERROR = @x OR @@ERROR > 60000 PRINT 1;";
    let all = obs(src);
    let details = |name: &str| -> Vec<&str> {
        all.iter()
            .filter(|o| o.kind == K::Clause && o.name == name)
            .filter_map(|o| o.detail.as_deref())
            .collect()
    };
    assert_eq!(details("RAISERROR MESSAGE NUMBER"), ["13042"]);
    assert_eq!(
        details("ERROR NUMBER TEST"),
        ["9999", "547", "4567", "3621"]
    );
    let raise = find(&all, K::Clause, "RAISERROR MESSAGE NUMBER");
    assert_eq!(raise.statement, "RAISERROR");
}

/// SQL Server 2025's `||` and `||=` are one observation each; a single `|`
/// (bitwise OR) and `|=` are not.
#[test]
fn double_bar_concatenation_is_observed_and_bitwise_or_is_not() {
    let src = "SELECT a || N' ' || b, flags | 4 FROM t;\n\
               SET @s ||= N'x';\n\
               SET @m |= 2;";
    let all = obs(src);
    no_unparsed(&all);
    let bars: Vec<_> = all
        .iter()
        .filter(|o| o.kind == K::Clause && o.name == "DOUBLE BAR CONCATENATION")
        .map(|o| (at(src, o), o.detail.as_deref()))
        .collect();
    assert_eq!(
        bars,
        [("||", Some("||")), ("||", Some("||")), ("||=", Some("||="))]
    );
}

/// SQL Server 2000's DUMP and LOAD are statements of their own (reserved
/// words), also in the middle of a batch, not procedure calls.
#[test]
fn dump_and_load_are_statements() {
    let src = "DUMP DATABASE sales TO DISK = 'c:\\s.bak'\n\
               SELECT 1\n\
               DUMP TRAN sales WITH NO_LOG\n\
               LOAD TRANSACTION sales FROM DISK = 'c:\\l.trn'";
    let all = obs(src);
    no_unparsed(&all);
    assert_eq!(
        names(&all, K::Statement),
        [
            "DUMP DATABASE",
            "SELECT",
            "DUMP TRANSACTION",
            "LOAD TRANSACTION"
        ]
    );
    assert!(!all.iter().any(|o| o.kind == K::Procedure));
}

/// `WITH CHANGE_TRACKING_CONTEXT (...)` prefixes a DML statement (it is no
/// CTE), and names in the `cdc` schema are system objects.
#[test]
fn change_tracking_context_prefix_and_cdc_objects() {
    let src = "WITH CHANGE_TRACKING_CONTEXT (@ctx)\n\
               UPDATE dbo.t SET a = 1 WHERE id = 2;\n\
               SELECT * FROM cdc.dbo_t_CT AS c JOIN cdc.change_tables AS t ON 1 = 1;";
    let all = obs(src);
    no_unparsed(&all);
    find(&all, K::Function, "CHANGE_TRACKING_CONTEXT");
    find(&all, K::Statement, "UPDATE");
    find(&all, K::SystemObject, "CDC.DBO_T_CT");
    find(&all, K::SystemObject, "CDC.CHANGE_TABLES");
}
