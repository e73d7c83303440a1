//! The session store on a real PostgreSQL: sealed values round-trip, and no
//! plaintext customer code reaches the cluster's files (data, WAL, logs).
#![cfg(feature = "appliance")]
// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use assessor::envelope::DataKey;
use assessor::store::cluster::Cluster;
use assessor::store::{Module, SessionStore};

const CANARY: &str = "CANARY_7d1e5c_in_module_definition";

fn files_containing(root: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                let bytes = std::fs::read(&path).unwrap_or_default();
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    hits.push(path.display().to_string());
                }
            }
        }
    }
    hits
}

#[tokio::test]
async fn modules_round_trip_sealed_and_no_plaintext_reaches_the_cluster_files() {
    let session = tempfile::tempdir().unwrap();
    let root = session.path().join("pg");
    let cluster = Cluster::create(&root).unwrap();
    let key = DataKey::random_local().unwrap();
    let store = SessionStore::open(&cluster, key.sealer().unwrap(), "run-1")
        .await
        .unwrap();

    let modules: Vec<Module> = (0..200)
        .map(|i| Module {
            id: i,
            target: "sql-01".into(),
            kind: "procedure".into(),
            name: format!("Sales.usp_{i}_{CANARY}"),
            definition: format!(
                "CREATE PROCEDURE p{i} AS SELECT '{CANARY}' -- {}",
                "x".repeat(i as usize * 10)
            ),
        })
        .collect();
    assert_eq!(store.put_modules(&modules).await.unwrap(), 200);
    store.checkpoint("collect").await.unwrap();
    assert_eq!(
        store.completed_stages().await.unwrap(),
        vec!["collect".to_owned()]
    );
    assert_eq!(store.modules().await.unwrap(), modules);

    // Flush everything to the data files and WAL, then look for the canary.
    store.client().batch_execute("CHECKPOINT").await.unwrap();
    let hits = files_containing(&root, CANARY.as_bytes());
    assert!(hits.is_empty(), "plaintext customer code on disk: {hits:?}");
    // The test is not vacuous: the clear-text columns are really on disk.
    assert!(!files_containing(&root, b"procedure").is_empty());

    // A value swapped into another row no longer opens.
    store
        .client()
        .batch_execute("UPDATE module SET definition = (SELECT definition FROM module WHERE id = 1) WHERE id = 2")
        .await
        .unwrap();
    let err = store.modules().await.unwrap_err().to_string();
    assert!(err.contains("could not be opened"), "{err}");
    assert!(!err.contains(CANARY));

    // The socket is the only way in: no TCP listener.
    let row = store
        .client()
        .query_one("SELECT current_setting('listen_addresses')", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "");
    drop(store);
    cluster.stop().unwrap();
}

#[tokio::test]
async fn wipe_stops_a_crashed_runs_cluster_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let session = tmp.path().join("session");
    assessor::wipe::prepare(&session).unwrap();
    std::fs::write(session.join("data-key.enc"), b"kms blob").unwrap();
    // A cluster left running, as after a SIGKILL of the assessor.
    let cluster = Cluster::create(&session.join("pg")).unwrap();
    let socket = cluster.socket_dir().join(".s.PGSQL.5432");
    assert!(socket.exists());
    std::mem::forget(cluster);

    let started = std::time::Instant::now();
    let report = assessor::wipe::wipe(&session).unwrap();
    let took = started.elapsed();
    assert!(report.stopped_cluster, "{report:?}");
    assert!(!session.exists());
    assert!(!socket.exists());
    eprintln!("wipe with a running cluster took {took:?}");
}

/// The workload summary of a large workload (every distinct statement by
/// use) is stored in bounded parts as well, and read back equal.
#[tokio::test]
async fn the_workload_summary_is_stored_in_bounded_parts_and_read_back_whole() {
    use assessor::analyze::Analyzer;
    use assessor::collect::workload::{CollectedWorkload, Source, SourceInfo};
    use assessor::rules::Catalog;
    use assessor::workload::{Limits, Workload};
    let session = tempfile::tempdir().unwrap();
    let cluster = Cluster::create(&session.path().join("pg")).unwrap();
    let key = DataKey::random_local().unwrap();
    let store = SessionStore::open(&cluster, key.sealer().unwrap(), "run-1")
        .await
        .unwrap();
    assert_eq!(store.workload_summary().await.unwrap(), None);
    let n = 12_001u64;
    let collected = CollectedWorkload {
        target: "sql-01".into(),
        sources: vec![SourceInfo {
            source: Source::PlanCache,
            databases: 0,
            rows: n,
            rows_without_text: 0,
            first_seen: None,
            last_execution: None,
        }],
        statements: plan_cache_statements(n, "##t"),
        ..CollectedWorkload::default()
    };
    let mut workload = Workload::new(Limits::default());
    collected.add_into(&mut workload);
    let catalog = Catalog::shipped().unwrap();
    let analyzer = Analyzer::new(&catalog, catalog.latest());
    let summary = assessor::workload::analyze(&workload, &analyzer).summary;
    assert_eq!(summary.statements.len(), 12_001);
    store.put_workload_summary(summary.clone()).await.unwrap();

    // The head, then 5,000 statements a part: no row grows with the workload.
    let row = store
        .client()
        .query_one(
            "SELECT count(*), max(octet_length(body)) FROM workload_summary",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1 + 3);
    assert!(
        row.get::<_, i32>(1) < 2_000_000,
        "a part of {} bytes",
        row.get::<_, i32>(1)
    );
    assert_eq!(store.workload_summary().await.unwrap(), Some(summary));
    drop(store);
    cluster.stop().unwrap();
}

/// A large workload is stored in bounded parts (no single row, and so no
/// client buffer, grows with it) and read back whole, per target.
#[tokio::test]
async fn workloads_are_stored_in_bounded_parts_and_read_back_whole() {
    use assessor::collect::workload::CollectedWorkload;
    let session = tempfile::tempdir().unwrap();
    let cluster = Cluster::create(&session.path().join("pg")).unwrap();
    let key = DataKey::random_local().unwrap();
    let store = SessionStore::open(&cluster, key.sealer().unwrap(), "run-1")
        .await
        .unwrap();
    let workload = |target: &str, n: u64| CollectedWorkload {
        target: target.into(),
        server_major: Some(16),
        statements: plan_cache_statements(n, "dbo.t"),
        ..CollectedWorkload::default()
    };
    let (big, small) = (workload("sql-01", 12_001), workload("sql-02", 3));
    store.put_workload(&big).await.unwrap();
    store.put_workload(&small).await.unwrap();

    let parts = |target: &'static str| {
        let client = store.client();
        async move {
            client
                .query_one(
                    "SELECT count(*), max(octet_length(body)) FROM workload WHERE target = $1",
                    &[&target],
                )
                .await
                .unwrap()
        }
    };
    // The head, then 5,000 statements a part.
    let row = parts("sql-01").await;
    assert_eq!(row.get::<_, i64>(0), 1 + 3);
    assert!(
        row.get::<_, i32>(1) < 1_000_000,
        "a part of {} bytes",
        row.get::<_, i32>(1)
    );
    assert_eq!(parts("sql-02").await.get::<_, i64>(0), 1 + 1);
    assert_eq!(store.workloads().await.unwrap(), vec![big, small]);
    drop(store);
    cluster.stop().unwrap();
}

/// `n` distinct plan-cache statements, each on its own table `{table}{i}`.
fn plan_cache_statements(
    n: u64,
    table: &str,
) -> Vec<assessor::collect::workload::CollectedStatement> {
    use assessor::collect::workload::{CollectedStatement, Source};
    (0..n)
        .map(|i| CollectedStatement {
            source: Source::PlanCache,
            database: None,
            text: format!("SELECT c{i} FROM {table}{i} WHERE a = ?"),
            query_hash: None,
            executions: i + 1,
            cpu_us: i,
            duration_us: i,
            last_execution: None,
        })
        .collect()
}
