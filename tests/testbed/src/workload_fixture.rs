//! Workload answers for the TDS peer: what Query Store and the plan cache
//! of a busy server would return to the collector's workload statements.
//!
//! [`FixtureWorkload::realistic`] generates a few thousand statement rows in
//! code, as an application tier sends them: Entity Framework `MERGE`
//! batches, parameterised `INSERT`s, driver `sp_executesql` calls, ad hoc
//! queries differing only in their literals (which normalise to one
//! statement), catalog-view queries, `##global` temporary tables, and a
//! canary inside a string literal (which must never leave the collector).

use serde_json::{Value, json};

/// One row of a workload source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureStatement {
    pub text: String,
    pub executions: u64,
    pub cpu_us: u64,
    pub duration_us: u64,
}

/// How a workload source answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SourceAnswer {
    /// Its rows.
    #[default]
    Rows,
    /// Refused for lack of permission: the error number (300 or 297) with
    /// severity 14, as SQL Server refuses a DMV or Query Store view.
    Denied(u32),
    /// Query Store only: turned off in every database (`actual_state` 0).
    Off,
}

/// A `sys.dm_exec_procedure_stats` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureProcedure {
    pub database: String,
    pub schema: String,
    pub name: String,
    pub executions: u64,
    pub cpu_us: u64,
}

/// The workload a server answers with.
#[derive(Debug, Clone, Default)]
pub struct FixtureWorkload {
    /// Query Store rows, served for every database (each database's Query
    /// Store holds the same statements).
    pub query_store: Vec<FixtureStatement>,
    pub plan_cache: Vec<FixtureStatement>,
    pub procedures: Vec<FixtureProcedure>,
    pub query_store_answer: SourceAnswer,
    pub plan_cache_answer: SourceAnswer,
}

/// How often the ad hoc customer lookup runs, each time with other literals.
pub const AD_HOC_LOOKUPS: u64 = 1500;
/// Driver `sp_executesql` calls of one statement, each with other values.
pub const DRIVER_CALLS: u64 = 1000;
/// Entity types whose EF `MERGE` batches run.
pub const EF_ENTITIES: u64 = 40;
/// Tables with a parameterised `INSERT`.
pub const INSERT_TABLES: u64 = 200;
/// Distinct `##global` staging tables.
pub const GLOBAL_TEMP_TABLES: u64 = 10;

fn row(text: String, executions: u64) -> FixtureStatement {
    FixtureStatement {
        text,
        executions,
        cpu_us: executions * 137,
        duration_us: executions * 250,
    }
}

/// A deterministic spread of execution counts, 1..=1000.
fn spread(i: u64) -> u64 {
    1 + (i * 7919) % 1000
}

impl FixtureWorkload {
    /// A realistic workload (see the module docs) with `canary` in string
    /// literals of Query Store and plan-cache statements.
    pub fn realistic(canary: &str) -> FixtureWorkload {
        let mut qs = Vec::new();
        for i in 0..EF_ENTITIES {
            qs.push(row(
                format!(
                    "SET NOCOUNT ON;\nMERGE [dbo].[Entity{i}] USING (\nVALUES (@p0, @p1, 0),\n(@p2, @p3, 1)) AS i ([Name], [Total], _Position) ON 1=0\nWHEN NOT MATCHED THEN\nINSERT ([Name], [Total])\nVALUES (i.[Name], i.[Total])\nOUTPUT INSERTED.[Id], i._Position;"
                ),
                spread(i) * 10,
            ));
        }
        for i in 0..INSERT_TABLES {
            qs.push(row(
                format!(
                    "INSERT INTO [Sales].[Orders{i}] ([CustomerID], [OrderDate], [Comments]) VALUES (@p0, @p1, @p2)"
                ),
                spread(i + 100),
            ));
        }
        for n in 0..AD_HOC_LOOKUPS {
            qs.push(row(
                format!(
                    "SELECT c.CustomerID, c.CustomerName FROM Sales.Customers AS c WHERE c.CustomerID = {n} AND c.DeliveryCityID = {} AND c.PhoneNumber = N'(555) 01-{n:04}'",
                    n % 37
                ),
                1 + n % 3,
            ));
        }
        for i in 0..GLOBAL_TEMP_TABLES {
            qs.push(row(
                format!(
                    "SELECT CustomerID, SUM(Quantity) AS q INTO ##staging_{i} FROM Sales.OrderLines GROUP BY CustomerID"
                ),
                5 + i,
            ));
        }
        qs.push(row(
            "SELECT name, object_id FROM sys.objects WHERE type = 'U' AND name LIKE 'Order%'"
                .into(),
            720,
        ));
        qs.push(row(
            "SELECT session_id, login_name FROM sys.dm_exec_sessions WHERE session_id = 53".into(),
            30,
        ));
        qs.push(row(
            // On a global temporary table: a blocker, so its finding's
            // snippet shows the statement (normalised, the canary gone).
            format!("UPDATE ##session_notes SET Notes = N'{canary}' WHERE PersonID = 7"),
            3,
        ));
        let mut pc = Vec::new();
        for n in 0..DRIVER_CALLS {
            pc.push(row(
                format!(
                    "EXEC sp_executesql N'SELECT o.OrderID FROM Sales.Orders AS o WHERE o.CustomerID = @c AND o.Comments <> N''{canary}''', N'@c int', @c = {n}"
                ),
                2,
            ));
        }
        // The plan cache sees part of the ad hoc lookups too: fewer
        // executions than Query Store counted over its longer interval.
        for n in 0..100 {
            pc.push(row(
                format!(
                    "SELECT c.CustomerID, c.CustomerName FROM Sales.Customers AS c WHERE c.CustomerID = {n} AND c.DeliveryCityID = 1 AND c.PhoneNumber = N'x'"
                ),
                1,
            ));
        }
        pc.push(row(
            format!("SELECT * FROM ##staging_0 WHERE Note = '{canary}'"),
            4,
        ));
        FixtureWorkload {
            query_store: qs,
            plan_cache: pc,
            procedures: vec![FixtureProcedure {
                database: "WideWorldImporters".into(),
                schema: "Website".into(),
                name: "SearchForPeople".into(),
                executions: 4200,
                cpu_us: 9_000_000,
            }],
            query_store_answer: SourceAnswer::Rows,
            plan_cache_answer: SourceAnswer::Rows,
        }
    }

    /// `n` distinct statements for the live-workload bench, as
    /// `generate.py --bench` writes them for the offline one: driver
    /// `sp_executesql` INSERTs, MERGEs, NOLOCK reads and `##global` tables,
    /// each on its own table so none normalises like another. Half come
    /// from Query Store, half from the plan cache; no module statistics.
    pub fn bench(n: u64) -> FixtureWorkload {
        let statement = |i: u64| {
            let text = match i % 4 {
                0 => format!(
                    "exec sp_executesql N'INSERT INTO [dbo].[T{i}] ([C{i}], [Name]) VALUES (@p0, @p1)',N'@p0 int,@p1 nvarchar(50)',@p0={},@p1=N'name'",
                    spread(i)
                ),
                1 => format!(
                    "MERGE dbo.T{i} AS t USING (SELECT {i} AS id) s ON t.id = s.id WHEN MATCHED THEN UPDATE SET t.v = 'x';"
                ),
                2 => format!(
                    "SELECT TOP (10) a.C{i}, b.Name FROM dbo.T{i} a WITH (NOLOCK) JOIN dbo.U b ON b.Id = a.Id WHERE a.Created > '2026-01-01' ORDER BY 1"
                ),
                _ => format!("SELECT * INTO ##tmp{i} FROM dbo.T{i} WHERE Amount > 0.5"),
            };
            row(text, spread(i))
        };
        FixtureWorkload {
            query_store: (0..n).step_by(2).map(statement).collect(),
            plan_cache: (1..n).step_by(2).map(statement).collect(),
            ..FixtureWorkload::default()
        }
    }

    /// Raw rows served in all (Query Store counted once per database).
    pub fn rows(&self, databases: usize) -> usize {
        self.query_store.len() * databases + self.plan_cache.len()
    }

    /// The peer's answers to the workload statements (appended to the
    /// catalog's), matched by the views they read.
    pub fn answers(&self) -> Vec<Value> {
        let statement_columns = json!([
            ["statement_text", "nvarchar(max)"],
            ["query_hash", "nvarchar"],
            ["executions", "bigint"],
            ["cpu_us", "bigint"],
            ["duration_us", "bigint"],
            ["first_execution", "nvarchar"],
            ["last_execution", "nvarchar"]
        ]);
        let rows = |statements: &[FixtureStatement]| -> Vec<Value> {
            statements
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    json!([
                        s.text,
                        format!("0x{:016X}", i as u64 * 2_654_435_761),
                        s.executions,
                        s.cpu_us,
                        s.duration_us,
                        "2026-11-28T08:00:00.000",
                        format!("2026-12-05T{:02}:{:02}:00.000", 8 + i % 10, i % 60)
                    ])
                })
                .collect()
        };
        let denied = |m: &str, code: u32| json!({ "match": m, "error": code, "class": 14 });
        let state = "FROM \\[.*\\]\\.sys\\.database_query_store_options";
        let query_store = "FROM \\[.*\\]\\.sys\\.query_store_query_text";
        let plan_cache = "FROM sys\\.dm_exec_query_stats";
        let procedures = "FROM sys\\.dm_exec_procedure_stats";
        let mut out = match self.query_store_answer {
            SourceAnswer::Denied(code) => vec![denied(state, code), denied(query_store, code)],
            answer => vec![
                json!({
                    "match": state,
                    "columns": [["actual_state", "int"]],
                    "rows": [[if answer == SourceAnswer::Off { 0 } else { 2 }]]
                }),
                json!({
                    "match": query_store,
                    "columns": statement_columns,
                    "rows": rows(&self.query_store)
                }),
            ],
        };
        match self.plan_cache_answer {
            SourceAnswer::Denied(code) => {
                out.push(denied(plan_cache, code));
                out.push(denied(procedures, code));
            }
            _ => {
                out.push(json!({
                    "match": plan_cache,
                    "columns": statement_columns,
                    "rows": rows(&self.plan_cache)
                }));
                out.push(json!({
                    "match": procedures,
                    "columns": [["database_name","nvarchar"],["schema_name","nvarchar"],["object_name","nvarchar"],
                                ["executions","bigint"],["cpu_us","bigint"],["duration_us","bigint"],["last_execution","nvarchar"]],
                    "rows": self.procedures.iter().map(|p| json!([
                        p.database, p.schema, p.name, p.executions, p.cpu_us, p.cpu_us * 2, "2026-12-05T09:00:00.000"
                    ])).collect::<Vec<_>>()
                }));
            }
        }
        out
    }
}
