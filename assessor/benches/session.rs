//! The job's fixed costs outside collection and analysis: the session
//! PostgreSQL's start and stop, sealing throughput on one core, storing and
//! reading back modules through COPY, and the wipe.
//!
//! `cargo bench -p assessor --bench session`
//!
//! Targets (issue 5): cluster start + stop <= 3 s, sealing >= 500 MB/s on one
//! core, wipe <= 1 s. A plain binary: it prints the numbers for the README.
// A measuring harness: a failure is reported with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use assessor::envelope::{Binding, DataKey};
use assessor::store::cluster::Cluster;
use assessor::store::{Module, SessionStore};

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::MAX;
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        let out = f();
        best = best.min(started.elapsed().as_secs_f64());
        last = Some(out);
    }
    (best, last.unwrap())
}

fn sealing(value_len: usize) {
    let sealer = DataKey::random_local().unwrap().sealer().unwrap();
    let value = vec![b'x'; value_len];
    let total = 256 << 20;
    let count = total / value_len;
    let bindings: Vec<Binding> = (0..count)
        .map(|i| Binding::new("run-bench", "module", &i.to_string(), "definition"))
        .collect();
    let (seconds, sealed_bytes) = best_of(3, || {
        bindings
            .iter()
            .map(|b| sealer.seal(b, &value).unwrap().len())
            .sum::<usize>()
    });
    let (open_seconds, _) = best_of(1, || {
        let sealed = sealer.seal(&bindings[0], &value).unwrap();
        for _ in 0..count {
            std::hint::black_box(sealer.open(&bindings[0], &sealed).unwrap());
        }
    });
    println!(
        "seal   {:>6} B values: {:>7.0} MB/s ({} values, {:.1}% overhead); open {:>7.0} MB/s",
        value_len,
        total as f64 / seconds / 1e6,
        count,
        (sealed_bytes as f64 / total as f64 - 1.0) * 100.0,
        total as f64 / open_seconds / 1e6,
    );
}

fn main() {
    for len in [512, 4096, 65536] {
        sealing(len);
    }

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut starts = Vec::new();
    let mut stops = Vec::new();
    let mut wipes = Vec::new();
    for round in 0..3 {
        let parent = tempfile::tempdir().unwrap();
        let session = parent.path().join("session");
        assessor::wipe::prepare(&session).unwrap();
        let started = Instant::now();
        let cluster = Cluster::create(&session.join("pg")).unwrap();
        starts.push(started.elapsed().as_secs_f64());
        if round == 0 {
            let key = DataKey::random_local().unwrap();
            let modules: Vec<Module> = (0..2000)
                .map(|id| Module {
                    id,
                    target: "sql-01".into(),
                    kind: "SQL_STORED_PROCEDURE".into(),
                    name: format!("db.dbo.proc{id}"),
                    definition: "SELECT 1;\n".repeat(400),
                })
                .collect();
            let bytes: usize = modules.iter().map(|m| m.definition.len()).sum();
            runtime.block_on(async {
                let store = SessionStore::open(&cluster, key.sealer().unwrap(), "run-bench")
                    .await
                    .unwrap();
                let put = Instant::now();
                store.put_modules(&modules).await.unwrap();
                let put = put.elapsed().as_secs_f64();
                let get = Instant::now();
                let back = store.modules().await.unwrap();
                let get = get.elapsed().as_secs_f64();
                assert_eq!(back.len(), modules.len());
                println!(
                    "store  2000 modules ({:.1} MB): COPY in {:.0} ms ({:.0} MB/s), read back and open {:.0} ms",
                    bytes as f64 / 1e6,
                    put * 1000.0,
                    bytes as f64 / put / 1e6,
                    get * 1000.0
                );
            });
        }
        let stopped = Instant::now();
        cluster.stop().unwrap();
        stops.push(stopped.elapsed().as_secs_f64());
        let wiped = Instant::now();
        assessor::wipe::wipe(&session).unwrap();
        wipes.push(wiped.elapsed().as_secs_f64());
    }
    let best = |v: &[f64]| v.iter().copied().fold(f64::MAX, f64::min);
    println!(
        "cluster: initdb + start {:.2} s, stop {:.2} s (best of 3); wipe {:.0} ms",
        best(&starts),
        best(&stops),
        best(&wipes) * 1000.0
    );
}
