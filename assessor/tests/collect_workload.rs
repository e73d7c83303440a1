//! Live workload collection (`[targets.workload]`) from a TDS server
//! (pysqlbridge) serving Query Store and plan-cache answers generated in
//! code, over verified TLS: normalised before anything keeps it, de-duplicated,
//! bounded, and refused sources skipped with the permission their server
//! version needs.
#![cfg(feature = "appliance")]
// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use assessor::collect::catalog::{Limits, is_collector_statement};
use assessor::collect::connect::{ConnectOptions, Endpoint, connect};
use assessor::collect::tls::{TlsPolicy, TrustAnchors};
use assessor::collect::workload::{CollectedWorkload, Source, collect_workload};
use assessor::config::{TlsMode, WorkloadConfig};
use assessor::secrets::Password;
use testbed::catalog_fixture::{CatalogFixture, FixtureDatabase};
use testbed::tds::ServedCatalog;
use testbed::workload_fixture::{
    AD_HOC_LOOKUPS, DRIVER_CALLS, EF_ENTITIES, FixtureWorkload, GLOBAL_TEMP_TABLES, INSERT_TABLES,
    SourceAnswer,
};

const CANARY: &str = "CANARY-WORKLOAD-7f3a9c";

const BOTH: WorkloadConfig = WorkloadConfig {
    query_store: true,
    plan_cache: true,
    max_statements: 100_000,
};

fn fixture(major: u32, workload: FixtureWorkload) -> CatalogFixture {
    let mut fixture = CatalogFixture::with_databases(vec![FixtureDatabase {
        name: "Sales".into(),
        ..FixtureDatabase::default()
    }])
    .with_major_version(major);
    fixture.workload = Some(workload);
    fixture
}

fn serve(fixture: &CatalogFixture) -> ServedCatalog {
    ServedCatalog::start(fixture, "assessor", "pw-for-tests").unwrap()
}

async fn collect(
    server: &ServedCatalog,
    version: &str,
    config: WorkloadConfig,
) -> CollectedWorkload {
    let endpoint = Endpoint {
        target: "sql-01".into(),
        host: "127.0.0.1".into(),
        port: server.peer.port(),
        username: "assessor".into(),
        password: Password::new("pw-for-tests".into()),
        database: None,
    };
    let tls = TlsPolicy::Verify {
        mode: TlsMode::Required,
        anchors: TrustAnchors::Private(Some(server.pki.ca_path().to_owned())),
        hostname_in_certificate: None,
    };
    let mut client = connect(&endpoint, &tls, ConnectOptions::default())
        .await
        .unwrap();
    collect_workload(
        &mut client,
        "sql-01",
        version,
        &["Sales".to_owned()],
        Duration::from_secs(120),
        Limits::default(),
        config,
    )
    .await
    .unwrap()
}

fn find<'a>(
    w: &'a CollectedWorkload,
    needle: &str,
) -> &'a assessor::collect::workload::CollectedStatement {
    w.statements
        .iter()
        .find(|s| s.text.contains(needle))
        .unwrap_or_else(|| panic!("no statement with {needle}"))
}

#[tokio::test]
async fn collects_both_sources_normalised_and_deduplicated_with_no_literal_left() {
    let workload = FixtureWorkload::realistic(CANARY);
    let served = workload.rows(1);
    assert!(served > 2500, "a few thousand rows: {served}");
    let server = serve(&fixture(16, workload));
    let w = collect(&server, "16.0.4125.3", BOTH).await;

    // The canary was in literals of both sources: it is nowhere in what
    // the collector hands on, in any form.
    let stored = serde_json::to_string(&w).unwrap();
    assert!(!stored.contains(CANARY), "canary in the collected workload");
    assert!(!stored.contains("CANARY"), "part of the canary kept");
    assert!(!format!("{w:?}").contains("CANARY"));
    // Nor any other literal of the fixture.
    assert!(
        !stored.contains("(555) 01-"),
        "a phone number literal was kept"
    );

    // Distinct statements: each EF entity's MERGE, each table's INSERT, the
    // ad hoc lookup (1500 literal variants and the plan cache's 100 are
    // one), the staging tables, two catalog queries, the canary UPDATE, the
    // driver's statement (1000 calls are one) and the plan cache's staging
    // read.
    let expected = EF_ENTITIES + INSERT_TABLES + 1 + GLOBAL_TEMP_TABLES + 2 + 1 + 1 + 1;
    assert_eq!(w.statements.len() as u64, expected);
    assert_eq!(w.statements_dropped, 0);
    assert!(w.skipped.is_empty(), "{:?}", w.skipped);
    assert_eq!(w.server_major, Some(16));

    // Within Query Store the 1500 variants are summed (1 + n % 3 each);
    // across sources the plan cache's 100 are not added to them.
    let lookup = find(&w, "FROM Sales.Customers AS c");
    assert_eq!(lookup.source, Source::QueryStore);
    assert_eq!(lookup.executions, AD_HOC_LOOKUPS + AD_HOC_LOOKUPS / 3 * 3);
    assert_eq!(lookup.cpu_us, lookup.executions * 137);
    assert_eq!(lookup.database.as_deref(), Some("Sales"));
    assert!(
        lookup
            .text
            .ends_with("c.CustomerID = 0 AND c.DeliveryCityID = 0 AND c.PhoneNumber = N'?'"),
        "{}",
        lookup.text
    );

    // A driver's sp_executesql call is the statement it carries.
    let driver = find(&w, "SELECT o.OrderID FROM Sales.Orders");
    assert_eq!(driver.source, Source::PlanCache);
    assert_eq!(driver.executions, DRIVER_CALLS * 2);
    assert!(!driver.text.contains("sp_executesql"), "{}", driver.text);
    assert!(
        driver.text.contains("o.Comments <> N'?'"),
        "{}",
        driver.text
    );
    assert_eq!(driver.database, None);

    let merge = find(&w, "MERGE [dbo].[Entity7]");
    assert!(
        merge.text.contains("VALUES (@p0, @p1, 0)"),
        "{}",
        merge.text
    );
    assert!(find(&w, "INTO ##staging_3").executions > 0);
    assert_eq!(find(&w, "sys.objects").executions, 720);

    // Module statistics: names and counts only.
    assert_eq!(w.modules.len(), 1);
    assert_eq!(
        (w.modules[0].name.as_str(), w.modules[0].executions),
        ("SearchForPeople", 4200)
    );

    // Sources and their interval.
    assert_eq!(w.sources.len(), 2);
    let qs = &w.sources[0];
    assert_eq!((qs.source, qs.databases), (Source::QueryStore, 1));
    assert_eq!(qs.first_seen.as_deref(), Some("2026-11-28T08:00:00.000"));
    assert_eq!(
        qs.last_execution.as_deref(),
        Some("2026-12-05T17:59:00.000")
    );
    assert_eq!(w.sources[1].rows, DRIVER_CALLS + 100 + 1);

    // Only allow-listed statements reached the server, on 2022 none
    // reading a live session's text.
    let statements = server.peer.statements();
    for s in &statements {
        assert!(is_collector_statement(s), "not allow-listed: {s}");
        assert!(!s.contains("dm_exec_requests") && !s.contains("dm_exec_sessions"));
    }
    assert!(
        statements
            .iter()
            .any(|s| s.starts_with("SELECT TOP (100000) qt.query_sql_text"))
    );
}

#[tokio::test]
async fn refused_sources_are_skipped_with_the_permission_the_version_needs() {
    for (major, version, server_permission, database_permission) in [
        (
            15,
            "15.0.4345.5",
            "VIEW SERVER STATE",
            "VIEW DATABASE STATE",
        ),
        (
            16,
            "16.0.4125.3",
            "VIEW SERVER PERFORMANCE STATE",
            "VIEW DATABASE PERFORMANCE STATE",
        ),
    ] {
        let mut workload = FixtureWorkload::realistic(CANARY);
        workload.query_store_answer = SourceAnswer::Denied(297);
        workload.plan_cache_answer = SourceAnswer::Denied(300);
        let server = serve(&fixture(major, workload));
        let w = collect(&server, version, BOTH).await;
        assert!(w.statements.is_empty() && w.modules.is_empty());
        let skipped: Vec<_> = w
            .skipped
            .iter()
            .map(|s| {
                (
                    s.step.as_str(),
                    s.database.as_deref(),
                    s.reason.as_str(),
                    s.permission.as_str(),
                )
            })
            .collect();
        assert_eq!(
            skipped,
            [
                (
                    "Query Store state",
                    Some("Sales"),
                    "permission denied (error 297)",
                    database_permission
                ),
                (
                    "plan cache statements",
                    None,
                    "permission denied (error 300)",
                    server_permission
                ),
                (
                    "plan cache module statistics",
                    None,
                    "permission denied (error 300)",
                    server_permission
                ),
            ],
            "SQL Server {major}"
        );
        // Refused at its state, Query Store's statements were not asked for.
        assert!(
            !server
                .peer
                .statements()
                .iter()
                .any(|s| s.contains("query_store_query_text"))
        );
    }
}

#[tokio::test]
async fn statements_are_bounded_and_nothing_is_sent_without_an_opt_in() {
    let mut workload = FixtureWorkload::realistic(CANARY);
    workload.query_store_answer = SourceAnswer::Off;
    let server = serve(&fixture(16, workload));

    // No source on: not one statement.
    let w = collect(&server, "16.0.4125.3", WorkloadConfig::default()).await;
    assert!(w.statements.is_empty() && w.sources.is_empty());
    assert!(server.peer.statements().iter().all(|s| !is_workload(s)));

    // Query Store off in the database: its statements are not asked for.
    let w = collect(
        &server,
        "16.0.4125.3",
        WorkloadConfig {
            max_statements: 3,
            ..BOTH
        },
    )
    .await;
    let sent = server.peer.statements();
    assert!(!sent.iter().any(|s| s.contains("query_store_query_text")));
    assert!(
        sent.iter()
            .any(|s| s.starts_with("SELECT TOP (3) SUBSTRING(t.text"))
    );
    // The peer ignores TOP and sends every row: the collector holds the
    // source to its bound.
    assert_eq!(w.sources[1].rows, 3);
    assert_eq!(w.statements.len(), 1, "three driver calls, one statement");
    assert_eq!(w.statements[0].executions, 6);
}

fn is_workload(sql: &str) -> bool {
    ["query_store", "dm_exec_"].iter().any(|v| sql.contains(v))
}
