//! A full collection of the WideWorldImporters fixture from a TDS peer
//! (pysqlbridge, TLS verified against the test CA), and of the same server
//! with 10x the objects: wall time, round trips and rows.
//!
//! `cargo bench -p assessor --bench collect`
//!
//! Target (issue 4): round trips must not grow with the number of objects.
//! The peer is a Python process answering from a JSON fixture, so wall time
//! mostly measures it; the assessor's own share is the difference from an
//! empty collection. A plain binary: it prints the numbers for the README.
// A measuring harness: a failure is reported with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use assessor::collect::catalog::collect;
use assessor::collect::connect::{ConnectOptions, Endpoint, connect};
use assessor::collect::tls::{TlsPolicy, TrustAnchors};
use assessor::config::TlsMode;
use assessor::secrets::Password;
use testbed::catalog_fixture::CatalogFixture;
use testbed::pki::{TestPki, Validity};
use testbed::tds::{TdsPeer, TdsPeerOptions};

const RUNS: usize = 5;

async fn measure(label: &str, fixture: &CatalogFixture) {
    let pki = TestPki::new("bench CA").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.json");
    fixture.write(&path).unwrap();
    let peer = TdsPeer::start(&TdsPeerOptions {
        leaf: pki.leaf("sql", &["127.0.0.1"], Validity::Current).unwrap(),
        user: "assessor".into(),
        password: "bench-password".into(),
        fixture: Some(path),
    })
    .unwrap();
    let endpoint = Endpoint {
        target: "sql-01".into(),
        host: "127.0.0.1".into(),
        port: peer.port(),
        username: "assessor".into(),
        password: Password::new("bench-password".into()),
        database: None,
    };
    let tls = TlsPolicy::Verify {
        mode: TlsMode::Required,
        anchors: TrustAnchors::Private(Some(pki.ca_path().to_owned())),
        hostname_in_certificate: None,
    };
    let mut best = Duration::MAX;
    let mut inventory = None;
    for _ in 0..RUNS {
        let started = Instant::now();
        let mut client = connect(&endpoint, &tls, ConnectOptions::default())
            .await
            .unwrap();
        let collected = collect(&mut client, "sql-01", &[], Duration::from_secs(300))
            .await
            .unwrap();
        best = best.min(started.elapsed());
        inventory = Some(collected);
    }
    let inventory = inventory.unwrap();
    let modules: usize = inventory.databases.iter().map(|d| d.modules.len()).sum();
    let tables: usize = inventory.databases.iter().map(|d| d.tables.len()).sum();
    let columns: usize = inventory
        .databases
        .iter()
        .flat_map(|d| &d.tables)
        .map(|t| t.columns.len())
        .sum();
    let bytes: usize = inventory
        .databases
        .iter()
        .flat_map(|d| &d.modules)
        .filter_map(|m| m.definition.as_ref())
        .map(String::len)
        .sum();
    println!(
        "{label:<10} {modules:>5} modules ({:.1} MB), {tables:>4} tables, {columns:>5} columns: \
         {:>7.3} s best of {RUNS} (connect + collect), {} round trips",
        bytes as f64 / 1e6,
        best.as_secs_f64(),
        inventory.round_trips,
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let wwi = CatalogFixture::wide_world_importers().unwrap();
    let mut empty = wwi.clone();
    for db in &mut empty.databases {
        db.modules.clear();
        db.tables.clear();
    }
    runtime.block_on(async {
        measure("empty", &empty).await;
        measure("WWI", &wwi).await;
        measure("WWI x10", &wwi.scaled(10)).await;
    });
}
