//! The session store: a private PostgreSQL cluster ([`cluster`]) holding what
//! a run collected and concluded, with every piece of customer content sealed
//! before it leaves the process.
//!
//! Guarantees:
//! - Customer content (names, code, configuration values, snippets) is
//!   written only as [`crate::envelope::Sealer`] output bound to its row
//!   (run, table, id, column), so PostgreSQL's data files, WAL and temporary
//!   files never hold it in plaintext. Ids, kinds and stage names stay clear.
//! - The schema is embedded in the binary and applied in one transaction.
//! - Bulk loads use COPY (binary), so large collections take one round trip
//!   per batch rather than one per row.

pub mod cluster;

use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;

use futures_util::TryStreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::collect::inventory::Inventory;
use crate::collect::workload::{CollectedStatement, CollectedWorkload};
use crate::envelope::{Binding, EnvelopeError, Sealer};
use crate::findings::Finding;
use crate::report::ObjectSummary;
use crate::workload::WorkloadSummary;
use crate::workload::weights::WorkloadStatement;

const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("migrations/0001_session.sql")),
    (2, include_str!("migrations/0002_results.sql")),
    (3, include_str!("migrations/0003_workload.sql")),
    (4, include_str!("migrations/0004_workload_parts.sql")),
    (
        5,
        include_str!("migrations/0005_workload_summary_parts.sql"),
    ),
];

/// Statements per sealed part of a stored workload (a few hundred KB of
/// JSON): see `migrations/0004_workload_parts.sql`.
const WORKLOAD_PART: usize = 5_000;

/// The binding of part `part` of the run's workload summary (part 0 is
/// the summary without its statements, as before parts existed).
fn summary_binding(run_id: &str, part: i32) -> Binding {
    let id = if part == 0 {
        "run".to_owned()
    } else {
        format!("run#{part}")
    };
    Binding::new(run_id, "workload_summary", &id, "body")
}

/// Why the store failed. Messages never include sealed or plaintext values.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the session database failed while {action}: {source}")]
    Db {
        action: &'static str,
        source: tokio_postgres::Error,
    },
    #[error(transparent)]
    Cluster(#[from] cluster::ClusterError),
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("a stored value is not valid UTF-8 after opening: {binding}")]
    NotText { binding: String },
    #[error("a stored value does not have the expected shape after opening: {binding}: {detail}")]
    Shape { binding: String, detail: String },
}

fn db(action: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |source| StoreError::Db { action, source }
}

/// One piece of collected code.
#[derive(Clone, PartialEq, Eq)]
pub struct Module {
    pub id: i64,
    pub target: String,
    pub kind: String,
    pub name: String,
    pub definition: String,
}

impl std::fmt::Debug for Module {
    // Names and code are customer data: never in a Debug dump.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("id", &self.id)
            .field("target", &self.target)
            .field("kind", &self.kind)
            .field("definition_len", &self.definition.len())
            .finish_non_exhaustive()
    }
}

/// A connection to the session store for one run.
pub struct SessionStore {
    client: tokio_postgres::Client,
    sealer: Sealer,
    run_id: String,
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionStore")
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}

impl SessionStore {
    /// Connects to `cluster`, applies the schema and registers the run.
    pub async fn open(
        cluster: &cluster::Cluster,
        sealer: Sealer,
        run_id: &str,
    ) -> Result<SessionStore, StoreError> {
        let (mut client, connection) = cluster
            .client_config()
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(db("connecting"))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "session database connection ended");
            }
        });
        migrate(&mut client).await?;
        client
            .execute(
                "INSERT INTO run (run_id) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&run_id],
            )
            .await
            .map_err(db("registering the run"))?;
        Ok(SessionStore {
            client,
            sealer,
            run_id: run_id.to_owned(),
        })
    }

    /// Records that `stage` completed.
    pub async fn checkpoint(&self, stage: &str) -> Result<(), StoreError> {
        self.client
            .execute(
                "INSERT INTO checkpoint (run_id, stage) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&self.run_id, &stage],
            )
            .await
            .map_err(db("recording a checkpoint"))?;
        Ok(())
    }

    /// The stages this run has completed.
    pub async fn completed_stages(&self) -> Result<Vec<String>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT stage FROM checkpoint WHERE run_id = $1 ORDER BY completed_at, stage",
                &[&self.run_id],
            )
            .await
            .map_err(db("reading checkpoints"))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn binding(&self, id: i64, column: &str) -> Binding {
        Binding::new(&self.run_id, "module", &id.to_string(), column)
    }

    /// Stores modules with one binary COPY; names and code are sealed first.
    pub async fn put_modules(&self, modules: &[Module]) -> Result<u64, StoreError> {
        let sink = self
            .client
            .copy_in("COPY module (run_id, id, target, kind, name, definition) FROM STDIN BINARY")
            .await
            .map_err(db("starting the module COPY"))?;
        let writer = BinaryCopyInWriter::new(
            sink,
            &[
                Type::TEXT,
                Type::INT8,
                Type::TEXT,
                Type::TEXT,
                Type::BYTEA,
                Type::BYTEA,
            ],
        );
        futures_util::pin_mut!(writer);
        for m in modules {
            let name = self
                .sealer
                .seal(&self.binding(m.id, "name"), m.name.as_bytes())?;
            let definition = self
                .sealer
                .seal(&self.binding(m.id, "definition"), m.definition.as_bytes())?;
            writer
                .as_mut()
                .write(&[&self.run_id, &m.id, &m.target, &m.kind, &name, &definition])
                .await
                .map_err(db("copying modules"))?;
        }
        writer
            .finish()
            .await
            .map_err(db("finishing the module COPY"))
    }

    /// Reads this run's modules back, opening every sealed value.
    pub async fn modules(&self) -> Result<Vec<Module>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT id, target, kind, name, definition FROM module WHERE run_id = $1 ORDER BY id",
                &[&self.run_id],
            )
            .await
            .map_err(db("reading modules"))?;
        rows.iter()
            .map(|row| {
                let id: i64 = row.get(0);
                Ok(Module {
                    id,
                    target: row.get(1),
                    kind: row.get(2),
                    name: self.open_text(self.binding(id, "name"), row.get(3))?,
                    definition: self.open_text(self.binding(id, "definition"), row.get(4))?,
                })
            })
            .collect()
    }

    /// Stores one server's inventory (no code: that is in `module`), sealed.
    pub async fn put_inventory(&self, inventory: &Inventory) -> Result<(), StoreError> {
        let binding = Binding::new(&self.run_id, "inventory", &inventory.target, "body");
        let body = self.seal_json(&binding, inventory)?;
        self.client
            .execute(
                "INSERT INTO inventory (run_id, target, body) VALUES ($1, $2, $3)",
                &[&self.run_id, &inventory.target, &body],
            )
            .await
            .map_err(db("storing an inventory"))?;
        Ok(())
    }

    /// Every stored inventory of this run, by target (module definitions
    /// and job commands are not part of them; see [`Inventory`]).
    pub async fn inventories(&self) -> Result<Vec<Inventory>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT target, body FROM inventory WHERE run_id = $1 ORDER BY target",
                &[&self.run_id],
            )
            .await
            .map_err(db("reading inventories"))?;
        rows.iter()
            .map(|row| {
                let target: String = row.get(0);
                let binding = Binding::new(&self.run_id, "inventory", &target, "body");
                self.open_json(binding, row.get(1))
            })
            .collect()
    }

    /// Stores one server's collected workload (normalised statements),
    /// sealed, in parts: the rest first, then the statements
    /// [`WORKLOAD_PART`] at a time.
    pub async fn put_workload(&self, workload: &CollectedWorkload) -> Result<(), StoreError> {
        let head = CollectedWorkload {
            target: workload.target.clone(),
            server_major: workload.server_major,
            sources: workload.sources.clone(),
            statements: Vec::new(),
            modules: workload.modules.clone(),
            statements_dropped: workload.statements_dropped,
            skipped: workload.skipped.clone(),
        };
        self.put_workload_part(&workload.target, 0, &head).await?;
        for (part, statements) in (1i32..).zip(workload.statements.chunks(WORKLOAD_PART)) {
            self.put_workload_part(&workload.target, part, &statements)
                .await?;
        }
        Ok(())
    }

    async fn put_workload_part(
        &self,
        target: &str,
        part: i32,
        value: &impl Serialize,
    ) -> Result<(), StoreError> {
        let binding = Binding::new(
            &self.run_id,
            "workload",
            &format!("{target}#{part}"),
            "body",
        );
        let body = self.seal_json(&binding, value)?;
        self.client
            .execute(
                "INSERT INTO workload (run_id, target, part, body) VALUES ($1, $2, $3, $4)",
                &[&self.run_id, &target, &part, &body],
            )
            .await
            .map_err(db("storing a workload"))?;
        Ok(())
    }

    /// Every stored workload of this run, by target, read a part at a time.
    pub async fn workloads(&self) -> Result<Vec<CollectedWorkload>, StoreError> {
        let rows = self
            .client
            .query_raw(
                "SELECT target, part, body FROM workload WHERE run_id = $1 ORDER BY target, part",
                [&self.run_id],
            )
            .await
            .map_err(db("reading workloads"))?;
        futures_util::pin_mut!(rows);
        let mut out: Vec<CollectedWorkload> = Vec::new();
        while let Some(row) = rows.try_next().await.map_err(db("reading workloads"))? {
            let target: String = row.get(0);
            let part: i32 = row.get(1);
            let binding = Binding::new(
                &self.run_id,
                "workload",
                &format!("{target}#{part}"),
                "body",
            );
            match out.last_mut() {
                Some(w) if part > 0 && w.target == target => {
                    let statements: Vec<CollectedStatement> =
                        self.open_json(binding, row.get(2))?;
                    w.statements.extend(statements);
                }
                _ if part == 0 => out.push(self.open_json(binding, row.get(2))?),
                _ => {
                    return Err(StoreError::Shape {
                        binding: binding.to_string(),
                        detail: "a workload part without its first part".into(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Stores the run's workload summary (the analyze stage's), sealed, in
    /// parts: the summary without its statements, then the statements
    /// [`WORKLOAD_PART`] at a time (`migrations/0005_workload_summary_parts.sql`).
    pub async fn put_workload_summary(
        &self,
        mut summary: WorkloadSummary,
    ) -> Result<(), StoreError> {
        let statements = std::mem::take(&mut summary.statements);
        self.put_workload_summary_part(0, &summary).await?;
        for (part, statements) in (1i32..).zip(statements.chunks(WORKLOAD_PART)) {
            self.put_workload_summary_part(part, &statements).await?;
        }
        Ok(())
    }

    async fn put_workload_summary_part(
        &self,
        part: i32,
        value: &impl Serialize,
    ) -> Result<(), StoreError> {
        let binding = summary_binding(&self.run_id, part);
        let body = self.seal_json(&binding, value)?;
        self.client
            .execute(
                "INSERT INTO workload_summary (run_id, part, body) VALUES ($1, $2, $3)",
                &[&self.run_id, &part, &body],
            )
            .await
            .map_err(db("storing the workload summary"))?;
        Ok(())
    }

    /// The run's workload summary, if a workload was analysed, read a part
    /// at a time.
    pub async fn workload_summary(&self) -> Result<Option<WorkloadSummary>, StoreError> {
        let action = "reading the workload summary";
        let rows = self
            .client
            .query_raw(
                "SELECT part, body FROM workload_summary WHERE run_id = $1 ORDER BY part",
                [&self.run_id],
            )
            .await
            .map_err(db(action))?;
        futures_util::pin_mut!(rows);
        let mut summary: Option<WorkloadSummary> = None;
        while let Some(row) = rows.try_next().await.map_err(db(action))? {
            let part: i32 = row.get(0);
            let binding = summary_binding(&self.run_id, part);
            match &mut summary {
                None if part == 0 => summary = Some(self.open_json(binding, row.get(1))?),
                Some(s) if part > 0 => {
                    let statements: Vec<WorkloadStatement> = self.open_json(binding, row.get(1))?;
                    s.statements.extend(statements);
                }
                _ => {
                    return Err(StoreError::Shape {
                        binding: binding.to_string(),
                        detail: "a workload summary part out of order".into(),
                    });
                }
            }
        }
        Ok(summary)
    }

    /// Stores findings and analysed objects with one binary COPY each. Ids
    /// follow the slices' order, so reading back gives the same order.
    pub async fn put_analysis(
        &self,
        findings: &[Finding],
        objects: &[ObjectSummary],
    ) -> Result<(), StoreError> {
        let sink = self
            .client
            .copy_in("COPY finding (run_id, id, feature, status, body) FROM STDIN BINARY")
            .await
            .map_err(db("starting the finding COPY"))?;
        let writer = BinaryCopyInWriter::new(
            sink,
            &[Type::TEXT, Type::INT8, Type::TEXT, Type::TEXT, Type::BYTEA],
        );
        futures_util::pin_mut!(writer);
        for (id, finding) in (0i64..).zip(findings) {
            let binding = Binding::new(&self.run_id, "finding", &id.to_string(), "body");
            let body = self.seal_json(&binding, finding)?;
            writer
                .as_mut()
                .write(&[
                    &self.run_id,
                    &id,
                    &finding.feature,
                    &finding.status.as_str(),
                    &body,
                ])
                .await
                .map_err(db("copying findings"))?;
        }
        writer
            .finish()
            .await
            .map_err(db("finishing the finding COPY"))?;

        let sink = self
            .client
            .copy_in("COPY analysed_object (run_id, id, body) FROM STDIN BINARY")
            .await
            .map_err(db("starting the object COPY"))?;
        let writer = BinaryCopyInWriter::new(sink, &[Type::TEXT, Type::INT8, Type::BYTEA]);
        futures_util::pin_mut!(writer);
        for (id, object) in (0i64..).zip(objects) {
            let binding = Binding::new(&self.run_id, "analysed_object", &id.to_string(), "body");
            let body = self.seal_json(&binding, object)?;
            writer
                .as_mut()
                .write(&[&self.run_id, &id, &body])
                .await
                .map_err(db("copying analysed objects"))?;
        }
        writer
            .finish()
            .await
            .map_err(db("finishing the object COPY"))?;
        Ok(())
    }

    /// Reads back this run's findings and analysed objects, in stored order.
    pub async fn analysis(&self) -> Result<(Vec<Finding>, Vec<ObjectSummary>), StoreError> {
        let findings = self.read_sealed_rows("finding", "reading findings").await?;
        let objects = self
            .read_sealed_rows("analysed_object", "reading analysed objects")
            .await?;
        Ok((findings, objects))
    }

    /// Every `(id, body)` row of `table` for this run, in id order, opened
    /// one row at a time as it arrives (not all rows buffered first).
    async fn read_sealed_rows<T: DeserializeOwned>(
        &self,
        table: &'static str,
        action: &'static str,
    ) -> Result<Vec<T>, StoreError> {
        // `table` is one of this module's constants, never input.
        let count = format!("SELECT count(*) FROM {table} WHERE run_id = $1");
        let rows_expected: i64 = self
            .client
            .query_one(&count, &[&self.run_id])
            .await
            .map_err(db(action))?
            .get(0);
        let sql = format!("SELECT id, body FROM {table} WHERE run_id = $1 ORDER BY id");
        let rows = self
            .client
            .query_raw(&sql, [&self.run_id])
            .await
            .map_err(db(action))?;
        futures_util::pin_mut!(rows);
        // Sized once: growing by doubling would reserve up to twice the
        // 100,000 findings of a large workload. A row added meanwhile (there
        // is none: one job owns the session) would only grow the Vec.
        let mut out = Vec::with_capacity(usize::try_from(rows_expected).unwrap_or(0));
        while let Some(row) = rows.try_next().await.map_err(db(action))? {
            let id: i64 = row.get(0);
            let binding = Binding::new(&self.run_id, table, &id.to_string(), "body");
            out.push(self.open_json(binding, row.get(1))?);
        }
        Ok(out)
    }

    fn seal_json(&self, binding: &Binding, value: &impl Serialize) -> Result<Vec<u8>, StoreError> {
        // Serializing our own types into memory cannot fail; the error arm
        // keeps it a typed error rather than a panic all the same.
        let json = Zeroizing::new(serde_json::to_vec(value).map_err(|e| StoreError::Shape {
            binding: binding.to_string(),
            detail: format!("{:?} error", e.classify()),
        })?);
        Ok(self.sealer.seal(binding, &json)?)
    }

    fn open_json<T: DeserializeOwned>(
        &self,
        binding: Binding,
        sealed: &[u8],
    ) -> Result<T, StoreError> {
        let plain = self.sealer.open(&binding, sealed)?;
        serde_json::from_slice(&plain).map_err(|e| StoreError::Shape {
            binding: binding.to_string(),
            // Position only: serde_json's message can quote the value.
            detail: format!("{:?} error at byte {}", e.classify(), e.column()),
        })
    }

    fn open_text(&self, binding: Binding, sealed: &[u8]) -> Result<String, StoreError> {
        let plain = self.sealer.open(&binding, sealed)?;
        String::from_utf8(plain.to_vec()).map_err(|_| StoreError::NotText {
            binding: binding.to_string(),
        })
    }

    /// Direct access for tests that must prove what is (not) stored.
    pub fn client(&self) -> &tokio_postgres::Client {
        &self.client
    }
}

async fn migrate(client: &mut tokio_postgres::Client) -> Result<(), StoreError> {
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY)")
        .await
        .map_err(db("creating the schema version table"))?;
    let current: i32 = client
        .query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])
        .await
        .map_err(db("reading the schema version"))?
        .get(0);
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let tx = client
            .transaction()
            .await
            .map_err(db("starting a migration"))?;
        tx.batch_execute(sql)
            .await
            .map_err(db("applying a migration"))?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[version],
        )
        .await
        .map_err(db("recording a migration"))?;
        tx.commit().await.map_err(db("committing a migration"))?;
    }
    Ok(())
}
