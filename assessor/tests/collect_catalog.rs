//! Full collections from a TDS server (pysqlbridge) serving the
//! WideWorldImporters catalog, over verified TLS.
#![cfg(feature = "appliance")]
// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use assessor::collect::catalog::{
    CollectError, Limits, collect, collect_with_options, is_collector_statement,
};
use assessor::collect::connect::{ConnectOptions, Endpoint, connect};
use assessor::collect::queries::{
    DATABASE_STATEMENTS, HOST_QUERY, JOB_STEPS_QUERY, SERVER_STATEMENTS,
};
use assessor::collect::tls::{TlsPolicy, TrustAnchors};
use assessor::config::{CollectConfig, TlsMode};
use assessor::secrets::Password;
use testbed::catalog_fixture::{
    Behaviour, CatalogFixture, FixtureDatabase, FixtureModule, FixtureReference, FixtureServer,
    FixtureTable,
};
use testbed::pki::{TestPki, Validity};
use testbed::tds::{TdsPeer, TdsPeerOptions};

const HOSTILE_DB: &str = "x]; DROP TABLE y;--";

/// The `[targets.collect] host_resources = true` opt-in.
const HOST_RESOURCES: CollectConfig = CollectConfig {
    host_resources: true,
};

struct Server {
    peer: TdsPeer,
    pki: TestPki,
    _dir: tempfile::TempDir,
}

fn serve(fixture: &CatalogFixture) -> Server {
    let pki = TestPki::new("collect CA").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.json");
    fixture.write(&path).unwrap();
    let peer = TdsPeer::start(&TdsPeerOptions {
        leaf: pki.leaf("sql", &["127.0.0.1"], Validity::Current).unwrap(),
        user: "assessor".into(),
        password: "pw-for-tests".into(),
        fixture: Some(path),
    })
    .unwrap();
    Server {
        peer,
        pki,
        _dir: dir,
    }
}

async fn client(server: &Server) -> assessor::collect::connect::Client {
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
    connect(&endpoint, &tls, ConnectOptions::default())
        .await
        .unwrap()
}

fn hostile_database() -> FixtureDatabase {
    let long = "n".repeat(128);
    FixtureDatabase {
        name: HOSTILE_DB.into(),
        modules: vec![
            FixtureModule {
                schema: "we'ird\"schema".into(),
                name: "p]; EXEC xp_cmdshell 'calc';--".into(),
                kind: "SQL_STORED_PROCEDURE".into(),
                definition: Some("CREATE PROCEDURE x AS SELECT N'Ünïcødé 名前'".into()),
            },
            FixtureModule {
                schema: "dbo".into(),
                name: long.clone(),
                kind: "VIEW".into(),
                definition: None,
            },
        ],
        tables: vec![FixtureTable {
            schema: "we'ird\"schema".into(),
            name: "t]; DELETE FROM z;--".into(),
            temporal: true,
            columns: vec![("c'; --".into(), "geography".into()), (long, "int".into())],
            ..FixtureTable::default()
        }],
        features: [("clr_assemblies".to_owned(), 2)].into_iter().collect(),
        references: vec![FixtureReference {
            schema: "dbo".into(),
            object: "p]; EXEC xp_cmdshell 'calc';--".into(),
            kind: "SQL_STORED_PROCEDURE".into(),
            server: Some("LINK'ED".into()),
            database: Some("Other]DB".into()),
        }],
        ..FixtureDatabase::default()
    }
}

fn hostile_server() -> FixtureServer {
    FixtureServer {
        linked_servers: vec![("LINK'ED".into(), "Oracle".into(), "OraOLEDB.Oracle".into())],
        server_triggers: vec!["audit_ddl]; --".into()],
        endpoints: vec![(
            "Mirroring".into(),
            "TCP".into(),
            "DATABASE_MIRRORING".into(),
        )],
        credentials: vec!["s3://bucket;cred".into()],
        audits: vec!["Audit \"quoted\"".into()],
        availability_groups: vec!["wwi-ag".into()],
    }
}

#[tokio::test]
async fn collects_every_module_read_only_with_round_trips_independent_of_object_count() {
    let mut fixture = CatalogFixture::wide_world_importers().unwrap();
    fixture.databases.push(hostile_database());
    fixture.databases.push(FixtureDatabase {
        name: "Restricted".into(),
        behaviour: Behaviour::ModulesRefused,
        ..FixtureDatabase::default()
    });
    fixture.server = hostile_server();
    let server = serve(&fixture);
    let mut client = client(&server).await;

    // Every step, the host resources opt-in included.
    let inventory = collect_with_options(
        &mut client,
        "sql-01",
        &[],
        Duration::from_secs(60),
        Limits::default(),
        HOST_RESOURCES,
    )
    .await
    .unwrap();

    assert_eq!(inventory.server.version, "16.0.4125.3");
    assert!(inventory.server.hadr_enabled);
    let clr = inventory
        .configurations
        .iter()
        .find(|s| s.name == "clr enabled")
        .unwrap();
    assert!(clr.non_default, "clr enabled = 1 differs from the default");
    assert_eq!(inventory.job_steps.len(), 1);
    assert_eq!(inventory.job_steps[0].subsystem, "TSQL");

    let wwi = inventory
        .databases
        .iter()
        .find(|d| d.name == "WideWorldImporters")
        .unwrap();
    let expected = &fixture.databases[0];
    assert!(
        expected.modules.len() > 150,
        "the fixture looks like a real database"
    );
    assert_eq!(wwi.modules.len(), expected.modules.len());
    for (got, want) in wwi.modules.iter().zip(&expected.modules) {
        assert_eq!((&got.schema, &got.name), (&want.schema, &want.name));
        assert_eq!(
            got.definition, want.definition,
            "{}.{} must arrive intact",
            want.schema, want.name
        );
    }
    assert_eq!(
        wwi.object_counts.values().sum::<i64>() as usize,
        expected.modules.len() + expected.tables.len()
    );

    // Server level: host, availability group, logins by type, and the
    // server objects, with their names intact.
    assert_eq!(inventory.server.cpu_count, Some(8));
    assert_eq!(inventory.server.memory_mb, Some(65536));
    assert_eq!(inventory.server.availability_groups, ["wwi-ag"]);
    assert_eq!(
        inventory.logins.iter().map(|l| l.count).sum::<i64>(),
        10,
        "{:?}",
        inventory.logins
    );
    assert_eq!(inventory.linked_servers[0].name, "LINK'ED");
    assert_eq!(inventory.linked_servers[0].provider, "OraOLEDB.Oracle");
    assert_eq!(inventory.server_triggers[0].name, "audit_ddl]; --");
    assert_eq!(inventory.endpoints[0].kind, "DATABASE_MIRRORING");
    assert_eq!(inventory.credentials, ["s3://bucket;cred"]);
    assert_eq!(inventory.audits[0].name, "Audit \"quoted\"");

    // Per database: sizes, tables with their storage features and column
    // types (read from the WWI SSDT project), feature counts, indexes.
    assert_eq!((wwi.data_mb, wwi.log_mb), (2048, 512));
    assert_eq!(wwi.tables.len(), expected.tables.len());
    assert!(wwi.tables.len() > 40, "{}", wwi.tables.len());
    let cities = wwi
        .tables
        .iter()
        .find(|t| t.schema == "Application" && t.name == "Cities")
        .unwrap();
    assert!(cities.temporal);
    let location = cities
        .columns
        .iter()
        .find(|c| c.name == "Location")
        .unwrap();
    assert_eq!(location.data_type, "geography");
    assert!(location.clr);
    assert!(
        wwi.tables
            .iter()
            .any(|t| t.name == "ColdRoomTemperatures" && t.memory_optimized)
    );
    assert!(wwi.features["sequences"] > 10, "{:?}", wwi.features);
    assert_eq!(wwi.features["clr_assemblies"], 0);
    assert!(wwi.indexes["CLUSTERED"] > 0);
    let dw = inventory
        .databases
        .iter()
        .find(|d| d.name == "WideWorldImportersDW")
        .unwrap();
    assert!(dw.tables.iter().any(|t| t.partitioned && t.columnstore));
    assert!(dw.features["partition_schemes"] > 0);

    // Hostile names arrive intact, and the encrypted module is reported as such.
    let hostile = inventory
        .databases
        .iter()
        .find(|d| d.name == HOSTILE_DB)
        .unwrap();
    assert_eq!(hostile.modules[0].name, "p]; EXEC xp_cmdshell 'calc';--");
    assert_eq!(hostile.modules[0].schema, "we'ird\"schema");
    assert!(
        hostile.modules[0]
            .definition
            .as_deref()
            .unwrap()
            .contains("Ünïcødé 名前")
    );
    assert_eq!(hostile.modules[1].name.chars().count(), 128);
    assert!(hostile.modules[1].definition.is_none());
    assert!(hostile.modules[1].encrypted);
    let table = &hostile.tables[0];
    assert_eq!(table.name, "t]; DELETE FROM z;--");
    assert_eq!(table.schema, "we'ird\"schema");
    assert_eq!(table.columns[0].name, "c'; --");
    assert_eq!(table.columns[1].name.chars().count(), 128);
    assert_eq!(hostile.features["clr_assemblies"], 2);
    let reference = &hostile.references[0];
    assert_eq!(reference.server.as_deref(), Some("LINK'ED"));
    assert_eq!(reference.database.as_deref(), Some("Other]DB"));

    // A refused step is recorded with the permission it needs, not dropped.
    let skipped = inventory
        .skipped
        .iter()
        .find(|s| s.database.as_deref() == Some("Restricted"))
        .unwrap();
    assert_eq!(skipped.step, "module definitions");
    assert!(skipped.permission.contains("VIEW ANY DEFINITION"));
    assert!(skipped.reason.contains("229"));

    // Round trips: the fixed server statements and a fixed set per
    // database, whatever the number of objects.
    assert_eq!(
        inventory.round_trips as usize,
        SERVER_STATEMENTS.len() + DATABASE_STATEMENTS.len() * fixture.databases.len()
    );

    // Read-only: every statement the server received is one of ours, a SELECT,
    // and the hostile name only ever appears quoted.
    let statements = server.peer.statements();
    assert_eq!(statements.len(), inventory.round_trips as usize);
    for sql in &statements {
        assert!(is_collector_statement(sql), "unexpected statement: {sql}");
        assert!(sql.trim_start().starts_with("SELECT"), "{sql}");
        // One statement each: no separator or comment outside the quoted name.
        let outside = sql.replace("[x]]; DROP TABLE y;--]", "[hostile]");
        assert!(!outside.contains(';') && !outside.contains("--"), "{sql}");
        assert!(
            !outside.contains("DROP TABLE"),
            "hostile name not quoted: {sql}"
        );
    }
    assert!(
        statements
            .iter()
            .any(|s| s.contains("[x]]; DROP TABLE y;--]"))
    );
}

#[tokio::test]
async fn a_server_that_disappears_mid_collection_gives_a_clear_failure_not_a_half_inventory() {
    let mut fixture = CatalogFixture::wide_world_importers().unwrap();
    fixture.databases[1].behaviour = Behaviour::DropsConnection;
    let server = serve(&fixture);
    let mut client = client(&server).await;
    let err = collect(&mut client, "sql-01", &[], Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CollectError::ConnectionLost {
                step: "module definitions",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("sql-01"));
}

#[tokio::test]
async fn only_the_configured_databases_are_collected() {
    let fixture = CatalogFixture::wide_world_importers().unwrap();
    let server = serve(&fixture);
    let mut client = client(&server).await;
    let inventory = collect(
        &mut client,
        "sql-01",
        &["wideworldimporters".into()],
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert_eq!(inventory.databases.len(), 1);
    assert_eq!(inventory.databases[0].name, "WideWorldImporters");
}

#[tokio::test]
async fn a_step_the_login_may_not_run_is_reported_skipped_with_its_permission() {
    let mut fixture = CatalogFixture::wide_world_importers().unwrap();
    fixture.view_server_state = false;
    let server = serve(&fixture);
    let mut client = client(&server).await;
    let inventory = collect_with_options(
        &mut client,
        "sql-01",
        &[],
        Duration::from_secs(60),
        Limits::default(),
        HOST_RESOURCES,
    )
    .await
    .unwrap();
    assert_eq!(inventory.server.cpu_count, None);
    let skipped = inventory
        .skipped
        .iter()
        .find(|s| s.step == "host resources")
        .unwrap();
    assert_eq!(skipped.permission, "VIEW SERVER STATE");
    assert_eq!(skipped.database, None);
    // The rest was collected.
    assert_eq!(inventory.databases.len(), 2);
    assert!(inventory.databases.iter().all(|d| !d.modules.is_empty()));
}

/// Catalog metadata only: a CmdExec or PowerShell step's command (where
/// passwords live) is never selected, only listed by subsystem, and without
/// the `host_resources` opt-in no statement needing VIEW SERVER STATE is sent.
#[tokio::test]
async fn non_tsql_job_step_commands_and_server_state_are_never_asked_for() {
    let canary = "CANARY-CMDEXEC-Pa55w0rd";
    let mut fixture = CatalogFixture::wide_world_importers().unwrap();
    fixture.job_steps.push((
        "Nightly export".into(),
        1,
        "CmdExec".into(),
        format!("bcp Sales.dbo.Orders out C:\\x.dat -S sql-01 -U etl -P {canary}"),
    ));
    fixture.job_steps.push((
        "Nightly export".into(),
        2,
        "PowerShell".into(),
        format!("$pw = ConvertTo-SecureString '{canary}' -AsPlainText -Force"),
    ));
    let server = serve(&fixture);
    let mut client = client(&server).await;
    // The default options: no opt-in.
    let inventory = collect(&mut client, "sql-01", &[], Duration::from_secs(60))
        .await
        .unwrap();

    // Every step is listed, in job order; only the T-SQL one has code.
    let steps: Vec<(&str, i32, &str, bool)> = inventory
        .job_steps
        .iter()
        .map(|s| {
            (
                s.job.as_str(),
                s.step_id,
                s.subsystem.as_str(),
                s.command.is_empty(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("Nightly export", 1, "CmdExec", true),
            ("Nightly export", 2, "PowerShell", true),
            ("WWI nightly purge", 1, "TSQL", false),
        ]
    );
    assert!(!format!("{inventory:?}").contains(canary));
    assert!(!serde_json::to_string(&inventory).unwrap().contains(canary));

    // What the server was asked: one statement reads commands, and it
    // filters T-SQL steps in its WHERE; nothing reads a DMV.
    let statements = server.peer.statements();
    let reading_commands: Vec<&String> = statements
        .iter()
        .filter(|s| s.contains("command"))
        .collect();
    assert_eq!(reading_commands, [JOB_STEPS_QUERY]);
    assert!(JOB_STEPS_QUERY.contains(" WHERE s.subsystem = N'TSQL' "));
    assert!(
        !statements.iter().any(|s| s == HOST_QUERY),
        "{statements:?}"
    );
    assert!(
        !statements
            .iter()
            .any(|s| s.to_ascii_lowercase().contains(".dm_")),
        "{statements:?}"
    );
    assert_eq!(inventory.server.cpu_count, None);
    assert_eq!(inventory.server.memory_mb, None);
    // Not asked is not refused: nothing is reported skipped.
    assert!(inventory.skipped.is_empty(), "{:?}", inventory.skipped);
    assert_eq!(
        statements.len(),
        SERVER_STATEMENTS.len() - 1 + DATABASE_STATEMENTS.len() * fixture.databases.len()
    );
    assert!(statements.iter().all(|s| is_collector_statement(s)));
}
