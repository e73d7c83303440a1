//! Full collections from a TDS server (pysqlbridge) serving the
//! WideWorldImporters catalog, over verified TLS.
#![cfg(feature = "appliance")]
// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use assessor::collect::catalog::{CollectError, collect, is_collector_statement};
use assessor::collect::connect::{ConnectOptions, Endpoint, connect};
use assessor::collect::tls::TlsPolicy;
use assessor::config::TlsMode;
use assessor::secrets::Password;
use testbed::catalog_fixture::{Behaviour, CatalogFixture, FixtureDatabase, FixtureModule};
use testbed::pki::{TestPki, Validity};
use testbed::tds::{TdsPeer, TdsPeerOptions};

const HOSTILE_DB: &str = "x]; DROP TABLE y;--";

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
        ca_bundle: Some(server.pki.ca_path().to_owned()),
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
                name: long,
                kind: "VIEW".into(),
                definition: None,
            },
        ],
        behaviour: Behaviour::Normal,
    }
}

#[tokio::test]
async fn collects_every_module_read_only_with_round_trips_independent_of_object_count() {
    let mut fixture = CatalogFixture::wide_world_importers().unwrap();
    fixture.databases.push(hostile_database());
    fixture.databases.push(FixtureDatabase {
        name: "Restricted".into(),
        modules: vec![],
        behaviour: Behaviour::ModulesRefused,
    });
    let server = serve(&fixture);
    let mut client = client(&server).await;

    let inventory = collect(&mut client, "sql-01", &[], Duration::from_secs(60))
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
        expected.modules.len()
    );

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

    // A refused step is recorded with the permission it needs, not dropped.
    let skipped = inventory
        .skipped
        .iter()
        .find(|s| s.database.as_deref() == Some("Restricted"))
        .unwrap();
    assert_eq!(skipped.step, "module definitions");
    assert!(skipped.permission.contains("VIEW ANY DEFINITION"));
    assert!(skipped.reason.contains("229"));

    // Round trips: 4 server queries + 2 per database, whatever the module count.
    assert_eq!(
        inventory.round_trips as usize,
        4 + 2 * fixture.databases.len()
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
